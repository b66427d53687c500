"""How each real server words its answers, so a receiver can stand in for any of them.

"strict" and "windows" answer as Growl for Windows: ``Notification-ID`` and ``Data-*``
headers echoed, every error with a code. "growl-mac" ends every message with one more
CRLF and refuses disabled types (404). "growl-for-linux" echoes nothing, sends its bare
``-ERROR Invalid data`` and never calls back.

Some senders can read only one dialect: :meth:`AnswerStyle.for_sender` picks it from the
request's ``Origin-Software-Name`` where that is unambiguous (:data:`SENDER_STYLES`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .encoding import encode_response
from .headers import Headers
from .records import Notification

__all__ = ["SENDER_STYLES", "STYLES", "AnswerStyle"]

STYLES = ("strict", "windows", "growl-mac", "growl-for-linux")

#: ``Origin-Software-Name`` (lower-cased) -> the style that sender's reader needs.
#: ruby-growl reads each reply up to CRLF CRLF CRLF, the framing of Growl on macOS: with
#: any other it waits for the connection to close and loses a socket callback.
SENDER_STYLES = {"ruby-growl": "growl-mac"}
_GOL_ERROR = "Invalid data"


#: ``Data-*`` headers are echoed up to this many characters in all; the rest are not (an
#: answer stays small, and a client that never reads it cannot make it costly).
MAX_DATA_ECHO = 64 * 1024


def _data_headers(headers: Headers) -> list[tuple[str, str]]:
    echoed, size = [], 0
    for name, value in headers.items():
        if name.lower().startswith("data-"):
            size += len(name) + len(value)
            if size > MAX_DATA_ECHO:
                break
            echoed.append((name, value))
    return echoed


@dataclass(frozen=True)
class AnswerStyle:
    """The bytes of ``-OK``, ``-ERROR`` and ``-CALLBACK`` in one server's dialect."""

    name: str = "strict"

    def __post_init__(self) -> None:
        if self.name not in STYLES:
            raise ValueError(f"style must be one of {', '.join(STYLES)}, not {self.name!r}")

    @property
    def refuses_disabled(self) -> bool:
        return self.name == "growl-mac"

    @property
    def calls_back(self) -> bool:
        return self.name != "growl-for-linux"

    def for_sender(self, request_headers: Headers) -> AnswerStyle:
        """The style the request's sender reads (:data:`SENDER_STYLES`), else this one."""
        sender = request_headers.get("Origin-Software-Name", "").strip().lower()
        name = SENDER_STYLES.get(sender)
        return AnswerStyle(name) if name and name != self.name else self

    def _frame(self, message: bytes) -> bytes:
        return message + b"\r\n" if self.name == "growl-mac" else message

    def ok(
        self, message_type: str, request_headers: Headers, extra: list[tuple[str, str]]
    ) -> bytes:
        action = [("Response-Action", message_type)]
        if self.name == "growl-for-linux":
            return encode_response("-OK", action)
        if message_type == "NOTIFY":  # "even if it was an empty string" (the spec)
            extra = [("Notification-ID", request_headers.get("Notification-ID", "")), *extra]
        return self._frame(
            encode_response("-OK", [*action, *extra, *_data_headers(request_headers)])
        )

    def error(self, code: int, description: str, message_type: str | None) -> bytes:
        if self.name == "growl-for-linux":
            data = encode_response("-ERROR", [("Error-Description", _GOL_ERROR)])
            return data.replace(b" NONE\r\n", f" {_GOL_ERROR}\r\n".encode(), 1)
        headers = [("Response-Action", message_type)] if message_type else []
        headers += [("Error-Code", str(code)), ("Error-Description", description)]
        return self._frame(encode_response("-ERROR", headers))

    def callback(self, notification: Notification, result: str) -> bytes:
        stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
        headers = [
            ("Application-Name", notification.application),
            ("Notification-ID", notification.id or ""),
            ("Notification-Callback-Result", result),
            ("Notification-Callback-Timestamp", stamp),
            ("Notification-Callback-Context", notification.callback_context or ""),
            ("Notification-Callback-Context-Type", notification.callback_context_type or ""),
            *_data_headers(notification.headers),
        ]
        return self._frame(encode_response("-CALLBACK", headers))
