"""What a finished cell did, in the words a notification carries.

Pure functions over IPython's ``ExecutionResult`` (or an exception and a value): no
I/O, no shell state. The magics decide *whether* to notify with :class:`NotifyRule`
and *what to say* with :func:`render`.

Templates (``--title`` / ``--message``) are ``str.format``-style and are filled in
when the cell ends, so besides these fields they may use any variable the cell left
in the namespace (``{loss:.3f}``, ``{len(rows)}``)::

    {status}   finished | failed | interrupted
    {elapsed}  "2 min 05 s"            {seconds}  125.3
    {result}   short repr of the cell's last value ("" when none was displayed)
    {error}    "ZeroDivisionError: division by zero" ("" on success)
    {line}     "line 3: x = 1 / 0" — where in the cell it failed
    {count}    the execution count (In [count])

A field that cannot be filled stays as written, so a typo never loses a notification.
"""

from __future__ import annotations

import reprlib
import string
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FAILED",
    "FINISHED",
    "INTERRUPTED",
    "CellOutcome",
    "NotifyRule",
    "expand",
    "format_elapsed",
    "render",
    "short_repr",
]

FINISHED = "finished"
FAILED = "failed"
INTERRUPTED = "interrupted"

_MAX_ERROR = 200


class _ShortRepr(reprlib.Repr):
    def repr_instance(self, x: Any, level: int) -> str:
        try:
            text = repr(x)
        except Exception:  # a broken __repr__ must not cost the notification
            return f"<{type(x).__name__} object>"
        if len(text) > self.maxother:
            half = (self.maxother - 3) // 2
            text = text[:half] + "..." + text[len(text) - half:]
        return text


_repr = _ShortRepr()
_repr.maxstring = 60
_repr.maxother = 60
_repr.maxlist = _repr.maxtuple = _repr.maxset = _repr.maxdict = 6


@dataclass(frozen=True)
class CellOutcome:
    """How a cell ended: ``status`` and ``elapsed`` seconds, plus what to tell about it."""

    status: str
    elapsed: float
    result: str = ""
    error: str = ""
    line: str = ""
    count: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == FINISHED

    @classmethod
    def from_result(
        cls, result: Any, elapsed: float, *, is_cell_file: Callable[[str], bool] | None = None
    ) -> CellOutcome:
        """From an ``ExecutionResult``; None (a top-level-await cell cancelled by an
        interrupt — ipykernel then passes no result) counts as interrupted."""
        if result is None:
            return cls(INTERRUPTED, elapsed)
        error = result.error_before_exec or result.error_in_exec
        count = getattr(result, "execution_count", None)
        return cls.from_exception(error, elapsed, value=result.result, count=count,
                                  is_cell_file=is_cell_file)

    @classmethod
    def from_exception(
        cls, error: BaseException | None, elapsed: float, *, value: Any = None,
        count: int | None = None, is_cell_file: Callable[[str], bool] | None = None,
    ) -> CellOutcome:
        """From what the code raised (None: it succeeded and ``value`` was its result)."""
        if error is None:
            return cls(FINISHED, elapsed, result=short_repr(value), count=count)
        if isinstance(error, KeyboardInterrupt) or _is_cancelled(error):
            return cls(INTERRUPTED, elapsed, count=count)
        return cls(FAILED, elapsed, error=describe_error(error),
                   line=failing_line(error, is_cell_file), count=count)

    def fields(self) -> dict[str, Any]:
        """The template fields (see the module docstring)."""
        return {
            "status": self.status, "elapsed": format_elapsed(self.elapsed),
            "seconds": round(self.elapsed, 3), "result": self.result, "error": self.error,
            "line": self.line, "count": "" if self.count is None else self.count,
        }


def _is_cancelled(error: BaseException) -> bool:
    # asyncio costs ~13 ms to import; if nothing imported it, nothing was cancelled.
    asyncio = sys.modules.get("asyncio")
    return asyncio is not None and isinstance(error, asyncio.CancelledError)


@dataclass(frozen=True)
class NotifyRule:
    """Whether an outcome is worth a notification.

    ``only_fail``: stay quiet on success. ``min_seconds``: stay quiet about any cell
    quicker than this, whatever its outcome — if it was quick, you were still watching.
    """

    only_fail: bool = False
    min_seconds: float = 0.0

    def wants(self, outcome: CellOutcome) -> bool:
        if outcome.elapsed < self.min_seconds:
            return False
        return not (self.only_fail and outcome.ok)


def describe_error(error: BaseException) -> str:
    """``"Type: message"`` on one line, shortened to fit a notification."""
    name = type(error).__name__
    try:
        message = str(error)
    except Exception:
        message = ""
    text = f"{name}: {message}" if message else name
    text = " ".join(text.split())
    return text if len(text) <= _MAX_ERROR else text[: _MAX_ERROR - 1] + "…"


def failing_line(
    error: BaseException, is_cell_file: Callable[[str], bool] | None = None
) -> str:
    """``"line 3: x = 1 / 0"`` for the deepest frame in the cell's own code.

    If the error came from a library, this is the cell's line that called into it —
    the one the user can act on. Without a cell frame, the deepest frame is named.
    """
    frames = traceback.extract_tb(error.__traceback__)
    if isinstance(error, SyntaxError) and error.lineno:
        code = (error.text or "").strip()
        return f"line {error.lineno}: {code}" if code else f"line {error.lineno}"
    if not frames:
        return ""
    cell = [f for f in frames if is_cell_file is not None and is_cell_file(f.filename)]
    frame = cell[-1] if cell else frames[-1]
    where = f"line {frame.lineno}" if cell else f"{frame.filename}:{frame.lineno}"
    code = (frame.line or "").strip()
    return f"{where}: {code}" if code else where


def short_repr(value: Any) -> str:
    """A one-line repr of at most ~60 characters; arrays and frames show their shape."""
    if value is None:
        return ""
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple) and not isinstance(value, type):
        dims = "×".join(str(n) for n in shape)
        return f"{type(value).__name__} {dims}"
    try:
        text = _repr.repr(value)
    except Exception:
        return f"<{type(value).__name__} object>"
    return " ".join(text.split())


def format_elapsed(seconds: float) -> str:
    """``0.42 s``, ``12.3 s``, ``2 min 05 s``, ``1 h 02 min``."""
    if seconds < 1:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


_formatter = string.Formatter()


def expand(template: str, fields: Mapping[str, Any], namespace: dict | None = None) -> str:
    """Fill ``{...}`` fields: names from ``fields`` first, then Python expressions
    evaluated in ``namespace`` (the user's, like IPython's own ``{var}`` expansion).

    A field that cannot be filled is left as written; ``{{`` and ``}}`` are literal braces.
    """
    try:
        parts = list(_formatter.parse(template))
    except ValueError:  # unbalanced braces: nothing to fill
        return template
    out = []
    for literal, name, spec, conversion in parts:
        out.append(literal)
        if name is None:
            continue
        raw = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
        raw += "}"
        try:
            if name in fields:
                value = fields[name]
            else:
                # The user's own expression in their own namespace, as IPython does for
                # {var} in magics.
                value = eval(name, namespace if namespace is not None else {}, dict(fields))
            if conversion:
                value = {"r": repr, "s": str, "a": ascii}[conversion](value)
            out.append(format(value, spec or ""))
        except Exception:
            out.append(raw)
    return "".join(out)


def default_title(outcome: CellOutcome) -> str:
    label = f"In [{outcome.count}]" if outcome.count is not None else "Cell"
    return f"{label} {outcome.status}"


def default_message(outcome: CellOutcome) -> str:
    elapsed = format_elapsed(outcome.elapsed)
    if outcome.status == FINISHED:
        return f"Finished in {elapsed}" + (f" → {outcome.result}" if outcome.result else "")
    if outcome.status == INTERRUPTED:
        return f"Interrupted after {elapsed}"
    lines = [outcome.error, outcome.line, f"after {elapsed}"]
    return "\n".join(line for line in lines if line)


def render(
    outcome: CellOutcome, title: str | None = None, message: str | None = None,
    namespace: dict | None = None,
) -> tuple[str, str]:
    """(title, text) for ``outcome``; templates default to a plain account of it.

    A failure always names its error: if the message template does not use
    ``{error}``, the error and its line are added below it.
    """
    fields = outcome.fields()
    head = expand(title, fields, namespace) if title else default_title(outcome)
    if not message:
        return head, default_message(outcome)
    text = expand(message, fields, namespace)
    if outcome.status == FAILED and "{error" not in message:
        text += "\n" + "\n".join(x for x in (outcome.error, outcome.line) if x)
    return head, text
