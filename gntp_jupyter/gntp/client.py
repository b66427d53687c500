"""The blocking client: one TCP connection per request, the whole request in one write.

Only the I/O lives here: the ``OSError`` → :mod:`.exceptions` mapping and the 401/402
retry are shared with the async transport (:mod:`._transport`). The read loop is
:func:`._transport.read_steps` written inline (two lines): driving the generator cost
each send about 4 µs of CPU (measured against our receiver, with the caches as other
processes leave them), more than filling in the request. A socket callback is awaited
on a daemon thread so ``publish()`` returns at ``-OK``.
"""

from __future__ import annotations

import errno
import functools
import math
import os
import queue
import select
import selectors
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any, cast

from ._transport import (
    drive,
    raise_connect_error,
    raise_exchange_error,
    raise_for_response,
)
from .callbacks import SocketCallback
from .exceptions import GNTPError, GNTPServerError
from .exchange import Exchange, State
from .options import ClientOptions, Timeout
from .publishing import Callback, PublisherBase, SubscriberBase, connection_options
from .requests import Event, Request
from .resources import Icon
from .responses import OKResponse
from .security import Secret

__all__ = ["GNTPClient", "Publisher", "Subscriber"]

_READ_SIZE = 65536


class GNTPClient:
    """Sends requests to one server and waits for each answer (one connection each)."""

    def __init__(
        self, options: ClientOptions | None = None, *, host: str | None = None,
        port: int | None = None, password: Secret | str | None = None,
        hash_algorithm: str | None = None, encryption: str | None = None,
        timeout: Timeout | float | None = None,
    ) -> None:
        """Where to send: ``options`` (a prebuilt :class:`ClientOptions`) or the keywords
        ``host`` (default ``"localhost"``), ``port`` (23053), ``password`` (a str or a
        :class:`Secret`; default none), ``hash_algorithm`` (MD5, SHA1, SHA256 (default)
        or SHA512), ``encryption`` (None (default), AES, DES or 3DES) and ``timeout``
        (seconds, or a :class:`Timeout`) — not both.
        """
        self.options = connection_options(
            "GNTPClient", options, host=host, port=port, password=password,
            hash_algorithm=hash_algorithm, encryption=encryption, timeout=timeout,
        )

    def __repr__(self) -> str:
        return f"<GNTPClient → {self.options.address}>"

    def process_request(
        self, request: Request | bytes, callback: SocketCallback | None = None
    ) -> OKResponse:
        """Send ``request`` (or a NOTIFY's bytes, see :class:`.PlainNotify`); return the
        ``-OK`` or raise the matching GNTPError."""
        o = self.options
        # One deadline for the whole request, connect included: a per-recv timeout would
        # let a server that trickles a byte at a time hold the caller for hours.
        start = time.monotonic()
        deadline = start + o.timeout.response
        try:
            sock, connected = _start_connection(o.host, o.port, o.timeout.connect_limit)
        except Exception as exc:
            raise_connect_error(o, exc)
        handed_off = False
        try:
            # Encoded while the handshake completes (and the server accepts).
            exchange = Exchange(request, o.security)
            if not connected:
                try:
                    _finish_connect(sock, start + o.timeout.connect_limit)
                except Exception as exc:
                    raise_connect_error(o, exc)
            try:
                _send_and_read(sock, exchange, deadline)
                while exchange.state is State.AWAITING_RESPONSE:  # read_steps, inlined
                    exchange.receive_data(_receive_by(sock, deadline))
            except Exception as exc:
                raise_exchange_error(o, exc)
            if exchange.state is State.AWAITING_CALLBACK and callback is not None:
                response = raise_for_response(exchange)  # an -OK: the socket stays open
                callback_waiter.add(sock, exchange, callback, o.timeout.callback)
                handed_off = True
                return response
        finally:
            if not handed_off:
                sock.close()  # before reading the answer: see the Exchange's docstring
        response = raise_for_response(exchange)
        if exchange.callback is not None and callback is not None:
            callback.dispatch(exchange.callback)  # -CALLBACK came in the -OK's read
        return response


# The socket stays non-blocking from connect to close; every wait is a poll() with the
# time left (select() where there is no poll: Windows).
_POLL = getattr(select, "poll", None)


def _wait(
    sock: socket.socket, deadline: float, *, read: bool = False, write: bool = False
) -> tuple[bool, bool]:
    """Until ``sock`` can be read and/or written (as asked): (readable, writable).
    An error or hang-up counts as both (the next call reports it). TimeoutError once
    ``deadline`` passes."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    if _POLL is not None:
        poller = _POLL()
        poller.register(sock, (select.POLLIN if read else 0) | (select.POLLOUT if write else 0))
        ready = poller.poll(math.ceil(left * 1000))
        if not ready:
            raise TimeoutError
        events = ready[0][1]
        failed = events & (select.POLLERR | select.POLLHUP | select.POLLNVAL)
        return bool(events & select.POLLIN or failed), bool(events & select.POLLOUT or failed)
    r, w, x = select.select([sock] if read else [], [sock] if write else [], [sock], left)
    if not (r or w or x):
        raise TimeoutError
    return bool(r or x), bool(w or x)


def _receive_by(sock: socket.socket, deadline: float) -> bytes:
    """One chunk, or TimeoutError once ``deadline`` passes."""
    while True:
        _wait(sock, deadline, read=True)
        try:
            return sock.recv(_READ_SIZE)
        except BlockingIOError:  # woken for nothing
            continue


def _start_connection(host: str, port: int, timeout: float) -> tuple[socket.socket, bool]:
    """A non-blocking socket whose connect has begun, and whether it already completed.

    An IP address needs no lookup (``getaddrinfo`` of a literal cost a tenth of a send's
    CPU), and its connect runs on while the request is encoded (:func:`_finish_connect`).
    A name takes ``socket.create_connection`` (lookup, every address in turn).
    """
    family = ip_address_family(host)
    if family is None:
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.setblocking(False)
        return sock, True
    return begin_connect(family, (host, port))


def begin_connect(
    family: socket.AddressFamily | int, address: tuple[Any, ...]
) -> tuple[socket.socket, bool]:
    """A non-blocking socket whose connect to ``address`` has begun, and whether it has
    completed; shared by the sync and async transports. Raises what a connect that
    failed at once raised (refused, ...). On loopback the handshake is over when
    ``connect()`` returns: asking (two syscalls) saves waiting for writability."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        error = sock.connect_ex(address)
        if error in (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN):
            error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if not error:
                return sock, _connected(sock)
        if error and error != errno.EISCONN:
            raise OSError(error, os.strerror(error))  # OSError picks the subclass
    except BaseException:
        sock.close()
        raise
    return sock, True


def _connected(sock: socket.socket) -> bool:
    try:
        sock.getpeername()
    except OSError:  # ENOTCONN: the handshake is still going on
        return False
    return True


def _finish_connect(sock: socket.socket, deadline: float) -> None:
    """Wait for a connect :func:`_start_connection` began; raise what made it fail."""
    _wait(sock, deadline, write=True)
    error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if error:
        raise OSError(error, os.strerror(error))


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
    takes all of it.
    """
    data = memoryview(exchange.data)
    sent = 0
    while True:
        try:
            sent += sock.send(data[sent:])
        except BlockingIOError:
            pass
        except OSError:
            if not answered_anyway(sock, exchange):
                raise
            return
        if sent == len(data):
            return
        readable, _ = _wait(sock, deadline, read=True, write=True)
        if readable:
            _receive(sock, exchange)
            if exchange.state is not State.AWAITING_RESPONSE:
                return  # answered (refused) before reading everything


def answered_anyway(sock: socket.socket, exchange: Exchange) -> bool:
    """The server hung up mid-request: did it answer first (its -ERROR, say)? Reads what
    already arrived and never waits; shared by the sync and async transports."""
    while exchange.state is State.AWAITING_RESPONSE:
        try:
            chunk = sock.recv(_READ_SIZE)
        except OSError:
            break
        if not chunk:
            break
        exchange.receive_data(chunk)
    return exchange.state is not State.AWAITING_RESPONSE


def _receive(sock: socket.socket, exchange: Exchange) -> None:
    try:
        chunk = sock.recv(_READ_SIZE)
    except BlockingIOError:
        return
    exchange.receive_data(chunk)


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

    def __init__(
        self, name: str, events: Sequence[Event | str] | Event | str, icon: Icon = None, *,
        host: str | None = None, port: int | None = None,
        password: Secret | str | None = None, hash_algorithm: str | None = None,
        encryption: str | None = None, timeout: Timeout | float | None = None,
        headers: Mapping[str, object] | None = None, options: ClientOptions | None = None,
    ) -> None:
        """``name``: the application; ``events``: its notification types
        (:class:`Event` values or plain names); ``icon``: the application's icon.

        Keyword-only — where and how to send: ``host`` (default ``"localhost"``),
        ``port`` (23053), ``password`` (a str or a :class:`Secret`; default none),
        ``hash_algorithm`` (MD5, SHA1, SHA256 (default) or SHA512), ``encryption``
        (None (default), AES, DES or 3DES), ``timeout`` (seconds, or a :class:`Timeout`),
        or instead of those six ``options``, a prebuilt :class:`ClientOptions` (giving
        both is a TypeError); ``headers``: X-, Data- or Origin- headers for every request.
        """
        super().__init__(
            name, events, icon, headers=headers, options=connection_options(
                type(self).__name__, options, host=host, port=port, password=password,
                hash_algorithm=hash_algorithm, encryption=encryption, timeout=timeout,
            ),
        )
        self.client = GNTPClient(self.options)

    def register(self) -> OKResponse:
        """Register the application and its events (again, if it changed)."""
        return self.client.process_request(self.register_request())

    def publish(
        self, event: Event | str, title: str, text: str = "", *, id: str | None = None,
        sticky: bool = False, priority: int = 0, icon: Icon = None,
        coalescing_id: str | None = None, callback: Callback = None,
        headers: Mapping[str, object] | None = None,
    ) -> OKResponse:
        """Send one notification; re-registers once if the server forgot the app (401/402).

        Keyword-only: ``id`` (a notification ID), ``sticky``, ``priority`` (-2 to 2),
        ``icon``, ``coalescing_id`` (replaces the notification with that ID),
        ``callback`` (a URL opened on click, or a :class:`SocketCallback`), ``headers``.
        """
        request = self.notification(
            event, title, text, id=id, sticky=sticky, priority=priority, icon=icon,
            coalescing_id=coalescing_id, callback=callback, headers=headers,
        )
        socket_cb = callback if isinstance(callback, SocketCallback) else None
        send = functools.partial(self.client.process_request, callback=socket_cb)
        try:
            return send(request)
        except GNTPServerError as exc:
            return drive(self.retry_steps(request, exc), send)


class Subscriber(SubscriberBase):
    """Subscribes to a server's notifications (they then arrive on ``subscriber_port``)."""

    def __init__(
        self, name: str, *, id: str | None = None, subscriber_port: int | None = None,
        host: str | None = None, port: int | None = None,
        password: Secret | str | None = None, hash_algorithm: str | None = None,
        encryption: str | None = None, timeout: Timeout | float | None = None,
        headers: Mapping[str, object] | None = None, options: ClientOptions | None = None,
    ) -> None:
        """``name``: who subscribes. Keyword-only: ``id`` (the Subscriber-ID; default a
        new one), ``subscriber_port`` (where forwarded notifications arrive; default
        23053), the server: ``host``, ``port``, ``password`` (required),
        ``hash_algorithm``, ``encryption``, ``timeout`` as for :class:`Publisher`, or
        ``options`` instead of those six; ``headers``.
        """
        super().__init__(
            name, id=id, subscriber_port=subscriber_port, headers=headers,
            options=connection_options(
                type(self).__name__, options, host=host, port=port, password=password,
                hash_algorithm=hash_algorithm, encryption=encryption, timeout=timeout,
            ),
        )
        self.client = GNTPClient(self.options)

    def subscribe(self) -> OKResponse:
        """Returns the ``-OK``; its ``subscription_ttl`` says when to subscribe again."""
        return self.client.process_request(self.request)
