"""The asynchronous API on the running (Tornado/asyncio) loop: client, URL icons, publishers.

Importing this module imports Tornado; ``gntp_jupyter.gntp`` itself does not, so sync users
never pay for it. :class:`AsyncGNTPClient` drives the same sans-IO :class:`.Exchange` as the
blocking client with Tornado's ``TCPClient``/``IOStream``; :class:`AsyncResource` is an icon
fetched from a URL with ``AsyncHTTPClient``.

Three ways to call ``AsyncPublisher.register()`` / ``publish()`` and
``AsyncSubscriber.subscribe()`` — all of them deliver:

1. ``await publisher.publish(...)`` inside a coroutine: truly asynchronous; the loop keeps
   serving other tasks while icons are fetched and the request is on the wire.
2. ``publisher.publish(...)`` without ``await`` from code already running inside a loop (a
   coroutine under ``asyncio.run``, a Tornado handler, a Jupyter cell): the exchange is
   complete when the call returns, so a script ending right after it has still delivered.
   The work runs on the already-running loop, made re-entrant with nest-asyncio2 — applied
   on first use of this path only, and process-wide (see :mod:`._nesting`). Errors are
   raised from the call itself.
3. ``publisher.publish(...)`` where no loop runs (a plain script, a thread): the work runs
   on a private loop in a daemon thread, which also keeps socket callbacks alive.

The method tells (1) from (2) by looking at its caller's bytecode: if the very next
instruction awaits the returned value (``GET_AWAITABLE``) the call returns a lazy awaitable;
otherwise (and for any bytecode it does not recognise) it does the work at once and returns
an already-completed one. Both are :class:`AsyncCall` objects, so ``asyncio.gather``,
``create_task`` and ``wait_for`` accept them; for real concurrency hand those the explicit
coroutines ``register_async()`` / ``publish_async()`` / ``subscribe_async()`` instead.
"""

from __future__ import annotations

import asyncio
import dis
import functools
import itertools
import socket
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Generator, Iterable, Mapping, Sequence
from types import CodeType, FrameType
from typing import Any, TypeVar
from urllib.parse import urlsplit

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.iostream import IOStream, StreamClosedError
from tornado.simple_httpclient import HTTPStreamClosedError, HTTPTimeoutError
from tornado.tcpclient import TCPClient

from . import _nesting
from .callbacks import SocketCallback
from .client import (
    connection_failed_error,
    ip_address_family,
    raise_connect_error,
    raise_for_response,
    response_timeout_error,
)
from .exceptions import GNTPError, GNTPResourceError, GNTPServerError, GNTPValidationError
from .exchange import Exchange, State
from .headers import parse_int
from .options import ClientOptions, format_seconds
from .publishing import Callback, PublisherBase, SubscriberBase, needs_registration
from .requests import Event, Request
from .resources import MAX_ICON_BYTES, Icon, Resource, check_image
from .responses import OKResponse

__all__ = [
    "FETCH_TIMEOUT",
    "MAX_ICON_BYTES",
    "AsyncCall",
    "AsyncGNTPClient",
    "AsyncPublisher",
    "AsyncResource",
    "AsyncSubscriber",
    "fetch_async_resources_in_parallel",
]

T = TypeVar("T")

_READ_SIZE = 65536
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
    """Sends requests to one server from the running loop; one connection per request."""

    def __init__(self, options: ClientOptions | None = None, **kwargs: Any) -> None:
        self.options = options or ClientOptions.build(**kwargs)

    def __repr__(self) -> str:
        return f"<AsyncGNTPClient → {self.options.address}>"

    async def process_request(
        self, request: Request, callback: SocketCallback | None = None, *,
        deadline: float | None = None,
    ) -> OKResponse:
        """Send ``request``; return the ``-OK`` or raise the matching GNTPError.

        With a ``callback`` and a request that asks for one, the socket stays open after
        ``-OK``: a task on this loop reads the ``-CALLBACK`` (up to ``timeout.callback``)
        and runs the handlers there. ``deadline`` (loop time) ends the request sooner
        than ``timeout.response`` would (a publisher's whole send shares one).
        """
        o = self.options
        exchange = Exchange(request, o.security)
        loop = asyncio.get_running_loop()
        end = loop.time() + o.timeout.response  # the whole request, connect included
        deadline = end if deadline is None else min(end, deadline)
        if deadline - loop.time() <= 0:
            raise response_timeout_error(o)
        stream = await self._connect(deadline - loop.time())
        handed_off = False
        try:
            try:
                left = max(deadline - loop.time(), 0.0)
                await asyncio.wait_for(_converse(stream, exchange), left)
            except (TimeoutError, asyncio.TimeoutError):
                raise response_timeout_error(o) from None
            except StreamClosedError as exc:
                raise connection_failed_error(o, exc.real_error or exc) from exc
            response = raise_for_response(exchange)
            if callback is not None and exchange.expects_callback:
                task = asyncio.get_running_loop().create_task(
                    _await_callback(stream, exchange, callback, o.timeout.callback)
                )
                _keep(task)
                handed_off = True
            return response
        finally:
            if not handed_off:
                stream.close()

    async def _connect(self, left: float) -> IOStream:
        o = self.options
        timeout = min(o.timeout.connect_limit, left)
        try:
            family = ip_address_family(o.host)
            if family is not None:  # no name to look up: skip TCPClient's resolver thread
                return IOStream(await _open_socket(family, o.host, o.port, timeout))
            return await TCPClient().connect(o.host, o.port, timeout=timeout)
        except StreamClosedError as exc:  # tornado wraps the socket error
            real = exc.real_error
            raise_connect_error(o, real if isinstance(real, OSError) else exc)
        except (TimeoutError, asyncio.TimeoutError):
            raise_connect_error(o, TimeoutError())
        except OSError as exc:
            raise_connect_error(o, exc)


async def _open_socket(
    family: socket.AddressFamily, host: str, port: int, timeout: float
) -> socket.socket:
    """A socket connected to an IP address on the running loop (a third of a send's CPU
    went to TCPClient resolving a literal in an executor thread)."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, (host, port)),
                               timeout)
    except BaseException:
        sock.close()
        raise
    return sock


async def _read_while(stream: IOStream, exchange: Exchange, state: State) -> None:
    """Feed what arrives to ``exchange`` while it is in ``state`` (EOF is fed as b"")."""
    while exchange.state is state:
        try:
            chunk = await stream.read_bytes(_READ_SIZE, partial=True)
        except StreamClosedError as exc:
            if exc.real_error is not None:
                raise
            chunk = b""
        exchange.receive_data(chunk)


async def _converse(stream: IOStream, exchange: Exchange) -> None:
    """Write the request (one write: growl-for-linux frames on the first read) while
    reading: a server may refuse a request before reading all of it, and its answer is
    what the caller must see."""
    writing = stream.write(exchange.data)
    writing.add_done_callback(_retrieve)  # a write cut short by a refusal is no error
    try:
        await _read_while(stream, exchange, State.AWAITING_RESPONSE)
    except StreamClosedError:
        if exchange.state is State.AWAITING_RESPONSE:
            raise


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


async def _await_callback(
    stream: IOStream, exchange: Exchange, callback: SocketCallback, timeout: float
) -> None:
    try:
        await asyncio.wait_for(_read_while(stream, exchange, State.AWAITING_CALLBACK), timeout)
    except (OSError, GNTPError, TimeoutError, asyncio.TimeoutError):
        return  # no callback will come; nothing to report to
    finally:
        stream.close()
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
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
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
    :class:`OKResponse`.

    Either lazy (the caller awaits it at once: the work runs when awaited) or already
    completed (``done`` is True and ``result()`` has the response; awaiting it just returns
    that). A Coroutine so that asyncio's ``create_task``, ``gather`` and ``wait_for`` take it.
    """

    __slots__ = ("_coro", "_done", "_factory", "_result")

    def __init__(self, factory: Callable[[], Coroutine[Any, Any, T]]) -> None:
        self._factory: Callable[[], Coroutine[Any, Any, T]] | None = factory
        self._coro: Coroutine[Any, Any, T] | None = None
        self._done = False
        self._result: T | None = None

    @classmethod
    def completed(cls, result: T) -> AsyncCall[T]:
        call: AsyncCall[T] = cls.__new__(cls)
        call._factory, call._coro, call._done, call._result = None, None, True, result
        return call

    @property
    def done(self) -> bool:
        """True when the exchange already happened (the call was not awaited)."""
        return self._done

    def result(self) -> T:
        """The response of a completed call."""
        if not self._done:
            raise asyncio.InvalidStateError("await this call first")
        return self._result  # type: ignore[return-value]

    def _coroutine(self) -> Coroutine[Any, Any, T]:
        if self._coro is None:  # created on first use: an unused call warns about nothing
            assert self._factory is not None
            self._coro = self._factory()
        return self._coro

    def __await__(self) -> Generator[Any, None, T]:
        if self._done:
            return self._completed()
        return self._coroutine().__await__()

    def _completed(self) -> Generator[Any, None, T]:
        return self._result  # type: ignore[return-value]
        yield  # unreachable: makes this a generator that finishes at once

    def send(self, value: Any) -> Any:
        if self._done:
            raise StopIteration(self._result)
        return self._coroutine().send(value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        if self._done:
            raise typ if val is None else val
        if val is None and tb is None:
            return self._coroutine().throw(typ)
        return self._coroutine().throw(typ, val, tb)

    def close(self) -> None:
        if self._coro is not None:
            self._coro.close()

    def __repr__(self) -> str:
        state = f"done: {self._result!r}" if self._done else "pending"
        return f"<AsyncCall {state}>"


@functools.lru_cache(maxsize=512)
def _awaiting_calls(code: CodeType) -> frozenset[int]:
    """Offsets covered by call instructions whose result is awaited at once."""
    instructions = list(dis.get_instructions(code))
    offsets: set[int] = set()
    for this, after in itertools.pairwise(instructions):
        if this.opname.startswith("CALL") and after.opname == "GET_AWAITABLE":
            offsets.update(range(this.offset, after.offset))  # inline caches included
    return frozenset(offsets)


def awaits_result(frame: FrameType) -> bool:
    """Does ``frame`` await the value of the call it is making right now?

    ``f_lasti`` is the call (or one of its inline caches on 3.11/3.12); the instruction
    after it is GET_AWAITABLE exactly when the value goes straight into ``await``. Any
    surprise answers False: doing the work at once is always correct, only less concurrent.
    """
    try:
        return frame.f_lasti in _awaiting_calls(frame.f_code)
    except Exception:
        return False


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
    """Run the work to completion before returning, wherever we are called from."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return _private_loop.run(factory())
    if not _nesting.can_nest(loop):  # uvloop & co: block on the private loop instead
        return _private_loop.run(factory())
    return _nesting.run_nested(factory(), loop)


def _call(factory: Callable[[], Coroutine[Any, Any, T]], caller: FrameType) -> AsyncCall[T]:
    if awaits_result(caller):
        return AsyncCall(factory)
    return AsyncCall.completed(run_now(factory))


# --- publishers ---------------------------------------------------------------------------


class AsyncPublisher(PublisherBase):
    """Registers an application and publishes its notifications from async code.

    Icons may be :class:`AsyncResource` URLs: ``register()`` and ``publish()`` fetch every
    one involved (application, event and notification icons) in parallel first and raise
    :class:`GNTPResourceError` if one cannot be fetched. ``register()`` and ``publish()``
    work awaited, not awaited inside a loop, and with no loop at all (see the module doc).

    >>> p = AsyncPublisher("My App", [Event("done", "Job finished")])   # doctest: +SKIP
    >>> await p.register()                                             # doctest: +SKIP
    >>> await p.publish("done", "Training finished", "loss 0.031")      # doctest: +SKIP
    """

    def __init__(
        self, name: str, events: Sequence[Event | str] | Event | str, icon: Icon = None,
        **client_options: Any,
    ) -> None:
        super().__init__(name, events, icon, **client_options)
        self.client = AsyncGNTPClient(self.options)  # module global: tests may patch it

    def register(self) -> AsyncCall[OKResponse]:
        """Register the application and its events (``await`` it, or not: see the class)."""
        return _call(self.register_async, sys._getframe(1))

    async def register_async(self, *, deadline: float | None = None) -> OKResponse:
        """The coroutine behind ``register()``, for ``gather``/``create_task``.

        ``timeout.response`` bounds the whole call, icon fetches included.
        """
        deadline = self._deadline() if deadline is None else deadline
        request = self.register_request()
        await _fetch_icons(request, deadline)
        return await self.client.process_request(request, deadline=deadline)

    def _deadline(self) -> float:
        return asyncio.get_running_loop().time() + self.options.timeout.response

    def publish(
        self, event: Event | str, title: str, text: str = "", *, id: str | None = None,
        sticky: bool = False, priority: int = 0, icon: Icon = None,
        coalescing_id: str | None = None, callback: Callback = None,
        headers: Mapping[str, object] | None = None,
    ) -> AsyncCall[OKResponse]:
        """Send one notification; re-registers once if the server forgot the app (401/402)."""
        work = functools.partial(
            self.publish_async, event, title, text, id=id, sticky=sticky, priority=priority,
            icon=icon, coalescing_id=coalescing_id, callback=callback, headers=headers,
        )
        return _call(work, sys._getframe(1))

    async def publish_async(
        self, event: Event | str, title: str, text: str = "", *, id: str | None = None,
        sticky: bool = False, priority: int = 0, icon: Icon = None,
        coalescing_id: str | None = None, callback: Callback = None,
        headers: Mapping[str, object] | None = None,
    ) -> OKResponse:
        """The coroutine behind ``publish()``, for ``gather``/``create_task``.

        ``timeout.response`` bounds the whole call, icon fetches included.
        """
        deadline = self._deadline()
        request = self.notify_request(
            event, title, text, id=id, sticky=sticky, priority=priority, icon=icon,
            coalescing_id=coalescing_id, callback=callback, headers=headers,
        )
        await _fetch_icons(request, deadline)
        socket_cb = callback if isinstance(callback, SocketCallback) else None
        try:
            return await self.client.process_request(request, socket_cb, deadline=deadline)
        except GNTPServerError as exc:
            if not needs_registration(exc):
                raise
        await self.register_async(deadline=deadline)
        return await self.client.process_request(request, socket_cb, deadline=deadline)


class AsyncSubscriber(SubscriberBase):
    """Subscribes to a server's notifications from async code (same three calling styles)."""

    def __init__(self, name: str, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self.client = AsyncGNTPClient(self.options)

    def subscribe(self) -> AsyncCall[OKResponse]:
        """The ``-OK``'s ``subscription_ttl`` says when to subscribe again."""
        return _call(self.subscribe_async, sys._getframe(1))

    async def subscribe_async(self) -> OKResponse:
        return await self.client.process_request(self.request)
