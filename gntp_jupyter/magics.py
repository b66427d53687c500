"""The magics: ``%notify``, ``%%notify_when_done``, ``%autonotify``, ``%notify_panel``.

They parse, validate (``UsageError`` for a bad invocation) and hand over to the
extension state; sending is the Notifier's job. Their docstrings are the user's help
(``%notify?``), with worked examples.
"""

from __future__ import annotations

import ast
import os
import re
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from IPython.core.error import UsageError
from IPython.core.magic import (
    Magics,
    line_cell_magic,
    line_magic,
    magics_class,
    needs_local_scope,
    no_var_expand,
)
from IPython.core.magic_arguments import argument, kwds, magic_arguments, parse_argstring

from .cell_outcome import (
    CellOutcome,
    CellRequest,
    NotifyRule,
    TypedLine,
    expand,
    typed_line_finder,
)
from .config import ENV_VARS
from .report import template_warning, warn

if TYPE_CHECKING:
    from .config import GNTPNotifier
    from .history import History, HistoryEntry
    from .notifier import Notifier
    from .panel_widget import NotificationPanel

__all__ = ["NotifyMagics"]

DEFAULT_AUTONOTIFY_AFTER = 60.0


class ExtensionState(Protocol):
    """What the magics use of the shell's extension state, which hands itself over when
    it registers them: the magics never import the extension (it imports them)."""

    config: GNTPNotifier
    history: History

    @property
    def notifier(self) -> Notifier: ...
    def running_count(self) -> int | None: ...
    def is_cell_file(self, filename: str) -> bool: ...
    def arm(self, request: CellRequest) -> None: ...
    def notify(self, outcome: CellOutcome, request: CellRequest) -> HistoryEntry | None: ...
    def new_panel(self) -> NotificationPanel: ...


def _unquote(text: str | None) -> str | None:
    """magic_arguments keeps quotes (``-t "My title"`` gives ``'"My title"'``)."""
    if text is not None and len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _priority(text: str) -> int:
    from .gntp.validate import check_priority

    return _as_usage_error(check_priority, text)


def _port(text: str) -> int:
    from .gntp.validate import check_port

    return _as_usage_error(check_port, text)


def _as_usage_error(check: Callable[..., int], text: str) -> int:
    """The protocol's validator on an option's text; its message, as a UsageError."""
    from .gntp.exceptions import GNTPValidationError

    try:
        return check(text, from_text=True)
    except GNTPValidationError as exc:
        raise UsageError(str(exc)) from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"expected a number of seconds, not {text!r}") from None
    if not value >= 0:
        raise UsageError(f"seconds must be 0 or more, not {text}")
    return value


# A word: unquoted characters and quoted runs (which may hold spaces), like a shell word.
_WORD = re.compile(r"""(?:[^\s"']+|"(?:[^"\\]|\\.)*"?|'[^']*'?)+""")
_NUMBER = re.compile(r"-\.?\d")


def _split_message(line: str, parser: Any) -> tuple[str, str]:
    """(the options, the message): options come first, and from the first word that
    is not an option the rest of the line is the message, exactly as typed.

    ``--`` ends the options. A word like ``-5`` starts the message; an unknown
    ``-word`` before the message is a UsageError (a typo, not text).
    """
    actions = parser._option_string_actions
    words = list(_WORD.finditer(line))
    i = 0
    while i < len(words):
        word = words[i].group()
        if word == "--":
            rest = line[words[i].end():].strip()
            return line[:words[i].start()], _unquote_message(rest)
        if not word.startswith("-") or word == "-" or _NUMBER.match(word):
            break
        name = word.split("=", 1)[0]
        action = actions.get(name) or _long_prefix(actions, name)
        attached = "=" in word
        if action is None and not name.startswith("--") and word[:2] in actions:
            action, attached = actions[word[:2]], True  # -p2
        if action is None:
            raise UsageError(
                f"unknown option {word!r} (see %notify?); a message that starts with '-' "
                f"goes after --, as in: %notify -- {word} ..."
            )
        i += 1 if attached or action.nargs == 0 else 2
    if i >= len(words):
        return line, ""
    return line[:words[i].start()], _unquote_message(line[words[i].start():].strip())


def _long_prefix(actions: dict, name: str) -> Any:
    """argparse's unique-prefix rule for long options (``--stick`` is ``--sticky``)."""
    if not name.startswith("--"):
        return None
    found = {actions[o] for o in actions if o.startswith(name) and o.startswith("--")}
    return found.pop() if len(found) == 1 else None


def _unquote_message(text: str) -> str:
    """A message given as one quoted string loses its quotes; any other is kept as typed."""
    whole = _WORD.fullmatch(text)
    if whole and len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        inner = text[1:-1]
        if text[0] not in inner:
            return inner
    return text


# The options %notify and %%notify_when_done share, in the order --help lists them.
_DELIVERY = (
    argument("-i", "--icon", metavar="PATH_OR_URL",
             help="Icon: an image file (a path or a file:// URL) or an http(s) URL "
             "(fetched on the kernel's loop). Default: the application icon. An icon "
             "that cannot be used costs only the icon: the text goes out, with a warning."),
    argument("--sticky", action="store_true", default=None,
             help="Keep the notification on screen until clicked."),
    argument("-p", "--priority", type=_priority, metavar="N",
             help="Priority from -2 (very low) to 2 (emergency)."),
    argument("--id", dest="coalescing_id", metavar="ID",
             help="Coalescing id: a newer notification with the same id replaces the "
             "older one on screen (progress messages)."),
    argument("--callback", metavar="URL",
             help="URL opened when the notification is clicked "
             "(default: GNTPNotifier.callback_url)."),
    argument("--host", metavar="HOST[:PORT]",
             help="Send to this host instead of GNTPNotifier.host (this once); "
             "also host:port, [::1] and [::1]:port."),
    argument("--port", type=_port, help="Send to this port instead of GNTPNotifier.port."),
)


def _delivery_arguments(func: Callable) -> Callable:
    for decorator in reversed(_DELIVERY):
        func = decorator(func)
    return func


_NOTIFY_EXAMPLES = """
Examples::

    %notify Training finished
    %notify -t "Epoch {epoch}" loss {loss:.4f}       # {expressions} from your namespace
    for i, batch in enumerate(batches):                  # a progress message, mid-cell,
        ...                                              # replacing the previous one
        %notify --id progress -t Training {i + 1}/{len(batches)} done
    %notify -e failed --sticky -p 2 "The data looks wrong"
    %notify -i https://example.org/logo.png --host laptop.local Hello
    %notify --show                                       # the effective settings
    %notify --test                                       # send a test, print the round trip

Where notifications go is set once, for the magics and the panel alike::

    %config GNTPNotifier.host = "laptop.local"
    %notify --password-prompt          # asks; the password stays out of history and notebook

The password is best given in the GNTP_PASSWORD environment variable of the kernel (not
in a cell: a cell's text is saved in the history and the notebook). Settings also come
from ipython_config.py (c.GNTPNotifier.host = ...) and GNTP_HOST, GNTP_PORT, GNTP_HASH,
GNTP_ENCRYPTION. --host also takes host:port and [::1] forms.
A failed send never raises: you get one warning line naming the cause and the fix.
An icon that cannot be used (missing, a directory, not an image, a URL that fails) costs
only the icon: the text goes out, with a warning line. Control characters in the title
or text (except newline and tab) are sent as U+FFFD.
After a target did not answer, sends to it pause (30 s, doubling); --test tries at once.
A URL icon is fetched on the kernel's own loop: the first one makes that loop re-entrant
(nest-asyncio2, process-wide; see gntp_jupyter.gntp._nesting).
"""

_WHEN_DONE_EXAMPLES = """
Template fields (filled in when the cell ends, so your variables work too; a variable
of yours with the same name wins, and a field that cannot be filled stays as written,
with one warning line):
{status} finished/failed/interrupted, {elapsed} "2 min 05 s", {seconds}, {result}
(a short repr of the cell's last value), {error} "ValueError: ...", {line} where in the
cell it failed, {count} the execution count.

Examples::

    %%notify_when_done
    model.fit(X, y)

    %%notify_when_done --only-fail --min-seconds 30
    results = run_experiment()

    %%notify_when_done -t "Training {status}" -m "loss {loss:.3f} after {elapsed}"
    loss = train(epochs=50)

    %%notify_when_done
    data = await fetch_all()          # top-level await works

The cell runs exactly as it would without the magic (same output, Out[], _,
exception and traceback); the notification is sent synchronously when it ends, so it
is on the wire before the next cell starts, also under Run All. Failures use the
"Cell failed" notification type. A failure shows its exception type, message and line;
a KeyboardInterrupt (the stop button) says "interrupted". A body with a SyntaxError
never starts, so nothing is sent. A silent execution (silent=True) runs the cell
without a notification. A cell run with store_history=False has no number of its own:
it is called "Cell", not In [N].

While typing in terminal IPython (or jupyter console), the header line waits for the
body like %%timeit: the cell ends at a blank line.

As a line magic, %notify_when_done arms the cell it is in, the same way.
Called directly as a cell magic (get_ipython().run_cell_magic("notify_when_done",
args, body)), it runs the body itself the way %%time does — compiled and executed in
your namespace, without top-level await — and notifies as soon as the body ends.
"""

_AUTONOTIFY_EXAMPLES = """
Examples::

    %autonotify                  # every run of cells that takes 60 s or more notifies
    %autonotify --after 300      # ... 5 minutes or more
    %autonotify --only-fail      # only failures
    %autonotify --each           # one notification per slow cell, not per run
    %autonotify --off

A run is what Run All, Run Selected or papermill queue: one notification when the last
cell ends (the kernel had no next cell for 0.25 s), with the number of cells, the total
time and the slowest cell. A failure ends the run and notifies at once, naming its
cell, whatever the threshold. In terminal IPython a run is one cell. A cell under
%%notify_when_done notifies for itself and is not counted again.

To have it in every session: c.GNTPNotifier.autonotify_after = 60 in ipython_config.py.
Cells run by widgets and silent executions never notify. %reload_ext gntp_jupyter keeps
it on; %unload_ext turns it off (and says so).
"""


@magics_class
class NotifyMagics(Magics):
    """Desktop notifications (GNTP / Growl) from cells."""

    def __init__(self, shell: Any, extension: ExtensionState) -> None:
        super().__init__(shell)
        self._ext = extension

    # -- %notify ----------------------------------------------------------------------

    @magic_arguments()
    @kwds(epilog=_NOTIFY_EXAMPLES)
    @argument("message", nargs="*",
              help="The text: everything after the options, as typed; {expressions} are "
              "filled in.")
    @argument("-t", "--title", help="Title (default: In [N], the cell sending it; "
              "{count} is N).")
    @argument("-e", "--event", metavar="TYPE",
              help="Notification type: finished, failed, message (default) or any name "
              "in GNTPNotifier.event_types.")
    @_delivery_arguments
    @argument("--show", action="store_true", help="Print the effective settings.")
    @argument("--test", action="store_true",
              help="Register again and send a test notification; print the round trip.")
    @argument("--password-prompt", action="store_true",
              help="Ask for the notifier's password (typed, not echoed) and use it for "
              "this session. It stays out of the history and the notebook.")
    @no_var_expand
    @needs_local_scope
    @line_magic
    def notify(self, line: str = "", local_ns: dict | None = None) -> None:
        """Send a desktop notification now — also from the middle of a running cell.

        Options come first; from the first word that is not an option, the rest of the
        line is the message, as typed (``%notify epoch {i} -> done``). Use ``--`` before
        a message that starts with an option's name. ``{expressions}`` are evaluated
        where ``%notify`` runs (inside a function: its local variables), and your
        variables win over ``{count}``. A field that cannot be filled stays as written,
        the others are filled, and one warning line says which and why.

        The cell waits for the answer at most GNTPNotifier.timeout seconds.
        """
        options, message = _split_message(line, self.notify.parser)
        args = parse_argstring(self.notify, options)
        if args.password_prompt:
            self._prompt_password()
        if not (message or args.show or args.test or args.password_prompt):
            raise UsageError("%notify needs a message (or --show / --test); see %notify?")
        delivery = self._delivery(args)
        event = self._event(args.event)
        if args.show:
            print(self._settings_text())
        if args.test:
            self._report_test(self._ext.notifier.test_connection(
                host=delivery.get("host"), port=delivery.get("port")))
        if not message:
            return
        count = self._ext.running_count()
        fields = {"count": "" if count is None else count}
        problems: list[str] = []
        scope = {"namespace": self.shell.user_ns, "problems": problems, "local_ns": local_ns}
        title = _unquote(args.title)
        if title:
            title = expand(title, fields, **scope)
        else:
            title = f"In [{count}]" if count is not None else self._ext.config.app_name
        text = expand(message, fields, **scope)
        if problems:
            warn(template_warning(problems))
        entry = self._ext.notifier.send(title, text, event=event, source="%notify", **delivery)
        self._report(entry)

    def _prompt_password(self) -> None:
        import getpass

        try:
            password = getpass.getpass("GNTP password (empty for none): ")
        except (EOFError, KeyboardInterrupt):
            print("password unchanged")
            return
        self._ext.config.password = password or None
        print("password set for this session" if password else "password cleared")

    # -- %%notify_when_done -----------------------------------------------------------

    @magic_arguments()
    @kwds(epilog=_WHEN_DONE_EXAMPLES)
    @argument("-t", "--title", metavar="TEMPLATE",
              help='Title template (default: "In [{count}] {status}").')
    @argument("-m", "--message", metavar="TEMPLATE",
              help="Text template (default: the elapsed time and the result, or the error).")
    @argument("--only-fail", action="store_true",
              help="Notify only if the cell failed or was interrupted.")
    @argument("--min-seconds", type=_seconds, default=0.0, metavar="N",
              help="Notify only if the cell ran at least N seconds (whatever the outcome).")
    @_delivery_arguments
    @no_var_expand
    @line_cell_magic
    def notify_when_done(self, line: str = "", cell: str | None = None) -> Any:
        """Run the cell, then send a notification with its outcome and elapsed time."""
        request = self._cell_request(line, "%%notify_when_done")
        if cell is None:
            self._ext.arm(request)
            return None
        return self._run_directly(cell, request)

    def _cell_request(self, line: str, source: str) -> CellRequest:
        args = parse_argstring(self.notify_when_done, line)
        return CellRequest(
            rule=NotifyRule(only_fail=args.only_fail, min_seconds=args.min_seconds),
            title=_unquote(args.title), message=_unquote(args.message),
            source=source, delivery=self._delivery(args),
        )

    def _run_directly(self, cell: str, request: CellRequest) -> Any:
        """The body, compiled and run in the user's namespace like %%time does."""
        start = time.perf_counter()
        count = self._ext.running_count()
        try:
            value = _execute(self.shell, cell)
        except BaseException as exc:
            outcome = CellOutcome.from_exception(
                exc, time.perf_counter() - start, count=count, is_cell_file=self._ext.is_cell_file,
                typed_line=_typed_lines(self.shell, cell),
            )
            self._notify_safely(outcome, request)
            raise
        outcome = CellOutcome.from_exception(
            None, time.perf_counter() - start, value=value, count=count
        )
        self._notify_safely(outcome, request)
        return value

    def _notify_safely(self, outcome: CellOutcome, request: CellRequest) -> None:
        try:
            self._ext.notify(outcome, request)
        except Exception as exc:
            warn(f"gntp_jupyter: notification failed: {type(exc).__name__}: {exc}")

    # -- %autonotify ------------------------------------------------------------------

    @magic_arguments()
    @kwds(epilog=_AUTONOTIFY_EXAMPLES)
    @argument("--after", type=_seconds, metavar="SECONDS",
              help=f"Threshold in seconds (default {DEFAULT_AUTONOTIFY_AFTER:g}, or the "
              "current one).")
    @argument("--only-fail", action="store_true", help="Notify only about failures.")
    @argument("--each", action="store_true",
              help="One notification per slow cell instead of one per run of cells.")
    @argument("--off", action="store_true", help="Stop notifying about slow cells.")
    @line_magic
    def autonotify(self, line: str = "") -> None:
        """Notify whenever a cell slower than a threshold ends, with its outcome."""
        args = parse_argstring(self.autonotify, line)
        config = self._ext.config
        if args.off:
            if args.after is not None or args.only_fail or args.each:
                raise UsageError("--off takes no other option")
            config.autonotify_after = None
            print("autonotify off")
            return
        after = args.after
        if after is None:
            after = config.autonotify_after
        config.autonotify_after = DEFAULT_AUTONOTIFY_AFTER if after is None else after
        config.autonotify_only_fail = args.only_fail
        config.autonotify_each = args.each
        after = f"{config.autonotify_after:g} s or more"
        if args.each:
            which = f"every cell {'that fails ' if args.only_fail else ''}taking {after}"
        else:
            which = "" if args.only_fail else f"every run of cells taking {after}, and "
            which += "every failure"
        print(f"autonotify on: {which} notifies when it ends; %autonotify --off stops it")

    # -- %notify_panel ----------------------------------------------------------------

    @line_magic
    def notify_panel(self, line: str = "") -> None:
        """Show the notification panel (ipywidgets).

        The panel edits the same settings as %config GNTPNotifier, sends and tests
        without blocking the kernel, and lists every notification this kernel sent —
        by the magics too. Same as ``gntp_jupyter.panel()`` in code.
        """
        if _in_terminal(self.shell):
            print("%notify_panel needs a notebook front end (JupyterLab, Notebook, VS Code) "
                  "to show its widgets; here, use %notify --show, %notify --test and %config "
                  "GNTPNotifier")
            return
        from IPython.display import display

        display(self._ext.new_panel())  # closes the panel shown before

    # -- helpers ----------------------------------------------------------------------

    def _delivery(self, args: Any) -> dict[str, Any]:
        """Notifier.send keyword arguments from the shared delivery options.

        The icon is not checked here: every icon problem (missing, a directory, not an
        image, a URL that fails) costs only the icon, with a warning, when sending.
        """
        from .gntp.options import split_address
        from .gntp.publishing import check_callback_url

        out: dict[str, Any] = {}
        icon = _unquote(args.icon)
        if icon is not None:
            out["icon"] = icon or None
        for name in ("sticky", "priority", "port"):
            value = getattr(args, name)
            if value is not None:
                out[name] = value
        if args.host is not None:
            try:
                host, port = split_address(_unquote(args.host) or "")
            except ValueError as exc:
                raise UsageError(str(exc)) from None
            out["host"] = host
            if port is not None:
                if args.port is not None and args.port != port:
                    raise UsageError(f"--host says port {port} and --port says {args.port}")
                out["port"] = port
        if args.coalescing_id is not None:
            out["coalescing_id"] = _unquote(args.coalescing_id)
        if args.callback is not None:
            try:
                out["callback_url"] = check_callback_url(_unquote(args.callback) or "")
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        return out

    def _event(self, name: str | None) -> str | None:
        if name is None:
            return None
        name = _unquote(name) or ""
        config = self._ext.config
        aliases = {"finished": config.finished_event, "failed": config.failed_event,
                   "message": config.message_event}
        if name.lower() in aliases:
            return aliases[name.lower()]
        if name in config.event_types:
            return name
        raise UsageError(
            f"unknown notification type {name!r}: use finished, failed, message or one of "
            f"GNTPNotifier.event_types {config.event_types}"
        )

    def _report(self, entry: HistoryEntry) -> None:
        if entry.warning:
            warn(entry.warning)
        elif not entry.ok:  # skipped while the target backs off: say so, it was asked for
            warn(f"gntp_jupyter: notification not sent — {entry.outcome} "
                 "(%notify --test tries now)")

    def _report_test(self, entry: HistoryEntry) -> None:
        if entry.ok:
            print(f"test notification delivered to {entry.target}: round trip "
                  f"{entry.rtt_ms:.1f} ms")
        self._report(entry)

    def _settings_text(self) -> str:
        config = self._ext.config
        summary = config.summary()
        width = max(len(name) for name in summary)
        lines = ["GNTPNotifier settings (change with %config GNTPNotifier.<name> = <value>):"]
        for name, value in summary.items():
            from_env = [var for var, trait in ENV_VARS.items()
                        if trait == name and os.environ.get(var)
                        and (name == "password" or os.environ[var] == str(value))]
            note = f"   (from {from_env[0]})" if from_env else ""
            lines.append(f"  {name:<{width}}  {value!r}{note}")
        for problem in (config.check(), config.icon_problem()):
            if problem:
                lines.append(f"problem: {problem}")
        lines.extend(f"environment: {p}" for p in config.environment_problems)
        entries = self._ext.history.entries()
        if entries:
            last = entries[-1]
            rtt = f", {last.rtt_ms:.1f} ms" if last.rtt_ms is not None else ""
            lines.append(f"last send: {last.time:%H:%M:%S} {last.title!r} → {last.target}: "
                         f"{last.outcome}{rtt}")
        return "\n".join(lines)


def _typed_lines(shell: Any, cell: str) -> TypedLine | None:
    try:
        return typed_line_finder(cell, shell.transform_cell(cell))
    except Exception:
        return None


def _in_terminal(shell: Any) -> bool:
    """Terminal IPython: a widget would print as its repr."""
    terminal = sys.modules.get("IPython.terminal.interactiveshell")
    return terminal is not None and isinstance(shell, terminal.TerminalInteractiveShell)


def _execute(shell: Any, cell: str) -> Any:
    """Run ``cell`` in the user's namespace; return its last expression's value."""
    code = shell.transform_cell(cell)
    tree = shell.compile.ast_parse(code)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    filename = shell.compile.cache(code, shell.execution_count, raw_code=cell)
    exec(shell.compile(tree, filename, "exec"), shell.user_global_ns, shell.user_ns)
    if last is None:
        return None
    return eval(shell.compile(last, filename, "eval"), shell.user_global_ns, shell.user_ns)

