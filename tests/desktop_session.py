"""A private D-Bus session bus and a real dunst notification daemon under Xvfb, for tests.

``SessionBus`` runs its own ``dbus-daemon`` with a config that has no service directories:
nothing is ever D-Bus-activated on it (installing dunst registers it for autostart on
normal session buses, which would race the harness's own dunst or start one with the wrong
rc). A call to an absent ``org.freedesktop.Notifications`` fails at once instead.

``Dunst`` adds an ``Xvfb`` screen and ``stdbuf -oL dunst -config RC -print``. Observed
behaviour of dunst 1.9.0 that shapes this helper:

* ``-print`` writes one block per notification it accepts (replacements included);
  keys are indented with a tab, action lines with two::

      {
          appname: 'notify-send'
          summary: 'Build done'
          body: 'line one
      line two'
          icon: '/tmp/icon.png'
          ...
          timeout: 0
          urgency: CRITICAL
          ...
          id: 2
          actions: {
              "default": "Open"
          }
          script_count: 0
      }

  Strings are quoted but not escaped, and may span lines. The block ends at a ``}`` line
  that follows an unquoted ``key: value`` line, so texts are parsed intact unless they
  contain a line ``<TAB>key: value`` directly followed by a line ``}``.
* ``dunstctl history`` is JSON with no urgency; 1.9 cannot clear the history.
* Bubbles are ordered by urgency, then age (oldest on top); ``dunstctl close`` closes the
  top one and ``dunstctl action 0`` runs its default action, leaving it displayed.
* ``notify-send -A ...`` blocks until the notification is closed.
* With ``idle_threshold`` above 0 dunst stops expiring bubbles while the X user is
  idle; the rc sets it to 0 so the timeouts below always apply.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness import Started, wait_for

__all__ = [
    "BUS_TOOLS",
    "REQUIRED_TOOLS",
    "TIMEOUTS",
    "Dunst",
    "SessionBus",
    "available",
    "parse_print_output",
]

BUS_TOOLS = ("dbus-daemon", "dbus-send")
REQUIRED_TOOLS = ("Xvfb", *BUS_TOOLS, "dunst", "dunstctl", "stdbuf")
NOTIFICATIONS = "org.freedesktop.Notifications"

# Seconds until dunst expires a bubble of each urgency (0: never), when the sender leaves
# expire_timeout at -1. Short enough to wait for, far enough apart to tell apart.
TIMEOUTS = {"low": 2, "normal": 3, "critical": 0}

_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""

_DUNSTRC = """[global]
    monitor = 0
    follow = none
    width = 300
    height = 300
    origin = top-right
    offset = 10x50
    notification_limit = 0
    idle_threshold = 0
    stack_duplicates = false
    hide_duplicate_count = false
    show_indicators = no
    markup = full
    format = "<b>%s</b>\\n%b"
    icon_position = left
    min_icon_size = 0
    max_icon_size = 32
    history_length = 100
    sticky_history = yes
    always_run_script = true
    mouse_left_click = do_action, close_current
    mouse_middle_click = close_all
    mouse_right_click = close_current

[urgency_low]
    timeout = {low}

[urgency_normal]
    timeout = {normal}

[urgency_critical]
    timeout = {critical}
"""


def available(tools: Iterable[str] = REQUIRED_TOOLS) -> str:
    """Return "" when dunst can run here, else why not (a ready-made pytest skip reason).

    ``available(BUS_TOOLS)`` asks only about what ``SessionBus`` needs.
    """
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        return (
            f"desktop harness needs {', '.join(missing)} on PATH; `.ci/run` installs it "
            "(apt-get install dunst libnotify-bin xvfb dbus dbus-x11)"
        )
    return ""




def _read_line(proc: subprocess.Popen[bytes], timeout: float) -> str:
    """First line of ``proc``'s stdout, "" when it closes or ``timeout`` passes first."""
    assert proc.stdout is not None
    data = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while b"\n" not in data:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                return ""
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                return ""
            data += chunk
    return data.split(b"\n", 1)[0].decode().strip()


def _kill_group(proc: subprocess.Popen[Any] | None, grace: float = 3.0) -> None:
    """End ``proc`` and its process group (it was started with ``start_new_session``)."""
    if proc is None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)
            break


def _close_pipes(proc: subprocess.Popen[Any] | None) -> None:
    """Close our ends of ``proc``'s pipes (after any reader thread is done with them)."""
    for stream in (proc.stdout, proc.stderr) if proc is not None else ():
        if stream is not None:
            stream.close()


def _clean_env() -> dict[str, str]:
    """os.environ without anything pointing at the developer's own desktop."""
    env = dict(os.environ)
    for name in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY"):
        env.pop(name, None)
    return env


class SessionBus(Started):
    """A private session ``dbus-daemon`` (no activation), stopped on exit.

    ``display`` is only passed through to ``env()``, for clients that need an X screen.
    """

    def __init__(self, *, display: str | None = None, start_timeout: float = 10.0) -> None:
        self.display = display
        self.start_timeout = start_timeout
        self.address = ""
        self.process: subprocess.Popen[bytes] | None = None
        self._dir: Path | None = None

    def env(self) -> dict[str, str]:
        """A copy of os.environ pointing at this bus (and ``display``, when set)."""
        env = _clean_env()
        env["DBUS_SESSION_BUS_ADDRESS"] = self.address
        if self.display:
            env["DISPLAY"] = self.display
        return env

    def start(self) -> SessionBus:
        """Start the daemon; return once it has printed its address (it then accepts)."""
        self._dir = Path(tempfile.mkdtemp(prefix="gntp_jupyter_bus_"))
        config = self._dir / "bus.conf"
        config.write_text(_BUS_CONFIG.format(dir=self._dir))
        try:
            # --nofork: the daemon stays our child, so stop() can always find and kill it.
            self.process = subprocess.Popen(
                ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address=1"],
                env=_clean_env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            self.address = _read_line(self.process, self.start_timeout)
            if not self.address:
                self.process.kill()
                _, err = self.process.communicate(timeout=5)
                raise RuntimeError(
                    f"dbus-daemon printed no address within {self.start_timeout} s: "
                    + err.decode(errors="replace")
                )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Kill the daemon and remove its socket directory."""
        proc, self.process = self.process, None
        _kill_group(proc)
        _close_pipes(proc)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def name_has_owner(self, name: str) -> bool:
        """True when ``name`` is owned on this bus (asks the bus; never activates)."""
        result = subprocess.run(
            [
                "dbus-send", f"--bus={self.address}", "--print-reply",
                "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner", f"string:{name}",
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return result.returncode == 0 and result.stdout.split()[-1:] == ["true"]



# -- dunst -print ---------------------------------------------------------------------------

_KEY_LINE = re.compile(r"^\t([a-z_][a-z_ ]*): ?(.*)$")
_ACTION_LINE = re.compile(r'^\t\t"(.*)": "(.*)"$')


def _parse_block(lines: list[str]) -> dict[str, Any]:
    """One notification block (the lines between ``{`` and ``}``) as a dict.

    Quoted values run until a line ending in a quote that is followed by the next key line.
    """
    raw: dict[str, Any] = {}
    i = 0
    while i < len(lines):
        match = _KEY_LINE.match(lines[i])
        i += 1
        if not match:
            continue
        key, value = match.groups()
        key = key.replace(" ", "_")  # "raw_icon set"
        if key == "actions":
            actions: dict[str, str] = {}
            while value == "{" and i < len(lines) and lines[i] != "\t}":
                if action := _ACTION_LINE.match(lines[i]):
                    actions[action[1]] = action[2]
                i += 1
            i += 1 if value == "{" else 0
            raw[key] = actions
            continue
        if value.startswith("'"):
            parts = [value[1:]]
            while not (
                parts[-1].endswith("'")
                and (i >= len(lines) or _KEY_LINE.match(lines[i]))
            ):
                if i >= len(lines):
                    break
                parts.append(lines[i])
                i += 1
            value = "\n".join(parts)
            value = value[:-1] if value.endswith("'") else value
        else:  # unquoted values can span lines too (``format``)
            while i < len(lines) and not _KEY_LINE.match(lines[i]):
                value += "\n" + lines[i]
                i += 1
        raw[key] = value
    return _typed(raw)


def _typed(raw: dict[str, Any]) -> dict[str, Any]:
    """Convert the fields tests compare to Python types: ints, lower-case urgency."""
    out = dict(raw)
    for key in ("id", "timeout", "progress", "transient", "script_count"):
        with contextlib.suppress(KeyError, ValueError):
            out[key] = int(raw[key])
    if "urgency" in raw:
        out["urgency"] = raw["urgency"].lower()
    out.setdefault("actions", {})
    return out


class _PrintParser:
    """Incremental parser for ``dunst -print``: feed lines, collect notification dicts."""

    def __init__(self) -> None:
        self._block: list[str] | None = None

    def feed(self, line: str) -> dict[str, Any] | None:
        """Take one line (without newline); return a notification when a block ends."""
        if self._block is None:
            if line == "{":
                self._block = []
            return None
        if line == "}" and self._block and self._ends_unquoted(self._block[-1]):
            block, self._block = self._block, None
            return _parse_block(block)
        self._block.append(line)
        return None

    @staticmethod
    def _ends_unquoted(line: str) -> bool:
        match = _KEY_LINE.match(line)
        return bool(match) and not match[2].startswith("'")


def parse_print_output(text: str) -> list[dict[str, Any]]:
    """Every notification in a captured ``dunst -print`` output, in order."""
    parser = _PrintParser()
    return [n for line in text.splitlines() if (n := parser.feed(line)) is not None]


def _unwrap_history(entry: dict[str, Any]) -> dict[str, Any]:
    """``{"summary": {"type": "s", "data": "x"}}`` -> ``{"summary": "x"}``."""
    return {key: value.get("data") if isinstance(value, dict) else value
            for key, value in entry.items()}


class Dunst(Started):
    """dunst on its own Xvfb screen and private session bus, printing what it shows.

    ``env`` is the environment for clients (``DBUS_SESSION_BUS_ADDRESS`` and ``DISPLAY``).
    ``printed`` grows (under ``lock``) with one dict per notification dunst accepted, every
    ``-print`` field included: ``appname``, ``summary``, ``body``, ``icon`` (path or name as
    sent), ``urgency`` ("low", "normal", "critical"), ``id``, ``timeout`` (ms), ``actions``
    (key -> label), ``stack_tag``, ... Bubbles expire after ``timeouts`` seconds per urgency
    (``TIMEOUTS`` unless overridden; 0 never) when the sender leaves expire_timeout at -1;
    a left click runs the default action and closes the bubble.
    """

    def __init__(
        self, *, start_timeout: float = 10.0, timeouts: dict[str, int] | None = None
    ) -> None:
        unknown = set(timeouts or {}) - set(TIMEOUTS)
        if unknown:
            raise ValueError(f"timeouts are per urgency {sorted(TIMEOUTS)}, not {sorted(unknown)}")
        self.start_timeout = start_timeout
        self.timeouts = {**TIMEOUTS, **(timeouts or {})}
        self.display = ""
        self.bus: SessionBus | None = None
        self.xvfb: subprocess.Popen[bytes] | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.printed: list[dict[str, Any]] = []
        self.output: list[str] = []  # raw -print lines, for failure messages
        self.lock = threading.Condition()
        self._dir: Path | None = None
        self._reader: threading.Thread | None = None

    @property
    def env(self) -> dict[str, str]:
        """Environment for child processes: this bus and this display."""
        if self.bus is None:
            raise RuntimeError("dunst is not running")
        return self.bus.env()

    @property
    def rc_path(self) -> Path:
        assert self._dir is not None
        return self._dir / "dunstrc"

    @property
    def stderr(self) -> str:
        """What dunst wrote to stderr so far (icon warnings, errors)."""
        if self._dir is None or not (self._dir / "dunst.stderr").exists():
            return ""
        return (self._dir / "dunst.stderr").read_text(errors="replace")

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> Dunst:
        """Start Xvfb, the bus and dunst; return once dunst owns the Notifications name."""
        self._dir = Path(tempfile.mkdtemp(prefix="gntp_jupyter_dunst_"))
        try:
            self._start_xvfb()
            self.bus = SessionBus(display=self.display, start_timeout=self.start_timeout)
            self.bus.start()
            self._start_dunst()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop dunst, the bus and Xvfb (in that order), then remove the temp dir."""
        proc, self.process = self.process, None
        _kill_group(proc)
        if self._reader is not None:
            self._reader.join(5)  # sees end of file once dunst is gone
            self._reader = None
        _close_pipes(proc)
        if self.bus is not None:
            self.bus.stop()
            self.bus = None
        xvfb, self.xvfb = self.xvfb, None
        _kill_group(xvfb)
        _close_pipes(xvfb)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


    def _start_xvfb(self) -> None:
        # -displayfd: Xvfb picks a free display itself, so parallel runs cannot collide.
        self.xvfb = subprocess.Popen(
            ["Xvfb", "-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
            env=_clean_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        number = _read_line(self.xvfb, self.start_timeout)
        if not number.isdigit():
            raise RuntimeError(f"Xvfb reported no display within {self.start_timeout} s")
        self.display = f":{number}"

    def _start_dunst(self) -> None:
        self.rc_path.write_text(_DUNSTRC.format(**self.timeouts))
        assert self._dir is not None and self.bus is not None
        with (self._dir / "dunst.stderr").open("wb") as stderr:
            # stdbuf -oL: dunst's stdout is a pipe, fully buffered without it.
            self.process = subprocess.Popen(
                ["stdbuf", "-oL", "dunst", "-config", str(self.rc_path), "-print"],
                env={**self.env, "HOME": str(self._dir)},
                cwd=self._dir,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                start_new_session=True,
            )
        self._reader = threading.Thread(target=self._read, name="dunst -print", daemon=True)
        self._reader.start()
        proc, bus = self.process, self.bus
        up = wait_for(
            lambda: proc.poll() is not None or bus.name_has_owner(NOTIFICATIONS),
            self.start_timeout,
        )
        if proc.poll() is not None or not up:
            status = "exited with " + str(proc.returncode) if proc.poll() is not None else (
                f"did not own {NOTIFICATIONS} within {self.start_timeout} s"
            )
            raise RuntimeError(f"dunst {status}; stderr:\n{self.stderr}")

    def _read(self) -> None:
        """Reader thread: parse dunst's stdout line by line into ``printed``."""
        assert self.process is not None and self.process.stdout is not None
        parser = _PrintParser()
        for raw in self.process.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            notification = parser.feed(line)
            with self.lock:
                self.output.append(line)
                if notification is not None:
                    self.printed.append(notification)
                    self.lock.notify_all()

    # -- observing and driving --------------------------------------------------------

    def wait_for_printed(self, n: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Block until at least ``n`` notifications were printed; return a copy of them.

        Raises TimeoutError (with what was printed) when ``timeout`` passes first.
        """
        with self.lock:
            if not self.lock.wait_for(lambda: len(self.printed) >= n, timeout):
                raise TimeoutError(
                    f"dunst printed {len(self.printed)} of {n} notifications in {timeout} s:\n"
                    + "\n".join(self.output[-80:]) + "\nstderr:\n" + self.stderr
                )
            return list(self.printed)

    def dunstctl(self, *args: str) -> str:
        """Run ``dunstctl ARGS`` against this dunst; return its stdout (raises on failure)."""
        result = subprocess.run(
            ["dunstctl", *args],
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=10,
        )
        if result.returncode != 0:
            raise RuntimeError(f"dunstctl {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def history(self) -> list[dict[str, Any]]:
        """Closed notifications, newest first, as flat dicts (appname, summary, body, id...)."""
        data = json.loads(self.dunstctl("history"))["data"]
        return [_unwrap_history(entry) for entry in (data[0] if data else [])]

    def action(self, index: int = 0) -> None:
        """Invoke the default action of the ``index``-th bubble from the top (it stays up).

        dunst orders bubbles by urgency, then age: with one urgency, 0 is the oldest.
        """
        self.dunstctl("action", str(index))

    def close(self) -> None:
        """Close the top bubble, as the user would (NotificationClosed reason 2)."""
        self.dunstctl("close")

    def close_all(self) -> None:
        """Close every displayed bubble."""
        self.dunstctl("close-all")

    def count_displayed(self) -> int:
        """How many bubbles are on screen now."""
        return int(self.dunstctl("count", "displayed"))
