"""GNTPNotifier: one validated configuration — traits, profile config, %config, GNTP_* env."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from traitlets import TraitError
from traitlets.config import Config

import gntp_jupyter
from gntp_jupyter.config import DEFAULT_ICON, GNTPNotifier


def config_of(shell: InteractiveShell) -> GNTPNotifier:
    return gntp_jupyter.get_notifier(shell).config


def test_defaults(clean_gntp_env: pytest.MonkeyPatch) -> None:
    c = GNTPNotifier()
    assert (c.host, c.port, c.app_name, c.timeout) == ("localhost", 23053, "Jupyter", 3.0)
    assert c.event_types == ["Cell finished", "Cell failed", "Message"]
    assert (c.finished_event, c.failed_event, c.message_event) == tuple(c.event_types)
    assert c.icon == DEFAULT_ICON
    with open(DEFAULT_ICON, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    assert c.autonotify_after is None and c.check() is None
    assert c.environment_problems == []


def test_environment_overrides_the_profile(clean_gntp_env: pytest.MonkeyPatch) -> None:
    env = {"GNTP_HOST": "desk.example", "GNTP_PORT": "23099", "GNTP_PASSWORD": "pw",
           "GNTP_HASH": "sha512", "GNTP_ENCRYPTION": "aes", "GNTP_APP_NAME": "Lab",
           "GNTP_TIMEOUT": "1.5", "GNTP_CALLBACK_URL": "http://nb.example/lab"}
    for var, value in env.items():
        clean_gntp_env.setenv(var, value)
    profile = Config()
    profile.GNTPNotifier.host = "from-profile"
    profile.GNTPNotifier.sticky = True
    c = GNTPNotifier(config=profile)
    assert (c.host, c.port, c.password, c.hash_algorithm, c.encryption) == (
        "desk.example", 23099, "pw", "SHA512", "AES")
    assert (c.app_name, c.timeout, c.callback_url) == ("Lab", 1.5, "http://nb.example/lab")
    assert c.sticky is True  # not overridden: the profile's value stays
    options = c.client_options()
    assert (options.host, options.port, options.timeout.connect) == ("desk.example", 23099, 1.5)


def test_bad_environment_values_are_reported_not_fatal(clean_gntp_env: pytest.MonkeyPatch) -> None:
    clean_gntp_env.setenv("GNTP_PORT", "many")
    clean_gntp_env.setenv("GNTP_TIMEOUT", "-1")
    clean_gntp_env.setenv("GNTP_HASH", "CRC32")
    clean_gntp_env.setenv("GNTP_HOST", "ok.example")
    c = GNTPNotifier()
    assert (c.port, c.timeout, c.hash_algorithm, c.host) == (23053, 3.0, "SHA256", "ok.example")
    assert [p.split("=")[0] for p in c.environment_problems] == [
        "GNTP_PORT", "GNTP_HASH", "GNTP_TIMEOUT"]
    # Each in words a user reads, not Python's or traitlets' internals.
    assert c.environment_problems[:2] == [
        "GNTP_PORT='many' ignored: expected a whole number",
        "GNTP_HASH='CRC32' ignored: expected one of MD5, SHA1, SHA256, SHA512",
    ]


def test_bad_environment_is_one_warning_line_at_load(
    shell_factory: Callable[..., InteractiveShell], clean_gntp_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clean_gntp_env.setenv("GNTP_PORT", "many")
    shell = shell_factory()
    shell.run_line_magic("load_ext", "gntp_jupyter")
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gntp_jupyter: GNTP_PORT='many' ignored")


@pytest.mark.parametrize(
    ("trait", "value"),
    [("port", 0), ("port", 70000), ("priority", 3), ("priority", -3), ("timeout", 0.0),
     ("timeout", float("nan")), ("retry_after", -1.0), ("host", "  "), ("app_name", ""),
     ("event_types", ["a", "a", "b"]), ("event_types", ["a", "b"]), ("hash_algorithm", "CRC"),
     ("encryption", "ROT13"), ("autonotify_after", -5.0)],
)
def test_invalid_values_are_refused(
    clean_gntp_env: pytest.MonkeyPatch, trait: str, value: object
) -> None:
    c = GNTPNotifier()
    before = getattr(c, trait)
    with pytest.raises(TraitError):
        setattr(c, trait, value)
    assert getattr(c, trait) == before


def test_config_magic_sets_and_rejects(
    shell: InteractiveShell, caplog: pytest.LogCaptureFixture
) -> None:
    shell.run_line_magic("load_ext", "gntp_jupyter")
    c = config_of(shell)
    shell.run_line_magic("config", "GNTPNotifier.host = 'laptop.local'")
    shell.run_line_magic("config", "GNTPNotifier.port = 23060")
    assert (c.host, c.port) == ("laptop.local", 23060)
    for bad in ("GNTPNotifier.port = 'abc'", "GNTPNotifier.port = 99999",
                "GNTPNotifier.priority = 9", "GNTPNotifier.timeout = 0"):
        shell.run_line_magic("config", bad)
    # %config only logs a rejected value; the setting keeps its last good value.
    assert (c.port, c.priority, c.timeout) == (23060, 0, 3.0)
    assert sum("GNTPNotifier" in r.getMessage() or "port" in r.getMessage()
               for r in caplog.records) >= 1


def test_combinations_that_cannot_work_are_reported_at_once(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    shell.run_line_magic("load_ext", "gntp_jupyter")
    shell.run_line_magic("config", "GNTPNotifier.encryption = 'AES'")
    err = capsys.readouterr().err
    assert "cannot work yet" in err and "needs a password" in err
    shell.run_line_magic("config", "GNTPNotifier.password = 'pw'")
    assert capsys.readouterr().err == ""
    shell.run_line_magic("config", "GNTPNotifier.hash_algorithm = 'MD5'")
    assert "use SHA256 or SHA512" in capsys.readouterr().err
    assert "SHA256 or SHA512" in config_of(shell).check()


def test_profile_config_reaches_the_shared_configurable(
    shell_factory: Callable[..., InteractiveShell],
) -> None:
    profile = Config()
    profile.GNTPNotifier.host = "profile.example"
    profile.GNTPNotifier.autonotify_after = 120.0
    shell = shell_factory(profile)
    shell.run_line_magic("load_ext", "gntp_jupyter")
    c = config_of(shell)
    assert (c.host, c.autonotify_after) == ("profile.example", 120.0)
    assert c in shell.configurables  # so %config GNTPNotifier.* finds it


def test_summary_masks_the_password(clean_gntp_env: pytest.MonkeyPatch) -> None:
    c = GNTPNotifier(password="hunter2")
    summary = c.summary()
    assert summary["password"] == "********"
    assert "hunter2" not in repr(summary) and "hunter2" not in repr(c.client_options())
    assert GNTPNotifier().summary()["password"] is None


def test_client_options_overrides(clean_gntp_env: pytest.MonkeyPatch) -> None:
    c = GNTPNotifier(host="a.example", port=1000)
    o = c.client_options(host="b.example", port=None)
    assert (o.host, o.port) == ("b.example", 1000)


def test_config_listing_never_shows_the_password(shell) -> None:
    """``%config GNTPNotifier`` prints every trait's current value, except this one."""
    shell.run_line_magic("load_ext", "gntp_jupyter")
    shell.run_line_magic("config", "GNTPNotifier.password = 'hunter2'")
    with capture_output() as out:
        shell.run_line_magic("config", "GNTPNotifier")
    assert "GNTPNotifier.password" in out.stdout
    assert "Current: (set)" in out.stdout
    assert "hunter2" not in out.stdout + out.stderr
