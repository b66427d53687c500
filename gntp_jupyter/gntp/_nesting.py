"""Re-entering a running event loop — the one place that touches ``nest_asyncio2``.

A synchronous call made inside a running loop (a Jupyter cell, a Tornado handler, code
under ``asyncio.run``) cannot ``run_until_complete`` on that loop unless the loop is made
re-entrant. ``nest_asyncio2.apply()`` does that, but process-wide: asyncio's C Task and
Future are swapped for the pure-Python ones (slower), the loop class is patched, and other
callbacks may run inside the nested call. So it is applied lazily, only on that path, and
never as an import side effect. (nest-asyncio2 rather than the archived nest-asyncio: the
latter drops queued Jupyter cells after a nested run; ipykernel 7 itself uses the fork.)
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["can_nest", "is_applied", "run_nested"]

T = TypeVar("T")

_lock = threading.Lock()


def can_nest(loop: asyncio.AbstractEventLoop) -> bool:
    """nest-asyncio2 can only patch loops built on asyncio's own BaseEventLoop (not uvloop)."""
    return isinstance(loop, asyncio.BaseEventLoop)


def is_applied(loop: asyncio.AbstractEventLoop | None = None) -> bool:
    """True once asyncio (and ``loop``'s class, if given) have been made re-entrant."""
    patched = hasattr(asyncio, "_nest_patched")
    return patched and (loop is None or hasattr(loop, "_nest_patched"))


def run_nested(coro: Coroutine[Any, Any, T], loop: asyncio.AbstractEventLoop) -> T:
    """Run ``coro`` to completion on ``loop``, which is already running further up this stack."""
    if not is_applied(loop):
        with _lock:
            import nest_asyncio2  # deferred: importing it is harmless, applying it is not

            nest_asyncio2.apply(loop)
    return loop.run_until_complete(coro)
