"""Sync send throughput and CPU per send: our Publisher against PyPI ``gntp`` and ``gntplib``.

Each client registers once, then sends notifications one after another ("sequential")
and from a pool of threads ("concurrent"), to our receiver (``gntp-receiver --print`` in
its own process, as a real server would be) and to growl-for-linux when it can run here
(its database in memory: see ``gol_target``).
A fourth client, ``floor``, writes our very request by hand on a plain socket (connect,
one ``sendall``, read to the blank line): what any Python client sending it costs at
least against the same server.

Clients alternate: in every round each client sends N notifications in 10 turns of N/10,
the clients taking turns in an order that rotates from turn to turn and round to round,
so that no client always goes first (and pays for warming the server up) and a server
that slows down as it fills up weighs on every client alike. A client's rate in a round
is N over the time its turns took; a row's rate is the median of its rounds. Every round
is checked against what the server really received; a baseline that cannot talk to a
server is reported with its error instead of a number.

CPU per send: building, encoding and parsing one notification with no network (each
library's own code path up to the socket, a canned ``-OK`` as the answer), timed with
``timeit`` in alternating rounds. With valgrind installed it is also counted in
instructions (``valgrind --tool=callgrind``), which the machine's load does not move:
the difference between a run of N sends and a run of none, divided by N.

Knobs (environment): ``BENCH_N`` notifications per run (default 2000), ``BENCH_ROUNDS``
(default 9: a round's rate moves by up to 10 % with the machine), ``BENCH_THREADS``
(default 8), ``BENCH_CALLGRIND=0`` skips the instruction counts.
"""

from __future__ import annotations

import collections
import itertools
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from gntp_jupyter.gntp import Publisher

OURS = "gntp_jupyter"
FLOOR = "floor"
PEERS = ("gntp", "gntplib")
TIMEOUT = 10.0
TAG = re.compile(rb"\bb[0-9a-f]{8} ")  # what new_tag() makes: the start of a run's titles
TURNS = 10  # a round's sends per client come in this many turns, the clients alternating
Send = Callable[[str], None]

#: The answer the CPU rows parse: what our receiver sends back to a NOTIFY.
CANNED_OK = b"GNTP/1.0 -OK NONE\r\nResponse-Action: NOTIFY\r\nNotification-ID: 1\r\n\r\n"


@dataclass
class Result:
    target: str
    mode: str
    client: str
    sent: int = 0
    rate: float = 0.0  # notifications per second, wall clock: median of the rounds
    p50: float = 0.0  # milliseconds, median of the rounds' medians
    rounds: tuple[float, ...] = ()
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


def _raw_exchange(host: str, port: int, request: bytes) -> None:
    """The least a client can do: connect, one sendall, read to the blank line, close."""
    with socket.create_connection((host, port), timeout=TIMEOUT) as sock:
        sock.sendall(request)
        answer = b""
        while not answer.endswith(b"\r\n\r\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    if not answer.startswith(b"GNTP/1.0 -OK"):
        raise RuntimeError(f"floor answered {answer[:80]!r}")


def floor(host: str, port: int, app: str) -> Send:
    """Our request, hand-written on a plain socket: no validation, no parsing beyond -OK.

    Same bytes as ours (with a Notification-ID), so that the server has the same work
    and the ratio measures what our client adds.
    """
    _raw_exchange(host, port, (
        f"GNTP/1.0 REGISTER NONE\r\nApplication-Name: {app}\r\nNotifications-Count: 1\r\n\r\n"
        "Notification-Name: done\r\nNotification-Enabled: True\r\n\r\n"
    ).encode())
    head = (f"GNTP/1.0 NOTIFY NONE\r\nApplication-Name: {app}\r\nNotification-Name: done\r\n"
            "Notification-ID: ").encode()
    tail = b"\r\nNotification-Text: benchmark text\r\n\r\n"
    ids = itertools.count()

    def send(title: str) -> None:
        notification_id = f"{next(ids):032x}\r\nNotification-Title: {title}".encode()
        _raw_exchange(host, port, head + notification_id + tail)

    return send


CLIENTS: dict[str, Callable[[str, int, str], Send]] = {
    OURS: ours,
    "gntp": pypi_gntp,
    "gntplib": gntplib_client,
    FLOOR: floor,
}


def new_tag() -> str:
    """A fresh mark for one run's titles, so the server's count can be checked."""
    return f"b{uuid.uuid4().hex[:8]} "


# -- targets: where to send and how to count what arrived -------------------------------


@dataclass
class Target:
    name: str
    host: str
    port: int
    delivered: Callable[[str], int]  # notifications whose title starts with a tag
    limit: int  # most notifications per run


class ReceiverProcess:
    """``gntp-receiver --print`` in its own process; counts the NOTIFY lines it prints
    (one per accepted notification). In this process it would share the GIL with the
    clients being measured, and the slower client would also slow the server down. Its
    output goes to a file, read between rounds: a thread reading it as it comes would
    compete with the client being measured."""

    def __enter__(self) -> ReceiverProcess:
        self.out = tempfile.NamedTemporaryFile("w+b", prefix="bench_receiver_", suffix=".log")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gntp_jupyter.desktop", "--host", "127.0.0.1",
             "--port", "0", "--print"],
            stdout=self.out, stderr=subprocess.DEVNULL,
        )
        self._read = 0  # bytes of the output already counted
        self._by_tag: collections.Counter[str] = collections.Counter()
        first = b""
        deadline = time.monotonic() + 30
        while b"\n" not in first and self.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
            first = Path(self.out.name).read_bytes()
        try:  # "listening on 127.0.0.1:PORT (...)"
            self.port = int(first.split()[2].rsplit(b":", 1)[1])
        except (IndexError, ValueError):
            self.proc.kill()
            raise RuntimeError(f"gntp-receiver did not start: {first!r}") from None
        return self

    def _read_new(self) -> int:
        """Count the NOTIFY lines written since last asked, by tag; how many there were."""
        with open(self.out.name, "rb") as f:
            f.seek(self._read)
            text = f.read()
        text = text[: text.rfind(b"\n") + 1]
        self._read += len(text)
        new = 0
        for line in text.splitlines():
            if line.split()[1:2] == [b"NOTIFY"] and (tag := TAG.search(line)):
                self._by_tag[tag.group().decode()] += 1
                new += 1
        return new

    def received(self, tag: str) -> int:
        """NOTIFY lines naming ``tag``, once no more come (lines lag the -OKs)."""
        self._read_new()
        while True:
            time.sleep(0.1)
            if not self._read_new():
                return self._by_tag[tag]

    def __exit__(self, *exc_info: object) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        self.out.close()


@contextmanager
def receiver_target(n: int) -> Iterator[Target]:
    with ReceiverProcess() as server:
        yield Target("receiver", "127.0.0.1", server.port, server.received, n)


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
        # gol commits every notification to sqlite: on disk each commit waits for the
        # disk, every client then runs at about 1,000/s and the rounds differ by 10 %.
        # In memory (tmpfs) the same server runs about three times faster and the row
        # measures the clients.
        shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
        home = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench_gol_", dir=shm))
        try:
            server = stack.enter_context(gol.GrowlForLinux(home=home, lock_timeout=300))
        except (TimeoutError, RuntimeError) as exc:
            yield f"skipped: could not start growl-for-linux: {exc}"
            return

        def delivered(tag: str) -> int:
            return sum(1 for row in server.notifications() if (row["title"] or "").startswith(tag))

        yield Target("gol", "127.0.0.1", gol.PORT, delivered, n)


# -- measuring -----------------------------------------------------------------------------


@dataclass
class Run:
    rate: float = 0.0
    p50: float = 0.0
    error: str | None = None


def timed(send: Send, title: str) -> float:
    start = time.perf_counter()
    send(title)
    return time.perf_counter() - start


def rotated(names: list[str], k: int) -> list[str]:
    """Turn k starts with the k-th client: each takes every position in turn."""
    k %= len(names)
    return names[k:] + names[:k]


@dataclass
class Turns:
    """One client's share of a round: its sender, its tag, and what its turns took."""

    send: Send
    tag: str
    pool: ThreadPoolExecutor | None
    wall: float = 0.0
    latencies: list[float] = field(default_factory=list)

    def take(self, titles: list[str]) -> None:
        start = time.perf_counter()
        if self.pool is None:
            self.latencies += [timed(self.send, t) for t in titles]
        else:
            self.latencies += self.pool.map(lambda t: timed(self.send, t), titles)
        self.wall += time.perf_counter() - start


def one_round(target: Target, mode: str, threads: int, round_: int) -> dict[str, Run]:
    """Every client sends ``target.limit`` notifications, in TURNS turns each, the clients
    taking turns in rotating order: a server that slows down as it fills up (gol's
    database, its popups) or a machine that gets busier weighs on all of them alike."""
    n = target.limit
    runs: dict[str, Run] = {}
    turns: dict[str, Turns] = {}
    with ExitStack() as stack:
        for client in rotated(list(CLIENTS), round_):
            tag = new_tag()
            try:
                send = CLIENTS[client](target.host, target.port,
                                       f"bench-{client}-{uuid.uuid4().hex[:6]}")
                send(tag + "warm-up")
            except Exception as exc:  # a broken baseline is a result, not a crash
                runs[client] = Run(error=f"{type(exc).__name__}: {exc}")
                continue
            pool = (None if mode == "sequential"
                    else stack.enter_context(ThreadPoolExecutor(threads)))
            turns[client] = Turns(send, tag, pool)
        for turn in range(TURNS):
            first, last = turn * n // TURNS, (turn + 1) * n // TURNS
            for client in rotated(list(turns), round_ + turn):
                if client in runs:
                    continue  # failed in an earlier turn
                mine = turns[client]
                try:
                    mine.take([f"{mine.tag}{i}" for i in range(first, last)])
                except Exception as exc:
                    runs[client] = Run(error=f"{type(exc).__name__}: {exc}")
    for client, mine in turns.items():
        if client not in runs:
            delivered = target.delivered(mine.tag) - 1  # minus the warm-up
            error = None if delivered == n else f"server received {delivered} of {n}"
            runs[client] = Run(n / mine.wall, statistics.median(mine.latencies) * 1000, error)
    return runs


def median_of_rounds(target: Target, mode: str, threads: int, rounds: int) -> list[Result]:
    runs: dict[str, list[Run]] = {client: [] for client in CLIENTS}
    for round_ in range(rounds):
        for client, result in one_round(target, mode, threads, round_).items():
            runs[client].append(result)
    results = []
    for client, attempts in runs.items():
        result = Result(target.name, mode, client, sent=target.limit)
        failed = [r for r in attempts if r.error]
        if failed:
            result.error = failed[0].error
        good = [r for r in attempts if not r.error] or attempts
        result.rounds = tuple(r.rate for r in good)
        result.rate = statistics.median(result.rounds)
        result.p50 = statistics.median(r.p50 for r in good)
        results.append(result)
    return results


# -- CPU per send, no network ------------------------------------------------------------


def cpu_senders() -> dict[str, Callable[[], None]]:
    """One notification each, through each library's own code up to the socket."""
    import gntp.core
    import gntp.notifier
    import gntplib
    from gntplib.connections import BaseGNTPConnection

    from gntp_jupyter.gntp.client import raise_for_response
    from gntp_jupyter.gntp.exchange import Exchange

    publisher = Publisher("bench", ["done"], host="127.0.0.1", port=1)
    security = publisher.options.security

    def ours_cpu() -> None:
        exchange = Exchange(publisher.notification("done", "title", "benchmark text"), security)
        exchange.receive_data(CANNED_OK)
        raise_for_response(exchange)

    class NoNetworkGrowl(gntp.notifier.GrowlNotifier):
        def _send(self, messagetype, packet):  # as GrowlNotifier._send, minus the socket
            packet.validate()
            packet.encode()
            response = gntp.core.parse_gntp(CANNED_OK)
            return True if type(response) is gntp.core.GNTPOK else response.error()

    notifier = NoNetworkGrowl("bench", ["done"], ["done"], hostname="127.0.0.1", port=1)

    def gntp_cpu() -> None:
        _check_gntp(notifier.notify("done", "title", "benchmark text"))

    class NoNetworkConnection(BaseGNTPConnection):
        def __init__(self, address, timeout, final_callback, socket_callback=None):
            super().__init__(final_callback, socket_callback)

        def write_message(self, message: bytes) -> None:
            self.message = message

        def read_message(self, callback) -> None:
            callback(CANNED_OK)

        def close(self) -> None:
            pass

    lib_publisher = gntplib.Publisher("bench", ["done"], host="127.0.0.1", port=1)
    lib_publisher.gntp_client.connection_class = NoNetworkConnection

    def gntplib_cpu() -> None:
        lib_publisher.publish("done", "title", "benchmark text")

    return {OURS: ours_cpu, "gntp": gntp_cpu, "gntplib": gntplib_cpu}


def cpu_timeit(rounds: int, number: int = 2000) -> dict[str, float]:
    """Microseconds per send: each round times every library (rotating the order) and
    keeps its fastest of 3 repeats (timeit's advice: slower repeats are other load);
    the figure is the median over rounds."""
    senders = cpu_senders()
    times: dict[str, list[float]] = {name: [] for name in senders}
    for round_ in range(rounds):
        for name in rotated(list(senders), round_):
            best = min(timeit.repeat(senders[name], repeat=3, number=number)) / number
            times[name].append(best * 1e6)
    return {name: statistics.median(values) for name, values in times.items()}


def cpu_instructions(n: int = 200) -> dict[str, float] | str:
    """Instructions per send under callgrind: (run of n sends - run of 0) / n."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return "valgrind not installed"
    counts: dict[str, float] = {}
    for name in (OURS, *PEERS):
        totals = []
        for sends in (0, n):
            out = subprocess.run(
                [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null",
                 sys.executable, "-m", "bench.bench_sync", "--cpu-loop", name, str(sends)],
                capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1],
            )
            line = [ln for ln in out.stderr.splitlines() if "Collected :" in ln]
            if out.returncode or not line:
                return f"callgrind failed for {name}: {out.stderr[-300:]!r}"
            totals.append(int(line[-1].rsplit(":", 1)[1]))
        counts[name] = (totals[1] - totals[0]) / n
    return counts


def _cpu_loop(name: str, sends: int) -> None:
    """Entry point for one callgrind run: warm up, then ``sends`` sends."""
    send = cpu_senders()[name]
    for _ in range(50):
        send()
    for _ in range(sends):
        send()


# -- report --------------------------------------------------------------------------------


def table(results: list[Result]) -> str:
    by = {(r.target, r.mode, r.client): r for r in results}
    head = (f"{'target':9} {'mode':11} {'client':13} {'n':>5} {'notif/s':>9} {'p50 ms':>7}  "
            f"{'ours/this':>9}  rounds (notif/s)")
    lines = [head, "-" * len(head)]
    for r in results:
        if r.error and not r.rate:
            lines.append(f"{r.target:9} {r.mode:11} {r.client:13} FAILS: {r.error[:110]}")
            continue
        row = f"{r.target:9} {r.mode:11} {r.client:13} {r.sent:5} {r.rate:9.0f} {r.p50:7.2f}  "
        mine = by.get((r.target, r.mode, OURS))
        if r.client != OURS and mine and mine.rate and r.rate:
            row += f"{mine.rate / r.rate:8.2f}x"
        else:
            row += " " * 9
        row += "  " + " ".join(f"{x:.0f}" for x in r.rounds)
        if r.error:
            row += f"  ! {r.error}"
        lines.append(row)
    return "\n".join(lines)


def cpu_table(timed_us: dict[str, float], instructions: dict[str, float] | str) -> str:
    lines = ["CPU per send, no network (build, encode, parse a canned -OK):",
             f"  {'client':13} {'µs (timeit)':>12} {'ours/this':>9}  {'instructions':>12} "
             f"{'ours/this':>9}"]
    for name, us in timed_us.items():
        row = f"  {name:13} {us:12.2f} "
        row += f"{timed_us[OURS] / us:8.2f}x " if name != OURS else " " * 10
        if isinstance(instructions, dict):
            row += f" {instructions[name]:12.0f} "
            if name != OURS:
                row += f"{instructions[OURS] / instructions[name]:8.2f}x"
        lines.append(row)
    if isinstance(instructions, str):
        lines.append(f"  (instruction counts skipped: {instructions})")
    lines.append("  (ours/this < 1: ours spends less)")
    return "\n".join(lines)


def main() -> None:
    n = int(os.environ.get("BENCH_N", "2000"))
    rounds = int(os.environ.get("BENCH_ROUNDS", "9"))
    threads = int(os.environ.get("BENCH_THREADS", "8"))
    print(f"sync sends: {n} per client and round, in {TURNS} alternating turns; {threads} "
          f"threads when concurrent; median of {rounds} rounds; python "
          f"{sys.version.split()[0]}", flush=True)
    started = time.perf_counter()
    timed_us = cpu_timeit(rounds)
    instructions = (cpu_instructions() if os.environ.get("BENCH_CALLGRIND", "1") != "0"
                    else "BENCH_CALLGRIND=0")
    print(cpu_table(timed_us, instructions), flush=True)
    results: list[Result] = []
    for make in (receiver_target, gol_target):
        with make(n) as target:
            if isinstance(target, str):
                print(f"growl-for-linux {target}", flush=True)
                continue
            for mode in ("sequential", "concurrent"):
                results += median_of_rounds(target, mode, threads, rounds)
    print(table(results))
    print(f"(ours/this > 1: ours sends faster; {FLOOR}: a hand-written request on a plain "
          f"socket; {time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--cpu-loop"]:
        _cpu_loop(sys.argv[2], int(sys.argv[3]))
    else:
        main()
