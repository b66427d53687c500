"""The last image a cell displayed, as its notification's icon.

In a kernel, :class:`ImageCapture` sits on IPython's display publisher
(``shell.display_pub.register_hook``) and, where ipykernel offers it (7.3+), on the
displayhook (a figure returned as the cell's value is an ``execute_result``). It only
keeps a reference to the last ``image/png`` it saw and counts images, so a cell
without images pays one dict lookup per display message and nothing else: the figure
is never re-rendered (the inline backend has closed it by the time the cell ends) and
the thumbnail is made only when a notification is sent.

:func:`thumbnail` makes the icon: at most :data:`MAX_SIDE` pixels on the longest side
and :data:`MAX_BYTES` bytes, with Pillow when it is importable (matplotlib depends on
it); without Pillow the original PNG if it fits the byte cap; otherwise no icon.
Terminal IPython has no display hooks: there, notifications keep the application icon.
"""

from __future__ import annotations

import base64
import binascii
import io
from typing import Any

__all__ = ["MAX_BYTES", "MAX_SIDE", "ImageCapture", "icon_resource", "thumbnail"]

#: Longest side of an icon, in pixels.
MAX_SIDE = 256
#: Largest icon sent, in bytes (a 256 px plot is typically 10–40 kB).
MAX_BYTES = 96 * 1024
#: Images with more pixels than this are not decoded (a decompression bomb guard).
_MAX_PIXELS = 40_000_000
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class ImageCapture:
    """Remembers the last ``image/png`` published, and how many were.

    ``serial`` grows by one per image; a cell records it when it starts, and
    :meth:`since` then gives the cell's own last image (nested cells cannot steal it).
    """

    def __init__(self) -> None:
        self.serial = 0
        self._last: str | bytes | None = None
        self._attached: list[Any] = []

    def hook(self, msg: Any) -> Any:
        """A display hook: note an image, return the message untouched. Never raises."""
        try:
            data = msg["content"]["data"]
            image = data.get("image/png")
        except Exception:
            return msg
        if image:
            self._last = image
            self.serial += 1
        return msg

    def since(self, serial: int) -> str | bytes | None:
        """The last image (base64 text or bytes) if one came after ``serial``, else None."""
        return self._last if self.serial > serial else None

    def attach(self, shell: Any) -> bool:
        """Register on the shell's display publisher and displayhook where possible.

        Returns whether any hook was registered (False in terminal IPython). ipykernel's
        hooks are per thread: this must run on the thread that runs cells.
        """
        for target in (getattr(shell, "display_pub", None), getattr(shell, "displayhook", None)):
            register = getattr(target, "register_hook", None)
            if register is not None and target not in self._attached:
                register(self.hook)
                self._attached.append(target)
        return bool(self._attached)

    def detach(self) -> None:
        for target in self._attached:
            unregister = getattr(target, "unregister_hook", None)
            if unregister is not None:
                unregister(self.hook)
        self._attached.clear()
        self._last = None


def _decode(image: str | bytes) -> bytes | None:
    if isinstance(image, str):
        try:
            data = base64.b64decode(image, validate=False)
        except (binascii.Error, ValueError):
            return None
    else:
        data = bytes(image)
    return data if data.startswith(_PNG_SIGNATURE) else None


def thumbnail(image: str | bytes, *, max_side: int = MAX_SIDE,
              max_bytes: int = MAX_BYTES) -> bytes | None:
    """A PNG of at most ``max_side`` px and ``max_bytes`` bytes from ``image``, or None.

    ``image`` is a PNG as bytes or as the base64 text of a display message. Never raises.
    """
    data = _decode(image)
    if data is None:
        return None
    try:
        from PIL import Image
    except ImportError:
        return data if len(data) <= max_bytes else None
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > _MAX_PIXELS:
                return None
            img.load()
            side = max_side
            while side >= 32:
                small = img.copy()
                small.thumbnail((side, side), Image.Resampling.LANCZOS)
                out = io.BytesIO()
                small.save(out, format="PNG", optimize=True)
                if out.tell() <= max_bytes:
                    return out.getvalue()
                side //= 2  # noisy images: smaller until it fits
    except Exception:  # a broken PNG must not cost the notification
        return None
    return None


def icon_resource(image: str | bytes | None) -> Any:
    """A GNTP binary Resource with the thumbnail of ``image``, or None."""
    if image is None:
        return None
    png = thumbnail(image)
    if png is None:
        return None
    from .gntp.resources import Resource

    return Resource(png)
