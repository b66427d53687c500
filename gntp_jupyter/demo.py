"""``make demo``: send a few notifications to our own receiver and show what arrived.

Nothing leaves the machine: two receivers listen on free loopback ports, one open and
one with a password (requests to it are key-hashed and AES-encrypted).
"""

from __future__ import annotations

import struct
import zlib

from .gntp import Event, Publisher, Resource
from .gntp.receiver import ReceiverThread, Record, describe

APP = "gntp_jupyter demo"
PASSWORD = "demo-password"


def tiny_png(rgba: tuple[int, int, int, int] = (255, 140, 0, 255)) -> bytes:
    """A valid 1x1 PNG of one colour, made in memory (no image library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)  # 1x1, 8-bit RGBA
    pixels = zlib.compress(b"\x00" + bytes(rgba))  # filter byte, then the one pixel
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def main() -> None:
    events = [Event("info", "Information")]
    got: list[Record] = []
    with ReceiverThread(listener=got.append) as plain, ReceiverThread(
        password=PASSWORD, listener=got.append
    ) as locked:
        p = Publisher(APP, events, host=plain.host, port=plain.port, timeout=5)
        p.register()
        p.publish("info", "Hello from gntp_jupyter", "a plain notification")
        p.publish("info", "Grüße ✓ — 完了", "a unicode title")
        p.publish("info", "With an icon", "a 1x1 PNG made in memory", icon=Resource(tiny_png()))

        secure = Publisher(
            APP, events, host=locked.host, port=locked.port, timeout=5,
            password=PASSWORD, hash_algorithm="SHA256", encryption="AES",
        )
        secure.register()
        secure.publish("info", "Encrypted", "key-hashed and AES-encrypted on the wire")

        print(f"receivers: {plain.address} (open), {locked.address} (password, AES)")
        for record in got:
            print(describe(record))
        for request in locked.requests:
            print(f"  {locked.address} got {request.message_type} "
                  f"as {request.encryption} with a {request.hash_algorithm} key hash")


if __name__ == "__main__":
    main()
