"""Sender text made safe for where it is shown: a terminal, or a desktop bubble.

Text comes from the network. Printed raw, an ESC or BEL in a title drives the user's
terminal; a NUL is not even a valid D-Bus string. Both helpers keep every printable
character (any script, emoji) and treat only control characters.
"""

from __future__ import annotations

import unicodedata

__all__ = ["for_desktop", "for_terminal"]

_REPLACEMENT = "\N{REPLACEMENT CHARACTER}"


def _is_control(ch: str) -> bool:
    # Cc: C0/C1 controls (ESC, BEL, NUL, CSI...); Cf: invisible format characters such as
    # bidi overrides, which can make a line read differently from what it holds.
    return unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\n\t"


def for_terminal(text: str) -> str:
    """One line: controls shown escaped (``\\x1b``), newlines as ``⏎``, tabs as spaces."""
    out = []
    for ch in text:
        if ch == "\n":
            out.append(" ⏎ ")
        elif ch == "\t":
            out.append(" ")
        elif _is_control(ch):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def for_desktop(text: str) -> str:
    """Newlines and tabs kept; every other control becomes U+FFFD, visibly."""
    return "".join(_REPLACEMENT if _is_control(ch) else ch for ch in text)
