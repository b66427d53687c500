"""The desktop display against a fake org.freedesktop.Notifications on a private bus.

Senders are our own Publisher over real TCP; the receiver shows through desktop-notifier
and dbus-fast exactly as on a desktop; the fake records each Notify call and plays the
user (click, dismiss) and the clock (expire). The same flows against the real dunst are
in test_desktop_dunst.py.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from icon_server import png

from gntp_jupyter.desktop.display import DesktopDisplay, urgency_for
from gntp_jupyter.desktop.icons import IconStore
from gntp_jupyter.gntp import Event, Publisher, Resource, SocketCallback
from gntp_jupyter.gntp.receiver import Receiver, ReceiverThread

pytest.importorskip("desktop_notifier")


@dataclass
class Rig:
    server: ReceiverThread
    display: DesktopDisplay
    fake: object  # FakeNotifications
    icons: Path
    opened: list[str] = field(default_factory=list)
    results: queue.Queue = field(default_factory=queue.Queue)

    def publisher(self, app: str = "Build", events=None, icon=None) -> Publisher:
        events = events or [Event("done"), Event("failed", icon=Resource(png("failed")))]
        p = Publisher(app, events, icon=icon, host=self.server.host, port=self.server.port,
                      timeout=10)
        p.register()
        return p

    def callback(self, context: str = "ctx-1") -> SocketCallback:
        def put(response) -> None:
            self.results.put((response.result, response.notification_id, response.context))

        return SocketCallback(on_any=put, context=context, context_type="string")

    def result(self, timeout: float = 10.0) -> tuple[str, str, str]:
        return self.results.get(timeout=timeout)


@pytest.fixture
def rig(fake_notifications, monkeypatch, tmp_path) -> Iterator[Rig]:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", fake_notifications.bus.address)
    opened: list[str] = []
    server = ReceiverThread(Receiver()).start()
    try:
        display = server.call(lambda: DesktopDisplay.open(
            icons=IconStore(tmp_path / "icons"), open_url=opened.append,
        ))
        server.receiver.display = display
        yield Rig(server, display, fake_notifications, tmp_path / "icons", opened)
    finally:
        server.stop()


def test_title_text_application_and_the_notifications_own_icon(rig):
    own = png("own", 24)
    rig.publisher(icon=Resource(png("app"))).publish("done", "Training done", "loss 0.031",
                                                     icon=Resource(own))
    (call,) = rig.fake.wait_for(1)
    assert (call.app_name, call.summary, call.body) == ("Build", "Training done", "loss 0.031")
    icon = Path(call.app_icon.removeprefix("file://"))
    assert icon.read_bytes() == own
    assert icon.parent == rig.icons and icon.name.startswith(hashlib.sha256(own).hexdigest()[:40])
    assert oct(rig.icons.stat().st_mode & 0o777) == "0o700"


def test_icon_falls_back_to_the_types_then_the_applications(rig):
    p = rig.publisher(icon=Resource(png("app")))
    p.publish("failed", "type icon")
    p.publish("done", "app icon")
    first, second = rig.fake.wait_for(2)
    assert Path(first.app_icon.removeprefix("file://")).read_bytes() == png("failed")
    assert Path(second.app_icon.removeprefix("file://")).read_bytes() == png("app")


def test_a_url_icon_is_fetched_and_a_broken_one_skipped(rig, icon_server):
    p = rig.publisher()
    p.publish("done", "from a URL", icon=icon_server.url("/display/ok.png"))
    p.publish("done", "not an image", icon=icon_server.url("/display/text/x.png"))
    ok, broken = rig.fake.wait_for(2)
    assert Path(ok.app_icon.removeprefix("file://")).read_bytes() == png("/display/ok.png")
    assert broken.app_icon == "" and broken.summary == "not an image"


def test_a_sender_never_makes_it_open_a_local_file_as_icon(rig):
    rig.publisher().publish("done", "sneaky", icon="file:///etc/hostname")
    (call,) = rig.fake.wait_for(1)
    assert call.app_icon == ""


@pytest.mark.parametrize(
    ("priority", "urgency"), [(-2, 0), (-1, 0), (0, 1), (1, 1), (2, 2)]
)
def test_priority_maps_to_urgency(rig, priority, urgency):
    rig.publisher().publish("done", "p", priority=priority)
    (call,) = rig.fake.wait_for(1)
    assert call.hints["urgency"] == urgency
    assert urgency_for(priority) == ["Low", "Normal", "Critical"][urgency]


def test_sticky_never_expires_and_the_rest_take_the_default(rig):
    p = rig.publisher()
    p.publish("done", "sticky", sticky=True)
    p.publish("done", "plain")
    sticky, plain = rig.fake.wait_for(2)
    assert (sticky.expire_timeout, plain.expire_timeout) == (0, -1)


def test_a_disabled_type_is_not_shown_and_its_callback_is_closed(rig):
    p = rig.publisher(events=[Event("done"), Event("muted", enabled=False)])
    p.publish("muted", "you should not see this", callback=rig.callback())
    assert rig.result()[0] == "CLOSED"
    p.publish("done", "but this")
    (call,) = rig.fake.wait_for(1)
    assert call.summary == "but this"


def test_a_click_reports_clicked_with_id_and_context_and_opens_the_url(rig):
    p = rig.publisher()
    p.publish("done", "click me", id="n-42", callback=rig.callback("ctx-42"))
    (call,) = rig.fake.wait_for(1)
    rig.fake.click(call.id)
    assert rig.result() == ("CLICKED", "n-42", "ctx-42")

    p.publish("done", "open me", callback="https://example.org/run/7")
    p.publish("done", "never open me", callback="file:///etc/passwd")
    _, web, local = rig.fake.wait_for(3)
    rig.fake.click(local.id)
    rig.fake.click(web.id)
    rig.server.call(lambda: None)  # the clicks were handled on the receiver's loop
    deadline = threading.Event()
    for _ in range(50):
        if rig.opened:
            break
        deadline.wait(0.1)
    assert rig.opened == ["https://example.org/run/7"]


def test_dismiss_is_closed_and_expiry_is_timedout(rig):
    p = rig.publisher()
    p.publish("done", "dismiss me", id="a", callback=rig.callback("first"))
    p.publish("done", "let me expire", id="b", callback=rig.callback("second"))
    first, second = rig.fake.wait_for(2)
    rig.fake.dismiss(first.id)
    assert rig.result() == ("CLOSED", "a", "first")
    rig.fake.expire(second.id)
    assert rig.result() == ("TIMEDOUT", "b", "second")


def test_a_coalescing_id_leaves_one_notification_and_closes_the_replaced(rig):
    p = rig.publisher()
    p.publish("done", "epoch 1/2", id="one", coalescing_id="train", callback=rig.callback("1"))
    p.publish("done", "epoch 2/2", id="two", coalescing_id="train")
    rig.fake.wait_for(2)
    assert rig.result() == ("CLOSED", "one", "1")
    assert [c.summary for c in rig.fake.displayed.values()] == ["epoch 2/2"]
    other = rig.publisher(app="Other")
    other.publish("done", "same id, other app", coalescing_id="train")
    rig.fake.wait_for(3)
    assert len(rig.fake.displayed) == 2  # coalescing is per application


def test_stopping_the_receiver_answers_pending_callbacks_closed(rig):
    rig.publisher().publish("done", "pending", id="p", callback=rig.callback("pending"))
    rig.fake.wait_for(1)
    rig.server.stop()
    assert rig.result() == ("CLOSED", "p", "pending")


def test_control_characters_never_reach_the_bubble(rig):
    rig.publisher().publish("done", "bell\x07 title", "esc \x1b[31m body\nsecond line")
    (call,) = rig.fake.wait_for(1)
    assert call.summary == "bell\ufffd title"
    assert call.body == "esc \ufffd[31m body\nsecond line"


def test_an_unparsable_icon_url_costs_only_the_icon(rig, caplog):
    import socket

    rig.publisher()  # registers "Build"
    raw = ("GNTP/1.0 NOTIFY NONE\r\nApplication-Name: Build\r\nNotification-Name: done\r\n"
           "Notification-Title: bad url\r\nNotification-Icon: http://[\r\n"
           "Notification-Callback-Target: http://[\r\n\r\n")
    with socket.create_connection((rig.server.host, rig.server.port), timeout=10) as sock:
        sock.sendall(raw.encode())
        assert b"-OK" in sock.recv(4096)
    (call,) = rig.fake.wait_for(1)
    assert call.summary == "bad url" and call.app_icon == ""
    rig.fake.click(call.id)
    rig.server.call(lambda: None)
    assert rig.opened == []
    assert [r for r in caplog.records if r.levelname == "ERROR"] == []
