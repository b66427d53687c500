"""The notification panel at widget level: set values, click, check a real receiver.

There is no kernel here, so clicks happen inside a running asyncio loop (as the
kernel's comm handlers do) and the tests await the task the panel exposes.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from icon_server import png

from gntp_jupyter.config import DEFAULT_ICON, GNTPNotifier
from gntp_jupyter.notifier import Notifier
from gntp_jupyter.panel_widget import NotificationPanel


def make_panel(host: str = "127.0.0.1", port: int = 23053, **config: object) -> NotificationPanel:
    notifier = Notifier(GNTPNotifier(host=host, port=port, **config))
    return NotificationPanel(notifier)


@pytest.fixture
def panel(receiver) -> Iterator[NotificationPanel]:
    p = make_panel(receiver.host, receiver.port)
    yield p
    p.close()


def upload(name: str, content: bytes) -> tuple[dict, ...]:
    """A FileUpload value as the browser delivers it."""
    return ({
        "name": name, "type": "image/png", "size": len(content),
        "content": memoryview(content), "last_modified": datetime.now(timezone.utc),
    },)


def rows(panel: NotificationPanel) -> list[str]:
    """The history table's rows, newest first, as raw HTML."""
    return panel.history_table.value.split("<tr class='gntp-row")[1:]


# -- sending ------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_send_reaches_the_receiver_and_shows_ok(panel, receiver):
    config = panel.config
    panel.title.value = "Training finished"
    panel.message.value = "loss 0.012\nepoch 40"
    panel.event.value = config.finished_event
    panel.priority.value = 1
    panel.sticky.value = True

    panel.send_button.click()
    task = panel.task
    assert task is not None
    # The click only scheduled the send: nothing has run yet, the kernel is free.
    assert not task.done()
    assert len(panel.history) == 0
    assert panel.send_button.disabled
    assert panel.send_button.description == "Sending…"

    entry = await task
    assert entry.ok, entry
    [note] = receiver.wait_for(1)
    assert note.application == config.app_name
    assert note.title == "Training finished"
    assert note.text == "loss 0.012\nepoch 40"
    assert note.name == config.finished_event
    assert note.priority == 1
    assert note.sticky is True
    assert receiver.registrations[config.app_name].events.keys() == set(config.event_types)

    assert panel.history.entries()[-1] == entry
    assert entry.source == "panel"
    [row] = rows(panel)
    assert "Training finished" in row
    assert ">OK<" in row
    assert receiver.address in row
    assert "gntp-ok" in panel.status._dom_classes
    assert entry.target in panel.status.value
    # The button is back and usable.
    assert not panel.send_button.disabled
    assert panel.send_button.description == "Send"


@pytest.mark.asyncio
async def test_test_connection_registers_again_and_sends(panel, receiver):
    panel.test_button.click()
    assert panel.test_button.description == "Testing…"
    assert panel.send_button.disabled  # one click at a time
    entry = await panel.task
    assert entry.ok, entry
    [note] = receiver.wait_for(1)
    assert note.title == entry.title
    assert panel.config.app_name in receiver.registrations
    assert "Connection OK" in panel.status.value
    assert entry.source in rows(panel)[0]


@pytest.mark.asyncio
async def test_a_click_while_sending_is_ignored(panel, receiver):
    panel.title.value = "once"
    panel.send_button.click()
    first = panel.task
    panel.send_button.click()  # click() fires even on a disabled button
    panel.test_button.click()
    assert panel.task is first
    await first
    assert [n.title for n in receiver.wait_for(1)] == ["once"]
    assert len(panel.history) == 1


def test_without_a_running_loop_the_send_completes_in_the_click(panel, receiver):
    panel.title.value = "no loop"
    assert panel.send() is None
    assert receiver.wait_for(1)[0].title == "no loop"
    assert ">OK<" in rows(panel)[0]


@pytest.mark.asyncio
async def test_uploaded_icon_is_sent_as_its_bytes(panel, receiver):
    data = Path(DEFAULT_ICON).read_bytes()
    panel.title.value = "with upload"
    panel.upload.value = upload("logo.png", data)
    assert panel.problems() == []
    assert "logo.png" in panel._notes["icon"].value
    assert panel.icon.disabled  # the upload wins over the text field
    panel.send_button.click()
    assert (await panel.task).ok
    assert receiver.wait_for(1)[0].icon == data

    panel.clear_upload.click()
    assert panel.upload.value == ()
    assert not panel.icon.disabled


@pytest.mark.asyncio
async def test_icon_url_is_fetched_and_sent(panel, receiver, icon_server):
    path = f"/panel/{id(panel)}.png"
    panel.title.value = "with url"
    panel.icon.value = icon_server.url(path)
    panel.send_button.click()
    assert (await panel.task).ok
    assert receiver.wait_for(1)[0].icon == png(path)


@pytest.mark.asyncio
async def test_an_icon_that_cannot_be_fetched_is_reported_with_the_sent_text(
    panel, receiver, icon_server
):
    url = icon_server.url(f"/missing/{id(panel)}.png")
    panel.title.value = "icon 404"
    panel.icon.value = url
    panel.send_button.click()
    entry = await panel.task
    assert entry.ok and entry.warning
    assert receiver.wait_for(1)[0].icon is None
    assert "gntp-ok" in panel.status._dom_classes
    assert url in panel.status.value  # the detail line names the icon that was dropped
    [row] = rows(panel)
    assert ">OK<" in row and "⚠" in row


@pytest.mark.asyncio
async def test_icon_path_is_read_and_sent(panel, receiver):
    panel.title.value = "with path"
    panel.icon.value = DEFAULT_ICON
    assert panel.problems() == []
    panel.send_button.click()
    assert (await panel.task).ok
    assert receiver.wait_for(1)[0].icon == Path(DEFAULT_ICON).read_bytes()


# -- failures in the status line and the history ------------------------------------------


@pytest.mark.asyncio
async def test_refused_shows_in_status_and_history(closed_port):
    panel = make_panel("127.0.0.1", closed_port)
    panel.title.value = "nobody home"
    panel.send_button.click()
    entry = await panel.task
    assert not entry.ok
    assert entry.outcome == "refused"
    assert "refused" in panel.status.value
    assert "gntp-fail" in panel.status._dom_classes
    [row] = rows(panel)
    assert ">refused<" in row
    assert f"127.0.0.1:{closed_port}" in row

    # The shared back-off skips the next send; the panel says how to retry now.
    panel.send_button.click()
    skipped = await panel.task
    assert skipped.outcome.startswith("skipped")
    assert "Test connection" in panel.status.value
    panel.test_button.click()
    retried = await panel.task
    assert retried.outcome == "refused"
    assert len(rows(panel)) == 3


@pytest.mark.asyncio
async def test_timeout_shows_in_status_and_history(receiver_factory):
    silent = receiver_factory(mode="silent")
    panel = make_panel(silent.host, silent.port, timeout=0.3)
    panel.title.value = "into the void"
    panel.send_button.click()
    entry = await asyncio.wait_for(panel.task, 10)
    assert entry.outcome == "timeout"
    assert "timeout" in panel.status.value
    assert ">timeout<" in rows(panel)[0]


@pytest.mark.asyncio
async def test_server_error_shows_code_and_description(receiver_factory):
    guarded = receiver_factory(password="right horse")
    panel = make_panel(guarded.host, guarded.port)
    panel.password.value = "wrong horse"
    panel.title.value = "let me in"
    panel.send_button.click()
    entry = await panel.task
    assert not entry.ok
    rejection = guarded.rejections[-1]
    assert entry.outcome.startswith(f"server error {rejection.code}")
    assert str(rejection.code) in panel.status.value
    assert f"server error {rejection.code}" in rows(panel)[0]
    assert "wrong horse" not in panel.status.value + panel.history_table.value


# -- validation ---------------------------------------------------------------------


def test_empty_title_disables_send_and_says_why(panel):
    assert panel.title.value == ""
    assert panel.send_button.disabled
    assert "title" in panel.send_button.tooltip
    assert "title" in panel.reason.value
    assert "title" in panel._notes["title"].value
    assert panel._notes["title"].layout.display != "none"
    assert not panel.test_button.disabled  # the target itself is fine

    panel.title.value = "   "
    assert panel.send_button.disabled
    panel.title.value = "ok"
    assert not panel.send_button.disabled
    assert panel.reason.value == ""
    assert panel._notes["title"].layout.display == "none"


def test_clicking_a_disabled_send_sends_nothing(panel):
    panel.send_button.click()  # fires the handler although disabled
    assert panel.task is None
    assert len(panel.history) == 0
    assert "title" in panel.status.value


def test_bad_port_is_explained_and_the_config_keeps_its_value(panel, receiver):
    panel.title.value = "t"
    panel.port.value = 0
    assert panel.config.port == receiver.port
    assert "port" in panel._notes["port"].value
    assert panel.send_button.disabled
    assert panel.test_button.disabled
    assert "port" in panel.send_button.tooltip
    assert "port" in panel.test_button.tooltip
    panel.port.value = 70000
    assert panel.config.port == receiver.port
    panel.port.value = receiver.port + 1
    assert panel.config.port == receiver.port + 1
    assert panel._notes["port"].layout.display == "none"
    assert not panel.send_button.disabled


def test_empty_host_is_explained(panel, receiver):
    panel.title.value = "t"
    panel.host.value = "  "
    assert panel.config.host == receiver.host
    assert "host" in panel._notes["host"].value
    assert panel.send_button.disabled


def test_aes_with_md5_is_explained(panel):
    panel.title.value = "t"
    panel.password.value = "secret"
    panel.hash_algorithm.value = "MD5"
    panel.encryption.value = "AES"
    why = panel.config.check()
    assert why and "MD5" in why
    assert panel.problems() == [why]
    assert panel._notes["security"].value == why
    assert panel.send_button.disabled
    assert panel.test_button.disabled
    assert why in panel.send_button.tooltip
    panel.hash_algorithm.value = "SHA256"
    assert panel.problems() == []
    assert not panel.send_button.disabled


@pytest.mark.asyncio
async def test_encrypted_send_with_valid_settings_arrives(receiver_factory):
    guarded = receiver_factory(password="s3cret")
    panel = make_panel(guarded.host, guarded.port)
    panel.password.value = "s3cret"
    panel.hash_algorithm.value = "SHA256"
    panel.encryption.value = "AES"
    panel.title.value = "encrypted"
    assert panel.problems() == []
    panel.send_button.click()
    assert (await panel.task).ok
    assert guarded.wait_for(1)[0].title == "encrypted"


def test_unreadable_icons_are_explained(panel, tmp_path):
    panel.title.value = "t"
    panel.icon.value = str(tmp_path / "missing.png")
    assert "icon: could not read" in panel._notes["icon"].value
    assert panel.send_button.disabled

    text = tmp_path / "notes.txt"
    text.write_text("not a picture")
    panel.icon.value = str(text)
    assert "not an image" in panel._notes["icon"].value

    panel.icon.value = str(tmp_path)
    assert "a directory, not an image file" in panel._notes["icon"].value
    (tmp_path / "icon.png").write_bytes(png("panel file url"))
    panel.icon.value = f"file://{tmp_path}/icon.png"
    assert "icon" not in panel._errors  # the same rule as %notify -i: a file URL is a path

    panel.icon.value = "https://"
    assert "no host" in panel._notes["icon"].value
    panel.icon.value = "ftp://example.org/i.png"
    assert panel.send_button.disabled

    panel.icon.value = ""
    assert not panel.send_button.disabled

    panel.upload.value = upload("fake.png", b"<html>not an image</html>")
    assert "fake.png" in panel._notes["icon"].value
    assert "gntp-error" in panel._notes["icon"]._dom_classes
    assert panel.send_button.disabled
    panel.upload.value = upload("empty.png", b"")
    assert "empty" in panel._notes["icon"].value
    panel.upload.value = ()
    assert not panel.send_button.disabled


# -- one configuration, one history -------------------------------------------------


def test_target_fields_write_the_shared_config(panel):
    config = panel.config
    panel.host.value = "desktop.example"
    panel.port.value = 23054
    panel.password.value = "pw"
    panel.hash_algorithm.value = "SHA512"
    panel.encryption.value = "3DES"
    assert (config.host, config.port, config.password) == ("desktop.example", 23054, "pw")
    assert (config.hash_algorithm, config.encryption) == ("SHA512", "3DES")
    assert panel.password.value == ""  # taken, then emptied: not kept in the widget
    assert panel.password.placeholder == "set (hidden)"
    assert panel.clear_password.layout.display != "none"
    panel.clear_password.click()
    assert config.password is None  # ✕ means no password, as in the config
    assert panel.password.placeholder == "none"
    assert panel.clear_password.layout.display == "none"


def test_config_changes_show_in_the_panel(panel):
    config = panel.config
    config.host = "laptop.local"
    config.port = 9999
    config.password = "hunter2"
    config.hash_algorithm = "sha1"  # caseless in the config, canonical in the dropdown
    config.encryption = "des"
    assert panel.host.value == "laptop.local"
    assert panel.port.value == 9999
    assert panel.password.value == ""  # never shown, only said to be set
    assert panel.password.placeholder == "set (hidden)"
    assert panel.hash_algorithm.value == "SHA1"
    assert panel.encryption.value == "DES"
    config.password = None
    assert panel.password.value == ""
    assert panel.password.placeholder == "none"
    assert "password" in panel._notes["security"].value  # DES without a password

    config.event_types = ["Done", "Broke", "Note", "Extra"]
    assert list(panel.event.options) == ["Done", "Broke", "Note", "Extra"]
    assert panel.event.value == "Note"  # the old choice is gone: the message event


def test_a_config_change_clears_a_field_error(panel):
    panel.port.value = -1
    assert panel._notes["port"].layout.display != "none"
    panel.config.port = 1234
    assert panel.port.value == 1234
    assert panel._notes["port"].layout.display == "none"


def _states(widget) -> list[str]:
    """The synced state of ``widget`` and every widget inside it, as text."""
    found = [repr(widget.get_state())]
    for child in getattr(widget, "children", ()):
        found.extend(_states(child))
    return found


def test_the_password_never_reaches_widget_state(receiver):
    secret = "hunter2-Zq9!-panel"
    panel = make_panel(receiver.host, receiver.port, password=secret)
    try:
        assert panel.config.password == secret
        assert panel.password.placeholder == "set (hidden)"
        assert not any(secret in state for state in _states(panel.widget))

        panel.config.password = secret + "-via-config"
        assert not any("-via-config" in state for state in _states(panel.widget))

        panel.password.value = secret + "-typed"  # what the browser sends on Enter
        assert panel.config.password == secret + "-typed"
        assert not any("-typed" in state for state in _states(panel.widget))
    finally:
        panel.close()


def test_an_empty_password_field_keeps_the_configured_password(receiver):
    panel = make_panel(receiver.host, receiver.port, password="kept")
    try:
        assert panel.password.value == ""
        panel.title.value = "t"
        panel.host.value = "elsewhere.example"  # other edits leave the password alone
        assert panel.config.password == "kept"
        panel.clear_password.click()
        assert panel.config.password is None
    finally:
        panel.close()


def test_two_panels_on_one_notifier_stay_in_step(panel):
    other = NotificationPanel(panel.notifier)
    try:
        panel.host.value = "shared.example"
        assert other.host.value == "shared.example"
        other.port.value = 12345
        assert panel.port.value == 12345
    finally:
        other.close()


def test_host_spaces_are_trimmed_in_the_config_not_under_the_cursor(panel):
    panel.host.value = "typing.example "
    assert panel.config.host == "typing.example"
    assert panel.host.value == "typing.example "


@pytest.mark.asyncio
async def test_sends_from_elsewhere_appear_in_the_history(panel, receiver):
    panel.notifier.send("from the magic", source="magic")
    [row] = rows(panel)
    assert "from the magic" in row and ">magic<" in row and ">OK<" in row

    # A send from another thread is drawn on the loop's thread.
    panel.title.value = "panel first"
    panel.send_button.click()
    await panel.task
    drawn = threading.Event()
    redraws: list[int] = []
    panel.history_table.observe(lambda _c: redraws.append(threading.get_ident()), names="value")
    worker = threading.Thread(
        target=lambda: (panel.notifier.send("from a thread", source="thread"), drawn.set())
    )
    worker.start()
    while not drawn.is_set() or "from a thread" not in panel.history_table.value:
        await asyncio.sleep(0.01)
    worker.join()
    assert [n.title for n in receiver.wait_for(3)] == [
        "from the magic", "panel first", "from a thread"
    ]
    assert "from a thread" in rows(panel)[0]
    assert redraws == [threading.get_ident()]  # widgets are only touched on the loop's thread


def test_history_shows_the_last_rows_newest_first(receiver):
    notifier = Notifier(GNTPNotifier(host=receiver.host, port=receiver.port))
    for i in range(4):
        notifier.send(f"old {i}", source="magic")
    panel = NotificationPanel(notifier, rows=3)
    try:
        shown = rows(panel)
        assert len(shown) == 3
        assert "old 3" in shown[0] and "old 1" in shown[2]
        assert "old 0" not in panel.history_table.value
    finally:
        panel.close()


def test_titles_are_escaped_in_the_history(panel):
    panel.notifier.send("<b>bold</b> & co", source="magic")
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in rows(panel)[0]
    assert "<b>bold</b>" not in panel.history_table.value


def test_closed_panel_stops_following(panel):
    panel.close()
    before = panel.history_table.value
    panel.notifier.send("after close", source="magic")
    panel.config.host = "elsewhere.example"
    assert panel.history_table.value == before
    assert panel.host.value != "elsewhere.example"
    assert panel.widget.comm is None


def test_panel_displays_as_its_widget(panel):
    bundle = panel._repr_mimebundle_()
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == panel.widget.model_id
    assert "gntp-panel" in panel.widget._dom_classes


# -- with the real extension: %notify, %config, %notify_panel ------------------------


@pytest.fixture
def shell() -> Iterator[object]:
    """A fresh IPython shell with the extension loaded (no history database)."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryAccessor.enabled = False
    sh = InteractiveShell(config=config)
    sh.run_line_magic("load_ext", "gntp_jupyter")
    yield sh
    sh.run_line_magic("unload_ext", "gntp_jupyter")


def test_magics_and_panel_share_one_config_and_one_history(shell, receiver):
    import gntp_jupyter

    panel = gntp_jupyter.panel(shell)
    try:
        assert panel.notifier is gntp_jupyter.get_notifier(shell)
        # The panel points %notify at the receiver ...
        panel.host.value = receiver.host
        panel.port.value = receiver.port
        shell.run_line_magic("notify", '-t "From the magic" sent by %notify')
        [note] = receiver.wait_for(1)
        assert note.title == "From the magic"
        # ... and what %notify sent is in the panel's history.
        [row] = rows(panel)
        assert "From the magic" in row and ">OK<" in row and receiver.address in row
        # %config changes the panel.
        shell.run_line_magic("config", "GNTPNotifier.port = 1234")
        assert panel.port.value == 1234
        shell.run_line_magic("config", 'GNTPNotifier.host = "elsewhere.example"')
        assert panel.host.value == "elsewhere.example"
    finally:
        panel.close()


def test_notify_panel_magic_displays_a_panel(shell, capsys):
    import gntp_jupyter

    config = gntp_jupyter.get_notifier(shell).config
    config.host = "panel.example"
    shell.run_line_magic("notify_panel", "")
    # No widget frontend here: IPython prints the panel's text form, which names the target.
    out = capsys.readouterr().out
    assert "NotificationPanel" in out and f"panel.example:{config.port}" in out
