"""One validator per typed value (host, port, priority, icon), and every caller using it.

The validators alone first; then the same bad value through each caller — a config
trait and ``%config``, a magic option, a panel field, the protocol's own values — must
give the validator's words, each in its caller's way (TraitError, UsageError, a
warning line, an inline note).
"""

from __future__ import annotations

import html
import logging

import pytest
from icon_server import png
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from traitlets import TraitError

import gntp_jupyter
from gntp_jupyter.config import GNTPNotifier
from gntp_jupyter.gntp.exceptions import GNTPResourceError, GNTPValidationError
from gntp_jupyter.gntp.options import ClientOptions, split_address
from gntp_jupyter.gntp.receiver import ReceiverThread
from gntp_jupyter.gntp.requests import NotifyRequest, SubscribeRequest
from gntp_jupyter.gntp.resources import Resource
from gntp_jupyter.gntp.validate import check_host, check_icon, check_port, check_priority
from gntp_jupyter.notifier import Notifier
from gntp_jupyter.panel_widget import PRIORITIES, NotificationPanel

PORT_RULE = "port must be a whole number from 1 to 65535"
PRIORITY_RULE = "priority must be a whole number from -2 (very low) to 2 (emergency)"


def message(check, value, **kwargs) -> str:
    with pytest.raises(GNTPValidationError) as caught:
        check(value, **kwargs)
    return str(caught.value)


# -- the validators alone -----------------------------------------------------------


@pytest.mark.parametrize("port", [1, 80, 23053, 65535])
def test_check_port_accepts_every_tcp_port(port: int) -> None:
    assert check_port(port) == port
    assert check_port(f" {port} ", from_text=True) == port


@pytest.mark.parametrize(("value", "from_text", "shown"), [
    (0, False, "0"), (65536, False, "65536"), (-1, False, "-1"), (True, False, "True"),
    (80.0, False, "80.0"), (None, False, "None"), ("80", False, "'80'"),
    ("0", True, "0"), ("70000", True, "70000"), ("abc", True, "'abc'"), ("", True, "''"),
    ("1.5", True, "'1.5'"),
])
def test_check_port_names_the_rule_and_the_value(value: object, from_text: bool,
                                                 shown: str) -> None:
    assert message(check_port, value, from_text=from_text) == f"{PORT_RULE}, not {shown}"


def test_check_port_message_names_the_setting() -> None:
    assert message(check_port, 0, name="subscriber port") == (
        "subscriber port must be a whole number from 1 to 65535, not 0")


@pytest.mark.parametrize("priority", [-2, -1, 0, 1, 2])
def test_check_priority_accepts_the_five_priorities(priority: int) -> None:
    assert check_priority(priority) == priority
    assert check_priority(str(priority), from_text=True) == priority


@pytest.mark.parametrize(("value", "from_text", "shown"), [
    (3, False, "3"), (-3, False, "-3"), (False, False, "False"), (1.0, False, "1.0"),
    ("1", False, "'1'"), ("9", True, "9"), ("high", True, "'high'"),
])
def test_check_priority_names_the_rule_and_the_value(value: object, from_text: bool,
                                                     shown: str) -> None:
    assert message(check_priority, value, from_text=from_text) == f"{PRIORITY_RULE}, not {shown}"


def _icons(tmp_path) -> dict[str, str]:
    (tmp_path / "icon.png").write_bytes(png("validated icon"))
    (tmp_path / "notes.txt").write_text("just text\n")
    return {
        "missing file": str(tmp_path / "nope.png"),
        "text file": str(tmp_path / "notes.txt"),
        "directory": str(tmp_path),
        "URL without a host": "https://",
        "other scheme": "ftp://example.org/i.png",
        "unparsable URL": "http://[",
    }


def test_check_icon_accepts_nothing_urls_and_image_files(tmp_path) -> None:
    _icons(tmp_path)
    assert [check_icon(s) for s in (None, "", "  ")] == [None, None, None]
    assert check_icon(" https://example.org/i.png ") == "https://example.org/i.png"
    for spec in (tmp_path / "icon.png", f"file://{tmp_path}/icon.png"):
        icon = check_icon(spec)
        assert isinstance(icon, Resource) and icon.data == png("validated icon")


@pytest.mark.parametrize(("case", "cause"), [
    ("missing file", "No such file or directory"),
    ("text file", "not an image (first bytes b'just tex'"),
    ("directory", "a directory, not an image file"),
    ("URL without a host", "the URL has no host"),
    ("other scheme", "an icon is an http(s) URL, a file:// URL or a file path"),
    ("unparsable URL", "not a valid URL (Invalid IPv6 URL)"),
])
def test_check_icon_says_why_an_icon_cannot_be_used(tmp_path, case: str, cause: str) -> None:
    with pytest.raises(GNTPResourceError) as caught:
        check_icon(_icons(tmp_path)[case])
    assert caught.value.cause.startswith(cause)


# -- each caller uses them ------------------------------------------------------------


def make_panel(receiver: ReceiverThread) -> NotificationPanel:
    return NotificationPanel(Notifier(GNTPNotifier(host=receiver.host, port=receiver.port)))


def assert_config_refuses(shell: InteractiveShell, caplog: pytest.LogCaptureFixture,
                          trait: str, value: object, expected: str) -> None:
    """The trait refuses ``value`` with ``expected``, set directly or by ``%config``
    (which logs it), and keeps its last good value."""
    config = gntp_jupyter.get_notifier(shell).config
    before = getattr(config, trait)
    with pytest.raises(TraitError) as trait_error:
        setattr(config, trait, value)
    assert str(trait_error.value) == expected
    with caplog.at_level(logging.ERROR):
        shell.run_line_magic("config", f"GNTPNotifier.{trait} = {value!r}")
    assert expected in [r.getMessage() for r in caplog.records]
    assert getattr(config, trait) == before


@pytest.mark.parametrize("port", [0, 70000])
def test_a_bad_port_reads_the_same_everywhere(
    notify_shell: InteractiveShell, receiver: ReceiverThread, caplog: pytest.LogCaptureFixture,
    port: int,
) -> None:
    expected = f"{PORT_RULE}, not {port}"
    assert_config_refuses(notify_shell, caplog, "port", port, expected)
    for line in (f"--port {port} hi", f"--host localhost:{port} hi"):
        with pytest.raises(UsageError) as usage:
            notify_shell.run_line_magic("notify", line)
        assert str(usage.value).startswith(expected)
    panel = make_panel(receiver)
    try:
        panel.port.value = port
        assert panel._notes["port"].value == html.escape(expected)
        assert panel.test_button.disabled
    finally:
        panel.close()
    assert message(lambda p: ClientOptions("localhost", p), port) == expected
    assert message(split_address, f"h:{port}") == f"{expected} in 'h:{port}'"
    assert message(lambda p: SubscribeRequest("me", subscriber_port=p), port) == (
        f"subscriber {expected}")
    assert receiver.notifications == []


@pytest.mark.parametrize(("typed", "host"), [
    ("laptop.local", "laptop.local"), (" 10.0.0.2 ", "10.0.0.2"), ("::1", "::1"),
    ("[::1]", "::1"), ("[fe80::1%eth0]", "fe80::1%eth0"),
])
def test_check_host_accepts_names_and_addresses_as_printed(typed: str, host: str) -> None:
    assert check_host(typed) == host


@pytest.mark.parametrize(("typed", "says"), [
    ("", "host must be a name or an IP address, not ''"),
    ("[::1", "host must be a name or an IP address, not '[::1'"),
    ("my laptop", "host must be a name or an IP address, not 'my laptop'"),
    ("laptop:23053", "host 'laptop:23053' includes a port: give the host alone and the port"
                     " apart"),
    ("[::1]:23053", "host '[::1]:23053' includes a port: give the host alone and the port"
                    " apart"),
    (None, "host must be a name or an IP address, not None"),
])
def test_a_bad_host_reads_the_same_everywhere(
    notify_shell: InteractiveShell, caplog: pytest.LogCaptureFixture, typed, says: str,
) -> None:
    assert message(check_host, typed) == says
    assert message(lambda h: ClientOptions(h), typed) == says
    if isinstance(typed, str):
        assert_config_refuses(notify_shell, caplog, "host", typed, says)
        assert GNTPNotifier().apply_environment({"GNTP_HOST": typed} if typed else {}) == (
            [f"GNTP_HOST={typed!r} ignored: {says}"] if typed else [])


@pytest.mark.parametrize("priority", [3, -3])
def test_a_bad_priority_reads_the_same_everywhere(
    notify_shell: InteractiveShell, receiver: ReceiverThread, caplog: pytest.LogCaptureFixture,
    priority: int,
) -> None:
    expected = f"{PRIORITY_RULE}, not {priority}"
    assert_config_refuses(notify_shell, caplog, "priority", priority, expected)
    with pytest.raises(UsageError) as usage:
        notify_shell.run_line_magic("notify", f"-p {priority} hi")
    assert str(usage.value) == expected
    with pytest.raises(UsageError) as usage:
        notify_shell.run_cell_magic("notify_when_done", f"--priority {priority}", "ran = 1\n")
    assert str(usage.value) == expected and "ran" not in notify_shell.user_ns
    assert message(lambda p: NotifyRequest("A", "e", "T", priority=p), priority) == expected
    assert receiver.notifications == []


def test_the_panel_offers_exactly_the_priorities_the_validator_accepts() -> None:
    for _label, value in PRIORITIES:
        assert check_priority(value) == value
    assert [v for _label, v in PRIORITIES] == [-2, -1, 0, 1, 2]


@pytest.mark.parametrize(
    "case", ["missing file", "text file", "directory", "URL without a host", "other scheme",
             "unparsable URL"])
def test_a_bad_icon_reads_the_same_everywhere(
    notify_shell: InteractiveShell, receiver: ReceiverThread, tmp_path,
    capsys: pytest.CaptureFixture[str], case: str,
) -> None:
    spec = _icons(tmp_path)[case]
    with pytest.raises(GNTPResourceError) as caught:
        check_icon(spec)
    expected = str(caught.value)
    capsys.readouterr()
    # A magic option: the text goes out without the icon, with one warning line.
    notify_shell.run_line_magic("notify", f"-i {spec} hello")
    (line,) = capsys.readouterr().err.splitlines()
    assert line == f"gntp_jupyter: notification sent, but icon not used ({expected})"
    assert receiver.wait_for(1)[0].icon is None
    # The config: kept (like -i, it costs only the icon), and said at once, in one line.
    config = gntp_jupyter.get_notifier(notify_shell).config
    notify_shell.run_line_magic("config", f"GNTPNotifier.icon = {spec!r}")
    assert config.icon == spec
    (line,) = capsys.readouterr().err.splitlines()
    assert line == f"gntp_jupyter: GNTPNotifier.icon is left out of each send: {expected}"
    notify_shell.run_line_magic("notify", "--show")
    assert f"problem: GNTPNotifier.icon is left out of each send: {expected}" in (
        capsys.readouterr().out)
    # The panel: an inline note, and Send waits for a usable icon.
    panel = make_panel(receiver)
    try:
        panel.title.value = "t"
        panel.icon.value = spec
        assert panel._notes["icon"].value == html.escape(f"icon: {expected}")
        assert panel.send_button.disabled
    finally:
        panel.close()
