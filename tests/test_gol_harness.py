"""The growl-for-linux harness works: raw GNTP bytes in, rows in gol's sqlite out.

Uses plain sockets on purpose, so these tests stay independent of the package's client.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import pytest
from gol import GrowlForLinux, available, group_members, send_raw

pytestmark = [
    pytest.mark.gol,
    pytest.mark.skipif(available() is not None, reason=available() or ""),
]

OK_NOTIFY = b"GNTP/1.0 -OK NONE\r\nResponse-Action: NOTIFY\r\n\r\n"


def register(app: str, icon: bytes | None = None) -> bytes:
    lines = [
        "GNTP/1.0 REGISTER NONE",
        f"Application-Name: {app}",
        "Notifications-Count: 1",
        "",
        "Notification-Name: done",
        "Notification-Display-Name: Done",
        "Notification-Enabled: True",
    ]
    if icon is None:
        return ("\r\n".join(lines) + "\r\n\r\n").encode()
    ident = hashlib.md5(icon).hexdigest()
    lines[3:3] = [f"Application-Icon: x-growl-resource://{ident}"]
    head = "\r\n".join([*lines, "", f"Identifier: {ident}", f"Length: {len(icon)}", "", ""])
    return head.encode() + icon + b"\r\n\r\n"


def notify(app: str, title: str, text: str) -> bytes:
    lines = [
        "GNTP/1.0 NOTIFY NONE",
        f"Application-Name: {app}",
        "Notification-Name: done",
        f"Notification-ID: {uuid.uuid4()}",
        f"Notification-Title: {title}",
        f"Notification-Text: {text}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_register_then_notify_is_stored(gol: GrowlForLinux, gol_app_name: str) -> None:
    assert send_raw(register(gol_app_name)).startswith(b"GNTP/1.0 -OK")
    title = f"Grüße ☃ 🐍 {uuid.uuid4().hex[:6]}"
    text = "first line\nsecond line — ünïcode"

    assert send_raw(notify(gol_app_name, title, text)) == OK_NOTIFY

    rows = [r for r in gol.notifications() if r["title"] == title]
    assert [(r["title"], r["text"]) for r in rows] == [(title, text)]
    apps = [a for a in gol.applications() if a["app_name"] == gol_app_name]
    assert [(a["name"], a["enable"]) for a in apps] == [("done", 1)]


def test_binary_resource_is_stored(gol: GrowlForLinux, gol_app_name: str) -> None:
    icon = b"\x89PNG\r\n\x1a\n\x00\x01\x02" + os.urandom(16)
    assert send_raw(register(gol_app_name, icon)).startswith(b"GNTP/1.0 -OK")
    assert gol.resource(hashlib.md5(icon).hexdigest()) == icon
    assert gol.resource("no-such-id") is None


def test_configure_password_takes_effect_after_restart(gol: GrowlForLinux) -> None:
    assert gol.process is not None
    old_group = gol.process.pid
    try:
        gol.configure(password="s3cret", require_password_for_local_apps=True)
        assert gol.config()["password"] == "s3cret"
        assert gol.config()["require_password_for_local_apps"] == "1"
        # The old gol and its dbus-daemon are gone, not just the dbus-run-session wrapper.
        assert group_members(old_group) == []
        # gol read the new rows: an unhashed request from localhost is now refused.
        assert send_raw(notify("any", "t", "x")).startswith(b"GNTP/1.0 -ERROR Invalid request")
    finally:
        gol.configure(password=None, require_password_for_local_apps=False)
    assert "password" not in gol.config()
    assert send_raw(notify("any", "t", "x")) == OK_NOTIFY


def test_reset_clears_rows(gol: GrowlForLinux, gol_app_name: str) -> None:
    send_raw(register(gol_app_name))
    send_raw(notify(gol_app_name, "to be forgotten", ""))
    gol.reset()
    assert gol.notifications() == []
    assert gol.applications() == []
    assert send_raw(notify(gol_app_name, "after reset", "")) == OK_NOTIFY
    assert [r["title"] for r in gol.notifications()] == ["after reset"]


def test_screenshot(gol: GrowlForLinux, tmp_path: Path) -> None:
    shot = tmp_path / "screen.png"
    if not gol.screenshot(shot):
        pytest.skip("imagemagick `import` not available")
    assert shot.read_bytes().startswith(b"\x89PNG")
