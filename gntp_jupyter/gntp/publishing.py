"""What sync and async publishers share: turning their arguments into requests.

Everything except the send lives here (the httpx pattern), so ``Publisher`` and
``AsyncPublisher`` differ only in how they wait.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urlsplit

from .callbacks import SocketCallback
from .exceptions import GNTPServerError, GNTPValidationError
from .options import DEFAULT_PORT, ClientOptions, Timeout
from .requests import Event, NotifyRequest, RegisterRequest, SubscribeRequest, make_headers
from .resources import Icon
from .security import Secret

__all__ = [
    "Callback",
    "PublisherBase",
    "SubscriberBase",
    "check_callback_url",
    "needs_registration",
]

#: ``callback=`` takes a URL (opened by the server on click) or a SocketCallback.
Callback = str | SocketCallback | None


_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s]+\Z")


def check_callback_url(url: str) -> str:
    """The URL a server opens on click, or GNTPValidationError: it needs a scheme
    (``https://...``, ``file:///...``, ``vscode://...``), no spaces, and a host when it is
    http(s)."""
    if not isinstance(url, str) or not _URL.match(url):
        raise GNTPValidationError(
            f"callback must be a URL such as https://example.org/page, not {url!r}"
        )
    parts = urlsplit(url)
    if parts.scheme.lower() in ("http", "https") and not parts.netloc:
        raise GNTPValidationError(f"callback URL {url!r} has no host")
    return url


def needs_registration(exc: GNTPServerError) -> bool:
    """401/402: the server forgot the application or a type (it restarted, say)."""
    return exc.code in (401, 402)


def _events(events: Iterable[Event | str] | Event | str) -> tuple[Event, ...]:
    if isinstance(events, (str, Event)):
        events = [events]
    out = tuple(e if isinstance(e, Event) else Event(e) for e in events)
    if not out:
        raise GNTPValidationError("a publisher needs at least one Event")
    return out


class _Target:
    """Holds the ClientOptions built from the keyword arguments every client takes."""

    def __init__(
        self, *, host: str = "localhost", port: int = DEFAULT_PORT,
        password: Secret | str | None = None,
        hash_algorithm: str = "SHA256", encryption: str | None = None,
        timeout: Timeout | float | None = None, headers: Mapping[str, object] | None = None,
        options: ClientOptions | None = None,
    ) -> None:
        # ``options`` is the prebuilt form of the five keywords before it.
        self.options = options or ClientOptions.build(
            host=host, port=port, password=password, hash_algorithm=hash_algorithm,
            encryption=encryption, timeout=timeout,
        )
        self.headers = make_headers(headers)


class PublisherBase(_Target):
    """An application, its notification types and where to send them.

    ``events``: :class:`Event` values or plain names. Client options: ``host``,
    ``port``, ``password``, ``hash_algorithm``, ``encryption``, ``timeout``, and
    ``headers`` (X-, Data- or Origin- headers added to every request).
    """

    def __init__(
        self, name: str, events: Sequence[Event | str] | Event | str, icon: Icon = None,
        **client_options,
    ) -> None:
        super().__init__(**client_options)
        self.name = name
        self.events = _events(events)
        self.icon = icon
        self.register_request()  # validate now, not on first send

    def __repr__(self) -> str:
        names = ", ".join(e.name for e in self.events)
        return f"<{type(self).__name__} {self.name!r} [{names}] → {self.options.address}>"

    def register_request(self) -> RegisterRequest:
        return RegisterRequest(self.name, self.events, self.icon, headers=self.headers)

    def notify_request(
        self, event: Event | str, title: str, text: str = "", *, id: str | None = None,
        sticky: bool = False, priority: int = 0, icon: Icon = None,
        coalescing_id: str | None = None, callback: Callback = None,
        headers: Mapping[str, object] | None = None,
    ) -> NotifyRequest:
        name = event.name if isinstance(event, Event) else event
        if name not in {e.name for e in self.events}:
            raise GNTPValidationError(
                f"{name!r} is not one of this publisher's events: "
                f"{', '.join(e.name for e in self.events)}"
            )
        extra: dict = {}
        if id is not None:
            extra["notification_id"] = id
        if isinstance(callback, SocketCallback):
            extra["callback_context"] = callback.context
            extra["callback_context_type"] = callback.context_type
        elif isinstance(callback, str):
            extra["callback_target"] = check_callback_url(callback)
        elif callback is not None:
            raise GNTPValidationError("callback must be a URL or a SocketCallback")
        return NotifyRequest(
            self.name, name, title, text, sticky=sticky, priority=priority, icon=icon,
            coalescing_id=coalescing_id,
            headers=self.headers + make_headers(headers), **extra,
        )


class SubscriberBase(_Target):
    """Asks a server to forward its notifications to ``subscriber_port`` on this machine."""

    def __init__(
        self, name: str, *, id: str | None = None, subscriber_port: int | None = None,
        **client_options,
    ) -> None:
        super().__init__(**client_options)
        if not self.options.security.password:
            raise GNTPValidationError("SUBSCRIBE needs the server's password")
        extra = {"subscriber_id": id} if id else {}
        self.request = SubscribeRequest(
            name, subscriber_port=subscriber_port, headers=self.headers, **extra
        )

    @property
    def forward_password(self) -> Secret:
        """The password the server uses when it forwards: its own + our Subscriber-ID."""
        password = self.options.security.password
        assert password is not None  # checked in __init__
        return password + self.request.subscriber_id
