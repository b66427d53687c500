"""Binary resources: icons sent inside the message instead of as URLs.

Servers disagree on URL icons (Growl 1.3 ignores them), so the portable way to show
an icon is to send its bytes; a resource is identified by a digest of its content so
that a server caching by identifier never shows a stale picture.
"""

from __future__ import annotations

import hashlib
import os
from urllib.parse import SplitResult, unquote, urlsplit

from .exceptions import GNTPResourceError, GNTPValidationError

__all__ = [
    "IMAGE_FORMATS",
    "MAX_ICON_BYTES",
    "Icon",
    "Resource",
    "check_icon",
    "check_image",
    "icon_path",
    "image_type",
    "read_icon",
]

RESOURCE_SCHEME = "x-growl-resource://"
#: Largest icon accepted, from a file or a URL: a bigger one is refused before it is read.
MAX_ICON_BYTES = 4 * 1024 * 1024
IMAGE_FORMATS = "a PNG, JPEG, GIF, BMP, ICO, TIFF or WebP image"


class Resource:
    """Bytes to send as a binary section: ``Resource(b"...")`` or ``Resource("icon.png")``.

    A ``str`` or path-like argument is an image file (a path, ``~`` expanded, or a
    ``file://`` URL), read and checked at once by :func:`read_icon`, so that a missing
    file, a directory or a file that is not an image fails here with a clear
    :class:`GNTPResourceError`. An ``http(s)://`` URL is fetched by
    :class:`~.async_gntp.AsyncResource` instead. Bytes are sent as given.
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
            self._data = read_icon(self.source)
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


def check_image(data: bytes, where: str, detail: str = "") -> bytes:
    """``data`` if it is an image :func:`image_type` knows; else GNTPResourceError
    (``detail``, such as the Content-Type, goes into its message)."""
    if image_type(data[:32]) is None:
        raise GNTPResourceError(
            where, f"not an image ({detail}first bytes {data[:8]!r}; {IMAGE_FORMATS} "
            "is expected)"
        )
    return data


def _url_parts(text: str) -> SplitResult:
    """``urlsplit``, with its ValueError ("http://[") as the icon error every caller handles."""
    try:
        return urlsplit(text)
    except ValueError as exc:
        raise GNTPResourceError(text, f"not a valid URL ({exc})") from None


def icon_path(spec: str | os.PathLike[str]) -> str:
    """The file an icon spec names: a path (``~`` expanded) or a ``file://`` URL.

    An ``http(s)://`` URL raises GNTPResourceError pointing to AsyncResource.
    """
    text = os.fspath(spec)
    parts = _url_parts(text)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        raise GNTPResourceError(
            text, "a URL, not a file: use AsyncResource(url), which fetches it"
        )
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise GNTPResourceError(text, "a file:// URL must name a file on this machine")
        return unquote(parts.path)
    return os.path.expanduser(text)


def read_icon(spec: str | os.PathLike[str], *, max_size: int = MAX_ICON_BYTES) -> bytes:
    """The bytes of the image file ``spec`` names (see :func:`icon_path`).

    The one check every icon source shares — ``-i``, ``GNTPNotifier.icon``, the panel,
    :class:`Resource` and (for fetched bytes) ``AsyncResource``: GNTPResourceError when
    the file is missing, a directory, larger than ``max_size`` or not an image.
    """
    path = icon_path(spec)
    try:
        if os.path.isdir(path):
            raise GNTPResourceError(path, "a directory, not an image file")
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > max_size:
                raise GNTPResourceError(path, f"too large ({size} bytes, over {max_size})")
            data = fh.read(max_size + 1)
    except OSError as exc:
        raise GNTPResourceError(path, exc.strerror or str(exc)) from exc
    if len(data) > max_size:
        raise GNTPResourceError(path, f"too large (over {max_size} bytes)")
    return check_image(data, path)


def check_icon(spec: str | os.PathLike[str] | None) -> Resource | str | None:
    """The icon a spec names, checked: the validator behind ``-i``, ``GNTPNotifier.icon``
    and the panel's icon field.

    Empty or None: no icon (None). An ``http(s)://`` URL with a host: the URL, to fetch
    when sending. A file path or ``file://`` URL: a :class:`Resource` holding the file,
    read and checked by :func:`read_icon`. Anything else raises GNTPResourceError, whose
    ``cause`` says what an icon may be.
    """
    if spec is None:
        return None
    text = os.fspath(spec).strip()
    if not text:
        return None
    parts = _url_parts(text)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        if not parts.hostname:
            raise GNTPResourceError(text, "the URL has no host")
        return text
    if "://" in text and scheme != "file":
        raise GNTPResourceError(
            text, "an icon is an http(s) URL, a file:// URL or a file path on the kernel's "
            "machine"
        )
    return Resource(text)
