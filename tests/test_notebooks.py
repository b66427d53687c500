"""notebooks/quickstart.ipynb runs top to bottom in a real kernel and everything arrives."""

from __future__ import annotations

import io
import re

import pytest

from gntp_jupyter.demo import QUICKSTART, run_notebook
from gntp_jupyter.gntp.receiver import ReceiverThread

pytestmark = pytest.mark.kernel


def outputs(nb, kind: str, **match) -> list[dict]:
    return [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])
            if o["output_type"] == kind and all(o.get(k) == v for k, v in match.items())]


def test_quickstart_notebook(receiver: ReceiverThread) -> None:
    pytest.importorskip("nbclient")
    nb = run_notebook(QUICKSTART, receiver.host, receiver.port, timeout=120)

    got = receiver.notifications
    assert {n.application for n in got} == {"Jupyter quickstart"}
    assert list(receiver.registrations["Jupyter quickstart"].events) == [
        "Cell finished", "Cell failed", "Message"]
    rows = [(n.name, n.title, n.text) for n in got]
    assert rows[0] == ("Message", "gntp_jupyter test", "If you can read this, notifications work.")
    assert rows[1][0::2] == ("Message", "Hello from the quickstart notebook")
    assert rows[2:5] == [("Message", "Training", f"step {i} of 3, {3 - i} to go")
                         for i in (1, 2, 3)]
    assert {n.coalescing_id for n in got[2:5]} == {"progress"}
    name, title, text = rows[5]
    assert name == "Cell finished" and re.fullmatch(r"In \[\d+\] finished", title)
    assert text.endswith("→ 499999500000")
    assert rows[6][:2] == ("Cell failed", "Quickstart: failed")
    assert rows[6][2].splitlines()[:2] == ["KeyError: 'columns'", 'line 3: data["columns"]']
    assert re.fullmatch(r"loss 0\.031 after \d+\.\d+ s", rows[7][2])
    # --only-fail on a quick success sent nothing; %autonotify caught the slow cell.
    assert rows[8][0] == "Cell finished" and rows[8][2].endswith("→ 'slow cell done'")
    assert rows[9] == ("Message", "From Python", "same settings, same history")
    assert len(rows) == 10

    assert outputs(nb, "stream", name="stderr") == []  # no warnings: every send worked
    (error,) = outputs(nb, "error")
    assert error["ename"] == "KeyError"
    shown = "".join(o["text"] for o in outputs(nb, "stream", name="stdout"))
    assert f"port                  {receiver.port}   (from GNTP_PORT)" in shown
    assert re.search(r"test notification delivered to .*: round trip \d+\.\d ms", shown)
    assert "autonotify on" in shown and "autonotify off" in shown
    widgets = [o for o in outputs(nb, "display_data")
               if "application/vnd.jupyter.widget-view+json" in o["data"]]
    assert widgets, "%notify_panel displayed no widget"
    last = outputs(nb, "execute_result")[-1]["data"]["text/plain"]
    assert last == "(True, 'OK')"


TOUR = QUICKSTART.with_name("tour.ipynb")


def test_tour_notebook(receiver: ReceiverThread) -> None:
    pytest.importorskip("nbclient")
    from PIL import Image

    nb = run_notebook(TOUR, receiver.host, receiver.port, timeout=120)

    got = receiver.notifications
    assert {n.application for n in got} == {"Jupyter tour"}
    # 1. Run All: three cells are one notification, with the plot as its icon.
    run, failure, evaluation, *rest = got
    assert (run.name, run.title) == ("Cell finished", "3 cells finished")
    assert re.fullmatch(r"3 cells \(In \[3\]–\[5\]\) in \d\.\d+ s\nslowest: In \[[34]\], \d\.\d+ s",
                        run.text)
    assert run.icon is not None
    with Image.open(io.BytesIO(run.icon)) as icon:
        assert icon.format == "PNG" and max(icon.size) == 256
    # ... a failure ends its run at once and names its cell; %%notify_when_done has its own.
    assert (failure.name, failure.title) == ("Cell failed", "In [9] failed")
    assert failure.text.startswith("IndexError: list index out of range\nline 1: rows[10]")
    assert "cell 2 of this run (In [8]–[9])" in failure.text
    assert evaluation.title == "Evaluation finished" and evaluation.icon is not None
    # 2. Progress: one coalescing id per tqdm bar, ending with "done"; then %notify --id.
    bar = [n for n in rest if n.title == "train"]
    assert len(bar) >= 2 and len({n.coalescing_id for n in bar}) == 1
    assert bar[-1].text.startswith("train: done · 100/100 in ")
    assert [(n.coalescing_id, n.text) for n in rest[len(bar):]] == [
        ("epochs", f"epoch {i} of 3 done, {3 - i} to go") for i in (1, 2, 3)]
    # 3. No Jupyter server runs this notebook: no callback target.
    assert {n.callback_target for n in got} == {None}

    assert outputs(nb, "stream", name="stderr") == []  # every send worked
    (error,) = outputs(nb, "error")
    assert error["ename"] == "IndexError"
