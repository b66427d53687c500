"""One request on one connection, as a state machine with no I/O (the h11 pattern).

A transport sends :attr:`Exchange.data` in one write, then feeds every chunk it reads
to :meth:`Exchange.receive_data` (``b""`` at EOF) until :attr:`Exchange.state` is DONE.
When a socket callback was asked for, the state passes through AWAITING_CALLBACK:
the server keeps the socket open and later sends one ``-CALLBACK`` on it.
"""

from __future__ import annotations

import enum

from .encoding import encode_request
from .exceptions import GNTPProtocolError
from .parsing import DEFAULT_MAX_RESPONSE, ResponseParser
from .requests import NotifyRequest, Request
from .responses import CallbackResponse, ErrorResponse, OKResponse, Response
from .security import NO_SECURITY, Security

__all__ = ["Exchange", "State"]


class State(enum.Enum):
    AWAITING_RESPONSE = "awaiting response"
    AWAITING_CALLBACK = "awaiting callback"
    DONE = "done"


class Exchange:
    """Bytes to send for ``request`` and the responses read back."""

    def __init__(
        self, request: Request, security: Security = NO_SECURITY, *,
        max_response_size: int = DEFAULT_MAX_RESPONSE,
    ) -> None:
        self.request = request
        self.data: bytes = encode_request(request, security)
        self.expects_callback = (
            isinstance(request, NotifyRequest) and request.wants_socket_callback
        )
        self.state = State.AWAITING_RESPONSE
        self.response: OKResponse | ErrorResponse | None = None
        self.callback: CallbackResponse | None = None
        self._parser = ResponseParser(password=security.password, max_size=max_response_size)

    def receive_data(self, data: bytes) -> None:
        """Feed what was read (``b""`` means EOF); raises GNTPProtocolError on garbage."""
        if self.state is State.DONE:
            return
        self._parser.feed(data)
        while self.state is not State.DONE:
            message = self._parser.next_response()
            if message is None:
                break
            self._handle(message)
        if not data and self.state is not State.DONE:
            if self.state is State.AWAITING_RESPONSE:
                raise GNTPProtocolError("the server closed the connection without answering")
            # Some servers (growl-for-linux) close after -OK and never call back.
            self.state = State.DONE

    def _handle(self, message: Response) -> None:
        if self.state is State.AWAITING_RESPONSE:
            if isinstance(message, CallbackResponse):
                raise GNTPProtocolError("the server sent -CALLBACK before answering")
            assert isinstance(message, (OKResponse, ErrorResponse))
            self.response = message
            wait = isinstance(message, OKResponse) and self.expects_callback
            self.state = State.AWAITING_CALLBACK if wait else State.DONE
        elif isinstance(message, CallbackResponse):
            self.callback = message
            self.state = State.DONE
