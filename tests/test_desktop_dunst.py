"""End to end on a real desktop stack: our Publisher → ``gntp-receiver --desktop`` (a child
process) → D-Bus → dunst under Xvfb, and the user's actions back through ``dunstctl``."""

from __future__ import annotations

import queue
from pathlib import Path

import pytest
from icon_server import png

from gntp_jupyter.gntp import Event, Publisher, Resource, SocketCallback

pytestmark = pytest.mark.dunst


@pytest.fixture
def desktop(dunst, receiver_cli, tmp_path):
    child = receiver_cli("--desktop", "--icon-cache", str(tmp_path / "icons"),
                         env=dunst.env)
    results: queue.Queue = queue.Queue()

    def publisher(app: str = "Kernel") -> Publisher:
        p = Publisher(app, [Event("done")], host=child.host, port=child.port, timeout=10)
        p.register()
        return p

    def callback(context: str) -> SocketCallback:
        return SocketCallback(
            on_any=lambda r: results.put((r.result, r.notification_id, r.context)),
            context=context,
        )

    return dunst, publisher, callback, results


def test_dunst_shows_title_body_icon_and_urgency(desktop, tmp_path):
    dunst, publisher, _, _ = desktop
    icon = png("dunst-icon", 32)
    publisher().publish("done", "Run All finished", "12 cells · 3:02 · slowest [7]",
                        icon=Resource(icon), priority=2)
    (shown,) = dunst.wait_for_printed(1)
    assert shown["appname"] == "Kernel"
    assert shown["summary"] == "Run All finished"
    assert shown["body"] == "12 cells · 3:02 · slowest [7]"
    assert shown["urgency"] == "critical"
    path = Path(shown["icon"].removeprefix("file://"))
    assert path.read_bytes() == icon and path.parent == tmp_path / "icons"


def test_markup_in_the_text_is_shown_as_text(desktop):
    dunst, publisher, _, _ = desktop
    publisher().publish("done", "compare", "a < b && <b>c</b>")
    (shown,) = dunst.wait_for_printed(1)
    (entry,) = dunst.history() or [None]
    assert shown["body"] == "a &lt; b &amp;&amp; &lt;b&gt;c&lt;/b&gt;"  # escaped on the wire
    assert entry is None or "<b>" not in str(entry.get("body", ""))


def test_a_click_fires_the_senders_on_click_with_its_context(desktop):
    dunst, publisher, callback, results = desktop
    publisher().publish("done", "click me", id="cell-7", callback=callback("nb.ipynb#7"))
    dunst.wait_for_printed(1)
    dunst.action(0)
    assert results.get(timeout=10) == ("CLICKED", "cell-7", "nb.ipynb#7")


def test_close_fires_on_close_and_expiry_fires_on_timeout(desktop):
    dunst, publisher, callback, results = desktop
    p = publisher()
    p.publish("done", "close me", id="c", callback=callback("closing"))
    dunst.wait_for_printed(1)
    dunst.close()
    assert results.get(timeout=10) == ("CLOSED", "c", "closing")
    p.publish("done", "let me expire", id="t", priority=-1, callback=callback("expiring"))
    dunst.wait_for_printed(2)
    # Low urgency expires after the harness's 2 s (TIMEOUTS["low"]).
    assert results.get(timeout=15) == ("TIMEDOUT", "t", "expiring")


def test_one_coalescing_id_leaves_one_notification(desktop):
    dunst, publisher, _, _ = desktop
    p = publisher()
    p.publish("done", "train: 10%", coalescing_id="progress", sticky=True)
    p.publish("done", "train: 20%", coalescing_id="progress", sticky=True)
    dunst.wait_for_printed(2)
    assert dunst.count_displayed() == 1
    p.publish("done", "something else", sticky=True)
    dunst.wait_for_printed(3)
    assert dunst.count_displayed() == 2
