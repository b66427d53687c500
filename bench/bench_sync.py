"""Sync send throughput and latency: our Publisher against PyPI ``gntp`` and ``gntplib``.

Each client registers once, then sends notifications one after another ("sequential")
and from a pool of threads ("concurrent"), to our receiver and to growl-for-linux when
it is installed. Every number is checked against what the server really received, and a
baseline that cannot talk to a server is reported with its error instead of a number.

Knobs (environment): ``BENCH_N`` notifications per run (default 2000; gol gets half: it
opens a popup per notification), ``BENCH_THREADS`` (default 8). The receiver runs on a
thread of this process, so in concurrent runs it shares the GIL with the senders.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from gntp_jupyter.gntp import Publisher
from gntp_jupyter.gntp.receiver import ReceiverThread

OURS = "gntp_jupyter"
TIMEOUT = 10.0
ROUNDS = 2
Send = Callable[[str], None]


@dataclass
class Result:
    target: str
    mode: str
    client: str
    sent: int = 0
    delivered: int = 0
    rate: float = 0.0  # notifications per second, wall clock
    p50: float = 0.0  # milliseconds
    p99: float = 0.0
    error: str | None = None


# -- clients: register once, return a send(title) -------------------------------------


def ours(host: str, port: int, app: str) -> Send:
    publisher = Publisher(app, ["done"], host=host, port=port, timeout=TIMEOUT)
    publisher.register()

    def send(title: str) -> None:
        publisher.publish("done", title, "benchmark text")

    return send


def pypi_gntp(host: str, port: int, app: str) -> Send:
    import gntp.notifier

    notifier = gntp.notifier.GrowlNotifier(app, ["done"], ["done"], hostname=host, port=port)
    notifier.socketTimeout = TIMEOUT
    _check_gntp(notifier.register())

    def send(title: str) -> None:
        _check_gntp(notifier.notify("done", title, "benchmark text"))

    return send


def _check_gntp(result: object) -> None:
    # gntp returns True, or the server's error instead of raising.
    if result is not True:
        raise RuntimeError(f"gntp answered {result!r}")


def gntplib_client(host: str, port: int, app: str) -> Send:
    import gntplib

    publisher = gntplib.Publisher(app, ["done"], host=host, port=port, timeout=TIMEOUT)
    publisher.register()

    def send(title: str) -> None:
        publisher.publish("done", title, "benchmark text")

    return send


CLIENTS: dict[str, Callable[[str, int, str], Send]] = {
    OURS: ours,
    "gntp": pypi_gntp,
    "gntplib": gntplib_client,
}


# -- targets: where to send and how to count what arrived -------------------------------


@dataclass
class Target:
    name: str
    host: str
    port: int
    delivered: Callable[[str], int]  # notifications whose title starts with a tag
    limit: int  # most notifications per run


@contextmanager
def receiver_target(n: int) -> Iterator[Target]:
    with ReceiverThread() as server:
        def delivered(tag: str) -> int:
            return sum(1 for note in server.notifications if note.title.startswith(tag))

        yield Target("receiver", server.host, server.port, delivered, n)


@contextmanager
def gol_target(n: int) -> Iterator[Target | str]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    try:
        import gol
    finally:
        sys.path.pop(0)
    reason = gol.available()
    if reason:
        yield f"skipped: {reason}"
        return
    with ExitStack() as stack:
        try:
            server = stack.enter_context(gol.GrowlForLinux(lock_timeout=60))
        except (TimeoutError, RuntimeError) as exc:
            yield f"skipped: could not start growl-for-linux: {exc}"
            return

        def delivered(tag: str) -> int:
            return sum(1 for row in server.notifications() if (row["title"] or "").startswith(tag))

        yield Target("gol", "127.0.0.1", gol.PORT, delivered, max(n // 2, 1))


# -- measuring -----------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(send: Send, title: str) -> float:
    start = time.perf_counter()
    send(title)
    return time.perf_counter() - start


def run(target: Target, client: str, mode: str, threads: int) -> Result:
    result = Result(target.name, mode, client)
    tag = f"b{uuid.uuid4().hex[:8]} "
    try:
        send = CLIENTS[client](target.host, target.port, f"bench-{client}-{uuid.uuid4().hex[:6]}")
        send(tag + "warm-up")
    except Exception as exc:  # a broken baseline is a result, not a crash
        result.error = f"{type(exc).__name__}: {exc}"
        return result
    n = target.limit
    titles = [f"{tag}{i}" for i in range(n)]
    start = time.perf_counter()
    try:
        if mode == "sequential":
            latencies = [timed(send, t) for t in titles]
        else:
            with ThreadPoolExecutor(threads) as pool:
                latencies = list(pool.map(lambda t: timed(send, t), titles))
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        return result
    wall = time.perf_counter() - start
    result.sent = n
    result.delivered = target.delivered(tag) - 1  # minus the warm-up
    result.rate = n / wall
    result.p50 = statistics.median(latencies) * 1000
    result.p99 = percentile(latencies, 0.99) * 1000
    if result.delivered != n:
        result.error = f"server received {result.delivered} of {n}"
    return result


def best_of_rounds(target: Target, mode: str, threads: int) -> list[Result]:
    """Each client's best of ROUNDS runs, the client order reversed every round.

    Whoever runs first pays for warming up (caches, the server's allocator): alternating
    the order and keeping the best run removes that bias from the ratios.
    """
    runs: dict[str, list[Result]] = {client: [] for client in CLIENTS}
    for round_ in range(ROUNDS):
        order = list(CLIENTS) if round_ % 2 == 0 else list(reversed(CLIENTS))
        for client in order:
            runs[client].append(run(target, client, mode, threads))
    best = []
    for attempts in runs.values():
        failed = [r for r in attempts if r.error]
        best.append(failed[0] if failed else max(attempts, key=lambda r: r.rate))
    return best


# -- report --------------------------------------------------------------------------------


def table(results: list[Result]) -> str:
    ours_by = {(r.target, r.mode): r for r in results if r.client == OURS and not r.error}
    head = (f"{'target':9} {'mode':11} {'client':13} {'n':>5} {'notif/s':>9} {'p50 ms':>8} "
            f"{'p99 ms':>8}  ours/this: rate  p50")
    lines = [head, "-" * len(head)]
    for r in results:
        if r.error and not r.sent:
            lines.append(f"{r.target:9} {r.mode:11} {r.client:13} FAILS: {r.error[:110]}")
            continue
        row = (f"{r.target:9} {r.mode:11} {r.client:13} {r.sent:5} {r.rate:9.0f} "
               f"{r.p50:8.2f} {r.p99:8.2f}")
        mine = ours_by.get((r.target, r.mode))
        if r.client != OURS and mine and r.rate and r.p50:
            row += f"  {mine.rate / r.rate:14.2f}x {mine.p50 / r.p50:4.2f}x"
        if r.error:
            row += f"  ! {r.error}"
        lines.append(row)
    return "\n".join(lines)


def main() -> None:
    n = int(os.environ.get("BENCH_N", "2000"))
    threads = int(os.environ.get("BENCH_THREADS", "8"))
    print(f"sync sends: {n} per run (gol: {max(n // 2, 1)}), {threads} threads when concurrent, "
          f"best of {ROUNDS} rounds in alternating order; python {sys.version.split()[0]}",
          flush=True)
    results: list[Result] = []
    started = time.perf_counter()
    for make in (receiver_target, gol_target):
        with make(n) as target:
            if isinstance(target, str):
                print(f"growl-for-linux {target}", flush=True)
                continue
            for mode in ("sequential", "concurrent"):
                results += best_of_rounds(target, mode, threads)
    print(table(results))
    print(f"(ours/this rate > 1: ours sends faster; p50 < 1: ours answers sooner; "
          f"{time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    main()
