"""``%autonotify``: one notification per run of queued cells.

Run All, Run Selected, Run All Above and papermill/nbclient queue cells, and the kernel
starts each one a few milliseconds after the previous one ended (2–5 ms measured on
ipykernel 7.4, docs report up to 11 ms). ipykernel has no public view of its queue,
so the batch ends when no cell has started for :data:`BATCH_DELAY` seconds after the
last one ended: ``post_run_cell`` arms ``loop.call_later(BATCH_DELAY, ...)`` on the
kernel's own loop and ``pre_run_cell`` cancels it. The timer fires while the kernel is
idle, so the synchronous send (bounded by ``GNTPNotifier.timeout``) holds no cell.

* A failure (or an interrupt) ends the batch and is sent at once, from its
  ``post_run_cell``: under stop-on-error the queue is dropped anyway, and the
  notification is on the wire before anything else runs.
* Terminal IPython has no kernel loop and no queue: a batch there is one cell, sent
  synchronously when it ends.
* The threshold (``--after``) applies to the batch's total time; a failure always
  notifies. ``--only-fail`` keeps successful batches quiet.
* A cell under ``%%notify_when_done`` notifies for itself and is left out of the batch;
  so is the cell that turned ``%autonotify`` on.

The summary names how many cells ran, the total time, the slowest cell and, if one
failed, the failure and its cell. A batch of one cell reads exactly like a per-cell
notification.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .cell_outcome import CellOutcome, default_message, default_title, format_elapsed
from .report import warn

if TYPE_CHECKING:
    from .extension import NotifyExtension

__all__ = ["BATCH_DELAY", "Batch", "Batcher", "kernel_loop", "summarize"]

#: Seconds without a new cell after which a batch is over: 50 times the largest gap
#: measured between queued cells, and half of the 0.5 s a notification may take.
BATCH_DELAY = 0.25


@dataclass
class Batch:
    """The cells of one run so far (only what the summary needs)."""

    start: float
    end: float = 0.0
    cells: int = 0
    slowest: CellOutcome | None = None
    last: CellOutcome | None = None
    image: str | bytes | None = None
    counts: list[int] = field(default_factory=list)
    #: The %autonotify settings when the last cell ended (they may be off by the flush).
    after: float = 0.0
    only_fail: bool = False

    def add(self, outcome: CellOutcome, end: float, image: str | bytes | None) -> None:
        self.cells += 1
        self.end = end
        self.last = outcome
        if outcome.count is not None:
            self.counts.append(outcome.count)
        if self.slowest is None or outcome.elapsed > self.slowest.elapsed:
            self.slowest = outcome
        if image is not None:
            self.image = image

    @property
    def ok(self) -> bool:
        return self.last is None or self.last.ok

    @property
    def elapsed(self) -> float:
        return max(self.end - self.start, 0.0)

    def wants(self) -> bool:
        if self.last is None:
            return False
        if not self.ok:
            return True
        return not self.only_fail and self.elapsed >= self.after


def _label(count: int | None) -> str:
    return f"In [{count}]" if count is not None else "a cell"


def _span(batch: Batch) -> str:
    if len(batch.counts) >= 2:
        return f" (In [{batch.counts[0]}]–[{batch.counts[-1]}])"
    return ""


def summarize(batch: Batch) -> tuple[str, str]:
    """(title, text) for a finished batch."""
    last = batch.last
    assert last is not None and batch.slowest is not None
    if batch.cells == 1:  # a batch of one reads like any end-of-cell notification
        return default_title(last), default_message(last)
    slowest = batch.slowest
    slow = f"slowest: {_label(slowest.count)}, {format_elapsed(slowest.elapsed)}"
    total = format_elapsed(batch.elapsed)
    if last.ok:
        return (f"{batch.cells} cells finished",
                f"{batch.cells} cells{_span(batch)} in {total}\n{slow}")
    head = default_title(last)
    where = (f"cell {batch.cells} of this run{_span(batch)}, "
             f"{total} in total; {slow}")
    return head, default_message(last) + "\n" + where


def kernel_loop(shell: Any) -> Any:
    """The kernel's running event loop, or None (terminal IPython, in-process kernels)."""
    if getattr(shell, "kernel", None) is None:
        return None
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return None
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class Batcher:
    """Groups the cells ``%autonotify`` watches into runs and sends one summary per run."""

    def __init__(self, extension: NotifyExtension, delay: float = BATCH_DELAY) -> None:
        self._ext = extension
        self.delay = delay
        self.pending: Batch | None = None
        self._timer: Any = None

    @property
    def on(self) -> bool:
        config = self._ext.config
        return config.autonotify_after is not None and not config.autonotify_each

    def cell_started(self) -> None:
        """A cell starts: the run goes on (the timer waits for the next end)."""
        self._cancel()

    def cell_ended(self, outcome: CellOutcome, image: str | bytes | None, *,
                   counted: bool, silent: bool) -> bool:
        """A cell ended. Returns whether %autonotify is on per run (then the cell needs
        no per-cell autonotify; an armed ``%%notify_when_done`` still notifies itself).

        ``counted``: whether this cell belongs to the run at all (not an armed
        ``%%notify_when_done`` cell, not the one that turned autonotify on). Any other
        cell only lets a pending run resume its timer.
        """
        if not self.on:
            self.flush()  # autonotify was turned off (or to --each): finish what ran
            return False
        if not counted or silent:
            self._arm()
            return True
        now = time.perf_counter()
        if self.pending is None:
            self.pending = Batch(start=now - outcome.elapsed)
        self.pending.add(outcome, now, image)
        config = self._ext.config
        self.pending.after = config.autonotify_after or 0.0
        self.pending.only_fail = config.autonotify_only_fail
        if not outcome.ok:
            self.flush()  # a failure ends the run: on the wire at once
        else:
            self._arm()
        return True

    def _arm(self) -> None:
        if self.pending is None:
            return
        loop = kernel_loop(self._ext.shell)
        if loop is None:  # no queue to wait for
            self.flush()
            return
        self._cancel()
        self._timer = loop.call_later(self.delay, self._fire)

    def _fire(self) -> None:
        self._timer = None
        try:
            self.flush()
        except KeyboardInterrupt:
            warn("gntp_jupyter: notification interrupted, not sent")
        except Exception as exc:  # a timer callback must never raise into the loop
            warn(f"gntp_jupyter: notification failed: {type(exc).__name__}: {exc}")

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def flush(self) -> None:
        """Send the pending run now if it is worth a notification; forget it either way."""
        self._cancel()
        batch, self.pending = self.pending, None
        if batch is None:
            return
        if not batch.wants():
            return
        config = self._ext.config
        title, text = summarize(batch)
        event = config.finished_event if batch.ok else config.failed_event
        self._ext.send(title, text, event=event, source="autonotify", image=batch.image)

    def close(self) -> None:
        """Drop the pending run (the extension is unloading)."""
        self._cancel()
        self.pending = None
