"""Is a call a statement of its own? — the one guess the async guide forces on us.

The gntplib async guide calls ``publisher.publish(...)`` without ``await`` inside running
coroutines and expects delivery (and errors) from that line. So ``AsyncPublisher`` must tell
a call whose result is *discarded* (an expression statement: ``p.publish(...)`` alone) from
every other use of the result (``await``, ``gather``, ``create_task``, ``x = ...``,
``return ...``). Only the first runs at once.

How: the caller's *source*, never its bytecode. The statement is found in the file's syntax
tree (read through :mod:`linecache`, as tracebacks do), and matched to the call in progress
by its source position: on 3.11+ the exact span the interpreter records for the call
(``co_positions``, what tracebacks underline), on 3.10 its first line. The answer is
``True`` (a statement of its own), ``False`` (the result is used) or ``None`` (the source
cannot be read, or the line holds several such calls): the caller treats ``None`` as "used"
and warns if the result is then dropped (see :class:`.async_gntp.AsyncCall`).

Why not watch the result being dropped instead (a finalizer that sees the caller's frame
still on the same line)? That detects a discarded result reliably, but only after the call
returned — too late to raise its error from the call, which the guide's error-handling
example relies on (an exception cannot leave a finalizer). The finalizer is still used: to
warn, naming the call site, when a result is dropped without being awaited.
"""

from __future__ import annotations

import ast
import itertools
import linecache
import sys
import threading
from dataclasses import dataclass, field
from types import FrameType

__all__ = ["discards_result"]

#: (lineno, end_lineno, col_offset, end_col_offset), as ``co_positions`` gives them.
Span = tuple[int, int, int, int]


@dataclass
class _Calls:
    """Every call in one source text: which are statements of their own, by span and by
    first line."""

    statements: set[Span] = field(default_factory=set)
    #: first line -> (name called, statement of its own?) for each call starting there
    by_line: dict[int, list[tuple[str, bool]]] = field(default_factory=dict)


_index: dict[str, tuple[list[str], _Calls]] = {}
_lock = threading.Lock()
_MAX_FILES = 256


def _calls(lines: list[str]) -> _Calls:
    calls = _Calls()
    try:
        tree = ast.parse("".join(lines))
    except (SyntaxError, ValueError):
        return calls
    bare = {id(node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        is_statement = id(node) in bare
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        calls.by_line.setdefault(node.lineno, []).append((name, is_statement))
        if is_statement and node.end_lineno is not None and node.end_col_offset is not None:
            calls.statements.add(
                (node.lineno, node.end_lineno, node.col_offset, node.end_col_offset)
            )
    return calls


def _calls_in(frame: FrameType) -> _Calls | None:
    filename = frame.f_code.co_filename
    lines = linecache.getlines(filename, frame.f_globals)
    if not lines:
        return None
    with _lock:
        known = _index.get(filename)
        if known is not None and known[0] is lines:  # linecache keeps one list per version
            return known[1]
    calls = _calls(lines)
    with _lock:
        if len(_index) >= _MAX_FILES:
            _index.clear()
        _index[filename] = (lines, calls)
    return calls


def _span(frame: FrameType) -> Span | None:
    """Where the call in progress in ``frame`` stands in its source (3.11+)."""
    positions = frame.f_code.co_positions()  # one entry per 2-byte code unit
    here = next(itertools.islice(positions, frame.f_lasti // 2, None), None)
    if here is None or None in here:
        return None
    return here  # type: ignore[return-value]


def discards_result(frame: FrameType, name: str) -> bool | None:
    """Is the call ``frame`` is making right now (to a function called ``name``) an
    expression statement of its own?

    True: its result is discarded. False: the result is used. None: cannot tell.
    """
    try:
        calls = _calls_in(frame)
        if calls is None:
            return None
        if sys.version_info >= (3, 11):
            span = _span(frame)
            return None if span is None else span in calls.statements
        # 3.10 has lines only: a call's instructions carry the line it starts on. The
        # one call of that name starting there answers, or all calls there if they agree.
        here = calls.by_line.get(frame.f_lineno, [])
        named = {kind for called, kind in here if called == name}
        kinds = named or {kind for _, kind in here}
        return kinds.pop() if len(kinds) == 1 else None
    except Exception:  # an odd frame or source: cannot tell, never a crash
        return None
