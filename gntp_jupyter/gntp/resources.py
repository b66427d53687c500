"""Binary resources: icons sent inside the message instead of as URLs.

Servers disagree on URL icons (Growl 1.3 ignores them), so the portable way to show
an icon is to send its bytes; a resource is identified by a digest of its content so
that a server caching by identifier never shows a stale picture.
"""

from __future__ import annotations

import hashlib
import os

from .exceptions import GNTPResourceError, GNTPValidationError

__all__ = ["Icon", "Resource", "image_type"]

RESOURCE_SCHEME = "x-growl-resource://"


class Resource:
    """Bytes to send as a binary section: ``Resource(b"...")`` or ``Resource("icon.png")``.

    A ``str`` or path-like argument is a file path, read at once so that a missing file
    fails here with a clear message rather than later on the wire.
    """

    __slots__ = ("_data", "source")

    def __init__(self, source: bytes | str | os.PathLike[str] | None = None) -> None:
        self.source: str | None = None
        self._data: bytes | None = None
        if source is None:
            return
        if isinstance(source, (bytes, bytearray, memoryview)):
            self._data = bytes(source)
        elif isinstance(source, (str, os.PathLike)):
            self.source = os.fspath(source)
            try:
                with open(self.source, "rb") as fh:
                    self._data = fh.read()
            except OSError as exc:
                raise GNTPResourceError(self.source, exc.strerror or str(exc)) from exc
        else:
            raise GNTPValidationError(
                f"a Resource takes bytes or a file path, not {type(source).__name__}"
            )

    @property
    def data(self) -> bytes | None:
        """The bytes to send, or None when there are none (yet)."""
        return self._data

    @property
    def unique_id(self) -> str:
        """A hex id derived from the content (MD5 is what servers customarily see)."""
        if self._data is None:
            raise GNTPValidationError(f"{self!r} has no data to send")
        return hashlib.md5(self._data, usedforsecurity=False).hexdigest()

    def __repr__(self) -> str:
        size = "no data" if self._data is None else f"{len(self._data)} bytes"
        where = f" from {self.source!r}" if self.source else ""
        return f"<{type(self).__name__}{where}, {size}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Resource):
            return NotImplemented
        return self._data == other._data

    def __hash__(self) -> int:
        return hash(self._data)


#: What an ``icon=`` argument accepts: a URL (sent as is), a :class:`Resource`, or None.
Icon = str | Resource | None


_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)


def image_type(data: bytes) -> str | None:
    """PNG, JPEG, GIF, BMP, ICO, TIFF or WebP by magic number; None for anything else.

    One check for every icon source (URL, file, upload), so they accept the same formats.
    A Content-Type is not trusted: error pages are often served as image/png. BMP needs
    its 26-byte header, WebP its 12-byte RIFF header: pass at least 32 leading bytes.
    """
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    if data[:2] == b"BM" and len(data) >= 26:
        return "BMP"
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    return None
