"""What the blocking and the asyncio transports share, written once.

A transport (:mod:`.client`, :mod:`.async_gntp`) is thin I/O: it connects, writes, reads a
chunk, closes. The rest lives here:

- **error mapping** — :func:`raise_connect_error` and :func:`raise_exchange_error` turn
  ``OSError``\\ s and time-outs into the :mod:`.exceptions` tree at the transport
  boundary, with the same messages for both transports;
- **the read loop** — :func:`read_steps` feeds an :class:`.Exchange` what is read until it
  leaves a state (the blocking client writes its two lines inline: see :mod:`.client`);
- **the 401/402 re-register-and-retry** — :meth:`.PublisherBase.retry_steps`.

Logic that waits for I/O is written as *steps*: a generator that yields what it needs next
(a chunk read, a request sent) and is sent the result, or thrown the error. :func:`drive`
runs steps with a blocking ``perform``, :func:`drive_async` with a coroutine function;
those two drivers are the only code written twice.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Awaitable, Callable, Generator
from typing import NoReturn, TypeVar

from .exceptions import (
    GNTPConnectionError,
    GNTPConnectionRefused,
    GNTPError,
    GNTPTimeoutError,
)
from .exchange import Exchange, State
from .options import ClientOptions, format_seconds
from .responses import ErrorResponse, OKResponse

__all__ = [
    "drive",
    "drive_async",
    "raise_connect_error",
    "raise_exchange_error",
    "raise_for_response",
    "read_steps",
]

N = TypeVar("N")  # what a step needs
R = TypeVar("R")  # what performing it gives back
T = TypeVar("T")  # what the steps return

def drive(steps: Generator[N, R, T], perform: Callable[[N], R]) -> T:
    """Run ``steps`` to the end, performing each need with a blocking call."""
    try:
        need = next(steps)
        while True:
            try:
                result = perform(need)
            except Exception as exc:  # the steps decide; what they do not handle goes on
                need = steps.throw(exc)
            else:
                need = steps.send(result)
    except StopIteration as stop:
        return stop.value


async def drive_async(steps: Generator[N, R, T], perform: Callable[[N], Awaitable[R]]) -> T:
    """:func:`drive` for a transport whose ``perform`` is a coroutine function."""
    try:
        need = next(steps)
        while True:
            try:
                result = await perform(need)
            except Exception as exc:
                need = steps.throw(exc)
            else:
                need = steps.send(result)
    except StopIteration as stop:
        return stop.value


def read_steps(exchange: Exchange, state: State) -> Generator[None, bytes, None]:
    """The read loop without the reading: needs one chunk at a time (``b""`` at EOF) for
    as long as ``exchange`` is in ``state``."""
    while exchange.state is state:
        exchange.receive_data((yield None))


def raise_for_response(exchange: Exchange) -> OKResponse:
    """The ``-OK`` of a finished exchange, or its ``-ERROR`` as an exception."""
    response = exchange.response
    if isinstance(response, ErrorResponse):
        raise response.exception()
    assert isinstance(response, OKResponse)
    return response


def _is_timeout(exc: BaseException) -> bool:
    if isinstance(exc, TimeoutError):
        return True
    # Before 3.11 asyncio's TimeoutError is a class of its own; asyncio is imported by
    # then whenever one can be raised, and the blocking client never imports it.
    asyncio = sys.modules.get("asyncio")
    return asyncio is not None and isinstance(exc, asyncio.TimeoutError)


def raise_connect_error(options: ClientOptions, caught: Exception) -> NoReturn:
    """Raise the GNTPError that says what to do about a failed TCP connect. Call it in
    the ``except`` block that caught ``caught`` (a plain call, not a context manager:
    this runs on every send's path)."""
    if isinstance(caught, GNTPError):
        raise caught
    if isinstance(caught, ConnectionRefusedError):
        raise GNTPConnectionRefused(options.host, options.port) from None
    if _is_timeout(caught):
        raise GNTPTimeoutError(
            f"could not connect to {options.address} within "
            f"{format_seconds(options.timeout.connect_limit)} — "
            "is the host up and the port open in its firewall?"
        ) from None
    if isinstance(caught, socket.gaierror):
        raise GNTPConnectionError(f"cannot resolve {options.host!r}: {caught.strerror}") from None
    if isinstance(caught, UnicodeError):  # a name the IDNA codec refuses (a label too long)
        raise GNTPConnectionError(f"cannot resolve {options.host!r}: {caught}") from None
    if isinstance(caught, OSError):
        raise GNTPConnectionError(f"cannot connect to {options.address}: {caught}") from caught
    raise caught


def raise_exchange_error(options: ClientOptions, caught: Exception) -> NoReturn:
    """Raise what writing the request or reading its answer failed with, mapped: a
    time-out means the server accepted but did not answer in time; an OSError, that the
    connection broke. Call it in the ``except`` block that caught ``caught``."""
    if isinstance(caught, GNTPError):
        raise caught
    if _is_timeout(caught):
        raise response_timeout_error(options) from None
    if isinstance(caught, OSError):
        raise GNTPConnectionError(
            f"connection to {options.address} failed: {caught}"
        ) from caught
    raise caught


def response_timeout_error(options: ClientOptions) -> GNTPTimeoutError:
    """The server accepted the connection but did not answer in time."""
    return GNTPTimeoutError(
        f"{options.address} accepted the connection but sent no answer within "
        f"{format_seconds(options.timeout.response)} — is it a GNTP server?"
    )
