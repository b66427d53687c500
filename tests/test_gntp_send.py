"""A foreign client: the Debian reference C client ``gntp-send`` talking to our receiver.

gntp-send writes a request in several writes, puts a trailing space (or two spaces) in
its info line, hashes with MD5 only, uses uppercase resource ids and references the same
id twice (application and type icon) with one binary section. It registers, then
notifies, on two connections, and exits 0 even when refused: every assertion is on
what the receiver recorded.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from gntp_jupyter.gntp.receiver import ReceiverThread

pytestmark = pytest.mark.skipif(
    shutil.which("gntp-send") is None,
    reason="the reference client gntp-send is not installed (apt-get install gntp-send)",
)

Factory = Callable[..., ReceiverThread]


def gntp_send(server: ReceiverThread, *args: str, password: str | None = None) -> None:
    """Run gntp-send against ``server`` (IPv4 only: it resolves with gethostbyname)."""
    cmd = ["gntp-send", "-s", f"127.0.0.1:{server.port}"]
    if password is not None:
        cmd += ["-p", password]
    subprocess.run([*cmd, *args], check=True, capture_output=True, timeout=30)


def test_register_and_notify_unicode(receiver: ReceiverThread) -> None:
    app = f"Äpp ☃ {uuid.uuid4().hex[:6]}"
    title, text = "Tïtle — ✓", "first line\nsecond line"
    gntp_send(receiver, "-a", app, "-n", "build done", title, text)

    [note] = receiver.wait_for(1)
    assert (note.application, note.name, note.title, note.text) == (
        app, "build done", title, text
    )
    assert (note.sticky, note.priority, note.icon, note.callback_target) == (
        False, 0, None, None
    )
    registration = receiver.registrations[app]
    assert registration.events == {"build done": True}
    assert [r.message_type for r in receiver.requests] == ["REGISTER", "NOTIFY"]
    assert receiver.rejections == []


def test_default_names_and_empty_text(receiver: ReceiverThread) -> None:
    gntp_send(receiver, "only a title", "")
    [note] = receiver.wait_for(1)
    assert (note.application, note.name, note.title, note.text) == (
        "gntp-send", "gntp-send notify", "only a title", ""
    )


def test_md5_key_hash_with_the_right_password(receiver_factory: Factory) -> None:
    server = receiver_factory(password="s3cret ✓")
    gntp_send(server, "-a", "Hashed", "hashed title", "body", password="s3cret ✓")
    [note] = server.wait_for(1)
    assert (note.application, note.title, note.text) == ("Hashed", "hashed title", "body")
    assert [(r.message_type, r.hash_algorithm, r.encryption) for r in server.requests] == [
        ("REGISTER", "MD5", None),
        ("NOTIFY", "MD5", None),
    ]


@pytest.mark.parametrize("password", [None, "wrong"])
def test_missing_or_wrong_password_is_refused(
    receiver_factory: Factory, password: str | None
) -> None:
    server = receiver_factory(password="right")
    gntp_send(server, "-a", "Refused", "t", "m", password=password)
    assert [r.code for r in server.rejections] == [400, 400]
    assert server.notifications == []
    assert server.registrations == {}


def test_binary_icon_and_callback_url(receiver: ReceiverThread, tmp_path: Path) -> None:
    icon = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + uuid.uuid4().bytes + b"\r\n\r\n\x00end"
    path = tmp_path / "icon.png"
    path.write_bytes(icon)
    url = f"https://example.org/clicked?id={uuid.uuid4().hex}"
    gntp_send(receiver, "-a", "Iconic", "with icon", "text", str(path), url)

    [note] = receiver.wait_for(1)
    assert note.icon == icon
    assert note.callback_target == url
    registration = receiver.registrations["Iconic"]
    # One section, referenced by both the application and its type: both get the bytes.
    assert registration.icon == icon
    assert registration.event_icons == {"gntp-send notify": icon}


def test_url_icon_is_kept_as_a_url(receiver: ReceiverThread) -> None:
    gntp_send(receiver, "-a", "Linked", "t", "m", "http://example.org/icon.png")
    [note] = receiver.wait_for(1)
    assert (note.icon, note.icon_url) == (None, "http://example.org/icon.png")
