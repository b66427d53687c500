"""Loading and unloading the extension, and the per-shell state the magics share.

``%load_ext gntp_jupyter`` (or ``c.InteractiveShellApp.extensions = ["gntp_jupyter"]``
in a profile) registers, and only registers: the :class:`~.config.GNTPNotifier`
configurable (so ``%config GNTPNotifier.host = ...`` and profile settings apply), the
magics, the ``pre_run_cell``/``post_run_cell`` handlers and the ``%%notify_when_done``
input transformer. Nothing touches the network, displays anything or imports the
protocol stack until the first send. Unloading undoes each registration; loading twice
is harmless. Unloading also forgets settings changed with ``%config``: on the next load
the profile and the GNTP_* environment apply again.

End-of-cell notifications are sent synchronously from ``post_run_cell`` (bounded by
the configured timeout), so they are on the wire before the next cell starts — also
under Run All, where a task merely scheduled on the kernel's loop would wait for the
next cell to finish. ``%autonotify`` sends one notification per run of queued cells
(:mod:`.batch`); the last image a cell displayed becomes the icon (:mod:`.plot_icon`).
"""

from __future__ import annotations

import sys
import time
import weakref
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .batch import Batcher
from .cell_outcome import CellOutcome, CellRequest, NotifyRule, render
from .config import TARGET_TRAITS, GNTPNotifier
from .history import History, HistoryEntry
from .plot_icon import ImageCapture, icon_resource
from .report import template_warning, warn
from .transformer import notify_when_done_transformer

if TYPE_CHECKING:
    from .magics import NotifyMagics
    from .notifier import Notifier
    from .panel_widget import NotificationPanel

__all__ = [
    "CellRequest",
    "NotifyExtension",
    "get_notifier",
    "load_ipython_extension",
    "shell_state",
    "state_for",
    "unload_ipython_extension",
    "warn",
]

#: Cells whose pre_run_cell never met a post_run_cell are forgotten beyond this depth.
_MAX_OPEN_CELLS = 32


@dataclass
class _Cell:
    info: Any
    start: float
    request: CellRequest | None = None
    images: int = 0  # ImageCapture.serial at the start: later images are this cell's
    counted: bool = False  # %autonotify (per run) was on when the cell started


class NotifyExtension:
    """One shell's settings, sender, history and registrations."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        # parent=shell: profile and command-line config (c.GNTPNotifier.*) apply; the
        # GNTP_* environment variables then override them.
        self.config = GNTPNotifier(parent=shell)
        self.history = History()
        self._notifier: Notifier | None = None
        self._cells: list[_Cell] = []
        self.capture = ImageCapture()
        self.batch = Batcher(self)
        self.magics: NotifyMagics | None = None
        self.panel: NotificationPanel | None = None
        self.loaded = False

    @property
    def notifier(self) -> Notifier:
        """The shared sender (created on first use: it imports the protocol stack)."""
        if self._notifier is None:
            from .notifier import Notifier

            self._notifier = Notifier(self.config, self.history)
        return self._notifier

    def new_panel(self) -> NotificationPanel:
        """A fresh panel over the shared notifier; the previous one is closed.

        A panel observes the shared config and history until closed: keeping only the
        newest stops every ``%notify_panel`` ever run from redrawing on each send.
        """
        from .panel_widget import NotificationPanel

        self.close_panel()
        self.panel = NotificationPanel(self.notifier)
        return self.panel

    def close_panel(self) -> None:
        if self.panel is not None:
            self.panel.close()
            self.panel = None

    # -- registration -----------------------------------------------------------------

    def attach_config(self) -> None:
        if self.config not in self.shell.configurables:
            self.shell.configurables.append(self.config)

    def load(self) -> None:
        if self.loaded:
            return
        from .magics import NotifyMagics

        self.attach_config()
        self.magics = NotifyMagics(self.shell, self)
        self.shell.register_magics(self.magics)
        self.shell.events.register("pre_run_cell", self.pre_run_cell)
        self.shell.events.register("post_run_cell", self.post_run_cell)
        cleanup = self.shell.input_transformers_cleanup
        if notify_when_done_transformer not in cleanup:
            cleanup.append(notify_when_done_transformer)
        self.config.observe(self._target_changed, names=list(TARGET_TRAITS))
        self.config.observe(self._icon_changed, names=["icon"])
        self.capture.attach(self.shell)
        self._wrap_loop_runner()
        self.loaded = True
        kept = _kept_autonotify.pop(self.shell, None)
        if kept is not None and self.config.autonotify_after is None:
            self.config.autonotify_after, self.config.autonotify_only_fail = kept
            print(f"gntp_jupyter: %autonotify kept across the reload (after "
                  f"{kept[0]:g} s); %autonotify --off stops it")
        for problem in self.config.environment_problems:
            warn(f"gntp_jupyter: {problem}")

    def unload(self) -> None:
        """Undo every registration (IPython has no public way to drop magics)."""
        shell = self.shell
        if self.magics is not None:
            manager = shell.magics_manager
            for kind, table in self.magics.magics.items():
                for name in table:
                    registered = manager.magics[kind].get(name)
                    if getattr(registered, "__self__", None) is self.magics:
                        del manager.magics[kind][name]
            name = type(self.magics).__name__
            if manager.registry.get(name) is self.magics:
                del manager.registry[name]
            while self.magics in shell.configurables:  # register_magics added it there too
                shell.configurables.remove(self.magics)
            self.magics = None
        for event, handler in (("pre_run_cell", self.pre_run_cell),
                               ("post_run_cell", self.post_run_cell)):
            if handler in shell.events.callbacks[event]:
                shell.events.unregister(event, handler)
        cleanup = shell.input_transformers_cleanup
        while notify_when_done_transformer in cleanup:
            cleanup.remove(notify_when_done_transformer)
        if self.loaded:
            self.config.unobserve(self._target_changed, names=list(TARGET_TRAITS))
            self.config.unobserve(self._icon_changed, names=["icon"])
        while self.config in shell.configurables:
            shell.configurables.remove(self.config)
        self._cells.clear()
        self.capture.detach()
        self.batch.close()
        self.close_panel()
        runner = getattr(shell, "loop_runner", None)
        if isinstance(runner, _InterruptAwareRunner) and runner.extension is self:
            shell.loop_runner = runner.runner
        if self.loaded and self.config.autonotify_after is not None:
            if _reloading():
                _kept_autonotify[shell] = (self.config.autonotify_after,
                                           self.config.autonotify_only_fail)
            else:
                warn("gntp_jupyter: unloaded, so %autonotify is off")
        self.loaded = False

    def _wrap_loop_runner(self) -> None:
        """In terminal IPython, Ctrl-C during a top-level ``await`` escapes the event
        loop, not the cell: ``post_run_cell`` never comes. The runner sees it.

        Not in a kernel: ipykernel runs awaiting cells on its own loop, and only when
        ``loop_runner`` is IPython's own (an interrupt there reaches the cell).
        """
        if getattr(self.shell, "kernel", None) is not None:
            return
        runner = getattr(self.shell, "loop_runner", None)
        if callable(runner) and not isinstance(runner, _InterruptAwareRunner):
            self.shell.loop_runner = _InterruptAwareRunner(runner, self)

    def _target_changed(self, change: Any) -> None:
        # %config only logs type errors; combinations (AES with MD5) are ours to report.
        problem = self.config.check()
        if problem:
            warn(f"gntp_jupyter: these settings cannot work yet: {problem}")

    def _icon_changed(self, change: Any) -> None:
        # Kept, not refused: like -i, a bad icon costs only the icon (and may be fixed).
        problem = self.config.icon_problem()
        if problem:
            warn(f"gntp_jupyter: {problem}")

    # -- cells ------------------------------------------------------------------------

    def pre_run_cell(self, info: Any) -> None:
        self.batch.cell_started()
        self._cells.append(_Cell(info, time.perf_counter(), images=self.capture.serial,
                                 counted=self.batch.on))
        del self._cells[:-_MAX_OPEN_CELLS]

    def arm(self, request: CellRequest) -> None:
        """Notify when the running cell ends (what ``%%notify_when_done`` turns into).

        A silent cell (``silent=True``: no cell events) runs without a notification,
        as %autonotify treats it.
        """
        if not self._cells:
            if self.running_count() is not None:
                return  # inside a silent cell's code
            from IPython.core.error import UsageError

            raise UsageError(
                "%notify_when_done arms the running cell, and no cell is running; "
                "use it as the first line of a cell: %%notify_when_done"
            )
        self._cells[-1].request = request

    def _pop(self, result: Any) -> _Cell | None:
        """The cell ``result`` ends (matched by its ExecutionInfo: cells may nest)."""
        if result is None:  # an awaiting cell cancelled by an interrupt
            return self._cells.pop() if self._cells else None
        for i in range(len(self._cells) - 1, -1, -1):
            if self._cells[i].info is result.info:
                cell = self._cells[i]
                del self._cells[i:]
                return cell
        # When IPython itself fails while running a cell (an exception whose __str__
        # raises), it reports a fresh ExecutionInfo for the same cell.
        raw = getattr(result.info, "raw_cell", None)
        if self._cells and raw is not None and self._cells[-1].info.raw_cell == raw:
            return self._cells.pop()
        return None  # an empty cell: post_run_cell without pre_run_cell

    def post_run_cell(self, result: Any, error: BaseException | None = None) -> None:
        """End the cell ``result`` belongs to; None: the running one, interrupted (or
        failed with ``error``) without IPython's own ``post_run_cell``."""
        cell = self._pop(result)
        if cell is None:
            return
        elapsed = time.perf_counter() - cell.start
        request = cell.request
        try:
            outcome = CellOutcome.from_result(result, elapsed, is_cell_file=self.is_cell_file,
                                              error=error)
            if result is None:
                outcome = replace(outcome, count=self._last_filed_count(cell))
            silent = result is not None and result.info.silent
            image = self.capture.since(cell.images)
            counted = cell.counted and request is None
            per_run = self.batch.cell_ended(outcome, image, counted=counted, silent=silent)
            if request is None:  # %autonotify per cell (--each), or off
                if per_run:
                    return
                after = self.config.autonotify_after
                if after is None or silent:
                    return
                rule = NotifyRule(only_fail=self.config.autonotify_only_fail, min_seconds=after)
                request = CellRequest(rule=rule, source="autonotify")
            self.notify(outcome, request, image=image)
        except KeyboardInterrupt:
            warn("gntp_jupyter: notification interrupted, not sent")
        except Exception as exc:  # our bug must not become a traceback in the user's cell
            warn(f"gntp_jupyter: notification failed: {type(exc).__name__}: {exc}")

    def notify(self, outcome: CellOutcome, request: CellRequest, *,
               image: str | bytes | None = None) -> HistoryEntry | None:
        """Send ``outcome`` if ``request``'s rule wants it; show the warning, if any."""
        if not request.rule.wants(outcome):
            return None
        problems: list[str] = []
        title, text = render(outcome, request.title, request.message, self.shell.user_ns,
                             problems)
        if problems:
            warn(template_warning(problems))
        config = self.config
        event = config.finished_event if outcome.ok else config.failed_event
        return self.send(title, text, event=event, source=request.source, image=image,
                         **request.delivery)

    def send(self, title: str, text: str, *, event: str, source: str,
             image: str | bytes | None = None, **delivery: Any) -> HistoryEntry:
        """Send with the cell's last image as the icon (unless one was asked for); warn."""
        if image is not None and "icon" not in delivery and self.config.plot_icon:
            icon = icon_resource(image)
            if icon is not None:
                delivery["icon"] = icon
        entry = self.notifier.send(title, text, event=event, source=source, **delivery)
        if entry.warning:
            warn(entry.warning)
        return entry

    def running_count(self) -> int | None:
        """The execution count of the cell running now (None outside any cell).

        Read from the cell's own frame (IPython files each cell's code under its count),
        because ``shell.execution_count`` is already the next one in IPython 9 and not
        yet in IPython 8. The outermost cell frame wins: a function defined in an earlier
        cell may be what is calling. A cell run with ``store_history=False`` has no
        number of its own (its file carries the next cell's): None.
        """
        if self._cells and not getattr(self._cells[-1].info, "store_history", True):
            return None
        names = self._cell_files()
        count = None
        frame = sys._getframe(1)
        while frame is not None:
            found = names.get(frame.f_code.co_filename)
            if found is not None:
                count = found
            frame = frame.f_back
        return count

    def _last_filed_count(self, cell: _Cell) -> int | None:
        """In [N] of a cell that ended with no result (interrupted during a top-level
        await): the number IPython filed the newest cell code under, which is this
        cell's, as it was running. None for a cell that has no number of its own."""
        if not getattr(cell.info, "store_history", True):
            return None
        return next(reversed(self._cell_files().values()), None)

    def is_cell_file(self, filename: str) -> bool:
        """Whether a traceback frame's file is one of this shell's cells."""
        return filename in self._cell_files() or filename.startswith("<ipython-input-")

    def _cell_files(self) -> dict[str, int]:
        """The file name IPython compiled each cell under -> its In [N], oldest first."""
        return getattr(self.shell.compile, "_filename_map", None) or {}


class _InterruptAwareRunner:
    """``shell.loop_runner`` wrapped: a KeyboardInterrupt that escapes the loop ends the
    running cell as interrupted (and is re-raised, so IPython shows it as before)."""

    def __init__(self, runner: Any, extension: NotifyExtension) -> None:
        self.runner = runner
        self.extension = extension

    def __call__(self, coro: Any) -> Any:
        __tracebackhide__ = True  # the user's traceback is IPython's own, as without us
        try:
            return self.runner(coro)
        except KeyboardInterrupt:
            self.extension.post_run_cell(None)
            raise


def _reloading() -> bool:
    """Is ``%reload_ext`` unloading us (it loads again at once)?"""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "reload_extension":
            return True
        frame = frame.f_back
    return False


#: %autonotify settings carried from the unload to the load of a %reload_ext.
_kept_autonotify: weakref.WeakKeyDictionary[Any, tuple[float, bool]] = (
    weakref.WeakKeyDictionary()
)
_states: weakref.WeakKeyDictionary[Any, NotifyExtension] = weakref.WeakKeyDictionary()
_standalone: list[Notifier] = []


def state_for(shell: Any) -> NotifyExtension:
    """The shell's extension state, created (config registered) on first use."""
    state = _states.get(shell)
    if state is None:
        state = _states[shell] = NotifyExtension(shell)
    state.attach_config()
    return state


def load_ipython_extension(shell: Any) -> None:
    state_for(shell).load()


def unload_ipython_extension(shell: Any) -> None:
    state = _states.pop(shell, None)
    if state is not None:
        state.unload()


def shell_state(shell: Any = None) -> NotifyExtension | None:
    """``shell``'s state (the running IPython's if None); None outside IPython."""
    if shell is None and "IPython" in sys.modules:
        from IPython import get_ipython

        shell = get_ipython()
    return None if shell is None else state_for(shell)


def get_notifier(shell: Any = None) -> Notifier:
    """The shell's shared Notifier (the running IPython's if None); outside IPython, one
    process-wide Notifier with the default settings and the GNTP_* environment."""
    state = shell_state(shell)
    if state is not None:
        return state.notifier
    if not _standalone:
        from .notifier import Notifier

        _standalone.append(Notifier())
    return _standalone[0]
