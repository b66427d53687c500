"""One request on one connection, as a state machine with no I/O (the h11 pattern).

A transport sends :attr:`Exchange.data` in one write, then feeds every chunk it reads
to :meth:`Exchange.receive_data` (``b""`` at EOF) until :attr:`Exchange.state` is DONE.
When a socket callback was asked for, the state passes through AWAITING_CALLBACK:
the server keeps the socket open and later sends one ``-CALLBACK`` on it.

``receive_data`` does as little as it can: it only frames what arrives (where a message
ends, which type it is), and when one read holds a whole answer to a request that waits
for no callback (nearly every send) not even that: the state is DONE at once.
:attr:`Exchange.response` and :attr:`Exchange.callback` do the rest when first asked, and
raise GNTPProtocolError there for an answer that is not one. So a transport closes its
socket the moment the answer is in, before any parsing: measured on loopback, a close
delayed by the parse costs the client more in the kernel than the parse itself.
"""

from __future__ import annotations

import enum

from .encoding import encode_request
from .exceptions import GNTPProtocolError
from .parsing import (
    DEFAULT_MAX_RESPONSE,
    PLAIN_OK_LINE,
    ResponseMessage,
    ResponseParser,
    frame_response,
    read_plain_ok,
    read_response,
)
from .requests import NotifyRequest, Request
from .responses import CallbackResponse, ErrorResponse, OKResponse
from .security import NO_SECURITY, Security

__all__ = ["Exchange", "State"]


class State(enum.Enum):
    AWAITING_RESPONSE = "awaiting response"
    AWAITING_CALLBACK = "awaiting callback"
    DONE = "done"


class Exchange:
    """Bytes to send for ``request`` and the responses read back."""

    __slots__ = (
        "_answer",
        "_callback",
        "_called_back",
        "_parser",
        "_password",
        "_response",
        "_unframed",
        "data",
        "expects_callback",
        "max_response_size",
        "request",
        "state",
    )

    def __init__(
        self, request: Request | bytes, security: Security = NO_SECURITY, *,
        max_response_size: int = DEFAULT_MAX_RESPONSE,
    ) -> None:
        """``request``: a Request, or a NOTIFY already encoded (bytes from a
        :class:`.PlainNotify`, which waits for no callback)."""
        self.request = request
        self.data: bytes = (
            request if type(request) is bytes else encode_request(request, security)
        )
        self.expects_callback = (
            isinstance(request, NotifyRequest) and request.wants_socket_callback
        )
        self.state = State.AWAITING_RESPONSE
        self.max_response_size = max_response_size
        self._unframed: bytes | None = None  # a whole answer, read in one go, not framed
        self._answer: ResponseMessage | None = None  # the -OK or -ERROR, framed
        self._called_back: ResponseMessage | None = None  # the -CALLBACK, framed
        self._response: OKResponse | ErrorResponse | None = None
        self._callback: CallbackResponse | None = None
        self._password = security.password
        self._parser: ResponseParser | None = None  # made when something needs framing

    @property
    def response(self) -> OKResponse | ErrorResponse | None:
        """The server's answer, once the state has left AWAITING_RESPONSE; reading it
        may raise GNTPProtocolError (garbage, or an encrypted answer that does not decrypt)."""
        if self._unframed is not None:
            data, self._unframed = self._unframed, None
            end = data.find(b"\r\n\r\n")
            if data.startswith(PLAIN_OK_LINE):  # nearly every answer: nothing to frame
                self._response = read_plain_ok(data[len(PLAIN_OK_LINE) : end])
                return self._response
            self._answered(frame_response(data[:end]))
        if self._response is None and self._answer is not None:
            response = read_response(self._answer, self._password)
            assert isinstance(response, (OKResponse, ErrorResponse))
            self._response = response
        return self._response

    @property
    def callback(self) -> CallbackResponse | None:
        """The ``-CALLBACK``, if one came."""
        if self._callback is None and self._called_back is not None:
            callback = read_response(self._called_back, self._password)
            assert isinstance(callback, CallbackResponse)
            self._callback = callback
        return self._callback

    def receive_data(self, data: bytes) -> None:
        """Feed what was read (``b""`` means EOF); raises GNTPProtocolError on garbage."""
        if self.state is State.DONE:
            return
        if (
            not self.expects_callback and self._answer is None and self._unframed is None
            and data.startswith(b"GNTP/") and data.endswith(b"\r\n\r\n")
            and len(data) <= self.max_response_size and self._parser is None
        ):  # the whole answer in one read: framed when it is asked for
            self._unframed = data
            self.state = State.DONE
            return
        parser = self._reader()
        parser.feed(data)
        while self.state is not State.DONE:
            message = parser.next_message()
            if message is None:
                break
            self._handle(message)
        if not data and self.state is not State.DONE:
            if self.state is State.AWAITING_RESPONSE:
                raise GNTPProtocolError("the server closed the connection without answering")
            # Some servers (growl-for-linux) close after -OK and never call back.
            self.state = State.DONE

    def _reader(self) -> ResponseParser:
        if self._parser is None:
            self._parser = ResponseParser(
                password=self._password, max_size=self.max_response_size
            )
        return self._parser

    def _answered(self, message: ResponseMessage) -> None:
        if message.message_type == "-CALLBACK":
            raise GNTPProtocolError("the server sent -CALLBACK before answering")
        self._answer = message

    def _handle(self, message: ResponseMessage) -> None:
        kind = message.message_type
        if self.state is State.AWAITING_RESPONSE:
            self._answered(message)
            wait = kind == "-OK" and self.expects_callback
            self.state = State.AWAITING_CALLBACK if wait else State.DONE
        elif kind == "-CALLBACK":
            self._called_back = message
            self.state = State.DONE
