"""The one sender behind the magics and the panel.

It turns the current :class:`~gntp_jupyter.config.GNTPNotifier` settings into a
publisher, registers once per target (and again whenever the target, application
name, event types or icon change), backs off from a target that is down, and records
every attempt in the shared :class:`~gntp_jupyter.history.History`.

It never raises a GNTPError: a send that fails returns a HistoryEntry whose
``warning`` is the one line to show — a notification must never cost a cell.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .config import GNTPNotifier
from .gntp.client import Publisher
from .gntp.exceptions import (
    GNTPConnectionError,
    GNTPConnectionRefused,
    GNTPError,
    GNTPResourceError,
    GNTPServerError,
    GNTPTimeoutError,
)
from .gntp.options import ClientOptions
from .gntp.requests import Event
from .gntp.resources import Resource
from .history import History, HistoryEntry

__all__ = ["Notifier", "describe_failure", "is_url"]

_MAX_BACKOFF = 600.0
_DEFAULT = object()


def is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def describe_failure(exc: GNTPError) -> tuple[str, str]:
    """(short outcome for the history, one line with the cause and the fix)."""
    if isinstance(exc, GNTPConnectionRefused):
        return "refused", str(exc)
    if isinstance(exc, GNTPTimeoutError):
        return "timeout", str(exc)
    if isinstance(exc, GNTPServerError):
        code = f" {exc.code}" if exc.code is not None else ""
        return f"server error{code}: {exc.description}", str(exc)
    if isinstance(exc, GNTPResourceError):
        return "icon failed", str(exc)
    return type(exc).__name__, str(exc)


@dataclass
class _Backoff:
    until: float
    delay: float


class Notifier:
    """Sends notifications with the shared settings and remembers what happened."""

    def __init__(
        self, config: GNTPNotifier | None = None, history: History | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config or GNTPNotifier()
        self.history = history or History()
        self._clock = clock
        self._registered: set[tuple] = set()
        self._down: dict[ClientOptions, _Backoff] = {}

    # -- building -------------------------------------------------------------------

    def _icon(self, spec: Any) -> Any:
        """A path becomes a Resource (read now), a URL an AsyncResource to fetch."""
        if spec is None or spec == "":
            return None
        if isinstance(spec, Resource):
            return spec
        if is_url(spec):
            from .gntp.async_gntp import AsyncResource

            return AsyncResource(spec)
        return Resource(spec)

    # -- sending --------------------------------------------------------------------

    def send(
        self, title: str, text: str = "", *, event: str | None = None, icon: Any = _DEFAULT,
        sticky: bool | None = None, priority: int | None = None,
        coalescing_id: str | None = None, callback_url: str | None = None,
        source: str = "python", **target: Any,
    ) -> HistoryEntry:
        """Send now, holding the caller at most the configured timeout; never raises GNTPError.

        ``target`` may override ``host``, ``port``, ``password``, ``hash_algorithm``,
        ``encryption`` and ``timeout`` for this one send. ``icon``: a path, a URL, a
        Resource, or None for no icon; by default the configured icon.
        """
        plan = self._plan(title, text, event, icon, sticky, priority, coalescing_id,
                          callback_url, source, target)
        if isinstance(plan, HistoryEntry):
            return plan
        try:
            self._fetch([r for r in plan.icons if _needs_fetch(r)])
            publisher = Publisher(plan.app_name, plan.events, plan.app_icon, options=plan.options)
            if plan.key not in self._registered:
                publisher.register()
                self._registered.add(plan.key)
            start = time.perf_counter()
            publisher.publish(**plan.publish_kwargs)
        except GNTPError as exc:
            return self._failed(plan, exc)
        return self._succeeded(plan, (time.perf_counter() - start) * 1000)

    async def send_async(
        self, title: str, text: str = "", *, event: str | None = None, icon: Any = _DEFAULT,
        sticky: bool | None = None, priority: int | None = None,
        coalescing_id: str | None = None, callback_url: str | None = None,
        source: str = "python", **target: Any,
    ) -> HistoryEntry:
        """:meth:`send` on the running loop (URL icons fetched in parallel); never blocks it."""
        from .gntp.async_gntp import AsyncPublisher

        plan = self._plan(title, text, event, icon, sticky, priority, coalescing_id,
                          callback_url, source, target)
        if isinstance(plan, HistoryEntry):
            return plan
        try:
            publisher = AsyncPublisher(
                plan.app_name, plan.events, plan.app_icon, options=plan.options
            )
            if plan.key not in self._registered:
                await publisher.register_async()
                self._registered.add(plan.key)
            start = time.perf_counter()
            await publisher.publish_async(**plan.publish_kwargs)
        except GNTPError as exc:
            return self._failed(plan, exc)
        return self._succeeded(plan, (time.perf_counter() - start) * 1000)

    def test_connection(self, **target: Any) -> HistoryEntry:
        """Register again and send a test notification; the entry carries the round trip."""
        self._reset_target(target)
        return self.send(
            "gntp_jupyter test", "If you can read this, notifications work.",
            source="test", **target,
        )

    async def test_connection_async(self, **target: Any) -> HistoryEntry:
        self._reset_target(target)
        return await self.send_async(
            "gntp_jupyter test", "If you can read this, notifications work.",
            source="test", **target,
        )

    def forget_registrations(self) -> None:
        """Register again on the next send and forget which targets were down."""
        self._registered.clear()
        self._down.clear()

    # -- helpers ----------------------------------------------------------------------

    def _plan(
        self, title, text, event, icon, sticky, priority, coalescing_id, callback_url,
        source, target,
    ) -> _Plan | HistoryEntry:
        """Everything a send needs, or the entry that says why it cannot happen."""
        c = self.config
        event = event or c.message_event
        plan = _Plan(title=title, text=text, event=event, source=source)
        try:
            plan.options = c.client_options(**target)
            skipped = self._skip_reason(plan.options)
            if skipped:
                return self._record(plan, False, skipped)
            plan.app_icon = self._icon(c.icon)
            note_icon = None if icon is _DEFAULT else self._icon(icon)
        except GNTPError as exc:
            return self._failed(plan, exc)
        plan.app_name = c.app_name
        plan.events = [Event(name) for name in c.event_types]
        plan.icons = [r for r in (plan.app_icon, note_icon) if r is not None]
        plan.key = (plan.options, c.app_name, tuple(c.event_types), c.icon)
        plan.publish_kwargs = dict(
            event=event, title=title, text=text,
            sticky=c.sticky if sticky is None else sticky,
            priority=c.priority if priority is None else priority,
            icon=note_icon, coalescing_id=coalescing_id,
            callback=callback_url if callback_url is not None else (c.callback_url or None),
        )
        return plan

    def _reset_target(self, target: dict) -> None:
        try:
            options = self.config.client_options(**target)
        except GNTPError:
            return
        self._down.pop(options, None)
        self._registered = {k for k in self._registered if k[0] != options}

    def _fetch(self, resources: list) -> None:
        if not resources:
            return
        from .gntp import async_gntp
        from .gntp._nesting import run_sync

        run_sync(async_gntp.fetch_async_resources_in_parallel(resources))
        for r in resources:
            if not r.data:
                raise r.error or GNTPResourceError(r.url, "no data")

    def _skip_reason(self, options: ClientOptions) -> str | None:
        down = self._down.get(options)
        if down is None or self._clock() >= down.until:
            return None
        left = down.until - self._clock()
        return f"skipped: {options.address} was unreachable; retrying in {left:.0f}s"

    def _failed(self, plan: _Plan, exc: GNTPError) -> HistoryEntry:
        outcome, why = describe_failure(exc)
        warning = f"gntp_jupyter: notification not sent — {why}"
        if plan.options is not None and isinstance(exc, (GNTPConnectionError, GNTPTimeoutError)):
            previous = self._down.get(plan.options)
            delay = min(previous.delay * 2, _MAX_BACKOFF) if previous else self.config.retry_after
            self._down[plan.options] = _Backoff(self._clock() + delay, delay)
            warning += f" (not retried for {delay:.0f}s)"
        return self._record(plan, False, outcome, warning=warning)

    def _succeeded(self, plan: _Plan, rtt_ms: float) -> HistoryEntry:
        self._down.pop(plan.options, None)
        return self._record(plan, True, "OK", rtt_ms=rtt_ms)

    def _record(
        self, plan: _Plan, ok: bool, outcome: str, *, warning: str | None = None,
        rtt_ms: float | None = None,
    ) -> HistoryEntry:
        target = plan.options.address if plan.options is not None else "?"
        entry = HistoryEntry(
            plan.title, target, ok, outcome, plan.source, plan.event, plan.text, rtt_ms, warning
        )
        self.history.append(entry)
        return entry


@dataclass
class _Plan:
    title: str
    text: str
    event: str
    source: str
    options: ClientOptions | None = None
    app_name: str = ""
    app_icon: Any = None
    events: list = field(default_factory=list)
    icons: list = field(default_factory=list)
    key: tuple = ()
    publish_kwargs: dict = field(default_factory=dict)


def _needs_fetch(resource: Any) -> bool:
    return resource is not None and getattr(resource, "url", None) is not None and not resource.data
