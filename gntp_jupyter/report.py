"""How the extension tells the user something went wrong: one line on stderr.

Shared by the extension, the magics and the batcher; it imports nothing of theirs, so
each can use it without importing the others.
"""

from __future__ import annotations

import sys

__all__ = ["template_warning", "warn"]


def warn(line: str) -> None:
    """The one way the extension tells the user something went wrong: a stderr line."""
    print(line, file=sys.stderr, flush=True)


def template_warning(problems: list[str]) -> str:
    """The one line about ``{fields}`` that could not be filled (the rest were)."""
    return "gntp_jupyter: template field left as written — " + "; ".join(problems)
