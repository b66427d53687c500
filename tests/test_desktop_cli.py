"""``gntp-receiver`` as a user runs it: a child process, real sockets, its printed lines."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from gntp_jupyter.gntp import Event, GNTPAuthError, Publisher, Resource

NO_BUS = {"DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent/bus"}


def publisher(child, password: str | None = None, app: str = "CLI App") -> Publisher:
    return Publisher(app, [Event("done"), Event("failed")], host=child.host, port=child.port,
                     password=password, timeout=10)


def test_prints_a_line_per_request_and_stops_on_ctrl_c(receiver_cli):
    child = receiver_cli("--print")
    assert child.host == "127.0.0.1"  # loopback unless told otherwise
    p = publisher(child)
    p.register()
    p.publish("done", "Grüße from the kernel", "x" * 200, icon=Resource(b"i" * 77))
    registered = child.wait_for_line("REGISTER")
    notified = child.wait_for_line("NOTIFY")
    assert "CLI App" in registered and "done, failed" in registered
    assert "Grüße from the kernel" in notified and "icon 77 bytes" in notified
    assert "x" * 50 in notified and "x" * 100 not in notified  # text is truncated
    child.proc.send_signal(signal.SIGINT)
    assert child.proc.wait(timeout=10) == 0
    child.wait_for_line("stopped")


def test_sigterm_stops_it_cleanly(receiver_cli):
    child = receiver_cli("--print")
    assert child.stop() == 0
    child.wait_for_line("stopped")


def _send_raw(child, message: str) -> None:
    # By hand: our own client would already have replaced the control characters.
    with socket.create_connection((child.host, child.port), timeout=10) as sock:
        sock.sendall(message.encode())
        sock.recv(4096)


def test_sender_text_never_reaches_the_terminal_raw(receiver_cli):
    child = receiver_cli("--print")
    app = "Evil\x1b]0;owned\x07App"
    _send_raw(child, f"GNTP/1.0 REGISTER NONE\r\nApplication-Name: {app}\r\n"
                     "Notifications-Count: 1\r\n\r\nNotification-Name: done\r\n"
                     "Notification-Enabled: True\r\n\r\n")
    _send_raw(child, f"GNTP/1.0 NOTIFY NONE\r\nApplication-Name: {app}\r\n"
                     "Notification-Name: done\r\nNotification-Title: \x1b[2J\x1b[31mred\x07\r\n"
                     "Notification-Text: line one\nline two \x9b6n \u202egnp.exe\r\n\r\n")
    line = child.wait_for_line("NOTIFY")
    assert not any(ch in line for ch in "\x1b\x07\x9b\u202e")
    assert "\\x1b[2J\\x1b[31mred\\x07" in line
    assert "Evil\\x1b]0;owned\\x07App" in line
    assert "line one ⏎ line two \\x9b6n \\u202egnp.exe" in line


def test_beyond_loopback_without_a_password_it_refuses_to_start(receiver_cli):
    child = receiver_cli("--print", "--host", "0.0.0.0", wait=False)
    assert child.proc.wait(timeout=20) == 2
    message = child.next_line()
    assert "refusing to listen on 0.0.0.0 without a password" in message
    assert "GNTP_PASSWORD" in message and "--insecure-no-password" in message


def _in_a_private_network() -> list[str]:
    """A prefix running a command in a fresh network namespace (only its own loopback)."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot create a network namespace here: {probe.stderr.decode().strip()}")
    return ["unshare", "--net"]


@pytest.mark.parametrize(
    ("flags", "env", "says"),
    [
        ([], {"GNTP_PASSWORD": "s3cret"}, "password required"),
        (["--insecure-no-password"], {}, "no password"),
    ],
)
def test_beyond_loopback_it_starts_with_a_password_or_the_explicit_flag(flags, env, says):
    prefix = _in_a_private_network()
    code = (
        "import sys; from gntp_jupyter.desktop.cli import main; "
        "sys.exit(main(sys.argv[1:]))"
    )
    argv = [*prefix, sys.executable, "-c", code, "--print", "--host", "0.0.0.0", "--port", "0",
            *flags]
    child_env = {k: v for k, v in os.environ.items() if k != "GNTP_PASSWORD"}
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env={**child_env, **env, "PYTHONUNBUFFERED": "1"}) as proc:
        try:
            first = proc.stdout.readline()
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    assert first.startswith("listening on 0.0.0.0:"), first
    assert says in first


def test_password_from_a_file_is_required_of_senders(receiver_cli, tmp_path):
    secret = tmp_path / "password"
    secret.write_text("correct horse\n")
    child = receiver_cli("--print", "--password-file", str(secret))
    with pytest.raises(GNTPAuthError):
        publisher(child).register()
    publisher(child, password="correct horse").register()
    child.wait_for_line("REGISTER")


def test_password_from_the_environment(receiver_cli):
    child = receiver_cli("--print", env={"GNTP_PASSWORD": "from env"})
    with pytest.raises(GNTPAuthError):
        publisher(child, password="wrong").register()
    publisher(child, password="from env").register()


def test_a_password_on_the_command_line_is_warned_about(receiver_cli):
    child = receiver_cli("--print", "--password", "visible", wait=False)
    warning = child.wait_for_line("process list")
    assert warning.startswith("warning:")
    child.wait_for_line("listening on")


def test_an_unreadable_password_file_is_one_clear_line(receiver_cli, tmp_path):
    child = receiver_cli("--print", "--password-file", str(tmp_path / "missing"), wait=False)
    assert child.proc.wait(timeout=20) == 2
    assert "cannot read the password file" in child.next_line()


def test_desktop_required_without_a_session_bus_exits_with_the_reason(receiver_cli):
    child = receiver_cli("--desktop", env=NO_BUS, wait=False)
    assert child.proc.wait(timeout=30) == 2
    line = child.next_line()
    assert line.startswith("gntp-receiver: --desktop:") and "D-Bus" in line


def test_without_a_desktop_it_says_so_once_and_prints(receiver_cli):
    child = receiver_cli(env=NO_BUS, wait=False)
    line = child.next_line(timeout=30)
    assert line.startswith("no desktop notifications:") and "printing them instead" in line
    assert "notifications printed here" in child.wait_for_line("listening on")


def test_help_shows_the_defaults():
    out = subprocess.run([sys.executable, "-m", "gntp_jupyter.desktop", "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert "(default: 127.0.0.1)" in out and "(default: 23053)" in out
    assert "--insecure-no-password" in out and "--password-file" in out


def _readme_unit() -> str:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    return readme.split("<!-- systemd-unit -->\n```ini\n", 1)[1].split("```", 1)[0]


def _verify_unit(text: str, folder: Path) -> subprocess.CompletedProcess:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd is not installed")
    unit = folder / "gntp-receiver.service"
    unit.write_text(text)
    return subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                          text=True, timeout=60)


def test_the_readmes_systemd_unit_verifies(tmp_path):
    command = Path(sys.executable).parent / "gntp-receiver"
    assert command.exists(), "pip install -e . puts the command beside the interpreter"
    unit = _readme_unit()
    assert "ExecStart=%h/.local/bin/gntp-receiver --desktop" in unit
    result = _verify_unit(unit.replace("%h/.local/bin/gntp-receiver", str(command)), tmp_path)
    assert result.returncode == 0, result.stderr
    broken = _verify_unit(unit.replace("%h/.local/bin/gntp-receiver", "/nonexistent"), tmp_path)
    assert broken.returncode != 0 and "not executable" in broken.stderr


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--port", "70000"], "a port is 0 to 65535"),
        (["--port", "abc"], "argument --port: expected a whole number, not 'abc'"),
        (["--max-connections", "many"], "expected a whole number, not 'many'"),
        (["--max-connections", "0"], "must be at least 1"),
        (["--memory-budget", "-1"], "must be at least 1"),
    ],
)
def test_bad_numbers_are_one_usage_line(argv, says):
    result = subprocess.run([sys.executable, "-m", "gntp_jupyter.desktop", "--print", *argv],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and says in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--password-prompt"], "--password-prompt: no terminal to type the password on"),
        (["--password", "", "--host", "0.0.0.0"], "--password is empty"),
    ],
)
def test_a_password_that_cannot_be_had_is_one_line(argv, says):
    # A new session has no controlling terminal: getpass would otherwise open /dev/tty.
    result = subprocess.run(
        [sys.executable, "-m", "gntp_jupyter.desktop", "--print", "--port", "0", *argv],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30,
        start_new_session=True,
    )
    assert result.returncode == 2
    assert (result.stdout + result.stderr).splitlines() == [f"gntp-receiver: {says}"]
