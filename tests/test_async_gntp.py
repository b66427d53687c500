"""What only the async transport does, against real servers on loopback: our receiver
and a local HTTP icon host.

What both transports do (request types, ciphers, callbacks, retries, timeouts, errors,
IPv6) is tested once for both in test_transports.py. Here: socket callbacks run on the
caller's loop → AsyncResource (fetch, failures, cache) → AsyncPublisher's icon fetching →
the three calling styles. Calls made without ``await`` inside a running loop apply
nest-asyncio2 process-wide, so those run in a fresh interpreter (``fresh_python``); this
process stays unpatched.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable

import pytest
from icon_server import IconServer, png

from gntp_jupyter.gntp import (
    CallbackResponse,
    ClientOptions,
    Event,
    GNTPConnectionRefused,
    GNTPResourceError,
    GNTPTimeoutError,
    GNTPValidationError,
    NotifyRequest,
    RegisterRequest,
    Resource,
    SocketCallback,
    _nesting,
    async_gntp,
)
from gntp_jupyter.gntp.async_gntp import (
    AsyncGNTPClient,
    AsyncPublisher,
    AsyncResource,
    fetch_async_resources_in_parallel,
)
from gntp_jupyter.gntp.resources import image_type

pytestmark = pytest.mark.timeout(60)

asyncio_test = pytest.mark.asyncio


def unique(path: str) -> str:
    """A path no other test fetched: fetched URLs are cached for the whole process."""
    return f"/{uuid.uuid4().hex[:12]}{path}"


# --- AsyncGNTPClient: socket callbacks on the loop -------------------------------------------


@pytest.mark.parametrize("same_chunk", [False, True], ids=["separate", "same-chunk"])
@asyncio_test
async def test_socket_callback_is_dispatched_on_the_loop(receiver_factory, same_chunk) -> None:
    server = receiver_factory(callback="CLICKED", callback_delay=0.05,
                              callback_same_chunk=same_chunk)
    client = AsyncGNTPClient(host=server.host, port=server.port)
    await client.process_request(RegisterRequest("Cb", (Event("e"),)))
    loop = asyncio.get_running_loop()
    seen: list[tuple[str | None, str | None, bool]] = []
    arrived = asyncio.Event()

    def on_click(response: CallbackResponse) -> None:
        seen.append((response.result, response.context, asyncio.get_running_loop() is loop))
        arrived.set()

    request = NotifyRequest("Cb", "e", "click me", callback_context="ctx-1",
                            callback_context_type="string")
    ok = await client.process_request(request, SocketCallback(on_click=on_click))
    assert ok.action == "NOTIFY"
    await asyncio.wait_for(arrived.wait(), 5)
    assert seen == [("CLICKED", "ctx-1", True)]


# --- AsyncGNTPClient: at most MAX_IN_FLIGHT requests per server --------------------------------

OK_NOTIFY = b"GNTP/1.0 -OK NONE\r\nResponse-Action: NOTIFY\r\n\r\n"


class GatedServer:
    """A GNTP server on the test's loop that answers ``-OK`` only when ``release`` says so,
    and counts the connections it holds at once (``peak``).

    ``release(server)`` is asked whenever a request has been read; it returns how many of
    the held requests to answer now (oldest first).
    """

    def __init__(self, release: Callable[[GatedServer], int]) -> None:
        self.release = release
        self.open = self.peak = self.accepted = self.answered = 0
        self.held: list[asyncio.Future[None]] = []

    async def __aenter__(self) -> GatedServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.host, self.port = "127.0.0.1", self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.answer(len(self.held))
        self.server.close()
        await self.server.wait_closed()

    def answer(self, count: int) -> None:
        for turn in self.held[:count]:
            if not turn.done():
                turn.set_result(None)
        del self.held[:count]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.open += 1
        self.peak = max(self.peak, self.open)
        try:
            await reader.readuntil(b"\r\n\r\n")
            turn = asyncio.get_running_loop().create_future()
            self.held.append(turn)
            self.answer(self.release(self))
            await turn
            writer.write(OK_NOTIFY)
            self.answered += 1
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self.open -= 1
            writer.close()


def hold_all(server: GatedServer) -> int:
    return 0  # the test answers with server.answer()


async def until(predicate: Callable[[], bool], what: str) -> None:
    """Let the loop run until ``predicate()`` (bounded: a broken client fails, not hangs)."""
    for _ in range(1000):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


def lanes_of(loop: asyncio.AbstractEventLoop) -> list[object]:
    return [key for key in async_gntp._lanes if key[0] is loop]


@asyncio_test
async def test_at_most_max_in_flight_requests_reach_one_server() -> None:
    limit, total = async_gntp.MAX_IN_FLIGHT, 3 * async_gntp.MAX_IN_FLIGHT + 2

    def in_batches(server: GatedServer) -> int:
        # Answer once as many are held as the limit allows (fewer for the last batch): a
        # client without the limit would have opened all of them long before.
        batch = min(limit, total - server.answered)
        return batch if len(server.held) >= batch else 0

    async with GatedServer(in_batches) as server:
        client = AsyncGNTPClient(host=server.host, port=server.port, timeout=30)
        requests = [NotifyRequest("Lanes", "e", f"n{i}") for i in range(total)]
        results = await asyncio.gather(*(client.process_request(r) for r in requests))
    assert [r.action for r in results] == ["NOTIFY"] * total
    assert (server.peak, server.accepted) == (limit, total)
    assert lanes_of(asyncio.get_running_loop()) == []


@asyncio_test
async def test_a_waiting_request_keeps_its_deadline_and_other_servers_do_not_wait(
    receiver,
) -> None:
    limit = async_gntp.MAX_IN_FLIGHT
    async with GatedServer(hold_all) as server:
        patient = AsyncGNTPClient(host=server.host, port=server.port, timeout=30)
        in_flight = [asyncio.create_task(patient.process_request(
            NotifyRequest("Lanes", "e", f"held {i}"))) for i in range(limit)]
        await until(lambda: len(server.held) == limit, "the first requests are held")
        # Another client of the same server shares its lane, and waits behind them.
        hasty = AsyncGNTPClient(host=server.host, port=server.port, timeout=0.3)
        with pytest.raises(GNTPTimeoutError, match=rf"within 0\.3 s: the request was "
                                                   rf"still waiting behind the {limit} in"):
            await hasty.process_request(NotifyRequest("Lanes", "e", "in line"))
        assert server.accepted == limit  # it never connected
        # Another server is another lane.
        other = AsyncGNTPClient(host=receiver.host, port=receiver.port, timeout=5)
        await other.process_request(RegisterRequest("Lanes", (Event("e"),)))
        server.answer(limit)
        assert [r.action for r in await asyncio.gather(*in_flight)] == ["NOTIFY"] * limit
    assert lanes_of(asyncio.get_running_loop()) == []


@asyncio_test
async def test_a_cancelled_wait_gives_up_its_place() -> None:
    limit = async_gntp.MAX_IN_FLIGHT
    async with GatedServer(hold_all) as server:
        client = AsyncGNTPClient(host=server.host, port=server.port, timeout=30)

        def send(title: str) -> asyncio.Task:
            return asyncio.create_task(client.process_request(NotifyRequest("L", "e", title)))

        in_flight = [send(f"held {i}") for i in range(limit)]
        await until(lambda: len(server.held) == limit, "the first requests are held")
        given_up, behind = send("given up"), send("behind")
        await asyncio.sleep(0)
        given_up.cancel()
        server.answer(1)
        await until(lambda: len(server.held) == limit, "the one behind takes the place")
        server.answer(limit)
        await asyncio.gather(*in_flight, behind)
        assert given_up.cancelled() and server.accepted == limit + 1
    assert lanes_of(asyncio.get_running_loop()) == []


@asyncio_test
async def test_a_place_handed_to_a_request_cancelled_before_it_runs_is_passed_on() -> None:
    """The race no server can stage: the place is handed over, then the waiter is
    cancelled before it runs again."""
    loop = asyncio.get_running_loop()
    lane = async_gntp._Lane.of(loop, "lane.test", 1)
    lane.in_flight = async_gntp.MAX_IN_FLIGHT
    options = ClientOptions.build(host="lane.test", port=1)
    first = asyncio.create_task(lane.wait_turn(loop, loop.time() + 5, options))
    second = asyncio.create_task(lane.wait_turn(loop, loop.time() + 5, options))
    await asyncio.sleep(0)
    lane.leave()  # the place goes to the first in line...
    first.cancel()  # ...which gives up before it could use it
    await second  # so the second gets it
    assert first.cancelled()
    assert lane.in_flight == async_gntp.MAX_IN_FLIGHT and not lane.waiting
    for _ in range(async_gntp.MAX_IN_FLIGHT):
        lane.leave()
    assert lanes_of(loop) == []


@asyncio_test
async def test_sockets_kept_open_for_callbacks_hold_no_place(receiver_factory) -> None:
    server = receiver_factory(callback="CLICKED", callback_delay=60)
    client = AsyncGNTPClient(host=server.host, port=server.port, timeout=5)
    await client.process_request(RegisterRequest("Cb", (Event("e"),)))
    callback = SocketCallback(on_click=lambda response: None)
    for i in range(async_gntp.MAX_IN_FLIGHT + 2):  # each would wait for the one before
        request = NotifyRequest("Cb", "e", f"n{i}", callback_context=f"c{i}",
                                callback_context_type="string")
        assert (await client.process_request(request, callback)).action == "NOTIFY"
    assert lanes_of(asyncio.get_running_loop()) == []


# --- AsyncResource -------------------------------------------------------------------------


@asyncio_test
async def test_fetch_gets_the_bytes(icon_server: IconServer) -> None:
    path = unique("/fetched.png")
    resource = AsyncResource(icon_server.url(path))
    assert resource.data is None
    await resource.fetch()
    assert resource.data == png(path)
    assert resource.error is None
    assert resource.unique_id == Resource(png(path)).unique_id


@pytest.mark.parametrize(
    ("path", "cause"),
    [
        ("/missing/x.png", "HTTP 404 Not Found"),
        ("/text/x.png", "not an image (Content-Type image/png"),
        ("/big/5000/x.png", "too large (over 1000 bytes)"),
        ("/bigchunked/50000/x.png", "too large (over 1000 bytes)"),
        ("/slow/3/x.png", "timed out after 0.3 s"),
    ],
    ids=["404", "not-an-image", "too-large", "too-large-chunked", "timeout"],
)
@asyncio_test
async def test_fetch_failures_are_kept(icon_server: IconServer, path: str, cause: str) -> None:
    url = icon_server.url(unique(path))
    resource = AsyncResource(url, timeout=0.3, max_size=1000)
    await resource.fetch()  # never raises
    assert not resource.data
    assert isinstance(resource.error, GNTPResourceError)
    assert resource.error.url == url
    assert resource.error.cause.startswith(cause)
    assert str(resource.error).startswith(f"could not fetch {url}: {cause}")


@asyncio_test
async def test_unreachable_and_unresolvable_hosts(closed_port) -> None:
    refused = AsyncResource(f"http://127.0.0.1:{closed_port}/x.png")
    # A 64-character label is refused by the IDNA codec: no DNS query leaves the machine.
    bad_name = AsyncResource(f"http://{'a' * 64}.invalid/x.png")
    await fetch_async_resources_in_parallel([refused, bad_name])
    assert refused.error is not None and refused.error.cause == "connection refused"
    assert bad_name.error is not None and "label" in bad_name.error.cause


def test_only_http_urls() -> None:
    with pytest.raises(GNTPValidationError):
        AsyncResource("/tmp/icon.png")


@asyncio_test
async def test_a_url_is_fetched_once(icon_server: IconServer) -> None:
    path = unique("/cached.png") + "?v=1"
    url = icon_server.url(path)
    first = AsyncResource(url)
    await first.fetch()
    second = AsyncResource(url)
    await second.fetch()
    assert first.data == second.data == png(path.split("?")[0])
    assert icon_server.hits[path] == 1


@asyncio_test
async def test_concurrent_fetches_of_one_url_share_one_request(icon_server: IconServer) -> None:
    path = unique("/slow/0.2/shared.png")
    resources = [AsyncResource(icon_server.url(path)) for _ in range(5)]
    await fetch_async_resources_in_parallel(resources)
    assert {r.data for r in resources} == {png(path)}
    assert icon_server.hits[path] == 1


@asyncio_test
async def test_parallel_fetch_works_under_wait_for(icon_server: IconServer) -> None:
    fast = AsyncResource(icon_server.url(unique("/fast.png")))
    slow = AsyncResource(icon_server.url(unique("/slow/3/late.png")))
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(fetch_async_resources_in_parallel([fast, slow]), 0.5)
    assert fast.data is not None
    assert slow.data is None and slow.error is not None
    assert "cancelled" in slow.error.cause


def test_cache_is_bounded_in_entries_and_bytes() -> None:
    cache = async_gntp._IconCache(max_entries=3, max_bytes=100)
    for name in "abcd":
        cache.put(name, b"x" * 10)
    assert [cache.get(n) is not None for n in "abcd"] == [False, True, True, True]
    cache.get("b")  # b is now the most recently used
    cache.put("big", b"y" * 85)
    assert cache.get("b") is not None and cache.get("c") is None and cache.get("big") is not None
    cache.put("huge", b"z" * 101)  # bigger than the whole cache: not kept
    assert cache.get("huge") is None


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (png("/x.png"), "PNG"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG"),
        (b"GIF89a\x01\x00", "GIF"),
        (b"GIF87a\x01\x00", "GIF"),
        (b"BM" + b"\x00" * 30, "BMP"),
        (b"\x00\x00\x01\x00\x01\x00", "ICO"),
        (b"II*\x00\x08\x00", "TIFF"),
        (b"MM\x00*\x00\x08", "TIFF"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "WebP"),
        (b"<html>", None),
        (b"BM", None),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),
        (b"", None),
    ],
)
def test_image_type(data: bytes, kind: str | None) -> None:
    assert image_type(data) == kind


# --- AsyncPublisher: icons fetched on the loop ---------------------------------------------


@asyncio_test
async def test_every_icon_is_fetched_in_parallel_and_sent(receiver, icon_server) -> None:
    app, ev, note = (unique(f"/{n}.png") for n in ("app", "event", "note"))
    publisher = AsyncPublisher(
        "Icons", [Event("e", icon=AsyncResource(icon_server.url(ev)))],
        icon=AsyncResource(icon_server.url(app)), host=receiver.host, port=receiver.port,
    )
    await publisher.register()
    await publisher.publish("e", "with icon", icon=AsyncResource(icon_server.url(note)))
    registration = receiver.registrations["Icons"]
    assert registration.icon == png(app)
    assert registration.event_icons == {"e": png(ev)}
    assert receiver.notifications[0].icon == png(note)
    assert [icon_server.hits[p] for p in (app, ev, note)] == [1, 1, 1]


@asyncio_test
async def test_a_broken_icon_raises_and_sends_nothing(receiver, icon_server) -> None:
    url = icon_server.url(unique("/missing/app.png"))
    publisher = AsyncPublisher("Broken", ["e"], icon=AsyncResource(url),
                               host=receiver.host, port=receiver.port)
    with pytest.raises(GNTPResourceError, match="HTTP 404") as info:
        await publisher.register()
    assert info.value.url == url
    assert receiver.requests == []


@asyncio_test
async def test_the_publishers_timeout_covers_icon_fetches(receiver, icon_server) -> None:
    url = icon_server.url(unique("/slow/30/app.png"))  # the icon's own timeout is 10 s
    publisher = AsyncPublisher("Slow icon", ["e"], host=receiver.host, port=receiver.port,
                               timeout=0.5)
    with pytest.raises(GNTPResourceError) as info:
        await publisher.publish("e", "t", icon=AsyncResource(url))
    assert info.value.cause == "timed out after 0.5 s"
    assert receiver.requests == []


# --- the three calling styles ----------------------------------------------------------------


def test_style_3_no_loop_at_all(receiver) -> None:
    publisher = AsyncPublisher("NoLoop", ["e"], host=receiver.host, port=receiver.port)
    call = publisher.register()
    assert call.done and call.result().action == "REGISTER"
    publisher.publish("e", "from a plain script")
    assert [n.title for n in receiver.notifications] == ["from a plain script"]
    assert not _nesting.is_applied()  # the private loop needs no nesting


def test_style_3_errors_raise_from_the_call(closed_port) -> None:
    publisher = AsyncPublisher("NoLoop", ["e"], host="127.0.0.1", port=closed_port)
    with pytest.raises(GNTPConnectionRefused):
        publisher.register()


def test_style_3_socket_callback_runs_on_the_private_loop(receiver_factory) -> None:
    server = receiver_factory(callback="CLICKED", callback_delay=0.05)
    publisher = AsyncPublisher("NoLoopCb", ["e"], host=server.host, port=server.port)
    publisher.register()
    done = threading.Event()
    threads: list[str] = []

    def on_click(response: CallbackResponse) -> None:
        threads.append(threading.current_thread().name)
        done.set()

    publisher.publish("e", "click", callback=SocketCallback(on_click=on_click))
    assert done.wait(5)
    assert threads == ["gntp-async"]


@asyncio_test
async def test_style_1_awaited_is_lazy_and_concurrent(receiver, icon_server) -> None:
    """Awaited: nothing happens before the await, and the loop keeps running meanwhile."""
    path = unique("/slow/0.3/lazy.png")
    publisher = AsyncPublisher("Awaited", ["e"], icon=AsyncResource(icon_server.url(path)),
                               host=receiver.host, port=receiver.port)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    before = ticks
    ok = await publisher.register()
    during = ticks - before
    task.cancel()
    assert ok.action == "REGISTER"
    assert during > 1, "the loop was held while the icon was fetched"
    assert receiver.registrations["Awaited"].icon == png(path)
    assert not _nesting.is_applied()


@asyncio_test
async def test_style_1_explicit_coroutines_run_concurrently(receiver) -> None:
    publisher = AsyncPublisher("Gathered", ["e"], host=receiver.host, port=receiver.port)
    await publisher.register_async()
    titles = [f"n{i}" for i in range(20)]
    results = await asyncio.gather(*(publisher.publish_async("e", t) for t in titles))
    assert all(r.action == "NOTIFY" for r in results)
    assert sorted(n.title for n in receiver.notifications) == sorted(titles)


@asyncio_test
async def test_style_1_awaited_errors_raise_at_the_await(closed_port) -> None:
    publisher = AsyncPublisher("X", ["e"], host="127.0.0.1", port=closed_port)
    with pytest.raises(GNTPConnectionRefused):
        await publisher.register()


def bare_call_refused(port: int) -> str:
    """Style 2's errors raise from the call itself (fresh_python)."""
    from gntp_jupyter.gntp import GNTPConnectionRefused
    from gntp_jupyter.gntp.async_gntp import AsyncPublisher

    async def main() -> str:
        publisher = AsyncPublisher("Dead", ["e"], host="127.0.0.1", port=port)
        try:
            publisher.publish("e", "nobody listens")
        except GNTPConnectionRefused as exc:
            return f"raised {type(exc).__name__}"
        return "returned"

    return asyncio.run(main())


def test_style_2_errors_raise_from_the_call(fresh_python, closed_port) -> None:
    assert fresh_python(bare_call_refused, closed_port).result == "raised GNTPConnectionRefused"


def nesting_by_style(port: int) -> list[bool]:
    """Which styles apply nest-asyncio2: only the bare call inside a loop (fresh_python)."""
    from gntp_jupyter.gntp import _nesting
    from gntp_jupyter.gntp.async_gntp import AsyncPublisher

    publisher = AsyncPublisher("Nest", ["e"], host="127.0.0.1", port=port)
    applied = []
    publisher.register()
    applied.append(_nesting.is_applied())

    async def awaited() -> None:
        await publisher.publish("e", "awaited")

    asyncio.run(awaited())
    applied.append(_nesting.is_applied())

    async def bare() -> None:
        publisher.publish("e", "bare")

    asyncio.run(bare())
    applied.append(_nesting.is_applied())
    return applied


def test_nest_asyncio_is_applied_only_for_bare_calls_in_a_loop(fresh_python, receiver) -> None:
    assert fresh_python(nesting_by_style, receiver.port).result == [False, False, True]
    assert [n.title for n in receiver.notifications] == ["awaited", "bare"]


def test_sync_users_do_not_import_tornado_or_nest_asyncio() -> None:
    code = (
        "import sys, gntp_jupyter.gntp\n"
        "print(sorted(m for m in ('tornado', 'nest_asyncio2') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
