"""Every failure the client reports, as one small tree.

::

    GNTPError
    ├── GNTPValidationError      you asked for something the protocol cannot carry (ValueError)
    ├── GNTPResourceError        an icon could not be read or fetched
    ├── GNTPConnectionError      the server could not be reached (ConnectionError)
    │   └── GNTPConnectionRefused    nothing listens on host:port
    ├── GNTPTimeoutError         connect, response or callback wait ran out (TimeoutError)
    ├── GNTPProtocolError        the peer sent something that is not GNTP
    └── GNTPServerError          the server answered -ERROR (``code``, ``description``)
        └── GNTPAuthError            400: the password or its hash was refused

Messages say what happened and what to do; no message ever contains a password.
"""

from __future__ import annotations

__all__ = [
    "GNTPAuthError",
    "GNTPConnectionError",
    "GNTPConnectionRefused",
    "GNTPError",
    "GNTPProtocolError",
    "GNTPResourceError",
    "GNTPServerError",
    "GNTPTimeoutError",
    "GNTPValidationError",
]


class GNTPError(Exception):
    """Root of every error raised by :mod:`gntp_jupyter.gntp`."""


class GNTPValidationError(GNTPError, ValueError):
    """A value cannot be sent as given; nothing went on the wire."""


class GNTPResourceError(GNTPError):
    """An icon could not be read or fetched.

    ``url`` names the resource (a URL or a file path) and ``cause`` says why.
    """

    def __init__(self, url: str, cause: str) -> None:
        verb = "fetch" if "://" in url else "read"
        super().__init__(f"could not {verb} {url}: {cause}")
        self.url = url
        self.cause = cause


class GNTPConnectionError(GNTPError, ConnectionError):
    """The server could not be reached or dropped the connection."""


class GNTPConnectionRefused(GNTPConnectionError):
    """Nothing is listening on the target address."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(
            f"nothing is listening on {host}:{port} — is a GNTP server (gntp-receiver, "
            "Growl, Snarl) running there, and does it accept network notifications?"
        )
        self.host = host
        self.port = port


class GNTPTimeoutError(GNTPError, TimeoutError):
    """A connect, a response or a callback took longer than its timeout."""


class GNTPProtocolError(GNTPError):
    """The peer sent bytes that are not a GNTP/1.0 message."""


class GNTPServerError(GNTPError):
    """The server answered ``-ERROR``; ``code`` is None when it sent none."""

    def __init__(self, code: int | None, description: str) -> None:
        text = f"server error {code}" if code is not None else "server error"
        hint = _HINTS.get(code) if code is not None else _HINTS_BY_TEXT.get(description)
        msg = f"{text}: {description}" if description else text
        super().__init__(f"{msg} — {hint}" if hint else msg)
        self.code = code
        self.description = description


class GNTPAuthError(GNTPServerError):
    """The server refused the password (error 400)."""


_AUTH_HINT = "check the password (and hash/encryption settings) configured on both sides"
_HINTS = {
    400: _AUTH_HINT,
    401: "the application is not registered; register() first",
    402: "the notification type is not registered; add it to the events and register()",
    404: "the notification type is disabled in the notifier's settings",
}

# growl-for-linux answers without a code: "Invalid data" (it could not decrypt, or read,
# the request) and "Invalid request" (a hash it does not know). Both usually mean the
# security settings differ.
_HINTS_BY_TEXT = {
    "Invalid data": _AUTH_HINT + " (growl-for-linux says this when it cannot decrypt)",
    "Invalid request": _AUTH_HINT + "; growl-for-linux has no SHA512: use SHA256",
}
