"""Sender text on a terminal and in a bubble: controls never pass raw."""

from __future__ import annotations

import pytest

from gntp_jupyter.desktop.console import describe
from gntp_jupyter.desktop.text import for_desktop, for_terminal
from gntp_jupyter.gntp.headers import Headers
from gntp_jupyter.gntp.records import Notification, Rejection


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain ✓ 完了", "plain ✓ 完了"),
        ("\x1b[2Jclear", "\\x1b[2Jclear"),
        ("bell\x07", "bell\\x07"),
        ("csi\x9b", "csi\\x9b"),
        ("nul\x00", "nul\\x00"),
        ("\u202eevil", "\\u202eevil"),
        ("two\nlines\tand a tab", "two ⏎ lines and a tab"),
    ],
)
def test_terminal_text_escapes_every_control(text, shown):
    assert for_terminal(text) == shown


def test_desktop_text_keeps_newlines_and_marks_controls():
    assert for_desktop("a\nb\tc\x1b[0m\x00") == "a\nb\tc\ufffd[0m\ufffd"


def test_describe_escapes_every_sender_field():
    n = Notification(
        application="App\x1b]0;x\x07", name="done", title="T\x1b[31m", text="x\x07y",
        icon=None, headers=Headers(), id=None, sticky=False, priority=0,
        callback_target=None, coalescing_id=None, icon_url="http://h/\x1b",
        peer="127.0.0.1:1",
    )
    r = Rejection(300, "bad \x1b[1m header", "NOTIFY", "127.0.0.1:2")
    for line in (describe(n), describe(r)):
        assert "\x1b" not in line and "\x07" not in line
    assert "T\\x1b[31m" in describe(n) and "bad \\x1b[1m header" in describe(r)
