"""``make demo``: send a few notifications to our own receiver and show what arrived.

Nothing leaves the machine: two receivers listen on free loopback ports, one open and
one with a password (requests to it are key-hashed and AES-encrypted). Then
``notebooks/quickstart.ipynb`` runs in a real Jupyter kernel (through nbclient) pointed
at a third receiver with ``GNTP_HOST``/``GNTP_PORT``, as a remote kernel would be.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path
from typing import Any

from .desktop.console import describe
from .gntp import Event, Publisher, Resource
from .gntp.receiver import Receiver, ReceiverThread
from .gntp.records import Record

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


QUICKSTART = Path(__file__).resolve().parent.parent / "notebooks" / "quickstart.ipynb"
#: The kernelspec ``make venv`` installs into the venv (this checkout's code).
KERNEL_NAME = "gntp-jupyter-test"


def kernel_name() -> str:
    """The venv's test kernel when installed, else the default python3 kernel."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel:
        return "python3"
    return KERNEL_NAME


def run_notebook(
    path: Path, host: str, port: int, *, kernel: str | None = None, timeout: float = 120,
) -> Any:
    """Execute a notebook in a fresh kernel whose GNTP_HOST/GNTP_PORT point at host:port.

    Returns the executed NotebookNode; a cell that raises (unless tagged
    ``raises-exception``) raises ``nbclient.exceptions.CellExecutionError``.
    """
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GNTP_")}
    env.update(GNTP_HOST=host, GNTP_PORT=str(port))
    client = NotebookClient(
        nb, kernel_name=kernel or kernel_name(), timeout=timeout,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute(env=env)
    return nb


def demo_notebook() -> None:
    got: list[Record] = []
    with ReceiverThread(Receiver(listener=got.append)) as server:
        print(f"\nrunning {QUICKSTART.name} in a {kernel_name()!r} kernel with "
              f"GNTP_HOST={server.host} GNTP_PORT={server.port} ...", flush=True)
        nb = run_notebook(QUICKSTART, server.host, server.port)
        warnings = [o["text"] for c in nb.cells if c.cell_type == "code"
                    for o in c.get("outputs", []) if o.get("name") == "stderr"]
        print(f"{server.address} received {len(server.notifications)} notifications "
              f"from the notebook:")
        for record in got:
            print(describe(record))
        for text in warnings:
            print(f"  stderr: {text.strip()}")


def main() -> None:
    demo_sync()
    demo_notebook()


def demo_sync() -> None:
    events = [Event("info", "Information")]
    got: list[Record] = []
    with ReceiverThread(Receiver(listener=got.append)) as plain, ReceiverThread(
        Receiver(password=PASSWORD, listener=got.append)
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
