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

Names are Python expressions evaluated in your namespace, and a variable of yours wins
over a field of the same name. A field that cannot be filled stays as written (the
others are filled) and is named in one warning line, so a typo never loses a
notification.
"""

from __future__ import annotations

import linecache
import reprlib
import string
import sys
import traceback
from collections import ChainMap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FAILED",
    "FINISHED",
    "INTERRUPTED",
    "CellOutcome",
    "CellRequest",
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
        cls, result: Any, elapsed: float, *, is_cell_file: Callable[[str], bool] | None = None,
        error: BaseException | None = None,
    ) -> CellOutcome:
        """From an ``ExecutionResult``; None (a top-level-await cell cancelled by an
        interrupt — ipykernel then passes no result) counts as interrupted, unless
        ``error`` says what ended it.

        A cell run with ``store_history=False`` has no In [N] of its own (the number its
        result carries is the next cell's): its count is None.
        """
        if result is None:
            if error is not None:
                return cls.from_exception(error, elapsed, is_cell_file=is_cell_file)
            return cls(INTERRUPTED, elapsed)
        error = result.error_before_exec or result.error_in_exec
        info = getattr(result, "info", None)
        count = getattr(result, "execution_count", None)
        if not getattr(info, "store_history", True):
            count = None
        typed = typed_line_finder(getattr(info, "raw_cell", None),
                                  getattr(info, "transformed_cell", None))
        return cls.from_exception(error, elapsed, value=result.result, count=count,
                                  is_cell_file=is_cell_file, typed_line=typed)

    @classmethod
    def from_exception(
        cls, error: BaseException | None, elapsed: float, *, value: Any = None,
        count: int | None = None, is_cell_file: Callable[[str], bool] | None = None,
        typed_line: TypedLine | None = None,
    ) -> CellOutcome:
        """From what the code raised (None: it succeeded and ``value`` was its result)."""
        if error is None:
            return cls(FINISHED, elapsed, result=short_repr(value), count=count)
        if isinstance(error, KeyboardInterrupt) or _is_cancelled(error):
            return cls(INTERRUPTED, elapsed, count=count)
        shown = _failed_to_show(error)
        if shown is not None:  # IPython failed on the cell's exception, not the cell
            return cls(FAILED, elapsed, count=count, error=describe_error(shown),
                       line=failing_line(shown, is_cell_file, typed_line))
        return cls(FAILED, elapsed, error=describe_error(error),
                   line=failing_line(error, is_cell_file, typed_line), count=count)

    def fields(self) -> dict[str, Any]:
        """The template fields (see the module docstring)."""
        return {
            "status": self.status, "elapsed": format_elapsed(self.elapsed),
            "seconds": round(self.elapsed, 3), "result": self.result, "error": self.error,
            "line": self.line, "count": "" if self.count is None else self.count,
        }


def _failed_to_show(error: BaseException) -> BaseException | None:
    """The cell's exception, if ``error`` came out of that exception's own ``__str__``
    or ``__repr__`` while IPython was formatting it (the cell's error is then lost)."""
    tb = error.__traceback__
    if tb is None:
        return None
    while tb.tb_next is not None:
        tb = tb.tb_next
    owner = tb.tb_frame.f_locals.get("self")
    if tb.tb_frame.f_code.co_name in ("__str__", "__repr__") and isinstance(
        owner, BaseException
    ) and owner is not error:
        return owner
    return None


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


@dataclass(frozen=True)
class CellRequest:
    """What one cell's end-of-cell notification should look like (from its options)."""

    rule: NotifyRule = field(default_factory=NotifyRule)
    title: str | None = None
    message: str | None = None
    source: str = "cell"
    #: Notifier.send keyword arguments: icon, sticky, priority, coalescing_id,
    #: callback_url, host, port — only those given.
    delivery: Mapping[str, Any] = field(default_factory=dict)


def describe_error(error: BaseException) -> str:
    """``"Type: message"`` on one line, shortened to fit a notification."""
    text = " ".join(_exception_text(error).split())
    return text if len(text) <= _MAX_ERROR else text[: _MAX_ERROR - 1] + "…"


#: ``typed_line(filename, lineno)``: what the user typed on that line, if known.
TypedLine = Callable[[str, int], "str | None"]


def typed_line_finder(raw_cell: str | None, transformed_cell: str | None) -> TypedLine:
    """Map a line of the code IPython ran back to what the user typed on it.

    IPython runs the transformed cell (``%autonotify`` becomes ``get_ipython().run_line_
    magic(...)``), line for line; a traceback shows that code, a notification shows what
    was typed. Only frames of this very cell are mapped (their cached code is this
    transformed cell), and only when the transform kept the line count.
    """
    if transformed_cell is None and raw_cell:
        transformed_cell = _transform(raw_cell)  # IPython 8 does not record it
    raw = (raw_cell or "").splitlines()
    code = (transformed_cell or "").splitlines()

    def typed(filename: str, lineno: int) -> str | None:
        if not raw or len(raw) != len(code) or not 0 < lineno <= len(raw):
            return None
        if [line.rstrip("\n") for line in linecache.getlines(filename)] != code:
            return None
        return raw[lineno - 1]

    return typed


def _transform(raw_cell: str) -> str | None:
    """IPython's standard transform of a cell (magics to calls), as IPython 8 ran it."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(raw_cell)
    except Exception:  # a cell it cannot transform: no mapping, never an error
        return None


def failing_line(
    error: BaseException, is_cell_file: Callable[[str], bool] | None = None,
    typed_line: TypedLine | None = None,
) -> str:
    """``"line 3: x = 1 / 0"`` for the deepest frame in the cell's own code.

    If the error came from a library, this is the cell's line that called into it —
    the one the user can act on. Without a cell frame, the deepest frame is named.
    The line reads as the user typed it (``typed_line``), not as IPython rewrote it.
    """
    if isinstance(error, SyntaxError) and error.lineno:
        code = (error.text or "").strip()
        return f"line {error.lineno}: {code}" if code else f"line {error.lineno}"
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return ""
    cell = [f for f in frames if is_cell_file is not None and is_cell_file(f.filename)]
    frame = cell[-1] if cell else frames[-1]
    where = f"line {frame.lineno}" if cell else f"{frame.filename}:{frame.lineno}"
    typed = typed_line(frame.filename, frame.lineno or 0) if typed_line and cell else None
    code = (typed if typed is not None else frame.line or "").strip()
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
    """``0.42 s``, ``12.3 s``, ``2 min 05 s``, ``1 h 02 min``.

    Each unit is chosen after rounding, so 0.999 reads ``1.0 s`` (not ``1.00 s``) and
    59.97 reads ``1 min 00 s`` (not ``60.0 s``).
    """
    if round(seconds, 2) < 1:
        return f"{seconds:.2f} s"
    if round(seconds, 1) < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


_formatter = string.Formatter()


def expand(
    template: str, fields: Mapping[str, Any], namespace: Mapping[str, Any] | None = None,
    problems: list[str] | None = None, *, local_ns: Mapping[str, Any] | None = None,
) -> str:
    """Fill ``{...}`` fields with Python expressions, the way IPython's ``{var}`` does.

    Names are looked up in ``local_ns`` (the function the magic was called from), then
    ``namespace`` (the user's), then ``fields`` (the magic's own: ``{count}``,
    ``{status}``, ...): a variable of yours wins over a field of the same name. A field
    that cannot be filled stays as written and every other field is still filled; each
    such field is described in ``problems`` (``"{1/0}: ZeroDivisionError: division by
    zero"``). ``{{`` and ``}}`` are literal braces.
    """
    try:
        parts = list(_formatter.parse(template))
    except ValueError as exc:  # unbalanced braces: nothing to fill
        if problems is not None:
            problems.append(f"{template!r} left as written: {exc}")
        return template
    glob = namespace if isinstance(namespace, dict) else dict(namespace or {})
    maps: list[Mapping[str, Any]] = [glob, fields]
    if local_ns is not None and local_ns is not namespace:  # at top level they are one
        maps.insert(0, local_ns)
    scope = ChainMap(*maps)  # type: ignore[arg-type]
    out = []
    for literal, name, spec, conversion in parts:
        out.append(literal)
        if name is None:
            continue
        raw = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
        raw += "}"
        try:
            if not name.strip():
                raise ValueError("empty field")
            value = eval(name, glob, scope)  # the user's own expression, in their scope
            if conversion:
                value = {"r": repr, "s": str, "a": ascii}[conversion](value)
            out.append(format(value, spec or ""))
        except Exception as exc:
            out.append(raw)
            if problems is not None:
                problems.append(f"{raw}: {_exception_text(exc)}")
    return "".join(out)


def _exception_text(exc: BaseException) -> str:
    """``"Type: message"``; an exception whose ``__str__`` raises is called unprintable."""
    name = type(exc).__name__
    try:
        message = str(exc)
    except Exception:
        return f"{name} (unprintable: its __str__ raised)"
    return f"{name}: {message}" if message else name


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
    namespace: Mapping[str, Any] | None = None, problems: list[str] | None = None,
) -> tuple[str, str]:
    """(title, text) for ``outcome``; templates default to a plain account of it.

    A failure always names its error: if the message template does not use
    ``{error}``, the error and its line are added below it. Fields that could not be
    filled are described in ``problems``.
    """
    fields = outcome.fields()
    head = expand(title, fields, namespace, problems) if title else default_title(outcome)
    if not message:
        return head, default_message(outcome)
    text = expand(message, fields, namespace, problems)
    if outcome.status == FAILED and "{error" not in message:
        text += "\n" + "\n".join(x for x in (outcome.error, outcome.line) if x)
    return head, text
