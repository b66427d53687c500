"""Accepted GNTP notifications as native desktop notifications, through desktop-notifier.

What is shown: the title, the text and the application name; the icon is the
notification's own, else its type's, else its application's, as registered. Priority
maps to urgency (-2, -1 low; 0, 1 normal; 2 critical); sticky never expires; a type
registered as disabled is not shown. A coalescing id replaces the earlier notification
of the same application with that id (closed, then the new one shown: one bubble).

What comes back, for a sender waiting on a socket callback: a click is CLICKED (and a
URL callback target, http/https only, opens in the browser); a dismissal is CLOSED; an
expiry is TIMEDOUT. desktop-notifier reports no expiry, so on Linux this module hears the
``NotificationClosed`` signal (reason 1) itself, on desktop-notifier's own dbus-fast
connection. A notification that is replaced, or forgotten because too many are open, is
answered CLOSED.
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
import logging
import os
import platform
import webbrowser
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from ..gntp.headers import Headers
from ..gntp.receiver import Delivery
from ..gntp.records import Notification, Registration
from ..gntp.responses import CLICKED, CLOSED, TIMEDOUT
from .icons import IconStore
from .text import for_desktop

__all__ = ["DesktopDisplay", "DesktopUnavailable", "urgency_for"]

log = logging.getLogger(__name__)

_BUS_NAME = "org.freedesktop.Notifications"
_OBJECT_PATH = "/org/freedesktop/Notifications"
_EXPIRED = 1  # NotificationClosed reason: the notification expired
_PROBE_TIMEOUT = 5.0


class DesktopUnavailable(Exception):
    """No desktop notification service here; the message says why, in one line."""


def urgency_for(priority: int) -> str:
    """GNTP priority (-2..2) to a desktop urgency name: Low, Normal or Critical."""
    if priority < 0:
        return "Low"
    return "Critical" if priority >= 2 else "Normal"


def _is_web_url(url: str | None) -> bool:
    try:
        return bool(url) and urlsplit(url).scheme in ("http", "https")  # type: ignore[arg-type]
    except ValueError:  # "http://[" and the like: not a URL anyone can open
        return False


class _Shown:
    """A notification on screen: what to settle when the user acts."""

    __slots__ = ("delivery", "identifier", "platform_id")

    def __init__(self, delivery: Delivery, identifier: str, platform_id: int | None) -> None:
        self.delivery = delivery
        self.identifier = identifier
        self.platform_id = platform_id


class DesktopDisplay:
    """A receiver :class:`~gntp_jupyter.gntp.receiver.Display` for the desktop.

    Create it with :meth:`open`, which fails with :class:`DesktopUnavailable` where no
    notification service answers. ``icons`` stores icon files; ``open_url`` opens a
    clicked notification's URL target (default: the user's browser); ``max_open`` bounds
    how many notifications are tracked for callbacks (the oldest is answered CLOSED).
    """

    def __init__(
        self, notifier: object, *, icons: IconStore,
        open_url: Callable[[str], object] | None = None, max_open: int = 256,
        markup: bool = False,
    ) -> None:
        self._notifier = notifier
        self.icons = icons
        self.open_url = open_url or webbrowser.open
        self.max_open = max_open
        self.markup = markup  # the service reads the body as markup: escape <, >, &
        self._shown: OrderedDict[str, _Shown] = OrderedDict()  # by desktop-notifier id
        self._by_platform_id: dict[int, _Shown] = {}
        self._coalesced: dict[tuple[str, str], _Shown] = {}
        self._lock = asyncio.Lock()

    @classmethod
    async def open(
        cls, *, icons: IconStore, open_url: Callable[[str], object] | None = None,
        max_open: int = 256,
    ) -> DesktopDisplay:
        """Connect to the desktop's notification service; DesktopUnavailable if there is none."""
        try:
            from desktop_notifier import DesktopNotifier
            from desktop_notifier.main import get_backend_class
        except ImportError:
            raise DesktopUnavailable(
                'desktop-notifier is not installed: pip install "gntp_jupyter[desktop]"'
            ) from None
        backend = get_backend_class()
        if backend.__name__ == "DummyNotificationCenter":
            raise DesktopUnavailable(
                "this platform offers no notification service to this Python (on macOS, "
                "notifications need a Python that runs from a signed app bundle)"
            )
        if platform.system() == "Linux" and not os.environ.get("DBUS_SESSION_BUS_ADDRESS") \
                and not os.path.exists(f"/run/user/{os.getuid()}/bus"):
            raise DesktopUnavailable("there is no D-Bus session bus (no desktop session here)")
        notifier = DesktopNotifier(app_name="gntp-receiver", app_icon=None)
        try:
            await asyncio.wait_for(notifier.get_capabilities(), _PROBE_TIMEOUT)
        except OSError as exc:
            raise DesktopUnavailable(
                f"cannot reach the D-Bus session bus ({exc.strerror or exc})"
            ) from None
        except Exception as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DesktopUnavailable(f"no notification service answers ({reason})") from None
        display = cls(notifier, icons=icons, open_url=open_url, max_open=max_open)
        if platform.system() == "Linux":
            await display._watch_freedesktop()
        return display

    def __repr__(self) -> str:
        return f"<DesktopDisplay {len(self._shown)} open, icons in {self.icons.folder}>"

    # -- showing -----------------------------------------------------------------------

    async def show(self, delivery: Delivery) -> None:
        n, registration = delivery.notification, delivery.registration
        if not registration.events.get(n.name, False):
            delivery.settle(CLOSED)  # a disabled type is not shown, so never clicked
            return
        icon = await self._icon_path(n, registration)
        # One notifier, one D-Bus connection: the application name is set per send, so
        # sends take turns.
        async with self._lock:
            previous = self._coalesced.pop((n.application, n.coalescing_id or ""), None)
            if n.coalescing_id and previous is not None:
                await self._replace(previous)
            shown = await self._send(delivery, icon)
        # Kept until the user acts (sticky: maybe for hours): only what a -CALLBACK needs.
        delivery.notification = dataclasses.replace(
            n, icon=None, headers=Headers(
                (k, v) for k, v in n.headers.items() if k.lower().startswith("data-")
            ),
        )
        if n.coalescing_id:
            self._coalesced[(n.application, n.coalescing_id)] = shown

    async def _send(self, delivery: Delivery, icon: str | None) -> _Shown:
        from desktop_notifier import Icon, Urgency

        n = delivery.notification
        notifier = self._notifier
        notifier.app_name = for_desktop(n.application)  # type: ignore[attr-defined]
        body = for_desktop(n.text)
        if self.markup:
            body = html.escape(body, quote=False)
        identifier = await notifier.send(  # type: ignore[attr-defined]
            title=for_desktop(n.title),
            message=body,
            urgency=Urgency[urgency_for(n.priority)],
            icon=Icon(path=Path(icon)) if icon else None,
            timeout=0 if n.sticky else -1,  # 0: never expires; -1: the service's default
            on_clicked=lambda: self._clicked(identifier),
            on_dismissed=lambda: self._settle(identifier, CLOSED),
        )
        shown = _Shown(delivery, identifier, self._platform_id(identifier))
        # desktop-notifier logs a failed send and returns as usual: a notification it
        # does not list was never shown, so nobody can click it.
        if identifier not in await notifier.get_current_notifications():  # type: ignore[attr-defined]
            delivery.settle(CLOSED)
            return shown
        self._track(shown)
        return shown

    async def _replace(self, previous: _Shown) -> None:
        self._forget(previous.identifier)
        previous.delivery.settle(CLOSED)
        try:
            await self._notifier.clear(previous.identifier)  # type: ignore[attr-defined]
        except Exception as exc:  # already gone from the screen: nothing to close
            log.debug("clearing a replaced notification failed: %s", exc)

    async def _icon_path(self, n: Notification, registration: Registration) -> str | None:
        """The notification's icon, else its type's, else the application's, as a file."""
        type_urls = registration.event_icon_urls or {}
        candidates = [
            (n.icon, n.icon_url),
            (registration.event_icons.get(n.name), type_urls.get(n.name)),
            (registration.icon, registration.icon_url),
        ]
        for data, url in candidates:
            path = self.icons.path_for(data) if data else await self.icons.fetch(url)
            if path is not None:
                return str(path)
        return None

    # -- what the user did -------------------------------------------------------------

    def _track(self, shown: _Shown) -> None:
        self._shown[shown.identifier] = shown
        if shown.platform_id is not None:
            self._by_platform_id[shown.platform_id] = shown
        while len(self._shown) > self.max_open:
            oldest = next(iter(self._shown))
            self._settle(oldest, CLOSED)

    def _forget(self, identifier: str) -> _Shown | None:
        shown = self._shown.pop(identifier, None)
        if shown is not None and shown.platform_id is not None:
            self._by_platform_id.pop(shown.platform_id, None)
        return shown

    def _settle(self, identifier: str, result: str) -> _Shown | None:
        shown = self._forget(identifier)
        if shown is not None:
            shown.delivery.settle(result)
            key = (shown.delivery.notification.application,
                   shown.delivery.notification.coalescing_id or "")
            if self._coalesced.get(key) is shown:
                del self._coalesced[key]
        return shown

    def _clicked(self, identifier: str) -> None:
        shown = self._settle(identifier, CLICKED)
        target = shown.delivery.notification.callback_target if shown else None
        if _is_web_url(target):
            assert target is not None
            loop = asyncio.get_running_loop()
            loop.run_in_executor(None, self.open_url, target)

    def _expired(self, platform_id: int) -> None:
        shown = self._by_platform_id.get(platform_id)
        if shown is not None:
            self._settle(shown.identifier, TIMEDOUT)

    # -- Linux: what desktop-notifier does not report ------------------------------------

    def _platform_id(self, identifier: str) -> int | None:
        """The service's id for a notification: the NotificationClosed signal names it.

        desktop-notifier keeps this mapping without exposing it; read defensively so a
        future version costs only TIMEDOUT reports, never a notification.
        """
        backend = getattr(self._notifier, "_backend", None)
        ids = getattr(backend, "_platform_to_interface_notification_identifier", None)
        try:
            return ids.inverse[identifier]  # type: ignore[union-attr]
        except (AttributeError, KeyError, TypeError):
            return None

    async def _watch_freedesktop(self) -> None:
        """Hear NotificationClosed on desktop-notifier's own connection.

        Daemons such as dunst send that signal only to the connection that called
        Notify, so a second connection would never hear it.
        """
        from dbus_fast import Message, MessageType

        backend = getattr(self._notifier, "_backend", None)
        bus, interface = getattr(backend, "bus", None), getattr(backend, "interface", None)
        if bus is None or interface is None:
            log.info("desktop-notifier changed: expiry will not be reported as TIMEDOUT")
            return
        caps = await interface.call_get_capabilities()
        self.markup = "body-markup" in caps

        def on_message(message: Message) -> None:
            if (
                message.message_type == MessageType.SIGNAL
                and message.interface == _BUS_NAME
                and message.member == "NotificationClosed"
                and message.body[1] == _EXPIRED
            ):
                self._expired(message.body[0])

        bus.add_message_handler(on_message)

    async def close(self) -> None:
        """Answer every tracked notification CLOSED; the bubbles stay on screen."""
        for identifier in list(self._shown):
            self._settle(identifier, CLOSED)
        # desktop-notifier has no close(): its D-Bus connection would leak a socket.
        backend_bus = getattr(getattr(self._notifier, "_backend", None), "bus", None)
        if backend_bus is not None and hasattr(backend_bus, "disconnect"):
            backend_bus.disconnect()
