"""The sync Publisher against the real growl-for-linux server (facts: growl-for-linux.md).

Every assertion reads gol's own sqlite state (``notification`` and ``application``) or its
resource directory: what it stored must be exactly what was sent. Each test uses its own
application name (gol never updates a stored registration) and unique titles.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Iterator

import pytest
from gol import GrowlForLinux

from gntp_jupyter.gntp import (
    Event,
    GNTPServerError,
    OKResponse,
    Publisher,
    Resource,
    SocketCallback,
)

pytestmark = pytest.mark.gol

#: gol stalls ~4 s on some request lengths (growl-for-linux.md): never wait less than 5 s.
TIMEOUT = 10.0
GOL_PASSWORD = "gol-Pässwort-42"


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def publisher(app: str, events=("done",), icon=None, **options) -> Publisher:
    return Publisher(app, list(events), icon, host="127.0.0.1", port=GrowlForLinux.port,
                     timeout=TIMEOUT, **options)


def rows_titled(gol: GrowlForLinux, title: str) -> list[tuple[str, str]]:
    return [(r["title"], r["text"]) for r in gol.notifications() if r["title"] == title]


def app_rows(gol: GrowlForLinux, app: str) -> list[dict]:
    return [row for row in gol.applications() if row["app_name"] == app]


def icon_bytes(tag: bytes, zeros: bool = True) -> bytes:
    """PNG-like bytes, unique per call, with a CRLF inside and zero bytes when asked."""
    body = bytes(range(256)) if zeros else bytes(range(1, 256))
    return b"\x89PNG\r\n\x1a\n" + uuid.uuid4().hex.encode() + tag + body


@pytest.fixture(scope="module")
def gol_with_password(gol: GrowlForLinux) -> Iterator[GrowlForLinux]:
    """gol with a password in its config (it reads it at start: configure() restarts it)."""
    gol.configure(password=GOL_PASSWORD)
    try:
        yield gol
    finally:
        gol.configure(password=None)


# -- plain ----------------------------------------------------------------------------


def test_register_and_notify_unicode_sticky(gol: GrowlForLinux, gol_app_name: str) -> None:
    app = gol_app_name + " Äpp ☃"
    pub = publisher(app, [Event("done", "Job fertig ✓"), Event("off", enabled=False)])
    registered = pub.register()
    assert isinstance(registered, OKResponse)
    assert registered.action == "REGISTER"

    title = unique("Grüße ☃ 🐍")
    text = "erste Zeile\nzweite Zeile — ünïcode ✓"
    response = pub.publish("done", title, text, sticky=True, priority=2)
    assert response.action == "NOTIFY"

    assert rows_titled(gol, title) == [(title, text)]
    rows = app_rows(gol, app)
    # gol keeps Notification-Display-Name in its "display" column and puts its default
    # display style ("Fog") there when none is sent; "False" arrives as disabled.
    assert [(r["name"], r["display"], r["enable"]) for r in rows] == [
        ("done", "Job fertig ✓", 1),
        ("off", "Fog", 0),
    ]


def test_display_names_and_enabled_flags_are_stored(gol: GrowlForLinux,
                                                    gol_app_name: str) -> None:
    events = [Event("a", "Alpha α"), Event("b", "Beta β", enabled=False), Event("c", "Gamma")]
    publisher(gol_app_name, events).register()
    rows = app_rows(gol, gol_app_name)
    assert [(r["name"], r["display"], r["enable"]) for r in rows] == [
        ("a", "Alpha α", 1), ("b", "Beta β", 0), ("c", "Gamma", 1)
    ]


def test_empty_text_and_url_callback(gol: GrowlForLinux, gol_app_name: str) -> None:
    pub = publisher(gol_app_name)
    pub.register()
    title = unique("no text")
    url = f"https://example.org/cb?id={uuid.uuid4().hex}&x=1"
    pub.publish("done", title, callback=url)
    [row] = [r for r in gol.notifications() if r["title"] == title]
    assert (row["text"], row["url"]) == ("", url)


def test_socket_callback_against_a_server_that_never_calls_back(
    gol: GrowlForLinux, gol_app_name: str
) -> None:
    # gol closes right after -OK: publish returns the -OK, and no handler ever runs.
    pub = publisher(gol_app_name)
    pub.register()
    results = []
    title = unique("callback")
    response = pub.publish("done", title, "x", callback=SocketCallback(on_any=results.append))
    assert response.action == "NOTIFY"
    assert rows_titled(gol, title) == [(title, "x")]
    # Let any callback waiter see gol's EOF before looking (bounded, not a timing assert).
    for thread in threading.enumerate():
        if thread.name == "gntp-callback":
            thread.join(TIMEOUT)
            assert not thread.is_alive()
    assert results == []


# -- binary icons -----------------------------------------------------------------------


def test_binary_icons_are_stored_byte_identical(gol: GrowlForLinux, gol_app_name: str) -> None:
    # A section with a zero byte must come last in a message: see the next test.
    app_icon, event_icon = icon_bytes(b"app", zeros=False), icon_bytes(b"event")
    note_icon = icon_bytes(b"note")
    pub = publisher(gol_app_name, [Event("done", icon=Resource(event_icon))],
                    icon=Resource(app_icon))
    pub.register()
    title = unique("with icon")
    pub.publish("done", title, "look", icon=Resource(note_icon))

    ids = {name: hashlib.md5(data).hexdigest()
           for name, data in (("app", app_icon), ("event", event_icon), ("note", note_icon))}
    [row] = app_rows(gol, gol_app_name)
    assert row["app_icon"] == "x-growl-resource://" + ids["app"]
    assert row["icon"] == "x-growl-resource://" + ids["event"]
    [note] = [r for r in gol.notifications() if r["title"] == title]
    assert note["icon"] == "x-growl-resource://" + ids["note"]
    assert gol.resource(ids["app"]) == app_icon
    assert gol.resource(ids["event"]) == event_icon
    assert gol.resource(ids["note"]) == note_icon


def test_sections_after_one_with_a_zero_byte_are_lost(gol: GrowlForLinux,
                                                      gol_app_name: str) -> None:
    # Observed in gol 0.8.5: it looks for the next section with C-string functions, so
    # once a section holds a zero byte, the sections after it in that message are dropped.
    first, second = icon_bytes(b"first"), icon_bytes(b"second", zeros=False)
    pub = publisher(gol_app_name, [Event("done", icon=Resource(second))],
                    icon=Resource(first))
    assert pub.register().action == "REGISTER"
    assert gol.resource(hashlib.md5(first).hexdigest()) == first
    assert gol.resource(hashlib.md5(second).hexdigest()) is None
    [row] = app_rows(gol, gol_app_name)
    assert row["icon"] == "x-growl-resource://" + hashlib.md5(second).hexdigest()


def test_icon_with_key_hash_is_cut_at_the_first_zero_byte(gol: GrowlForLinux,
                                                          gol_app_name: str) -> None:
    # gol copies a section as a C string when a key hash is present: the bytes after the
    # first zero are not the ones sent (it keeps the length). A zero-free icon survives.
    with_zero = b"GIF89a" + uuid.uuid4().hex.encode() + b"\x00after-the-zero" * 4
    zero_free = b"GIF89a" + uuid.uuid4().hex.encode() + b"\r\n\r\n no zero here"
    pub = publisher(gol_app_name, password="anything", hash_algorithm="SHA256")
    pub.register()
    pub.publish("done", unique("zero"), icon=Resource(with_zero))
    pub.publish("done", unique("no zero"), icon=Resource(zero_free))

    stored = gol.resource(hashlib.md5(with_zero).hexdigest())
    assert stored is not None
    cut = with_zero.index(0)
    assert stored[:cut] == with_zero[:cut]
    assert stored != with_zero
    assert gol.resource(hashlib.md5(zero_free).hexdigest()) == zero_free


# -- key hashes -------------------------------------------------------------------------


@pytest.mark.parametrize("hash_algorithm", ["MD5", "SHA1", "SHA256"])
def test_key_hashes(gol: GrowlForLinux, gol_app_name: str, hash_algorithm: str) -> None:
    pub = publisher(gol_app_name, [Event("done", "Done")], password="pw ✓",
                    hash_algorithm=hash_algorithm)
    assert pub.register().action == "REGISTER"
    title = unique(f"hashed {hash_algorithm} ☃")
    assert pub.publish("done", title, "text\nmore").action == "NOTIFY"
    assert rows_titled(gol, title) == [(title, "text\nmore")]
    assert [(r["name"], r["display"], r["enable"]) for r in app_rows(gol, gol_app_name)] == [
        ("done", "Done", 1)
    ]


def test_sha512_is_answered_with_an_error(gol: GrowlForLinux, gol_app_name: str) -> None:
    pub = publisher(gol_app_name, password="pw", hash_algorithm="SHA512")
    with pytest.raises(GNTPServerError) as info:
        pub.register()
    assert info.value.code is None
    assert info.value.description == "Invalid request"
    title = unique("sha512")
    with pytest.raises(GNTPServerError) as info:
        pub.publish("done", title)
    assert (info.value.code, info.value.description) == (None, "Invalid request")
    assert "check the password" in str(info.value) and "no SHA512" in str(info.value)
    assert app_rows(gol, gol_app_name) == []
    assert rows_titled(gol, title) == []


# -- encryption (gol configured with a password) ----------------------------------------


def test_aes_with_the_configured_password(gol_with_password: GrowlForLinux,
                                          gol_app_name: str) -> None:
    gol = gol_with_password
    pub = publisher(gol_app_name, [Event("done", "Fertig ✓"), Event("off", enabled=False)],
                    password=GOL_PASSWORD, hash_algorithm="SHA256", encryption="AES")
    assert pub.register().action == "REGISTER"
    title = unique("verschlüsselt ☃")
    text = "AES-192\nzweite Zeile"
    assert pub.publish("done", title, text, sticky=True).action == "NOTIFY"
    assert rows_titled(gol, title) == [(title, text)]
    assert [(r["name"], r["display"], r["enable"]) for r in app_rows(gol, gol_app_name)] == [
        ("done", "Fertig ✓", 1), ("off", "Fog", 0)
    ]


def test_aes_with_a_wrong_password_is_refused(gol_with_password: GrowlForLinux,
                                              gol_app_name: str) -> None:
    gol = gol_with_password
    good = publisher(gol_app_name, password=GOL_PASSWORD, encryption="AES")
    good.register()
    bad = publisher(gol_app_name, password="not " + GOL_PASSWORD, encryption="AES")
    title = unique("wrong key")
    with pytest.raises(GNTPServerError) as info:
        bad.publish("done", title)
    assert (info.value.code, info.value.description) == (None, "Invalid data")
    assert GOL_PASSWORD not in str(info.value)
    assert "check the password (and hash/encryption settings)" in str(info.value)
    assert rows_titled(gol, title) == []


def test_control_characters_arrive_as_a_visible_mark(gol: GrowlForLinux,
                                                     gol_app_name: str) -> None:
    pub = publisher(gol_app_name)
    pub.register()
    title = unique("nul")
    assert pub.publish("done", title + "\x00", "a\x00b\x1bc\td\ne").action == "NOTIFY"
    assert rows_titled(gol, title + "\ufffd") == [(title + "\ufffd", "a\ufffdb\ufffdc\td\ne")]


#: How often a DES/3DES request is retried when gol saw no header at all (see below).
DES_ATTEMPTS = 6


@pytest.mark.parametrize(
    ("hash_algorithm", "encryption"), [("MD5", "DES"), ("SHA256", "DES"), ("SHA256", "3DES")]
)
def test_des_and_3des_lose_the_first_header(
    gol_with_password: GrowlForLinux, gol_app_name: str, hash_algorithm: str, encryption: str
) -> None:
    """gol decrypts DES/3DES with a wrong IV, so the first 8 bytes come out garbled.

    Our header text starts with ``Application-Name: `` (18 bytes), so exactly that header
    is lost — gol registers the type under app name '(NULL)' — and everything after it
    arrives intact: the display name, the enabled flag, the title and the text.

    gol's "IV" is the address of its IV pointer (``&iv`` in gol.c), unknown to us, and it
    reads the decrypted text as a C string: when one of the 8 garbled bytes is NUL (about
    1 request in 32) it sees no header at all. A REGISTER then gets ``-OK`` and stores
    nothing, a NOTIFY gets ``-ERROR Invalid data``. Only that outcome is retried.
    """
    gol = gol_with_password
    event = f"evt-{uuid.uuid4().hex[:10]}"  # unique: the app name is what gets lost
    pub = publisher(gol_app_name, [Event(event, "Anzeige ✓")], password=GOL_PASSWORD,
                    hash_algorithm=hash_algorithm, encryption=encryption)
    for _ in range(DES_ATTEMPTS):
        assert pub.register().action == "REGISTER"
        stored = [r for r in gol.applications() if r["name"] == event]
        if stored:
            break
    assert [(r["app_name"], r["display"], r["enable"]) for r in stored] == [
        ("(NULL)", "Anzeige ✓", 1)
    ]
    assert app_rows(gol, gol_app_name) == []

    title = unique(f"{encryption} Grüße ☃")
    text = "Zeile eins\nZeile zwei"
    for _ in range(DES_ATTEMPTS):
        try:
            response = pub.publish(event, title, text)
        except GNTPServerError as exc:
            assert (exc.code, exc.description) == (None, "Invalid data")
            continue
        assert response.action == "NOTIFY"
        break
    assert rows_titled(gol, title) == [(title, text)]
