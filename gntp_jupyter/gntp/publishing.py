"""What sync and async publishers share: their options, their requests, their retry.

Everything except the send lives here (the httpx pattern), so ``Publisher`` and
``AsyncPublisher`` differ only in how they wait: :func:`connection_options` turns the
connection keywords every client spells out into one :class:`ClientOptions`, and
:meth:`PublisherBase.retry_steps` is the 401/402 re-register-and-retry, as steps each
transport drives (:mod:`._transport`).
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterable, Mapping, Sequence
from urllib.parse import urlsplit

from .callbacks import SocketCallback
from .encoding import PlainNotify
from .exceptions import GNTPServerError, GNTPValidationError
from .options import ClientOptions, Timeout
from .requests import (
    Event,
    NotifyRequest,
    RegisterRequest,
    Request,
    SubscribeRequest,
    make_headers,
    new_notification_id,
)
from .resources import Icon
from .responses import OKResponse
from .security import Secret

__all__ = [
    "CONNECTION_KEYWORDS",
    "Callback",
    "PublisherBase",
    "SubscriberBase",
    "check_callback_url",
    "connection_options",
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
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # "http://[x"
        raise GNTPValidationError(f"callback URL {url!r} is not valid: {exc}") from None
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


#: The keywords that say where and how to send, in the order every signature lists them.
CONNECTION_KEYWORDS = ("host", "port", "password", "hash_algorithm", "encryption", "timeout")


def connection_options(
    owner: str, options: ClientOptions | None, *, host: str | None, port: int | None,
    password: Secret | str | None, hash_algorithm: str | None, encryption: str | None,
    timeout: Timeout | float | None,
) -> ClientOptions:
    """The ClientOptions a client of class ``owner`` was given: ``options`` itself, or
    built from the connection keywords (None means the default: ``localhost``, port
    23053, no password, SHA256, no encryption, ``Timeout()``).

    Both at once is a TypeError: the keywords would be silently ignored.
    """
    values = (host, port, password, hash_algorithm, encryption, timeout)
    given = {
        name: value
        for name, value in zip(CONNECTION_KEYWORDS, values, strict=True)
        if value is not None
    }
    if options is None:
        return ClientOptions.build(**given)
    if not isinstance(options, ClientOptions):
        raise TypeError(
            f"{owner}(): options must be a ClientOptions, not {type(options).__name__}"
        )
    if given:
        names = ", ".join(f"{name}=" for name in given)
        build = ", ".join(f"{name}=..." for name in given)
        raise TypeError(
            f"{owner}() takes options= or the connection keywords "
            f"({', '.join(CONNECTION_KEYWORDS)}), not both: got options= and {names}. "
            f"Build the options with them (ClientOptions.build({build}, ...)), or leave "
            "options= out."
        )
    return options


class PublisherBase:
    """An application, its notification types and where to send them.

    The transports' classes (:class:`.Publisher`, :class:`.AsyncPublisher`) spell out
    the keywords and hand this their ClientOptions.
    """

    def __init__(
        self, name: str, events: Sequence[Event | str] | Event | str, icon: Icon = None, *,
        options: ClientOptions, headers: Mapping[str, object] | None = None,
    ) -> None:
        self.options = options
        self.headers = make_headers(headers)
        self.name = name
        self.events = events  # type: ignore[assignment]  # the setter normalises
        self.icon = icon
        self.register_request()  # validate now, not on first send

    @property
    def events(self) -> tuple[Event, ...]:
        """The notification types (set it to Events or names; register again after)."""
        return self._events

    @events.setter
    def events(self, events: Sequence[Event | str] | Event | str) -> None:
        self._events = _events(events)
        self._event_names = frozenset(e.name for e in self._events)
        self._plain: dict[str, PlainNotify] = {}

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
        if name not in self._event_names:
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

    def notification(
        self, event: Event | str, title: str, text: str = "", *, id: str | None = None,
        sticky: bool = False, priority: int = 0, icon: Icon = None,
        coalescing_id: str | None = None, callback: Callback = None,
        headers: Mapping[str, object] | None = None,
    ) -> NotifyRequest | bytes:
        """What ``publish()`` sends: a plain title and text without a key hash (most
        notifications) comes encoded from the event's :class:`.PlainNotify`; anything
        else is the :meth:`notify_request`."""
        if (
            id is None and not sticky and priority == 0 and type(priority) is int
            and icon is None and coalescing_id is None and callback is None
            and not headers and not self.options.security.hashed
        ):
            name = event.name if isinstance(event, Event) else event
            plain = self._plain.get(name)
            if plain is None or plain.application_name is not self.name \
                    or plain.headers is not self.headers:
                plain = self._plain_notify(name)
            if plain is not None:
                data = plain.encode(new_notification_id(), title, text)
                if data is not None:
                    return data
        return self.notify_request(
            event, title, text, id=id, sticky=sticky, priority=priority, icon=icon,
            coalescing_id=coalescing_id, callback=callback, headers=headers,
        )

    def _plain_notify(self, name: object) -> PlainNotify | None:
        if name not in self._event_names:
            return None  # notify_request says why
        assert isinstance(name, str)
        plain = self._plain[name] = PlainNotify(self.name, name, self.headers)
        return plain

    def retry_steps(
        self, request: NotifyRequest | bytes, failed: GNTPServerError
    ) -> Generator[Request | bytes, OKResponse, OKResponse]:
        """The 401/402 rule, written once for both transports, for a ``request`` whose
        send ``failed``: if the server forgot the application or a type (it restarted,
        say), register and send it once more; else raise ``failed``. Yields each request
        to send; the transport sends back its ``-OK`` or throws in its GNTPError (see
        :mod:`._transport`). Only a failed send gets here: the first one costs no steps."""
        if not needs_registration(failed):
            raise failed
        yield self.register_request()
        return (yield request)


class SubscriberBase:
    """Asks a server to forward its notifications to ``subscriber_port`` on this machine."""

    def __init__(
        self, name: str, *, id: str | None = None, subscriber_port: int | None = None,
        options: ClientOptions, headers: Mapping[str, object] | None = None,
    ) -> None:
        self.options = options
        self.headers = make_headers(headers)
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
