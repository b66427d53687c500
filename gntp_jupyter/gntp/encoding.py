"""Requests and responses to bytes: the writing half of the sans-IO core.

::

    GNTP/1.0 NOTIFY AES:<IV> SHA256:<KEYHASH>.<SALT>\\r\\n
    <header text, encrypted as one chunk when a cipher is set>\\r\\n\\r\\n
    Identifier: <id>\\r\\nLength: <n>\\r\\n\\r\\n<n bytes>\\r\\n\\r\\n     (per resource)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from .exceptions import GNTPValidationError
from .headers import check_unique, format_bool, sanitize_value
from .requests import HeaderValue, NotifyRequest, Request
from .resources import RESOURCE_SCHEME, Resource
from .security import NO_SECURITY, Security, derive_key, encrypt, key_hash

__all__ = ["PlainNotify", "encode_request", "encode_response", "info_line"]

CRLF = b"\r\n"
VERSION = "GNTP/1.0"
#: Our own name for the padding header, so that a user's ``X-Padding`` never collides.
PADDING_HEADER = "X-GNTP-Jupyter-Padding"
_MAX_IV_DRAWS = 64
#: Sent even when empty: growl-for-linux rejects a NOTIFY without Notification-Text, and
#: the spec has -OK and -CALLBACK carry Notification-ID "even if it was an empty string".
_ALWAYS_SENT = frozenset({"Notification-Text", "Notification-ID"})


def _resource_ids(resource: Resource, used: set[str]) -> str:
    """Content id, made unique per reference: some servers expect a section per reference."""
    rid = resource.unique_id
    n = 1
    while rid in used:
        n += 1
        rid = hashlib.md5(f"{resource.unique_id}:{n}".encode(), usedforsecurity=False).hexdigest()
    used.add(rid)
    return rid


def _render_value(value: HeaderValue, sections: list[tuple[str, bytes]], used: set[str]) -> str:
    if isinstance(value, bool):
        return format_bool(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Resource):
        if value.data is None:
            raise GNTPValidationError(f"{value!r} has no data: fetch it before sending")
        rid = _resource_ids(value, used)
        sections.append((rid, value.data))
        return RESOURCE_SCHEME + rid
    return sanitize_value(value)


def _render_text(
    blocks: Iterable[Iterable[tuple[str, HeaderValue]]],
) -> tuple[str, list[tuple[str, bytes]]]:
    """Header text (blocks separated by a blank line) and the binary sections it references.

    Optional headers with an empty value are left out; those in ``_ALWAYS_SENT`` never are.
    The hot path of every send: the common value types are rendered inline, and a str
    is only rewritten when it holds something to rewrite (``isprintable()`` is False for
    CR, LF, TAB and every control character :func:`.sanitize_value` replaces, so a
    printable value is already what it would return).
    """
    sections: list[tuple[str, bytes]] = []
    used: set[str] = set()
    texts = []
    for block in blocks:
        lines = []
        names = []
        for name, value in block:
            kind = type(value)
            if kind is str:
                text = value if value.isprintable() else sanitize_value(value)
            elif kind is bool:
                text = "True" if value else "False"
            elif kind is int:
                text = str(value)
            else:
                text = _render_value(value, sections, used)
            if not text and name not in _ALWAYS_SENT:
                continue
            names.append(name)
            lines.append(f"{name}: {text}\r\n")
        if len(set(map(str.lower, names))) != len(names):
            check_unique(names)  # raises, naming the repeated header
        texts.append("".join(lines))
    return "\r\n".join(texts), sections


def _utf8(text: str) -> bytes:
    # A lone surrogate (from bad decoding upstream) becomes "?" rather than failing a send.
    return text.encode("utf-8", errors="replace")


def info_line(
    message_type: str, encryption: str | None = None, iv: bytes = b"",
    hash_algorithm: str | None = None, keyhash: bytes = b"", salt: bytes = b"",
) -> bytes:
    enc = f"{encryption}:{iv.hex().upper()}" if encryption else "NONE"
    line = f"{VERSION} {message_type} {enc}"
    if hash_algorithm:
        line += f" {hash_algorithm}:{keyhash.hex().upper()}.{salt.hex().upper()}"
    return line.encode("ascii") + CRLF


#: The info line of a message with neither key hash nor encryption, which never varies.
_PLAIN_INFO_LINES = {
    kind: info_line(kind).decode("ascii")
    for kind in ("REGISTER", "NOTIFY", "SUBSCRIBE", "-OK", "-ERROR", "-CALLBACK")
}


def _frames_cleanly(ciphertext: bytes) -> bool:
    # Receivers find the end of the encrypted chunk by CRLF CRLF.
    return b"\r\n\r\n" not in ciphertext and not ciphertext.endswith(b"\r\n")


def _assemble(head: bytes, body: bytes, sections: list[tuple[str, bytes]]) -> bytes:
    out = [head, body]
    for rid, data in sections:
        out += [f"Identifier: {rid}\r\nLength: {len(data)}\r\n\r\n".encode(), data, CRLF * 2]
    return b"".join(out)


def encode_message(
    message_type: str, blocks: Iterable[Iterable[tuple[str, HeaderValue]]],
    security: Security = NO_SECURITY,
) -> bytes:
    """Any message (request or response) with optional key hash and encryption."""
    text, sections = _render_text(blocks)
    if not security.hashed:
        # The info line is ASCII: one encode for the whole message, one copy fewer.
        info = _PLAIN_INFO_LINES.get(message_type) or info_line(message_type).decode("ascii")
        data = f"{info}{text}\r\n".encode("utf-8", errors="replace")
        return _assemble(data, b"", sections) if sections else data

    assert security.password is not None
    alg = security.hash_algorithm
    salt = security.new_salt()
    keyhash = key_hash(security.password, alg, salt)
    if security.encryption is None:
        head = info_line(message_type, None, b"", alg, keyhash, salt)
        return _assemble(head, _utf8(f"{text}\r\n"), sections)

    key = derive_key(security.password, alg, salt)
    plaintext = _utf8(text)
    for _ in range(_MAX_IV_DRAWS):
        iv = security.new_iv()
        chunk = encrypt(security.encryption, key, iv, plaintext)
        if _frames_cleanly(chunk):
            break
    else:  # pragma: no cover - probability ~ 2**-(8*64)
        raise GNTPValidationError("could not find an IV whose ciphertext frames cleanly")
    head = info_line(message_type, security.encryption, iv, alg, keyhash, salt)
    encrypted = [(rid, encrypt(security.encryption, key, iv, data)) for rid, data in sections]
    return _assemble(head, chunk + CRLF * 2, encrypted)


def _stalls_growl_for_linux(size: int) -> bool:
    # growl-for-linux reads 1024-byte chunks and takes a request as complete when a read
    # ends in a blank line: a last read of 1-3 bytes makes it wait ~4 s for more.
    return size > 1024 and size % 1024 in (1, 2, 3)


def encode_request(request: Request, security: Security = NO_SECURITY) -> bytes:
    """The whole request, ready for one ``sendall``.

    A request whose length would stall growl-for-linux gets a short padding header
    (:data:`PADDING_HEADER`).
    """
    blocks = request.blocks()
    data = encode_message(request.message_type, blocks, security)
    if len(data) <= 1024:  # most requests: nothing can stall
        return data
    pad = 0
    while _stalls_growl_for_linux(len(data)) and pad < 64:
        pad += 1
        padded = [[*blocks[0], (PADDING_HEADER, "." * pad)], *blocks[1:]]
        data = encode_message(request.message_type, padded, security)
    return data


class PlainNotify:
    """The bytes of one application's NOTIFY of one event, up to the fields each
    notification fills in.

    Most notifications are a title and a text, sent without a key hash. For those,
    :meth:`encode` fills this template instead of building a :class:`.NotifyRequest`
    and walking its headers: a send then touches a fraction of the code, which is most
    of a send's cost once other processes have run in between (the caches are cold).
    The bytes are :func:`encode_request`'s own (``tests/test_encoding.py`` holds them
    equal); whatever they could differ on is sent back to it (``None``).
    """

    __slots__ = ("_head", "_tail", "application_name", "event_name", "headers")

    def __init__(
        self, application_name: str, event_name: str, headers: tuple[tuple[str, str], ...] = ()
    ) -> None:
        NotifyRequest(application_name, event_name, "T", headers=headers)  # same checks
        self.application_name = application_name
        self.event_name = event_name
        self.headers = headers
        head, _ = _render_text(
            [[("Application-Name", application_name), ("Notification-Name", event_name)]]
        )
        self._head = f"{_PLAIN_INFO_LINES['NOTIFY']}{head}Notification-ID: "
        self._tail = f"{_render_text([headers])[0] if headers else ''}\r\n"

    def encode(self, notification_id: str, title: object, text: object) -> bytes | None:
        """The NOTIFY's bytes, or None where :func:`encode_request` must decide: a title
        or text that is not plain printable text (it rewrites or refuses those), or a
        request long enough to need padding."""
        if not (
            type(title) is str and type(text) is str and title.isprintable()
            and text.isprintable() and not title.isspace() and title
        ):
            return None
        data = (
            f"{self._head}{notification_id}\r\nNotification-Title: {title}\r\n"
            f"Notification-Text: {text}\r\n{self._tail}"
        ).encode("utf-8", errors="replace")
        return data if len(data) <= 1024 else None


def encode_response(
    response_type: str, headers: Iterable[tuple[str, HeaderValue]], security: Security = NO_SECURITY
) -> bytes:
    """A server's reply (``-OK``, ``-ERROR``, ``-CALLBACK``); used by the receiver."""
    return encode_message(response_type, [list(headers)], security)
