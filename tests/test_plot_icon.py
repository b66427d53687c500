"""The last image a cell displayed as its notification icon (gntp_jupyter.plot_icon)."""

from __future__ import annotations

import base64
import io
import random
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageStat
from test_batch import kernel_for, queue, settle
from test_kernel import execute

from gntp_jupyter.demo import tiny_png
from gntp_jupyter.gntp.receiver import ReceiverThread
from gntp_jupyter.plot_icon import MAX_BYTES, MAX_SIDE, ImageCapture, thumbnail


def png_of(width: int, height: int, colour: tuple[int, int, int] = (200, 30, 30),
           noise: bool = False) -> bytes:
    img = Image.new("RGB", (width, height), colour)
    if noise:
        rnd = random.Random(1)
        img.putdata([tuple(rnd.randrange(256) for _ in range(3)) for _ in range(width * height)])
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def size_of(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as img:
        return img.size


# -- thumbnails -----------------------------------------------------------------------


def test_thumbnail_keeps_the_aspect_ratio_within_256_px() -> None:
    data = png_of(1200, 600)
    small = thumbnail(base64.b64encode(data).decode())  # as a display message carries it
    assert small is not None and small.startswith(b"\x89PNG")
    assert size_of(small) == (MAX_SIDE, MAX_SIDE // 2)
    assert size_of(thumbnail(png_of(100, 40)) or b"") == (100, 40)  # never enlarged


def test_thumbnail_is_capped_in_bytes() -> None:
    noisy = png_of(600, 600, noise=True)
    assert len(noisy) > MAX_BYTES
    small = thumbnail(noisy)
    assert small is not None and len(small) <= MAX_BYTES
    assert max(size_of(small)) < MAX_SIDE  # it had to shrink further to fit
    assert thumbnail(noisy, max_bytes=500) is None  # cannot fit at all: no icon


def test_without_pillow_the_original_within_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    noisy = png_of(600, 600, noise=True)
    monkeypatch.setitem(sys.modules, "PIL", None)  # import PIL now raises ImportError
    small = tiny_png()
    assert thumbnail(small) == small
    assert thumbnail(noisy) is None


@pytest.mark.parametrize("junk", [b"GIF89a...", "not base64 at all!", b"\x89PNG\r\n\x1a\nbroken",
                                  ""])
def test_anything_else_is_no_icon(junk: Any) -> None:
    assert thumbnail(junk) is None


# -- the hook ---------------------------------------------------------------------------


def test_capture_keeps_the_last_image_and_passes_messages_through() -> None:
    capture = ImageCapture()
    start = capture.serial
    text = {"content": {"data": {"text/plain": "hi"}}}
    assert capture.hook(text) is text
    assert capture.since(start) is None
    for image in ("first", "second"):
        msg = {"content": {"data": {"image/png": image, "text/plain": "<Figure>"}}}
        assert capture.hook(msg) is msg
    assert capture.since(start) == "second"
    assert capture.since(capture.serial) is None  # nothing newer than now
    odd = {"content": None}
    assert capture.hook(odd) is odd  # never raises into the display path


def test_terminal_ipython_has_no_hook(shell) -> None:
    assert ImageCapture().attach(shell) is False


# -- in a real kernel -------------------------------------------------------------------


@pytest.fixture
def plot_kernel(receiver: ReceiverThread) -> Iterator[Any]:
    with kernel_for(receiver, "%load_ext gntp_jupyter\n%matplotlib inline\n"
                              "import matplotlib.pyplot as plt\n") as kc:
        yield kc


def displayed_pngs(messages: list[dict]) -> list[bytes]:
    return [base64.b64decode(m["content"]["data"]["image/png"]) for m in messages
            if m["msg_type"] in ("display_data", "execute_result")
            and "image/png" in m["content"]["data"]]


def assert_thumbnail_of(icon: bytes | None, shown: bytes) -> None:
    assert icon is not None and icon.startswith(b"\x89PNG")
    with Image.open(io.BytesIO(icon)) as small, Image.open(io.BytesIO(shown)) as big:
        assert max(small.size) <= MAX_SIDE < max(big.size)
        assert abs(small.width / small.height - big.width / big.height) < 0.02
        expected = big.convert("RGB").resize(small.size, Image.Resampling.LANCZOS)
        diff = ImageStat.Stat(ImageChops.difference(small.convert("RGB"), expected)).mean
        assert max(diff) < 4, diff  # the same picture, not just the same size


PLOTS = (
    "%%notify_when_done -t plotted\n"
    "plt.figure(facecolor='red'); plt.plot([1, 3, 2]); plt.show()\n"
    "plt.figure(figsize=(8, 3), facecolor='#1f77b4'); plt.plot([3, 1, 2])\n"
)


def test_the_last_plot_of_a_cell_is_its_icon(plot_kernel, receiver: ReceiverThread) -> None:
    reply, messages = execute(plot_kernel, PLOTS)
    assert reply["content"]["status"] == "ok"
    _, last = displayed_pngs(messages)  # the inline backend showed both figures
    got = receiver.wait_for(1)[0]
    assert got.title == "plotted"
    assert_thumbnail_of(got.icon, last)
    print(f"figure {len(last)} bytes {size_of(last)} -> icon {len(got.icon or b'')} bytes "
          f"{size_of(got.icon or b'')}")


def test_an_image_as_the_cell_value_is_the_icon(plot_kernel, receiver: ReceiverThread) -> None:
    reply, messages = execute(plot_kernel, (
        "%%notify_when_done\nfrom IPython.display import Image\nimport io\n"
        "fig = plt.figure(figsize=(6, 6)); plt.imshow([[0, 1], [1, 0]])\n"
        "buf = io.BytesIO(); fig.savefig(buf, format='png'); plt.close(fig)\n"
        "Image(buf.getvalue())\n"))
    assert reply["content"]["status"] == "ok"
    assert [m["msg_type"] for m in messages if m["msg_type"] == "execute_result"] == [
        "execute_result"]
    (shown,) = displayed_pngs(messages)
    assert_thumbnail_of(receiver.wait_for(1)[0].icon, shown)


def test_a_batch_uses_its_last_plot(plot_kernel, receiver: ReceiverThread) -> None:
    execute(plot_kernel, "%autonotify --after 0")
    ids_messages = queue(plot_kernel, [PLOTS.split("\n", 1)[1], "x = 1", "y = 2"])
    assert [r["content"]["status"] for r in ids_messages] == ["ok"] * 3
    (got,) = settle(receiver, 1)
    assert got.title == "3 cells finished"
    assert got.icon is not None and size_of(got.icon)[0] == MAX_SIDE  # the wide 8x3 figure


def test_plot_icon_off(plot_kernel, receiver: ReceiverThread) -> None:
    execute(plot_kernel, "%config GNTPNotifier.plot_icon = False")
    _, messages = execute(plot_kernel, PLOTS)
    assert len(displayed_pngs(messages)) == 2
    got = receiver.wait_for(1)[0]
    assert got.title == "plotted" and got.icon is None
