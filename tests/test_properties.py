"""Properties over arbitrary input: encode→parse round-trips, framing can't be broken.

Expected values follow the wire rules, not the code under test: a CR becomes the
protocol's in-value newline (LF), readers trim spaces and tabs around a value (as every
server does), and an optional header whose value is empty is not sent at all.
"""

from __future__ import annotations

import hashlib
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gntp_jupyter.gntp import GNTPError, NotifyRequest, RegisterRequest, Resource, Security
from gntp_jupyter.gntp.encoding import (
    PADDING_HEADER,
    PlainNotify,
    encode_request,
    encode_response,
)
from gntp_jupyter.gntp.parsing import RequestParser, ResponseParser
from gntp_jupyter.gntp.requests import Event

PASSWORD = "pässwörd"
#: Modest example counts keep the suite fast; no deadline (CI machines vary).
examples = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

#: (hash, cipher) choices: no password, hash only, and every cipher.
SECURITIES = st.sampled_from(
    [None, ("MD5", None), ("SHA1", "DES"), ("SHA256", "AES"), ("SHA512", "3DES"), ("SHA256", "DES")]
)
# Text that stresses framing: CR, LF, CRLF, colons, spaces, and any other code point.
nasty = st.lists(
    st.one_of(
        st.sampled_from(["\r", "\n", "\r\n", ": ", " ", "\t", "\r\n\r\n", "X-Evil: 1"]),
        st.text(st.characters(codec="utf-8"), max_size=6),
    ),
    max_size=8,
).map("".join)
required = nasty.filter(lambda s: s.strip() != "")
header_names = st.from_regex(r"(X|Data|Origin)-[A-Za-z0-9][A-Za-z0-9-]{0,12}", fullmatch=True)
def distinct_names(headers: dict) -> bool:
    """No two names differ only in case (the encoder refuses a header sent twice)."""
    return len({k.lower() for k in headers}) == len(headers)


custom_headers = st.dictionaries(header_names, nasty, max_size=4).filter(distinct_names)


def security_for(choice) -> Security:
    if choice is None:
        return Security()
    return Security(PASSWORD, *choice)


def on_the_wire(value: str) -> str:
    """What a reader gets back for ``value``: CR as LF, other control characters but TAB
    as U+FFFD, outer spaces and tabs trimmed."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = "".join("\ufffd" if _control(c) else c for c in value)
    return value.strip(" \t")


def _control(char: str) -> bool:
    code = ord(char)
    return (code < 0x20 and char not in "\t\n") or 0x7F <= code < 0xA0


def sent(name: str, value: str) -> bool:
    return value.replace("\r", "\n") != "" or name == "Notification-Text"


def parse(data: bytes, choice) -> object:
    parser = RequestParser(password=PASSWORD if choice else None)
    parser.feed(data)
    request = parser.next_request()
    assert request is not None, "a complete request did not parse"
    return request


def blocks_of(request) -> list[dict[str, str]]:
    """The parsed header blocks, less the padding header the encoder adds to a request
    whose length would stall growl-for-linux (see ``encoding.PADDING_HEADER``)."""
    return [{k: v for k, v in b.items_raw() if k != PADDING_HEADER} for b in request.blocks]


def expected_block(pairs: list[tuple[str, str]]) -> dict[str, str]:
    return {name: on_the_wire(value) for name, value in pairs if sent(name, value)}


@examples
@given(app=required, title=required, text=nasty, headers=custom_headers, choice=SECURITIES)
def test_notify_round_trip(app: str, title: str, text: str, headers: dict, choice) -> None:
    request = NotifyRequest(app, "done", title, text, notification_id="n", headers=headers)
    got = parse(encode_request(request, security_for(choice)), choice)
    pairs = [
        ("Application-Name", app), ("Notification-Name", "done"), ("Notification-ID", "n"),
        ("Notification-Title", title), ("Notification-Text", text),
        *headers.items(),
    ]  # fmt: skip
    assert blocks_of(got) == [expected_block(pairs)]


@examples
@given(
    app=required,
    events=st.lists(required, min_size=1, max_size=4, unique=True),
    display=nasty,
    headers=custom_headers,
    choice=SECURITIES,
)
def test_register_round_trip(app: str, events: list, display: str, headers: dict, choice) -> None:
    request = RegisterRequest(app, tuple(Event(e, display) for e in events), headers=headers)
    got = parse(encode_request(request, security_for(choice)), choice)
    main = [("Application-Name", app), ("Notifications-Count", str(len(events))),
            *headers.items()]
    blocks = [
        [("Notification-Name", e), ("Notification-Display-Name", display),
         ("Notification-Enabled", "True")]
        for e in events
    ]  # fmt: skip
    assert blocks_of(got) == [
        expected_block(main), *map(expected_block, blocks)
    ]


@examples
@given(title=nasty, text=nasty, headers=custom_headers)
def test_text_never_breaks_framing_or_injects_a_header(title: str, text: str, headers) -> None:
    request = NotifyRequest("App", "done", "T" + title, text, notification_id="n",
                            headers=headers)
    data = encode_request(request)
    # Independent framing check: the header text is one CRLF-terminated line per header
    # we meant to send, and the message ends right after the blank line.
    head, sep, rest = data.partition(b"\r\n\r\n")
    assert sep and rest == b""
    lines = head.split(b"\r\n")[1:]
    names = [name for name, value in request.blocks()[0] if sent(name, str(value))]
    assert [line.split(b": ", 1)[0].decode() for line in lines] == names
    assert all(b"\r" not in line for line in lines)

    got = parse(data, None)
    assert list(got.headers) == names
    for value in got.headers.values():
        assert "\r" not in value
    # LF survives as the in-value newline.
    lf = ("T" + title).replace("\r\n", "\n").replace("\r", "\n").count("\n")
    assert got.headers["Notification-Title"].count("\n") == lf


@examples
@given(
    icons=st.lists(st.binary(min_size=1, max_size=300), min_size=1, max_size=3),
    choice=SECURITIES,
    step=st.integers(min_value=1, max_value=500),
)
def test_binary_resources_round_trip(icons: list[bytes], choice, step: int) -> None:
    events = tuple(Event(f"e{i}", icon=Resource(icon)) for i, icon in enumerate(icons))
    request = RegisterRequest("App", events, Resource(icons[0]))
    data = encode_request(request, security_for(choice))
    parser = RequestParser(password=PASSWORD if choice else None)
    got = None
    for i in range(0, len(data), step):
        parser.feed(data[i : i + step])
        got = got or parser.next_request()
    assert got is not None
    refs = [v for b in got.blocks for k, v in b.items() if k.endswith("-Icon")]
    assert len(refs) == len(set(refs)) == len(icons) + 1
    assert sorted(got.resources.values()) == sorted([icons[0], *icons])
    assert hashlib.md5(icons[0]).hexdigest() in got.resources


# -- responses: the same messages whatever the chunking --------------------------------

response_messages = st.lists(
    st.tuples(
        st.sampled_from(["-OK", "-ERROR", "-CALLBACK"]),
        st.dictionaries(
            header_names, nasty.filter(lambda s: s.strip(" \t\r\n")), max_size=3,
        ).filter(distinct_names),
        st.sampled_from([b"", b"\r\n", b"\r\n\r\n"]),  # extra CRLFs some servers send
    ),
    min_size=1,
    max_size=4,
)


def summarize(messages: list) -> list[tuple[str, dict[str, str]]]:
    return [(m.message_type, dict(m.headers.items_raw())) for m in messages]


def read_all(chunks: list[bytes]) -> list:
    parser = ResponseParser()
    out = []
    for chunk in [*chunks, b""]:
        parser.feed(chunk)
        while (message := parser.next_response()) is not None:
            out.append(message)
    return out


@examples
@given(messages=response_messages, cuts=st.lists(st.integers(min_value=0), max_size=20))
def test_responses_parse_the_same_whatever_the_chunking(messages, cuts: list[int]) -> None:
    data = b"".join(
        encode_response(kind, list(headers.items())) + extra for kind, headers, extra in messages
    )
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    chunks = [data[a:b] for a, b in itertools.pairwise(points) if b > a]
    whole = read_all([data])
    assert summarize(read_all(chunks)) == summarize(whole)
    assert summarize(read_all([bytes([b]) for b in data])) == summarize(whole)
    assert summarize(whole) == [
        (kind, {k: on_the_wire(v) for k, v in headers.items()}) for kind, headers, _ in messages
    ]


# -- hostile input: the receiver's parser answers every input with a GNTPError or a request --

def _mutate(edits: list[tuple[int, bytes]]) -> bytes:
    data = bytearray(_VALID)
    for at, chunk in edits:
        data[at : at + len(chunk)] = chunk
    return bytes(data)


_VALID = (
    b"GNTP/1.0 REGISTER NONE\r\nApplication-Name: A\r\nNotifications-Count: 1\r\n\r\n"
    b"Notification-Name: n\r\nNotification-Icon: x-growl-resource://ab\r\n\r\n"
    b"Identifier: ab\r\nLength: 3\r\n\r\nabc\r\n\r\n"
)


@settings(max_examples=300, deadline=None)
@given(
    data=st.one_of(
        st.binary(max_size=400),
        st.lists(st.tuples(st.integers(0, len(_VALID) - 1), st.binary(min_size=1, max_size=4)),
                 min_size=1, max_size=6).map(_mutate),
    ),
    step=st.integers(1, 64),
    password=st.sampled_from([None, "pw"]),
)
def test_any_bytes_give_a_request_or_a_gntp_error(data: bytes, step: int, password) -> None:
    parser = RequestParser(password=password, max_size=4096)
    try:
        for i in range(0, len(data), step):
            parser.feed(data[i : i + step])
            while parser.next_request() is not None:
                pass
        parser.feed(b"")
        parser.next_request()
    except GNTPError:
        pass


@examples
@given(app=required, event=required, title=nasty, text=nasty, headers=custom_headers)
def test_plain_notify_sends_encode_requests_bytes_or_defers_to_it(
        app: str, event: str, title: str, text: str, headers: dict) -> None:
    # The per-event template publish() fills must never send other bytes than the
    # general encoder; where it cannot be sure it answers None and the encoder decides.
    normal = tuple(headers.items())
    data = PlainNotify(app, event, normal).encode("n-1", title, text)
    if data is not None:
        request = NotifyRequest(app, event, title, text, notification_id="n-1", headers=normal)
        assert data == encode_request(request)
