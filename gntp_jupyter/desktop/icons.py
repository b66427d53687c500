"""Icons as files, because desktop notification services take a path, not bytes.

Binary resources are written to a private folder (mode 0700) under names derived from
their content (SHA-256), never from anything the sender wrote. The folder is bounded:
past ``max_bytes`` the least recently used files go. URL icons are fetched once, with a
timeout and a size cap, on the running loop; a failure means no icon, never an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
from pathlib import Path

from ..gntp.async_gntp import AsyncResource
from ..gntp.exceptions import GNTPError
from ..gntp.resources import image_type

__all__ = ["IconStore", "default_folder"]

log = logging.getLogger(__name__)

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
        fetch_timeout: float = 5.0, max_fetch_bytes: int = 1024 * 1024,
    ) -> None:
        self.folder = Path(folder) if folder is not None else default_folder()
        self.max_bytes = max_bytes
        self.fetch_timeout = fetch_timeout
        self.max_fetch_bytes = max_fetch_bytes
        self._ready = False

    def __repr__(self) -> str:
        return f"<IconStore {self.folder} max {self.max_bytes} bytes>"

    def _prepare(self) -> None:
        if not self._ready:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.folder.chmod(0o700)  # exist_ok keeps an older mode
            self._ready = True

    def path_for(self, data: bytes | None) -> Path | None:
        """A file holding ``data``, or None when it is not an image or cannot be written."""
        if not data or len(data) > self.max_bytes:
            return None
        kind = image_type(data[:32])
        if kind is None:
            return None
        path = self.folder / (hashlib.sha256(data).hexdigest()[:40] + _SUFFIX[kind])
        try:
            self._prepare()
            if path.exists():
                os.utime(path)  # recently used: last to be evicted
                return path
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".incoming-")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
            self._evict(keep=path)
        except OSError as exc:
            log.warning("icon store: cannot write %s: %s", path, exc)
            return None
        return path

    async def fetch(self, url: str | None) -> Path | None:
        """The icon at an http(s) URL as a file; None for any other scheme or any failure."""
        if not url:
            return None
        try:
            resource = AsyncResource(
                url, timeout=self.fetch_timeout, max_size=self.max_fetch_bytes
            )
        except GNTPError:
            return None  # not http(s): a sender never makes us open local files
        await resource.fetch()
        if resource.error is not None:
            log.info("icon store: %s", resource.error)
        return self.path_for(resource.data)

    def _evict(self, keep: Path) -> None:
        files = []
        for entry in os.scandir(self.folder):
            with contextlib.suppress(OSError):
                if entry.is_file(follow_symlinks=False):
                    st = entry.stat(follow_symlinks=False)
                    files.append((st.st_mtime, st.st_size, entry.path))
        total = sum(size for _, size, _ in files)
        for _, size, name in sorted(files):
            if total <= self.max_bytes:
                break
            if name == str(keep):
                continue
            with contextlib.suppress(OSError):
                os.unlink(name)
                total -= size
