"""Notifier: registration, delivery, failures as warnings, back-off — against the receiver."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from icon_server import IconServer, png

from gntp_jupyter.config import DEFAULT_ICON, GNTPNotifier
from gntp_jupyter.gntp.receiver import ReceiverThread
from gntp_jupyter.history import History, HistoryEntry
from gntp_jupyter.notifier import WARNING_PREFIX, Notifier

BOUND = 20.0  # generous bound on any wait that must be bounded (never a timing assertion)


class FakeClock:
    """Monotonic time the test moves by hand (for the back-off)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(receiver: ReceiverThread | None = None, clock=None, **settings) -> Notifier:
    if receiver is not None:
        settings.setdefault("host", receiver.host)
        settings.setdefault("port", receiver.port)
    config = GNTPNotifier(**settings)
    return Notifier(config, History(), **({"clock": clock} if clock else {}))


def types(receiver: ReceiverThread) -> list[str]:
    return [r.message_type for r in receiver.requests]


@pytest.fixture(autouse=True)
def _no_env(clean_gntp_env: pytest.MonkeyPatch) -> None:
    """GNTP_* from the developer's environment must not redirect these sends."""


def test_send_registers_once_then_only_notifies(receiver: ReceiverThread) -> None:
    n = make(receiver)
    first = n.send("Hello", "world")
    second = n.send("Again", "and again", event="Cell finished")
    assert first.ok and second.ok and first.warning is None
    assert first.rtt_ms is not None and first.rtt_ms > 0
    assert types(receiver) == ["REGISTER", "NOTIFY", "NOTIFY"]
    got = receiver.wait_for(2)
    assert [(x.application, x.name, x.title, x.text) for x in got] == [
        ("Jupyter", "Message", "Hello", "world"),
        ("Jupyter", "Cell finished", "Again", "and again"),
    ]
    reg = receiver.registrations["Jupyter"]
    assert list(reg.events) == ["Cell finished", "Cell failed", "Message"]
    with open(DEFAULT_ICON, "rb") as fh:
        assert reg.icon == fh.read()  # the shipped icon, as bytes
    assert [e.title for e in n.history.entries()] == ["Hello", "Again"]


def test_changing_app_events_or_target_registers_again(
    receiver_factory: Callable[..., ReceiverThread],
) -> None:
    a, b = receiver_factory(), receiver_factory()
    n = make(a)
    n.send("1")
    n.config.event_types = ["Done", "Broken", "Note", "Extra"]
    n.send("2", event="Extra")
    n.config.app_name = "Lab"
    n.send("3")
    n.send("4", port=b.port)  # a per-send target override
    assert types(a) == ["REGISTER", "NOTIFY"] * 3
    assert types(b) == ["REGISTER", "NOTIFY"]
    assert list(a.registrations["Jupyter"].events) == ["Done", "Broken", "Note", "Extra"]
    assert b.wait_for(1)[0].application == "Lab"


def test_options_callback_url_and_defaults_reach_the_wire(receiver: ReceiverThread) -> None:
    n = make(receiver, sticky=True, priority=1, callback_url="http://localhost:8888/lab/tree/a.ipynb")
    n.send("configured")
    n.send("explicit", sticky=False, priority=-2, coalescing_id="progress",
           callback_url="http://example.org/x")
    first, second = receiver.wait_for(2)
    assert (first.sticky, first.priority, first.coalescing_id) == (True, 1, None)
    assert first.callback_target == "http://localhost:8888/lab/tree/a.ipynb"
    assert (second.sticky, second.priority, second.coalescing_id) == (False, -2, "progress")
    assert second.callback_target == "http://example.org/x"


def test_notification_icon_from_a_file(receiver: ReceiverThread, tmp_path) -> None:
    path = tmp_path / "dot.png"
    path.write_bytes(png("dot"))
    assert make(receiver).send("with icon", icon=str(path)).ok
    assert receiver.wait_for(1)[0].icon == png("dot")


def test_a_missing_icon_file_costs_the_icon_not_the_notification(
    receiver: ReceiverThread, tmp_path
) -> None:
    entry = make(receiver).send("no icon", icon=str(tmp_path / "nope.png"))
    assert entry.ok
    assert "icon not used" in entry.warning and "nope.png" in entry.warning
    assert receiver.wait_for(1)[0].icon is None


def test_url_icon_is_fetched_and_sent_as_bytes(
    receiver: ReceiverThread, icon_server: IconServer
) -> None:
    entry = make(receiver).send("url icon", icon=icon_server.url("/notifier/ok.png"))
    assert entry.ok and entry.warning is None
    assert receiver.wait_for(1)[0].icon == png("/notifier/ok.png")


def test_url_icon_that_fails_is_dropped_with_a_warning_naming_url_and_cause(
    receiver: ReceiverThread, icon_server: IconServer
) -> None:
    url = icon_server.url("/missing/notifier.png")
    entry = make(receiver).send("broken icon", icon=url)
    assert entry.ok
    assert url in entry.warning and "404" in entry.warning
    assert receiver.wait_for(1)[0].icon is None


def test_url_app_icon_is_registered(receiver: ReceiverThread, icon_server: IconServer) -> None:
    url = icon_server.url("/notifier/app.png")
    assert make(receiver, icon=url).send("app icon").ok
    assert receiver.registrations["Jupyter"].icon == png("/notifier/app.png")


def test_nothing_listening_is_a_warning_then_back_off(closed_port: int) -> None:
    clock = FakeClock()
    n = make(clock=clock, host="127.0.0.1", port=closed_port, retry_after=30)
    first = n.send("one")
    assert not first.ok and first.outcome == "refused"
    assert first.warning.startswith(WARNING_PREFIX)
    assert "nothing is listening" in first.warning and "not retried for 30 s" in first.warning
    second = n.send("two")  # within the back-off: not even tried
    assert second.outcome.startswith("skipped") and second.warning is None
    clock.now += 31
    third = n.send("three")
    assert third.outcome == "refused" and "not retried for 60 s" in third.warning  # doubled
    assert n.test_connection().outcome == "refused"  # a test always tries


def test_back_off_ends_when_the_target_comes_back(
    receiver: ReceiverThread, closed_port: int
) -> None:
    clock = FakeClock()
    n = make(clock=clock, host="127.0.0.1", port=closed_port)
    assert not n.send("down").ok
    n.config.port = receiver.port  # another target is not backed off
    assert n.send("up").ok


def test_black_holed_server_is_bounded_by_the_timeout(
    receiver_factory: Callable[..., ReceiverThread],
) -> None:
    hole = receiver_factory(mode="silent")
    n = make(hole, timeout=0.5)
    start = time.monotonic()
    entry = n.send("into the void")
    assert time.monotonic() - start < BOUND
    assert entry.outcome == "timeout" and "no answer" in entry.warning
    assert n.send("again").outcome.startswith("skipped")


def test_wrong_password_is_a_400_warning_that_names_the_fix(
    receiver_factory: Callable[..., ReceiverThread],
) -> None:
    locked = receiver_factory(password="right")
    entry = make(locked, password="wrong").send("knock knock")
    assert not entry.ok and entry.outcome.startswith("server error 400")
    assert "check the password" in entry.warning
    assert locked.notifications == []
    # A server error is an answer: the target is not backed off.
    assert make(locked, password="right").send("ok").ok


def test_settings_that_cannot_work_are_a_warning_not_an_exception(
    receiver: ReceiverThread,
) -> None:
    entry = make(receiver, encryption="AES", password="pw", hash_algorithm="MD5").send("x")
    assert not entry.ok and "SHA256 or SHA512" in entry.warning
    assert receiver.requests == []


def test_encrypted_and_hashed_sends_arrive(receiver_factory: Callable[..., ReceiverThread]) -> None:
    locked = receiver_factory(password="s3cret")
    entry = make(locked, password="s3cret", encryption="AES", hash_algorithm="SHA256").send("ok")
    assert entry.ok
    assert locked.wait_for(1)[0].title == "ok"
    assert locked.requests[-1].encryption == "AES"


def test_history_is_observable(receiver: ReceiverThread, closed_port: int) -> None:
    n = make(receiver)
    seen: list[HistoryEntry] = []
    n.history.observe(seen.append)
    n.send("a")
    n.send("b", port=closed_port)
    assert [(e.title, e.ok) for e in seen] == [("a", True), ("b", False)]
    assert seen[1].target == f"{receiver.host}:{closed_port}"


def test_test_connection_registers_again_and_reports_the_round_trip(
    receiver: ReceiverThread,
) -> None:
    n = make(receiver)
    n.send("first")
    entry = n.test_connection()
    assert entry.ok and entry.source == "test" and entry.rtt_ms > 0
    assert types(receiver) == ["REGISTER", "NOTIFY", "REGISTER", "NOTIFY"]


@pytest.mark.asyncio
async def test_send_async_on_the_running_loop(
    receiver: ReceiverThread, icon_server: IconServer, closed_port: int
) -> None:
    n = make(receiver)
    entry = await n.send_async("async", "hi", icon=icon_server.url("/notifier/async.png"))
    assert entry.ok
    got = receiver.wait_for(1)[0]
    assert (got.title, got.icon) == ("async", png("/notifier/async.png"))
    failed = await n.send_async("down", port=closed_port)
    assert failed.outcome == "refused" and failed.warning.startswith(WARNING_PREFIX)
    tested = await n.test_connection_async()
    assert tested.ok and tested.rtt_ms > 0


def test_sends_say_which_machine_they_come_from(receiver: ReceiverThread) -> None:
    """Origin-* headers name the kernel's machine: the user sees where a remote job ran."""
    import platform
    import socket

    make(receiver).send("From afar")
    register, notify = receiver.requests
    for request in (register, notify):
        assert request.headers["Origin-Machine-Name"] == socket.gethostname()
        assert request.headers["Origin-Software-Name"] == "gntp_jupyter"
        assert request.headers["Origin-Platform-Name"] == platform.system()


def test_a_slow_icon_host_costs_the_icon_not_the_notification(
    receiver: ReceiverThread, icon_server: IconServer
) -> None:
    """The icon fetch gets half the budget; the text goes out, and the target is not
    marked as down (the next send is not skipped)."""
    n = make(receiver, timeout=1.0)
    entry = n.send("slow icon", icon=icon_server.url("/slow/5/notifier.png"))
    assert entry.ok, entry
    assert entry.warning and "icon" in entry.warning
    assert entry.warning.endswith("not used (timed out after 0.5 s)"), entry.warning
    assert receiver.wait_for(1)[0].icon is None
    assert n.send("next").ok


def test_odd_arguments_become_entries_not_exceptions(
    receiver: ReceiverThread, tmp_path
) -> None:
    icon = tmp_path / "icon.png"
    icon.write_bytes(png("/notifier/path.png"))
    n = make(receiver)
    by_path = n.send("pathlib icon", icon=icon)
    assert by_path.ok and by_path.warning is None
    odd_icon = n.send("odd icon", icon=123)
    assert odd_icon.ok and "icon not used" in odd_icon.warning
    bad_port = n.send("bad port", port="abc")
    assert not bad_port.ok and bad_port.warning.startswith(WARNING_PREFIX)
    got = receiver.wait_for(2)
    assert [g.title for g in got] == ["pathlib icon", "odd icon"]
    assert got[0].icon == png("/notifier/path.png")


def test_a_failing_history_observer_does_not_fail_the_send(receiver: ReceiverThread) -> None:
    n = make(receiver)

    def broken(entry: HistoryEntry) -> None:
        raise RuntimeError("display gone")

    n.history.observe(broken)
    assert n.send("still sent").ok
    assert receiver.wait_for(1)[0].title == "still sent"


def test_a_refusal_is_reported_as_it_is_and_is_not_a_dead_target(refusing_server) -> None:
    server = refusing_server
    n = make(host=server.host, port=server.port, timeout=5.0)
    first = n.send("big", "x" * 20_000_000)
    assert first.outcome == "server error 300: request is larger than 65536 bytes"
    assert "(not retried" not in first.warning
    second = n.send("small")  # tried again at once: the target answered
    assert not second.outcome.startswith("skipped") and len(server.received) == 3


@pytest.mark.parametrize("answer", [
    b"GNTP/1.0 -ERROR NONE\r\nError-Code: \xc2\xb2\r\nError-Description: odd\r\n\r\n",
    b"HTTP/1.1 400 Bad Request\r\n\r\n",
    b"\x00\x01\x02\r\n\r\n",
])
def test_send_never_raises_whatever_the_server_answers(scripted_server, answer: bytes) -> None:
    # May need the lead's parser fix for the exact outcome; send itself must never raise.
    server = scripted_server(answer)
    entry = make(host=server.host, port=server.port, timeout=5.0).send("odd")
    assert not entry.ok and entry.warning.startswith(WARNING_PREFIX)
    assert "\n" not in entry.warning


def test_send_signature_reads_cleanly() -> None:
    import inspect

    for method in (Notifier.send, Notifier.send_async):
        text = str(inspect.signature(method))
        assert "object at" not in text and re.search(r"icon: [^=]+ = None,", text), text
