"""A GNTP/1.0 server of our own: for tests, and for checking that a kernel reaches a machine.

It validates like the strictest real server (Growl for Windows), keeps everything it
received, and can answer in the style of each real server, send socket callbacks, or
misbehave on purpose (never answer; close in the middle of a reply)::

    python -m gntp_jupyter.gntp.receiver --port 23053 --password secret

prints ``listening on host:port`` and then one line per request. From code::

    with ReceiverThread(password="pw") as server:      # its own loop, daemon thread
        Publisher("App", ["done"], port=server.port, password="pw").register()
        server.registrations["App"].events              # {"done": True}

Framing, key checking and decryption are :class:`~.parsing.RequestParser`'s job and the
replies are written by :func:`~.encoding.encode_response`: this module only validates,
records and decides what to answer and when.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .encoding import encode_response
from .exceptions import GNTPProtocolError
from .headers import Headers
from .options import DEFAULT_PORT, format_address
from .parsing import DEFAULT_MAX_REQUEST, ReceivedRequest, RequestParser, RequestRejected
from .resources import RESOURCE_SCHEME
from .responses import CLICKED, CLOSED, TIMEDOUT

__all__ = [
    "CALLBACK_RESULTS",
    "MODES",
    "STYLES",
    "Notification",
    "Receiver",
    "ReceiverThread",
    "Registration",
    "Rejection",
    "Subscription",
    "describe",
    "main",
]

log = logging.getLogger(__name__)

#: "strict" and "windows" answer as Growl for Windows; "growl-mac" adds a CRLF after each
#: message and refuses disabled types (404); "growl-for-linux" sends its bare error form,
#: echoes nothing and closes right after -OK.
STYLES = ("strict", "windows", "growl-mac", "growl-for-linux")
#: "silent" reads and never answers; "close-mid-response" writes half a reply and closes;
#: "trickle" sends its reply one byte every TRICKLE_INTERVAL (a stalled or slow link).
MODES = ("normal", "silent", "close-mid-response", "trickle")
TRICKLE_INTERVAL = 0.1
CALLBACK_RESULTS = (CLICKED, CLOSED, TIMEDOUT)
SUBSCRIPTION_TTL = 3600

_READ_SIZE = 65536
_LINGER = 2.0  # after an error, how long to drain what the client is still sending
_GOL_ERROR = "Invalid data"


def _now() -> float:
    return time.time()


def _flag(value: str | None) -> bool:
    # Windows and mac read True/Yes; the spec's default (header absent) is False.
    return (value or "").strip().lower() in ("true", "yes")


def _int(value: str | None, default: int = 0) -> int:
    try:
        return int((value or "").strip())
    except ValueError:
        return default


@dataclass(frozen=True)
class Registration:
    """An accepted REGISTER. ``events`` maps each type to whether it is enabled."""

    application: str
    events: dict[str, bool]
    icon: bytes | None
    event_icons: dict[str, bytes | None]
    display_names: dict[str, str]
    headers: Headers
    peer: str = ""
    received_at: float = 0.0


@dataclass(frozen=True)
class Notification:
    """An accepted NOTIFY; ``icon`` holds the bytes of a binary icon, ``icon_url`` a URL."""

    application: str
    name: str
    title: str
    text: str
    icon: bytes | None
    headers: Headers
    id: str | None
    sticky: bool
    priority: int
    callback_target: str | None
    coalescing_id: str | None
    callback_context: str | None = None
    callback_context_type: str | None = None
    icon_url: str | None = None
    peer: str = ""
    received_at: float = 0.0


@dataclass(frozen=True)
class Subscription:
    """An accepted SUBSCRIBE."""

    id: str
    name: str
    port: int
    headers: Headers
    peer: str = ""
    received_at: float = 0.0


@dataclass(frozen=True)
class Rejection:
    """A request answered with ``-ERROR`` (``message_type`` is None when unreadable)."""

    code: int
    description: str
    message_type: str | None
    peer: str = ""
    received_at: float = 0.0


Record = Registration | Notification | Subscription | Rejection
Listener = Callable[[Record], object]


def _require(headers: Headers, *names: str) -> None:
    for name in names:
        if not headers.get(name, "").strip():
            raise RequestRejected(303, f"required header {name} is missing")


def _icon(request: ReceivedRequest, value: str | None) -> tuple[bytes | None, str | None]:
    """(bytes, None) for a binary resource, (None, url) for anything else."""
    if not value:
        return None, None
    if value.startswith(RESOURCE_SCHEME):
        return request.resources.get(value[len(RESOURCE_SCHEME) :]), None
    return None, value


def _data_headers(headers: Headers) -> list[tuple[str, str]]:
    return [(n, v) for n, v in headers.items() if n.lower().startswith("data-")]


def _peer(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return format_address(str(peer[0]), int(peer[1]))
    return str(peer or "?")


class Receiver:
    """An asyncio GNTP server that keeps what it receives; see the module docstring.

    ``callback``: None, or the result (CLICKED/CLOSED/TIMEDOUT) to report in a
    ``-CALLBACK`` after ``callback_delay`` seconds when a NOTIFY asks for a socket
    callback; ``callback_same_chunk`` writes ``-OK`` and ``-CALLBACK`` in one write (the
    delay then comes before that write). ``max_request_size`` and ``read_timeout`` (for
    the whole request) bound what one client can cost. ``listener`` is called on the
    server's loop with every record as it is made.
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, password: str | None = None,
        style: str = "strict", callback: str | None = None, callback_delay: float = 0.0,
        callback_same_chunk: bool = False, mode: str = "normal",
        max_request_size: int = DEFAULT_MAX_REQUEST, read_timeout: float = 30.0,
        listener: Listener | None = None,
    ) -> None:
        if style not in STYLES:
            raise ValueError(f"style must be one of {', '.join(STYLES)}, not {style!r}")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        if callback is not None and callback not in CALLBACK_RESULTS:
            raise ValueError(f"callback must be None or one of {', '.join(CALLBACK_RESULTS)}")
        if read_timeout <= 0 or callback_delay < 0 or max_request_size <= 0:
            raise ValueError("read_timeout and max_request_size must be > 0, callback_delay >= 0")
        self.host = host
        self.port = port
        self.password = password
        self.style = style
        self.callback = callback
        self.callback_delay = callback_delay
        self.callback_same_chunk = callback_same_chunk
        self.mode = mode
        self.max_request_size = max_request_size
        self.read_timeout = read_timeout
        self.listener = listener

        self.requests: list[ReceivedRequest] = []
        self.notifications: list[Notification] = []
        self.registrations: dict[str, Registration] = {}
        self.subscriptions: list[Subscription] = []
        self.rejections: list[Rejection] = []
        self.connections = 0

        # Guards the records above: ReceiverThread reads them and waits from other threads.
        self._cond = threading.Condition()
        self._changed: asyncio.Condition | None = None
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task] = set()

    def __repr__(self) -> str:
        state = "listening" if self._server else "stopped"
        pw = ", password set" if self.password else ""
        return f"<Receiver {self.address} {self.style} {self.mode}{pw} {state}>"

    @property
    def address(self) -> str:
        return format_address(self.host, self.port)

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Listen; afterwards ``port`` is the real port (pass a literal address with port 0)."""
        if self._server is not None:
            return
        self._changed = asyncio.Condition()
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and drop every open connection (silent ones included)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()

    async def __aenter__(self) -> Receiver:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- waiting -----------------------------------------------------------------------

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Notification]:
        """All notifications once at least ``count`` arrived; TimeoutError after ``timeout``."""
        assert self._changed is not None, "start() the receiver first"
        try:
            async with self._changed:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: len(self.notifications) >= count), timeout
                )
        except asyncio.TimeoutError:
            raise TimeoutError(self._shortfall("notifications", count, timeout)) from None
        return list(self.notifications)

    def wait_for_sync(self, count: int, timeout: float = 5.0, what: str = "notifications") -> list:
        """Blocking twin of :meth:`wait_for` for other threads; ``what`` names the list."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(getattr(self, what)) >= count, timeout):
                raise TimeoutError(self._shortfall(what, count, timeout))
            return list(getattr(self, what))

    def _shortfall(self, what: str, count: int, timeout: float) -> str:
        got = len(getattr(self, what))
        seen = ", ".join(r.message_type for r in self.requests) or "none"
        return (
            f"expected {count} {what} within {timeout:g}s, got {got} "
            f"({self.connections} connections; requests: {seen})"
        )

    async def _record(self, record: Record | None, request: ReceivedRequest | None = None) -> None:
        with self._cond:
            if request is not None:
                self.requests.append(request)
            if isinstance(record, Notification):
                self.notifications.append(record)
            elif isinstance(record, Registration):
                self.registrations[record.application] = record
            elif isinstance(record, Subscription):
                self.subscriptions.append(record)
            elif isinstance(record, Rejection):
                self.rejections.append(record)
            self._cond.notify_all()
        if self._changed is not None:
            async with self._changed:
                self._changed.notify_all()
        if record is not None and self.listener is not None:
            try:
                self.listener(record)
            except Exception:
                log.exception("receiver listener %r failed", self.listener)

    # -- one connection ----------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        with self._cond:
            self.connections += 1
        peer = _peer(writer)
        try:
            await self._converse(reader, writer, peer)
        except (OSError, asyncio.IncompleteReadError):
            pass  # the client went away; nothing to answer
        except Exception:  # a bug here must not kill the server, nor pass unnoticed
            log.exception("receiver: unexpected error on the connection from %s", peer)
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(OSError, asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _converse(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str
    ) -> None:
        try:
            request = await self._read_request(reader)
        except RequestRejected as exc:
            await self._reject(reader, writer, peer, exc, None)
            return
        if request is None:
            return  # closed without sending a request
        if self.mode == "silent":
            await self._record(None, request)
            await self._hold(reader)
            return
        try:
            ok_headers, record = self._accept(request, peer)
        except RequestRejected as exc:
            await self._record(None, request)
            await self._reject(reader, writer, peer, exc, request.message_type)
            return

        ok = self._frame(self._ok(request, ok_headers))
        if self.mode == "close-mid-response":
            await self._record(None, request)
            await self._write_half(writer, ok)
            return
        await self._record(record, request)
        if self.mode == "trickle":
            for i in range(len(ok)):
                await self._write(writer, ok[i : i + 1])
                await asyncio.sleep(TRICKLE_INTERVAL)
            return
        callback = self._callback_message(request)
        if callback is None:
            await self._write(writer, ok)
        elif self.callback_same_chunk:
            await asyncio.sleep(self.callback_delay)
            await self._write(writer, ok + callback)
        else:
            await self._write(writer, ok)
            await asyncio.sleep(self.callback_delay)
            await self._write(writer, callback)

    async def _read_request(self, reader: asyncio.StreamReader) -> ReceivedRequest | None:
        """The parsed request; None if the client closed first; RequestRejected otherwise."""
        parser = RequestParser(password=self.password, max_size=self.max_request_size)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.read_timeout
        eof = False
        while True:
            try:
                request = parser.next_request()
            except RequestRejected:
                raise
            except GNTPProtocolError as exc:  # over max_size, or EOF in mid-request
                if eof:
                    return None
                raise RequestRejected(300, str(exc)) from None
            if request is not None or eof:
                return request
            try:
                data = await asyncio.wait_for(
                    reader.read(_READ_SIZE), max(deadline - loop.time(), 0)
                )
            except asyncio.TimeoutError:
                raise RequestRejected(
                    200, f"timed out after {self.read_timeout:g}s waiting for the request"
                ) from None
            parser.feed(data)
            eof = not data

    async def _hold(self, reader: asyncio.StreamReader) -> None:
        """Silent mode: keep the socket open, reading, until the client leaves or stop()."""
        while await reader.read(_READ_SIZE):
            pass

    # -- validation --------------------------------------------------------------------

    def _accept(self, request: ReceivedRequest, peer: str) -> tuple[list[tuple[str, str]], Record]:
        """The -OK headers and what to keep, or RequestRejected with the strict code."""
        h = request.headers
        now = _now()
        if request.message_type == "REGISTER":
            _require(h, "Application-Name", "Notifications-Count")
            events: dict[str, bool] = {}
            icons: dict[str, bytes | None] = {}
            names: dict[str, str] = {}
            for block in request.blocks[1:]:
                _require(block, "Notification-Name")
                name = block["Notification-Name"]
                events[name] = _flag(block.get("Notification-Enabled"))
                icons[name] = _icon(request, block.get("Notification-Icon"))[0]
                names[name] = block.get("Notification-Display-Name", name)
            record: Record = Registration(
                h["Application-Name"], events, _icon(request, h.get("Application-Icon"))[0],
                icons, names, h, peer, now,
            )
            return [], record
        if request.message_type == "NOTIFY":
            _require(h, "Application-Name", "Notification-Name", "Notification-Title")
            app, name = h["Application-Name"], h["Notification-Name"]
            registration = self.registrations.get(app)
            if registration is None:
                raise RequestRejected(401, f"application {app!r} is not registered")
            if name not in registration.events:
                raise RequestRejected(402, f"notification {name!r} is not registered")
            if self.style == "growl-mac" and not registration.events[name]:
                raise RequestRejected(404, f"notification {name!r} is disabled")
            icon, icon_url = _icon(request, h.get("Notification-Icon"))
            record = Notification(
                application=app, name=name, title=h["Notification-Title"],
                text=h.get("Notification-Text", ""), icon=icon, headers=h,
                id=h.get("Notification-ID"), sticky=_flag(h.get("Notification-Sticky")),
                priority=_int(h.get("Notification-Priority")),
                callback_target=h.get("Notification-Callback-Target"),
                coalescing_id=h.get("Notification-Coalescing-ID"),
                callback_context=h.get("Notification-Callback-Context"),
                callback_context_type=h.get("Notification-Callback-Context-Type"),
                icon_url=icon_url, peer=peer, received_at=now,
            )
            ok = [("Notification-ID", h.get("Notification-ID", ""))]
            return ok, record
        _require(h, "Subscriber-ID", "Subscriber-Name")
        record = Subscription(
            h["Subscriber-ID"], h["Subscriber-Name"],
            _int(h.get("Subscriber-Port"), DEFAULT_PORT), h, peer, now,
        )
        return [("Subscription-TTL", str(SUBSCRIPTION_TTL))], record

    # -- answering ---------------------------------------------------------------------

    def _ok(self, request: ReceivedRequest, extra: list[tuple[str, str]]) -> bytes:
        action = [("Response-Action", request.message_type)]
        if self.style == "growl-for-linux":  # it echoes nothing
            return encode_response("-OK", action)
        return encode_response("-OK", [*action, *extra, *_data_headers(request.headers)])

    def _error(self, code: int, description: str, action: str | None) -> bytes:
        if self.style == "growl-for-linux":
            # No NONE and no Error-Code: "GNTP/1.0 -ERROR Invalid data".
            data = encode_response("-ERROR", [("Error-Description", _GOL_ERROR)])
            return data.replace(b" NONE\r\n", f" {_GOL_ERROR}\r\n".encode(), 1)
        headers = [("Response-Action", action)] if action else []
        headers += [("Error-Code", str(code)), ("Error-Description", description)]
        return self._frame(encode_response("-ERROR", headers))

    def _frame(self, message: bytes) -> bytes:
        # Growl on macOS ends every message with one more CRLF.
        return message + b"\r\n" if self.style == "growl-mac" else message

    def _callback_message(self, request: ReceivedRequest) -> bytes | None:
        h = request.headers
        wanted = (
            request.message_type == "NOTIFY"
            and self.callback is not None
            and self.style != "growl-for-linux"  # it never calls back
            and "Notification-Callback-Context" in h
            and "Notification-Callback-Context-Type" in h
            and not h.get("Notification-Callback-Target")
        )
        if not wanted:
            return None
        assert self.callback is not None
        headers: Iterable[tuple[str, str]] = [
            ("Application-Name", h["Application-Name"]),
            ("Notification-ID", h.get("Notification-ID", "")),
            ("Notification-Callback-Result", self.callback),
            ("Notification-Callback-Timestamp", time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())),
            ("Notification-Callback-Context", h["Notification-Callback-Context"]),
            ("Notification-Callback-Context-Type", h["Notification-Callback-Context-Type"]),
            *_data_headers(h),
        ]
        return self._frame(encode_response("-CALLBACK", headers))

    async def _reject(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str,
        exc: RequestRejected, action: str | None,
    ) -> None:
        await self._record(Rejection(exc.code, exc.description, action, peer, _now()))
        data = self._error(exc.code, exc.description, action)
        if self.mode == "silent":
            await self._hold(reader)
            return
        if self.mode == "close-mid-response":
            await self._write_half(writer, data)
            return
        await self._write(writer, data)
        # Closing with unread input would reset the connection and could destroy the
        # reply in flight: say we are done, then drain what the client still sends.
        if writer.can_write_eof():
            writer.write_eof()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._hold(reader), min(_LINGER, self.read_timeout))

    async def _write(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        await writer.drain()

    async def _write_half(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        await self._write(writer, data[: len(data) // 2])


class ReceiverThread:
    """A :class:`Receiver` on a fresh event loop in a daemon thread, for sync code.

    ``with ReceiverThread(**receiver_kwargs) as server:`` starts it (``start()`` returns
    once it listens, or raises its bind error) and stops it. The record lists below are
    snapshots taken under the receiver's lock.
    """

    def __init__(self, **receiver_kwargs: object) -> None:
        self.receiver = Receiver(**receiver_kwargs)  # type: ignore[arg-type]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"<ReceiverThread {self.receiver!r}>"

    def start(self, timeout: float = 10.0) -> ReceiverThread:
        if self._thread is not None:
            return self
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.receiver.start())
            except BaseException as exc:
                failure.append(exc)
                loop.close()
                ready.set()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.receiver.stop())
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name="gntp-receiver", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise TimeoutError(f"the receiver did not start within {timeout:g}s")
        if failure:
            self._thread.join(timeout)
            self._thread = None
            raise failure[0]
        return self

    def stop(self, timeout: float = 10.0) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            asyncio.run_coroutine_threadsafe(self.receiver.stop(), loop).result(timeout)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)

    def __enter__(self) -> ReceiverThread:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Notification]:
        """All notifications once at least ``count`` arrived; TimeoutError after ``timeout``."""
        return self.receiver.wait_for_sync(count, timeout)

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[ReceivedRequest]:
        """All parsed requests (accepted or not) once at least ``count`` arrived."""
        return self.receiver.wait_for_sync(count, timeout, "requests")

    # Snapshots: the server thread appends while tests read.

    def _snapshot(self, name: str) -> Any:
        with self.receiver._cond:
            value = getattr(self.receiver, name)
            return value.copy() if hasattr(value, "copy") else value

    @property
    def host(self) -> str:
        return self.receiver.host

    @property
    def port(self) -> int:
        return self.receiver.port

    @property
    def address(self) -> str:
        return self.receiver.address

    @property
    def requests(self) -> list[ReceivedRequest]:
        return self._snapshot("requests")

    @property
    def notifications(self) -> list[Notification]:
        return self._snapshot("notifications")

    @property
    def registrations(self) -> dict[str, Registration]:
        return self._snapshot("registrations")

    @property
    def subscriptions(self) -> list[Subscription]:
        return self._snapshot("subscriptions")

    @property
    def rejections(self) -> list[Rejection]:
        return self._snapshot("rejections")

    @property
    def connections(self) -> int:
        return self._snapshot("connections")


# -- command line ----------------------------------------------------------------------


def _shorten(text: str, limit: int = 60) -> str:
    text = text.replace("\n", " ⏎ ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(record: Record) -> str:
    """One line for a human: what arrived, from whom, when."""
    stamp = time.strftime("%H:%M:%S", time.localtime(record.received_at))
    if isinstance(record, Notification):
        icon = f"icon {len(record.icon)} bytes" if record.icon is not None else "no icon"
        text = f" — {_shorten(record.text)}" if record.text else ""
        body = f"NOTIFY    {record.application}: {_shorten(record.title)}{text} [{icon}]"
    elif isinstance(record, Registration):
        names = ", ".join(record.events)
        icon = f"icon {len(record.icon)} bytes" if record.icon is not None else "no icon"
        count = f"{len(record.events)} type{'' if len(record.events) == 1 else 's'}"
        body = f"REGISTER  {record.application}: {count} ({names}) [{icon}]"
    elif isinstance(record, Subscription):
        body = f"SUBSCRIBE {record.name} (id {record.id}, port {record.port})"
    else:
        what = record.message_type or "request"
        body = f"REJECTED  {what} with {record.code}: {record.description}"
    return f"{stamp} {body} from {record.peer}"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="gntp-receiver",
        description="A GNTP server that prints every notification it receives: run it on a "
        "machine, point a kernel's notifications at it, and see whether they arrive.",
    )
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (0.0.0.0: all)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    parser.add_argument("--password", help="require this password (key hash verified)")
    parser.add_argument("--style", choices=STYLES, default="strict", help="answer like this server")
    parser.add_argument(
        "--callback", choices=CALLBACK_RESULTS, help="answer socket callbacks with this result"
    )
    return parser.parse_args(argv)


async def _run(args: argparse.Namespace) -> int:
    def show(record: Record) -> None:
        print(describe(record), flush=True)

    receiver = Receiver(
        args.host, args.port, password=args.password, style=args.style,
        callback=args.callback, listener=show,
    )
    try:
        await receiver.start()
    except OSError as exc:
        print(f"cannot listen on {receiver.address}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"listening on {receiver.address} (Ctrl-C stops)", flush=True)
    try:
        await asyncio.Event().wait()  # until Ctrl-C cancels us
    finally:
        await receiver.stop()
    return 0  # pragma: no cover - only reached by cancellation


def main(argv: list[str] | None = None) -> int:
    """``gntp-receiver`` / ``python -m gntp_jupyter.gntp.receiver``."""
    args = _arguments(argv)
    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        print("stopped", flush=True)
        return 0


if __name__ == "__main__":
    sys.exit(main())
