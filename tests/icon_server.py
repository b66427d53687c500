"""A real HTTP server on 127.0.0.1 that serves icons (and failures) for the async tests.

Every ``*.png`` path gets its own valid PNG (:func:`png` of the path, so tests know the
bytes to expect). A special segment anywhere in the path (the first one counts) changes
the answer, so a test can put its own prefix in front::

    .../missing/...       404
    .../text/...          200, Content-Type image/png, but an HTML body
    .../big/N/...         200, an N-byte body (PNG signature + padding) with Content-Length
    .../bigchunked/N/...  the same in chunked transfer encoding (no Content-Length)
    .../slow/S/...        the PNG after S seconds

``delay`` adds a pause before every answer (the benchmark's slow icon host). ``hits``
counts requests per path including the query string, so a test can prove a URL was
fetched once. Used by tests/test_async_*.py and bench/bench_async.py.
"""

from __future__ import annotations

import hashlib
import struct
import threading
import time
import zlib
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

__all__ = ["IconServer", "png"]


def png(name: str, size: int = 16) -> bytes:
    """A valid ``size``×``size`` RGB PNG whose colour is derived from ``name``."""
    r, g, b = hashlib.md5(name.encode()).digest()[:3]
    row = b"\x00" + bytes((r, g, b)) * size
    raw = row * size

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


_SPECIAL = ("missing", "text", "big", "bigchunked", "slow")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.server.count(self.path)
        if self.server.delay:
            time.sleep(self.server.delay)
        path = urlsplit(self.path).path
        parts = path.strip("/").split("/")
        kind, arg = next(
            ((p, parts[i + 1 : i + 2]) for i, p in enumerate(parts) if p in _SPECIAL), ("", [])
        )
        try:
            if kind == "missing":
                self._send(404, b"not found", "text/plain")
            elif kind == "text":
                self._send(200, b"<html><body>not an image</body></html>", "image/png")
            elif kind == "big":
                self._send(200, self._padded(int(arg[0])), "image/png")
            elif kind == "bigchunked":
                self._send_chunked(self._padded(int(arg[0])))
            elif kind == "slow":
                time.sleep(float(arg[0]))
                self._send(200, png(path), "image/png")
            else:
                self._send(200, png(path), "image/png")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout tests): nothing to answer

    @staticmethod
    def _padded(n: int) -> bytes:
        return (b"\x89PNG\r\n\x1a\n" + b"\x00" * n)[:n]

    def _send(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_chunked(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i in range(0, len(body), 16384):
            part = body[i : i + 16384]
            self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # many concurrent fetches (the benchmark's 20) must not wait

    def __init__(self, delay: float) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.delay = delay
        self.hits: Counter[str] = Counter()
        self._lock = threading.Lock()

    def count(self, path: str) -> None:
        with self._lock:
            self.hits[path] += 1


class IconServer:
    """``with IconServer() as icons: icons.url("/app.png")`` — see the module docstring."""

    def __init__(self, delay: float = 0.0) -> None:
        self._server = _Server(delay)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def hits(self) -> Counter[str]:
        with self._server._lock:
            return self._server.hits.copy()

    def url(self, path: str) -> str:
        return self.base + path

    def start(self) -> IconServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="icon-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> IconServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
