"""gntp_jupyter.tqdm: a tqdm bar that keeps one desktop notification up to date."""

from __future__ import annotations

import importlib
import sys
import time

import pytest
from test_batch import kernel_for
from test_kernel import execute

from gntp_jupyter.config import GNTPNotifier
from gntp_jupyter.gntp.receiver import ReceiverThread
from gntp_jupyter.notifier import Notifier
from gntp_jupyter.tqdm import progress_text, tqdm, trange


def test_progress_text() -> None:
    assert progress_text("train", 450, 1000, 109, 450 / 109) == "train: 45% · 450/1000 · 02:13 left"
    assert progress_text(None, 7, None, 65, 0.1) == "7 it · 01:05 elapsed"
    assert progress_text("t", 199, 200, 1, 200.0).startswith("t: 99% · 199/200")
    assert progress_text("t", 1999, 2000, 1, 200.0).startswith("t: 99% · 1999/2000")
    # As tqdm's bar shows the same count:
    assert progress_text("brk", 2, 30, 1, 2.0, state="stopped").startswith(
        "brk: stopped at 7% · 2/30")
    assert progress_text("train", 1000, 1000, 266, 3.8, state="done") == (
        "train: done · 1000/1000 in 04:26")
    assert progress_text("eval", 3, 10, 2, 1.5, state="stopped", error="ValueError: x") == (
        "eval: stopped at 30% · 3/10 after 00:02 — ValueError: x")
    assert progress_text("", 2.5, None, 1, None, state="stopped") == "stopped at 2.5 it after 00:01"


def notifier_for(receiver: ReceiverThread, **settings: object) -> Notifier:
    return Notifier(GNTPNotifier(host=receiver.host, port=receiver.port, **settings))


def test_a_loop_updates_one_notification(receiver: ReceiverThread) -> None:
    bar = trange(200, desc="train", notify_interval=0.05, notifier=notifier_for(receiver),
                 file=sys.stdout)
    for _ in bar:
        time.sleep(0.004)
    assert bar.wait_sent(10)
    got = receiver.notifications
    assert len(got) >= 4, [n.text for n in got]
    assert {n.coalescing_id for n in got} == {bar.coalescing_id}
    assert {n.title for n in got} == {"train"}
    *progress, last = got
    assert all(" left" in n.text and n.text.startswith("train: ") for n in progress)
    percents = [int(n.text.split()[1].rstrip("%")) for n in progress]
    assert percents == sorted(percents) and percents[-1] < 100
    assert last.text.startswith("train: done · 200/200 in 00:0")


def test_each_bar_has_its_own_id_and_early_ends_say_so(receiver: ReceiverThread) -> None:
    notifier = notifier_for(receiver)
    bar = tqdm(range(100), desc="b", notifier=notifier, file=sys.stdout)
    for i in bar:
        if i == 40:
            break
    assert bar.wait_sent(10)
    with pytest.raises(ValueError), tqdm(total=10, desc="c", notifier=notifier,
                                         file=sys.stdout) as manual:
        manual.update(3)
        raise ValueError("boom")
    assert manual.wait_sent(10)
    endless = tqdm(iter(range(50)), desc="d", notifier=notifier, file=sys.stdout)
    for i in endless:
        if i == 3:
            break
    assert endless.wait_sent(10)
    got = receiver.wait_for(3)
    assert [n.text.split(" after ")[0] for n in got] == [
        "b: stopped at 40% · 40/100", "c: stopped at 30% · 3/10", "d: stopped at 3 it"]
    assert got[1].text.endswith(" — ValueError: boom")
    assert len({n.coalescing_id for n in got}) == 3


def test_sends_never_slow_the_loop(receiver_factory) -> None:
    hole = receiver_factory(mode="silent")  # reads, never answers: each send waits 1 s
    notifier = Notifier(GNTPNotifier(host=hole.host, port=hole.port, timeout=1.0))
    start = time.perf_counter()
    bar = trange(40, notify_interval=0, notifier=notifier, file=sys.stdout)
    for _ in bar:
        time.sleep(0.005)
    loop_time = time.perf_counter() - start
    assert loop_time < 0.9, loop_time  # a send on the iteration path would take >= 1 s
    assert bar.wait_sent(10)  # and the sender gives up within its timeout
    assert all(not e.ok for e in notifier.history.entries())
    # Only the newest message waits behind a send: a few attempts, not one per step.
    assert len(notifier.history.entries()) <= 3


def test_disabled_bar_sends_nothing(receiver: ReceiverThread) -> None:
    for _ in trange(20, disable=True, notify_interval=0, notifier=notifier_for(receiver)):
        pass
    time.sleep(0.3)
    assert receiver.connections == 0


def test_without_tqdm_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "tqdm" or m.startswith("tqdm.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.delitem(sys.modules, "gntp_jupyter.tqdm")
    with pytest.raises(ImportError, match=r'pip install "gntp_jupyter\[progress\]"'):
        importlib.import_module("gntp_jupyter.tqdm")
    monkeypatch.undo()
    assert importlib.import_module("gntp_jupyter.tqdm").tqdm is tqdm


def test_in_a_kernel(receiver: ReceiverThread) -> None:
    with kernel_for(receiver, "%load_ext gntp_jupyter") as kc:
        reply, messages = execute(kc, (
            "import time\nfrom gntp_jupyter.tqdm import trange\n"
            "bar = trange(200, desc='train', notify_interval=0.05)\n"
            "for step in bar:\n    time.sleep(0.004)\n"
            "bar.wait_sent(10)\n"))
        assert reply["content"]["status"] == "ok"
    widgets = [m for m in messages if m["msg_type"] == "display_data"
               and "application/vnd.jupyter.widget-view+json" in m["content"]["data"]]
    assert widgets, "no notebook progress bar was displayed"
    got = receiver.notifications
    assert len(got) >= 3 and len({n.coalescing_id for n in got}) == 1
    assert got[-1].text.startswith("train: done · 200/200")
