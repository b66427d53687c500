"""The blocking client: one TCP connection per request, the whole request in one write.

``OSError``s are mapped to the :mod:`.exceptions` tree here, at the transport boundary.
A socket callback is awaited on a daemon thread so ``publish()`` returns at ``-OK``.
"""

from __future__ import annotations

import queue
import selectors
import socket
import threading
import time
from collections.abc import Mapping
from typing import NoReturn, cast

from .callbacks import SocketCallback
from .exceptions import (
    GNTPConnectionError,
    GNTPConnectionRefused,
    GNTPError,
    GNTPServerError,
    GNTPTimeoutError,
)
from .exchange import Exchange, State
from .options import ClientOptions, format_seconds
from .publishing import Callback, PublisherBase, SubscriberBase, needs_registration
from .requests import Event, Request
from .resources import Icon
from .responses import ErrorResponse, OKResponse

__all__ = [
    "GNTPClient",
    "Publisher",
    "Subscriber",
    "connection_failed_error",
    "ip_address_family",
    "raise_connect_error",
    "raise_for_response",
    "response_timeout_error",
]

_READ_SIZE = 65536


def raise_connect_error(options: ClientOptions, exc: OSError) -> NoReturn:
    """Raise the GNTPError for a failed connect; shared by the sync and async transports."""
    if isinstance(exc, ConnectionRefusedError):
        raise GNTPConnectionRefused(options.host, options.port) from None
    if isinstance(exc, TimeoutError):
        raise GNTPTimeoutError(
            f"could not connect to {options.address} within "
            f"{format_seconds(options.timeout.connect_limit)} — "
            "is the host up and the port open in its firewall?"
        ) from None
    if isinstance(exc, socket.gaierror):
        raise GNTPConnectionError(f"cannot resolve {options.host!r}: {exc.strerror}") from None
    raise GNTPConnectionError(f"cannot connect to {options.address}: {exc}") from exc


def response_timeout_error(options: ClientOptions) -> GNTPTimeoutError:
    """The server accepted the connection but did not answer in time."""
    return GNTPTimeoutError(
        f"{options.address} accepted the connection but sent no answer within "
        f"{format_seconds(options.timeout.response)} — is it a GNTP server?"
    )


def connection_failed_error(options: ClientOptions, exc: BaseException) -> GNTPConnectionError:
    """The connection broke while the request or its answer was on the wire."""
    return GNTPConnectionError(f"connection to {options.address} failed: {exc}")


def raise_for_response(exchange: Exchange) -> OKResponse:
    """The ``-OK`` of a finished exchange, or its ``-ERROR`` as an exception."""
    response = exchange.response
    if isinstance(response, ErrorResponse):
        raise response.exception()
    assert isinstance(response, OKResponse)
    return response


class GNTPClient:
    """Sends requests to one server and waits for each answer."""

    def __init__(self, options: ClientOptions | None = None, **kwargs) -> None:
        self.options = options or ClientOptions.build(**kwargs)

    def process_request(
        self, request: Request, callback: SocketCallback | None = None
    ) -> OKResponse:
        """Send ``request``; return the ``-OK`` or raise the matching GNTPError."""
        o = self.options
        exchange = Exchange(request, o.security)
        # One deadline for the whole request, connect included: a per-recv timeout would
        # let a server that trickles a byte at a time hold the caller for hours.
        deadline = time.monotonic() + o.timeout.response
        sock = self._connect()
        handed_off = False
        try:
            try:
                _send_and_read(sock, exchange, deadline)
                _read_while(sock, exchange, State.AWAITING_RESPONSE, deadline)
            except TimeoutError:
                raise response_timeout_error(o) from None
            except OSError as exc:
                raise connection_failed_error(o, exc) from exc
            response = raise_for_response(exchange)
            if exchange.state is State.AWAITING_CALLBACK and callback is not None:
                callback_waiter.add(sock, exchange, callback, o.timeout.callback)
                handed_off = True
            elif exchange.callback is not None and callback is not None:
                callback.dispatch(exchange.callback)  # -CALLBACK came in the -OK's read
            return response
        finally:
            if not handed_off:
                sock.close()

    def _connect(self) -> socket.socket:
        o = self.options
        try:
            return _open_connection(o.host, o.port, o.timeout.connect_limit)
        except OSError as exc:
            raise_connect_error(o, exc)


def _open_connection(host: str, port: int, timeout: float) -> socket.socket:
    """``socket.create_connection``, minus its name lookup when ``host`` is an IP address
    (``getaddrinfo`` of a literal cost a tenth of a send's CPU)."""
    family = ip_address_family(host)
    if family is None:
        return socket.create_connection((host, port), timeout=timeout)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def ip_address_family(host: str) -> socket.AddressFamily | None:
    """AF_INET or AF_INET6 for an IP address literal, None for a name (which needs a
    lookup); shared by the sync and async transports."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except OSError:
            continue
        return family
    return None


def _send_and_read(sock: socket.socket, exchange: Exchange, deadline: float) -> None:
    """Write the request while reading whatever the server already answers.

    A server may refuse a request before reading all of it (``-ERROR 300``, request
    too large) and stop reading: waiting for the write to finish would report a
    time-out instead of its answer. The request still leaves in one ``sendall``-like
    stream of writes; only a refusal stops it early. Nearly always the first write
    takes all of it, and no selector is needed. Leaves the socket non-blocking.
    """
    data = memoryview(exchange.data)
    sock.setblocking(False)
    try:
        sent = sock.send(data)
    except BlockingIOError:
        sent = 0
    except OSError:
        if not _answered_anyway(sock, exchange):
            raise
        return
    if sent == len(data):
        return
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
        while sent < len(data) and exchange.state is State.AWAITING_RESPONSE:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            for _, events in selector.select(left):
                if events & selectors.EVENT_READ:
                    _receive(sock, exchange)
                    if exchange.state is not State.AWAITING_RESPONSE:
                        return  # answered (refused) before reading everything
                if events & selectors.EVENT_WRITE:
                    try:
                        sent += sock.send(data[sent:])
                    except BlockingIOError:
                        continue
                    except OSError:
                        if not _answered_anyway(sock, exchange):
                            raise
                        return


def _answered_anyway(sock: socket.socket, exchange: Exchange) -> bool:
    """The server hung up mid-request: did it answer first (its -ERROR, say)?"""
    _drain(sock, exchange)
    return exchange.state is not State.AWAITING_RESPONSE


def _receive(sock: socket.socket, exchange: Exchange) -> None:
    try:
        chunk = sock.recv(_READ_SIZE)
    except BlockingIOError:
        return
    exchange.receive_data(chunk)


def _drain(sock: socket.socket, exchange: Exchange) -> None:
    """Read what already arrived (after a failed write); never waits."""
    while exchange.state is State.AWAITING_RESPONSE:
        try:
            chunk = sock.recv(_READ_SIZE)
        except OSError:
            return
        if not chunk:
            return
        exchange.receive_data(chunk)


def _read_while(sock: socket.socket, exchange: Exchange, state: State, deadline: float) -> None:
    """Feed the exchange until it leaves ``state``; TimeoutError once ``deadline`` passes."""
    while exchange.state is state:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        sock.settimeout(left)
        exchange.receive_data(sock.recv(_READ_SIZE))


class CallbackWaiter:
    """One daemon thread waits on every socket that still expects a ``-CALLBACK``.

    A thread per notification would not scale (a thousand sticky notifications with
    callbacks, each waiting up to ``timeout.callback``). Handlers run on this thread:
    keep them short. Only this thread touches the selector; ``add`` hands work over
    through a queue and a wake-up socket.
    """

    def __init__(self) -> None:
        self._incoming: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pending = 0
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = socket.socketpair()

    @property
    def pending(self) -> int:
        """Sockets still waiting (tests use it to see that nothing is left behind)."""
        with self._lock:
            return self._pending

    def add(
        self, sock: socket.socket, exchange: Exchange, callback: SocketCallback, timeout: float
    ) -> None:
        with self._lock:
            self._pending += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="gntp-callbacks", daemon=True
                )
                self._thread.start()
        self._incoming.put((sock, exchange, callback, time.monotonic() + timeout))
        self._wake_w.send(b"\0")

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._wake_r, selectors.EVENT_READ)
        waiting: dict[socket.socket, tuple[Exchange, SocketCallback, float]] = {}
        while True:
            while not self._incoming.empty():
                sock, exchange, callback, deadline = self._incoming.get()
                sock.setblocking(False)
                selector.register(sock, selectors.EVENT_READ)
                waiting[sock] = (exchange, callback, deadline)
            now = time.monotonic()
            for sock in [s for s, (_, _, d) in waiting.items() if d <= now]:
                self._finish(selector, waiting, sock)  # no callback came in time
            soonest = min((d for _, _, d in waiting.values()), default=None)
            for key, _ in selector.select(None if soonest is None else max(soonest - now, 0)):
                if key.fileobj is self._wake_r:
                    self._wake_r.recv(4096)
                    continue
                sock = cast(socket.socket, key.fileobj)
                exchange = waiting[sock][0]
                try:
                    exchange.receive_data(sock.recv(_READ_SIZE))
                except BlockingIOError:
                    continue
                except (OSError, GNTPError):
                    self._finish(selector, waiting, sock)
                    continue
                if exchange.state is State.DONE:
                    self._finish(selector, waiting, sock)

    def _finish(self, selector: selectors.BaseSelector, waiting: dict, sock: socket.socket) -> None:
        exchange, callback, _ = waiting.pop(sock)
        selector.unregister(sock)
        sock.close()
        with self._lock:
            self._pending -= 1
        if exchange.callback is not None:
            callback.dispatch(exchange.callback)


callback_waiter = CallbackWaiter()


class Publisher(PublisherBase):
    """Registers an application and publishes its notifications, blocking.

    >>> p = Publisher("My App", [Event("done", "Job finished")])   # doctest: +SKIP
    >>> p.register()                                              # doctest: +SKIP
    >>> p.publish("done", "Training finished", "loss 0.031")       # doctest: +SKIP
    """

    def __init__(self, name: str, events, icon: Icon = None, **client_options) -> None:
        super().__init__(name, events, icon, **client_options)
        self.client = GNTPClient(self.options)

    def register(self) -> OKResponse:
        return self.client.process_request(self.register_request())

    def publish(
        self, event: Event | str, title: str, text: str = "", *, id: str | None = None,
        sticky: bool = False, priority: int = 0, icon: Icon = None,
        coalescing_id: str | None = None, callback: Callback = None,
        headers: Mapping[str, object] | None = None,
    ) -> OKResponse:
        """Send one notification; re-registers once if the server forgot the app (401/402)."""
        request = self.notify_request(
            event, title, text, id=id, sticky=sticky, priority=priority, icon=icon,
            coalescing_id=coalescing_id, callback=callback, headers=headers,
        )
        socket_cb = callback if isinstance(callback, SocketCallback) else None
        try:
            return self.client.process_request(request, socket_cb)
        except GNTPServerError as exc:
            if not needs_registration(exc):
                raise
        self.register()
        return self.client.process_request(request, socket_cb)


class Subscriber(SubscriberBase):
    """Subscribes to a server's notifications (they then arrive on ``subscriber_port``)."""

    def __init__(self, name: str, **kwargs) -> None:
        super().__init__(name, **kwargs)
        self.client = GNTPClient(self.options)

    def subscribe(self) -> OKResponse:
        """Returns the ``-OK``; its ``subscription_ttl`` says when to subscribe again."""
        return self.client.process_request(self.request)
