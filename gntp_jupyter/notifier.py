"""The one sender behind the magics and the panel.

It turns the current :class:`~gntp_jupyter.config.GNTPNotifier` settings into a
publisher, registers once per target (and again whenever the target, application
name, event types or icon change), backs off from a target that is down, and records
every attempt in the shared :class:`~gntp_jupyter.history.History`.

It never raises (but KeyboardInterrupt): a send that fails — whatever the server
answered, even an error of ours — returns a HistoryEntry whose
``warning`` is the one line to show — a notification must never cost a cell. One send
(icon fetch, registration, notification) holds its caller at most the configured
``timeout`` in total. An icon that cannot be read or fetched does not stop the
notification: it goes out without the icon and the entry's ``warning`` says so.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .config import GNTPNotifier
from .gntp.client import Publisher
from .gntp.exceptions import (
    GNTPConnectionError,
    GNTPConnectionRefused,
    GNTPError,
    GNTPResourceError,
    GNTPServerError,
    GNTPTimeoutError,
    GNTPValidationError,
)
from .gntp.options import ClientOptions, Timeout, format_seconds
from .gntp.requests import Event, origin_headers
from .gntp.resources import Resource
from .gntp.security import Secret
from .gntp.validate import check_icon
from .history import History, HistoryEntry
from .notebook_url import callback_target

__all__ = ["WARNING_PREFIX", "Notifier", "describe_failure", "is_url"]

_MAX_BACKOFF = 600.0

#: Every warning about a notification that did not go out starts with this.
WARNING_PREFIX = "gntp_jupyter: notification not sent — "


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


_TEST_TITLE = "gntp_jupyter test"
_TEST_TEXT = "If you can read this, notifications work."


class _Target(NamedTuple):
    """One send's target overrides; None keeps the configured value."""

    host: str | None
    port: int | None
    password: Secret | str | None
    hash_algorithm: str | None
    encryption: str | None
    timeout: float | None

    def keywords(self) -> dict[str, Any]:
        return self._asdict()


@dataclass
class _Backoff:
    until: float
    delay: float


class _Deadline:
    """One time budget for a whole send; each step gets what is left of it."""

    def __init__(self, options: ClientOptions) -> None:
        self.base = options
        self.total = options.timeout.response
        self.end = time.monotonic() + self.total

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def for_icons(self) -> float:
        """Icons get at most half the budget: a slow image host must not cost the text."""
        return max(min(self.remaining(), self.total / 2), 0.001)

    def options(self) -> ClientOptions:
        """The target with timeouts cut to the time left; raises when none is left."""
        left = self.remaining()
        if left <= 0.001:
            raise GNTPTimeoutError(
                f"sending to {self.base.address} took longer than the "
                f"{format_seconds(self.total)} "
                "timeout — raise it with %config GNTPNotifier.timeout = ..."
            )
        t = self.base.timeout
        return dataclasses.replace(
            self.base,
            timeout=Timeout(connect=min(t.connect, left), response=left, callback=t.callback),
        )


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

    # -- sending --------------------------------------------------------------------

    def send(
        self, title: str, text: str = "", *, event: str | None = None,
        icon: str | os.PathLike[str] | Resource | None = None,
        sticky: bool | None = None, priority: int | None = None,
        coalescing_id: str | None = None, callback_url: str | None = None,
        source: str = "python", host: str | None = None, port: int | None = None,
        password: Secret | str | None = None, hash_algorithm: str | None = None,
        encryption: str | None = None, timeout: float | None = None,
    ) -> HistoryEntry:
        """Send now, holding the caller at most the configured timeout; never raises.

        Keyword-only, each None for the configured value: ``event`` (a notification
        type; default the message event), ``icon`` (a path, a URL or a Resource; by
        default none: the server shows the application's icon, registered from the
        configured ``icon``), ``sticky``, ``priority`` (-2 to 2), ``coalescing_id``
        (replaces the notification with that ID), ``callback_url`` (opened on click),
        ``source`` (what the history records as the sender), and for this one send the
        target: ``host``, ``port``, ``password``, ``hash_algorithm``, ``encryption``,
        ``timeout`` (seconds).
        """
        target = _Target(host, port, password, hash_algorithm, encryption, timeout)
        plan = self._plan(title, text, event, icon, sticky, priority, coalescing_id,
                          callback_url, source, target)
        if isinstance(plan, HistoryEntry):
            return plan
        deadline = _Deadline(plan.options)
        try:
            register = plan.key not in self._registered
            if register:
                self._load_app_icon(plan)
            self._fetch(plan, deadline)
            publisher = Publisher(
                plan.app_name, plan.events, plan.app_icon, options=deadline.options(),
                headers=_origin(),
            )
            if register:
                publisher.register()
                self._registered.add(plan.key)
                publisher.client.options = deadline.options()
            start = time.perf_counter()
            publisher.publish(**plan.publish_kwargs())
        except GNTPError as exc:
            return self._failed(plan, exc)
        except Exception as exc:  # a server's odd answer or our bug: never the cell's cost
            return self._failed(plan, _unexpected(exc))
        return self._succeeded(plan, (time.perf_counter() - start) * 1000)

    async def send_async(
        self, title: str, text: str = "", *, event: str | None = None,
        icon: str | os.PathLike[str] | Resource | None = None,
        sticky: bool | None = None, priority: int | None = None,
        coalescing_id: str | None = None, callback_url: str | None = None,
        source: str = "python", host: str | None = None, port: int | None = None,
        password: Secret | str | None = None, hash_algorithm: str | None = None,
        encryption: str | None = None, timeout: float | None = None,
    ) -> HistoryEntry:
        """:meth:`send` on the running loop (URL icons fetched in parallel); never blocks it.

        Keyword-only: as for :meth:`send`.
        """
        from .gntp.async_gntp import AsyncPublisher

        target = _Target(host, port, password, hash_algorithm, encryption, timeout)
        plan = self._plan(title, text, event, icon, sticky, priority, coalescing_id,
                          callback_url, source, target)
        if isinstance(plan, HistoryEntry):
            return plan
        deadline = _Deadline(plan.options)
        try:
            register = plan.key not in self._registered
            if register:
                self._load_app_icon(plan)
            await self._fetch_async(plan, deadline)
            publisher = AsyncPublisher(
                plan.app_name, plan.events, plan.app_icon, options=deadline.options(),
                headers=_origin(),
            )
            if register:
                await publisher.register_async()
                self._registered.add(plan.key)
                publisher.client.options = deadline.options()
            start = time.perf_counter()
            await publisher.publish_async(**plan.publish_kwargs())
        except GNTPError as exc:
            return self._failed(plan, exc)
        except Exception as exc:  # a server's odd answer or our bug: never the cell's cost
            return self._failed(plan, _unexpected(exc))
        return self._succeeded(plan, (time.perf_counter() - start) * 1000)

    def test_connection(
        self, *, host: str | None = None, port: int | None = None,
        password: Secret | str | None = None, hash_algorithm: str | None = None,
        encryption: str | None = None, timeout: float | None = None,
    ) -> HistoryEntry:
        """Register again and send a test notification; the entry carries the round trip.

        Keyword-only, each None for the configured value: the target ``host``, ``port``,
        ``password``, ``hash_algorithm``, ``encryption``, ``timeout`` (seconds).
        """
        target = _Target(host, port, password, hash_algorithm, encryption, timeout)
        self._reset_target(target)
        return self.send(_TEST_TITLE, _TEST_TEXT, source="test", **target.keywords())

    async def test_connection_async(
        self, *, host: str | None = None, port: int | None = None,
        password: Secret | str | None = None, hash_algorithm: str | None = None,
        encryption: str | None = None, timeout: float | None = None,
    ) -> HistoryEntry:
        """:meth:`test_connection` on the running loop; keyword-only: as for it."""
        target = _Target(host, port, password, hash_algorithm, encryption, timeout)
        self._reset_target(target)
        return await self.send_async(_TEST_TITLE, _TEST_TEXT, source="test",
                                     **target.keywords())

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
            plan.options = c.client_options(**target.keywords())
        except Exception as exc:  # GNTPValidationError is a ValueError
            return self._failed(plan, _as_validation_error(exc))
        skipped = self._skip_reason(plan.options)
        if skipped:
            return self._record(plan, False, skipped)
        plan.note_icon = self._resource(plan, icon)
        plan.app_name = c.app_name
        plan.events = [Event(name) for name in c.event_types]
        plan.icon_spec = c.icon
        plan.key = (plan.options, c.app_name, tuple(c.event_types), c.icon)
        plan.fields = dict(
            event=event, title=title, text=text,
            sticky=c.sticky if sticky is None else sticky,
            priority=c.priority if priority is None else priority,
            coalescing_id=coalescing_id,
            callback=callback_url if callback_url is not None else callback_target(c),
        )
        return plan

    def _resource(self, plan: _Plan, spec: Any) -> Any:
        """A path becomes a Resource (read now), a URL an AsyncResource to fetch.

        An icon that :func:`check_icon` refuses leaves a note and no icon: the text
        still goes out.
        """
        if spec is None or spec == "":
            return None
        if isinstance(spec, Resource):
            return spec
        if not isinstance(spec, (str, os.PathLike)):
            plan.notes.append(f"icon not used (not a path, URL or Resource: {spec!r})")
            return None
        try:
            icon = check_icon(spec)
        except GNTPResourceError as exc:
            plan.notes.append(f"icon not used ({exc})")
            return None
        if isinstance(icon, str):
            from .gntp.async_gntp import AsyncResource

            return AsyncResource(icon, timeout=self.config.timeout)
        return icon

    def _load_app_icon(self, plan: _Plan) -> None:
        # Only REGISTER carries the application icon, so it is read only when registering.
        plan.app_icon = self._resource(plan, plan.icon_spec)

    def _fetch(self, plan: _Plan, deadline: _Deadline) -> None:
        """Fetch URL icons on the running loop (or a private one), within the deadline."""
        pending = plan.unfetched()
        if pending:
            from .gntp.async_gntp import run_now

            left = deadline.for_icons()
            run_now(lambda: _fetch_all(pending, left))
        plan.drop_unfetched()

    async def _fetch_async(self, plan: _Plan, deadline: _Deadline) -> None:
        pending = plan.unfetched()
        if pending:
            await _fetch_all(pending, deadline.for_icons())
        plan.drop_unfetched()

    def _reset_target(self, target: _Target) -> None:
        try:
            options = self.config.client_options(**target.keywords())
        except (TypeError, ValueError):
            return
        self._down.pop(options, None)
        self._registered = {k for k in self._registered if k[0] != options}

    def _skip_reason(self, options: ClientOptions) -> str | None:
        down = self._down.get(options)
        if down is None or self._clock() >= down.until:
            return None
        left = down.until - self._clock()
        return (f"skipped: {options.address} was unreachable; retrying in "
                f"{format_seconds(round(left))}")

    def _failed(self, plan: _Plan, exc: GNTPError) -> HistoryEntry:
        outcome, why = describe_failure(exc)
        warning = WARNING_PREFIX + why
        if plan.options is not None and isinstance(exc, (GNTPConnectionError, GNTPTimeoutError)):
            previous = self._down.get(plan.options)
            delay = min(previous.delay * 2, _MAX_BACKOFF) if previous else self.config.retry_after
            self._down[plan.options] = _Backoff(self._clock() + delay, delay)
            warning += f" (not retried for {format_seconds(round(delay))})"
        return self._record(plan, False, outcome, warning=warning)

    def _succeeded(self, plan: _Plan, rtt_ms: float) -> HistoryEntry:
        self._down.pop(plan.options, None)
        warning = None
        if plan.notes:
            warning = "gntp_jupyter: notification sent, but " + "; ".join(plan.notes)
        return self._record(plan, True, "OK", rtt_ms=rtt_ms, warning=warning)

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


async def _fetch_all(resources: list, timeout: float) -> None:
    from .gntp.async_gntp import fetch_async_resources_in_parallel

    # The ones not finished in time are dropped with a note; the text still goes out.
    await fetch_async_resources_in_parallel(resources, timeout)


@dataclass
class _Plan:
    title: str
    text: str
    event: str
    source: str
    options: ClientOptions | None = None
    app_name: str = ""
    app_icon: Any = None
    note_icon: Any = None
    icon_spec: str | None = None
    events: list = field(default_factory=list)
    key: tuple = ()
    fields: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def publish_kwargs(self) -> dict:
        return {**self.fields, "icon": self.note_icon}

    def unfetched(self) -> list:
        return [r for r in (self.app_icon, self.note_icon) if _needs_fetch(r)]

    def drop_unfetched(self) -> None:
        for name in ("app_icon", "note_icon"):
            resource = getattr(self, name)
            if resource is not None and not resource.data:
                error = getattr(resource, "error", None)
                why = error.cause if error is not None else "not fetched within the timeout"
                self.notes.append(f"icon {resource.source} not used ({why})")
                setattr(self, name, None)


def _unexpected(exc: Exception) -> GNTPError:
    return GNTPError(f"unexpected error while sending: {type(exc).__name__}: {exc}")


def _as_validation_error(exc: Exception) -> GNTPError:
    if isinstance(exc, GNTPError):
        return exc
    return GNTPValidationError(f"invalid target setting: {exc}")


@functools.cache
def _origin() -> dict[str, str]:
    """Origin-* headers: a notifier shows which machine a (remote) kernel runs on."""
    from . import __version__

    return origin_headers("gntp_jupyter", __version__)


def _needs_fetch(resource: Any) -> bool:
    return resource is not None and getattr(resource, "url", None) is not None and not resource.data
