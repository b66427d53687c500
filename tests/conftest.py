"""Shared pytest fixtures."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from desktop_session import BUS_TOOLS, Dunst, SessionBus
from desktop_session import available as desktop_available
from gol import GrowlForLinux
from gol import available as gol_available
from icon_server import IconServer
from IPython.core.interactiveshell import InteractiveShell
from misbehaving import MisbehavingReceiver, ScriptedDisplay
from traitlets.config import Config

from gntp_jupyter.config import ENV_VARS
from gntp_jupyter.gntp.receiver import Receiver, ReceiverLimits, ReceiverThread

if TYPE_CHECKING:
    from fake_notifications import FakeNotifications

def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test using growl-for-linux is marked ``gol``: its port is machine-wide, so
    parallel runs (.ci/matrix) run these one interpreter at a time."""
    for item in items:
        if "gol" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.gol)


# --- growl-for-linux (real GNTP server) -------------------------------------------------
# One gol per test session: starting it costs about a second and the port is machine-wide.
# Tests share its state, so they use unique application names instead of resetting.


@pytest.fixture(scope="session")
def gol() -> Iterator[GrowlForLinux]:
    """A running growl-for-linux server on 127.0.0.1:23053 (skips when not installed)."""
    reason = gol_available()
    if reason:
        pytest.skip(reason)
    with GrowlForLinux() as server:
        yield server


@pytest.fixture
def gol_app_name() -> str:
    """A fresh Application-Name: gol never updates a registration once stored."""
    return f"gntp-jupyter-test-{uuid.uuid4().hex[:12]}"


# --- end growl-for-linux ----------------------------------------------------------------


# --- receiver (our own GNTP server, gntp_jupyter.gntp.receiver) -------------------------
# Real TCP on loopback; each test gets fresh servers on free ports, stopped at teardown.



def make_receiver(
    *, mode: str = "normal", callback: str | None = None, callback_delay: float = 0.0,
    callback_same_chunk: bool = False, **options,
) -> Receiver:
    """A Receiver, misbehaving as asked (tests/misbehaving.py).

    ``callback`` (CLICKED/CLOSED/TIMEDOUT) answers every socket callback after
    ``callback_delay`` s; other ReceiverLimits fields may be given directly.
    """
    limit_names = ReceiverLimits.__dataclass_fields__.keys() & options.keys()
    if limit_names:
        options["limits"] = ReceiverLimits(**{n: options.pop(n) for n in limit_names})
    if callback is not None:
        options["display"] = ScriptedDisplay(callback, callback_delay)
    if mode == "normal" and not callback_same_chunk:
        return Receiver(**options)
    return MisbehavingReceiver(mode=mode, callback_same_chunk=callback_same_chunk, **options)


@pytest.fixture
def receiver_factory() -> Iterator[Callable[..., ReceiverThread]]:
    """``receiver_factory(**make_receiver kwargs)`` -> a started ReceiverThread (free port)."""
    started: list[ReceiverThread] = []

    def make(**kwargs: object) -> ReceiverThread:
        server = ReceiverThread(make_receiver(**kwargs)).start()
        started.append(server)
        return server

    yield make
    for server in reversed(started):
        server.stop()


@pytest.fixture
def receiver(receiver_factory: Callable[..., ReceiverThread]) -> ReceiverThread:
    """A started strict receiver on 127.0.0.1 and a free port."""
    return receiver_factory()


# --- end receiver -----------------------------------------------------------------------


# --- async client: local HTTP icon server -----------------------------------------------
# Serves a distinct PNG per path plus failures (404, non-image, oversized, slow); see
# tests/icon_server.py. Tests use unique paths, because fetched URLs are cached per process.



@pytest.fixture(scope="session")
def icon_server() -> Iterator[IconServer]:
    """A running IconServer on 127.0.0.1 and a free port."""
    with IconServer() as server:
        yield server


_FRESH_CHILD = """
import importlib, json, sys
sys.path[:0] = json.loads(sys.argv[1])
result = getattr(importlib.import_module(sys.argv[2]), sys.argv[3])(*json.loads(sys.argv[4]))
sys.stdout.flush()
sys.stdout.write("\\n@@result@@" + json.dumps(result) + "\\n")
"""


@dataclass
class FreshRun:
    result: object  # the function's return value (JSON round trip)
    stdout: str  # what it printed


@pytest.fixture
def fresh_python() -> Callable[..., FreshRun]:
    """``fresh_python(func, *json_args)`` runs a module-level function in a new interpreter.

    For code that makes asyncio re-entrant (a sync call inside a running loop applies
    nest-asyncio2, process-wide): this pytest process, and everyone's later tests, stay
    unpatched. A failure in the child fails the test with the child's traceback.
    """

    def run(func: Callable[..., object], *args: object, timeout: float = 90.0) -> FreshRun:
        argv = [json.dumps(sys.path), func.__module__, func.__qualname__, json.dumps(args)]
        proc = subprocess.run(
            [sys.executable, "-c", _FRESH_CHILD, *argv],
            capture_output=True, text=True, timeout=timeout,
        )
        if proc.returncode != 0 or "@@result@@" not in proc.stdout:
            pytest.fail(
                f"{func.__qualname__}{args!r} failed in a fresh interpreter "
                f"(exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}",
                pytrace=False,
            )
        out, _, tail = proc.stdout.rpartition("\n@@result@@")
        return FreshRun(json.loads(tail), out)

    return run


# --- end async client -------------------------------------------------------------------


# --- IPython extension (gntp_jupyter.extension, magics) ---------------------------------
# A fresh InteractiveShell per test: the .instance() singleton would leak magics, events
# and settings between tests. GNTP_* variables from the developer's environment are
# cleared so they cannot redirect notifications.



@pytest.fixture
def clean_gntp_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No GNTP_* variables in os.environ for this test (returns the monkeypatch)."""
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


@pytest.fixture
def shell_factory(clean_gntp_env: pytest.MonkeyPatch) -> Iterator[Callable[..., InteractiveShell]]:
    """``shell_factory(config=None)`` -> a fresh InteractiveShell, extension not loaded."""
    made: list[InteractiveShell] = []

    def make(config: Config | None = None) -> InteractiveShell:
        c = Config(config or {})
        c.HistoryAccessor.enabled = False
        shell = InteractiveShell(config=c)
        made.append(shell)
        return shell

    yield make
    from gntp_jupyter.extension import unload_ipython_extension

    for shell in made:
        unload_ipython_extension(shell)


@pytest.fixture
def shell(shell_factory: Callable[..., InteractiveShell]) -> InteractiveShell:
    """A fresh InteractiveShell (no history database), gntp_jupyter not loaded."""
    return shell_factory()


@pytest.fixture
def notify_shell(shell: InteractiveShell, receiver: ReceiverThread) -> InteractiveShell:
    """``shell`` with ``%load_ext gntp_jupyter`` done and GNTPNotifier pointed at ``receiver``."""
    shell.run_line_magic("load_ext", "gntp_jupyter")
    shell.run_line_magic("config", f"GNTPNotifier.host = {receiver.host!r}")
    shell.run_line_magic("config", f"GNTPNotifier.port = {receiver.port}")
    return shell


# --- end IPython extension --------------------------------------------------------------


# --- free loopback ports: the one helper (tests import free_port from conftest) ----------


def free_port() -> int:
    """A loopback TCP port nothing listens on: bound once, then released for the caller."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (connecting to it is refused)."""
    return free_port()


# --- end free loopback ports ------------------------------------------------------------


# --- a scripted raw-socket server ----------------------------------------------------------


class ScriptedServer:
    """Answers every connection with fixed bytes, after a request's final blank line or
    after ``read`` bytes, whichever comes first (``answer`` may be a function of what was
    read). Then it stops reading and holds the socket open until
    the test ends, like a server that refuses a request it has not read to the end."""

    def __init__(self, answer: bytes | Callable[[bytes], bytes], read: int | None = None) -> None:
        self.answer = answer
        self.read = read
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.host, self.port = "127.0.0.1", self._listener.getsockname()[1]
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self._listener.settimeout(0.05)
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._held.append(conn)
            conn.settimeout(30)
            data = b""
            with contextlib.suppress(OSError):
                while not data.endswith(b"\r\n\r\n") and len(data) < (self.read or 1 << 62):
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                self.received.append(data)  # before answering: the client may look at once
                conn.sendall(self.answer(data) if callable(self.answer) else self.answer)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for sock in [*self._held, self._listener]:
            sock.close()


@pytest.fixture
def scripted_server() -> Iterator[Callable[..., ScriptedServer]]:
    """``scripted_server(answer, read=None)`` -> a started :class:`ScriptedServer`."""
    started: list[ScriptedServer] = []

    def make(answer: bytes | Callable[[bytes], bytes], read: int | None = None) -> ScriptedServer:
        server = ScriptedServer(answer, read)
        started.append(server)
        return server

    yield make
    for server in started:
        server.close()


#: What a server says when it refuses a request before reading all of it.
REFUSAL = (b"GNTP/1.0 -ERROR NONE\r\nError-Code: 300\r\n"
           b"Error-Description: request is larger than 65536 bytes\r\n\r\n")
_OK = b"GNTP/1.0 -OK NONE\r\nResponse-Action: REGISTER\r\n\r\n"


@pytest.fixture
def refusing_server(scripted_server: Callable[..., ScriptedServer]) -> ScriptedServer:
    """Answers ``-OK`` to small requests; refuses one of 64 KiB or more with 300 after
    reading its first 64 KiB, then reads no more (like a server with a size cap)."""
    return scripted_server(lambda data: REFUSAL if len(data) >= 65536 else _OK, read=65536)


# --- a black-holed address ----------------------------------------------------------------


@pytest.fixture
def black_hole() -> Iterator[tuple[str, int]]:
    """A loopback address whose TCP connects hang, like a host that drops packets.

    A listener with a zero backlog that never accepts: once its queue is full the kernel
    drops further SYNs, so a connect waits until the client's own timeout.
    """
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.1)  # let the handshakes land in the queue
    try:
        yield "127.0.0.1", port
    finally:
        for s in [*fillers, server]:
            s.close()


# --- gntp-receiver, the command (gntp_jupyter.desktop.cli) ------------------------------
# The real command in a child process, as a user runs it; its lines are read as they come.


@dataclass
class ReceiverProcess:
    proc: subprocess.Popen
    lines: queue.Queue  # every line it printed, stdout and stderr together
    host: str = ""
    port: int = 0

    def next_line(self, timeout: float = 10.0) -> str:
        return self.lines.get(timeout=timeout)

    def wait_for_line(self, needle: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        seen = []
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            seen.append(line)
            if needle in line:
                return line
        raise AssertionError(f"no line with {needle!r} within {timeout:g}s; saw {seen!r}")

    def stop(self) -> int:
        """SIGTERM, as systemd stops it; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def _pump(stream, out: queue.Queue) -> None:
    for line in stream:
        out.put(line.rstrip("\n"))


@pytest.fixture
def receiver_cli() -> Iterator[Callable[..., ReceiverProcess]]:
    """``receiver_cli(*args, env=None, wait=True)`` runs ``gntp-receiver`` in a child.

    With ``wait`` it returns once the command printed ``listening on host:port`` (port 0
    is passed unless ``--port`` is). GNTP_PASSWORD is cleared unless ``env`` sets it.
    """
    started: list[ReceiverProcess] = []

    def run(*args: str, env: dict | None = None, wait: bool = True,
            preexec_fn: Callable[[], None] | None = None) -> ReceiverProcess:
        argv = list(args) if "--port" in args else [*args, "--port", "0"]
        child_env = {k: v for k, v in os.environ.items() if k != "GNTP_PASSWORD"}
        child_env.update(env or {})
        child_env.update(PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")
        proc = subprocess.Popen(
            [sys.executable, "-m", "gntp_jupyter.desktop", *argv],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, encoding="utf-8", errors="replace", env=child_env,
            preexec_fn=preexec_fn,
        )
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
        child = ReceiverProcess(proc, lines)
        started.append(child)
        if wait:
            line = child.wait_for_line("listening on", timeout=30)
            match = re.search(r"listening on \[?([^\]\s]+?)\]?:(\d+) ", line)
            assert match, line
            child.host, child.port = match[1], int(match[2])
        return child

    yield run
    for child in started:
        child.stop()


# --- end gntp-receiver ------------------------------------------------------------------


# --- desktop: dunst and a fake notification service -----------------------------------
# Each test gets its own private bus (and for dunst its own Xvfb screen): about 0.15 s,
# and dunst 1.9 cannot clear its history, so nothing is shared between tests.
# dbus-fast comes with desktop-notifier (the test extra); it is imported only when needed.


@pytest.fixture
def session_bus() -> Iterator[SessionBus]:
    """A private session bus with no service activation (skips without dbus-daemon)."""
    reason = desktop_available(BUS_TOOLS)
    if reason:
        pytest.skip(reason)
    with SessionBus() as bus:
        yield bus


@pytest.fixture
def fake_notifications(session_bus: SessionBus) -> Iterator[FakeNotifications]:
    """A fake org.freedesktop.Notifications on ``session_bus`` (its ``.bus``)."""
    pytest.importorskip("dbus_fast", reason="needs dbus-fast (pip install desktop-notifier)")
    from fake_notifications import FakeNotifications

    with FakeNotifications(session_bus) as fake:
        yield fake


@pytest.fixture
def dunst() -> Iterator[Dunst]:
    """A real dunst on its own Xvfb screen and bus; ``dunst.env`` is for clients."""
    reason = desktop_available()
    if reason:
        pytest.skip(reason)
    with Dunst() as daemon:
        yield daemon


# --- end desktop ------------------------------------------------------------------------
