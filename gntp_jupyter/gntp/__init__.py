"""An embedded GNTP/1.0 client (and receiver): register, notify, subscribe.

Layers, bottom up — read them in this order:

- :mod:`.requests`, :mod:`.responses`, :mod:`.resources`: immutable values.
- :mod:`.security`: key hashing and encryption. :mod:`.headers`: one header line.
- :mod:`.encoding` / :mod:`.parsing`: values to bytes and back, no I/O.
- :mod:`.exchange`: one request/response(/callback) conversation, no I/O.
- :mod:`.client` (blocking sockets) and :mod:`.async_gntp` (sockets on the asyncio loop):
  thin transports around an Exchange, plus Publisher / Subscriber; what they share
  (read loop, error mapping) is :mod:`._transport`, the 401/402 retry :mod:`.publishing`.
- :mod:`.receiver`: a GNTP server of our own, for tests and for checking reachability.

Errors are one tree rooted at :class:`GNTPError` (see :mod:`.exceptions`).
"""

from .callbacks import SocketCallback
from .client import GNTPClient, Publisher, Subscriber
from .exceptions import (
    GNTPAuthError,
    GNTPConnectionError,
    GNTPConnectionRefused,
    GNTPError,
    GNTPProtocolError,
    GNTPResourceError,
    GNTPServerError,
    GNTPTimeoutError,
    GNTPValidationError,
)
from .options import ClientOptions, Timeout
from .requests import Event, NotifyRequest, RegisterRequest, SubscribeRequest
from .resources import Resource
from .responses import CallbackResponse, ErrorResponse, OKResponse, Response
from .security import Secret, Security

__all__ = [
    "CallbackResponse",
    "ClientOptions",
    "ErrorResponse",
    "Event",
    "GNTPAuthError",
    "GNTPClient",
    "GNTPConnectionError",
    "GNTPConnectionRefused",
    "GNTPError",
    "GNTPProtocolError",
    "GNTPResourceError",
    "GNTPServerError",
    "GNTPTimeoutError",
    "GNTPValidationError",
    "NotifyRequest",
    "OKResponse",
    "Publisher",
    "RegisterRequest",
    "Resource",
    "Response",
    "Secret",
    "Security",
    "SocketCallback",
    "SubscribeRequest",
    "Subscriber",
    "Timeout",
]
