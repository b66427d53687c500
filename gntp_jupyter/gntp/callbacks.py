"""Socket callbacks: what to run when the user clicks, closes or ignores a notification."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .responses import CLICKED, CLOSED, TIMEDOUT, CallbackResponse

__all__ = ["CallbackHandler", "SocketCallback"]

log = logging.getLogger(__name__)

CallbackHandler = Callable[[CallbackResponse], Any]


@dataclass(frozen=True)
class SocketCallback:
    """Ask the server to report back on the request's own socket.

    Keep ``context`` ASCII: Growl on macOS miscounts non-ASCII lengths in callbacks.
    ``on_any`` runs for every result, after the specific handler.
    """

    on_click: CallbackHandler | None = None
    on_close: CallbackHandler | None = None
    on_timeout: CallbackHandler | None = None
    on_any: CallbackHandler | None = None
    context: str = "gntp_jupyter"
    context_type: str = "string"

    def dispatch(self, response: CallbackResponse) -> None:
        """Run the handlers; a failing handler is logged, never raised into the transport."""
        specific = {CLICKED: self.on_click, CLOSED: self.on_close, TIMEDOUT: self.on_timeout}
        for handler in (specific.get(response.result or ""), self.on_any):
            if handler is None:
                continue
            try:
                handler(response)
            except Exception:
                log.exception("GNTP callback handler %r failed", handler)
