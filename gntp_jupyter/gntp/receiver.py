"""A GNTP/1.0 server: the receiving end, written for hostile peers.

It validates like the strictest real server (Growl for Windows) unless it is the lenient
desktop receiver (``lenient=True``), answers in the dialect of the server it is told to
imitate (:mod:`.answer_styles`), hands each accepted notification to a :class:`Display`,
and keeps a bounded record of what arrived::

    with ReceiverThread(Receiver(password="pw")) as server:   # its own loop, a thread
        Publisher("App", ["done"], port=server.port, password="pw").register()
        server.registrations["App"].events                      # {"done": True}

What one peer can cost is bounded by :class:`ReceiverLimits`: request size, open
connections (at the limit the least active is dropped, so new clients are still served),
bytes of unfinished requests across all connections, idle and whole-request time, how
long a socket callback is held, and how many records are kept. All parsing is linear.

The desktop display and the ``gntp-receiver`` command live outside this package, in
:mod:`gntp_jupyter.desktop`: the protocol knows nothing of desktops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .answer_styles import STYLES, AnswerStyle
from .exceptions import GNTPProtocolError
from .options import format_address
from .parsing import DEFAULT_MAX_REQUEST, ReceivedRequest, RequestParser, RequestRejected
from .records import Notification, Record, Registration, Rejection, Subscription, interpret
from .responses import CLICKED, CLOSED, TIMEDOUT

__all__ = [
    "CALLBACK_RESULTS",
    "STYLES",
    "Delivery",
    "Display",
    "Notification",
    "Receiver",
    "ReceiverLimits",
    "ReceiverThread",
    "Registration",
    "Rejection",
    "Subscription",
]

log = logging.getLogger(__name__)

CALLBACK_RESULTS = (CLICKED, CLOSED, TIMEDOUT)
SUBSCRIPTION_TTL = 3600

_READ_SIZE = 65536
_LINGER = 2.0  # after an error, how long to drain what the client is still sending
_FREE_ALLOWANCE = 64 * 1024  # every connection may hold this much whatever the budget
_STOP_GRACE = 1.0  # on stop, how long pending callbacks get to write their CLOSED


@dataclass(frozen=True)
class ReceiverLimits:
    """What one receiver may spend; every wait and every buffer has a bound.

    ``max_request_size``: bytes of one request. ``max_connections``: open at once (keep
    it below the process's descriptor limit). ``memory_budget``: bytes of unfinished
    requests across all connections (each may hold 64 KiB regardless, so small requests
    pass while big ones are refused with 500). ``idle_timeout``: seconds without a byte
    before a connection is dropped; ``request_timeout``: seconds for a whole request.
    ``callback_wait``: the longest a socket callback is held before it is answered CLOSED.
    ``history``: records kept of each kind; ``applications`` and ``registration_bytes``:
    registrations kept, by count and by the bytes of their headers and icons (the least
    recently registered is forgotten first); ``display_timeout``: seconds a display may take.
    """

    max_request_size: int = DEFAULT_MAX_REQUEST
    max_connections: int = 256
    memory_budget: int = 64 * 1024 * 1024
    idle_timeout: float = 10.0
    request_timeout: float = 30.0
    callback_wait: float = 3600.0
    history: int = 1000
    applications: int = 256
    registration_bytes: int = 32 * 1024 * 1024
    display_timeout: float = 10.0

    def __post_init__(self) -> None:
        for name in ("max_request_size", "max_connections", "memory_budget", "applications",
                     "registration_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)!r}")
        for name in ("idle_timeout", "request_timeout", "callback_wait", "display_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, not {getattr(self, name)!r}")
        if self.history < 0:
            raise ValueError(f"history must be >= 0, not {self.history!r}")


@dataclass(eq=False)
class Delivery:
    """One accepted notification on its way to the user.

    A display settles ``outcome`` with CLICKED, CLOSED or TIMEDOUT when the user acts
    (or the notification is replaced); the receiver then answers a waiting socket
    callback with it. Settling twice is harmless: the first result counts.
    """

    notification: Notification
    registration: Registration
    outcome: asyncio.Future[str] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def settle(self, result: str) -> None:
        if not self.outcome.done():
            self.outcome.set_result(result)


class Display(Protocol):
    """Where accepted notifications go (the desktop, a terminal, a test double)."""

    async def show(self, delivery: Delivery) -> None:
        """Show it; settle ``delivery`` later when the user acts. May raise: it is logged."""

    async def close(self) -> None:
        """The receiver stops: release what showing needed."""


Listener = Callable[[Record], object]


@dataclass(eq=False)
class _Connection:
    writer: asyncio.StreamWriter
    task: asyncio.Task
    peer: str
    last_active: float
    held: int = 0  # bytes of an unfinished request counted against the memory budget
    waiting: Delivery | None = None  # set while a socket callback is pending
    answering: bool = False  # its request is read, its answer not yet written
    answers: AnswerStyle | None = None  # the sender's dialect, once its request is read


def _weight(registration: Registration) -> int:
    """Bytes a kept registration holds: its headers, names and icons."""
    icons = [registration.icon, *registration.event_icons.values()]
    return (
        sum(len(n) + len(v) for n, v in registration.headers.items_raw())
        + sum(len(n) + len(d) for n, d in registration.display_names.items())
        + sum(len(i) for i in icons if i)
    )


def _peer(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return format_address(str(peer[0]), int(peer[1]))
    return str(peer or "?")


class Receiver:
    """An asyncio GNTP server; see the module docstring.

    Parameters (keyword-only after ``host`` and ``port``):

    - ``host``, ``port``: where to listen; port 0 picks a free one (read ``port`` after
      :meth:`start`). The default host is loopback: nothing beyond this machine can send.
    - ``password``: when set, every request must carry a matching key hash.
    - ``style``: the server to imitate, one of :data:`STYLES`.
    - ``display``: where accepted notifications go; None keeps them only as records (a
      socket callback is then never sent and the connection closes after ``-OK``).
    - ``limits``: a :class:`ReceiverLimits`.
    - ``listener``: called on the server's loop with every record as it is made.
    - ``lenient``: the desktop receiver's mode (``gntp-receiver``). Accept what real
      senders get wrong where their intent is plain (see :class:`.RequestParser`: apprise's
      multi-line text, growler's plaintext section lengths, ruby-growl's missing blank
      line) and answer each request in the dialect its ``Origin-Software-Name`` reads
      (:meth:`.AnswerStyle.for_sender`). The default, False, stays as strict as Growl
      for Windows: our own client is tested against it.
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, password: str | None = None,
        style: str = "strict", display: Display | None = None,
        limits: ReceiverLimits | None = None, listener: Listener | None = None,
        lenient: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.password = password
        self.answers = AnswerStyle(style)
        self.lenient = lenient
        self.display = display
        self.limits = limits or ReceiverLimits()
        self.listener = listener

        history = self.limits.history
        self.requests: deque[ReceivedRequest] = deque(maxlen=history)
        self.notifications: deque[Notification] = deque(maxlen=history)
        self.subscriptions: deque[Subscription] = deque(maxlen=history)
        self.rejections: deque[Rejection] = deque(maxlen=history)
        self.registrations: OrderedDict[str, Registration] = OrderedDict()
        self.connections = 0  # accepted so far
        self.dropped = 0  # connections closed to make room for new ones

        # Guards the records above: ReceiverThread reads them and waits from other threads.
        self._cond = threading.Condition()
        self._changed: asyncio.Condition | None = None
        self._server: asyncio.AbstractServer | None = None
        self._open: set[_Connection] = set()
        self._leaving: set[_Connection] = set()  # dropped to make room, still closing
        self._in_flight = 0
        self._registration_bytes = 0

    @property
    def style(self) -> str:
        return self.answers.name

    def __repr__(self) -> str:
        state = "listening" if self._server else "stopped"
        pw = ", password set" if self.password else ""
        lenient = ", lenient" if self.lenient else ""
        return f"<{type(self).__name__} {self.address} {self.style}{pw}{lenient} {state}>"

    @property
    def address(self) -> str:
        return format_address(self.host, self.port)

    @property
    def open_connections(self) -> int:
        return len(self._open)

    @property
    def bytes_in_flight(self) -> int:
        return self._in_flight

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Listen; afterwards ``port`` is the real port (pass a literal address with port 0)."""
        if self._server is not None:
            return
        self._changed = asyncio.Condition()
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening; answer pending socket callbacks CLOSED; drop every connection."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        # A sender whose request is read gets its answer, and a pending callback CLOSED,
        # even if its notification is still on the way to the display.
        answering = [c for c in self._open if c.answering]
        for conn in answering:
            if conn.waiting is not None:
                conn.waiting.settle(CLOSED)
        if answering:
            await asyncio.wait([c.task for c in answering], timeout=_STOP_GRACE)
        conns = [*self._open, *self._leaving]
        for conn in conns:
            conn.task.cancel()
        if conns:
            # Bounded even if a task swallows its cancellation (asyncio.wait_for may, before
            # 3.12): what has not ended by then loses its socket at once.
            _, stuck = await asyncio.wait([c.task for c in conns], timeout=_STOP_GRACE)
            for conn in conns:
                if conn.task in stuck:
                    conn.writer.transport.abort()
            if stuck:
                log.warning("receiver: %d connections did not end on stop; aborted", len(stuck))
        await server.wait_closed()
        if self.display is not None:
            try:
                await self.display.close()
            except Exception:
                log.exception("receiver: closing the display failed")

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
        refused = ", ".join(str(r.code) for r in self.rejections) or "none"
        return (
            f"expected {count} {what} within {timeout:g}s, got {got} ({self.connections} "
            f"connections; accepted requests: {seen}; refused: {refused})"
        )

    def _forget_registration(self, application: str) -> None:
        old = self.registrations.pop(application, None)
        if old is not None:
            self._registration_bytes -= _weight(old)

    async def _record(self, record: Record | None, request: ReceivedRequest | None = None) -> None:
        with self._cond:
            if request is not None:
                self.requests.append(request)
            if isinstance(record, Notification):
                self.notifications.append(record)
            elif isinstance(record, Registration):
                self._forget_registration(record.application)
                self.registrations[record.application] = record
                self._registration_bytes += _weight(record)
                limits = self.limits
                while len(self.registrations) > 1 and (
                    len(self.registrations) > limits.applications
                    or self._registration_bytes > limits.registration_bytes
                ):
                    self._forget_registration(next(iter(self.registrations)))
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
        conn = _Connection(writer, task, _peer(writer), asyncio.get_running_loop().time())
        if len(self._open) >= self.limits.max_connections:
            self._make_room()
        self._open.add(conn)
        with self._cond:
            self.connections += 1
        try:
            await self._converse(conn, reader)
        except (OSError, asyncio.IncompleteReadError):
            pass  # the client went away; nothing to answer
        except asyncio.CancelledError:
            pass  # dropped to make room, or the receiver stops: the connection just ends
        except Exception:  # a bug here must not kill the server, nor pass unnoticed
            log.exception("receiver: unexpected error on the connection from %s", conn.peer)
        finally:
            self._release(conn)
            self._open.discard(conn)
            self._leaving.discard(conn)
            writer.close()
            with contextlib.suppress(OSError, asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    def _make_room(self) -> None:
        """At the connection limit: drop the least active reader, else the oldest wait."""
        readers = [c for c in self._open if c.waiting is None and not c.task.done()]
        if readers:
            victim = min(readers, key=lambda c: c.last_active)
            victim.task.cancel()
        else:
            waiting = [c for c in self._open if c.waiting is not None]
            if not waiting:
                return
            victim = min(waiting, key=lambda c: c.last_active)
            assert victim.waiting is not None
            victim.waiting.settle(CLOSED)
        self._open.discard(victim)
        self._leaving.add(victim)
        self.dropped += 1

    async def _converse(self, conn: _Connection, reader: asyncio.StreamReader) -> None:
        try:
            request = await self._read_request(conn, reader)
        except RequestRejected as exc:
            await self._refuse(conn, reader, exc, None)
            return
        finally:
            self._release(conn)
        if request is None:
            return  # closed without sending a request
        conn.answering = True
        if self.lenient:
            conn.answers = self.answers.for_sender(request.headers)
        now = time.time()
        try:
            record = interpret(
                request, self.registrations, refuse_disabled=self.answers.refuses_disabled,
                peer=conn.peer, now=now,
            )
        except RequestRejected as exc:
            await self._refuse(conn, reader, exc, request.message_type)
            return
        subscribing = request.message_type == "SUBSCRIBE"
        extra = [("Subscription-TTL", str(SUBSCRIPTION_TTL))] if subscribing else []
        ok = self._answers(conn).ok(request.message_type, request.headers, extra)
        await self._record(record, request)
        delivery = await self._deliver(record) if isinstance(record, Notification) else None
        if delivery is None or not record.wants_socket_callback or not self.answers.calls_back:
            await self._reply(conn, reader, ok, None)
            return
        assert isinstance(record, Notification)
        await self._reply(conn, reader, ok, lambda: self._callback(conn, delivery))

    async def _callback(self, conn: _Connection, delivery: Delivery) -> bytes:
        """The ``-CALLBACK`` once the user acts; CLOSED once it can no longer happen."""
        conn.waiting = delivery
        if self._server is None:
            delivery.settle(CLOSED)  # the receiver stops: nobody can act on it any more
        try:
            result = await asyncio.wait_for(
                asyncio.shield(delivery.outcome), self.limits.callback_wait
            )
        except asyncio.TimeoutError:
            result = CLOSED
        conn.last_active = asyncio.get_running_loop().time()
        return self._answers(conn).callback(delivery.notification, result)

    def _answers(self, conn: _Connection) -> AnswerStyle:
        """The dialect this connection's sender reads (the receiver's own by default)."""
        return conn.answers or self.answers

    async def _deliver(self, notification: Notification) -> Delivery | None:
        if self.display is None:
            return None
        registration = self.registrations.get(notification.application)
        if registration is None:  # forgotten meanwhile (over the application limit)
            return None
        delivery = Delivery(notification, registration)
        try:
            await asyncio.wait_for(self.display.show(delivery), self.limits.display_timeout)
        except Exception:
            log.exception("receiver: the display failed to show %r", notification.title[:60])
            delivery.settle(CLOSED)
        return delivery

    async def _read_request(
        self, conn: _Connection, reader: asyncio.StreamReader
    ) -> ReceivedRequest | None:
        """The parsed request; None if the client closed first; RequestRejected otherwise."""
        limits = self.limits
        parser = RequestParser(
            password=self.password, max_size=limits.max_request_size, lenient=self.lenient
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limits.request_timeout
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
            left = deadline - loop.time()
            try:
                data = await asyncio.wait_for(
                    reader.read(_READ_SIZE), max(min(left, limits.idle_timeout), 0)
                )
            except asyncio.TimeoutError:
                if left <= limits.idle_timeout:
                    why = f"the request took longer than {limits.request_timeout:g}s"
                else:
                    why = f"nothing arrived for {limits.idle_timeout:g}s"
                raise RequestRejected(200, f"timed out: {why}") from None
            conn.last_active = loop.time()
            self._hold(conn, len(data))
            parser.feed(data)
            eof = not data

    def _hold(self, conn: _Connection, n: int) -> None:
        conn.held += n
        self._in_flight += n
        if self._in_flight > self.limits.memory_budget and conn.held > _FREE_ALLOWANCE:
            raise RequestRejected(
                500, "the receiver holds too much unfinished data; try again shortly"
            )

    def _release(self, conn: _Connection) -> None:
        self._in_flight -= conn.held
        conn.held = 0

    # -- answering (misbehaving test receivers override these) --------------------------

    async def _reply(
        self, conn: _Connection, reader: asyncio.StreamReader, ok: bytes,
        callback: Callable[[], Awaitable[bytes]] | None,
    ) -> None:
        """Write ``-OK``; then, for a socket callback, the ``-CALLBACK`` in its own write.

        Never both in one write: several real clients read only the first message of a
        chunk and would lose the callback.
        """
        await self._write(conn.writer, ok)
        if callback is not None:
            await self._write(conn.writer, await callback())
        await self._finish(conn, reader)

    async def _refuse(
        self, conn: _Connection, reader: asyncio.StreamReader, exc: RequestRejected,
        message_type: str | None,
    ) -> None:
        """Answer ``-ERROR`` and close; nothing of the refused request is kept."""
        await self._record_rejection(conn, exc, message_type)
        error = self._answers(conn).error(exc.code, exc.description, message_type)
        await self._write(conn.writer, error)
        await self._finish(conn, reader)

    async def _finish(self, conn: _Connection, reader: asyncio.StreamReader) -> None:
        """Say we are done, then drain (without keeping) what the client still sends.

        Closing with unread input resets the connection, which can destroy the answer in
        flight: a refused request may still be arriving, and growly, growler and gntp-send
        write the CRLF CRLF after their last binary section once the request is complete.
        """
        conn.answering = False  # answered: a stop need not wait for the drain
        if conn.writer.can_write_eof():
            conn.writer.write_eof()
        with contextlib.suppress(asyncio.TimeoutError):
            linger = min(_LINGER, self.limits.idle_timeout)
            await asyncio.wait_for(self._drain_input(reader), linger)

    async def _record_rejection(
        self, conn: _Connection, exc: RequestRejected, message_type: str | None
    ) -> None:
        rejection = Rejection(exc.code, exc.description, message_type, conn.peer, time.time())
        await self._record(rejection)

    @staticmethod
    async def _drain_input(reader: asyncio.StreamReader) -> None:
        while await reader.read(_READ_SIZE):
            pass

    async def _write(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        """Write; a client that stops reading is dropped after ``idle_timeout``."""
        writer.write(data)
        try:
            await asyncio.wait_for(writer.drain(), self.limits.idle_timeout)
        except asyncio.TimeoutError:
            raise ConnectionError("the client stopped reading its answer") from None


class ReceiverThread:
    """A :class:`Receiver` on a fresh event loop in a daemon thread, for sync code.

    ``with ReceiverThread(Receiver(...)) as server:`` starts it (``start()`` returns once
    it listens, or raises its bind error) and stops it; ``ReceiverThread()`` runs a
    default strict receiver on loopback. The record lists below are snapshots taken
    under the receiver's lock.
    """

    def __init__(self, receiver: Receiver | None = None) -> None:
        self.receiver = receiver if receiver is not None else Receiver()
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

    def call(self, func: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Run ``func()`` on the receiver's loop and return its result (awaited if a coroutine)."""
        assert self._loop is not None, "start() first"

        async def run() -> Any:
            result = func()
            return await result if asyncio.iscoroutine(result) else result

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    def __enter__(self) -> ReceiverThread:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Notification]:
        """All notifications once at least ``count`` arrived; TimeoutError after ``timeout``."""
        return self.receiver.wait_for_sync(count, timeout)

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[ReceivedRequest]:
        """All accepted requests once at least ``count`` arrived."""
        return self.receiver.wait_for_sync(count, timeout, "requests")

    # Snapshots: the server thread appends while tests read.

    def _snapshot(self, name: str) -> Any:
        with self.receiver._cond:
            value = getattr(self.receiver, name)
            if isinstance(value, deque):
                return list(value)
            return dict(value) if isinstance(value, dict) else value

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
