"""The desktop harness works: real dunst under Xvfb, and the fake Notifications service.

Clients here are notify-send, dunstctl and a small dbus-fast client written below, so the
harness is checked independently of the package's own desktop display.
"""

from __future__ import annotations

import asyncio
import shutil
import struct
import subprocess
import zlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from desktop_session import Dunst, SessionBus, parse_print_output
from gol import group_members

pytest.importorskip("dbus_fast", reason="needs dbus-fast (pip install desktop-notifier)")
from dbus_fast import Variant
from dbus_fast.aio import MessageBus
from fake_notifications import CAPABILITIES, FakeNotifications

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
WAIT = 5.0  # bound for anything that should happen at once


def png(path: Path) -> Path:
    """Write a 4x4 red PNG (dunst loads it: a broken file would only log a warning)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * 4 for _ in range(4))
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    return path


def wait_until(predicate: Callable[[], bool], timeout: float = WAIT) -> bool:
    """Poll ``predicate`` (a dunstctl query) until true; False after ``timeout``."""
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def notify_send(env: dict[str, str], *args: str) -> None:
    if shutil.which("notify-send") is None:
        pytest.skip("needs notify-send; `.ci/run` installs it (apt-get install libnotify-bin)")
    subprocess.run(["notify-send", *args], env=env, check=True, timeout=WAIT)


class Client:
    """A dbus-fast Notifications client that queues the signals it receives."""

    def __init__(self, bus: MessageBus, interface: Any) -> None:
        self.bus = bus
        self.interface = interface
        self.closed: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
        self.actions: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
        interface.on_notification_closed(lambda id, reason: self.closed.put_nowait((id, reason)))
        interface.on_action_invoked(lambda id, key: self.actions.put_nowait((id, key)))

    @classmethod
    async def connect(cls, address: str) -> Client:
        bus = await MessageBus(bus_address=address).connect()
        proxy = bus.get_proxy_object(NAME, PATH, await bus.introspect(NAME, PATH))
        client = cls(bus, proxy.get_interface(NAME))
        # A round trip after the handlers: the bus has applied their AddMatch rules by now.
        await client.interface.call_get_capabilities()
        return client

    async def notify(
        self,
        summary: str,
        *,
        replaces_id: int = 0,
        body: str = "",
        actions: list[str] | None = None,
        hints: dict[str, Variant] | None = None,
        expire_timeout: int = -1,
    ) -> int:
        return await self.interface.call_notify(
            "harness-test", replaces_id, "", summary, body, actions or [], hints or {},
            expire_timeout,
        )

    async def next_closed(self) -> tuple[int, int]:
        return await asyncio.wait_for(self.closed.get(), WAIT)

    async def next_action(self) -> tuple[int, str]:
        return await asyncio.wait_for(self.actions.get(), WAIT)


@pytest_asyncio.fixture
async def fake_client(fake_notifications: FakeNotifications) -> AsyncIterator[Client]:
    client = await Client.connect(fake_notifications.bus.address)
    yield client
    client.bus.disconnect()
    await client.bus.wait_for_disconnect()


@pytest_asyncio.fixture
async def dunst_client(dunst: Dunst) -> AsyncIterator[Client]:
    assert dunst.bus is not None
    client = await Client.connect(dunst.bus.address)
    yield client
    client.bus.disconnect()
    await client.bus.wait_for_disconnect()


# -- parsing dunst -print (no processes) ----------------------------------------------------

PRINTED = """\
{
\tappname: 'myapp'
\tsummary: 'Sum mary'
\tbody: 'it's
}
\tid: 'tricky'
second <b>bold</b>'
\ticon: '/tmp/i.png'
\traw_icon set: false
\tcategory: \n\
\ttimeout: 0
\turgency: CRITICAL
\tformat: <b>%s</b>
%b
\tid: 7
\tactions: {
\t\t"yes": "Yes"
\t\t"default": "Open"
\t}
\tscript_count: 0
}
{
\tappname: 'other'
\tsummary: 'S2'
\tbody: ''
\ticon: 'dialog-information'
\ttimeout: 3000
\turgency: NORMAL
\tid: 8
\tactions: {}
\tscript_count: 0
}
"""


def test_print_parser_keeps_multiline_quoted_text_intact() -> None:
    first, second = parse_print_output(PRINTED)

    assert first["body"] == "it's\n}\n\tid: 'tricky'\nsecond <b>bold</b>"
    assert (first["appname"], first["summary"]) == ("myapp", "Sum mary")
    assert (first["icon"], first["category"]) == ("/tmp/i.png", "")
    assert (first["urgency"], first["timeout"], first["id"]) == ("critical", 0, 7)
    assert first["actions"] == {"yes": "Yes", "default": "Open"}
    assert first["raw_icon_set"] == "false"
    assert first["format"] == "<b>%s</b>\n%b"
    assert (second["body"], second["urgency"], second["id"]) == ("", "normal", 8)
    assert second["actions"] == {}


# -- real dunst ------------------------------------------------------------------------------


@pytest.mark.dunst
def test_notify_send_is_printed_with_urgency_and_icon(dunst: Dunst, tmp_path: Path) -> None:
    icon = png(tmp_path / "icon.png")
    notify_send(dunst.env, "-u", "critical", "-i", str(icon), "-a", "harness", "Done", "2 cells")

    (shown,) = dunst.wait_for_printed(1)

    assert (shown["appname"], shown["summary"], shown["body"]) == ("harness", "Done", "2 cells")
    assert (shown["urgency"], shown["icon"], shown["timeout"]) == ("critical", str(icon), 0)
    assert "No icon found" not in dunst.stderr
    assert wait_until(lambda: dunst.count_displayed() == 1)


@pytest.mark.dunst
def test_rc_timeouts_per_urgency(dunst: Dunst) -> None:
    for urgency in ("low", "normal", "critical"):
        notify_send(dunst.env, "-u", urgency, urgency)

    printed = dunst.wait_for_printed(3)

    assert {n["summary"]: n["timeout"] for n in printed} == {
        "low": 2000, "normal": 3000, "critical": 0
    }


@pytest.mark.dunst
def test_dunstctl_close_drops_the_count_and_fills_history(dunst: Dunst) -> None:
    notify_send(dunst.env, "first")
    notify_send(dunst.env, "second")
    dunst.wait_for_printed(2)
    assert wait_until(lambda: dunst.count_displayed() == 2)

    dunst.close()  # the top bubble: dunst sorts by urgency, then oldest first

    assert wait_until(lambda: dunst.count_displayed() == 1)
    assert [entry["summary"] for entry in dunst.history()] == ["first"]
    dunst.close_all()
    assert wait_until(lambda: dunst.count_displayed() == 0)
    assert sorted(entry["summary"] for entry in dunst.history()) == ["first", "second"]


@pytest.mark.dunst
@pytest.mark.asyncio
async def test_dunst_action_then_close_signals(dunst: Dunst, dunst_client: Client) -> None:
    id = await dunst_client.notify("click me", actions=["default", "Open"])
    await asyncio.to_thread(dunst.wait_for_printed, 1)

    await asyncio.to_thread(dunst.action, 0)
    assert await dunst_client.next_action() == (id, "default")

    await asyncio.to_thread(dunst.close)
    assert await dunst_client.next_closed() == (id, 2)


@pytest.mark.dunst
@pytest.mark.asyncio
async def test_dunst_replaces_and_expires(dunst: Dunst, dunst_client: Client) -> None:
    low = {"urgency": Variant("y", 0)}
    id = await dunst_client.notify("one", hints=low)
    assert await dunst_client.notify("two", replaces_id=id, hints=low) == id
    printed = await asyncio.to_thread(dunst.wait_for_printed, 2)
    assert [(n["summary"], n["id"]) for n in printed] == [("one", id), ("two", id)]
    assert await asyncio.to_thread(dunst.count_displayed) == 1

    # The low-urgency timeout (2 s) passes: closed with reason 1, expired.
    closed = await asyncio.wait_for(dunst_client.closed.get(), dunst.timeouts["low"] + WAIT)
    assert closed == (id, 1)


@pytest.mark.dunst
def test_wait_for_printed_times_out_with_what_was_printed(dunst: Dunst) -> None:
    notify_send(dunst.env, "only one")

    with pytest.raises(TimeoutError, match=r"(?s)1 of 2 notifications.*only one"):
        dunst.wait_for_printed(2, timeout=0.5)


@pytest.mark.dunst
def test_dunst_stops_every_process_and_removes_its_files(dunst: Dunst) -> None:
    with Dunst() as other:
        assert other.bus is not None and other.display != dunst.display
        procs = [other.process, other.xvfb, other.bus.process]
        dirs = [other.rc_path.parent, Path(other.bus.address.split("path=")[1]).parent]

    assert all(proc is not None and proc.returncode is not None for proc in procs)
    assert not any(group_members(proc.pid) for proc in procs if proc is not None)
    assert not any(path.exists() for path in dirs)
    assert dunst.count_displayed() == 0  # the other instance's exit left this one alone


# -- private bus and fake service -----------------------------------------------------------


def test_session_bus_has_no_activation(session_bus: SessionBus) -> None:
    """A Notify with nobody serving fails at once instead of autostarting dunst."""
    result = subprocess.run(
        ["dbus-send", "--print-reply", f"--bus={session_bus.address}", f"--dest={NAME}",
         PATH, f"{NAME}.GetCapabilities"],
        capture_output=True, text=True, timeout=WAIT,
    )
    assert result.returncode != 0
    assert "ServiceUnknown" in result.stderr
    assert session_bus.env()["DBUS_SESSION_BUS_ADDRESS"] == session_bus.address


@pytest.mark.asyncio
async def test_fake_replaces_id_keeps_one_notification(
    fake_notifications: FakeNotifications, fake_client: Client
) -> None:
    hints = {"urgency": Variant("y", 2), "image-path": Variant("s", "/tmp/x.png")}
    first = await fake_client.notify("one", body="b", actions=["default", "Open"], hints=hints)
    second = await fake_client.notify("two", replaces_id=first, expire_timeout=0)
    third = await fake_client.notify("three")

    assert (first, second, third) == (1, 1, 2)
    calls = fake_notifications.wait_for(3)
    assert calls[0].hints == {"urgency": 2, "image-path": "/tmp/x.png"}
    assert (calls[0].actions, calls[0].app_name, calls[0].body) == (
        ["default", "Open"], "harness-test", "b"
    )
    assert (calls[1].replaces_id, calls[1].id, calls[1].expire_timeout) == (1, 1, 0)
    assert {id: call.summary for id, call in fake_notifications.displayed.items()} == {
        1: "two", 2: "three"
    }


@pytest.mark.asyncio
async def test_fake_click_dismiss_expire_close_signals(
    fake_notifications: FakeNotifications, fake_client: Client
) -> None:
    a = await fake_client.notify("a", actions=["default", "Open", "rerun", "Run again"])
    b = await fake_client.notify("b")
    c = await fake_client.notify("c")

    fake_notifications.click(a, "rerun")
    assert await fake_client.next_action() == (a, "rerun")
    fake_notifications.click(a)
    assert await fake_client.next_action() == (a, "default")
    fake_notifications.dismiss(a)
    assert await fake_client.next_closed() == (a, 2)
    fake_notifications.expire(b)
    assert await fake_client.next_closed() == (b, 1)
    await fake_client.interface.call_close_notification(c)
    assert await fake_client.next_closed() == (c, 3)

    assert fake_notifications.displayed == {}
    with pytest.raises(KeyError):
        fake_notifications.click(a)


@pytest.mark.asyncio
async def test_fake_capabilities_and_server_information(fake_client: Client) -> None:
    assert await fake_client.interface.call_get_capabilities() == list(CAPABILITIES)
    name, vendor, _version, spec = await fake_client.interface.call_get_server_information()
    assert (name, vendor, spec) == ("gntp-jupyter-fake", "gntp_jupyter", "1.2")


def test_fake_refuses_a_bus_where_the_name_is_taken(
    fake_notifications: FakeNotifications,
) -> None:
    with pytest.raises(RuntimeError, match="already owned"):
        FakeNotifications(fake_notifications.bus).start()


def test_fake_wait_for_times_out(fake_notifications: FakeNotifications) -> None:
    with pytest.raises(TimeoutError, match="0 of 1 Notify calls"):
        fake_notifications.wait_for(1, timeout=0.1)


@pytest.mark.asyncio
async def test_desktop_notifier_talks_to_the_fake(
    fake_notifications: FakeNotifications, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The library the display is built on finds the fake through the environment."""
    desktop_notifier = pytest.importorskip("desktop_notifier")
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", fake_notifications.bus.address)
    clicked, dismissed = asyncio.Event(), asyncio.Event()
    notifier = desktop_notifier.DesktopNotifier(app_name="harness")

    try:
        await notifier.send(title="T", message="M", on_clicked=clicked.set)
        await notifier.send(title="U", message="N", on_dismissed=dismissed.set)
        first, second = await asyncio.to_thread(fake_notifications.wait_for, 2)
        await asyncio.to_thread(fake_notifications.click, first.id)
        await asyncio.to_thread(fake_notifications.dismiss, second.id)

        await asyncio.wait_for(clicked.wait(), WAIT)
        await asyncio.wait_for(dismissed.wait(), WAIT)
    finally:
        # desktop-notifier 6.2 has no close(): its D-Bus connection would leak a socket.
        bus = getattr(getattr(notifier, "_backend", None), "bus", None)
        if bus is not None:
            bus.disconnect()
            await bus.wait_for_disconnect()
    assert (first.app_name, first.summary, first.body) == ("harness", "T", "M")
