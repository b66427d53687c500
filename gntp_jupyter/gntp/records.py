"""What a receiver keeps: one immutable record per request, and the rules that make them.

:func:`interpret` turns a parsed request into a record, or raises
:class:`~.parsing.RequestRejected` with the code Growl for Windows would give (303 for a
missing header, 401/402 for an unknown application or type, 404 in the macOS style for a
disabled type). It is pure: the server decides what to do with the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .headers import Headers, parse_int
from .options import DEFAULT_PORT
from .parsing import ReceivedRequest, RequestRejected
from .resources import RESOURCE_SCHEME
from .validate import PORTS, PRIORITIES

__all__ = [
    "Notification",
    "Record",
    "Registration",
    "Rejection",
    "Subscription",
    "interpret",
]


@dataclass(frozen=True)
class Registration:
    """An accepted REGISTER. ``events`` maps each type to whether it is enabled."""

    application: str
    events: dict[str, bool]
    icon: bytes | None
    event_icons: dict[str, bytes | None]
    display_names: dict[str, str]
    headers: Headers
    peer: str = ""
    received_at: float = 0.0
    icon_url: str | None = None
    event_icon_urls: dict[str, str | None] | None = None


@dataclass(frozen=True)
class Notification:
    """An accepted NOTIFY; ``icon`` holds the bytes of a binary icon, ``icon_url`` a URL."""

    application: str
    name: str
    title: str
    text: str
    icon: bytes | None
    headers: Headers
    id: str | None
    sticky: bool
    priority: int
    callback_target: str | None
    coalescing_id: str | None
    callback_context: str | None = None
    callback_context_type: str | None = None
    icon_url: str | None = None
    peer: str = ""
    received_at: float = 0.0

    @property
    def wants_socket_callback(self) -> bool:
        """A context and its type, and no URL target: the sender keeps its socket open."""
        return (
            self.callback_context is not None
            and self.callback_context_type is not None
            and not self.callback_target
        )


@dataclass(frozen=True)
class Subscription:
    """An accepted SUBSCRIBE."""

    id: str
    name: str
    port: int
    headers: Headers
    peer: str = ""
    received_at: float = 0.0


@dataclass(frozen=True)
class Rejection:
    """A request answered with ``-ERROR`` (``message_type`` is None when unreadable)."""

    code: int
    description: str
    message_type: str | None
    peer: str = ""
    received_at: float = 0.0


Record = Registration | Notification | Subscription | Rejection

#: Values a receiver sends back (in -OK and -CALLBACK) may not exceed this: an answer must
#: stay small whatever the request was.
MAX_ECHOED = 8 * 1024
_ECHOED = ("Notification-ID", "Notification-Callback-Context",
           "Notification-Callback-Context-Type")


def _flag(value: str | None) -> bool:
    # Windows and mac read True/Yes; the spec's default (header absent) is False.
    return (value or "").strip().lower() in ("true", "yes")


def _require(headers: Headers, *names: str) -> None:
    for name in names:
        if not headers.get(name, "").strip():
            raise RequestRejected(303, f"required header {name} is missing")


def _icon(request: ReceivedRequest, value: str | None) -> tuple[bytes | None, str | None]:
    """(bytes, None) for a binary resource, (None, url) for anything else."""
    if not value:
        return None, None
    if value.startswith(RESOURCE_SCHEME):
        return request.resources.get(value[len(RESOURCE_SCHEME) :]), None
    return None, value


def _priority(value: str | None) -> int:
    number = parse_int(value)
    return number if number in PRIORITIES else 0


def interpret(
    request: ReceivedRequest, registrations: Mapping[str, Registration], *,
    refuse_disabled: bool = False, peer: str = "", now: float = 0.0,
) -> Registration | Notification | Subscription:
    """The record a valid request makes; RequestRejected with the strict code otherwise.

    ``registrations`` is what the server knows (a NOTIFY needs its application and type);
    ``refuse_disabled`` answers a NOTIFY of a disabled type with 404, as Growl on macOS does.
    """
    h = request.headers
    if request.message_type == "REGISTER":
        _require(h, "Application-Name", "Notifications-Count")
        events: dict[str, bool] = {}
        icons: dict[str, bytes | None] = {}
        icon_urls: dict[str, str | None] = {}
        names: dict[str, str] = {}
        for block in request.blocks[1:]:
            _require(block, "Notification-Name")
            name = block["Notification-Name"]
            events[name] = _flag(block.get("Notification-Enabled"))
            icons[name], icon_urls[name] = _icon(request, block.get("Notification-Icon"))
            names[name] = block.get("Notification-Display-Name", name)
        icon, icon_url = _icon(request, h.get("Application-Icon"))
        return Registration(
            h["Application-Name"], events, icon, icons, names, h, peer, now,
            icon_url=icon_url, event_icon_urls=icon_urls,
        )
    if request.message_type == "NOTIFY":
        _require(h, "Application-Name", "Notification-Name", "Notification-Title")
        app, name = h["Application-Name"], h["Notification-Name"]
        registration = registrations.get(app)
        if registration is None:
            raise RequestRejected(401, f"application {app!r} is not registered")
        if name not in registration.events:
            raise RequestRejected(402, f"notification {name!r} is not registered")
        if refuse_disabled and not registration.events[name]:
            raise RequestRejected(404, f"notification {name!r} is disabled")
        for header in _ECHOED:
            if len(h.get(header, "")) > MAX_ECHOED:
                raise RequestRejected(300, f"{header} is longer than {MAX_ECHOED} characters")
        icon, icon_url = _icon(request, h.get("Notification-Icon"))
        return Notification(
            application=app, name=name, title=h["Notification-Title"],
            text=h.get("Notification-Text", ""), icon=icon, headers=h,
            id=h.get("Notification-ID"), sticky=_flag(h.get("Notification-Sticky")),
            priority=_priority(h.get("Notification-Priority")),
            callback_target=h.get("Notification-Callback-Target"),
            coalescing_id=h.get("Notification-Coalescing-ID"),
            callback_context=h.get("Notification-Callback-Context"),
            callback_context_type=h.get("Notification-Callback-Context-Type"),
            icon_url=icon_url, peer=peer, received_at=now,
        )
    _require(h, "Subscriber-ID", "Subscriber-Name")
    port = parse_int(h.get("Subscriber-Port"))
    return Subscription(
        h["Subscriber-ID"], h["Subscriber-Name"],
        port if port in PORTS else DEFAULT_PORT, h, peer, now,
    )
