"""Icons as files, because desktop notification services take a path, not bytes.

Binary resources are written to a private folder (mode 0700) under names derived from
their content (SHA-256), never from anything the sender wrote. The folder is bounded:
past ``max_bytes`` (each file counted as at least a disk block) or ``max_files`` the least
recently used files go. URL icons are fetched once, with a
timeout and a size cap, on the running loop; a failure means no icon, never an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
from collections import OrderedDict
from pathlib import Path

from ..gntp.async_gntp import AsyncResource
from ..gntp.exceptions import GNTPError
from ..gntp.resources import image_type

__all__ = ["IconStore", "default_folder"]

log = logging.getLogger(__name__)

_BLOCK = 4096  # a file costs at least a disk block, whatever its size


def _charge(size: int) -> int:
    return max(size, _BLOCK)


_SUFFIX = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "ICO": ".ico", "TIFF": ".tiff",
           "BMP": ".bmp", "WebP": ".webp"}  # fmt: skip


def default_folder() -> Path:
    """``$XDG_CACHE_HOME/gntp-receiver/icons`` (``~/.cache/...`` when unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gntp-receiver" / "icons"


class IconStore:
    """A bounded, content-addressed folder of icon files.

    ``max_bytes``: the folder's size cap. ``fetch_timeout`` and ``max_fetch_bytes``
    bound each URL fetch.
    """

    def __init__(
        self, folder: Path | None = None, *, max_bytes: int = 32 * 1024 * 1024,
        max_files: int = 2048, fetch_timeout: float = 5.0, max_fetch_bytes: int = 1024 * 1024,
    ) -> None:
        self.folder = Path(folder) if folder is not None else default_folder()
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.fetch_timeout = fetch_timeout
        self.max_fetch_bytes = max_fetch_bytes
        # name -> bytes charged, least recently used first: read from disk once, then kept
        # up to date, so a new icon costs O(1) and never a scan of the folder.
        self._index: OrderedDict[str, int] | None = None
        self._charged = 0

    def __repr__(self) -> str:
        return f"<IconStore {self.folder} max {self.max_bytes} bytes, {self.max_files} files>"

    def _prepare(self) -> OrderedDict[str, int]:
        if self._index is None:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.folder.chmod(0o700)  # exist_ok keeps an older mode
            found = []
            for entry in os.scandir(self.folder):
                with contextlib.suppress(OSError):
                    if entry.is_file(follow_symlinks=False):
                        st = entry.stat(follow_symlinks=False)
                        found.append((st.st_mtime, entry.name, _charge(st.st_size)))
            self._index = OrderedDict((name, size) for _, name, size in sorted(found))
            self._charged = sum(self._index.values())
        return self._index

    def path_for(self, data: bytes | None) -> Path | None:
        """A file holding ``data``, or None when it is not an image or cannot be written."""
        if not data or len(data) > self.max_bytes:
            return None
        kind = image_type(data[:32])
        if kind is None:
            return None
        name = hashlib.sha256(data).hexdigest()[:40] + _SUFFIX[kind]
        path = self.folder / name
        try:
            index = self._prepare()
            if name in index and path.exists():
                index.move_to_end(name)
                return path
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".incoming-")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("icon store: cannot write %s: %s", path, exc)
            return None
        self._charged += _charge(len(data)) - index.pop(name, 0)
        index[name] = _charge(len(data))
        self._evict(index, keep=name)
        return path

    def _evict(self, index: OrderedDict[str, int], keep: str) -> None:
        while len(index) > 1 and (self._charged > self.max_bytes or len(index) > self.max_files):
            name, size = next(iter(index.items()))
            if name == keep:
                break
            del index[name]
            self._charged -= size
            with contextlib.suppress(OSError):
                os.unlink(self.folder / name)

    async def fetch(self, url: str | None) -> Path | None:
        """The icon at an http(s) URL as a file; None for any other scheme or any failure."""
        if not url:
            return None
        try:
            resource = AsyncResource(
                url, timeout=self.fetch_timeout, max_size=self.max_fetch_bytes
            )
        except GNTPError:  # not an http(s) URL: a sender never makes us open local files
            return None
        await resource.fetch()
        if resource.error is not None:
            log.info("icon store: %r", str(resource.error))  # sender text: repr, escaped
        return self.path_for(resource.data)
