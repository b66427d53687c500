"""The input transformer behind ``%%notify_when_done``.

A cell magic gets its body as a string and would have to run it itself — with a nested
``run_cell`` a failing body replies "ok" (Run All carries on), the cell's events fire
twice and top-level ``await`` breaks. So a cell whose first line is
``%%notify_when_done ARGS`` is rewritten, before IPython looks at it, into::

    get_ipython().run_line_magic('notify_when_done', 'ARGS')   # arm: notify when this cell ends
    <the body, untouched>

and IPython runs the body itself: the same output, ``Out[]``/``_``, exception, traceback
(line numbers included — the header stays one line) and top-level ``await``. The
``post_run_cell`` handler then sends. ``%%notify_when_done?`` is left to IPython's help,
and a second cell magic below the header (``%%time``, ``%%bash``) still works.

While a cell is being typed, IPython's ``check_complete`` (terminal IPython's Enter key,
a kernel's ``is_complete_request``) skips this transformer (``has_side_effects``), so
``%%notify_when_done`` is treated like any cell magic: the cell goes on until a blank
line, as for ``%%timeit``.
"""

from __future__ import annotations

__all__ = ["MAGIC_NAME", "arm_call", "notify_when_done_transformer"]

MAGIC_NAME = "notify_when_done"
_HEADER = "%%" + MAGIC_NAME


def arm_call(args: str) -> str:
    """The one line of code that arms the notification for the running cell."""
    return f"get_ipython().run_line_magic({MAGIC_NAME!r}, {args!r})\n"


def notify_when_done_transformer(lines: list[str]) -> list[str]:
    """Rewrite a ``%%notify_when_done`` header; leave every other cell alone."""
    if not lines or not lines[0].startswith(_HEADER):
        return lines
    header = lines[0].rstrip("\r\n")
    rest = header[len(_HEADER):]
    if rest and not rest[0].isspace():
        return lines  # %%notify_when_donefoo: another magic
    if header.rstrip().endswith("?"):
        return lines  # %%notify_when_done? — IPython's help
    body = lines[1:]
    if body and body[0].startswith("%%"):  # a second cell magic: run it as IPython would
        from IPython.core.inputtransformer2 import cell_magic

        body = cell_magic(body)
    return [arm_call(rest.strip()), *body]


# check_complete runs only the transforms without side effects: seen as a cell magic there.
notify_when_done_transformer.has_side_effects = True  # type: ignore[attr-defined]
