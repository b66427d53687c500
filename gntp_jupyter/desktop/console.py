"""One line per record for a human, safe to print whatever the sender sent."""

from __future__ import annotations

import time

from ..gntp.records import Notification, Record, Registration, Subscription
from .text import for_terminal

__all__ = ["describe"]


def _shorten(text: str, limit: int = 60) -> str:
    text = for_terminal(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _icon(data: bytes | None, url: str | None) -> str:
    if data is not None:
        return f"icon {len(data)} bytes"
    return f"icon {_shorten(url, 40)}" if url else "no icon"


def describe(record: Record) -> str:
    """What arrived, from whom, when: one line, every sender field escaped and bounded."""
    stamp = time.strftime("%H:%M:%S", time.localtime(record.received_at))
    if isinstance(record, Notification):
        text = f" — {_shorten(record.text)}" if record.text else ""
        icon = _icon(record.icon, record.icon_url)
        app = _shorten(record.application, 40)
        body = f"NOTIFY    {app}: {_shorten(record.title)}{text} [{icon}]"
    elif isinstance(record, Registration):
        names = _shorten(", ".join(record.events), 80)
        count = f"{len(record.events)} type{'' if len(record.events) == 1 else 's'}"
        icon = _icon(record.icon, record.icon_url)
        body = f"REGISTER  {_shorten(record.application, 40)}: {count} ({names}) [{icon}]"
    elif isinstance(record, Subscription):
        name, sid = _shorten(record.name, 40), _shorten(record.id, 40)
        body = f"SUBSCRIBE {name} (id {sid}, port {record.port})"
    else:
        what = record.message_type or "request"
        body = f"REJECTED  {what} with {record.code}: {_shorten(record.description, 120)}"
    return f"{stamp} {body} from {record.peer}"
