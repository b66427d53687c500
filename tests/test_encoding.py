"""Requests to bytes: golden bytes, header rules, resources and the encrypted layout.

Randomness is injected (``Security(randbytes=...)``), so every byte is predictable. Where
an expected value needs a hash or a cipher, it is computed here with hashlib and the
``cryptography`` primitives directly, independently of :mod:`gntp_jupyter.gntp.security`.
"""

from __future__ import annotations

import hashlib
import re

import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from gntp_jupyter.gntp import (
    Event,
    GNTPValidationError,
    NotifyRequest,
    RegisterRequest,
    Resource,
    Security,
    SubscribeRequest,
)
from gntp_jupyter.gntp.encoding import (
    PlainNotify,
    encode_message,
    encode_request,
    encode_response,
)

PASSWORD = "s3cret pässword"
SALT = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
BLOCK = {"AES": 16, "DES": 8, "3DES": 8}
INFO_LINE = re.compile(
    rb"GNTP/1\.0 (REGISTER|NOTIFY|SUBSCRIBE|-OK|-ERROR|-CALLBACK) "
    rb"(NONE|(AES|DES|3DES):[0-9A-F]+)( (MD5|SHA1|SHA256|SHA512):[0-9A-F]+\.[0-9A-F]+)?\r\n"
)


class Scripted:
    """``randbytes`` that hands out prepared values in order, checking each length."""

    def __init__(self, *outputs: bytes) -> None:
        self.outputs = list(outputs)
        self.calls = 0

    def __call__(self, n: int) -> bytes:
        out = self.outputs[self.calls]
        assert len(out) == n, f"draw {self.calls}: asked for {n} bytes, prepared {len(out)}"
        self.calls += 1
        return out


# -- independent reference crypto ------------------------------------------------------


def ref_key(password: str, alg: str, salt: bytes) -> bytes:
    return hashlib.new(alg.lower(), password.encode() + salt).digest()


def ref_keyhash(password: str, alg: str, salt: bytes) -> str:
    return hashlib.new(alg.lower(), ref_key(password, alg, salt)).hexdigest().upper()


def ref_cipher(alg: str, key: bytes, mode: modes.Mode) -> Cipher:
    if alg == "AES":
        return Cipher(algorithms.AES(key[:24]), mode)
    k = key[:8] * 3 if alg == "DES" else key[:24]
    return Cipher(TripleDES(k), mode)


def ref_encrypt(alg: str, key: bytes, iv: bytes, data: bytes) -> bytes:
    padder = padding.PKCS7(BLOCK[alg] * 8).padder()
    enc = ref_cipher(alg, key, modes.CBC(iv)).encryptor()
    return enc.update(padder.update(data) + padder.finalize()) + enc.finalize()


def ref_decrypt(alg: str, key: bytes, iv: bytes, data: bytes) -> bytes:
    dec = ref_cipher(alg, key, modes.CBC(iv)).decryptor()
    unpadder = padding.PKCS7(BLOCK[alg] * 8).unpadder()
    return unpadder.update(dec.update(data) + dec.finalize()) + unpadder.finalize()


def iv_placing(alg: str, key: bytes, plaintext: bytes, index: int, block: bytes) -> bytes:
    """The IV that makes ciphertext block ``index`` equal ``block`` (CBC run backwards).

    In CBC, C[i] = E(P[i] xor C[i-1]) with C[-1] = IV, so C[i-1] = D(C[i]) xor P[i].
    """
    size = BLOCK[alg]
    padder = padding.PKCS7(size * 8).padder()
    padded = padder.update(plaintext) + padder.finalize()
    raw = ref_cipher(alg, key, modes.ECB()).decryptor()
    wanted = block
    for i in range(index, -1, -1):
        plain = padded[i * size : (i + 1) * size]
        wanted = bytes(a ^ b for a, b in zip(raw.update(wanted), plain, strict=True))
    return wanted


# -- golden bytes ----------------------------------------------------------------------


def test_register_golden_bytes() -> None:
    icon = b"\x89PNG\r\n\x1a\n\x00\x00icon"
    rid = hashlib.md5(icon).hexdigest()
    request = RegisterRequest(
        "My App",
        (Event("done", "Job finished"), Event("fail", enabled=False, icon="http://h/i.png")),
        Resource(icon),
        headers={"Origin-Machine-Name": "box", "X-Run": "7"},
    )
    expected = (
        b"GNTP/1.0 REGISTER NONE\r\n"
        b"Application-Name: My App\r\n"
        b"Application-Icon: x-growl-resource://" + rid.encode() + b"\r\n"
        b"Notifications-Count: 2\r\n"
        b"Origin-Machine-Name: box\r\n"
        b"X-Run: 7\r\n"
        b"\r\n"
        b"Notification-Name: done\r\n"
        b"Notification-Display-Name: Job finished\r\n"
        b"Notification-Enabled: True\r\n"
        b"\r\n"
        b"Notification-Name: fail\r\n"
        b"Notification-Enabled: False\r\n"
        b"Notification-Icon: http://h/i.png\r\n"
        b"\r\n"
        b"Identifier: " + rid.encode() + b"\r\n"
        b"Length: " + str(len(icon)).encode() + b"\r\n"
        b"\r\n" + icon + b"\r\n\r\n"
    )
    assert encode_request(request) == expected


def test_notify_golden_bytes_with_key_hash() -> None:
    request = NotifyRequest(
        "My App", "done", "Zürich ☃", "line one\nline two",
        notification_id="n-1", sticky=True, priority=-2, coalescing_id="cell-3",
        callback_context="ctx", callback_context_type="string",
        headers={"Data-Cell": "3"},
    )
    rand = Scripted(SALT)
    data = encode_request(request, Security(PASSWORD, "SHA256", randbytes=rand))
    expected = (
        f"GNTP/1.0 NOTIFY NONE SHA256:{ref_keyhash(PASSWORD, 'SHA256', SALT)}.{SALT.hex().upper()}"
        "\r\n"
        "Application-Name: My App\r\n"
        "Notification-Name: done\r\n"
        "Notification-ID: n-1\r\n"
        "Notification-Title: Zürich ☃\r\n"
        "Notification-Text: line one\nline two\r\n"
        "Notification-Sticky: True\r\n"
        "Notification-Priority: -2\r\n"
        "Notification-Coalescing-ID: cell-3\r\n"
        "Notification-Callback-Context: ctx\r\n"
        "Notification-Callback-Context-Type: string\r\n"
        "Data-Cell: 3\r\n"
        "\r\n"
    ).encode()
    assert data == expected
    assert rand.calls == 1


def test_notify_with_url_callback_golden_bytes() -> None:
    request = NotifyRequest(
        "App", "done", "T", notification_id="n-2", callback_target="https://example.org/x?a=1"
    )
    assert encode_request(request) == (
        b"GNTP/1.0 NOTIFY NONE\r\n"
        b"Application-Name: App\r\n"
        b"Notification-Name: done\r\n"
        b"Notification-ID: n-2\r\n"
        b"Notification-Title: T\r\n"
        b"Notification-Text: \r\n"
        b"Notification-Callback-Target: https://example.org/x?a=1\r\n"
        b"\r\n"
    )


@pytest.mark.parametrize("alg", ["MD5", "SHA1", "SHA256", "SHA512"])
def test_subscribe_golden_bytes(alg: str) -> None:
    request = SubscribeRequest("laptop", subscriber_id="0f1e-2d3c", subscriber_port=23054)
    data = encode_request(request, Security(PASSWORD, alg, randbytes=Scripted(SALT)))
    assert data == (
        f"GNTP/1.0 SUBSCRIBE NONE {alg}:{ref_keyhash(PASSWORD, alg, SALT)}.{SALT.hex().upper()}"
        "\r\n"
        "Subscriber-ID: 0f1e-2d3c\r\n"
        "Subscriber-Name: laptop\r\n"
        "Subscriber-Port: 23054\r\n"
        "\r\n"
    ).encode()


def test_response_golden_bytes() -> None:
    assert encode_response("-OK", [("Response-Action", "NOTIFY"), ("Notification-ID", "n")]) == (
        b"GNTP/1.0 -OK NONE\r\nResponse-Action: NOTIFY\r\nNotification-ID: n\r\n\r\n"
    )
    assert encode_response("-ERROR", [("Error-Code", 402), ("Error-Description", "no")]) == (
        b"GNTP/1.0 -ERROR NONE\r\nError-Code: 402\r\nError-Description: no\r\n\r\n"
    )


# -- info line -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alg", "enc"),
    [("SHA256", None), ("MD5", None), ("SHA1", "DES"), ("SHA256", "AES"), ("SHA512", "3DES")],
)
def test_info_line_format(alg: str, enc: str | None) -> None:
    iv = bytes(range(0xA0, 0xA0 + (BLOCK[enc] if enc else 0)))
    rand = Scripted(SALT, *([iv] if enc else []))
    data = encode_request(
        NotifyRequest("App", "done", "T"), Security(PASSWORD, alg, enc, randbytes=rand)
    )
    line = data.split(b"\r\n", 1)[0] + b"\r\n"
    assert INFO_LINE.fullmatch(line)
    assert b"  " not in line and not line.endswith(b" \r\n")
    enc_token = f"{enc}:{iv.hex().upper()}" if enc else "NONE"
    hash_token = f"{alg}:{ref_keyhash(PASSWORD, alg, SALT)}.{SALT.hex().upper()}"
    assert line == f"GNTP/1.0 NOTIFY {enc_token} {hash_token}\r\n".encode()
    assert rand.calls == len(rand.outputs)


def test_no_password_no_hash_no_randomness() -> None:
    rand = Scripted()
    data = encode_request(NotifyRequest("App", "done", "T"), Security(randbytes=rand))
    assert data.startswith(b"GNTP/1.0 NOTIFY NONE\r\n")
    assert rand.calls == 0


# -- header rules ----------------------------------------------------------------------


def header_lines(data: bytes) -> list[str]:
    return data.decode().split("\r\n\r\n", 1)[0].split("\r\n")[1:]


def test_booleans_are_True_and_False() -> None:
    on = encode_request(NotifyRequest("A", "e", "T", sticky=True))
    off = encode_request(NotifyRequest("A", "e", "T", sticky=False))
    assert "Notification-Sticky: True" in header_lines(on)
    assert not any(line.startswith("Notification-Sticky") for line in header_lines(off))
    reg = encode_request(RegisterRequest("A", (Event("a"), Event("b", enabled=False)))).decode()
    assert "Notification-Enabled: True\r\n" in reg
    assert "Notification-Enabled: False\r\n" in reg


def test_notification_enabled_is_always_sent() -> None:
    request = RegisterRequest("A", (Event("a"), Event("b"), Event("c", enabled=False)))
    assert encode_request(request).count(b"\r\nNotification-Enabled: ") == 3


def test_notification_text_is_always_present_even_empty() -> None:
    lines = header_lines(encode_request(NotifyRequest("A", "e", "T")))
    assert "Notification-Text: " in lines


def test_empty_optional_headers_are_left_out() -> None:
    request = RegisterRequest("A", (Event("e", display_name=""),), headers={"X-Empty": ""})
    data = encode_request(request)
    assert b"Notification-Display-Name" not in data
    assert b"X-Empty" not in data
    notify = encode_request(NotifyRequest("A", "e", "T", coalescing_id=""))
    assert b"Coalescing" not in notify


def test_cr_never_reaches_the_wire_and_lf_is_kept() -> None:
    request = NotifyRequest(
        "A", "e", "title\r\nX-Injected: 1", "a\rb\r\nc\nd", headers={"X-Note": "p\r\nq"}
    )
    data = encode_request(request)
    head = data[: data.index(b"\r\n\r\n")]
    lines = head.split(b"\r\n")
    assert all(b"\r" not in line for line in lines)
    assert b"Notification-Title: title\nX-Injected: 1" in lines
    assert b"Notification-Text: a\nb\nc\nd" in lines
    assert b"X-Note: p\nq" in lines
    assert not any(line.startswith(b"X-Injected") for line in lines)


def test_header_repeated_in_one_block_is_refused() -> None:
    request = NotifyRequest("A", "e", "T", headers=[("X-Tag", "1"), ("x-tag", "2")])
    with pytest.raises(GNTPValidationError, match="sent twice"):
        encode_request(request)
    with pytest.raises(GNTPValidationError, match="sent twice"):
        encode_message("NOTIFY", [[("Notification-Title", "a"), ("notification-title", "b")]])


def test_same_header_in_different_blocks_is_fine() -> None:
    data = encode_request(RegisterRequest("A", (Event("a"), Event("b"))))
    assert data.count(b"Notification-Name: ") == 2


def test_user_x_padding_header_survives_growl_for_linux_padding() -> None:
    # growl-for-linux stalls when a request over 1024 bytes leaves 1-3 bytes for its
    # last 1024-byte read (growl-for-linux.md): find a text length that does that.
    def request(n: int) -> NotifyRequest:
        return NotifyRequest("A", "e", "T", "x" * n, headers={"X-Padding": "mine"})

    def stalls(size: int) -> bool:
        return size > 1024 and size % 1024 in (1, 2, 3)

    n = next(n for n in range(2048) if stalls(len(encode_message("NOTIFY", request(n).blocks()))))
    data = encode_request(request(n))
    assert not stalls(len(data))
    head = data[: data.index(b"\r\n\r\n")].split(b"\r\n")
    assert b"X-Padding: mine" in head
    assert sum(line.startswith(b"X-GNTP-Jupyter-Padding: .") for line in head) == 1


# -- resources -------------------------------------------------------------------------


def sections(data: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
    """Split an unencrypted message into header text and its binary sections."""
    end = data.index(b"\r\n\r\n") + 4
    head, rest = data[:end], data[end:]
    if head.startswith(b"GNTP/1.0 REGISTER"):  # one more block per notification type
        count = int(re.search(rb"Notifications-Count: (\d+)", head)[1])
        for _ in range(count):
            end = rest.index(b"\r\n\r\n") + 4
            head, rest = head + rest[:end], rest[end:]
    found = []
    while rest:
        m = re.match(rb"Identifier: ([^\r]*)\r\nLength: (\d+)\r\n\r\n", rest)
        assert m, rest[:80]
        n = int(m[2])
        body = rest[m.end() : m.end() + n]
        assert rest[m.end() + n : m.end() + n + 4] == b"\r\n\r\n"
        found.append((m[1].decode(), body))
        rest = rest[m.end() + n + 4 :]
    return head, found


def test_resource_ids_are_content_derived_hex() -> None:
    a, b = b"\x00\x01icon-a\r\n\r\n", b"icon-b"
    first = encode_request(NotifyRequest("A", "e", "T", notification_id="1", icon=Resource(a)))
    again = encode_request(NotifyRequest("A", "e", "U", notification_id="2", icon=Resource(a)))
    other = encode_request(NotifyRequest("A", "e", "T", notification_id="1", icon=Resource(b)))
    ids = [sections(d)[1][0][0] for d in (first, again, other)]
    assert ids[0] == ids[1] == hashlib.md5(a).hexdigest()
    assert ids[2] == hashlib.md5(b).hexdigest()
    assert all(re.fullmatch(r"[0-9a-fA-F]+", i) for i in ids)
    assert sections(first)[1] == [(ids[0], a)]  # data with CRLF CRLF inside survives


def test_resource_from_file_path(tmp_path) -> None:
    path = tmp_path / "icon.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n file bytes")
    data = encode_request(NotifyRequest("A", "e", "T", icon=Resource(path)))
    assert sections(data)[1] == [(hashlib.md5(b"\x89PNG\r\n\x1a\n file bytes").hexdigest(),
                                  b"\x89PNG\r\n\x1a\n file bytes")]


def test_same_id_never_referenced_twice_in_one_message() -> None:
    shared, own = Resource(b"shared-bytes"), Resource(b"own-bytes")
    request = RegisterRequest(
        "A", (Event("a", icon=shared), Event("b", icon=own), Event("c", icon=shared)), shared
    )
    head, found = sections(encode_request(request))
    refs = re.findall(rb"x-growl-resource://([0-9A-Za-z]+)", head)
    assert len(refs) == 4
    assert len(set(refs)) == 4, "an id is referenced twice"
    assert sorted(r.decode() for r in refs) == sorted(rid for rid, _ in found)
    by_id = dict(found)
    assert [by_id[r.decode()] for r in refs] == [
        b"shared-bytes", b"shared-bytes", b"own-bytes", b"shared-bytes"
    ]
    assert refs[0].decode() == hashlib.md5(b"shared-bytes").hexdigest()


def test_sections_follow_all_header_blocks_in_reference_order() -> None:
    app, ev = Resource(b"app-icon"), Resource(b"event-icon")
    data = encode_request(RegisterRequest("A", (Event("a", icon=ev),), app))
    head, found = sections(data)
    assert head.endswith(b"Notification-Icon: x-growl-resource://"
                         + hashlib.md5(b"event-icon").hexdigest().encode() + b"\r\n\r\n")
    assert [body for _, body in found] == [b"app-icon", b"event-icon"]


def test_resource_without_data_is_refused() -> None:
    with pytest.raises(GNTPValidationError, match="no data"):
        encode_request(NotifyRequest("A", "e", "T", icon=Resource()))


# -- encrypted layout ------------------------------------------------------------------


def split_encrypted(data: bytes) -> tuple[bytes, bytes, list[tuple[str, int, bytes]]]:
    """Info line, the encrypted header chunk, and (id, Length, ciphertext) per section."""
    info, _, rest = data.partition(b"\r\n")
    end = rest.index(b"\r\n\r\n")
    chunk, rest = rest[:end], rest[end + 4 :]
    found = []
    while rest:
        m = re.match(rb"Identifier: ([0-9a-fA-F]+)\r\nLength: (\d+)\r\n\r\n", rest)
        assert m, rest[:80]
        n = int(m[2])
        found.append((m[1].decode(), n, rest[m.end() : m.end() + n]))
        assert rest[m.end() + n : m.end() + n + 4] == b"\r\n\r\n"
        rest = rest[m.end() + n + 4 :]
    return info, chunk, found


@pytest.mark.parametrize(("alg", "enc"), [("SHA256", "AES"), ("SHA1", "DES"), ("SHA512", "3DES")])
def test_encrypted_layout(alg: str, enc: str) -> None:
    app_icon, ev_icon = b"\x00app\r\n\r\nicon" * 5, b"event icon bytes"
    request = RegisterRequest("Äpp", (Event("a", "A!", icon=Resource(ev_icon)), Event("b")),
                              Resource(app_icon))
    iv = bytes(range(1, BLOCK[enc] + 1))
    data = encode_request(request, Security(PASSWORD, alg, enc, randbytes=Scripted(SALT, iv)))
    info, chunk, found = split_encrypted(data)
    assert info == (f"GNTP/1.0 REGISTER {enc}:{iv.hex().upper()} "
                    f"{alg}:{ref_keyhash(PASSWORD, alg, SALT)}.{SALT.hex().upper()}").encode()

    key = ref_key(PASSWORD, alg, SALT)
    plain_head, plain_sections = sections(encode_request(request))
    # The whole header text, blank lines between blocks included, is ONE encrypted chunk.
    assert ref_decrypt(enc, key, iv, chunk) == plain_head.split(b"\r\n", 1)[1][:-2]
    assert chunk == ref_encrypt(enc, key, iv, plain_head.split(b"\r\n", 1)[1][:-2])
    assert b"\r\n\r\n" not in chunk and not chunk.endswith(b"\r\n")
    # Binary sections: plain Identifier/Length, data encrypted separately, Length = ciphertext.
    assert [rid for rid, _, _ in found] == [rid for rid, _ in plain_sections]
    for (_, length, body), (_, plain) in zip(found, plain_sections, strict=True):
        assert length == len(body) != len(plain)
        assert length % BLOCK[enc] == 0
        assert ref_decrypt(enc, key, iv, body) == plain


def test_encrypted_notify_without_sections_ends_with_one_blank_line() -> None:
    iv = bytes(16)
    data = encode_request(NotifyRequest("A", "e", "T"),
                          Security(PASSWORD, "SHA256", "AES", randbytes=Scripted(SALT, iv)))
    info, chunk, found = split_encrypted(data)
    assert data == info + b"\r\n" + chunk + b"\r\n\r\n"
    assert found == []


@pytest.mark.parametrize("enc", ["AES", "DES", "3DES"])
@pytest.mark.parametrize("flaw", ["contains CRLFCRLF", "ends in CRLF"])
def test_iv_is_redrawn_when_ciphertext_would_break_framing(enc: str, flaw: str) -> None:
    request = NotifyRequest("App", "done", "A title", "some text", notification_id="n-9",
                            icon=Resource(b"icon"))
    plain = sections(encode_request(request))[0].split(b"\r\n", 1)[1][:-2]
    key = ref_key(PASSWORD, "SHA256", SALT)
    size = BLOCK[enc]
    blocks = (len(plain) // size) + 1
    if flaw == "contains CRLFCRLF":
        bad_iv = iv_placing(enc, key, plain, 1, b"B" * 2 + b"\r\n\r\n" + b"B" * (size - 6))
    else:
        bad_iv = iv_placing(enc, key, plain, blocks - 1, b"E" * (size - 2) + b"\r\n")
    good_iv = bytes(range(100, 100 + size))
    bad_ct, good_ct = (ref_encrypt(enc, key, iv, plain) for iv in (bad_iv, good_iv))
    # Preconditions: the constructed IV really breaks framing, the other one does not.
    if flaw == "contains CRLFCRLF":
        assert b"\r\n\r\n" in bad_ct
    else:
        assert bad_ct.endswith(b"\r\n")
    assert b"\r\n\r\n" not in good_ct and not good_ct.endswith(b"\r\n")

    rand = Scripted(SALT, bad_iv, good_iv)
    data = encode_request(request, Security(PASSWORD, "SHA256", enc, randbytes=rand))
    assert rand.calls == 3, "the IV was not re-drawn"
    info, chunk, found = split_encrypted(data)
    assert f" {enc}:{good_iv.hex().upper()} ".encode() in info
    assert chunk == good_ct
    # The binary section uses the same (final) IV as the header chunk.
    assert ref_decrypt(enc, key, good_iv, found[0][2]) == b"icon"


# -- the plain NOTIFY template ---------------------------------------------------------


@pytest.mark.parametrize(("title", "text"), [
    ("Training finished", "loss 0.031"), ("Zürich ☃", ""), ("a" * 700, "b" * 100),
])
def test_plain_notify_fills_in_what_encode_request_would_send(title: str, text: str) -> None:
    headers = (("X-Kernel", "k-1"), ("Origin-Machine-Name", "box"))
    data = PlainNotify("My App", "done", headers).encode("n-7", title, text)
    request = NotifyRequest("My App", "done", title, text, notification_id="n-7",
                            headers=headers)
    assert data is not None  # these are what the template is for
    assert data == encode_request(request)


@pytest.mark.parametrize(("title", "text"), [
    ("", "x"), ("   ", "x"), ("line\none", "x"), ("T", "tab\tand\rCR"), ("T", "\x00"),
    (3, "x"), ("T", None), ("T", "x" * 1000),
])
def test_plain_notify_leaves_anything_unusual_to_encode_request(title, text) -> None:
    # Rewritten (control characters), refused (empty, not text) or long enough to
    # need padding: the general path decides.
    assert PlainNotify("App", "done").encode("n-1", title, text) is None


def test_plain_notify_checks_its_names_as_a_request_would() -> None:
    with pytest.raises(GNTPValidationError, match="application name"):
        PlainNotify(" ", "done")
    with pytest.raises(GNTPValidationError, match="event name"):
        PlainNotify("App", "")
