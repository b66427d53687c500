"""Run growl-for-linux (``gol``) as a real GNTP server for tests.

``gol`` is a GTK app with a fixed port (23053, plus UDP 9887), so it needs a virtual X screen
and a D-Bus session, and only one instance can run per machine. ``GrowlForLinux`` starts
``Xvfb`` and ``dbus-run-session -- gol`` with a private ``HOME``, holds a machine-wide
``flock`` while it runs, and reads what the server received from its own sqlite database.

Observed behaviour of gol 0.8.5 that shapes this helper:

* ``$HOME/.config/gol/config.db`` is created on first start with tables
  ``config(key text primary key, value text)``,
  ``notification(title, text, icon, url, received)``,
  ``application(app_name, app_icon, name, icon, enable, display, sticky)`` (primary key
  ``app_name, name``), ``subscriber(name, enable)`` and ``display(name, parameter)``.
* ``config`` rows ``password`` and ``require_password_for_local_apps`` /
  ``require_password_for_lan_apps`` (read as integers: ``"1"``/``"0"``) are read once at
  start, hence ``configure()`` restarts the server.
* ``application`` and ``notification`` rows are not cached: every REGISTER and NOTIFY
  queries sqlite, so ``reset()`` is safe while gol runs. REGISTER only inserts a type that
  is absent (re-registering never updates a row), and NOTIFY for an unknown app is still
  ``-OK``: tests should use unique application names (the ``gol_app_name`` fixture).
* A NOTIFY that gol rejects for a missing title/text still gets a row, with the missing
  field stored as the string ``'(NULL)'``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from harness import wait_for

__all__ = [
    "LOCK_PATH",
    "PORT",
    "GrowlForLinux",
    "available",
    "group_members",
    "port_free",
    "port_open",
    "send_raw",
]

PORT = 23053
LOCK_PATH = "/tmp/gntp_jupyter_gol.lock"
REQUIRED_TOOLS = ("gol", "Xvfb", "dbus-run-session")


def available() -> str | None:
    """Return None when gol can run here, else why not (a ready-made pytest skip reason)."""
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if missing:
        return (
            f"growl-for-linux harness needs {', '.join(missing)} on PATH "
            "(apt-get install growl-for-linux xvfb dbus)"
        )
    return None


def port_open(port: int = PORT, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def port_free(port: int = PORT) -> bool:
    """True when gol could bind the port (it uses SO_REUSEADDR, so TIME_WAIT is fine).

    Probing with connect() is not enough: a listener that never accepts stops answering
    once its backlog is full and then looks free.
    """
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True




def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group, read from /proc.

    ``os.killpg(pgid, 0)`` also counts zombies, which linger when nobody reaps them.
    """
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        if fields[0] not in ("Z", "X") and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def _free_display() -> int:
    """First X display number with neither a socket nor a lock file."""
    for n in range(90, 200):
        if not (Path(f"/tmp/.X11-unix/X{n}").exists() or Path(f"/tmp/.X{n}-lock").exists()):
            return n
    raise RuntimeError("no free X display number in :90..:199")


def _launch_xvfb(n: int) -> subprocess.Popen[bytes] | None:
    """Start Xvfb on display ``:n``; None when it exits before its socket appears."""
    xvfb = subprocess.Popen(
        ["Xvfb", f":{n}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    sock = Path(f"/tmp/.X11-unix/X{n}")
    if wait_for(lambda: sock.exists() or xvfb.poll() is not None, 10) and xvfb.poll() is None:
        return xvfb
    xvfb.kill()
    xvfb.wait()
    return None


class GrowlForLinux:
    """One growl-for-linux server on a private Xvfb screen and ``HOME``.

    ``start()`` waits for the machine-wide lock, ``stop()`` ends gol, its dbus-daemon and
    Xvfb and releases the lock; ``restart()`` keeps screen, lock and state. Leaving the
    ``with`` block also deletes the temporary home. Do not run two instances in one
    process: the second would wait for a lock the first holds.
    """

    port = PORT

    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        start_timeout: float = 15.0,
        lock_timeout: float = 240.0,
    ) -> None:
        self._own_home = home is None
        self.home = Path(home) if home else Path(tempfile.mkdtemp(prefix="gntp_jupyter_gol_"))
        self.start_timeout = start_timeout
        self.lock_timeout = lock_timeout
        self.display: str | None = None
        self.xvfb: subprocess.Popen[bytes] | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._lock: int | None = None

    # -- paths ------------------------------------------------------------------------

    @property
    def config_dir(self) -> Path:
        return self.home / ".config" / "gol"

    @property
    def db_path(self) -> Path:
        return self.config_dir / "config.db"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> GrowlForLinux:
        """Start Xvfb and gol; return once 127.0.0.1:23053 accepts connections."""
        if self.running:
            return self
        self._acquire_lock()
        try:
            if self.xvfb is None or self.xvfb.poll() is not None:
                self._start_xvfb()
            self._start_gol()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop gol (and its dbus-daemon), then Xvfb, then release the lock."""
        self._stop_gol()
        if self.xvfb is not None:
            self.xvfb.terminate()
            try:
                self.xvfb.wait(5)
            except subprocess.TimeoutExpired:
                self.xvfb.kill()
                self.xvfb.wait()
            self.xvfb = None
            self.display = None
        self._release_lock()

    def restart(self) -> None:
        """Restart gol only, so it re-reads its ``config`` table."""
        if self.xvfb is None:
            self.start()
            return
        self._stop_gol()
        self._start_gol()

    def __enter__(self) -> GrowlForLinux:
        try:
            return self.start()
        except BaseException:
            self._remove_home()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        self._remove_home()

    def _remove_home(self) -> None:
        if self._own_home:
            shutil.rmtree(self.home, ignore_errors=True)

    def _acquire_lock(self) -> None:
        """Wait for the machine-wide lock: the port is fixed, so sessions take turns."""
        if self._lock is not None:
            return
        fd = os.open(LOCK_PATH, os.O_RDWR | os.O_CREAT, 0o666)
        deadline = time.monotonic() + self.lock_timeout
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise TimeoutError(
                        f"{LOCK_PATH} still held after {self.lock_timeout:.0f} s "
                        f"(holder: {Path(LOCK_PATH).read_text().strip() or 'unknown'})"
                    ) from None
                if not told:
                    print(f"waiting for {LOCK_PATH} (another gol test run)", file=sys.stderr)
                    told = True
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}\n".encode(), 0)
        self._lock = fd

    def _release_lock(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # closing the only descriptor drops the flock
            self._lock = None

    def _start_xvfb(self) -> None:
        for _attempt in range(3):  # another program may grab the display number first
            n = _free_display()
            xvfb = _launch_xvfb(n)
            if xvfb is not None:
                self.xvfb, self.display = xvfb, f":{n}"
                return
        raise RuntimeError("Xvfb did not start (three display numbers tried)")

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        for name in ("DBUS_SESSION_BUS_ADDRESS", "WAYLAND_DISPLAY", "XAUTHORITY"):
            env.pop(name, None)
        # gol finds its state via g_get_user_config_dir(), which prefers XDG_CONFIG_HOME.
        env.update(
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            DISPLAY=self.display or "",
            NO_AT_BRIDGE="1",
        )
        return env

    def _start_gol(self) -> None:
        if not wait_for(port_free, 10):
            raise RuntimeError(
                f"port {PORT} is in use by a server this harness did not start; stop it first"
            )
        stderr_path = self.home / "gol.stderr"
        with stderr_path.open("wb") as stderr:
            self.process = subprocess.Popen(
                ["dbus-run-session", "--", "gol"],
                env=self._env(),
                cwd=self.home,
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                start_new_session=True,  # own process group: stop() ends gol and dbus too
            )
        proc = self.process
        if not wait_for(lambda: proc.poll() is not None or port_open(), self.start_timeout):
            self._stop_gol()
            raise TimeoutError(f"gol did not listen on {PORT} within {self.start_timeout} s")
        if proc.poll() is not None:
            self.process = None
            raise RuntimeError(
                f"gol exited early (status {proc.returncode}):\n"
                + stderr_path.read_text(errors="replace")
            )

    def _stop_gol(self) -> None:
        """End the whole process group: killing only the wrapper leaves gol on the port."""
        proc, self.process = self.process, None
        if proc is None:
            return
        pgid = proc.pid  # start_new_session makes the wrapper the group leader
        for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(grace)
            if wait_for(lambda: not group_members(pgid), grace):
                break
        if not wait_for(port_free, 10):
            raise RuntimeError(f"port {PORT} still in use after gol was stopped")

    # -- configuration and state ------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.db_path, timeout=10)
        conn.row_factory = sqlite3.Row
        return conn

    def configure(
        self, password: str | None = None, require_password_for_local_apps: bool = False
    ) -> None:
        """Write gol's password settings and restart it (it reads them only at start)."""
        if not self.db_path.exists():
            self.start()  # the database and its tables appear on first start
        with contextlib.closing(self._connect()) as conn, conn:
            if password is None:
                conn.execute("DELETE FROM config WHERE key = 'password'")
            else:
                conn.execute(
                    "INSERT OR REPLACE INTO config(key, value) VALUES ('password', ?)",
                    (password,),
                )
            conn.execute(
                "INSERT OR REPLACE INTO config(key, value) "
                "VALUES ('require_password_for_local_apps', ?)",
                ("1" if require_password_for_local_apps else "0",),
            )
        self.restart()

    def config(self) -> dict[str, str]:
        """The ``config`` table as a dict."""
        return {row["key"]: row["value"] for row in self._query("SELECT key, value FROM config")}

    def notifications(self) -> list[dict[str, Any]]:
        """Every NOTIFY gol parsed, oldest first."""
        return self._query(
            "SELECT title, text, icon, url, received FROM notification ORDER BY rowid"
        )

    def applications(self) -> list[dict[str, Any]]:
        """One row per registered (application, notification type)."""
        return self._query("SELECT * FROM application ORDER BY app_name, name")

    def resource(self, identifier: str) -> bytes | None:
        """Bytes of a binary section gol stored under its Identifier, or None."""
        path = self.config_dir / "resource" / identifier
        return path.read_bytes() if path.is_file() else None

    def reset(self) -> None:
        """Forget received notifications, registrations and resources.

        Safe while gol runs: it re-reads these tables on every request and checks the
        resource files per message.
        """
        if self.db_path.exists():
            with contextlib.closing(self._connect()) as conn, conn:
                conn.execute("DELETE FROM notification")
                conn.execute("DELETE FROM application")
        shutil.rmtree(self.config_dir / "resource", ignore_errors=True)

    def _query(self, sql: str) -> list[dict[str, Any]]:
        if not self.db_path.exists():
            return []
        with contextlib.closing(self._connect()) as conn:
            return [dict(row) for row in conn.execute(sql)]

    def screenshot(self, path: str | os.PathLike[str]) -> bool:
        """Save the virtual screen (popups included) as an image; False without imagemagick."""
        if self.display is None or shutil.which("import") is None:
            return False
        result = subprocess.run(
            ["import", "-window", "root", os.fspath(path)],
            env={**os.environ, "DISPLAY": self.display},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
        )
        return result.returncode == 0


def send_raw(request: bytes, timeout: float = 10.0) -> bytes:
    """Send one GNTP request in a single write and read until the server closes."""
    with socket.create_connection(("127.0.0.1", PORT), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks)
