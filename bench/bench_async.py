"""The async API's three promises, measured against baselines taken in the same run.

1. Icons: 20 URLs on a local HTTP server that waits 200 ms before each answer, fetched in
   parallel, vs one fetch (target: at most 1.3×) and vs one after the other.
2. Throughput: 1,000 notifications sent concurrently (at most 64 in flight towards one
   server) to our receiver (in its own process) — and to growl-for-linux when it can run
   here — vs the blocking client sending the same 1,000, in alternating rounds
   (``BENCH_ROUNDS``, default 5; the median is reported); the server's count must equal
   the count sent. Both servers handle one request at a time, so they set the pace.
3. A bare ``publish()`` (no ``await``) inside a running loop: how long the call holds its
   caller, vs an awaited publish, and the longest pause another task saw meanwhile.
   Runs last: it applies nest-asyncio2, which slows asyncio for the rest of the process.

``python -m bench`` (``make bench``) runs it; ``python -m bench.bench_async`` alone.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from icon_server import IconServer

from gntp_jupyter.gntp import Event, Publisher
from gntp_jupyter.gntp.async_gntp import (
    AsyncPublisher,
    AsyncResource,
    fetch_async_resources_in_parallel,
)
from gntp_jupyter.gntp.receiver import ReceiverThread

from .bench_sync import gol_target, new_tag, receiver_target

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


def _sync_send(host: str, port: int, app: str, titles: list[str]) -> float:
    publisher = Publisher(app, [Event("n")], host=host, port=port, timeout=30)
    publisher.register()
    start = time.perf_counter()
    for title in titles:
        publisher.publish("n", title)
    return time.perf_counter() - start


def _async_send(host: str, port: int, app: str, titles: list[str]) -> float:
    async def run() -> float:
        publisher = AsyncPublisher(app, [Event("n")], host=host, port=port, timeout=30)
        await publisher.register_async()
        limit = asyncio.Semaphore(IN_FLIGHT)  # one server: do not open 1,000 sockets at once

        async def one(title: str) -> None:
            async with limit:
                await publisher.publish_async("n", title)

        start = time.perf_counter()
        await asyncio.gather(*(one(t) for t in titles))
        return time.perf_counter() - start

    return asyncio.run(run())


def _throughput(name: str, host: str, port: int, received: Callable[[str], int],
                rounds: int) -> None:
    """Sync and async take turns (the order flips every round); each rate is the median
    of its rounds, and every round is checked against what the server received."""
    senders = {"sync": _sync_send, "async": _async_send}
    rates: dict[str, list[float]] = {way: [] for way in senders}
    short: list[str] = []
    for round_ in range(rounds):
        order = list(senders) if round_ % 2 == 0 else list(reversed(senders))
        for way in order:
            tag = new_tag()
            titles = [f"{tag}{i}" for i in range(NOTIFICATIONS)]
            elapsed = senders[way](host, port, f"bench-{way}-{uuid.uuid4().hex[:6]}", titles)
            rates[way].append(NOTIFICATIONS / elapsed)
            got = received(tag)
            if got != NOTIFICATIONS:
                short.append(f"{way} round {round_ + 1}: received {got}/{NOTIFICATIONS}")
    sync_rate, async_rate = (statistics.median(rates[w]) for w in ("sync", "async"))
    print(f"throughput to {name}: {NOTIFICATIONS} notifications per run, median of {rounds} "
          "rounds, sync and async alternating")
    print(f"  sync client, one by one (baseline)  {sync_rate:8.0f}/s  "
          f"rounds {' '.join(f'{r:.0f}' for r in rates['sync'])}")
    print(f"  async, {IN_FLIGHT} in flight               {async_rate:8.0f}/s  "
          f"rounds {' '.join(f'{r:.0f}' for r in rates['async'])}  = "
          f"{_ratio(async_rate, sync_rate)} the sync rate")
    print("  " + ("; ".join(short) if short else
                  f"the server received all {2 * rounds * NOTIFICATIONS} notifications"))


def bench_throughput() -> None:
    rounds = int(os.environ.get("BENCH_ROUNDS", "5"))
    with receiver_target(NOTIFICATIONS) as server:
        _throughput("our receiver (own process)", server.host, server.port, server.delivered,
                    rounds)
    with gol_target(NOTIFICATIONS) as gol:  # its database in memory, as in bench_sync
        if isinstance(gol, str):
            print(f"throughput to growl-for-linux: {gol}")
            return
        _throughput("growl-for-linux", gol.host, gol.port, gol.delivered, rounds)


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
