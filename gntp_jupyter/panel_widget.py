"""The notification panel: compose, send, test the connection, see what was sent.

The panel owns no settings and no history of its own. Its target fields edit the
shared :class:`~gntp_jupyter.config.GNTPNotifier` (so ``%notify`` goes where the panel
points, and ``%config`` shows up in the panel), and its table shows the shared
:class:`~gntp_jupyter.history.History` (so sends made by the magics appear too).

A click never blocks the kernel: the send is a task on the kernel's running loop
(:meth:`Notifier.send_async <gntp_jupyter.notifier.Notifier.send_async>`); the button
shows progress and the result lands in the status line and the history.
"""

from __future__ import annotations

import asyncio
import html
import threading
import traceback
from collections.abc import Awaitable, Callable
from importlib import resources as importlib_resources
from typing import Any

import ipywidgets as widgets
from traitlets import TraitError

from .gntp.exceptions import GNTPResourceError
from .gntp.resources import check_image
from .gntp.validate import PRIORITIES as PRIORITY_VALUES
from .gntp.validate import check_icon
from .history import HistoryEntry
from .notifier import WARNING_PREFIX, Notifier

__all__ = ["NotificationPanel"]

#: Width of every field label, so inputs line up in both columns.
LABEL_WIDTH = "6.5em"

#: GNTP priorities with the names Growl shows for them.
PRIORITIES = list(zip(("Very low", "Moderate", "Normal", "High", "Emergency"),
                      PRIORITY_VALUES, strict=True))

#: Panel fields that are the shared configuration's traits of the same name.
TARGET_FIELDS = ("host", "port", "password", "hash_algorithm", "encryption")



def icon_text_problem(text: str) -> str | None:
    """Why the icon field's URL or file path cannot be sent, or None when it can.

    A URL is only checked for shape (it is fetched when sending); a path is read now,
    because it is read on the kernel's machine and a typo should show before Send.
    """
    try:
        check_icon(text)  # the check -i and GNTPNotifier.icon share
    except GNTPResourceError as exc:
        return f"icon: {exc}"
    return None


def upload_problem(name: str, content: bytes) -> str | None:
    """Why an uploaded icon cannot be sent, or None when it can."""
    if not content:
        return f"uploaded icon {name!r} is empty"
    try:
        check_image(content, name)
    except GNTPResourceError as exc:
        return f"uploaded icon {name!r}: {exc.cause}"
    return None


def _password_placeholder(password: str | None) -> str:
    """What the (always empty) password field says about the configured password."""
    return "set (hidden)" if password else "none"


def _css() -> str:
    return (importlib_resources.files("gntp_jupyter") / "panel_widget.css").read_text("utf-8")


class NotificationPanel:
    """An ipywidgets form over one :class:`~gntp_jupyter.notifier.Notifier`.

    ``panel.widget`` is the root container; the panel itself displays in a notebook.
    ``panel.task`` is the send or test started by the last click (await it in tests);
    ``panel.problems()`` says why Send is disabled. ``rows`` history entries are shown.
    """

    def __init__(self, notifier: Notifier, *, rows: int = 10) -> None:
        self.notifier = notifier
        self.config = notifier.config
        self.history = notifier.history
        self.rows = rows
        self.task: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()  # strong references while running
        self._busy: str | None = None  # "send" or "test" while a click's task runs
        self._syncing = False  # True while the panel and the config copy values over
        self._errors: dict[str, str] = {}
        self._thread = threading.get_ident()
        self._loop: asyncio.AbstractEventLoop | None = _running_loop()
        self._closed = False
        self._build()
        self.config.observe(self._on_config, names=[*TARGET_FIELDS, "event_types"])
        self.history.observe(self._on_history)
        self._check_security()
        self._check_title()
        self._check_icon()
        self._render_history()
        self._update()

    # -- building ---------------------------------------------------------------------

    def _build(self) -> None:
        c = self.config
        style = {"description_width": LABEL_WIDTH}
        # "auto" (not 100%) lets a flex column stretch a row without overflowing its margins.
        full = widgets.Layout(width="auto")

        def field(widget: widgets.Widget, name: str) -> widgets.Widget:
            widget.add_class(f"gntp-{name.replace('_', '-')}")
            return widget

        self.host = field(widgets.Text(
            value=c.host, description="Host", placeholder="localhost", style=style,
            layout=full, tooltip="Machine running Growl / Snarl / growl-for-linux",
        ), "host")
        self.port = field(widgets.IntText(
            value=c.port, description="Port", continuous_update=True, style=style,
            layout=widgets.Layout(width="14em"),
        ), "port")
        # Never pre-filled: a widget's value reaches the browser and the saved notebook.
        # Sent on Enter or leaving the field, then emptied again (see _on_field).
        self.password = field(widgets.Password(
            value="", description="Password", placeholder=_password_placeholder(c.password),
            continuous_update=False, style=style,
            layout=widgets.Layout(flex="1 1 auto", width="auto", min_width="0"),
        ), "password")
        self.clear_password = field(widgets.Button(
            icon="times", tooltip="Forget the password",
            layout=widgets.Layout(width="2.6em", display="" if c.password else "none"),
        ), "clear-password")
        hashes = list(type(self.config).hash_algorithm.values)
        encryptions = list(type(self.config).encryption.values)
        self.hash_algorithm = field(widgets.Dropdown(
            options=hashes, value=c.hash_algorithm, description="Hash", style=style,
            layout=widgets.Layout(width="14em"),
        ), "hash_algorithm")
        self.encryption = field(widgets.Dropdown(
            options=encryptions, value=c.encryption, description="Encryption", style=style,
            layout=widgets.Layout(width="14em"),
        ), "encryption")

        self.title = field(widgets.Text(
            value="", description="Title", placeholder="required", style=style, layout=full,
        ), "title")
        self.message = field(widgets.Textarea(
            value="", description="Message", placeholder="optional", rows=2, style=style,
            layout=full,
        ), "message")
        self.event = field(widgets.Dropdown(
            options=list(c.event_types), value=c.message_event, description="Event",
            style=style, layout=full,
        ), "event")
        self.icon = field(widgets.Text(
            value="", description="Icon", placeholder="URL or file path",
            tooltip="An http(s) URL, or an image file on the kernel's machine; "
            "empty: the application's icon",
            style=style, layout=widgets.Layout(flex="1 1 auto", width="auto", min_width="0"),
        ), "icon")
        self.upload = field(widgets.FileUpload(
            accept="image/*", multiple=False, description="Upload", icon="upload",
            tooltip="Send an image from this browser as the icon",
            layout=widgets.Layout(width="auto", flex="0 0 auto"),
        ), "upload")
        self.clear_upload = field(widgets.Button(
            icon="times", tooltip="Forget the uploaded icon",
            layout=widgets.Layout(width="2.6em", display="none"),
        ), "clear-upload")
        self.priority = field(widgets.Dropdown(
            options=PRIORITIES, value=c.priority, description="Priority", style=style,
            layout=widgets.Layout(width="14em"),
        ), "priority")
        self.sticky = field(widgets.Checkbox(
            value=c.sticky, description="Sticky", indent=False,
            tooltip="Keep the notification on screen until it is clicked",
            layout=widgets.Layout(width="auto", margin="0 0 0 1em"),
        ), "sticky")

        self.send_button = field(widgets.Button(
            description="Send", icon="paper-plane", button_style="primary",
            layout=widgets.Layout(width="9em"),
        ), "send")
        self.test_button = field(widgets.Button(
            description="Test connection", icon="plug",
            tooltip="Register and send a test notification to this target",
            layout=widgets.Layout(width="auto"),
        ), "test")
        self.reason = field(widgets.HTML(layout=widgets.Layout(flex="1 1 auto")), "reason")
        # Hidden until there is something to say: an empty status bar looks like a glitch.
        self.status = field(widgets.HTML(layout=widgets.Layout(width="auto", display="none")),
                            "status")
        self.history_table = field(widgets.HTML(layout=full), "history")
        self.output = field(widgets.Output(layout=full), "output")
        self._notes = {
            name: field(widgets.HTML(layout=widgets.Layout(display="none")), "note")
            for name in ("host", "port", "password", "security", "title", "icon")
        }

        def heading(text: str) -> widgets.HTML:
            return field(widgets.HTML(html.escape(text)), "heading")

        compose = widgets.VBox([
            heading("Notification"),
            self.title, self._notes["title"],
            self.message,
            self.event,
            widgets.HBox([self.icon, self.upload, self.clear_upload],
                         layout=widgets.Layout(width="auto", align_items="center")),
            self._notes["icon"],
            widgets.HBox([self.priority, self.sticky],
                         layout=widgets.Layout(align_items="center")),
        ], layout=widgets.Layout(min_width="0"))
        target = widgets.VBox([
            heading("Target"),
            self.host, self._notes["host"],
            self.port, self._notes["port"],
            widgets.HBox([self.password, self.clear_password],
                         layout=widgets.Layout(width="auto", align_items="center")),
            self._notes["password"],
            self.hash_algorithm,
            self.encryption, self._notes["security"],
            widgets.HBox([self.test_button], layout=widgets.Layout(margin="4px 0 0 0")),
        ], layout=widgets.Layout(min_width="0"))
        columns = widgets.GridBox([compose, target], layout=widgets.Layout(
            grid_template_columns="repeat(auto-fit, minmax(300px, 1fr))",
            grid_gap="4px 24px", width="auto",
        ))
        actions = widgets.HBox([self.send_button, self.reason], layout=widgets.Layout(
            align_items="center", grid_gap="12px", margin="6px 0 2px 0", width="auto",
        ))
        style_sheet = widgets.HTML(
            f"<style>.gntp-panel {{ --gntp-label-width: {LABEL_WIDTH}; }}\n{_css()}</style>",
            layout=widgets.Layout(display="none"),
        )
        bar = field(widgets.HTML("GNTP notifications"), "title-bar")
        self.widget = widgets.VBox([
            style_sheet, bar, columns, actions, self.status,
            heading(f"Sent from this kernel (last {self.rows})"), self.history_table,
            self.output,
        ])
        self.widget.add_class("gntp-panel")
        self._all = _walk(self.widget)

        for name in TARGET_FIELDS:
            getattr(self, name).observe(
                lambda change, name=name: self._on_field(name, change["new"]), names="value"
            )
        self.title.observe(lambda _c: self._after(self._check_title), names="value")
        self.icon.observe(lambda _c: self._after(self._check_icon), names="value")
        self.upload.observe(lambda _c: self._after(self._check_icon), names="value")
        self.clear_upload.on_click(lambda _b: setattr(self.upload, "value", ()))
        self.clear_password.on_click(lambda _b: setattr(self.config, "password", None))
        self.send_button.on_click(lambda _b: self.send())
        self.test_button.on_click(lambda _b: self.test_connection())

    # -- display ----------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> dict | None:
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        # What a frontend without widgets (terminal IPython) shows instead of the form.
        c = self.config
        return f"<NotificationPanel {c.app_name!r} -> {c.host}:{c.port}, {len(self.history)} sent>"

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def close(self) -> None:
        """Stop following the configuration and the history, and close every widget."""
        if self._closed:
            return
        self._closed = True
        self.config.unobserve(self._on_config, names=[*TARGET_FIELDS, "event_types"])
        self.history.unobserve(self._on_history)
        for w in self._all:
            w.close()

    # -- the shared configuration ----------------------------------------------------

    def _on_field(self, name: str, value: Any) -> None:
        """A target field changed in the panel: write it to the shared config."""
        if self._syncing:
            return
        if name == "password" and not value:
            return  # an empty field keeps the configured password; ✕ forgets it
        self._syncing = True
        try:
            setattr(self.config, name, value)
        except TraitError as exc:
            # The config keeps its last good value; the field says what is wrong.
            self._errors[name] = str(exc)
        else:
            self._errors.pop(name, None)
        finally:
            if name == "password":
                self.password.value = ""  # taken: do not keep it in the widget's state
            self._syncing = False
        self._after(self._check_security)

    def _on_config(self, change: Any) -> None:
        """The shared config changed (``%config``, another panel): show it here."""
        if self._syncing:
            return
        name, new = change["name"], change["new"]
        self._syncing = True
        try:
            if name == "event_types":
                current = self.event.value
                self.event.options = list(new)
                self.event.value = current if current in new else self.config.message_event
            elif name == "password":
                self.password.value = ""  # shown only as "set" or not (see _update)
            elif name == "host" and self.host.value.strip() == new:
                pass  # the panel's text only differs by spaces the config trims
            else:
                getattr(self, name).value = new
        finally:
            self._syncing = False
        self._errors.pop(name, None)
        self._after(self._check_security)

    # -- validation -------------------------------------------------------------------

    def _check_security(self) -> None:
        problem = self.config.check()
        if problem:
            self._errors["security"] = problem
        else:
            self._errors.pop("security", None)

    def _check_title(self) -> None:
        if self.title.value.strip():
            self._errors.pop("title", None)
        else:
            self._errors["title"] = "title is empty"

    def _check_icon(self) -> None:
        upload = self._uploaded()
        if upload is not None:
            name, content = upload
            problem = upload_problem(name, content)
        else:
            problem = icon_text_problem(self.icon.value)
        if problem:
            self._errors["icon"] = problem
        else:
            self._errors.pop("icon", None)

    def _uploaded(self) -> tuple[str, bytes] | None:
        if not self.upload.value:
            return None
        item = self.upload.value[0]
        return item["name"], bytes(item["content"])

    def _after(self, check: Callable[[], None]) -> None:
        check()
        self._update()

    def target_problems(self) -> list[str]:
        """Why the target cannot be used now (empty when it can)."""
        return [self._errors[k] for k in (*TARGET_FIELDS, "security") if k in self._errors]

    def problems(self) -> list[str]:
        """Why Send is disabled now, in the order of the form (empty when it can send)."""
        compose = [self._errors[k] for k in ("title", "icon") if k in self._errors]
        return compose + self.target_problems()

    def _update(self) -> None:
        """Show every inline note and set both buttons from the current problems."""
        if self._closed:
            return
        for name, note in self._notes.items():
            error = self._errors.get(name)
            info = self._icon_info() if name == "icon" and not error else None
            text = error or info
            note.value = html.escape(text) if text else ""
            note.layout.display = "" if text else "none"
            note.remove_class("gntp-error")
            note.remove_class("gntp-info")
            if text:
                note.add_class("gntp-error" if error else "gntp-info")
        self.clear_upload.layout.display = "" if self.upload.value else "none"
        self.password.placeholder = _password_placeholder(self.config.password)
        self.clear_password.layout.display = "" if self.config.password else "none"
        self.icon.disabled = bool(self.upload.value)

        problems = self.problems()
        target = self.target_problems()
        busy = self._busy is not None
        self.send_button.disabled = busy or bool(problems)
        self.test_button.disabled = busy or bool(target)
        self.send_button.description = "Sending…" if self._busy == "send" else "Send"
        self.test_button.description = (
            "Testing…" if self._busy == "test" else "Test connection"
        )
        where = f"{self.config.host}:{self.config.port}"
        if problems:
            why = "; ".join(problems)
            self.send_button.tooltip = f"Cannot send: {why}"
            self.reason.value = f"Cannot send: {html.escape(why)}"
        else:
            self.send_button.tooltip = f"Send this notification to {where}"
            self.reason.value = ""
        self.test_button.tooltip = (
            f"Cannot test: {'; '.join(target)}" if target
            else f"Register and send a test notification to {where}"
        )

    def _icon_info(self) -> str | None:
        upload = self._uploaded()
        if upload is None:
            return None
        name, content = upload
        return f"Icon: uploaded {name}, {len(content):,} bytes."

    # -- sending ----------------------------------------------------------------------

    def send(self) -> asyncio.Task | None:
        """What the Send button does: start sending the form; returns the task."""
        return self._start("send", self._send_coro)

    def test_connection(self) -> asyncio.Task | None:
        """What the Test-connection button does: register again and send a test."""
        return self._start("test", self.notifier.test_connection_async)

    def _send_coro(self) -> Awaitable[HistoryEntry]:
        kwargs: dict[str, Any] = {
            "event": self.event.value, "sticky": self.sticky.value,
            "priority": self.priority.value, "source": "panel",
        }
        upload = self._uploaded()
        if upload is not None:
            from .gntp.resources import Resource

            kwargs["icon"] = Resource(upload[1])
        elif self.icon.value.strip():
            kwargs["icon"] = self.icon.value.strip()
        return self.notifier.send_async(self.title.value.strip(), self.message.value, **kwargs)

    def _start(
        self, kind: str, make: Callable[[], Awaitable[HistoryEntry]]
    ) -> asyncio.Task | None:
        # button.click() fires handlers even when the button is disabled: check again.
        if self._busy is not None or self._closed:
            return None
        blocked = self.problems() if kind == "send" else self.target_problems()
        if blocked:
            self._set_status("fail", f"Cannot {kind}: {'; '.join(blocked)}")
            return None
        self._busy = kind
        self._set_status("busy", "Sending…" if kind == "send" else
                         f"Testing {self.config.host}:{self.config.port}…")
        self._update()
        loop = _running_loop()
        if loop is None:
            # No kernel loop (plain Python): nothing to keep responsive, run to the end.
            asyncio.run(self._run(kind, make))
            return None
        self._loop = loop
        task = loop.create_task(self._run(kind, make))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self.task = task
        return task

    async def _run(
        self, kind: str, make: Callable[[], Awaitable[HistoryEntry]]
    ) -> HistoryEntry | None:
        try:
            entry = await make()
        except Exception as exc:  # send_async never raises GNTPError: this is a bug
            self.output.append_stderr(traceback.format_exc())
            self._set_status("fail", f"{kind} failed unexpectedly: {exc!r} (traceback below)")
            return None
        finally:
            self._busy = None
            self._update()
        self._show_result(kind, entry)
        return entry

    def _show_result(self, kind: str, entry: HistoryEntry) -> None:
        at = entry.time.strftime("%H:%M:%S")
        rtt = f" in {entry.rtt_ms:.0f} ms" if entry.rtt_ms is not None else ""
        if entry.ok and kind == "test":
            self._set_status(
                "ok", f"✓ Connection OK: {entry.target} answered{rtt} ({at})",
                "Registered again and showed a test notification.",
            )
        elif entry.ok:
            self._set_status(
                "ok", f"✓ Sent “{entry.title}” to {entry.target}{rtt} ({at})",
                entry.warning or "",
            )
        elif entry.outcome.startswith("skipped"):
            self._set_status(
                "warn", f"Not sent ({at}): {entry.outcome}",
                "Test connection tries this target again right away.",
            )
        else:
            why = (entry.warning or "").removeprefix(WARNING_PREFIX)
            self._set_status("fail", f"✗ Not sent to {entry.target}: {entry.outcome} ({at})",
                             why)

    def _set_status(self, kind: str, text: str, detail: str = "") -> None:
        extra = f"<span class='gntp-detail'>{html.escape(detail)}</span>" if detail else ""
        self.status.value = html.escape(text) + extra
        self.status.layout.display = ""
        for k in ("ok", "fail", "busy", "warn"):
            self.status.remove_class(f"gntp-{k}")
        self.status.add_class(f"gntp-{kind}")

    # -- history ----------------------------------------------------------------------

    def _on_history(self, _entry: HistoryEntry) -> None:
        """A send happened somewhere in this kernel: redraw (on the kernel's thread)."""
        if self._closed:
            return
        if threading.get_ident() != self._thread and self._loop is not None:
            self._loop.call_soon_threadsafe(self._render_history)
        else:
            self._render_history()

    def _render_history(self) -> None:
        if self._closed:
            return
        entries = self.history.entries()[-self.rows:][::-1]
        head = (
            "<tr><th>Time</th><th>Title</th><th>Target</th><th>Outcome</th>"
            "<th class='gntp-num'>ms</th><th>Via</th></tr>"
        )
        if not entries:
            body = ("<tr><td class='gntp-empty' colspan='6'>Nothing sent yet — "
                    "sends from the panel and from %notify appear here.</td></tr>")
        else:
            body = "".join(_row(e) for e in entries)
        self.history_table.value = f"<table>{head}{body}</table>"


def _row(entry: HistoryEntry) -> str:
    e = html.escape
    kind = "ok" if entry.ok else ("warn" if entry.outcome.startswith("skipped") else "fail")
    rtt = f"{entry.rtt_ms:.0f}" if entry.rtt_ms is not None else "—"
    tip = f" title='{e(entry.warning, quote=True)}'" if entry.warning else ""
    # A send that went out with a caveat (an icon dropped) is OK with a marker.
    mark = " <span class='gntp-warn'>⚠</span>" if entry.ok and entry.warning else ""
    return (
        f"<tr class='gntp-row gntp-row-{kind}'>"
        f"<td class='gntp-cell-time'>{entry.time.strftime('%H:%M:%S')}</td>"
        f"<td class='gntp-cell-title' title='{e(entry.title, quote=True)}'>{e(entry.title)}</td>"
        f"<td class='gntp-cell-target'>{e(entry.target)}</td>"
        f"<td class='gntp-cell-outcome gntp-{kind}'{tip}>"
        f"<span class='gntp-outcome'>{e(entry.outcome)}</span>{mark}</td>"
        f"<td class='gntp-cell-rtt gntp-num'>{rtt}</td>"
        f"<td class='gntp-cell-via'>{e(entry.source)}</td></tr>"
    )


def _running_loop() -> asyncio.AbstractEventLoop | None:
    """The kernel's loop when called from a cell or a widget message, else None."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _walk(widget: widgets.Widget) -> list[widgets.Widget]:
    """``widget`` and every widget inside it (so :meth:`close` closes them all)."""
    found = [widget]
    for child in getattr(widget, "children", ()):
        found.extend(_walk(child))
    return found
