"""How one header line is written and read.

Writing is strict (no CR inside a value, no repeated names, ``True``/``False``);
reading is lenient, because real servers are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping

from .exceptions import GNTPValidationError

__all__ = [
    "CONTROL_MARK",
    "CUSTOM_PREFIXES",
    "GNTP_HEADER_NAMES",
    "Headers",
    "format_bool",
    "is_gntp_header",
    "parse_header_lines",
    "parse_int",
    "sanitize_value",
]

#: Every header name GNTP/1.0 defines, lower-cased: requests, binary sections, responses,
#: and the ``Connection`` and ``Received`` headers Growl for Windows reads.
GNTP_HEADER_NAMES = frozenset(name.lower() for name in (
    "Application-Name", "Application-Icon", "Notifications-Count",
    "Notification-Name", "Notification-Display-Name", "Notification-Enabled",
    "Notification-Icon", "Notification-ID", "Notification-Title", "Notification-Text",
    "Notification-Sticky", "Notification-Priority", "Notification-Coalescing-ID",
    "Notification-Callback-Context", "Notification-Callback-Context-Type",
    "Notification-Callback-Target", "Notification-Callback-Result",
    "Notification-Callback-Timestamp",
    "Subscriber-ID", "Subscriber-Name", "Subscriber-Port", "Subscription-TTL",
    "Origin-Machine-Name", "Origin-Software-Name", "Origin-Software-Version",
    "Origin-Platform-Name", "Origin-Platform-Version",
    "Response-Action", "Error-Code", "Error-Description",
    "Identifier", "Length", "Connection", "Received",
))
#: Prefixes of the headers GNTP leaves to senders (custom, application data, origin).
CUSTOM_PREFIXES = ("x-", "data-", "origin-")
_TEXT = "notification-text"


class Headers(Mapping[str, str]):
    """Read-only, case-insensitive header mapping that keeps the names as received."""

    __slots__ = ("_index", "_items", "_text")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._text: str | None = None
        self._items = tuple(items)
        self._index: dict[str, str] = {}
        for name, value in self._items:
            self._index.setdefault(name.lower(), value)

    @classmethod
    def parse(cls, text: str) -> Headers:
        """The headers of one block of ``Name: value`` lines (lines without a colon are
        ignored, as servers do). Read on first use: most answers a client gets are only
        checked for being an -OK."""
        headers = cls.__new__(cls)
        headers._text = text
        return headers

    def _read(self) -> None:
        text = self._text  # None: another thread read it meanwhile (set last, below)
        if text is None:
            return
        items = []
        index: dict[str, str] = {}
        for line in text.split("\r\n"):
            name, sep, value = line.partition(":")
            if sep:
                name = name.strip()
                if name:
                    value = value.strip(" \t")
                    items.append((name, value))
                    index.setdefault(name.lower(), value)
        self._items = tuple(items)
        self._index = index
        self._text = None

    def __getitem__(self, name: str) -> str:
        if self._text is not None:
            self._read()
        return self._index[name.lower()]

    def __contains__(self, name: object) -> bool:
        if self._text is not None:
            self._read()
        return isinstance(name, str) and name.lower() in self._index

    def __iter__(self) -> Iterator[str]:
        seen = set()
        for name, _ in self.items_raw():
            if name.lower() not in seen:
                seen.add(name.lower())
                yield name

    def __len__(self) -> int:
        if self._text is not None:
            self._read()
        return len(self._index)

    def items_raw(self) -> tuple[tuple[str, str], ...]:
        """Every line as received, repeats included (a strict server rejects those)."""
        if self._text is not None:
            self._read()
        return self._items

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"


def format_bool(value: bool) -> str:
    # growl-for-linux reads only "true"; Windows and mac read "True"/"Yes".
    return "True" if value else "False"


#: What a control character in a value becomes: visible, so nothing vanishes silently.
CONTROL_MARK = "\ufffd"
_CONTROLS = {c: CONTROL_MARK for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]
             if chr(c) not in "\t\n\r"}


def sanitize_value(value: str) -> str:
    """CR never reaches the wire inside a value; LF is GNTP's in-value newline.

    Other control characters (NUL, ESC, ...; TAB stays) become U+FFFD: servers reject
    them (growl-for-linux answers "Invalid data" to a NUL and still stores a garbled
    notification) and a desktop cannot show them anyway.
    """
    return value.replace("\r\n", "\n").replace("\r", "\n").translate(_CONTROLS)


def check_unique(names: Iterable[str]) -> None:
    seen: set[str] = set()
    for name in names:
        key = name.lower()
        if key in seen:
            raise GNTPValidationError(f"header {name!r} would be sent twice in one block")
        seen.add(key)


def is_gntp_header(name: str) -> bool:
    """A name GNTP defines, or one of the ``X-``/``Data-``/``Origin-`` names it allows."""
    key = name.strip().lower()
    return key in GNTP_HEADER_NAMES or key.startswith(CUSTOM_PREFIXES)


def parse_header_lines(text: str, *, multiline_text: bool = False) -> list[tuple[str, str]]:
    """``Name: value`` lines; lines without a colon are ignored, as servers do.

    ``multiline_text``: after ``Notification-Text``, every line that is not a GNTP
    header (:func:`is_gntp_header`) nor empty continues the text, joined with LF. Senders such as
    apprise (through PyPI ``gntp``) put CRLF inside the value; a strict server keeps
    only the first line.
    """
    if not multiline_text:  # one line, one header: the reading Headers.parse does
        return list(Headers.parse(text).items_raw())
    items: list[tuple[str, str]] = []
    continued: list[str] | None = None  # lines of the Notification-Text being read
    for line in text.split("\r\n"):
        name, sep, value = line.partition(":")
        if continued is not None and line and not (sep and is_gntp_header(name)):
            continued.append(line)
            continue
        if continued is not None:
            items[-1] = (items[-1][0], "\n".join(continued))
            continued = None
        if sep and name.strip():
            items.append((name.strip(), value.strip(" \t")))
            if name.strip().lower() == _TEXT:
                continued = [items[-1][1]]
    if continued is not None:
        items[-1] = (items[-1][0], "\n".join(continued))
    return items


# ASCII digits only: str.isdigit() and int() also accept "²" or Arabic-Indic digits,
# which would turn a malformed header into a ValueError far from the parser.
_INTEGER = re.compile(r"[+-]?[0-9]{1,18}", re.ASCII)


def parse_int(value: str | None) -> int | None:
    """The integer a header value spells in ASCII digits, else None (never raises).

    Every number read from the network goes through here, on both sides.
    """
    if value is None:
        return None
    text = value.strip(" \t")
    return int(text) if _INTEGER.fullmatch(text) else None
