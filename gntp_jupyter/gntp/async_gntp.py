"""The asynchronous API on the running (Tornado/asyncio) loop: client, URL icons, publishers.

Importing this module imports Tornado (for icons); ``gntp_jupyter.gntp`` itself does not, so
sync users never pay for it. :class:`AsyncGNTPClient` drives the same sans-IO
:class:`.Exchange` as the blocking client over a non-blocking socket on the running asyncio
loop (``sock_connect``/``sock_recv``; a host name is looked up with ``loop.getaddrinfo``),
so it runs on any asyncio loop, Tornado's in a Jupyter kernel included; :class:`AsyncResource`
is an icon fetched from a URL with Tornado's ``AsyncHTTPClient``.

**At most** :data:`MAX_IN_FLIGHT` **(64) requests from one loop to one server (host and port
as given) at once;** the rest wait their turn on the loop, first come first served, their
deadline running (one that runs out raises GNTPTimeoutError, never having connected); a
socket kept open for a callback holds no place. It is a bound, not a tuning: without it,
``gather()`` of a thousand publishes opens a thousand sockets at once (and growl-for-linux,
a thread per connection, a thousand threads). Measured on loopback (1,000 notifications,
rounds alternating with the blocking client, median of 9), with 1, 2, 4, 8, 16 and 64 in
flight growl-for-linux took 1.02, 1.11, 1.11, 1.07, 1.03 and 1.04× the blocking client's
rate (it commits each notification to sqlite under one lock: concurrency changes little,
and the machine's load moves the ratio by ±0.08 between sessions, this client spending
~240 µs of CPU per send there against ~140 µs), our receiver, which batches what arrives
together, 0.77, 1.11, 1.17, 1.27, 1.41 and 1.50×. A lower limit would not give
growl-for-linux its 2–4: under a caller that keeps 64 in flight, a limit of 4 costs each
request a second wait and came out at 0.94× against 0.99× with none binding (11 rounds).

When ``AsyncPublisher.register()`` / ``publish()`` and ``AsyncSubscriber.subscribe()``
run — the rule: **a call runs at once only when its result is discarded (an expression
statement of its own) or no loop is running; every other call is lazy and runs when
awaited.**

1. ``await p.publish(...)``, and anything else that uses the result —
   ``asyncio.wait_for(p.publish(...), 5)``, ``asyncio.gather(p.publish(a), p.publish(b))``,
   ``asyncio.create_task(p.publish(...))``, ``TaskGroup.create_task``,
   ``x = p.publish(...); await x``, ``return super().publish(...)``: the call returns a
   lazy :class:`AsyncCall` and nothing happens until it is awaited or its task runs; then
   it runs concurrently on the loop, which keeps serving other tasks meanwhile. No nesting,
   no patching. Errors are raised where it is awaited.
2. ``p.publish(...)`` as a statement of its own, inside a running loop (a coroutine under
   ``asyncio.run``, a Tornado handler, a Jupyter cell; the async guide's style): the
   exchange is complete when the call returns, so the next line (or a script's end) comes
   after delivery, and errors are raised from the call. The work runs on the running loop,
   made re-entrant with nest-asyncio2 — applied on first use of this path only, and
   process-wide (see :mod:`._nesting`).
3. Any call where no loop runs (a plain script, a thread): the work runs at once on a
   private loop in a daemon thread (there is no loop of the caller's to hold up), which
   also keeps socket callbacks alive.

Telling (2) from (1) is a guess about the caller, kept narrow: the call site's source
statement is looked up (:mod:`._call_site`; tracebacks read source the same way), never
its bytecode. When it cannot be told (no source: code given to ``exec``), the call is
lazy; a lazy call that is dropped without being awaited warns (``RuntimeWarning``, naming
the call site) that nothing was sent — never a silent block. The coroutines
``register_async()`` / ``publish_async()`` / ``subscribe_async()`` are always lazy.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import socket
import sys
import threading
import warnings
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any, TypeVar
from urllib.parse import urlsplit

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.simple_httpclient import HTTPStreamClosedError, HTTPTimeoutError

from . import _nesting
from ._call_site import discards_result
from ._transport import (
    drive_async,
    raise_connect_error,
    raise_exchange_error,
    raise_for_response,
    read_steps,
    response_timeout_error,
)
from .callbacks import SocketCallback
from .client import answered_anyway, begin_connect, ip_address_family
from .exceptions import (
    GNTPError,
    GNTPResourceError,
    GNTPServerError,
    GNTPTimeoutError,
    GNTPValidationError,
)
from .exchange import Exchange, State
from .headers import parse_int
from .options import ClientOptions, Timeout, format_seconds
from .publishing import Callback, PublisherBase, SubscriberBase, connection_options
from .requests import Event, NotifyRequest, Request
from .resources import MAX_ICON_BYTES, Icon, Resource, check_image
from .responses import OKResponse
from .security import Secret

__all__ = [
    "FETCH_TIMEOUT",
    "MAX_ICON_BYTES",
    "MAX_IN_FLIGHT",
    "AsyncCall",
    "AsyncGNTPClient",
    "AsyncPublisher",
    "AsyncResource",
    "AsyncSubscriber",
    "fetch_async_resources_in_parallel",
]

T = TypeVar("T")

_READ_SIZE = 65536
#: Requests one loop has in flight to one server (host and port as given) at most; the
#: rest wait their turn on the loop, their deadlines running (see the module doc).
MAX_IN_FLIGHT = 64
#: Seconds an icon fetch may take (connect and whole request).
FETCH_TIMEOUT = 10.0
_CACHE_ENTRIES = 64
_CACHE_BYTES = 32 * 1024 * 1024

# Tasks that outlive the call that started them (socket-callback readers, shared fetches):
# the loop only keeps weak references to tasks.
_background: set[asyncio.Task[Any]] = set()


def _keep(task: asyncio.Task[Any]) -> None:
    _background.add(task)
    task.add_done_callback(_background.discard)


# --- the client ---------------------------------------------------------------------------


class AsyncGNTPClient:
    """Sends requests to one server from the running loop; one connection per request, at
    most MAX_IN_FLIGHT at once per server (see the module doc)."""

    def __init__(
        self, options: ClientOptions | None = None, *, host: str | None = None,
        port: int | None = None, password: Secret | str | None = None,
        hash_algorithm: str | None = None, encryption: str | None = None,
        timeout: Timeout | float | None = None,
    ) -> None:
        """Where to send: ``options`` (a prebuilt :class:`ClientOptions`) or the keywords
        ``host``, ``port``, ``password``, ``hash_algorithm``, ``encryption`` and
        ``timeout``, as for :class:`.GNTPClient` — not both.
        """
        self.options = connection_options(
            "AsyncGNTPClient", options, host=host, port=port, password=password,
            hash_algorithm=hash_algorithm, encryption=encryption, timeout=timeout,
        )

    def __repr__(self) -> str:
        return f"<AsyncGNTPClient → {self.options.address}>"

    async def process_request(
        self, request: Request | bytes, callback: SocketCallback | None = None, *,
        deadline: float | None = None,
    ) -> OKResponse:
        """Send ``request`` (or a NOTIFY's bytes, see :class:`.PlainNotify`); return the
        ``-OK`` or raise the matching GNTPError.

        With a ``callback`` and a request that asks for one, the socket stays open after
        ``-OK``: a task on this loop reads the ``-CALLBACK`` (up to ``timeout.callback``)
        and runs the handlers there. ``deadline`` (loop time) ends the request sooner
        than ``timeout.response`` would (a publisher's whole send shares one); time spent
        waiting for a place among the requests in flight to this server counts.
        """
        o = self.options
        exchange = Exchange(request, o.security)
        loop = asyncio.get_running_loop()
        end = loop.time() + o.timeout.response  # the whole request, connect included
        deadline = end if deadline is None else min(end, deadline)
        if deadline <= loop.time():
            raise response_timeout_error(o)
        lane = _Lane.of(loop, o.host, o.port)
        if lane.in_flight < MAX_IN_FLIGHT and not lane.waiting:
            lane.in_flight += 1
        else:
            await lane.wait_turn(loop, deadline, o)
        try:
            response = await _exchange(loop, o, exchange, callback, deadline)
        finally:
            lane.leave()  # at -OK: a socket kept open for a callback holds no place
        if callback is not None and exchange.state is State.DONE:
            called_back = exchange.callback
            if called_back is not None:  # the -CALLBACK came in the -OK's read
                callback.dispatch(called_back)
        return response


async def _exchange(
    loop: asyncio.AbstractEventLoop, o: ClientOptions, exchange: Exchange,
    callback: SocketCallback | None, deadline: float,
) -> OKResponse:
    """The request on a connection of its own, by ``deadline``; a task keeps reading
    for the ``-CALLBACK`` if one is still to come."""
    try:
        connect_by = min(loop.time() + o.timeout.connect_limit, deadline)
        sock = await _connect(loop, o.host, o.port, connect_by)
    except Exception as exc:
        raise_connect_error(o, exc)
    handed_off = False
    try:
        try:
            await _by(deadline, _converse(loop, sock, exchange))
        except Exception as exc:
            raise_exchange_error(o, exc)
        if exchange.state is State.AWAITING_CALLBACK and callback is not None:
            response = raise_for_response(exchange)  # an -OK: the socket stays open
            task = loop.create_task(
                _await_callback(loop, sock, exchange, callback, o.timeout.callback)
            )
            _keep(task)
            handed_off = True
            return response
    finally:
        if not handed_off:
            sock.close()  # before reading the answer: see the Exchange's docstring
    return raise_for_response(exchange)


class _Lane:
    """The requests one loop has in flight to one server (at most MAX_IN_FLIGHT), and
    those waiting their turn, first come first served. A lane exists while it has any."""

    __slots__ = ("in_flight", "key", "waiting")

    def __init__(self, key: tuple[asyncio.AbstractEventLoop, str, int]) -> None:
        self.key = key
        self.in_flight = 0
        self.waiting: collections.deque[asyncio.Future[None]] = collections.deque()

    @staticmethod
    def of(loop: asyncio.AbstractEventLoop, host: str, port: int) -> _Lane:
        key = (loop, host, port)
        lane = _lanes.get(key)
        if lane is None:
            lane = _lanes[key] = _Lane(key)
        return lane

    async def wait_turn(
        self, loop: asyncio.AbstractEventLoop, deadline: float, o: ClientOptions
    ) -> None:
        """Wait until a request in flight leaves its place to this one; GNTPTimeoutError
        if ``deadline`` (loop time) comes first."""
        turn: asyncio.Future[None] = loop.create_future()
        timer = loop.call_at(deadline, _expire, turn)  # lighter than a timeout block
        self.waiting.append(turn)
        try:
            await turn
        except BaseException as exc:
            if turn.done() and not turn.cancelled() and turn.exception() is None:
                self.leave()  # the place came as this request gave up: pass it on
            elif turn in self.waiting:  # (leave() may have dropped it, if done)
                self.waiting.remove(turn)
            if isinstance(exc, _Expired):
                raise GNTPTimeoutError(
                    f"{o.address} sent no answer within "
                    f"{format_seconds(o.timeout.response)}: the request was still "
                    f"waiting behind the {MAX_IN_FLIGHT} in flight to it"
                ) from None
            raise
        finally:
            timer.cancel()

    def leave(self) -> None:
        """A request is done: the first in line takes its place."""
        while self.waiting:
            turn = self.waiting.popleft()
            if not turn.done():  # a cancelled waiter is skipped
                turn.set_result(None)
                return
        self.in_flight -= 1
        if self.in_flight == 0:
            _lanes.pop(self.key, None)


_lanes: dict[tuple[asyncio.AbstractEventLoop, str, int], _Lane] = {}


class _Expired(Exception):
    """A request's deadline passed while it waited for its turn."""


def _expire(turn: asyncio.Future[None]) -> None:
    if not turn.done():
        turn.set_exception(_Expired())


if sys.version_info >= (3, 11):

    async def _by(deadline: float, work: Awaitable[T]) -> T:
        """``work``'s result, or TimeoutError at ``deadline`` (loop time)."""
        async with asyncio.timeout_at(deadline):
            return await work

else:  # no asyncio.timeout_at; wait_for runs the work in a task of its own

    async def _by(deadline: float, work: Awaitable[T]) -> T:
        """``work``'s result, or TimeoutError at ``deadline`` (loop time)."""
        left = max(deadline - asyncio.get_running_loop().time(), 0.0)
        return await asyncio.wait_for(work, left)


async def _connect(
    loop: asyncio.AbstractEventLoop, host: str, port: int, deadline: float
) -> socket.socket:
    """A non-blocking socket connected to ``host`` by ``deadline`` (loop time); a name is
    looked up without blocking the loop (``getaddrinfo`` in the loop's executor), an IP
    address not at all."""
    family = ip_address_family(host)
    if family is not None:
        return await _connect_to(loop, family, (host, port), deadline)
    addresses = await _by(deadline, loop.getaddrinfo(host, port, type=socket.SOCK_STREAM))
    error: OSError = OSError(f"getaddrinfo returned no address for {host!r}")
    for family, _, _, _, address in addresses:  # in order, as socket.create_connection
        try:
            return await _connect_to(loop, family, address, deadline)
        except OSError as exc:
            error = exc
    raise error


async def _connect_to(
    loop: asyncio.AbstractEventLoop, family: int, address: tuple[Any, ...], deadline: float
) -> socket.socket:
    sock, connected = begin_connect(family, address)
    if not connected:
        try:
            await _by(deadline, loop.sock_connect(sock, address))
        except BaseException:
            sock.close()
            raise
    return sock


async def _converse(
    loop: asyncio.AbstractEventLoop, sock: socket.socket, exchange: Exchange
) -> None:
    """Write the request (one write: growl-for-linux frames on the first read) while
    reading: a server may refuse a request before reading all of it, and its answer is
    what the caller must see. Nearly always the first send takes all of it."""
    data = exchange.data
    try:
        sent = sock.send(data)
    except BlockingIOError:
        sent = 0
    except OSError:  # the server hung up already: did it answer first?
        if not answered_anyway(sock, exchange):
            raise
        return
    if sent == len(data):
        await _read_while(loop, sock, exchange, State.AWAITING_RESPONSE)
        return
    writing = loop.create_task(loop.sock_sendall(sock, memoryview(data)[sent:]))
    try:
        await _read_while(loop, sock, exchange, State.AWAITING_RESPONSE)
    finally:
        # A write cut short by a refusal is no error. Wait for the cancelled write to
        # let go of the socket: it is closed next, and its number may be reused at once.
        writing.cancel()
        await asyncio.wait((writing,))
        if not writing.cancelled():
            writing.exception()


async def _read_while(
    loop: asyncio.AbstractEventLoop, sock: socket.socket, exchange: Exchange, state: State
) -> None:
    await drive_async(read_steps(exchange, state), functools.partial(_receive, loop, sock))


def _receive(loop: asyncio.AbstractEventLoop, sock: socket.socket, _need: None) -> Awaitable[bytes]:
    """What arrives next; ``b""`` once the server closed the connection."""
    return loop.sock_recv(sock, _READ_SIZE)


async def _await_callback(
    loop: asyncio.AbstractEventLoop, sock: socket.socket, exchange: Exchange,
    callback: SocketCallback, timeout: float,
) -> None:
    try:
        await _by(loop.time() + timeout,
                  _read_while(loop, sock, exchange, State.AWAITING_CALLBACK))
    except (OSError, GNTPError, TimeoutError, asyncio.TimeoutError):
        return  # no callback will come; nothing to report to
    finally:
        sock.close()
    if exchange.callback is not None:
        callback.dispatch(exchange.callback)


# --- icons from URLs ----------------------------------------------------------------------


class _IconCache:
    """Fetched bytes by URL, least recently used out first; bounded in entries and bytes."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()  # the private loop's thread shares it

    def get(self, url: str) -> bytes | None:
        with self._lock:
            data = self._items.get(url)
            if data is not None:
                self._items.move_to_end(url)
            return data

    def put(self, url: str, data: bytes) -> None:
        with self._lock:
            old = self._items.pop(url, None)
            if old is not None:
                self._size -= len(old)
            if len(data) > self.max_bytes:
                return
            self._items[url] = data
            self._size += len(data)
            while len(self._items) > self.max_entries or self._size > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._size = 0


_cache = _IconCache(_CACHE_ENTRIES, _CACHE_BYTES)
_in_flight: dict[str, asyncio.Task[bytes]] = {}
_in_flight_lock = threading.Lock()


async def _shared_fetch(url: str, timeout: float, max_size: int) -> bytes:
    """The URL's bytes: from the cache, from a fetch already running, or fetched now."""
    data = _cache.get(url)
    if data is None:
        loop = asyncio.get_running_loop()
        with _in_flight_lock:
            task = _in_flight.get(url)
            if task is None or task.done() or task.get_loop() is not loop:
                task = loop.create_task(_download(url, timeout, max_size))
                _in_flight[url] = task
                task.add_done_callback(functools.partial(_forget, url))
        # shield: one waiter's cancellation (wait_for) must not cancel the others' fetch
        data = await asyncio.shield(task)
    if len(data) > max_size:
        raise GNTPResourceError(url, f"too large (over {max_size} bytes)")
    return data


def _forget(url: str, task: asyncio.Task[bytes]) -> None:
    with _in_flight_lock:
        if _in_flight.get(url) is task:
            del _in_flight[url]
    if not task.cancelled():
        task.exception()  # retrieved: every waiter may have been cancelled


async def _download(url: str, timeout: float, max_size: int) -> bytes:
    body = bytearray()
    declared: int | None = None
    over = False

    def on_header(line: str) -> None:
        nonlocal declared
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            declared = parse_int(value)

    def on_chunk(chunk: bytes) -> None:
        nonlocal over
        if over or len(body) + len(chunk) > max_size:
            over = True
        else:
            body.extend(chunk)

    def too_large() -> bool:
        return over or (declared is not None and declared > max_size)

    request = HTTPRequest(
        url, connect_timeout=timeout, request_timeout=timeout, header_callback=on_header,
        streaming_callback=on_chunk, follow_redirects=True, max_redirects=5,
        user_agent="gntp_jupyter",
    )
    # Own instance: the shared one queues beyond 10 fetches and its limits are global.
    # Tornado's own cap has some slack so that on_chunk sees a chunked body cross the
    # limit (tornado refuses a chunk without delivering it); beyond the cap it hangs up.
    client = AsyncHTTPClient(
        force_instance=True, max_clients=64, max_body_size=max_size + _READ_SIZE,
        max_buffer_size=max_size + 2 * _READ_SIZE,
    )
    try:
        response = await client.fetch(request, raise_error=False)
    except HTTPTimeoutError:
        raise GNTPResourceError(url, f"timed out after {format_seconds(timeout)}") from None
    except HTTPStreamClosedError:
        cause = (
            f"too large (over {max_size} bytes)" if too_large()
            else "the connection closed before the whole body arrived"
        )
        raise GNTPResourceError(url, cause) from None
    except socket.gaierror as exc:
        host = urlsplit(url).hostname
        raise GNTPResourceError(url, f"cannot resolve {host!r}: {exc.strerror}") from None
    except ConnectionRefusedError:
        raise GNTPResourceError(url, "connection refused") from None
    except (OSError, HTTPClientError) as exc:
        raise GNTPResourceError(url, str(exc)) from exc
    except Exception as exc:  # a bad host name fails in the idna codec, say
        raise GNTPResourceError(url, f"{type(exc).__name__}: {exc}") from exc
    finally:
        client.close()
    if not 200 <= response.code < 300:
        raise GNTPResourceError(url, f"HTTP {response.code} {response.reason}")
    if too_large():
        raise GNTPResourceError(url, f"too large (over {max_size} bytes)")
    data = bytes(body)
    check_image(data, url, f"Content-Type {response.headers.get('Content-Type', 'none')}, ")
    _cache.put(url, data)
    return data


def _scheme(url: str) -> str:
    try:
        return urlsplit(url).scheme.lower()
    except ValueError:  # "http://[": not a URL at all
        return ""


class AsyncResource(Resource):
    """An icon at an ``http(s)://`` URL, fetched on the running loop before it is sent.

    After :meth:`fetch` (or :func:`fetch_async_resources_in_parallel`, or a publisher's
    ``register``/``publish``), ``data`` holds the bytes, or stays None and ``error`` keeps
    the :class:`GNTPResourceError` (it names the URL and the cause). Each URL is fetched
    once per process (a bounded cache); a body over ``max_size`` bytes is refused.
    """

    __slots__ = ("error", "max_size", "timeout", "url")

    def __init__(
        self, url: str, *, timeout: float = FETCH_TIMEOUT, max_size: int = MAX_ICON_BYTES
    ) -> None:
        if not isinstance(url, str) or _scheme(url) not in ("http", "https"):
            raise GNTPValidationError(f"an AsyncResource takes an http(s) URL, not {url!r}")
        super().__init__()
        self.url = self.source = url
        self.timeout = timeout
        self.max_size = max_size
        self.error: GNTPResourceError | None = None

    async def fetch(self, timeout: float | None = None) -> None:
        """Fetch the bytes; never raises for a failed fetch (see ``error``).

        ``timeout`` shortens this resource's own ``timeout`` (a publisher's deadline).
        """
        self.error = None
        limit = self.timeout if timeout is None else max(min(self.timeout, timeout), 0.0)
        try:
            self._data = await asyncio.wait_for(
                _shared_fetch(self.url, self.timeout, self.max_size), limit
            )
        except GNTPResourceError as exc:
            self._data, self.error = None, exc
        except (TimeoutError, asyncio.TimeoutError):
            self._data = None
            self.error = GNTPResourceError(self.url, f"timed out after {format_seconds(limit)}")
        except asyncio.CancelledError:
            self.error = GNTPResourceError(self.url, "the fetch was cancelled")
            raise


async def fetch_async_resources_in_parallel(
    resources: Iterable[AsyncResource], timeout: float | None = None,
) -> list[AsyncResource]:
    """Fetch every resource not fetched yet, all at once; return when each has finished.

    Failures are kept on the resources (``data`` None, ``error`` set), never raised.
    ``timeout`` bounds them all (each resource's own timeout still applies).
    """
    resources = list(resources)
    pending = {id(r): r for r in resources if r.data is None}
    await asyncio.gather(*(r.fetch(timeout) for r in pending.values()))
    return resources


async def _fetch_icons(request: Request, deadline: float) -> None:
    """Fetch every AsyncResource the request carries by ``deadline`` (loop time); raise
    the first failure."""
    icons = [v for block in request.blocks() for _, v in block if isinstance(v, AsyncResource)]
    if not icons:  # most sends: no gather to set up
        return
    left = deadline - asyncio.get_running_loop().time()
    await fetch_async_resources_in_parallel(icons, left)
    for icon in icons:
        if icon.data is None:
            raise icon.error or GNTPResourceError(icon.url, "not fetched")


# --- one call, three ways to run it -------------------------------------------------------


class AsyncCall(Coroutine[Any, Any, T]):
    """What ``register()``/``publish()``/``subscribe()`` return: awaiting it gives the
    :class:`OKResponse`. A Coroutine, so ``await``, ``create_task``, ``gather``,
    ``wait_for`` and ``TaskGroup.create_task`` all take it.

    Either lazy (the work runs when it is awaited or its task runs) or already completed
    (the call ran at once, see the module doc; awaiting it just returns the response). A
    lazy call dropped without ever running warns, naming the call site: nothing was sent.
    """

    __slots__ = ("_coro", "_done", "_factory", "_result", "_site", "_started")

    def __init__(
        self, factory: Callable[[], Coroutine[Any, Any, T]], site: _Site | None = None
    ) -> None:
        self._factory: Callable[[], Coroutine[Any, Any, T]] | None = factory
        self._coro: Coroutine[Any, Any, T] | None = None
        self._done = False
        self._started = False
        self._result: T | None = None
        self._site = site

    @classmethod
    def completed(cls, result: T) -> AsyncCall[T]:
        call: AsyncCall[T] = cls.__new__(cls)
        call._factory, call._coro, call._site, call._result = None, None, None, result
        call._done = call._started = True
        return call

    @property
    def done(self) -> bool:
        """True once the exchange happened (at the call, or when awaited)."""
        return self._done

    def result(self) -> T:
        """The response of a completed call."""
        if not self._done:
            raise asyncio.InvalidStateError("await this call first")
        return self._result  # type: ignore[return-value]

    def _coroutine(self) -> Coroutine[Any, Any, T]:
        self._started = True
        if self._coro is None:  # created on first use: an unused call warns only once
            assert self._factory is not None
            self._coro = self._factory()
        return self._coro

    def _finish(self, result: T) -> T:
        self._done, self._result = True, result
        return result

    def __await__(self) -> Generator[Any, None, T]:
        if self._done:
            return self._result  # type: ignore[return-value]
        return self._finish((yield from self._coroutine().__await__()))

    def send(self, value: Any) -> Any:
        if self._done:
            raise StopIteration(self._result)
        try:
            return self._coroutine().send(value)
        except StopIteration as stop:
            self._finish(stop.value)
            raise

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        if self._done:
            raise typ if val is None else val
        if val is None and tb is None:
            return self._coroutine().throw(typ)
        return self._coroutine().throw(typ, val, tb)

    def close(self) -> None:
        self._started = True  # closing on purpose is not forgetting it
        if self._coro is not None:
            self._coro.close()

    def __del__(self) -> None:
        if self._started or self._site is None or sys.is_finalizing():
            return
        try:
            dropped_in: FrameType | None = sys._getframe(1)  # the frame dropping it
        except ValueError:  # dropped with no Python frame running (by the collector)
            dropped_in = None
        self._site.warn(dropped_in)

    def __repr__(self) -> str:
        state = f"done: {self._result!r}" if self._done else "pending"
        return f"<AsyncCall {state}>"


@dataclass(frozen=True)
class _Site:
    """Where a lazy call was made, for the warning if it is dropped unawaited (the frame
    itself is not kept: that would keep its locals alive)."""

    what: str
    filename: str
    lineno: int
    frame_id: int
    source_known: bool

    @classmethod
    def of(cls, what: str, frame: FrameType, source_known: bool) -> _Site:
        return cls(what, frame.f_code.co_filename, frame.f_lineno, id(frame), source_known)

    def warn(self, dropped_in: FrameType | None) -> None:
        """``dropped_in``: the frame running when the call was dropped."""
        message = f"{self.what} was never awaited, so nothing was sent."
        same_line = (
            dropped_in is not None and id(dropped_in) == self.frame_id
            and dropped_in.f_lineno == self.lineno
        )
        if same_line and not self.source_known:
            message += (" Its source cannot be read (exec'd code?), so a call without "
                        "await could not be told to run at once: await it.")
        else:
            message += (" Await it, or call it as a statement of its own to send before "
                        "the next line.")
        warnings.warn_explicit(message, RuntimeWarning, self.filename, self.lineno)


class _PrivateLoop:
    """One event loop on a daemon thread, for calls made where no loop runs.

    A thread rather than a loop per call so that socket-callback readers outlive the call.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def _get(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                ready = threading.Event()
                threading.Thread(
                    target=self._serve, args=(loop, ready), name="gntp-async", daemon=True
                ).start()
                ready.wait()
                self._loop = loop
            return self._loop

    @staticmethod
    def _serve(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        loop.run_forever()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self._get())
        try:
            return future.result()
        except BaseException:
            future.cancel()  # KeyboardInterrupt while waiting: stop the work too
            raise


_private_loop = _PrivateLoop()


def run_now(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the work to completion before returning, wherever we are called from.

    Inside a running loop this nests it (nest-asyncio2, see :mod:`._nesting`).
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return _private_loop.run(factory())
    if not _nesting.can_nest(loop):  # uvloop & co: block on the private loop instead
        return _private_loop.run(factory())
    return _nesting.run_nested(factory(), loop)


def _call(
    factory: Callable[[], Coroutine[Any, Any, T]], owner: object, method: str,
    caller: FrameType,
) -> AsyncCall[T]:
    """The rule of the module doc: no loop, or a statement of its own → run now;
    anything else → lazy."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return AsyncCall.completed(_private_loop.run(factory()))
    discarded = discards_result(caller, method)
    if discarded:
        return AsyncCall.completed(run_now(factory))
    what = f"{type(owner).__name__}.{method}()"
    return AsyncCall(factory, _Site.of(what, caller, source_known=discarded is not None))


# --- publishers ---------------------------------------------------------------------------


class AsyncPublisher(PublisherBase):
    """Registers an application and publishes its notifications from async code.

    Icons may be :class:`AsyncResource` URLs: ``register()`` and ``publish()`` fetch every
    one involved (application, event and notification icons) in parallel first and raise
    :class:`GNTPResourceError` if one cannot be fetched. ``register()`` and ``publish()``
    run when awaited, at once as a statement of their own, and at once with no loop at
    all (see the module doc).

    >>> p = AsyncPublisher("My App", [Event("done", "Job finished")])   # doctest: +SKIP
    >>> await p.register()                                             # doctest: +SKIP
    >>> await p.publish("done", "Training finished", "loss 0.031")      # doctest: +SKIP
    """

    def __init__(
        self, name: str, events: Sequence[Event | str] | Event | str, icon: Icon = None, *,
        host: str | None = None, port: int | None = None,
        password: Secret | str | None = None, hash_algorithm: str | None = None,
        encryption: str | None = None, timeout: Timeout | float | None = None,
        headers: Mapping[str, object] | None = None, options: ClientOptions | None = None,
    ) -> None:
        """``name``: the application; ``events``: its notification types
        (:class:`Event` values or plain names); ``icon``: the application's icon (an
        :class:`AsyncResource` URL is fetched on the loop).

        Keyword-only: ``host``, ``port``, ``password``, ``hash_algorithm``,
        ``encryption``, ``timeout`` (as for :class:`.Publisher`; ``timeout`` bounds a
        whole call, icon fetches included), or instead of those six ``options``, a
        prebuilt :class:`ClientOptions` (giving both is a TypeError); ``headers``: X-,
        Data- or Origin- headers for every request.
        """
        super().__init__(
            name, events, icon, headers=headers, options=connection_options(
                type(self).__name__, options, host=host, port=port, password=password,
                hash_algorithm=hash_algorithm, encryption=encryption, timeout=timeout,
            ),
        )
        self.client = AsyncGNTPClient(self.options)  # module global: tests may patch it

    def register(self) -> AsyncCall[OKResponse]:
        """Register the application and its events (when it runs: see the module doc)."""
        return _call(self.register_async, self, "register", sys._getframe(1))

    async def register_async(self, *, deadline: float | None = None) -> OKResponse:
        """The coroutine behind ``register()``.

        ``timeout.response`` bounds the whole call, icon fetches included; ``deadline``
        (loop time) ends it sooner.
        """
        deadline = self._deadline() if deadline is None else deadline
        return await self._send(self.register_request(), None, deadline)

    def _deadline(self) -> float:
        return asyncio.get_running_loop().time() + self.options.timeout.response

    async def _send(
        self, request: Request | bytes, callback: SocketCallback | None, deadline: float
    ) -> OKResponse:
        if type(request) is not bytes:
            await _fetch_icons(request, deadline)
        return await self.client.process_request(request, callback, deadline=deadline)

    def publish(
        self, event: Event | str, title: str, text: str = "", *, id: str | None = None,
        sticky: bool = False, priority: int = 0, icon: Icon = None,
        coalescing_id: str | None = None, callback: Callback = None,
        headers: Mapping[str, object] | None = None,
    ) -> AsyncCall[OKResponse]:
        """Send one notification; re-registers once if the server forgot the app (401/402).

        Keyword-only: ``id``, ``sticky``, ``priority``, ``icon``, ``coalescing_id``,
        ``callback`` and ``headers``, as for :meth:`.Publisher.publish`. Arguments are
        checked at the call (GNTPValidationError); when the sending runs: see the module
        doc.
        """
        request = self.notification(
            event, title, text, id=id, sticky=sticky, priority=priority, icon=icon,
            coalescing_id=coalescing_id, callback=callback, headers=headers,
        )
        work = functools.partial(self._publish, request, callback)
        return _call(work, self, "publish", sys._getframe(1))

    async def publish_async(
        self, event: Event | str, title: str, text: str = "", *, id: str | None = None,
        sticky: bool = False, priority: int = 0, icon: Icon = None,
        coalescing_id: str | None = None, callback: Callback = None,
        headers: Mapping[str, object] | None = None,
    ) -> OKResponse:
        """The coroutine behind ``publish()`` (same arguments).

        ``timeout.response`` bounds the whole call, icon fetches included.
        """
        request = self.notification(
            event, title, text, id=id, sticky=sticky, priority=priority, icon=icon,
            coalescing_id=coalescing_id, callback=callback, headers=headers,
        )
        return await self._publish(request, callback)

    async def _publish(self, request: NotifyRequest | bytes, callback: Callback) -> OKResponse:
        deadline = self._deadline()
        socket_cb = callback if isinstance(callback, SocketCallback) else None
        if type(request) is not bytes:  # bytes (a PlainNotify's) carry no icon
            await _fetch_icons(request, deadline)  # before the first send, as the sync twin
        send = functools.partial(self._send, callback=socket_cb, deadline=deadline)
        try:
            return await send(request)
        except GNTPServerError as exc:
            return await drive_async(self.retry_steps(request, exc), send)


class AsyncSubscriber(SubscriberBase):
    """Subscribes to a server's notifications from async code (``subscribe()`` runs like
    ``AsyncPublisher.register()``)."""

    def __init__(
        self, name: str, *, id: str | None = None, subscriber_port: int | None = None,
        host: str | None = None, port: int | None = None,
        password: Secret | str | None = None, hash_algorithm: str | None = None,
        encryption: str | None = None, timeout: Timeout | float | None = None,
        headers: Mapping[str, object] | None = None, options: ClientOptions | None = None,
    ) -> None:
        """``name``: who subscribes. Keyword-only: ``id``, ``subscriber_port``, ``host``,
        ``port``, ``password`` (required), ``hash_algorithm``, ``encryption``,
        ``timeout`` or ``options`` instead of those six, and ``headers``, as for
        :class:`.Subscriber`.
        """
        super().__init__(
            name, id=id, subscriber_port=subscriber_port, headers=headers,
            options=connection_options(
                type(self).__name__, options, host=host, port=port, password=password,
                hash_algorithm=hash_algorithm, encryption=encryption, timeout=timeout,
            ),
        )
        self.client = AsyncGNTPClient(self.options)

    def subscribe(self) -> AsyncCall[OKResponse]:
        """The ``-OK``'s ``subscription_ttl`` says when to subscribe again."""
        return _call(self.subscribe_async, self, "subscribe", sys._getframe(1))

    async def subscribe_async(self) -> OKResponse:
        """The coroutine behind ``subscribe()``."""
        return await self.client.process_request(self.request)
