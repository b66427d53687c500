"""The magics in a real InteractiveShell, against the receiver (and growl-for-linux)."""

from __future__ import annotations

import re
import time
import traceback
from collections.abc import Callable

import pytest
from icon_server import IconServer, png
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

import gntp_jupyter
from gntp_jupyter.gntp.receiver import Notification, ReceiverThread
from gntp_jupyter.notifier import WARNING_PREFIX

BOUND = 30.0  # generous bound for waits that must end (never a timing assertion)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_CELL_NAME = re.compile(r"<ipython-input-\d+-[0-9a-f]+>")


def run(shell: InteractiveShell, cell: str):
    return shell.run_cell(cell, store_history=True)


def clean(text: str) -> str:
    """Output without colours and without the per-source cell file names."""
    return _CELL_NAME.sub("<cell>", _ANSI.sub("", text))


def without_line_1(text: str) -> str:
    return re.sub(r"(?m)^ {4,}1 .*\n", "", text)


def settled(shell: InteractiveShell, receiver: ReceiverThread) -> list[Notification]:
    """Everything that arrived, up to a final sentinel %notify (sentinels are dropped).

    Sends are synchronous and the receiver records before it answers, so "nothing else
    arrived" is checked without waiting for something that should not come.
    """
    before = len(receiver.notifications)
    shell.run_line_magic("notify", "-t sentinel -e message .")
    got = receiver.wait_for(before + 1)
    assert got[-1].title == "sentinel"
    return [n for n in got if n.title != "sentinel"]


def cell_lines(exc: BaseException, shell: InteractiveShell) -> list[tuple[int, str]]:
    names = shell.compile._filename_map
    return [(f.lineno, f.line) for f in traceback.extract_tb(exc.__traceback__)
            if f.filename in names]


# -- the cell runs exactly as without the magic ----------------------------------------

BODIES = {
    "value": "print('hello')\nx = 41\nx + 1\n",
    "semicolon": "y = 5\nprint(y)\ny;\n",
    "nothing": "z = [1, 2]\n",
    "display": "from IPython.display import display\ndisplay('shown')\n7\n",
    "error": "print('before')\na = 1\nb = 2\ndef f():\n    return a / 0\nf()\n",
    "late error": "print('out')\nraise ValueError('bad value')\n",
    "await": "import asyncio\nawait asyncio.sleep(0)\n'awaited'\n",
}


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
def test_cell_runs_exactly_as_without_the_magic(
    shell_factory: Callable[..., InteractiveShell], notify_shell: InteractiveShell,
    receiver: ReceiverThread, capsys: pytest.CaptureFixture[str], body: str,
) -> None:
    plain = shell_factory()
    for sh in (plain, notify_shell):
        run(sh, "_ = 'before'\n'previous'\n")
    capsys.readouterr()
    # A comment stands in for the header so line numbers match.
    plain_result = run(plain, "# no magic\n" + body)
    plain_out = capsys.readouterr()
    magic_result = run(notify_shell, "%%notify_when_done\n" + body)
    magic_out = capsys.readouterr()

    # A traceback's context may show line 1, the header: IPython shows the Python form
    # of a magic line there (as for any %magic); everything else is identical.
    assert without_line_1(clean(magic_out.out)) == without_line_1(clean(plain_out.out))
    assert magic_out.err == plain_out.err == ""
    assert magic_result.success == plain_result.success
    assert magic_result.result == plain_result.result
    for name in ("Out", "_", "__"):
        assert notify_shell.user_ns[name] == plain.user_ns[name]
    if plain_result.error_in_exec is not None:
        p, m = plain_result.error_in_exec, magic_result.error_in_exec
        assert (type(m), str(m)) == (type(p), str(p))
        assert cell_lines(m, notify_shell) == cell_lines(p, plain)
    assert len(receiver.wait_for(1)) == 1


def test_success_notification(notify_shell: InteractiveShell, receiver: ReceiverThread) -> None:
    run(notify_shell, "%%notify_when_done\nimport time\ntime.sleep(0.2)\n6 * 7\n")
    (got,) = settled(notify_shell, receiver)
    assert (got.application, got.name, got.title) == ("Jupyter", "Cell finished", "In [1] finished")
    assert re.fullmatch(r"Finished in 0\.\d\d s → 42", got.text), got.text


def test_failure_notification_names_exception_message_and_line(
    notify_shell: InteractiveShell, receiver: ReceiverThread
) -> None:
    result = run(notify_shell, "%%notify_when_done\nrows = {}\nrows['missing']\n")
    assert isinstance(result.error_in_exec, KeyError)  # the cell still fails
    (got,) = settled(notify_shell, receiver)
    assert (got.name, got.title) == ("Cell failed", "In [1] failed")
    lines = got.text.splitlines()
    assert lines[:2] == ["KeyError: 'missing'", "line 3: rows['missing']"]
    assert lines[2].startswith("after ")


def test_interrupt_is_reported_as_interrupted(
    notify_shell: InteractiveShell, receiver: ReceiverThread
) -> None:
    result = run(notify_shell, "%%notify_when_done\nraise KeyboardInterrupt\n")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    (got,) = settled(notify_shell, receiver)
    assert (got.name, got.title) == ("Cell failed", "In [1] interrupted")
    assert got.text.startswith("Interrupted after ")


def test_only_fail(notify_shell: InteractiveShell, receiver: ReceiverThread) -> None:
    run(notify_shell, "%%notify_when_done --only-fail\nok = True\n")
    assert settled(notify_shell, receiver) == []
    run(notify_shell, "%%notify_when_done --only-fail\nassert not ok, 'it was ok'\n")
    (got,) = settled(notify_shell, receiver)
    assert got.text.startswith("AssertionError: it was ok")


def test_min_seconds(notify_shell: InteractiveShell, receiver: ReceiverThread) -> None:
    run(notify_shell, "%%notify_when_done --min-seconds 60\n1 / 0\n")  # quick, even failing
    assert settled(notify_shell, receiver) == []
    run(notify_shell, "%%notify_when_done --min-seconds 0.2\nimport time\ntime.sleep(0.3)\n")
    assert [n.title for n in settled(notify_shell, receiver)] == ["In [2] finished"]


def test_templates(notify_shell: InteractiveShell, receiver: ReceiverThread,
                   capsys: pytest.CaptureFixture[str]) -> None:
    run(notify_shell, "mine = 'yes'\nloss = None\n")
    run(notify_shell,
        '%%notify_when_done -t "Training {status} {mine}" -m \'loss {loss:.3f} {result} {nope} '
        'in {elapsed}\'\nloss = 0.03125\n[loss]\n')
    (got,) = settled(notify_shell, receiver)
    assert got.title == "Training finished yes"
    assert re.fullmatch(r"loss 0\.031 \[0\.03125\] \{nope\} in 0\.\d\d s", got.text), got.text
    warnings = capsys.readouterr().err.splitlines()
    assert warnings == ["gntp_jupyter: template field left as written — {nope}: NameError: "
                        "name 'nope' is not defined"]


def test_your_variables_win_over_the_magics_fields(
    notify_shell: InteractiveShell, receiver: ReceiverThread,
) -> None:
    run(notify_shell, "count = 1234\nstatus = 'mine'\n")
    run(notify_shell, "%notify processed {count} files")
    run(notify_shell, "%%notify_when_done -t 'Training {status}'\n1\n")
    got = settled(notify_shell, receiver)
    assert [n.text for n in got[:1]] == ["processed 1234 files"]
    assert got[1].title == "Training mine"


def test_expansion_uses_the_calling_functions_locals(
    notify_shell: InteractiveShell, receiver: ReceiverThread,
) -> None:
    run(notify_shell, "n = 'global'\ndef f(n):\n    local_only = n * 2\n"
                      "    %notify -t \"f {n}\" inside f {local_only}\n")
    run(notify_shell, "f(5)")
    (got,) = settled(notify_shell, receiver)
    assert (got.title, got.text) == ("f 5", "inside f 10")


def test_a_bad_field_costs_only_itself_with_one_warning_line(
    notify_shell: InteractiveShell, receiver: ReceiverThread, capsys: pytest.CaptureFixture[str],
) -> None:
    run(notify_shell, "df = [1, 2, 3]\nloss = 0.5\n")
    capsys.readouterr()
    result = run(notify_shell, '%notify --title "Done {nonexistent}" value {1/0} and {len(df)} '
                               "{loss:.3q}\n'after'")
    assert result.success and result.result == "after"
    (got,) = settled(notify_shell, receiver)
    assert (got.title, got.text) == ("Done {nonexistent}", "value {1/0} and 3 {loss:.3q}")
    (line,) = capsys.readouterr().err.splitlines()
    assert "{nonexistent}: NameError" in line and "{1/0}: ZeroDivisionError" in line
    assert "{loss:.3q}: ValueError" in line


@pytest.mark.parametrize(("typed", "message"), [
    ("epoch {i} -> done", "epoch 0 -> done"),
    ("delta: -x", "delta: -x"),
    ("from -c", "from -c"),
    ("-t T -5 degrees", "-5 degrees"),
    ("-t T -- --sticky is a word", "--sticky is a word"),
    ("--stick 'quoted whole'", "quoted whole"),
    ("-p2 it's 'half' quoted", "it's 'half' quoted"),
])
def test_options_come_first_then_the_rest_is_the_message(
    notify_shell: InteractiveShell, receiver: ReceiverThread, typed: str, message: str,
) -> None:
    result = run(notify_shell, f"for i in range(2):\n    %notify {typed}\n'went on'")
    assert result.success and result.result == "went on"
    got = settled(notify_shell, receiver)
    assert [n.text for n in got] == [message, message.replace("0", "1")]


def test_second_cell_magic_and_time_wrapping(
    notify_shell: InteractiveShell, receiver: ReceiverThread, capsys: pytest.CaptureFixture[str]
) -> None:
    run(notify_shell, "%%notify_when_done -t captured\n%%capture cap\nprint('hidden')\n")
    assert notify_shell.user_ns["cap"].stdout == "hidden\n"
    run(notify_shell, "%%time\n%%notify_when_done -t timed\nt = 1\n")
    assert "Wall time" in capsys.readouterr().out
    assert [n.title for n in settled(notify_shell, receiver)] == ["captured", "timed"]


def test_line_magic_form_arms_its_cell(
    notify_shell: InteractiveShell, receiver: ReceiverThread
) -> None:
    run(notify_shell, "v = 1\n%notify_when_done -t 'armed mid-cell'\nv + 1\n")
    (got,) = settled(notify_shell, receiver)
    assert (got.title, got.text.split(" → ")[1]) == ("armed mid-cell", "2")


def test_called_directly_it_runs_the_body_and_notifies_at_once(
    notify_shell: InteractiveShell, receiver: ReceiverThread
) -> None:
    value = notify_shell.run_cell_magic("notify_when_done", "-t direct", "w = 2\nw * 3\n")
    assert value == 6 and notify_shell.user_ns["w"] == 2
    assert receiver.wait_for(1)[0].title == "direct"  # sent before run_cell_magic returned
    with pytest.raises(ZeroDivisionError):
        notify_shell.run_cell_magic("notify_when_done", "", "w / 0\n")
    failed = receiver.wait_for(2)[1]
    assert failed.name == "Cell failed" and failed.text.startswith("ZeroDivisionError")


def test_bad_options_are_usage_errors(notify_shell: InteractiveShell) -> None:
    for args in ("--min-seconds soon", "--min-seconds -1", "-p 3", "--port 0", "--bogus",
                 "--callback notaurl"):
        with pytest.raises(UsageError):
            notify_shell.run_cell_magic("notify_when_done", args, "pass\n")
    result = run(notify_shell, "%%notify_when_done --min-seconds soon\nran = True\n")
    assert isinstance(result.error_in_exec, UsageError)
    assert "ran" not in notify_shell.user_ns  # a bad header stops the cell, like any magic


# -- %notify --------------------------------------------------------------------------


def test_notify_sends_now_with_expansion(
    notify_shell: InteractiveShell, receiver: ReceiverThread
) -> None:
    run(notify_shell, "epoch = 3\nloss = 0.123456\n")
    run(notify_shell, '%notify -t "Epoch {epoch}" loss {loss:.3f}, {len([1, 2])} items')
    run(notify_shell, "%notify \"quoted message\"")
    run(notify_shell, "%notify it's fine")
    got = receiver.wait_for(3)
    assert [(n.name, n.title, n.text) for n in got] == [
        ("Message", "Epoch 3", "loss 0.123, 2 items"),
        ("Message", "In [3]", "quoted message"),
        ("Message", "In [4]", "it's fine"),
    ]
    # Outside any cell there is no In [N]: the application name is the title.
    notify_shell.run_line_magic("notify", "from code")
    assert receiver.wait_for(4)[3].title == "Jupyter"


def test_notify_mid_cell_is_on_the_wire_before_the_cell_goes_on(
    notify_shell: InteractiveShell, receiver: ReceiverThread
) -> None:
    notify_shell.user_ns["receiver"] = receiver
    result = run(notify_shell, (
        "seen = []\n"
        "for i in range(3):\n"
        "    %notify --id progress step {i + 1} of 3\n"
        "    seen.append(len(receiver.notifications))\n"
    ))
    assert result.success
    assert notify_shell.user_ns["seen"] == [1, 2, 3]
    assert [(n.text, n.coalescing_id) for n in receiver.notifications] == [
        (f"step {i} of 3", "progress") for i in (1, 2, 3)]


def test_notify_options(
    notify_shell: InteractiveShell, receiver_factory: Callable[..., ReceiverThread],
    receiver: ReceiverThread, tmp_path,
) -> None:
    icon = tmp_path / "i.png"
    icon.write_bytes(png("magic icon"))
    other = receiver_factory()
    run(notify_shell, f"%notify -e failed --sticky -p -2 -i {icon} --callback http://x.test/nb hi")
    run(notify_shell, f"%notify -e FINISHED --host 127.0.0.1 --port {other.port} elsewhere")
    got = receiver.wait_for(1)[0]
    assert (got.name, got.sticky, got.priority, got.icon, got.callback_target) == (
        "Cell failed", True, -2, png("magic icon"), "http://x.test/nb")
    assert (other.wait_for(1)[0].name, other.notifications[0].text) == ("Cell finished",
                                                                        "elsewhere")


def test_notify_usage_errors(notify_shell: InteractiveShell) -> None:
    for args in ("", "-t only-a-title", "-e nosuchtype hi", "-p 7 hi", "-p high hi",
                 "--port 70000 hi", "--callback notaurl hi", "--callback http:/// hi",
                 "--host [::1 hi", "--host localhost:0 hi", "--bogus hi"):
        with pytest.raises(UsageError):
            notify_shell.run_line_magic("notify", args)


def _icon_files(tmp_path) -> dict[str, str]:
    (tmp_path / "icon.png").write_bytes(png("file icon"))
    (tmp_path / "notes.txt").write_text("just text, not an image\n")
    return {"missing": str(tmp_path / "nope.png"), "text file": str(tmp_path / "notes.txt"),
            "directory": str(tmp_path), "remote file URL": "file://example.org/x.png"}


@pytest.mark.parametrize("case", ["missing", "text file", "directory", "remote file URL"])
def test_every_icon_problem_costs_only_the_icon_with_one_warning(
    notify_shell: InteractiveShell, receiver: ReceiverThread, tmp_path,
    capsys: pytest.CaptureFixture[str], case: str,
) -> None:
    icon = _icon_files(tmp_path)[case]
    result = run(notify_shell, f"%notify -i {icon} hello\n'went on'")
    assert result.success and result.result == "went on"
    (got,) = settled(notify_shell, receiver)
    assert (got.text, got.icon) == ("hello", None)
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("gntp_jupyter: notification sent, but icon not used")
    expected = {"missing": "No such file", "text file": "not an image (first bytes b'just tex'",
                "directory": "a directory, not an image file",
                "remote file URL": "must name a file on this machine"}[case]
    assert expected in line, line
    notify_shell.run_line_magic("config", f"GNTPNotifier.icon = {icon!r}")
    run(notify_shell, "%notify again")
    assert capsys.readouterr().err.count("icon not used") == 1  # the configured icon too


def test_a_file_url_icon_is_a_path(notify_shell: InteractiveShell, receiver: ReceiverThread,
                                   tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    _icon_files(tmp_path)
    run(notify_shell, f"%notify -i file://{tmp_path}/icon.png hello")
    (got,) = settled(notify_shell, receiver)
    assert got.icon == png("file icon") and capsys.readouterr().err == ""


@pytest.mark.parametrize("form", ["127.0.0.1:{port}", "[127.0.0.1]:{port}", "localhost:{port}"])
def test_host_takes_the_forms_the_tool_prints(
    notify_shell: InteractiveShell, receiver_factory: Callable[..., ReceiverThread], form: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    other = receiver_factory()
    run(notify_shell, f"%notify --host {form.format(port=other.port)} elsewhere")
    assert other.wait_for(1)[0].text == "elsewhere"
    assert capsys.readouterr().err == ""


def test_host_takes_a_bracketed_ipv6_literal(
    notify_shell: InteractiveShell, receiver_factory: Callable[..., ReceiverThread],
    capsys: pytest.CaptureFixture[str],
) -> None:
    try:
        other = receiver_factory(host="::1")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    run(notify_shell, f"%notify --host [::1] --port {other.port} six")
    run(notify_shell, f"%notify --host [::1]:{other.port} six")
    assert [n.text for n in other.wait_for(2)] == ["six", "six"]
    assert capsys.readouterr().err == ""


def test_callback_url_from_config(notify_shell: InteractiveShell, receiver: ReceiverThread) -> None:
    url = "http://localhost:8888/lab/tree/train.ipynb"
    notify_shell.run_line_magic("config", f"GNTPNotifier.callback_url = {url!r}")
    run(notify_shell, "%%notify_when_done\nx = 1\n")
    assert receiver.wait_for(1)[0].callback_target == url


def test_show_prints_settings_with_password_masked(
    notify_shell: InteractiveShell, receiver: ReceiverThread,
    capsys: pytest.CaptureFixture[str], clean_gntp_env: pytest.MonkeyPatch,
) -> None:
    notify_shell.run_line_magic("config", "GNTPNotifier.password = 'hunter2'")
    clean_gntp_env.setenv("GNTP_PORT", str(receiver.port))
    notify_shell.run_line_magic("notify", "--show")
    out = capsys.readouterr().out
    assert "hunter2" not in out and "'********'" in out
    assert re.search(rf"port\s+{receiver.port}\s+\(from GNTP_PORT\)", out)
    assert re.search(r"host\s+'127\.0\.0\.1'\n", out)


def test_test_prints_the_round_trip(
    notify_shell: InteractiveShell, receiver: ReceiverThread, capsys: pytest.CaptureFixture[str],
    closed_port: int,
) -> None:
    notify_shell.run_line_magic("notify", "--test")
    out = capsys.readouterr().out
    assert re.fullmatch(rf"test notification delivered to 127\.0\.0\.1:{receiver.port}: "
                        r"round trip \d+\.\d ms\n", out), out
    assert receiver.wait_for(1)[0].title == "gntp_jupyter test"
    notify_shell.run_line_magic("notify", f"--test --port {closed_port}")
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith(WARNING_PREFIX)


def test_notify_url_icon(
    notify_shell: InteractiveShell, receiver: ReceiverThread, icon_server: IconServer
) -> None:
    url = icon_server.url("/magics/url.png")
    run(notify_shell, f"%notify -i {url} with a URL icon")
    assert receiver.wait_for(1)[0].icon == png("/magics/url.png")
    assert icon_server.hits["/magics/url.png"] == 1


# -- %autonotify ----------------------------------------------------------------------


def test_autonotify(notify_shell: InteractiveShell, receiver: ReceiverThread,
                    capsys: pytest.CaptureFixture[str]) -> None:
    run(notify_shell, "%autonotify --after 0.2")
    assert "autonotify on" in capsys.readouterr().out
    assert gntp_jupyter.get_notifier(notify_shell).config.autonotify_after == 0.2
    run(notify_shell, "quick = 1\n")
    run(notify_shell, "import time\ntime.sleep(0.3)\n'slow'\n")
    run(notify_shell, "time.sleep(0.3)\n1 / 0\n")
    run(notify_shell, "%%notify_when_done -t explicit\ntime.sleep(0.3)\n")  # once, not twice
    notify_shell.run_cell("time.sleep(0.3)", silent=True)
    assert [(n.name, n.title) for n in settled(notify_shell, receiver)] == [
        ("Cell finished", "In [3] finished"), ("Cell failed", "In [4] failed"),
        ("Cell finished", "explicit")]
    run(notify_shell, "%autonotify --only-fail --after 0.2")
    run(notify_shell, "time.sleep(0.3)\n")
    run(notify_shell, "time.sleep(0.3)\nraise RuntimeError('late')\n")
    assert [n.title for n in settled(notify_shell, receiver)[3:]] == ["In [8] failed"]
    run(notify_shell, "%autonotify --off")
    run(notify_shell, "time.sleep(0.3)\n1 / 0\n")
    assert len(settled(notify_shell, receiver)) == 4
    assert gntp_jupyter.get_notifier(notify_shell).config.autonotify_after is None
    with pytest.raises(UsageError):
        notify_shell.run_line_magic("autonotify", "--after never")


# -- never cost the user their work ---------------------------------------------------


def assert_cell_survives(shell: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> str:
    """Run a %%notify_when_done cell; check output, Out and _; return the warning line."""
    start = time.monotonic()
    result = run(shell, "%%notify_when_done\nprint('computed')\n'result'\n")
    assert time.monotonic() - start < BOUND
    captured = capsys.readouterr()
    assert result.success and result.result == "result"
    assert clean(captured.out) == f"computed\nOut[{result.execution_count}]: 'result'\n"
    assert shell.user_ns["_"] == "result"
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(WARNING_PREFIX)
    return lines[0]


def test_nothing_listening(shell: InteractiveShell, closed_port: int,
                           capsys: pytest.CaptureFixture[str]) -> None:
    shell.run_line_magic("load_ext", "gntp_jupyter")
    shell.run_line_magic("config", f"GNTPNotifier.port = {closed_port}")
    shell.run_line_magic("config", "GNTPNotifier.host = '127.0.0.1'")
    warning = assert_cell_survives(shell, capsys)
    assert "nothing is listening" in warning and "gntp-receiver" in warning
    # Back-off: the next cell does not try again, and says nothing more.
    result = run(shell, "%%notify_when_done\n'again'\n")
    assert result.success and capsys.readouterr().err == ""
    history = gntp_jupyter.get_notifier(shell).history.entries()
    assert [e.outcome.split(":")[0] for e in history] == ["refused", "skipped"]
    # An explicit %notify during the back-off says why it was not sent.
    shell.run_line_magic("notify", "asked for")
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "skipped" in err[0] and "%notify --test" in err[0]


def test_black_holed_host(shell: InteractiveShell, receiver_factory: Callable[..., ReceiverThread],
                          capsys: pytest.CaptureFixture[str]) -> None:
    hole = receiver_factory(mode="silent")
    shell.run_line_magic("load_ext", "gntp_jupyter")
    for setting in (f"host = {hole.host!r}", f"port = {hole.port}", "timeout = 0.5"):
        shell.run_line_magic("config", f"GNTPNotifier.{setting}")
    warning = assert_cell_survives(shell, capsys)
    assert "sent no answer within" in warning and "not retried" in warning
    assert len(hole.requests) == 1  # it got the REGISTER and never answered
    run(shell, "%%notify_when_done\n'again'\n")
    assert len(hole.requests) == 1 and capsys.readouterr().err == ""


def test_wrong_password(shell: InteractiveShell, receiver_factory: Callable[..., ReceiverThread],
                        capsys: pytest.CaptureFixture[str]) -> None:
    locked = receiver_factory(password="correct horse")
    shell.run_line_magic("load_ext", "gntp_jupyter")
    for setting in (f"host = {locked.host!r}", f"port = {locked.port}", "password = 'wrong'"):
        shell.run_line_magic("config", f"GNTPNotifier.{setting}")
    warning = assert_cell_survives(shell, capsys)
    assert "server error 400" in warning and "check the password" in warning
    assert locked.notifications == []


def test_failing_cell_with_unreachable_target_keeps_its_exception(
    shell: InteractiveShell, closed_port: int, capsys: pytest.CaptureFixture[str],
) -> None:
    shell.run_line_magic("load_ext", "gntp_jupyter")
    shell.run_line_magic("config", f"GNTPNotifier.port = {closed_port}")
    result = run(shell, "%%notify_when_done\nraise LookupError('kept')\n")
    assert isinstance(result.error_in_exec, LookupError)
    captured = capsys.readouterr()
    assert "LookupError: kept" in clean(captured.out)
    assert len(captured.err.splitlines()) == 1


# -- growl-for-linux ------------------------------------------------------------------


@pytest.mark.gol
def test_growl_for_linux_receives_success_and_failure(
    shell: InteractiveShell, gol, gol_app_name: str
) -> None:
    shell.run_line_magic("load_ext", "gntp_jupyter")
    for setting in ("host = '127.0.0.1'", "port = 23053", "timeout = 8.0",
                    f"app_name = {gol_app_name!r}"):
        shell.run_line_magic("config", f"GNTPNotifier.{setting}")
    assert run(shell, "%%notify_when_done -t 'gol ok {status}'\n40 + 2\n").success
    assert not run(shell, "%%notify_when_done -t 'gol bad {status}'\n{}['k']\n").success
    history = gntp_jupyter.get_notifier(shell).history.entries()
    assert [e.ok for e in history] == [True, True], [e.warning for e in history]
    rows = {r["title"]: r["text"] for r in gol.notifications()}
    assert rows["gol ok finished"].startswith("Finished in") and "→ 42" in rows["gol ok finished"]
    assert rows["gol bad failed"].startswith("KeyError: 'k'")
    apps = {(r["app_name"], r["name"]) for r in gol.applications()}
    assert {(gol_app_name, "Cell finished"), (gol_app_name, "Cell failed")} <= apps


# -- cells as they really run ------------------------------------------------------------


def test_a_silent_cell_runs_its_body_without_notifying(
    notify_shell: InteractiveShell, receiver: ReceiverThread, capsys: pytest.CaptureFixture[str],
) -> None:
    result = notify_shell.run_cell("%%notify_when_done\nran = 'yes'\n", silent=True)
    assert result.error_in_exec is None and notify_shell.user_ns["ran"] == "yes"
    assert settled(notify_shell, receiver) == []
    assert capsys.readouterr().err == ""


def test_a_cell_without_history_is_not_given_the_next_cells_number(
    notify_shell: InteractiveShell, receiver: ReceiverThread,
) -> None:
    run(notify_shell, "1")
    notify_shell.run_cell("%%notify_when_done\n2\n", store_history=False)
    notify_shell.run_cell("%notify unnumbered", store_history=False)
    run(notify_shell, "%%notify_when_done\n3\n")
    got = settled(notify_shell, receiver)
    assert [n.title for n in got] == ["Cell finished", "Jupyter", "In [2] finished"]


def test_the_failing_line_reads_as_typed(
    notify_shell: InteractiveShell, receiver: ReceiverThread,
) -> None:
    run(notify_shell, "%autonotify --after 0")
    run(notify_shell, "%autonotify --after nan")
    run(notify_shell, "%autonotify --off")
    failed = [n for n in settled(notify_shell, receiver) if n.name == "Cell failed"]
    assert [n.text.splitlines()[1] for n in failed] == ["line 1: %autonotify --after nan"]


def test_an_unprintable_exception_is_reported_as_unprintable(
    notify_shell: InteractiveShell, receiver: ReceiverThread,
) -> None:
    run(notify_shell, "class Unprintable(Exception):\n"
                      "    def __str__(self):\n        raise RuntimeError('no text')\n")
    run(notify_shell, "%%notify_when_done\nx = 1\nraise Unprintable()\n")
    (got,) = settled(notify_shell, receiver)
    assert got.name == "Cell failed"
    assert got.text.splitlines()[:2] == ["Unprintable (unprintable: its __str__ raised)",
                                         "line 3: raise Unprintable()"]


@pytest.mark.parametrize("how", ["%%notify_when_done\n", "%autonotify --after 0\n"])
def test_an_interrupt_escaping_a_top_level_await_is_reported(
    notify_shell: InteractiveShell, receiver: ReceiverThread, how: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # In terminal IPython, Ctrl-C during a top-level await is raised in the event loop's
    # select(), so it leaves the loop runner, not the cell; a loop callback raising
    # KeyboardInterrupt leaves it the same way.
    run(notify_shell, "import asyncio\ndef stop():\n    raise KeyboardInterrupt\n")
    if how.startswith("%autonotify"):
        run(notify_shell, how)
        how = ""
    number = notify_shell.execution_count  # the In [N] the next cell gets
    result = run(notify_shell, how + "asyncio.get_running_loop().call_soon(stop)\n"
                                     "await asyncio.sleep(3600)\n")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    shown = clean(capsys.readouterr().out)
    assert "KeyboardInterrupt" in shown
    assert "gntp_jupyter" not in shown  # the traceback is IPython's own, as without us
    run(notify_shell, "%autonotify --off")
    interrupted = [n for n in settled(notify_shell, receiver) if "interrupted" in n.title]
    assert [n.title for n in interrupted] == [f"In [{number}] interrupted"]


def test_notify_panel_in_a_terminal_says_it_needs_a_notebook(
    shell_factory: Callable[..., InteractiveShell], capsys: pytest.CaptureFixture[str],
) -> None:
    from IPython.terminal.interactiveshell import TerminalInteractiveShell
    from traitlets.config import Config

    c = Config()
    c.HistoryAccessor.enabled = False
    c.TerminalInteractiveShell.simple_prompt = True
    terminal = TerminalInteractiveShell(config=c)
    try:
        terminal.run_line_magic("load_ext", "gntp_jupyter")
        capsys.readouterr()
        result = terminal.run_cell("%notify_panel", store_history=True)
        assert result.success and result.result is None
        out = capsys.readouterr().out
        assert "needs a notebook front end" in out and "Widget" not in out
    finally:
        terminal.run_line_magic("unload_ext", "gntp_jupyter")
        TerminalInteractiveShell.clear_instance()


def test_an_answer_no_parser_expects_costs_one_warning_line(
    shell: InteractiveShell, scripted_server, capsys: pytest.CaptureFixture[str],
) -> None:
    # Until the parser itself reads this as a GNTPError, the send path must still catch it.
    server = scripted_server(b"GNTP/1.0 -ERROR NONE\r\nError-Code: \xc2\xb2\r\n\r\n")
    shell.run_line_magic("load_ext", "gntp_jupyter")
    shell.run_line_magic("config", f"GNTPNotifier.port = {server.port}")
    shell.run_line_magic("config", "GNTPNotifier.host = '127.0.0.1'")
    capsys.readouterr()
    result = run(shell, "%notify hello\n'went on'")
    assert result.success and result.result == "went on"
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(WARNING_PREFIX)


# -- the password ------------------------------------------------------------------------

VERBOSE_CELLS = {
    "config and options": "state_for(get_ipython()).config.client_options(port=70000)\n",
    "below derive_key": (
        "opts = state_for(get_ipython()).config.client_options()\n"
        "odd = dataclasses.replace(opts.security, randbytes=lambda n: 'not bytes')\n"
        "encode_message('NOTIFY', [[('Application-Name', 'A')]], odd)\n"
    ),
    "publisher": (
        "opts = state_for(get_ipython()).config.client_options()\n"
        "Publisher('A', ['e'], options=opts, headers={'bad name': 'x'})\n"
    ),
}


@pytest.mark.parametrize("cell", VERBOSE_CELLS.values(), ids=VERBOSE_CELLS.keys())
def test_a_verbose_traceback_never_shows_the_password(
    notify_shell: InteractiveShell, capsys: pytest.CaptureFixture[str], cell: str,
) -> None:
    password = "hunter-" + "2-secret"
    notify_shell.user_ns["_pw"] = password
    run(notify_shell, "get_ipython().run_line_magic('config', f'GNTPNotifier.password = {_pw!r}')"
                      "\ndel _pw\n")
    run(notify_shell, "import dataclasses\nfrom gntp_jupyter.extension import state_for\n"
                      "from gntp_jupyter.gntp import Publisher\n"
                      "from gntp_jupyter.gntp.encoding import encode_message\n")
    run(notify_shell, "%xmode Verbose")
    capsys.readouterr()
    result = run(notify_shell, cell)
    assert result.error_in_exec is not None
    out = capsys.readouterr()
    shown = clean(out.out + out.err)
    assert "Traceback" in shown and password not in shown, shown


def test_a_password_that_is_not_utf8_is_one_line_at_load(
    shell: InteractiveShell, receiver: ReceiverThread, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import os

    monkeypatch.setitem(os.environb, b"GNTP_PASSWORD", b"caf\xe9-secret")
    shell.run_line_magic("load_ext", "gntp_jupyter")
    assert capsys.readouterr().err == (
        "gntp_jupyter: GNTP_PASSWORD ignored: it is not valid UTF-8 text\n")
    shell.run_line_magic("config", f"GNTPNotifier.port = {receiver.port}")
    shell.run_line_magic("config", "GNTPNotifier.host = '127.0.0.1'")
    run(shell, "%notify still works")
    assert receiver.wait_for(1)[0].text == "still works"
    assert capsys.readouterr().err == ""
