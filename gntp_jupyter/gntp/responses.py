"""What a server sends back: ``-OK``, ``-ERROR`` and ``-CALLBACK`` as typed values."""

from __future__ import annotations

from dataclasses import dataclass

from .exceptions import GNTPAuthError, GNTPServerError
from .headers import Headers, parse_int

__all__ = [
    "CallbackResponse",
    "ErrorResponse",
    "OKResponse",
    "Response",
    "normalize_callback_result",
]

CLICKED, CLOSED, TIMEDOUT = "CLICKED", "CLOSED", "TIMEDOUT"

_RESULT_SPELLINGS = {
    "CLICKED": CLICKED, "CLICK": CLICKED,
    "CLOSED": CLOSED, "CLOSE": CLOSED,
    "TIMEDOUT": TIMEDOUT, "TIMEOUT": TIMEDOUT, "TIMED_OUT": TIMEDOUT,
}  # fmt: skip


def normalize_callback_result(value: str) -> str | None:
    """Every spelling servers use, any case, to CLICKED / CLOSED / TIMEDOUT."""
    return _RESULT_SPELLINGS.get(value.strip().upper().replace("-", "").replace(" ", ""))


@dataclass(frozen=True)
class Response:
    """Common part: the message type and every header the server sent."""

    message_type: str
    headers: Headers

    @property
    def notification_id(self) -> str | None:
        return self.headers.get("Notification-ID")

    @property
    def data_headers(self) -> dict[str, str]:
        """``Data-*`` headers: servers echo them back, so they correlate replies."""
        return {k: v for k, v in self.headers.items() if k.lower().startswith("data-")}


@dataclass(frozen=True)
class OKResponse(Response):
    """The request was accepted."""

    @property
    def action(self) -> str | None:
        return self.headers.get("Response-Action")

    @property
    def subscription_ttl(self) -> int | None:
        ttl = parse_int(self.headers.get("Subscription-TTL"))
        return ttl if ttl is not None and ttl >= 0 else None


@dataclass(frozen=True)
class ErrorResponse(Response):
    """The request was refused; ``code`` is None when the server sent no usable code."""

    @property
    def code(self) -> int | None:
        code = parse_int(self.headers.get("Error-Code"))
        return code if code is not None and code >= 0 else None

    @property
    def description(self) -> str:
        return self.headers.get("Error-Description", "")

    def exception(self) -> GNTPServerError:
        cls = GNTPAuthError if self.code == 400 else GNTPServerError
        return cls(self.code, self.description)


@dataclass(frozen=True)
class CallbackResponse(Response):
    """The user clicked, closed, or the notification timed out."""

    @property
    def result(self) -> str | None:
        """``CLICKED``, ``CLOSED``, ``TIMEDOUT``, or None for a spelling no server uses."""
        return normalize_callback_result(self.headers.get("Notification-Callback-Result", ""))

    @property
    def context(self) -> str | None:
        return self.headers.get("Notification-Callback-Context")

    @property
    def context_type(self) -> str | None:
        return self.headers.get("Notification-Callback-Context-Type")

    @property
    def timestamp(self) -> str | None:
        return self.headers.get("Notification-Callback-Timestamp")


RESPONSE_TYPES = {"-OK": OKResponse, "-ERROR": ErrorResponse, "-CALLBACK": CallbackResponse}
