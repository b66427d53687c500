"""``gntp-receiver`` under load and under attack, each figure beside a baseline from this run.

- Throughput with the desktop display on (a fake freedesktop Notifications service on a
  private D-Bus, from tests/fake_notifications.py) against the same command printing
  nothing (``--print --quiet``), our Publisher sending one notification after another.
- The request with 32,000 resource references: CPU to parse it, against a request of the
  same size with none.
- A sender's round trip while 1,100 idle connections are held (the receiver under a
  1024-descriptor limit), against the same round trip with none held.
- Peak memory while 32 clients each push most of a 16 MiB request, against the idle
  receiver's, and the memory budget.

Knob: ``BENCH_N`` notifications per throughput run (default 2000; a quarter here).
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from gntp_jupyter.gntp import Publisher
from gntp_jupyter.gntp.parsing import RequestParser

TESTS = Path(__file__).resolve().parent.parent / "tests"
N = max(int(os.environ.get("BENCH_N", "2000")) // 4, 50)


@contextlib.contextmanager
def receiver(*args: str, env: dict | None = None, nofile: int | None = None) -> Iterator:
    """``gntp-receiver ARGS`` in a child process; yields (process, port)."""

    def limit() -> None:
        if nofile:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, resource.getrlimit(
                resource.RLIMIT_NOFILE)[1]))

    child_env = {k: v for k, v in os.environ.items() if k != "GNTP_PASSWORD"}
    child_env.update(env or {}, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gntp_jupyter.desktop", "--port", "0", "--quiet", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=child_env,
        preexec_fn=limit,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if m := re.search(r"listening on \S+:(\d+) ", line):
                break
        else:
            raise RuntimeError("gntp-receiver did not start")
        yield proc, int(m[1])
    finally:
        proc.terminate()
        proc.wait(10)


def _send_all(port: int, n: int) -> float:
    p = Publisher("Bench", ["done"], host="127.0.0.1", port=port, timeout=10)
    p.register()
    start = time.perf_counter()
    for i in range(n):
        p.publish("done", f"n{i}", "benchmark text")
    return n / (time.perf_counter() - start)


def throughput() -> None:
    sys.path.insert(0, str(TESTS))
    from desktop_session import BUS_TOOLS, SessionBus, available

    reason = available(BUS_TOOLS)
    if reason:
        print(f"display throughput: skipped ({reason})")
        return
    from fake_notifications import FakeNotifications

    with receiver("--print") as (_, port):
        plain = _send_all(port, N)
    with SessionBus() as bus, FakeNotifications(bus) as fake, receiver(
        "--desktop", env={"DBUS_SESSION_BUS_ADDRESS": bus.address}
    ) as (_, port):
        shown = _send_all(port, N)
        fake.wait_for(N, timeout=30)
        delivered = len(fake.calls)
    print(f"throughput, {N} sequential sends: display off {plain:.0f}/s; display on "
          f"{shown:.0f}/s = {shown / plain:.2f}x ({delivered}/{N} reached the service)")


def _notify_with_references(count: int) -> bytes:
    head = ("GNTP/1.0 NOTIFY NONE\r\nApplication-Name: A\r\nNotification-Name: n\r\n"
            "Notification-Title: t\r\n")
    refs = "".join(f"X-R{i}: x-growl-resource://{i:032x}\r\n" for i in range(count))
    sections = b"".join(b"Identifier: %032x\r\nLength: 1\r\n\r\nx\r\n\r\n" % i
                        for i in range(count))
    return (head + refs + "\r\n").encode() + sections


def _parse_cpu(data: bytes) -> float:
    best = float("inf")
    for _ in range(3):
        parser = RequestParser()
        start = time.process_time()
        for i in range(0, len(data), 65536):  # as the receiver reads it
            parser.feed(data[i : i + 65536])
            parser.next_request()
        best = min(best, time.process_time() - start)
    return best


def references() -> None:
    attack = _notify_with_references(32_000)
    filler = attack.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[:4]
    plain = b"\r\n".join(filler) + b"\r\nX-Filler: " + b"f" * (len(attack) - 200) + b"\r\n\r\n"
    cpu, base = _parse_cpu(attack), _parse_cpu(plain)
    print(f"32,000 references ({len(attack) / 1e6:.1f} MB): {cpu * 1000:.0f} ms CPU; "
          f"the same size without references {base * 1000:.0f} ms = {cpu / base:.1f}x")


def _round_trips(port: int, n: int = 50) -> float:
    p = Publisher("Probe", ["done"], host="127.0.0.1", port=port, timeout=10)
    p.register()
    times = []
    for i in range(n):
        start = time.perf_counter()
        p.publish("done", f"probe {i}")
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def idle_connections() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1400 <= hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1400, hard))
    with receiver("--print", nofile=1024) as (_, port):
        base = _round_trips(port)
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(1100)]
        try:
            loaded = _round_trips(port)
        finally:
            for sock in held:
                sock.close()
    print(f"sender round trip, median of 50: {base:.2f} ms; with 1,100 idle connections "
          f"held {loaded:.2f} ms = {loaded / base:.2f}x")


def _peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory() -> None:
    head = (b"GNTP/1.0 NOTIFY NONE\r\nApplication-Name: A\r\nNotification-Name: n\r\n"
            b"Notification-Title: t\r\nNotification-Icon: x-growl-resource://big\r\n\r\n"
            b"Identifier: big\r\nLength: 16000000\r\n\r\n")
    body = b"\0" * (15 * 1024 * 1024)
    with receiver("--print") as (proc, port):
        idle = _peak_mib(proc.pid)
        socks: list[socket.socket] = []

        def push() -> None:
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            socks.append(sock)
            with contextlib.suppress(OSError):
                sock.sendall(head + body)

        threads = [threading.Thread(target=push) for _ in range(32)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        peak = _peak_mib(proc.pid)
        for sock in socks:
            sock.close()
    print(f"32 x 15 MiB pushed (480 MiB): peak RSS {peak:.0f} MiB, idle {idle:.0f} MiB, "
          f"growth {peak - idle:.0f} MiB = {(peak - idle) / 64:.2f}x the 64 MiB budget")


def main() -> None:
    throughput()
    references()
    idle_connections()
    memory()


if __name__ == "__main__":
    main()
