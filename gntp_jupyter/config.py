"""The one configuration shared by the magics and the panel.

A traitlets Configurable, so every usual way of setting it works::

    %config GNTPNotifier.host = "laptop.local"          # in a session
    c.GNTPNotifier.password = "secret"                  # ipython_config.py

Environment variables override the config files — a remote kernel usually learns
where the user's desktop is from its environment: ``GNTP_HOST``, ``GNTP_PORT``,
``GNTP_PASSWORD``, ``GNTP_HASH``, ``GNTP_ENCRYPTION``, ``GNTP_APP_NAME``,
``GNTP_TIMEOUT``, ``GNTP_CALLBACK_URL``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from traitlets import Bool, CaselessStrEnum, Float, Int, List, TraitError, Unicode, validate
from traitlets.config import Configurable

if TYPE_CHECKING:
    from .gntp.options import ClientOptions

# The protocol stack (and cryptography) is imported on first use, not here: a profile that
# loads the extension at every start-up should cost next to nothing until a send. First use
# includes setting host, port or priority (GNTP_HOST too): their validators live in the stack.

__all__ = ["DEFAULT_ICON", "ENV_VARS", "EVENT_FAILED", "EVENT_FINISHED", "EVENT_MESSAGE",
           "GNTPNotifier"]

EVENT_FINISHED = "Cell finished"
EVENT_FAILED = "Cell failed"
EVENT_MESSAGE = "Message"

#: The icon shipped with the package (a PNG file path).
DEFAULT_ICON = os.path.join(os.path.dirname(os.path.abspath(__file__)), "icon.png")

#: environment variable -> trait name
ENV_VARS = {
    "GNTP_HOST": "host",
    "GNTP_PORT": "port",
    "GNTP_PASSWORD": "password",
    "GNTP_HASH": "hash_algorithm",
    "GNTP_ENCRYPTION": "encryption",
    "GNTP_APP_NAME": "app_name",
    "GNTP_TIMEOUT": "timeout",
    "GNTP_CALLBACK_URL": "callback_url",
}

#: Traits that decide where and how requests go; changing one means a new target.
TARGET_TRAITS = ("host", "port", "password", "hash_algorithm", "encryption", "timeout")


def _utf8(text: str) -> bool:
    """Can ``text`` be sent? A non-UTF-8 environment value arrives with surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class GNTPNotifier(Configurable):
    """Where notifications go and how they look."""

    host = Unicode("localhost", help="Host running the GNTP notifier (Growl, Snarl, ...).").tag(
        config=True
    )
    port = Int(23053, help="GNTP port of the notifier.").tag(config=True)
    password = Unicode(
        None, allow_none=True, help="Notifier password (sent only as a salted hash)."
    ).tag(config=True)
    hash_algorithm = CaselessStrEnum(
        ["MD5", "SHA1", "SHA256", "SHA512"], default_value="SHA256",
        help="Key hash used with the password. growl-for-linux does not accept SHA512.",
    ).tag(config=True)
    encryption = CaselessStrEnum(
        ["NONE", "AES", "DES", "3DES"], default_value="NONE",
        help="Encrypt messages (needs the password; AES and 3DES need SHA256 or SHA512).",
    ).tag(config=True)
    timeout = Float(
        3.0, help="Seconds one send may hold a cell, in total (icon fetch, register, notify)."
    ).tag(config=True)
    app_name = Unicode("Jupyter", help="Application name shown by the notifier.").tag(
        config=True
    )
    event_types = List(
        Unicode(), default_value=[EVENT_FINISHED, EVENT_FAILED, EVENT_MESSAGE],
        help="Notification types registered; the first three names are used by the magics.",
    ).tag(config=True)
    icon = Unicode(
        DEFAULT_ICON, allow_none=True,
        help="Default icon: a file path or an http(s) URL; empty for none.",
    ).tag(config=True)
    sticky = Bool(False, help="Keep notifications on screen until clicked.").tag(config=True)
    priority = Int(0, help="Default priority, -2 (very low) to 2 (emergency).").tag(config=True)
    callback_url = Unicode(
        None, allow_none=True,
        help="URL the notifier opens when a notification is clicked. None (default): the "
        "notebook's own URL when the kernel runs under a Jupyter server; empty: none.",
    ).tag(config=True)
    server_url = Unicode(
        "", help="The Jupyter server's base URL as your browser reaches it (an SSH tunnel: "
        "http://localhost:9999/); empty: the server's own. Used for the notebook's URL.",
    ).tag(config=True)
    plot_icon = Bool(
        True, help="Use the last image a cell displayed (a plot) as its notification's icon."
    ).tag(config=True)
    autonotify_after = Float(
        None, allow_none=True,
        help="Notify when a run of cells (Run All; one cell is a run of one) that took "
        "this many seconds ends, and whenever one fails; None: off. What %autonotify sets; "
        "put it in a profile to have it in every session.",
    ).tag(config=True)
    autonotify_only_fail = Bool(
        False, help="With autonotify on, notify only about slow cells that failed."
    ).tag(config=True)
    autonotify_each = Bool(
        False, help="With autonotify on, one notification per cell instead of one per run "
        "of queued cells (Run All)."
    ).tag(config=True)
    retry_after = Float(
        30.0, help="After a target failed, seconds before sends to it are tried again "
        "(doubles on each failure, up to 10 minutes).",
    ).tag(config=True)

    @classmethod
    def class_get_trait_help(cls, trait, inst=None, helptext=None) -> str:
        """``%config GNTPNotifier`` lists current values: never the password's."""
        if trait.name == "password" and inst is not None and inst.password:
            return super().class_get_trait_help(trait, None, helptext) + "\n    Current: (set)"
        return super().class_get_trait_help(trait, inst, helptext)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        #: One line per GNTP_* variable that could not be used (the extension warns).
        self.environment_problems = self.apply_environment(os.environ)

    def apply_environment(self, environ) -> list[str]:
        """Let ``GNTP_*`` variables override the config files (but not later %config).

        A bad value is skipped and reported, never fatal: loading must not fail.
        """
        problems = []
        for var, trait in ENV_VARS.items():
            raw = environ.get(var)
            if raw is None or raw == "":
                continue
            spec = self.traits()[trait]
            kind = type(spec)
            if trait == "password" and not _utf8(raw):
                # Never echo it: the text would name the password's characters.
                problems.append(f"{var} ignored: it is not valid UTF-8 text")
                continue
            try:
                value: object = int(raw) if kind is Int else float(raw) if kind is Float else raw
            except ValueError:
                number = "a whole number" if kind is Int else "a number"
                problems.append(f"{var}={raw!r} ignored: expected {number}")
                continue
            try:
                setattr(self, trait, value)
            except TraitError as exc:
                if isinstance(spec, CaselessStrEnum):
                    choices = ", ".join(str(v) for v in spec.values or ())
                    problems.append(f"{var}={raw!r} ignored: expected one of {choices}")
                else:
                    problems.append(f"{var}={raw!r} ignored: {exc}")
        return problems

    @validate("host", "port", "priority")
    def _check_typed(self, proposal):
        # The protocol's validators, in their words (imported at the first value set).
        from .gntp import validate as checks
        from .gntp.exceptions import GNTPValidationError

        name = proposal["trait"].name
        check = {"host": checks.check_host, "port": checks.check_port,
                 "priority": checks.check_priority}[name]
        try:
            return check(proposal["value"])
        except GNTPValidationError as exc:
            raise TraitError(str(exc)) from None

    @validate("timeout", "retry_after")
    def _check_positive(self, proposal):
        if not proposal["value"] > 0:  # also refuses NaN
            raise TraitError(f"{proposal['trait'].name} must be positive")
        return proposal["value"]

    @validate("autonotify_after")
    def _check_after(self, proposal):
        value = proposal["value"]
        if value is not None and not value >= 0:
            raise TraitError(f"autonotify_after must be >= 0 seconds or None, got {value}")
        return value

    @validate("app_name")
    def _check_text(self, proposal):
        value = proposal["value"].strip()
        if not value:
            raise TraitError(f"{proposal['trait'].name} must not be empty")
        return value

    @validate("event_types")
    def _check_events(self, proposal):
        names = list(proposal["value"])
        if len(names) < 3 or len(set(names)) != len(names) or not all(n.strip() for n in names):
            raise TraitError("event_types needs at least 3 distinct, non-empty names")
        return names

    def client_options(self, **overrides) -> ClientOptions:
        """The target these settings describe; ``overrides`` replace single traits.

        Raises GNTPValidationError for impossible combinations (AES with MD5, ...).
        """
        from .gntp.options import ClientOptions, Timeout
        from .gntp.security import Secret, Security

        # The password goes straight into a Secret: no local variable here holds its text
        # (a Verbose traceback would print it).
        secret = Secret(overrides.pop("password", None) or self.password or "")
        s = {name: getattr(self, name) for name in TARGET_TRAITS if name != "password"}
        s.update({k: v for k, v in overrides.items() if v is not None})
        return ClientOptions(
            host=s["host"], port=int(s["port"]),
            security=Security(secret, s["hash_algorithm"], s["encryption"]),
            timeout=Timeout(connect=float(s["timeout"]), response=float(s["timeout"])),
        )

    def icon_problem(self) -> str | None:
        """Why ``icon`` cannot be used (it is then left out of each send), or None."""
        from .gntp.exceptions import GNTPResourceError
        from .gntp.validate import check_icon

        try:
            check_icon(self.icon)
        except GNTPResourceError as exc:
            return f"GNTPNotifier.icon is left out of each send: {exc}"
        return None

    def check(self) -> str | None:
        """Why the current settings cannot work, or None when they can."""
        from .gntp.exceptions import GNTPValidationError

        try:
            self.client_options()
        except GNTPValidationError as exc:
            return str(exc)
        return None

    @property
    def finished_event(self) -> str:
        return self.event_types[0]

    @property
    def failed_event(self) -> str:
        return self.event_types[1]

    @property
    def message_event(self) -> str:
        return self.event_types[2]

    def summary(self) -> dict[str, object]:
        """The effective settings, password masked — what ``%notify --show`` prints."""
        out: dict[str, object] = {}
        for name in sorted(self.class_trait_names(config=True)):
            value = getattr(self, name)
            out[name] = "********" if name == "password" and value else value
        return out
