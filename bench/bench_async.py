"""The async API's three promises, measured against baselines taken in the same run.

1. Icons: 20 URLs on a local HTTP server that waits 200 ms before each answer, fetched in
   parallel, vs one fetch (target: at most 1.3×) and vs one after the other.
2. Throughput: 1,000 notifications sent concurrently (at most 64 in flight towards one
   server) to our receiver (in its own process) — and to growl-for-linux when it can run
   here — vs the blocking client sending the same 1,000; the server's count must equal
   the count sent. Both servers handle one request at a time, so they set the pace.
3. A bare ``publish()`` (no ``await``) inside a running loop: how long the call holds its
   caller, vs an awaited publish, and the longest pause another task saw meanwhile.
   Runs last: it applies nest-asyncio2, which slows asyncio for the rest of the process.

``python -m bench`` (``make bench``) runs it; ``python -m bench.bench_async`` alone.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from gol import GrowlForLinux
from gol import available as gol_available
from icon_server import IconServer

from gntp_jupyter.gntp import Event, Publisher
from gntp_jupyter.gntp.async_gntp import (
    AsyncPublisher,
    AsyncResource,
    fetch_async_resources_in_parallel,
)
from gntp_jupyter.gntp.receiver import ReceiverThread

ICONS = 20
ICON_DELAY = 0.2
NOTIFICATIONS = 1000
IN_FLIGHT = 64
HOLD_SAMPLES = 50


def _ratio(value: float, baseline: float) -> str:
    return f"{value / baseline:.2f}×" if baseline > 0 else "n/a"


# --- 1. parallel icon fetch ---------------------------------------------------------------


async def _fetch(urls: list[str], parallel: bool) -> float:
    resources = [AsyncResource(u) for u in urls]
    start = time.perf_counter()
    if parallel:
        await fetch_async_resources_in_parallel(resources)
    else:
        for r in resources:
            await r.fetch()
    elapsed = time.perf_counter() - start
    failed = [r.error for r in resources if r.data is None]
    if failed:
        raise RuntimeError(f"fetch failed: {failed[0]}")
    return elapsed


def bench_icons() -> None:
    with IconServer(delay=ICON_DELAY) as server:

        def urls(n: int) -> list[str]:  # fresh URLs each time: the cache must not help
            run = uuid.uuid4().hex[:8]
            return [server.url(f"/{run}/icon{i}.png") for i in range(n)]

        async def measure() -> tuple[float, float, float]:
            await _fetch(urls(1), parallel=False)  # warm-up: imports, first connection
            one = await _fetch(urls(1), parallel=False)
            parallel = await _fetch(urls(ICONS), parallel=True)
            sequential = await _fetch(urls(ICONS), parallel=False)
            return one, parallel, sequential

        one, parallel, sequential = asyncio.run(measure())
    print(f"icons: {ICONS} URLs, server waits {ICON_DELAY * 1000:.0f} ms per answer")
    print(f"  one fetch (baseline)    {one * 1000:8.1f} ms")
    print(f"  {ICONS} in parallel          {parallel * 1000:8.1f} ms  = "
          f"{_ratio(parallel, one)} one fetch (target ≤ 1.30×)")
    print(f"  {ICONS} one after another    {sequential * 1000:8.1f} ms  = "
          f"{_ratio(sequential, parallel)} the parallel time")


# --- 2. throughput ------------------------------------------------------------------------


def _sync_send(host: str, port: int, app: str, count: int) -> float:
    publisher = Publisher(app, [Event("n")], host=host, port=port, timeout=30)
    publisher.register()
    start = time.perf_counter()
    for i in range(count):
        publisher.publish("n", f"sync {i}")
    return time.perf_counter() - start


def _async_send(host: str, port: int, app: str, count: int) -> float:
    async def run() -> float:
        publisher = AsyncPublisher(app, [Event("n")], host=host, port=port, timeout=30)
        await publisher.register_async()
        limit = asyncio.Semaphore(IN_FLIGHT)  # one server: do not open 1,000 sockets at once

        async def one(i: int) -> None:
            async with limit:
                await publisher.publish_async("n", f"async {i}")

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(count)))
        return time.perf_counter() - start

    return asyncio.run(run())


def _throughput(name: str, host: str, port: int, received: Callable[[], int]) -> None:
    before = received()
    sync_time = _sync_send(host, port, f"bench-sync-{uuid.uuid4().hex[:6]}", NOTIFICATIONS)
    after_sync = received()
    async_time = _async_send(host, port, f"bench-async-{uuid.uuid4().hex[:6]}", NOTIFICATIONS)
    after_async = received()
    sync_rate, async_rate = NOTIFICATIONS / sync_time, NOTIFICATIONS / async_time
    print(f"throughput to {name}: {NOTIFICATIONS} notifications each way")
    print(f"  sync client, one by one (baseline)  {sync_rate:8.0f}/s  "
          f"received {after_sync - before}/{NOTIFICATIONS}")
    print(f"  async, {IN_FLIGHT} in flight               {async_rate:8.0f}/s  "
          f"received {after_async - after_sync}/{NOTIFICATIONS}  = "
          f"{_ratio(async_rate, sync_rate)} the sync rate")


class _ReceiverProcess:
    """``gntp-receiver`` in its own process, as a real server would be: in this process it
    would share the GIL with the clients being measured. Counts the NOTIFY lines it prints.
    """

    def __enter__(self) -> _ReceiverProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gntp_jupyter.gntp.receiver", "--host", "127.0.0.1",
             "--port", "0"],
            stdout=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()  # "listening on 127.0.0.1:PORT (Ctrl-C stops)"
        self.port = int(first.split()[2].rsplit(":", 1)[1])
        self._count = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.split()[1:2] == ["NOTIFY"]:
                with self._lock:
                    self._count += 1

    def received(self) -> int:
        """The count once it stops changing (its lines may lag its -OKs a little)."""
        last = -1
        while True:
            with self._lock:
                now = self._count
            if now == last:
                return now
            last = now
            time.sleep(0.2)

    def __exit__(self, *exc_info: object) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def bench_throughput() -> None:
    with _ReceiverProcess() as server:
        _throughput("our receiver (own process)", "127.0.0.1", server.port, server.received)
    reason = gol_available()
    if reason:
        print(f"throughput to growl-for-linux: skipped ({reason})")
        return
    with GrowlForLinux() as gol:
        _throughput("growl-for-linux", "127.0.0.1", gol.port, lambda: len(gol.notifications()))


# --- 3. how long a bare call holds the loop --------------------------------------------------


def bench_hold() -> None:
    with ReceiverThread() as server:

        async def run() -> tuple[list[float], list[float], float]:
            publisher = AsyncPublisher("bench-hold", [Event("n")], host=server.host,
                                       port=server.port)
            await publisher.register()
            awaited = []
            for i in range(HOLD_SAMPLES):
                start = time.perf_counter()
                await publisher.publish("n", f"awaited {i}")
                awaited.append(time.perf_counter() - start)

            gaps: list[float] = []

            async def ticker() -> None:
                last = time.perf_counter()
                while True:
                    await asyncio.sleep(0)
                    now = time.perf_counter()
                    gaps.append(now - last)
                    last = now

            tick = asyncio.create_task(ticker())
            await asyncio.sleep(0)
            bare = []
            for i in range(HOLD_SAMPLES):
                start = time.perf_counter()
                publisher.publish("n", f"bare {i}")  # no await: complete when it returns
                bare.append(time.perf_counter() - start)
                await asyncio.sleep(0)
            tick.cancel()
            return awaited, bare, max(gaps)

        awaited, bare, max_gap = asyncio.run(run())
        received = len(server.notifications)

    def p95(values: list[float]) -> float:
        return statistics.quantiles(values, n=20)[-1] * 1000

    a50, b50 = statistics.median(awaited), statistics.median(bare)
    print(f"bare publish() inside a running loop, reachable receiver ({HOLD_SAMPLES} calls each)")
    print(f"  awaited publish (baseline)  median {a50 * 1000:6.2f} ms  p95 {p95(awaited):6.2f} ms")
    print(f"  bare publish holds caller   median {b50 * 1000:6.2f} ms  p95 {p95(bare):6.2f} ms"
          f"  = {_ratio(b50, a50)} awaited")
    print(f"  longest pause another task saw during the bare calls: {max_gap * 1000:.2f} ms "
          "(nest-asyncio2 runs other tasks inside the call)")
    print(f"  the receiver got {received}/{2 * HOLD_SAMPLES} notifications")


def main() -> None:
    bench_icons()
    bench_throughput()
    bench_hold()


if __name__ == "__main__":
    main()
