"""Desktop notifications (GNTP / Growl) from Jupyter and IPython.

In a notebook or IPython::

    %load_ext gntp_jupyter
    %config GNTPNotifier.host = "my-laptop.local"   # where Growl / Snarl / gol runs

    %notify Training finished                        # now
    %%notify_when_done                               # when this cell ends (first line)
    %autonotify --after 60                           # whenever a slow cell ends
    %notify_panel                                    # a form, a test button, the history

From code, ``gntp_jupyter.get_notifier().send("Title", "text")`` uses the same
settings; the GNTP client itself is :mod:`gntp_jupyter.gntp`.

Importing this package is cheap: IPython, traitlets and the protocol stack are imported
when the extension loads or the first notification is sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .notifier import Notifier
    from .panel_widget import NotificationPanel

__all__ = [
    "__version__",
    "get_notifier",
    "load_ipython_extension",
    "panel",
    "unload_ipython_extension",
]

__version__ = "0.1.0"


def load_ipython_extension(ipython: Any) -> None:
    """Called by ``%load_ext gntp_jupyter`` (and by profiles listing the extension)."""
    from .extension import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """Called by ``%unload_ext gntp_jupyter``: removes every magic, hook and transformer."""
    from .extension import unload_ipython_extension as unload

    unload(ipython)


def get_notifier(shell: Any = None) -> Notifier:
    """The one Notifier (settings, history) shared by the magics and the panel of
    ``shell`` — the running IPython when None."""
    from .extension import get_notifier as shared

    return shared(shell)


def panel(shell: Any = None) -> NotificationPanel:
    """A notification panel over :func:`get_notifier` (display it, or use %notify_panel).

    In IPython the shell keeps one panel: making a new one closes the previous one.
    """
    from .extension import shell_state
    from .panel_widget import NotificationPanel

    state = shell_state(shell)
    if state is not None:
        return state.new_panel()
    return NotificationPanel(get_notifier(shell))
