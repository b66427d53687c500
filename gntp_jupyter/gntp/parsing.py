"""Bytes to messages: the reading half of the sans-IO core.

Both parsers are incremental: ``feed(data)`` whatever arrived (``feed(b"")`` at EOF),
then call ``next_*()`` until it returns None (need more bytes). Several messages may
sit in one chunk (``-OK`` and ``-CALLBACK`` often do). EOF in the middle of a message
and a message over ``max_size`` are errors, never a wait.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from .exceptions import GNTPProtocolError
from .headers import Headers, parse_header_lines, parse_int
from .resources import RESOURCE_SCHEME
from .responses import RESPONSE_TYPES, OKResponse, Response
from .security import (
    ENCRYPTION_ALGORITHMS,
    HASH_ALGORITHMS,
    decrypt,
    derive_key,
    verify_key_hash,
)

__all__ = [
    "ReceivedRequest", "RequestParser", "RequestRejected", "ResponseMessage", "ResponseParser",
]

END = b"\r\n\r\n"
DEFAULT_MAX_RESPONSE = 64 * 1024
DEFAULT_MAX_REQUEST = 16 * 1024 * 1024
#: Header lines in one request, all blocks together (a REGISTER of many types included).
#: A real request has tens; each line becomes a few hundred bytes of objects, so this
#: bounds what a 16 MiB request of tiny lines costs (about 50 MB, not 600).
MAX_HEADER_LINES = 150_000

_INFO = re.compile(r"GNTP/(?P<version>\S+) (?P<type>\S+)(?: +(?P<rest>.*))?\Z")
_ENC = re.compile(r"(?P<enc>[A-Za-z0-9]+)(?::(?P<iv>[0-9A-Fa-f]*))?\Z")
_HASH = re.compile(r"(?P<alg>[A-Za-z0-9]+):(?P<hash>[0-9A-Fa-f]+)\.(?P<salt>[0-9A-Fa-f]+)\Z")


class RequestRejected(GNTPProtocolError):
    """A request the receiver must answer with ``-ERROR code``."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description


@dataclass
class _Info:
    version: str
    message_type: str
    encryption: str | None = None
    iv: bytes = b""
    hash_algorithm: str | None = None
    key_hash: bytes = b""
    salt: bytes = b""


def _parse_info(line: bytes, fail: Callable[[int, str], Exception], strict: bool) -> _Info:
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError:
        raise fail(301, "the first line is not GNTP") from None
    m = _INFO.match(text)
    if not m:
        raise fail(301, f"not a GNTP message: {text[:60]!r}")
    info = _Info(m["version"], m["type"].upper())
    tokens = (m["rest"] or "").split()
    enc = _ENC.match(tokens[0]) if tokens else None
    if enc and enc["enc"].upper() in ENCRYPTION_ALGORITHMS:
        info.encryption = enc["enc"].upper()
        try:
            info.iv = bytes.fromhex(enc["iv"] or "")
        except ValueError:
            raise fail(300, "the IV is not hex") from None
    elif not enc or enc["enc"].upper() != "NONE":
        # growl-for-linux answers "-ERROR Invalid data": any trailer is fine on a response.
        if strict:
            raise fail(300, f"unknown encryption {tokens[0][:20]!r}" if tokens else "no NONE")
        return info
    if len(tokens) > 1:
        h = _HASH.match(tokens[1])
        if not h or h["alg"].upper() not in HASH_ALGORITHMS:
            raise fail(300, f"unsupported key hash {tokens[1][:20]!r}")
        info.hash_algorithm = h["alg"].upper()
        try:
            info.key_hash, info.salt = bytes.fromhex(h["hash"]), bytes.fromhex(h["salt"])
        except ValueError:
            raise fail(300, "the key hash is not hex") from None
    return info


class _Buffer:
    """Bytes received and not yet taken. Every operation is linear in what arrives:
    a separator search resumes where the last one stopped instead of rescanning."""

    __slots__ = ("_searched", "consumed", "data", "eof", "max_size", "what")

    def __init__(self, max_size: int, what: str) -> None:
        self.data = bytearray()
        self.eof = False
        self.max_size = max_size
        self.what = what
        self.consumed = 0  # bytes of the current message taken so far
        self._searched = 0  # bytes at the front of data known not to start a separator

    def feed(self, data: bytes) -> None:
        if data:
            self.data += data
        else:
            self.eof = True

    def _drop(self, n: int) -> None:
        del self.data[:n]  # O(1): a bytearray shrinks from the front without copying
        self._searched = max(self._searched - n, 0)

    def skip_crlfs(self) -> None:
        # Growl on macOS ends each message with an extra CRLF.
        while self.data.startswith(b"\r\n"):
            self._drop(2)

    def check_size(self, pending: int) -> None:
        if self.consumed + pending > self.max_size:
            raise GNTPProtocolError(f"{self.what} is larger than {self.max_size} bytes")

    def _closed_mid_message(self) -> GNTPProtocolError:
        return GNTPProtocolError(f"connection closed in the middle of the {self.what}")

    def take_until(self, sep: bytes) -> bytes | None:
        data = self.data
        i = data.find(sep, self._searched)
        if i < 0:
            self._searched = max(len(data) - len(sep) + 1, 0)
            self.check_size(len(data))
            if self.eof:
                raise self._closed_mid_message()
            return None
        end = i + len(sep)
        self.check_size(end)
        chunk = bytes(data[:i])
        del data[:end]  # what _drop does, inline: every message passes here
        self._searched = 0
        self.consumed += end
        return chunk

    def peek(self, n: int) -> bytes | None:
        """The next ``n`` bytes without taking them (fewer at EOF); None: wait for more."""
        self.check_size(n)
        if len(self.data) < n and not self.eof:
            return None
        return bytes(self.data[:n])

    def take(self, n: int) -> bytes | None:
        self.check_size(n)
        if len(self.data) < n:
            if self.eof:
                raise self._closed_mid_message()
            return None
        chunk = bytes(self.data[:n])
        self._drop(n)
        self._searched = 0
        self.consumed += n
        return chunk


def _decrypt_text(info: _Info, key: bytes, chunk: bytes) -> str:
    assert info.encryption is not None
    return decrypt(info.encryption, key, info.iv, chunk).decode("utf-8")


def _unreadable(code: int, why: str) -> GNTPProtocolError:
    return GNTPProtocolError(f"unreadable response: {why}")


#: The first line of every response real servers send: read by a dict lookup.
_PLAIN_RESPONSE_LINES = {f"GNTP/1.0 {kind} NONE".encode(): kind for kind in RESPONSE_TYPES}


class ResponseMessage(NamedTuple):
    """One framed response, not yet read: its type and its (maybe encrypted) body."""

    message_type: str
    body: bytes
    info: _Info | None = None  # set when the body is encrypted


def frame_response(chunk: bytes) -> ResponseMessage:
    """Type a message cut from the stream (``chunk``: the bytes before its blank line).
    Raises GNTPProtocolError for what no server sends (not GNTP, a request type)."""
    head, _, rest = chunk.partition(b"\r\n")
    message_type = _PLAIN_RESPONSE_LINES.get(head)
    if message_type is not None:  # what real servers send: a dict lookup
        return ResponseMessage(message_type, rest)
    info = _parse_info(head, _unreadable, strict=False)
    if info.message_type not in RESPONSE_TYPES:
        raise GNTPProtocolError(f"unexpected response type {info.message_type!r}")
    return ResponseMessage(info.message_type, rest, info if info.encryption else None)


#: How nearly every answer starts: an -OK, neither encrypted nor hashed.
PLAIN_OK_LINE = b"GNTP/1.0 -OK NONE\r\n"


def read_plain_ok(body: bytes) -> OKResponse:
    """The -OK whose headers are ``body`` (what follows :data:`PLAIN_OK_LINE`, up to its
    blank line): read with no framing step, the headers when first asked."""
    return OKResponse("-OK", Headers.parse(body.decode("utf-8", errors="replace")))


def read_response(message: ResponseMessage, password: str | None) -> Response:
    """The message's headers, decrypted (with ``password``) when it came encrypted."""
    if message.info is None:
        text = message.body.decode("utf-8", errors="replace")
    else:
        text = _decrypt_response(message.info, message.body, password)
    return RESPONSE_TYPES[message.message_type](message.message_type, Headers.parse(text))


def _decrypt_response(info: _Info, chunk: bytes, password: str | None) -> str:
    if not password or not info.hash_algorithm:
        raise GNTPProtocolError("the server encrypted its response and no key is known")
    key = derive_key(password, info.hash_algorithm, info.salt)
    try:
        return _decrypt_text(info, key, chunk)
    except ValueError as exc:
        raise GNTPProtocolError(f"could not decrypt the response: {exc}") from None


class ResponseParser:
    """Parses what a server sends back; ``password`` decrypts an encrypted reply.

    Framing and reading are two steps: :meth:`next_message` finds where a message ends
    and what type it is (cheap: a client closes its socket as soon as the answer is
    whole, which costs the kernel less than closing later); :meth:`read` turns it into
    a :class:`.Response`. :meth:`next_response` does both.
    """

    __slots__ = ("_buf", "_password")

    def __init__(self, *, password: str | None = None, max_size: int = DEFAULT_MAX_RESPONSE):
        self._buf = _Buffer(max_size, "response")
        self._password = password

    def feed(self, data: bytes) -> None:
        self._buf.feed(data)

    def next_message(self) -> ResponseMessage | None:
        """The next whole message, framed and typed but not read; None: need more bytes.
        Raises GNTPProtocolError for what no server sends (not GNTP, a request type)."""
        buf = self._buf
        if buf.data.startswith(b"\r\n"):
            buf.skip_crlfs()
        if buf.eof and not buf.data:
            return None
        chunk = buf.take_until(END)  # raises at EOF mid-message or over the size cap
        if chunk is None:
            return None
        buf.consumed = 0
        return frame_response(chunk)

    def read(self, message: ResponseMessage) -> Response:
        """The message's headers, decrypted when it came encrypted."""
        return read_response(message, self._password)

    def next_response(self) -> Response | None:
        message = self.next_message()
        return None if message is None else self.read(message)

@dataclass
class ReceivedRequest:
    """A request as a receiver sees it, after decryption and key checking."""

    message_type: str
    version: str
    blocks: list[Headers]
    resources: dict[str, bytes] = field(default_factory=dict)
    encryption: str | None = None
    hash_algorithm: str | None = None

    @property
    def headers(self) -> Headers:
        return self.blocks[0]


class RequestParser:
    """Parses one request from a client, the strict way (like Growl for Windows).

    ``password``: when set, a missing or wrong key hash is rejected with 400.
    ``lenient``: also accept what real senders get wrong where their intent is plain
    (the desktop receiver): a ``Notification-Text`` whose value goes on over several
    lines (apprise), an encrypted binary section whose ``Length`` is the plaintext
    length (growler), and no blank line between the encrypted headers and the first
    ``Identifier`` (ruby-growl). Strict parsing refuses the last two with 300 and keeps
    only the first line of such a text, as Growl for Windows does.
    """

    def __init__(
        self, *, password: str | None = None, max_size: int = DEFAULT_MAX_REQUEST,
        lenient: bool = False,
    ) -> None:
        self._buf = _Buffer(max_size, "request")
        self._password = password
        self._lenient = lenient
        self._reset()

    def _reset(self) -> None:
        self._info: _Info | None = None
        self._key = b""
        self._blocks: list[Headers] = []
        self._lines = 0
        self._expected: dict[str, None] = {}  # ids still to come, in order; O(1) lookups
        self._resources: dict[str, bytes] = {}
        self._section: tuple[str, int] | None = None
        self._section_settled = True  # False while a growler Length may be plaintext
        self._glued_head: bytes | None = None  # a section head that followed the headers
        self._buf.consumed = 0

    def feed(self, data: bytes) -> None:
        self._buf.feed(data)

    def next_request(self) -> ReceivedRequest | None:
        """A complete request, None for "need more bytes"; RequestRejected on bad input."""
        buf = self._buf
        if self._info is None:
            buf.skip_crlfs()
            if buf.eof and not buf.data:
                return None
            line = buf.take_until(b"\r\n")
            if line is None:
                return None
            self._info = self._start(line)
        while not self._headers_done():
            chunk = buf.take_until(END)
            if chunk is None:
                return None
            self._add_header_chunk(chunk)
        while self._expected or self._glued_head is not None:
            if not self._read_section():
                return None
        info = self._info
        req = ReceivedRequest(
            info.message_type, info.version, self._blocks, self._resources,
            info.encryption, info.hash_algorithm,
        )
        self._reset()
        return req

    def _start(self, line: bytes) -> _Info:
        info = _parse_info(line, RequestRejected, strict=True)
        if info.version != "1.0":
            raise RequestRejected(302, f"unknown protocol version {info.version}")
        if info.message_type not in ("REGISTER", "NOTIFY", "SUBSCRIBE"):
            raise RequestRejected(300, f"unknown request type {info.message_type}")
        if self._password:
            if not info.hash_algorithm:
                raise RequestRejected(400, "a password is required")
            if not verify_key_hash(self._password, info.hash_algorithm, info.salt, info.key_hash):
                raise RequestRejected(400, "the key hash does not match the password")
            self._key = derive_key(self._password, info.hash_algorithm, info.salt)
        elif info.message_type == "SUBSCRIBE":
            raise RequestRejected(400, "SUBSCRIBE needs a password")
        if info.encryption:
            if not self._key:
                raise RequestRejected(400, "encrypted request but no password is configured")
            if len(info.iv) != ENCRYPTION_ALGORITHMS[info.encryption][1]:
                raise RequestRejected(300, "the IV has the wrong length")
            if len(self._key) < ENCRYPTION_ALGORITHMS[info.encryption][0]:
                raise RequestRejected(300, f"{info.encryption} needs SHA256 or SHA512")
        return info

    def _headers_done(self) -> bool:
        if not self._blocks:
            return False
        assert self._info is not None
        if self._info.message_type != "REGISTER":
            return True
        return len(self._blocks) >= 1 + self._notification_count()

    def _notification_count(self) -> int:
        raw = self._blocks[0].get("Notifications-Count", "")
        if not raw.strip():
            raise RequestRejected(303, "required header Notifications-Count is missing")
        count = parse_int(raw)
        if count is None or count < 1:
            raise RequestRejected(300, f"Notifications-Count {raw[:20]!r} is not a positive number")
        return count

    def _add_header_chunk(self, chunk: bytes) -> None:
        info = self._info
        assert info is not None
        if info.encryption:
            text = self._decrypt_headers(chunk)
            # Not rstrip("\r\n"): that would also eat an LF ending the last value.
            parts = [p for p in text.split("\r\n\r\n") if p.strip("\r\n")]
        else:
            try:
                parts = [chunk.decode("utf-8")]
            except UnicodeDecodeError:
                raise RequestRejected(300, "headers are not UTF-8") from None
        for part in parts:
            self._lines += part.count("\r\n") + 1
            if self._lines > MAX_HEADER_LINES:  # before parsing: each line costs objects
                raise RequestRejected(300, f"more than {MAX_HEADER_LINES} header lines")
            items = parse_header_lines(part, multiline_text=self._lenient)
            names = [n.lower() for n, _ in items]
            if len(set(names)) != len(names):
                raise RequestRejected(300, "a header is repeated in one block")
            self._blocks.append(Headers(items))
        if self._headers_done():
            self._expected = {
                value[len(RESOURCE_SCHEME) :]: None
                for block in self._blocks
                for _, value in block.items_raw()
                if value.startswith(RESOURCE_SCHEME)
            }

    def _decrypt_headers(self, chunk: bytes) -> str:
        """The header text; the key hash matched, so what does not decrypt is malformed
        (300, as Growl for Windows answers)."""
        assert self._info is not None
        try:
            return _decrypt_text(self._info, self._key, chunk)
        except (ValueError, UnicodeDecodeError):
            if not self._lenient:
                raise RequestRejected(300, "the encrypted headers do not decrypt") from None
        # ruby-growl sends no blank line before the first binary section, so the chunk
        # framed on CRLF CRLF ends with that section's Identifier and Length lines.
        cut = chunk.rfind(b"\r\nIdentifier:")
        try:
            text = _decrypt_text(self._info, self._key, chunk[:cut]) if cut > 0 else None
        except (ValueError, UnicodeDecodeError):
            text = None
        if text is None:
            raise RequestRejected(300, "the encrypted headers do not decrypt")
        self._glued_head = chunk[cut + 2 :]
        return text

    def _read_section(self) -> bool:
        buf = self._buf
        if self._section is None:
            if self._glued_head is not None:
                head, self._glued_head = self._glued_head, None
            else:
                buf.skip_crlfs()
                head = buf.take_until(END)
                if head is None:
                    return False
            self._start_section(head)
        if not self._section_settled and not self._settle_section_length():
            return False
        assert self._section is not None
        rid, length = self._section
        data = buf.take(length)
        if data is None:
            return False
        if self._info and self._info.encryption:
            try:
                data = decrypt(self._info.encryption, self._key, self._info.iv, data)
            except ValueError:
                raise RequestRejected(300, "a binary section does not decrypt") from None
        self._resources[rid] = data
        del self._expected[rid]
        self._section = None
        return True

    def _start_section(self, head: bytes) -> None:
        fields = Headers(parse_header_lines(head.decode("utf-8", "replace")))
        section_id, length = fields.get("Identifier", ""), parse_int(fields.get("Length"))
        if length is None or length < 0:
            raise RequestRejected(300, "binary section without a valid Length")
        if section_id not in self._expected:
            raise RequestRejected(300, f"binary section {section_id[:40]!r} is not referenced")
        self._section = (section_id, length)
        encrypted = self._info is not None and self._info.encryption is not None
        self._section_settled = not (self._lenient and encrypted)

    def _settle_section_length(self) -> bool:
        """growler declares the plaintext length of an encrypted section: the ciphertext
        is then that length padded to the next whole block (PKCS#7 always pads).

        The declared length stands when it is whole blocks that decrypt and are followed
        by CRLF (or the end); else the padded length is read. Decided once per section,
        so the work stays linear. False: wait for more bytes.
        """
        assert self._info is not None and self._info.encryption and self._section is not None
        rid, length = self._section
        block = ENCRYPTION_ALGORITHMS[self._info.encryption][1]
        padded = (length // block + 1) * block
        if length and length % block == 0:
            ahead = self._buf.peek(length + 2)
            if ahead is None:
                return False
            if ahead[length:] in (b"\r\n", b""):
                try:
                    decrypt(self._info.encryption, self._key, self._info.iv, ahead[:length])
                    padded = length
                except ValueError:
                    pass
        self._section = (rid, padded)
        self._section_settled = True
        return True
