"""Bytes to messages: ResponseParser (what servers send) and RequestParser (what clients send).

Responses are written out byte for byte here, in the forms real servers use
(gntp-protocol.md, "Responses"); requests come from ``encode_request``.
"""

from __future__ import annotations

import hashlib
import time

import pytest

from gntp_jupyter.gntp import (
    CallbackResponse,
    ErrorResponse,
    Event,
    GNTPAuthError,
    GNTPProtocolError,
    GNTPServerError,
    NotifyRequest,
    OKResponse,
    RegisterRequest,
    Resource,
    Security,
    SubscribeRequest,
)
from gntp_jupyter.gntp.encoding import encode_request, encode_response
from gntp_jupyter.gntp.headers import is_gntp_header
from gntp_jupyter.gntp.parsing import (
    DEFAULT_MAX_REQUEST,
    ReceivedRequest,
    RequestParser,
    RequestRejected,
    ResponseParser,
)

OK = (
    b"GNTP/1.0 -OK NONE\r\n"
    b"Response-Action: NOTIFY\r\n"
    b"Notification-ID: n-1\r\n"
    b"Data-Cell: 42\r\n"
    b"\r\n"
)
CALLBACK = (
    b"GNTP/1.0 -CALLBACK NONE\r\n"
    b"Application-Name: App\r\n"
    b"Notification-ID: n-1\r\n"
    b"Notification-Callback-Result: CLICKED\r\n"
    b"Notification-Callback-Timestamp: 2024-05-01 12:00:00Z\r\n"
    b"Notification-Callback-Context: ctx\r\n"
    b"Notification-Callback-Context-Type: string\r\n"
    b"\r\n"
)
ERROR = (
    b"GNTP/1.0 -ERROR NONE\r\n"
    b"Response-Action: NOTIFY\r\n"
    b"Error-Code: 402\r\n"
    b"Error-Description: Unknown notification\r\n"
    b"\r\n"
)
GOL_ERROR = b"GNTP/1.0 -ERROR Invalid data\r\nError-Description: Invalid data\r\n\r\n"
PASSWORD = "Geheimnis ☂"
SALT = bytes(range(16))


def parse_all(data: bytes | list[bytes], **kwargs) -> list:
    """Feed the chunks, then EOF; collect every response."""
    parser = ResponseParser(**kwargs)
    out = []
    for chunk in [data] if isinstance(data, bytes) else data:
        parser.feed(chunk)
        while (message := parser.next_response()) is not None:
            out.append(message)
    parser.feed(b"")
    while (message := parser.next_response()) is not None:
        out.append(message)
    return out


def summary(messages: list) -> list[tuple[str, dict[str, str]]]:
    return [(type(m).__name__, dict(m.headers)) for m in messages]


# -- ResponseParser ----------------------------------------------------------------------


def test_ok_response() -> None:
    [ok] = parse_all(OK)
    assert isinstance(ok, OKResponse)
    assert ok.message_type == "-OK"
    assert ok.action == "NOTIFY"
    assert ok.notification_id == "n-1"
    assert ok.data_headers == {"Data-Cell": "42"}
    assert ok.headers["response-action"] == "NOTIFY"  # names are case-insensitive


def test_callback_response() -> None:
    [cb] = parse_all(CALLBACK)
    assert isinstance(cb, CallbackResponse)
    assert (cb.result, cb.context, cb.context_type) == ("CLICKED", "ctx", "string")
    assert cb.timestamp == "2024-05-01 12:00:00Z"
    assert cb.notification_id == "n-1"


def test_error_response_with_code() -> None:
    [err] = parse_all(ERROR)
    assert isinstance(err, ErrorResponse)
    assert (err.code, err.description) == (402, "Unknown notification")
    exc = err.exception()
    assert type(exc) is GNTPServerError
    assert (exc.code, exc.description) == (402, "Unknown notification")
    assert "402" in str(exc) and "register" in str(exc)


def test_error_400_is_an_auth_error() -> None:
    [err] = parse_all(b"GNTP/1.0 -ERROR NONE\r\nError-Code: 400\r\nError-Description: no\r\n\r\n")
    exc = err.exception()
    assert isinstance(exc, GNTPAuthError)
    assert exc.code == 400
    assert "password" in str(exc)


def test_several_messages_in_one_chunk() -> None:
    messages = parse_all(OK + CALLBACK + ERROR)
    assert [type(m) for m in messages] == [OKResponse, CallbackResponse, ErrorResponse]
    assert summary(messages) == summary(parse_all(OK) + parse_all(CALLBACK) + parse_all(ERROR))


def test_byte_by_byte_feeding() -> None:
    data = OK + CALLBACK
    parser = ResponseParser()
    got = []
    for i in range(len(data)):
        parser.feed(data[i : i + 1])
        message = parser.next_response()
        if message is not None:
            got.append((i, message))
    # Each message appears exactly when its last byte arrives, not before.
    assert [i for i, _ in got] == [len(OK) - 1, len(data) - 1]
    assert summary([m for _, m in got]) == summary(parse_all(data))


def test_leading_crlfs_are_skipped() -> None:
    # Growl on macOS ends every message with an extra CRLF.
    data = b"\r\n\r\n" + OK + b"\r\n" + CALLBACK + b"\r\n\r\n\r\n"
    assert summary(parse_all(data)) == summary(parse_all(OK + CALLBACK))
    assert summary(parse_all([bytes([b]) for b in data])) == summary(parse_all(OK + CALLBACK))


def test_growl_for_linux_error_form() -> None:
    [err] = parse_all(GOL_ERROR)
    assert isinstance(err, ErrorResponse)
    assert err.code is None
    assert err.description == "Invalid data"
    exc = err.exception()
    assert type(exc) is GNTPServerError
    assert exc.code is None
    assert str(exc).startswith("server error: Invalid data — check the password")


@pytest.mark.parametrize("code_line", [b"", b"Error-Code: \r\n", b"Error-Code: abc\r\n"])
def test_missing_or_unusable_error_code_is_none(code_line: bytes) -> None:
    data = b"GNTP/1.0 -ERROR NONE\r\n" + code_line + b"Error-Description: broken\r\n\r\n"
    [err] = parse_all(data)
    assert err.code is None
    assert err.description == "broken"


@pytest.mark.parametrize("cut", [1, 10, len(OK) // 2, len(OK) - 2, len(OK) - 1])
def test_eof_before_the_end_is_an_error(cut: int) -> None:
    parser = ResponseParser()
    parser.feed(OK[:cut])
    assert parser.next_response() is None  # not yet an error: more may come
    parser.feed(b"")
    with pytest.raises(GNTPProtocolError, match="closed in the middle"):
        parser.next_response()
    with pytest.raises(GNTPProtocolError):  # stays an error, never a wait
        parser.next_response()


def test_eof_after_a_complete_message_is_clean() -> None:
    parser = ResponseParser()
    parser.feed(OK + b"\r\n")
    parser.feed(b"")
    assert isinstance(parser.next_response(), OKResponse)
    assert parser.next_response() is None


def test_eof_after_first_of_two_messages() -> None:
    parser = ResponseParser()
    parser.feed(OK + CALLBACK[:20])
    parser.feed(b"")
    assert isinstance(parser.next_response(), OKResponse)
    with pytest.raises(GNTPProtocolError):
        parser.next_response()


def test_size_cap_without_end_of_message() -> None:
    parser = ResponseParser(max_size=200)
    parser.feed(b"GNTP/1.0 -OK NONE\r\nX-Pad: " + b"a" * 150)
    assert parser.next_response() is None
    parser.feed(b"a" * 60)  # over the cap, still no CRLF CRLF, no EOF
    with pytest.raises(GNTPProtocolError, match="larger than 200 bytes"):
        parser.next_response()


def test_size_cap_on_a_complete_message() -> None:
    big = b"GNTP/1.0 -OK NONE\r\nX-Pad: " + b"a" * 300 + b"\r\n\r\n"
    with pytest.raises(GNTPProtocolError, match="larger than"):
        parse_all(big, max_size=200)
    assert len(parse_all(big, max_size=len(big))) == 1


def test_size_cap_is_per_message() -> None:
    data = OK * 10
    assert len(parse_all(data, max_size=len(OK))) == 10


@pytest.mark.parametrize(
    ("spelling", "result"),
    [
        ("CLICKED", "CLICKED"), ("clicked", "CLICKED"), ("Click", "CLICKED"),
        ("CLICK", "CLICKED"), ("CLOSED", "CLOSED"), ("Close", "CLOSED"),
        ("closed", "CLOSED"), ("CLOSE", "CLOSED"), ("TIMEDOUT", "TIMEDOUT"),
        ("TimedOut", "TIMEDOUT"), ("TIMEOUT", "TIMEDOUT"), ("timeout", "TIMEDOUT"),
        ("exploded", None), ("", None),
    ],
)  # fmt: skip
def test_callback_result_spellings(spelling: str, result: str | None) -> None:
    data = CALLBACK.replace(b"Result: CLICKED", b"Result: " + spelling.encode())
    [cb] = parse_all(data)
    assert cb.result == result


def encrypted_ok(enc: str, hash_alg: str = "SHA256") -> bytes:
    iv = bytes(16 if enc == "AES" else 8)
    draws = iter([SALT, iv])  # salt first, then the IV
    security = Security(PASSWORD, hash_alg, enc, randbytes=lambda n: next(draws))
    return encode_response(
        "-OK", [("Response-Action", "NOTIFY"), ("Notification-ID", "enc-1")], security
    )


@pytest.mark.parametrize("enc", ["AES", "DES", "3DES"])
def test_encrypted_ok_is_decrypted_with_the_password(enc: str) -> None:
    data = encrypted_ok(enc)
    assert data.startswith(f"GNTP/1.0 -OK {enc}:".encode())
    assert b"Notification-ID" not in data
    [ok] = parse_all(data, password=PASSWORD)
    assert isinstance(ok, OKResponse)
    assert (ok.action, ok.notification_id) == ("NOTIFY", "enc-1")


def test_encrypted_ok_without_password_is_a_protocol_error() -> None:
    with pytest.raises(GNTPProtocolError, match="no key"):
        parse_all(encrypted_ok("AES"))


def test_encrypted_ok_with_wrong_password_is_a_protocol_error() -> None:
    with pytest.raises(GNTPProtocolError, match="could not decrypt"):
        parse_all(encrypted_ok("AES"), password="wrong")


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/1.1 400 Bad Request\r\n\r\n",
        b"GNTP/1.0 NOTIFY NONE\r\nApplication-Name: x\r\n\r\n",
        b"GNTP/1.0 -WHAT NONE\r\n\r\n",
        b"\xff\xfe garbage\r\n\r\n",
    ],
)
def test_not_a_response_is_a_protocol_error(data: bytes) -> None:
    with pytest.raises(GNTPProtocolError):
        parse_all(data)


# -- RequestParser -----------------------------------------------------------------------


def parse_request(data: bytes | list[bytes], **kwargs) -> ReceivedRequest:
    parser = RequestParser(**kwargs)
    chunks = [data] if isinstance(data, bytes) else data
    for chunk in chunks:
        parser.feed(chunk)
        request = parser.next_request()
        if request is not None:
            return request
    raise AssertionError("the request never completed")


def reject(data: bytes, **kwargs) -> RequestRejected:
    parser = RequestParser(**kwargs)
    parser.feed(data)
    with pytest.raises(RequestRejected) as info:
        parser.next_request()
    return info.value


ICON = b"\x89PNG\r\n\x1a\n\x00\x00\r\n\r\nicon-bytes"
EV_ICON = b"\x00event icon\r\n"
REGISTER = RegisterRequest(
    "Äpp ☃",
    (Event("done", "Done!", icon=Resource(EV_ICON)), Event("fail", enabled=False)),
    Resource(ICON),
    headers={"X-Build": "17", "Origin-Software-Name": "pytest"},
)
NOTIFY = NotifyRequest(
    "Äpp ☃", "done", "Grüße\nzwei", "Text ✓\nmehr", notification_id="id-7", sticky=True,
    priority=2, icon=Resource(ICON), coalescing_id="c1", callback_context="ctx",
    callback_context_type="string", headers={"Data-Cell": "5"},
)
SUBSCRIBE = SubscribeRequest("laptop", subscriber_id="sub-1", subscriber_port=23054)


def expected_blocks(request) -> list[dict[str, str]]:
    """What the request says it sends, rendered the way the wire carries values."""
    out = []
    for block in request.blocks():
        rendered = {}
        for name, value in block:
            if isinstance(value, bool):
                rendered[name] = "True" if value else "False"
            elif isinstance(value, Resource):
                rendered[name] = "x-growl-resource://" + hashlib.md5(value.data).hexdigest()
            else:
                rendered[name] = str(value)
        out.append({k: v for k, v in rendered.items() if v or k == "Notification-Text"})
    return out


def as_dicts(received: ReceivedRequest) -> list[dict[str, str]]:
    return [dict(block.items_raw()) for block in received.blocks]


def test_register_round_trip() -> None:
    got = parse_request(encode_request(REGISTER))
    assert got.message_type == "REGISTER"
    assert got.version == "1.0"
    assert as_dicts(got) == expected_blocks(REGISTER)
    assert got.resources == {
        hashlib.md5(ICON).hexdigest(): ICON,
        hashlib.md5(EV_ICON).hexdigest(): EV_ICON,
    }
    assert (got.encryption, got.hash_algorithm) == (None, None)


def test_notify_round_trip() -> None:
    got = parse_request(encode_request(NOTIFY))
    assert got.message_type == "NOTIFY"
    assert as_dicts(got) == expected_blocks(NOTIFY)
    assert got.headers["Notification-Title"] == "Grüße\nzwei"
    assert got.resources == {hashlib.md5(ICON).hexdigest(): ICON}


def test_subscribe_round_trip() -> None:
    data = encode_request(SUBSCRIBE, Security(PASSWORD, "SHA512"))
    got = parse_request(data, password=PASSWORD)
    assert got.message_type == "SUBSCRIBE"
    assert got.hash_algorithm == "SHA512"
    assert as_dicts(got) == expected_blocks(SUBSCRIBE)


@pytest.mark.parametrize("request_", [REGISTER, NOTIFY, SUBSCRIBE], ids=lambda r: r.message_type)
@pytest.mark.parametrize(
    ("hash_alg", "enc"),
    [("MD5", None), ("SHA1", "DES"), ("SHA256", "AES"), ("SHA512", "3DES"), ("SHA256", "DES")],
)
def test_encrypted_and_hashed_round_trip(request_, hash_alg: str, enc: str | None) -> None:
    data = encode_request(request_, Security(PASSWORD, hash_alg, enc))
    if enc:
        assert b"Application-Name" not in data and b"Subscriber-Name" not in data
    got = parse_request(data, password=PASSWORD)
    assert (got.encryption, got.hash_algorithm) == (enc, hash_alg)
    assert as_dicts(got) == expected_blocks(request_)
    expected_resources = {
        hashlib.md5(r.data).hexdigest(): r.data
        for block in request_.blocks() for _, r in block if isinstance(r, Resource)
    }
    assert got.resources == expected_resources


@pytest.mark.parametrize("lenient", [False, True], ids=["strict", "lenient"])
@pytest.mark.parametrize("enc", [None, "AES", "3DES"])
@pytest.mark.parametrize("step", [1, 3, 7, 64])
def test_binary_sections_split_across_feeds(enc: str | None, step: int, lenient: bool) -> None:
    security = Security(PASSWORD, "SHA256", enc) if enc else Security()
    data = encode_request(REGISTER, security)
    chunks = [data[i : i + step] for i in range(0, len(data), step)]
    got = parse_request(chunks, password=PASSWORD if enc else None, lenient=lenient)
    assert as_dicts(got) == expected_blocks(REGISTER)
    assert got.resources[hashlib.md5(ICON).hexdigest()] == ICON
    assert got.resources[hashlib.md5(EV_ICON).hexdigest()] == EV_ICON


def test_request_is_not_complete_before_its_last_section_byte() -> None:
    data = encode_request(NOTIFY)
    parser = RequestParser()
    parser.feed(data[:-5])
    assert parser.next_request() is None
    parser.feed(data[-5:])
    assert parser.next_request() is not None


def test_two_requests_in_one_stream() -> None:
    parser = RequestParser()
    parser.feed(encode_request(REGISTER) + encode_request(NOTIFY))
    first, second = parser.next_request(), parser.next_request()
    assert (first.message_type, second.message_type) == ("REGISTER", "NOTIFY")
    assert parser.next_request() is None


def test_duplicate_header_is_rejected_with_300() -> None:
    data = (
        b"GNTP/1.0 NOTIFY NONE\r\nApplication-Name: A\r\nNotification-Name: e\r\n"
        b"Notification-Title: one\r\nnotification-title: two\r\nNotification-Text: \r\n\r\n"
    )
    rejected = reject(data)
    assert rejected.code == 300
    assert "repeated" in rejected.description


def test_wrong_password_is_rejected_with_400() -> None:
    data = encode_request(NOTIFY, Security("not the password", "SHA256"))
    rejected = reject(data, password=PASSWORD)
    assert rejected.code == 400
    assert PASSWORD not in str(rejected) and "not the password" not in str(rejected)


def test_missing_key_hash_is_rejected_with_400_when_a_password_is_set() -> None:
    assert reject(encode_request(NOTIFY), password=PASSWORD).code == 400


def test_subscribe_without_password_is_rejected_with_400() -> None:
    assert reject(encode_request(SUBSCRIBE)).code == 400


def test_encrypted_request_to_a_receiver_without_password_is_rejected_with_400() -> None:
    data = encode_request(NOTIFY, Security(PASSWORD, "SHA256", "AES"))
    assert reject(data).code == 400


def test_missing_notifications_count_is_rejected_with_303() -> None:
    data = (
        b"GNTP/1.0 REGISTER NONE\r\nApplication-Name: A\r\n\r\n"
        b"Notification-Name: done\r\nNotification-Enabled: True\r\n\r\n"
    )
    rejected = reject(data)
    assert rejected.code == 303
    assert "Notifications-Count" in rejected.description


@pytest.mark.parametrize(
    ("first_line", "code"),
    [
        (b"HELLO WORLD", 301),
        (b"GNTP/2.0 NOTIFY NONE", 302),
        (b"GNTP/1.0 FROB NONE", 300),
        (b"GNTP/1.0 NOTIFY ROT13", 300),
        (b"GNTP/1.0 NOTIFY NONE CRC32:00.00", 300),
    ],
)
def test_bad_info_line(first_line: bytes, code: int) -> None:
    data = first_line + b"\r\nApplication-Name: A\r\n\r\n"
    assert reject(data).code == code


def test_unreferenced_binary_section_is_rejected() -> None:
    data = encode_request(NOTIFY).replace(
        b"Identifier: " + hashlib.md5(ICON).hexdigest().encode(), b"Identifier: 0000"
    )
    assert reject(data).code == 300


def test_eof_in_the_middle_of_a_request_is_an_error() -> None:
    data = encode_request(NOTIFY)
    # The last cut ends inside the icon bytes; the CRLF CRLF after them is optional.
    for cut in (5, len(data) // 2, len(data) - 6):
        parser = RequestParser()
        parser.feed(data[:cut])
        parser.feed(b"")
        with pytest.raises(GNTPProtocolError, match="closed in the middle"):
            parser.next_request()


def test_request_size_cap() -> None:
    data = encode_request(NOTIFY)
    parser = RequestParser(max_size=len(data) - 10)
    parser.feed(data)
    with pytest.raises(GNTPProtocolError, match="larger than"):
        parser.next_request()
    assert parse_request(data) is not None


@pytest.mark.parametrize("enc", [None, "AES", "DES", "3DES"])
def test_lf_ending_the_last_value_survives(enc: str | None) -> None:
    # Regression: the decrypted chunk was rstrip("\r\n")-ed, eating this LF.
    request = NotifyRequest("A", "e", "T", "text\n", headers={"X-Last": "tail\n"})
    security = Security(PASSWORD, "SHA256", enc) if enc else Security()
    got = parse_request(encode_request(request, security), password=PASSWORD if enc else None)
    assert got.headers["Notification-Text"] == "text\n"
    assert got.headers["X-Last"] == "tail\n"


# -- what real senders get wrong: accepted when lenient, refused as Growl for Windows does -


def chunked(data: bytes, step: int) -> list[bytes]:
    return [data[i : i + step] for i in range(0, len(data), step)]


APPRISE_TEXT = (  # PyPI gntp 1.0.3 writes apprise's multi-line body with CRLF inside
    b"GNTP/1.0 NOTIFY NONE\r\nApplication-Name: Apprise\r\nNotification-Name: New\r\n"
    b"Notification-Title: Build\r\nNotification-Text: Status: failed\r\nError: disk full\r\n"
    b"no colon here\r\nX-Build: 7\r\nNotification-ID: n-1\r\nOrigin-Software-Name: gntp.py\r\n"
    b"\r\n"
)


@pytest.mark.parametrize("step", [1, len(APPRISE_TEXT)])
def test_lenient_joins_the_lines_of_a_multiline_text(step: int) -> None:
    got = parse_request(chunked(APPRISE_TEXT, step), lenient=True)
    assert got.headers["Notification-Text"] == "Status: failed\nError: disk full\nno colon here"
    # A header GNTP defines, or an X-/Data-/Origin- one, ends the text.
    assert (got.headers["X-Build"], got.headers["Notification-ID"]) == ("7", "n-1")
    assert "Error" not in got.headers


def test_every_header_we_write_ends_a_multiline_text() -> None:
    # GNTP_HEADER_NAMES must know every defined header, or the lenient parser would
    # swallow one that follows a multi-line text.
    full = NotifyRequest(
        "A", "e", "T", "x", notification_id="i", sticky=True, priority=1, icon="http://i/",
        coalescing_id="c", callback_context="c", callback_context_type="t",
    )
    requests = [REGISTER, full, SUBSCRIBE, NotifyRequest("A", "e", "T", callback_target="u")]
    names = {name for r in requests for block in r.blocks() for name, _ in block}
    answers = [OK, CALLBACK, ERROR, encode_response("-OK", [("Subscription-TTL", "60")])]
    names |= {name for m in parse_all(answers) for name in m.headers}
    names |= {"Identifier", "Length"}
    assert {n for n in names if not is_gntp_header(n)} == set()
    assert not is_gntp_header("Error") and not is_gntp_header("Status")


def test_strict_keeps_only_the_first_line_of_a_multiline_text() -> None:
    got = parse_request(APPRISE_TEXT)
    assert got.headers["Notification-Text"] == "Status: failed"
    assert got.headers["Error"] == "disk full"  # Growl for Windows' reading


def plaintext_lengths(request, enc: str, sizes: dict[int, int]) -> bytes:
    """growler's bytes: each encrypted section declares its plaintext length."""
    data = encode_request(request, Security(PASSWORD, "SHA256", enc))
    for cipher, plain in sizes.items():
        data = data.replace(b"\r\nLength: %d\r\n" % cipher, b"\r\nLength: %d\r\n" % plain, 1)
    return data


BLOCK = {"AES": 16, "DES": 8, "3DES": 8}


def growler_notify(enc: str, size: int) -> tuple[bytes, bytes]:
    icon = (b"\r\n\r\n" + bytes(range(256)))[:size]
    request = NotifyRequest("App", "done", "T", icon=Resource(icon))
    padded = (size // BLOCK[enc] + 1) * BLOCK[enc]
    return plaintext_lengths(request, enc, {padded: size}), icon


@pytest.mark.parametrize("step", [1, 5000])
@pytest.mark.parametrize("size", [1, 7, 8, 16, 17, 48])
@pytest.mark.parametrize("enc", ["AES", "DES", "3DES"])
def test_lenient_reads_a_plaintext_length_as_the_padded_ciphertext(enc, size, step) -> None:
    data, icon = growler_notify(enc, size)
    got = parse_request(chunked(data, step), password=PASSWORD, lenient=True)
    assert list(got.resources.values()) == [icon]


@pytest.mark.parametrize("size", [7, 16])
@pytest.mark.parametrize("enc", ["AES", "DES", "3DES"])
def test_strict_refuses_a_plaintext_length_with_300(enc, size) -> None:
    data, _ = growler_notify(enc, size)
    rejected = reject(data, password=PASSWORD)
    assert (rejected.code, rejected.description) == (300, "a binary section does not decrypt")


def test_lenient_plaintext_length_costs_linear_work() -> None:
    # One 8 MiB section arriving 1 KiB at a time: deciding its length must not copy or
    # decrypt what is buffered on every feed (8,192 feeds of up to 8 MiB each).
    size = 8 * 1024 * 1024
    request = NotifyRequest("App", "done", "T", icon=Resource(bytes(size)))
    data = plaintext_lengths(request, "AES", {size + 16: size})
    parser = RequestParser(password=PASSWORD, lenient=True, max_size=DEFAULT_MAX_REQUEST)
    start = time.process_time()
    for chunk in chunked(data, 1024):
        parser.feed(chunk)
        got = parser.next_request()
    assert got is not None and list(got.resources.values()) == [bytes(size)]
    assert time.process_time() - start < 1  # about 0.1 s; copying on each feed: 2 s


def without_blank_line(data: bytes) -> bytes:
    """ruby-growl's bytes: the first Identifier follows the encrypted headers directly."""
    return data.replace(b"\r\n\r\nIdentifier:", b"\r\nIdentifier:", 1)


@pytest.mark.parametrize("step", [1, 7, 100_000])
@pytest.mark.parametrize("request_", [REGISTER, NOTIFY], ids=lambda r: r.message_type)
@pytest.mark.parametrize("enc", ["AES", "DES", "3DES"])
def test_lenient_accepts_no_blank_line_after_encrypted_headers(enc, request_, step) -> None:
    data = without_blank_line(encode_request(request_, Security(PASSWORD, "SHA512", enc)))
    got = parse_request(chunked(data, step), password=PASSWORD, lenient=True)
    assert as_dicts(got) == expected_blocks(request_)
    assert ICON in got.resources.values()


@pytest.mark.parametrize("enc", ["AES", "DES", "3DES"])
def test_strict_refuses_no_blank_line_after_encrypted_headers_with_300(enc) -> None:
    data = without_blank_line(encode_request(NOTIFY, Security(PASSWORD, "SHA512", enc)))
    rejected = reject(data, password=PASSWORD)
    assert (rejected.code, rejected.description) == (300, "the encrypted headers do not decrypt")


def test_lenient_still_refuses_headers_that_do_not_decrypt() -> None:
    data = encode_request(NOTIFY, Security(PASSWORD, "SHA256", "AES"))
    end = data.index(b"\r\n\r\nIdentifier:")
    broken = data[: end - 1] + data[end:]  # not a whole number of blocks
    assert reject(broken, password=PASSWORD, lenient=True).code == 300
