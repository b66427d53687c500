"""A fake ``org.freedesktop.Notifications`` service on a private bus, for fast tests.

No X screen and no daemon to start: ``FakeNotifications`` answers the freedesktop
Notifications API from a dbus-fast service running on its own asyncio loop in a daemon
thread, records every ``Notify`` call, and lets the test play the user (``click``,
``dismiss``) or the clock (``expire``) by emitting the signals a real daemon would.

Unlike dunst it never expires anything by itself and ``click`` leaves the notification
displayed (as dunst 1.9 does after an action).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from dbus_fast import NameFlag, RequestNameReply, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.annotations import DBusDict, DBusInt32, DBusSignature, DBusStr, DBusUInt32
from dbus_fast.service import ServiceInterface, dbus_method, dbus_signal
from desktop_session import SessionBus
from harness import Started

__all__ = ["CAPABILITIES", "FakeNotifications", "NotifyCall", "plain"]

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
CAPABILITIES = ("actions", "body", "icon-static", "persistence")
SERVER_INFORMATION = ("gntp-jupyter-fake", "gntp_jupyter", "1.0", "1.2")

# NotificationClosed reasons from the spec.
EXPIRED, DISMISSED, CLOSED = 1, 2, 3

_StrList = Annotated[list[str], DBusSignature("as")]


@dataclass(frozen=True)
class NotifyCall:
    """One ``Notify`` call as received, hints unwrapped to plain Python values."""

    app_name: str
    replaces_id: int
    app_icon: str
    summary: str
    body: str
    actions: list[str]  # flat [key, label, key, label, ...] as on the wire
    hints: dict[str, Any]
    expire_timeout: int
    id: int  # what Notify returned


def plain(value: Any) -> Any:
    """Strip dbus-fast ``Variant`` wrappers, also inside lists and dicts."""
    if isinstance(value, Variant):
        return plain(value.value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


class _Interface(ServiceInterface):
    """The D-Bus face (member names as in the spec); state lives in ``FakeNotifications``."""

    def __init__(self, fake: FakeNotifications) -> None:
        super().__init__(NAME)
        self._fake = fake

    @dbus_method()
    def Notify(
        self,
        app_name: DBusStr,
        replaces_id: DBusUInt32,
        app_icon: DBusStr,
        summary: DBusStr,
        body: DBusStr,
        actions: _StrList,
        hints: DBusDict,
        expire_timeout: DBusInt32,
    ) -> DBusUInt32:
        return self._fake._record(
            app_name, replaces_id, app_icon, summary, body, actions, hints, expire_timeout
        )

    @dbus_method()
    def CloseNotification(self, id: DBusUInt32):  # no annotation: no out args
        if self._fake._remove(id):
            self.NotificationClosed(id, CLOSED)

    @dbus_method()
    def GetCapabilities(self) -> _StrList:
        return list(CAPABILITIES)

    @dbus_method()
    def GetServerInformation(
        self,
    ) -> Annotated[tuple[str, str, str, str], DBusSignature("ssss")]:
        return SERVER_INFORMATION

    @dbus_signal()
    def NotificationClosed(
        self, id: int, reason: int
    ) -> Annotated[tuple[int, int], DBusSignature("uu")]:
        return id, reason

    @dbus_signal()
    def ActionInvoked(
        self, id: int, action_key: str
    ) -> Annotated[tuple[int, str], DBusSignature("us")]:
        return id, action_key


class FakeNotifications(Started):
    """A Notifications service on ``bus`` (a started ``SessionBus``), as a context manager.

    Ids start at 1. ``Notify`` with the ``replaces_id`` of a displayed notification
    returns that id and replaces the record; any other ``replaces_id`` gets a new id.
    """

    def __init__(self, bus: SessionBus, *, timeout: float = 10.0) -> None:
        self.bus = bus
        self.timeout = timeout
        self._lock = threading.Condition()
        self._calls: list[NotifyCall] = []
        self._displayed: dict[int, NotifyCall] = {}
        self._last_id = 0
        self._interface = _Interface(self)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._connection: MessageBus | None = None

    # -- what the test reads ----------------------------------------------------------

    @property
    def calls(self) -> list[NotifyCall]:
        """Every Notify call so far, oldest first (a copy)."""
        with self._lock:
            return list(self._calls)

    @property
    def displayed(self) -> dict[int, NotifyCall]:
        """id -> latest record, for notifications not closed, dismissed or expired."""
        with self._lock:
            return dict(self._displayed)

    def wait_for(self, n: int, timeout: float = 5.0) -> list[NotifyCall]:
        """Block until at least ``n`` Notify calls arrived; TimeoutError otherwise."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._calls) >= n, timeout):
                raise TimeoutError(f"{len(self._calls)} of {n} Notify calls in {timeout} s")
            return list(self._calls)

    # -- what the test does (the user and the clock) ----------------------------------

    def click(self, id: int, action_key: str = "default") -> None:
        """Emit ActionInvoked(id, action_key); the notification stays displayed."""
        self._require(id)
        self._emit(lambda: self._interface.ActionInvoked(id, action_key))

    def dismiss(self, id: int) -> None:
        """The user closed it: remove it and emit NotificationClosed(id, 2)."""
        self._close(id, DISMISSED)

    def expire(self, id: int) -> None:
        """Its timeout passed: remove it and emit NotificationClosed(id, 1)."""
        self._close(id, EXPIRED)

    def _close(self, id: int, reason: int) -> None:
        self._require(id)
        self._remove(id)
        self._emit(lambda: self._interface.NotificationClosed(id, reason))

    def _require(self, id: int) -> None:
        with self._lock:
            if id not in self._displayed:
                raise KeyError(f"notification {id} is not displayed: {sorted(self._displayed)}")

    def _emit(self, send: Callable[[], object]) -> None:
        """Run ``send`` on the service loop and wait until it has been queued there."""
        assert self._loop is not None, "FakeNotifications is not started"

        async def run() -> None:
            send()

        asyncio.run_coroutine_threadsafe(run(), self._loop).result(self.timeout)

    # -- called on the service loop ---------------------------------------------------

    def _record(
        self,
        app_name: str,
        replaces_id: int,
        app_icon: str,
        summary: str,
        body: str,
        actions: list[str],
        hints: dict[str, Variant],
        expire_timeout: int,
    ) -> int:
        with self._lock:
            if replaces_id in self._displayed:
                id = replaces_id
            else:
                self._last_id += 1
                id = self._last_id
            call = NotifyCall(
                app_name, replaces_id, app_icon, summary, body, list(actions),
                plain(hints), expire_timeout, id,
            )
            self._calls.append(call)
            self._displayed[id] = call
            self._lock.notify_all()
        return id

    def _remove(self, id: int) -> bool:
        with self._lock:
            return self._displayed.pop(id, None) is not None

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> FakeNotifications:
        """Connect to the bus and own the Notifications name; return once owned."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="FakeNotifications", daemon=True
        )
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._connect(), self._loop).result(self.timeout)
        except BaseException:
            self.stop()
            raise
        return self

    async def _connect(self) -> None:
        self._connection = await MessageBus(bus_address=self.bus.address).connect()
        self._connection.export(PATH, self._interface)
        reply = await self._connection.request_name(NAME, NameFlag.DO_NOT_QUEUE)
        if reply is not RequestNameReply.PRIMARY_OWNER:
            raise RuntimeError(f"{NAME} is already owned on {self.bus.address} ({reply.name})")

    def stop(self) -> None:
        """Disconnect from the bus and end the loop thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if self._connection is not None:
            asyncio.run_coroutine_threadsafe(self._disconnect(), loop).result(self.timeout)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(self.timeout)
        loop.close()
        self._loop = self._thread = None

    async def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.disconnect()
            await connection.wait_for_disconnect()

