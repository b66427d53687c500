"""A tqdm progress bar that also keeps one desktop notification up to date.

Follows the ``tqdm.contrib.telegram`` / ``discord`` / ``slack`` convention: a subclass of
``tqdm.auto.tqdm`` (a widget in a notebook, text in a terminal) plus ``trange``::

    from gntp_jupyter.tqdm import tqdm, trange

    for batch in tqdm(batches, desc="train"):          # "train: 45% · 450/1000 · 02:13 left"
        ...
    for i in trange(100, desc="eval", notify_interval=10):
        ...

The notification is sent at most every ``notify_interval`` seconds (default 30) while
the bar moves, once at the end with the total time ("train: done · 1000/1000 in 04:26"),
and once when the loop stops early — an exception, a ``break``, an interrupt ("train:
stopped at 45% · ..."). Every message of a bar carries the same coalescing id, so a
notifier that supports coalescing (Growl, Snarl) replaces it in place instead of
stacking. Sends happen on a background thread and never slow the loop down; each is
bounded by ``GNTPNotifier.timeout``, and only the newest message waits when one is
still on its way. Settings (host, password, ...) are the extension's: the same
``GNTPNotifier`` as ``%notify``, or the ``GNTP_*`` environment outside IPython.

tqdm is an optional dependency: ``pip install "gntp_jupyter[progress]"``.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
import uuid
from typing import Any

try:
    from tqdm.auto import tqdm as _tqdm_auto
except ImportError as exc:  # pragma: no cover - exercised in a fresh interpreter
    raise ImportError(
        'gntp_jupyter.tqdm needs tqdm, an optional dependency: '
        'pip install "gntp_jupyter[progress]" (or pip install tqdm)'
    ) from exc

__all__ = ["progress_text", "tgrange", "tqdm", "tqdm_gntp", "trange"]

DEFAULT_INTERVAL = 30.0


def _interval(seconds: float) -> str:
    return _tqdm_auto.format_interval(max(seconds, 0))


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def progress_text(desc: str | None, n: float, total: float | None, elapsed: float,
                  rate: float | None, *, state: str = "running", error: str = "") -> str:
    """The notification text: ``"train: 45% · 450/1000 · 02:13 left"`` and its siblings.

    ``state``: ``running``, ``done`` or ``stopped`` (``error``, when known, is added).
    """
    head = f"{desc}: " if desc else ""
    count = f"{_number(n)}/{_number(total)}" if total else f"{_number(n)} it"
    # Rounded as tqdm's own bar rounds it (2/30 is 7%), except that a bar still
    # running never reads 100% (199.6/200).
    pct = ""
    if total:
        percent = round(100 * n / total)
        pct = f"{min(percent, 99) if n < total else percent}%"
    if state == "done":
        return f"{head}done · {count} in {_interval(elapsed)}"
    if state == "stopped":
        at = f"{pct} · {count}" if pct else count
        tail = f" — {error}" if error else ""
        return f"{head}stopped at {at} after {_interval(elapsed)}{tail}"
    parts = [pct] if pct else []
    parts.append(count)
    if total and rate:
        parts.append(f"{_interval((total - n) / rate)} left")
    else:
        parts.append(f"{_interval(elapsed)} elapsed")
    return head + " · ".join(parts)


class _LatestSender:
    """Sends on a background thread; a message waiting behind a send is replaced by a newer one.

    The thread lives only while there is something to send; it is not a daemon, so a
    script's final message still goes out at exit (each send is bounded by the timeout).
    """

    def __init__(self, send: Any) -> None:
        self._send = send
        self._lock = threading.Lock()
        self._pending: tuple | None = None
        self._thread: threading.Thread | None = None

    def submit(self, *message: Any) -> None:
        with self._lock:
            self._pending = message
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="gntp-tqdm")
                self._thread.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                message, self._pending = self._pending, None
                if message is None:
                    self._thread = None
                    return
            with contextlib.suppress(Exception):  # a notification never costs the loop
                self._send(*message)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until everything submitted was sent (for tests and scripts)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                thread = self._thread
            if thread is None:
                return True
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            thread.join(left)


class tqdm_gntp(_tqdm_auto):  # tqdm.contrib's naming
    """``tqdm.auto.tqdm`` that keeps a desktop notification (GNTP) up to date.

    Extra parameters (all keyword-only):

    notify_interval : float
        Least number of seconds between two progress notifications [default: 30].
    title : str
        Notification title [default: ``desc``, else "Progress"].
    notifier : gntp_jupyter.notifier.Notifier
        The sender [default: ``gntp_jupyter.get_notifier()``, the extension's settings].

    See ``tqdm.auto.tqdm`` for everything else.
    """

    def __init__(self, *args: Any, notify_interval: float = DEFAULT_INTERVAL,
                 title: str | None = None, notifier: Any = None, **kwargs: Any) -> None:
        # Set before tqdm's __init__: it already displays (and so may notify).
        self.notify_interval = float(notify_interval)
        self.coalescing_id = f"tqdm-{uuid.uuid4().hex[:12]}"
        self._notify_title = title
        self._last_notify = time.monotonic()
        self._error = ""
        self._warned = False
        self._notifier = notifier
        self._sender = _LatestSender(self._send)
        self._gntp_closed = bool(kwargs.get("disable"))
        super().__init__(*args, **kwargs)
        if self._notifier is None and not self.disable:
            from . import get_notifier

            self._notifier = get_notifier()

    # -- tqdm hooks -------------------------------------------------------------------

    def display(self, *args: Any, **kwargs: Any) -> Any:
        shown = super().display(*args, **kwargs)
        now = time.monotonic()
        finished = bool(self.total) and self.n >= self.total  # close() says "done" next
        due = now - self._last_notify >= self.notify_interval
        if due and not finished and not self._gntp_closed:
            self._last_notify = now
            self._submit("running")
        return shown

    def close(self) -> None:
        if self.disable or self._gntp_closed:
            super().close()
            return
        # tqdm closes the bar in its iterator's ``finally``: a ``break`` or an exception
        # in the loop body reaches it as GeneratorExit, the normal end with nothing.
        unwinding = sys.exc_info()[0] is not None
        self._gntp_closed = True
        super().close()
        if self._error:
            done = False
        elif self.total:
            done = self.n >= self.total
        else:
            done = not unwinding
        self._submit("done" if done else "stopped")

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> Any:
        if exc_type is not None:
            self._error = _describe(exc_type, exc_value)
        return super().__exit__(exc_type, exc_value, traceback)

    # -- sending ----------------------------------------------------------------------

    def _submit(self, state: str) -> None:
        if self._notifier is None:
            return
        try:
            fmt = self.format_dict
            text = progress_text(fmt.get("prefix") or self.desc, fmt["n"], fmt["total"],
                                 fmt["elapsed"], fmt.get("rate") or _rate(fmt), state=state,
                                 error=self._error)
            title = self._notify_title or self.desc or "Progress"
        except Exception:  # an odd bar (custom units, NaN) must not stop the loop
            return
        self._sender.submit(title, text)

    def _send(self, title: str, text: str) -> None:
        entry = self._notifier.send(title, text, coalescing_id=self.coalescing_id,
                                    source="tqdm")
        if entry.warning and not self._warned:
            self._warned = True  # one line per bar, not one per update
            print(entry.warning, file=sys.stderr, flush=True)

    def wait_sent(self, timeout: float | None = None) -> bool:
        """Wait until this bar's notifications are sent (returns False on timeout)."""
        return self._sender.wait(timeout)


def _rate(fmt: dict) -> float | None:
    elapsed = fmt.get("elapsed") or 0
    n = fmt.get("n") or 0
    return n / elapsed if elapsed > 0 and n > 0 else None


def _describe(exc_type: Any, exc_value: Any) -> str:
    if exc_type is KeyboardInterrupt:
        return "interrupted"
    text = str(exc_value) if exc_value is not None else ""
    name = getattr(exc_type, "__name__", "error")
    return f"{name}: {text}"[:200] if text else name


def tgrange(*args: Any, **kwargs: Any) -> tqdm_gntp:
    """Shortcut for ``tqdm(range(*args), **kwargs)``."""
    return tqdm_gntp(range(*args), **kwargs)


# The tqdm.contrib convention: ``from gntp_jupyter.tqdm import tqdm, trange``.
tqdm = tqdm_gntp
trange = tgrange
