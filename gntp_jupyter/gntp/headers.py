"""How one header line is written and read.

Writing is strict (no CR inside a value, no repeated names, ``True``/``False``);
reading is lenient, because real servers are.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from .exceptions import GNTPValidationError

__all__ = ["CONTROL_MARK", "Headers", "format_bool", "parse_header_lines", "sanitize_value"]


class Headers(Mapping[str, str]):
    """Read-only, case-insensitive header mapping that keeps the names as received."""

    __slots__ = ("_index", "_items")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items = tuple(items)
        self._index: dict[str, str] = {}
        for name, value in self._items:
            self._index.setdefault(name.lower(), value)

    def __getitem__(self, name: str) -> str:
        return self._index[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._index

    def __iter__(self) -> Iterator[str]:
        seen = set()
        for name, _ in self._items:
            if name.lower() not in seen:
                seen.add(name.lower())
                yield name

    def __len__(self) -> int:
        return len(self._index)

    def items_raw(self) -> tuple[tuple[str, str], ...]:
        """Every line as received, repeats included (a strict server rejects those)."""
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


def parse_header_lines(text: str) -> list[tuple[str, str]]:
    """``Name: value`` lines; lines without a colon are ignored, as servers do."""
    items = []
    for line in text.split("\r\n"):
        name, sep, value = line.partition(":")
        if sep and name.strip():
            items.append((name.strip(), value.strip(" \t")))
    return items
