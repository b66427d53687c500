"""The async API against real servers on loopback: our receiver and a local HTTP icon host.

Layers: AsyncGNTPClient (every request type, typed errors, socket callbacks) → AsyncResource
(fetch, failures, cache) → AsyncPublisher / AsyncSubscriber in the three calling styles.
Calls made without ``await`` inside a running loop apply nest-asyncio2 process-wide, so
those run in a fresh interpreter (``fresh_python``); this process stays unpatched.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable

import pytest
from icon_server import IconServer, png

from gntp_jupyter.gntp import (
    CallbackResponse,
    Event,
    GNTPAuthError,
    GNTPClient,
    GNTPConnectionRefused,
    GNTPError,
    GNTPProtocolError,
    GNTPResourceError,
    GNTPServerError,
    GNTPTimeoutError,
    GNTPValidationError,
    NotifyRequest,
    RegisterRequest,
    Resource,
    SocketCallback,
    SubscribeRequest,
    Timeout,
    _nesting,
    async_gntp,
)
from gntp_jupyter.gntp.async_gntp import (
    AsyncGNTPClient,
    AsyncPublisher,
    AsyncResource,
    AsyncSubscriber,
    fetch_async_resources_in_parallel,
)
from gntp_jupyter.gntp.options import ClientOptions
from gntp_jupyter.gntp.receiver import Receiver, ReceiverThread
from gntp_jupyter.gntp.resources import image_type

pytestmark = pytest.mark.timeout(60)

asyncio_test = pytest.mark.asyncio


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def options(server: ReceiverThread, **kwargs) -> ClientOptions:
    return ClientOptions.build(host=server.host, port=server.port, **kwargs)


def unique(path: str) -> str:
    """A path no other test fetched: fetched URLs are cached for the whole process."""
    return f"/{uuid.uuid4().hex[:12]}{path}"


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait (bounded) for something that happens on the loop after a call returned."""
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


# --- AsyncGNTPClient -----------------------------------------------------------------------


@asyncio_test
async def test_register_notify_subscribe_reach_the_receiver(receiver_factory) -> None:
    server = receiver_factory(password="s3cret")
    client = AsyncGNTPClient(options(server, password="s3cret", encryption="AES"))
    icon = png("/client-app.png")
    ok = await client.process_request(
        RegisterRequest("AsyncClient", (Event("done", "Done"), Event("off", enabled=False)),
                        Resource(icon))
    )
    assert ok.action == "REGISTER"
    sent = NotifyRequest("AsyncClient", "done", "Träning klar ✓", "line 1\nline 2",
                         priority=2, sticky=True, icon=Resource(png("/client-n.png")))
    ok = await client.process_request(sent)
    assert ok.action == "NOTIFY" and ok.notification_id == sent.notification_id
    ok = await client.process_request(SubscribeRequest("watcher", subscriber_port=23054))
    assert ok.subscription_ttl is not None

    registration = server.registrations["AsyncClient"]
    assert registration.events == {"done": True, "off": False}
    assert registration.icon == icon
    (n,) = server.notifications
    assert (n.title, n.text, n.priority, n.sticky) == ("Träning klar ✓", "line 1\nline 2", 2, True)
    assert n.icon == png("/client-n.png")
    assert [(s.name, s.port) for s in server.subscriptions] == [("watcher", 23054)]


@asyncio_test
async def test_ipv6_loopback() -> None:
    try:
        server = ReceiverThread(Receiver(host="::1")).start()
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback here: {exc}")
    try:
        client = AsyncGNTPClient(host="::1", port=server.port)
        await client.process_request(RegisterRequest("V6", (Event("e"),)))
        assert list(server.registrations) == ["V6"]
    finally:
        server.stop()


@asyncio_test
async def test_server_errors_are_typed(receiver_factory) -> None:
    server = receiver_factory(password="right")
    client = AsyncGNTPClient(options(server, password="right"))
    with pytest.raises(GNTPServerError) as info:
        await client.process_request(NotifyRequest("NeverRegistered", "e", "t"))
    assert info.value.code == 401
    wrong = AsyncGNTPClient(options(server, password="wrong"))
    with pytest.raises(GNTPAuthError):
        await wrong.process_request(RegisterRequest("App", (Event("e"),)))


def failure_cases(receiver_factory, black_hole) -> dict[str, ClientOptions]:
    """One target per way a send can fail, for the sync/async conformance test."""
    silent = receiver_factory(mode="silent")
    half = receiver_factory(mode="close-mid-response")
    trickle = receiver_factory(mode="trickle")
    fast = Timeout(connect=2, response=0.3)
    return {
        "silent receiver": options(silent, timeout=fast),
        "trickling receiver": options(trickle, timeout=fast),
        "closes mid-response": options(half, timeout=fast),
        "connection refused": ClientOptions.build(host="127.0.0.1", port=closed_port()),
        "black-holed host": ClientOptions.build(
            host=black_hole[0], port=black_hole[1], timeout=Timeout(connect=60, response=0.3)
        ),
    }


@asyncio_test
async def test_failures_match_the_sync_client(receiver_factory, black_hole) -> None:
    expected_types = {
        "black-holed host": GNTPTimeoutError,
        "silent receiver": GNTPTimeoutError,
        "trickling receiver": GNTPTimeoutError,
        "closes mid-response": GNTPProtocolError,
        "connection refused": GNTPConnectionRefused,
    }
    request = RegisterRequest("Failing", (Event("e"),))
    for case, opts in failure_cases(receiver_factory, black_hole).items():
        with pytest.raises(GNTPError) as async_info:
            await AsyncGNTPClient(opts).process_request(request)
        sync_error = await asyncio.to_thread(_sync_error, opts, request)
        assert type(async_info.value) is expected_types[case], case
        assert type(sync_error) is type(async_info.value), case
        assert str(sync_error) == str(async_info.value), case


def _sync_error(opts: ClientOptions, request: RegisterRequest) -> GNTPError:
    try:
        GNTPClient(opts).process_request(request)
    except GNTPError as exc:
        return exc
    raise AssertionError("the sync client did not fail")


@asyncio_test
async def test_response_timeout_message_says_what_happened(receiver_factory) -> None:
    server = receiver_factory(mode="silent")
    client = AsyncGNTPClient(options(server, timeout=0.2))
    with pytest.raises(GNTPTimeoutError, match="accepted the connection but sent no answer"):
        await client.process_request(RegisterRequest("Slow", (Event("e"),)))


def _callback_request(app: str = "Cb") -> NotifyRequest:
    return NotifyRequest(app, "e", "click me", callback_context="ctx-1",
                         callback_context_type="string")


@pytest.mark.parametrize("same_chunk", [False, True], ids=["separate", "same-chunk"])
@asyncio_test
async def test_socket_callback_is_dispatched_on_the_loop(receiver_factory, same_chunk) -> None:
    server = receiver_factory(callback="CLICKED", callback_delay=0.05,
                              callback_same_chunk=same_chunk)
    client = AsyncGNTPClient(options(server))
    await client.process_request(RegisterRequest("Cb", (Event("e"),)))
    loop = asyncio.get_running_loop()
    seen: list[tuple[str | None, str | None, bool]] = []
    arrived = asyncio.Event()

    def on_click(response: CallbackResponse) -> None:
        seen.append((response.result, response.context, asyncio.get_running_loop() is loop))
        arrived.set()

    ok = await client.process_request(_callback_request(), SocketCallback(on_click=on_click))
    assert ok.action == "NOTIFY"
    await asyncio.wait_for(arrived.wait(), 5)
    assert seen == [("CLICKED", "ctx-1", True)]


@asyncio_test
async def test_callback_wait_is_bounded(receiver_factory) -> None:
    server = receiver_factory(callback="CLOSED", callback_delay=2.0)
    client = AsyncGNTPClient(options(server, timeout=Timeout(callback=0.1)))
    await client.process_request(RegisterRequest("Cb", (Event("e"),)))
    seen: list[CallbackResponse] = []
    await client.process_request(_callback_request(), SocketCallback(on_any=seen.append))
    await until(lambda: not async_gntp._background)  # the reader gave up and closed
    assert seen == []


@asyncio_test
async def test_server_that_closes_after_ok_ends_the_callback_wait(receiver_factory) -> None:
    server = receiver_factory(style="growl-for-linux")  # -OK, then close; never calls back
    client = AsyncGNTPClient(options(server))
    await client.process_request(RegisterRequest("Cb", (Event("e"),)))
    seen: list[CallbackResponse] = []
    await client.process_request(_callback_request(), SocketCallback(on_any=seen.append))
    await until(lambda: not async_gntp._background)
    assert seen == []


def test_sync_client_dispatches_a_callback_that_came_with_the_ok(receiver_factory) -> None:
    """The -CALLBACK in the same read as -OK (fixed in client.py alongside this module)."""
    server = receiver_factory(callback="TIMEDOUT", callback_same_chunk=True)
    client = GNTPClient(options(server))
    client.process_request(RegisterRequest("Cb", (Event("e"),)))
    seen: list[str | None] = []
    on_timeout = SocketCallback(on_timeout=lambda r: seen.append(r.result))
    client.process_request(_callback_request(), on_timeout)
    assert seen == ["TIMEDOUT"]


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
async def test_unreachable_and_unresolvable_hosts() -> None:
    refused = AsyncResource(f"http://127.0.0.1:{closed_port()}/x.png")
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


# --- AsyncPublisher: icons, retries, subscriber ---------------------------------------------


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


@asyncio_test
async def test_a_refusal_sent_while_the_request_is_still_written_is_reported(
    refusing_server,
) -> None:
    server = refusing_server
    publisher = AsyncPublisher("Big", ["e"], host=server.host, port=server.port, timeout=5)
    with pytest.raises(GNTPServerError) as info:
        await publisher.publish("e", "big", "x" * 20_000_000)
    assert (info.value.code, info.value.description) == (300, "request is larger than 65536 bytes")


@asyncio_test
async def test_publish_re_registers_once_after_401(receiver) -> None:
    publisher = AsyncPublisher("Forgotten", ["e"], host=receiver.host, port=receiver.port)
    ok = await publisher.publish("e", "after restart")  # never registered: 401, register, retry
    assert ok.action == "NOTIFY"
    assert [(r.message_type, r.code) for r in receiver.rejections] == [("NOTIFY", 401)]
    assert [r.message_type for r in receiver.requests] == ["REGISTER", "NOTIFY"]
    assert [n.title for n in receiver.notifications] == ["after restart"]


@asyncio_test
async def test_publisher_socket_callback(receiver_factory) -> None:
    server = receiver_factory(callback="CLICKED")
    publisher = AsyncPublisher("CbPub", ["e"], host=server.host, port=server.port)
    await publisher.register()
    clicked = asyncio.Event()
    await publisher.publish("e", "click", callback=SocketCallback(on_click=lambda r: clicked.set()))
    await asyncio.wait_for(clicked.wait(), 5)


@asyncio_test
async def test_async_subscriber(receiver_factory) -> None:
    server = receiver_factory(password="pw")
    subscriber = AsyncSubscriber("Watcher", password="pw", host=server.host, port=server.port,
                                 subscriber_port=23099)
    ok = await subscriber.subscribe()
    assert ok.subscription_ttl is not None
    assert [(s.name, s.port) for s in server.subscriptions] == [("Watcher", 23099)]


# --- the three calling styles ----------------------------------------------------------------


def test_style_3_no_loop_at_all(receiver) -> None:
    publisher = AsyncPublisher("NoLoop", ["e"], host=receiver.host, port=receiver.port)
    call = publisher.register()
    assert call.done and call.result().action == "REGISTER"
    publisher.publish("e", "from a plain script")
    assert [n.title for n in receiver.notifications] == ["from a plain script"]
    assert not _nesting.is_applied()  # the private loop needs no nesting


def test_style_3_errors_raise_from_the_call() -> None:
    publisher = AsyncPublisher("NoLoop", ["e"], host="127.0.0.1", port=closed_port())
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
async def test_style_1_awaited_errors_raise_at_the_await() -> None:
    publisher = AsyncPublisher("X", ["e"], host="127.0.0.1", port=closed_port())
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


def test_style_2_errors_raise_from_the_call(fresh_python) -> None:
    assert fresh_python(bare_call_refused, closed_port()).result == "raised GNTPConnectionRefused"


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
