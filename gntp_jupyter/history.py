"""What this kernel sent, by any path (magics, panel, Python), newest last."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["History", "HistoryEntry"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HistoryEntry:
    """One send attempt and how it ended.

    ``outcome`` is ``"OK"``, ``"server error 402: ..."``, ``"timeout"``, ``"refused"``,
    ``"skipped: ..."`` and so on; ``warning`` is the one line to show the user, if any.
    """

    title: str
    target: str
    ok: bool
    outcome: str
    source: str = "python"
    event: str = ""
    text: str = ""
    rtt_ms: float | None = None
    warning: str | None = None
    time: datetime = field(default_factory=datetime.now)


class History:
    """A bounded, observable list of :class:`HistoryEntry` (the panel listens to it)."""

    def __init__(self, maxlen: int = 50) -> None:
        self._entries: deque[HistoryEntry] = deque(maxlen=maxlen)
        self._observers: list[Callable[[HistoryEntry], None]] = []
        self._lock = threading.Lock()

    def append(self, entry: HistoryEntry) -> None:
        with self._lock:
            self._entries.append(entry)
            observers = list(self._observers)
        for observer in observers:
            try:
                observer(entry)
            except Exception:  # a broken display must not fail the send that reported
                log.exception("history observer %r failed", observer)

    def entries(self) -> list[HistoryEntry]:
        with self._lock:
            return list(self._entries)

    def observe(self, callback: Callable[[HistoryEntry], None]) -> None:
        with self._lock:
            self._observers.append(callback)

    def unobserve(self, callback: Callable[[HistoryEntry], None]) -> None:
        with self._lock:
            if callback in self._observers:
                self._observers.remove(callback)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
