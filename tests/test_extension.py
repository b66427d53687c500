"""Loading and unloading: cheap import, register-only load, complete unload, profiles."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

import gntp_jupyter
from gntp_jupyter.extension import state_for
from gntp_jupyter.gntp.receiver import ReceiverThread
from gntp_jupyter.notifier import Notifier

REPO = Path(__file__).resolve().parents[1]
OUR_MAGICS = {"line": {"notify", "notify_when_done", "autonotify", "notify_panel"},
              "cell": {"notify_when_done"}}


def snapshot(shell: InteractiveShell) -> dict:
    """Everything an extension can register with a shell, as comparable values."""
    manager = shell.magics_manager
    return {
        "magics": {kind: dict(table) for kind, table in manager.magics.items()},
        "registry": dict(manager.registry),
        "events": {name: list(cbs) for name, cbs in shell.events.callbacks.items()},
        "cleanup": list(shell.input_transformers_cleanup),
        "post": list(shell.input_transformers_post),
        "configurables": list(shell.configurables),
    }


def run_python(code: str, env: dict | None = None) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
        env={**os.environ, **(env or {})}, cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_importing_the_package_is_cheap() -> None:
    out = run_python(
        "import sys, json, gntp_jupyter\n"
        "heavy = ('IPython', 'traitlets', 'tornado', 'cryptography', 'ipywidgets',"
        " 'gntp_jupyter.gntp', 'asyncio')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy"
        " or m.startswith(heavy))))"
    )
    assert json.loads(out) == []


def module_imports(path: Path, *, runtime_only: bool) -> set[str]:
    """The ``gntp_jupyter`` modules a source file imports: at module level or inside
    functions; with ``runtime_only``, not those under ``if TYPE_CHECKING:``."""
    name = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text("utf-8"))
    if runtime_only:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                node.body = []
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([node.module] if node.module else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # from . import x
    return {m for m in found if m == "gntp_jupyter" or m.startswith("gntp_jupyter.")}


def package_modules() -> dict[str, Path]:
    return {
        ".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__"): p
        for p in sorted((REPO / "gntp_jupyter").rglob("*.py"))
    }


def test_magics_never_import_the_extension() -> None:
    """The extension imports the magics and hands itself over when it registers them;
    the magics import nothing of the extension, not even for type hints."""
    modules = package_modules()
    magics = module_imports(modules["gntp_jupyter.magics"], runtime_only=False)
    assert "gntp_jupyter.extension" not in magics
    assert "gntp_jupyter.magics" in module_imports(modules["gntp_jupyter.extension"],
                                                   runtime_only=True)


def test_no_import_cycles_between_the_package_modules() -> None:
    """No module imports, at run time (lazily inside a function too), a module that
    imports it back, directly or around a longer circle. A module importing its own
    package (``from . import __version__``) is not a circle."""
    modules = package_modules()
    graph = {
        name: {m for m in module_imports(path, runtime_only=True)
               if m in modules and not name.startswith(m + ".")}
        for name, path in modules.items()
    }

    def circle_from(start: str) -> list[str] | None:
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    return [*path, start]
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*path, nxt]))
        return None

    circles = [c for c in map(circle_from, sorted(graph)) if c]
    assert circles == [], "import circles: " + "; ".join(" -> ".join(c) for c in circles)


def test_the_magics_import_with_the_extension_module_blocked() -> None:
    out = run_python(
        "import sys\n"
        "sys.modules['gntp_jupyter.extension'] = None  # any import of it now fails\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "from gntp_jupyter.magics import NotifyMagics, _port\n"
        "try:\n"
        "    _port('0')\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__)\n"
        "print(sorted(NotifyMagics(InteractiveShell.instance(), None).magics['line']))\n"
    )
    assert out.splitlines() == [
        "UsageError",
        "['autonotify', 'notify', 'notify_panel', 'notify_when_done']",
    ]


def test_load_only_registers(
    shell: InteractiveShell, receiver: ReceiverThread, capsys: pytest.CaptureFixture[str]
) -> None:
    shell.run_line_magic("config", "")  # warm up IPython's own lazy bits before comparing
    capsys.readouterr()
    before = snapshot(shell)
    shell.run_line_magic("load_ext", "gntp_jupyter")
    after = snapshot(shell)
    for kind, names in OUR_MAGICS.items():
        assert names <= set(after["magics"][kind]) and not names & set(before["magics"][kind])
    assert len(after["events"]["pre_run_cell"]) == len(before["events"]["pre_run_cell"]) + 1
    assert len(after["events"]["post_run_cell"]) == len(before["events"]["post_run_cell"]) + 1
    assert len(after["cleanup"]) == len(before["cleanup"]) + 1
    added = after["configurables"][len(before["configurables"]):]
    assert sorted(type(c).__name__ for c in added) == ["GNTPNotifier", "NotifyMagics"]
    # No network and no output at load, and the protocol stack waits for the first send.
    assert receiver.connections == 0
    assert capsys.readouterr() == ("", "")


def test_unload_removes_everything_it_added(shell: InteractiveShell) -> None:
    shell.run_line_magic("config", "")
    before = snapshot(shell)
    shell.run_line_magic("load_ext", "gntp_jupyter")
    shell.run_cell("%autonotify --after 100", store_history=True)
    shell.run_line_magic("unload_ext", "gntp_jupyter")
    assert snapshot(shell) == before
    with pytest.raises(UsageError):
        shell.run_line_magic("notify", "still there?")
    # ... and it loads again afterwards.
    shell.run_line_magic("load_ext", "gntp_jupyter")
    assert "notify" in shell.magics_manager.magics["line"]


def test_loading_twice_is_harmless(shell: InteractiveShell) -> None:
    shell.run_line_magic("config", "")
    gntp_jupyter.load_ipython_extension(shell)
    once = snapshot(shell)
    gntp_jupyter.load_ipython_extension(shell)
    shell.run_line_magic("load_ext", "gntp_jupyter")
    assert snapshot(shell) == once
    shell.run_line_magic("reload_ext", "gntp_jupyter")
    again = snapshot(shell)
    assert {k: len(v) for k, v in again["events"].items()} == {
        k: len(v) for k, v in once["events"].items()}
    assert len(again["cleanup"]) == len(once["cleanup"])
    assert len(again["configurables"]) == len(once["configurables"])


def test_reloading_notifies_once_per_cell(notify_shell: InteractiveShell,
                                          receiver: ReceiverThread) -> None:
    host, port = gntp_jupyter.get_notifier(notify_shell).config.host, receiver.port
    notify_shell.run_line_magic("reload_ext", "gntp_jupyter")
    notify_shell.run_line_magic("config", f"GNTPNotifier.host = {host!r}")
    notify_shell.run_line_magic("config", f"GNTPNotifier.port = {port}")
    notify_shell.run_cell("%%notify_when_done\nx = 1\n", store_history=True)
    notify_shell.run_line_magic("notify", "sentinel")
    assert [n.title for n in receiver.wait_for(2)] == ["In [1] finished", "Jupyter"]


def test_get_notifier_is_shared_by_magics_and_code(notify_shell: InteractiveShell,
                                                   receiver: ReceiverThread) -> None:
    notifier = gntp_jupyter.get_notifier(notify_shell)
    assert isinstance(notifier, Notifier)
    assert gntp_jupyter.get_notifier(notify_shell) is notifier
    notify_shell.run_line_magic("notify", "from the magic")
    assert [e.text for e in notifier.history.entries()] == ["from the magic"]
    notifier.config.app_name = "Shared"  # what code (or the panel) sets, the magics use
    notify_shell.run_line_magic("notify", "again")
    assert receiver.wait_for(2)[1].application == "Shared"


def test_get_notifier_before_load_is_the_one_load_uses(shell: InteractiveShell) -> None:
    early = gntp_jupyter.get_notifier(shell)
    shell.run_line_magic("load_ext", "gntp_jupyter")
    assert gntp_jupyter.get_notifier(shell) is early
    shell.run_line_magic("config", "GNTPNotifier.port = 23111")
    assert early.config.port == 23111


def test_get_notifier_outside_ipython() -> None:
    out = run_python(
        "import gntp_jupyter, sys\n"
        "n = gntp_jupyter.get_notifier()\n"
        "assert n is gntp_jupyter.get_notifier()\n"
        "print(type(n).__name__, n.config.host, n.config.port, 'IPython' in sys.modules)",
        env={"GNTP_HOST": "env.example", "GNTP_PORT": "23077"},
    )
    assert out.split() == ["Notifier", "env.example", "23077", "False"]


def test_panel_uses_the_shared_notifier(notify_shell: InteractiveShell) -> None:
    pytest.importorskip("gntp_jupyter.panel_widget")
    panel = gntp_jupyter.panel(notify_shell)
    assert panel.notifier is gntp_jupyter.get_notifier(notify_shell)
    assert "notify_panel" in notify_shell.magics_manager.magics["line"]
    result = notify_shell.run_cell("%notify_panel", store_history=True)
    assert result.success, result.error_in_exec


def test_one_panel_per_shell_and_unload_closes_it(notify_shell: InteractiveShell) -> None:
    pytest.importorskip("gntp_jupyter.panel_widget")
    notifier = gntp_jupyter.get_notifier(notify_shell)

    def observers() -> tuple[int, int]:
        """Callbacks on the shared history and on the config's host trait."""
        config_host = notifier.config._trait_notifiers.get("host", {}).get("change", [])
        return len(notifier.history._observers), len(config_host)

    before = observers()
    notify_shell.run_line_magic("notify_panel", "")
    first = state_for(notify_shell).panel
    with_one = observers()
    assert first is not None and with_one > before
    notify_shell.run_line_magic("notify_panel", "")
    second = state_for(notify_shell).panel
    assert second is not first
    assert observers() == with_one
    third = gntp_jupyter.panel(notify_shell)  # the code route keeps one panel too
    assert observers() == with_one

    notify_shell.run_line_magic("notify", "after three panels")
    assert "gntp-row" in third.history_table.value  # only the live panel redraws
    assert "gntp-row" not in first.history_table.value + second.history_table.value

    notify_shell.run_line_magic("unload_ext", "gntp_jupyter")
    assert observers()[0] == before[0]
    panels = (first, second, third)
    host_handlers = notifier.config._trait_notifiers.get("host", {}).get("change", [])
    assert not any(getattr(h, "__self__", None) in panels for h in host_handlers)
    assert third.widget.comm is None  # closed, not just forgotten


def test_arming_with_no_cell_running_is_a_usage_error(notify_shell: InteractiveShell) -> None:
    with pytest.raises(UsageError, match="no cell is running"):
        notify_shell.run_line_magic("notify_when_done", "")


def test_profile_loads_the_extension_and_its_settings(
    receiver: ReceiverThread, tmp_path: Path, clean_gntp_env: pytest.MonkeyPatch
) -> None:
    profile = tmp_path / "profile_gntp"
    profile.mkdir()
    (profile / "ipython_config.py").write_text(textwrap.dedent(f"""
        c.InteractiveShellApp.extensions = ["gntp_jupyter"]
        c.GNTPNotifier.host = {receiver.host!r}
        c.GNTPNotifier.port = {receiver.port}
        c.GNTPNotifier.app_name = "From profile"
        c.HistoryManager.enabled = False
    """))
    script = tmp_path / "cells.ipy"
    script.write_text("%notify hello from a profile\n")
    ipython = Path(sys.executable).with_name("ipython")
    proc = subprocess.run(
        [str(ipython), f"--profile-dir={profile}", "--no-banner", str(script)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    got = receiver.wait_for(1)[0]
    assert (got.application, got.text) == ("From profile", "hello from a profile")


def test_reload_ext_keeps_autonotify_and_says_so(
    notify_shell: InteractiveShell, capsys: pytest.CaptureFixture[str],
) -> None:
    notify_shell.run_line_magic("autonotify", "--after 5 --only-fail")
    capsys.readouterr()
    notify_shell.run_line_magic("reload_ext", "gntp_jupyter")
    config = state_for(notify_shell).config
    assert (config.autonotify_after, config.autonotify_only_fail) == (5.0, True)
    assert "%autonotify kept across the reload" in capsys.readouterr().out
    notify_shell.run_line_magic("unload_ext", "gntp_jupyter")
    assert capsys.readouterr().err == "gntp_jupyter: unloaded, so %autonotify is off\n"


def test_unload_restores_the_loop_runner(shell: InteractiveShell) -> None:
    runner = shell.loop_runner
    shell.run_line_magic("load_ext", "gntp_jupyter")
    assert shell.loop_runner is not runner
    shell.run_line_magic("unload_ext", "gntp_jupyter")
    assert shell.loop_runner is runner
