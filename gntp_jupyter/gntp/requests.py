"""The three GNTP requests as immutable values that validate on construction.

A request knows its header blocks (``blocks()``); turning them into bytes, with
hashing and encryption, is :mod:`.encoding`'s job. Keeping the two apart lets the
same values serve the sync client, the async client and the tests' golden bytes.
"""

from __future__ import annotations

import platform
import random
import re
import socket
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .exceptions import GNTPValidationError
from .headers import CUSTOM_PREFIXES
from .resources import Icon, Resource
from .validate import check_port, check_priority

__all__ = [
    "Event",
    "HeaderValue",
    "NotifyRequest",
    "RegisterRequest",
    "Request",
    "SubscribeRequest",
    "origin_headers",
]

#: A header value before encoding: text, a number, a flag, or a binary resource.
HeaderValue = str | int | bool | Resource
Block = list[tuple[str, HeaderValue]]

_HEADER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*\Z")


def _require_text(what: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise GNTPValidationError(f"{what} must be a non-empty string, got {value!r}")
    return value


def _check_icon(what: str, icon: object) -> None:
    if icon is not None and not isinstance(icon, (str, Resource)):
        raise GNTPValidationError(
            f"{what} must be a URL, a Resource or None, not {type(icon).__name__}"
        )


#: uuid4's fixed bits: version 4 in bits 76-79, the RFC 4122 variant in bits 62-63.
_UUID4_CLEAR = ~((0xF << 76) | (0x3 << 62)) & ((1 << 128) - 1)
_UUID4_SET = (0x4 << 76) | (0x2 << 62)


def new_notification_id() -> str:
    """A random version-4 UUID in hex, as ``uuid.uuid4().hex`` spells one.

    Drawn from :mod:`random` (reseeded in a forked child) rather than ``os.urandom``:
    a notification id must be unique, not secret, and uuid4's system call and UUID
    object cost more than the rest of building the request.
    """
    return "%032x" % (random.getrandbits(128) & _UUID4_CLEAR | _UUID4_SET)


def _custom_headers(headers: Mapping[str, object] | None) -> tuple[tuple[str, str], ...]:
    """Validate user headers: only X-, Data- and Origin- names, no framing characters."""
    out = []
    for name, value in (headers or {}).items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise GNTPValidationError(f"invalid header name {name!r}")
        if not name.lower().startswith(CUSTOM_PREFIXES):
            raise GNTPValidationError(
                f"custom header {name!r} must start with X-, Data- or Origin-"
            )
        out.append((name, value if isinstance(value, str) else str(value)))
    return tuple(out)


@dataclass(frozen=True)
class Event:
    """A notification type an application registers: ``Event('done', 'Cell finished')``."""

    name: str
    display_name: str | None = None
    enabled: bool = True
    icon: Icon = None

    def __post_init__(self) -> None:
        _require_text("Event name", self.name)
        _check_icon("Event icon", self.icon)

    def block(self) -> Block:
        block: Block = [("Notification-Name", self.name)]
        if self.display_name:
            block.append(("Notification-Display-Name", self.display_name))
        # The spec's default is False: always say it, or servers register it disabled.
        block.append(("Notification-Enabled", bool(self.enabled)))
        if self.icon is not None:
            block.append(("Notification-Icon", self.icon))
        return block


@dataclass(frozen=True)
class _Request:
    headers: tuple[tuple[str, str], ...] = field(default=(), kw_only=True)

    message_type = ""

    def __post_init__(self) -> None:
        headers = self.headers
        if headers or type(headers) is not tuple:  # () is already normal, and common
            object.__setattr__(self, "headers", make_headers(headers))

    def blocks(self) -> list[Block]:
        """Header blocks in wire order; the first is the main block."""
        raise NotImplementedError

    def _with_custom(self, block: Block) -> Block:
        if self.headers:
            block.extend(self.headers)
        return block


@dataclass(frozen=True)
class RegisterRequest(_Request):
    """REGISTER: an application and the notification types it may send."""

    application_name: str
    events: tuple[Event, ...]
    icon: Icon = None

    message_type = "REGISTER"

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_text("application name", self.application_name)
        _check_icon("application icon", self.icon)
        if not self.events:
            raise GNTPValidationError("register at least one Event")
        names = [e.name for e in self.events]
        if len(set(names)) != len(names):
            raise GNTPValidationError(f"event names repeat: {names}")

    def blocks(self) -> list[Block]:
        main: Block = [("Application-Name", self.application_name)]
        if self.icon is not None:
            main.append(("Application-Icon", self.icon))
        main.append(("Notifications-Count", len(self.events)))
        return [self._with_custom(main), *(e.block() for e in self.events)]


@dataclass(frozen=True, init=False)
class NotifyRequest(_Request):
    """NOTIFY: one notification of a registered type.

    ``callback_context`` (with its type) asks for a socket callback;
    ``callback_target`` is a URL the server opens on click instead.
    ``notification_id`` (echoed back by servers) is a fresh random one when not given.
    """

    application_name: str
    event_name: str
    title: str
    text: str = ""
    notification_id: str = field(default_factory=new_notification_id)
    sticky: bool = False
    priority: int = 0
    icon: Icon = None
    coalescing_id: str | None = None
    callback_context: str | None = None
    callback_context_type: str | None = None
    callback_target: str | None = None

    message_type = "NOTIFY"

    def __init__(
        self, application_name: str, event_name: str, title: str, text: str = "",
        notification_id: str | None = None, sticky: bool = False, priority: int = 0,
        icon: Icon = None, coalescing_id: str | None = None,
        callback_context: str | None = None, callback_context_type: str | None = None,
        callback_target: str | None = None, *,
        headers: Iterable[tuple[str, str]] | Mapping[str, object] = (),
    ) -> None:
        # Written out, with the generated one's parameters (dataclasses.replace passes
        # every field): a frozen dataclass sets each field through object.__setattr__,
        # which was a third of the cost of building the request every publish builds.
        self.__dict__.update(
            headers=headers, application_name=application_name, event_name=event_name,
            title=title, text=text,
            notification_id=new_notification_id() if notification_id is None
            else notification_id,
            sticky=sticky, priority=priority, icon=icon, coalescing_id=coalescing_id,
            callback_context=callback_context, callback_context_type=callback_context_type,
            callback_target=callback_target,
        )
        self.__post_init__()

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_text("application name", self.application_name)
        _require_text("event name", self.event_name)
        _require_text("title", self.title)
        if not isinstance(self.text, str):
            raise GNTPValidationError(f"text must be a string, got {type(self.text).__name__}")
        _check_icon("icon", self.icon)
        check_priority(self.priority)
        if self.callback_target is not None and self.callback_context is not None:
            raise GNTPValidationError("use a socket callback or a callback URL, not both")
        if (self.callback_context is None) != (self.callback_context_type is None):
            raise GNTPValidationError("callback context and context type go together")

    def blocks(self) -> list[Block]:
        b: Block = [
            ("Application-Name", self.application_name),
            ("Notification-Name", self.event_name),
            ("Notification-ID", self.notification_id),
            ("Notification-Title", self.title),
            # Always present, even empty: growl-for-linux rejects a NOTIFY without it.
            ("Notification-Text", self.text),
        ]
        # The spec's defaults (not sticky, priority 0) go unsaid: every server parses
        # each header, and a server's own per-type settings then apply.
        if self.sticky:
            b.append(("Notification-Sticky", True))
        if self.priority:
            b.append(("Notification-Priority", self.priority))
        if self.icon is not None:
            b.append(("Notification-Icon", self.icon))
        if self.coalescing_id:
            b.append(("Notification-Coalescing-ID", self.coalescing_id))
        if self.callback_context is not None and self.callback_context_type is not None:
            b.append(("Notification-Callback-Context", self.callback_context))
            b.append(("Notification-Callback-Context-Type", self.callback_context_type))
        if self.callback_target:
            b.append(("Notification-Callback-Target", self.callback_target))
        return [self._with_custom(b)]

    @property
    def wants_socket_callback(self) -> bool:
        return self.callback_context is not None


@dataclass(frozen=True)
class SubscribeRequest(_Request):
    """SUBSCRIBE: ask a server to forward its notifications to us (needs a password)."""

    subscriber_name: str
    subscriber_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    subscriber_port: int | None = None

    message_type = "SUBSCRIBE"

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_text("subscriber name", self.subscriber_name)
        _require_text("subscriber id", self.subscriber_id)
        if self.subscriber_port is not None:
            check_port(self.subscriber_port, name="subscriber port")

    def blocks(self) -> list[Block]:
        b: Block = [
            ("Subscriber-ID", self.subscriber_id),
            ("Subscriber-Name", self.subscriber_name),
        ]
        if self.subscriber_port is not None:
            b.append(("Subscriber-Port", self.subscriber_port))
        return [self._with_custom(b)]


Request = RegisterRequest | NotifyRequest | SubscribeRequest


def make_headers(
    headers: Mapping[str, object] | Iterable[tuple[str, object]] | None,
) -> tuple[tuple[str, str], ...]:
    """Normalise user-supplied custom headers into the tuple requests store."""
    if not headers:
        return ()
    return _custom_headers(dict(headers))


def origin_headers(software: str = "gntp_jupyter", version: str = "") -> dict[str, str]:
    """``Origin-*`` headers naming this machine: tells the user where a remote job ran."""
    headers = {
        "Origin-Machine-Name": socket.gethostname(),
        "Origin-Software-Name": software,
        "Origin-Platform-Name": platform.system() or "unknown",
        "Origin-Platform-Version": platform.release() or "unknown",
    }
    if version:
        headers["Origin-Software-Version"] = version
    return headers
