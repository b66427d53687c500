"""One conformance suite for both transports, against our receiver on loopback.

Every behaviour here is written once and runs twice: ``transport`` is "sync" (Publisher,
Subscriber, GNTPClient on blocking sockets) or "async" (AsyncPublisher, AsyncSubscriber,
AsyncGNTPClient on the asyncio loop). The adapter gives both the same blocking face: the
sync transport is called directly; the async one is awaited (``await p.publish(...)``) on
an event loop of its own in a thread, which keeps running between calls, so socket
callbacks arrive there as they would in an application. Only public API is used.

The receiver is strict (it verifies key hashes, decrypts, refuses what Growl for Windows
refuses), so what passes here is what a real server accepts. What only one transport has
is tested in its own file: the callback thread in test_client.py; icon fetching on the
loop and the three calling styles in test_async_gntp.py.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import traceback
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest

from gntp_jupyter.gntp import (
    CallbackResponse,
    ClientOptions,
    Event,
    GNTPAuthError,
    GNTPClient,
    GNTPConnectionError,
    GNTPConnectionRefused,
    GNTPError,
    GNTPProtocolError,
    GNTPServerError,
    GNTPTimeoutError,
    GNTPValidationError,
    NotifyRequest,
    OKResponse,
    Publisher,
    RegisterRequest,
    Resource,
    Security,
    SocketCallback,
    Subscriber,
    SubscribeRequest,
    Timeout,
)
from gntp_jupyter.gntp.async_gntp import AsyncGNTPClient, AsyncPublisher, AsyncSubscriber

pytestmark = pytest.mark.timeout(60)

ICON = b"\x89PNG\r\n\x1a\n\x00\x00\r\n\r\n" + bytes(range(256)) * 40


# --- the adapter ------------------------------------------------------------------------


def _address(server: Any) -> dict[str, Any]:
    """``host``/``port`` of a receiver (or anything with both), or nothing for None."""
    return {} if server is None else {"host": server.host, "port": server.port}


class SyncTransport:
    """Publisher, Subscriber and GNTPClient, called as they are."""

    name = "sync"

    def publisher(self, server: Any = None, events=("done",), name: str = "App",
                  **options: Any) -> Publisher:
        return Publisher(name, list(events), **_address(server), **options)

    def subscriber(self, server: Any = None, name: str = "Kernel", **options: Any) -> Subscriber:
        return Subscriber(name, **_address(server), **options)

    def client(self, server: Any = None, **options: Any) -> GNTPClient:
        return GNTPClient(**_address(server), **options)

    def real(self, made: Any) -> Any:
        """The transport's own object behind what publisher()/subscriber() returned."""
        return made

    def close(self) -> None:
        pass


class _LoopThread:
    """An asyncio loop running in a thread until close(); run() awaits a coroutine there."""

    def __init__(self) -> None:
        self._ready = threading.Event()
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),),
                                         name="test-transport-loop", daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "the test loop did not start"

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        await self._stop.wait()  # then asyncio.run cancels what is left (callback readers)

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


class _Awaited:
    """An async publisher/subscriber/client whose methods block until awaited on the loop:
    ``p.publish(...)`` returns once ``await p.publish(...)`` returned there."""

    def __init__(self, loop: _LoopThread, wrapped: Any) -> None:
        self._loop = loop
        self.wrapped = wrapped

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.wrapped, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            async def awaited() -> Any:
                return await method(*args, **kwargs)

            return self._loop.run(awaited())

        return call


class AsyncTransport:
    """AsyncPublisher, AsyncSubscriber and AsyncGNTPClient, made and awaited on a loop."""

    name = "async"

    def __init__(self) -> None:
        self._loop = _LoopThread()

    def _make(self, cls: type, *args: Any, **kwargs: Any) -> _Awaited:
        async def make() -> Any:  # on the loop, where an application would make it
            return cls(*args, **kwargs)

        return _Awaited(self._loop, self._loop.run(make()))

    def publisher(self, server: Any = None, events=("done",), name: str = "App",
                  **options: Any) -> _Awaited:
        return self._make(AsyncPublisher, name, list(events), **_address(server), **options)

    def subscriber(self, server: Any = None, name: str = "Kernel", **options: Any) -> _Awaited:
        return self._make(AsyncSubscriber, name, **_address(server), **options)

    def client(self, server: Any = None, **options: Any) -> _Awaited:
        return self._make(AsyncGNTPClient, **_address(server), **options)

    def real(self, made: _Awaited) -> Any:
        return made.wrapped

    def close(self) -> None:
        self._loop.close()


Transport = SyncTransport | AsyncTransport
TRANSPORTS = {"sync": SyncTransport, "async": AsyncTransport}


@pytest.fixture(params=list(TRANSPORTS))
def transport(request: pytest.FixtureRequest) -> Iterator[Transport]:
    """Each transport in turn, behind the same blocking calls."""
    made = TRANSPORTS[request.param]()
    yield made
    made.close()


@pytest.fixture
def both_transports() -> Iterator[list[Transport]]:
    """Both at once, for comparing them with each other."""
    made = [cls() for cls in TRANSPORTS.values()]
    yield made
    for t in made:
        t.close()


# --- helpers ----------------------------------------------------------------------------


class Recorder:
    """A SocketCallback whose handlers note what ran; ``done`` is set by on_any."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []
        self.done = threading.Event()

    def handler(self, name: str) -> Callable[[CallbackResponse], None]:
        def run(response: CallbackResponse) -> None:
            self.calls.append((name, response.result))
            if name == "any":
                self.done.set()
        return run

    def callback(self, context: str = "cell-9") -> SocketCallback:
        return SocketCallback(
            on_click=self.handler("click"), on_close=self.handler("close"),
            on_timeout=self.handler("timeout"), on_any=self.handler("any"),
            context=context, context_type="cell",
        )


_HELD = {"01", "08"}  # ESTABLISHED, CLOSE_WAIT: the client has not closed its end


def sockets_held_to(port: int) -> int:
    """Client sockets on this machine still open to loopback ``port`` (the kernel's table).

    The port is a receiver's own free port, so every such socket is the client's.
    """
    held = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            next(rows)
            for row in rows:
                fields = row.split()
                if int(fields[2].rsplit(":", 1)[1], 16) == port and fields[3] in _HELD:
                    held += 1
    return held


def until(predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Wait (bounded) for something the client does after a call returned."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(0.01)


# --- every request type -------------------------------------------------------------------


def test_register_then_publish(transport, receiver):
    p = transport.publisher(receiver, [Event("done", "Cell finished"), "failed"])
    assert p.register().action == "REGISTER"
    response = p.publish(
        "done", "Finished", "in 3 s", id="n-1", sticky=True, priority=1,
        coalescing_id="cell-4", headers={"Data-Cell": "4"},
    )
    assert isinstance(response, OKResponse)
    assert response.notification_id == "n-1"
    assert response.data_headers == {"Data-Cell": "4"}

    reg = receiver.registrations["App"]
    assert reg.events == {"done": True, "failed": True}
    assert reg.display_names["done"] == "Cell finished"
    (n,) = receiver.notifications
    assert (n.name, n.title, n.text, n.id) == ("done", "Finished", "in 3 s", "n-1")
    assert (n.sticky, n.priority, n.coalescing_id) == (True, 1, "cell-4")


def test_subscribe(transport, receiver_factory):
    server = receiver_factory(password="pw")
    sub = transport.subscriber(server, "Kernel", id="sub-7", subscriber_port=23054,
                               password="pw")
    response = sub.subscribe()
    assert response.action == "SUBSCRIBE"
    assert response.subscription_ttl == 3600
    (got,) = server.subscriptions
    assert (got.id, got.name, got.port) == ("sub-7", "Kernel", 23054)


def test_client_sends_request_values(transport, receiver_factory):
    server = receiver_factory(password="s3cret")
    client = transport.client(server, password="s3cret", encryption="AES")
    register = RegisterRequest("Direct", (Event("done", "Done"), Event("off", enabled=False)),
                               Resource(ICON))
    assert client.process_request(register).action == "REGISTER"
    sent = NotifyRequest("Direct", "done", "Träning klar ✓", "line 1\nline 2",
                         priority=2, sticky=True, icon=Resource(ICON[::-1]))
    ok = client.process_request(sent)
    assert ok.action == "NOTIFY" and ok.notification_id == sent.notification_id
    ok = client.process_request(SubscribeRequest("watcher", subscriber_port=23054))
    assert ok.subscription_ttl is not None

    registration = server.registrations["Direct"]
    assert registration.events == {"done": True, "off": False}
    assert registration.icon == ICON
    (n,) = server.notifications
    assert (n.title, n.text, n.priority, n.sticky) == ("Träning klar ✓", "line 1\nline 2", 2, True)
    assert n.icon == ICON[::-1]
    assert [(s.name, s.port) for s in server.subscriptions] == [("watcher", 23054)]
    assert {r.encryption for r in server.requests} == {"AES"}


# --- hashes and ciphers -------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["MD5", "SHA1", "SHA256", "SHA512"])
def test_every_key_hash(transport, receiver_factory, alg):
    server = receiver_factory(password="s3cret")
    p = transport.publisher(server, password="s3cret", hash_algorithm=alg)
    p.register()
    p.publish("done", "hashed")
    assert [(r.hash_algorithm, r.encryption) for r in server.requests] == [(alg, None)] * 2
    assert server.notifications[0].title == "hashed"


CIPHERS = [
    ("AES", "SHA256"), ("AES", "SHA512"), ("3DES", "SHA256"), ("3DES", "SHA512"),
    ("DES", "SHA256"), ("DES", "SHA512"), ("DES", "MD5"), ("DES", "SHA1"),
]


@pytest.mark.parametrize(("cipher", "alg"), CIPHERS)
def test_every_cipher(transport, receiver_factory, cipher, alg):
    server = receiver_factory(password="s3cret")
    p = transport.publisher(server, password="s3cret", hash_algorithm=alg, encryption=cipher,
                            icon=Resource(ICON))
    p.register()
    p.publish("done", "encrypted ✓", "secret text", icon=Resource(ICON[::-1]))
    assert {(r.encryption, r.hash_algorithm) for r in server.requests} == {(cipher, alg)}
    assert server.registrations["App"].icon == ICON
    (n,) = server.notifications
    assert (n.title, n.text, n.icon) == ("encrypted ✓", "secret text", ICON[::-1])


@pytest.mark.parametrize("cipher", ["AES", "3DES"])
@pytest.mark.parametrize("alg", ["MD5", "SHA1"])
def test_short_keys_are_refused_before_anything_is_sent(transport, receiver_factory,
                                                        cipher, alg):
    server = receiver_factory(password="s3cret")
    with pytest.raises(GNTPValidationError, match="SHA256 or SHA512"):
        transport.publisher(server, password="s3cret", hash_algorithm=alg, encryption=cipher)
    with pytest.raises(GNTPValidationError):
        transport.client(server, password="s3cret", hash_algorithm=alg, encryption=cipher)
    assert server.connections == 0


# --- what travels -------------------------------------------------------------------------


def test_binary_icons_from_bytes_and_from_a_file(transport, receiver, tmp_path):
    path = tmp_path / "icon.png"
    other = b"GIF89a" + ICON  # a file must hold an image
    path.write_bytes(other)
    p = transport.publisher(receiver, [Event("done", icon=Resource(path))], icon=Resource(ICON))
    p.register()
    p.publish("done", "with icon", icon=Resource(path))
    p.publish("done", "with other icon", icon=Resource(ICON + b"x"))
    reg = receiver.registrations["App"]
    assert reg.icon == ICON and reg.event_icons["done"] == other
    assert [n.icon for n in receiver.notifications] == [other, ICON + b"x"]


def test_the_same_icon_twice_gets_one_id_per_reference(transport, receiver):
    icon = Resource(ICON)
    transport.publisher(receiver, [Event("done", icon=icon)], icon=icon).register()
    (request,) = receiver.requests
    app_ref, event_ref = request.headers["Application-Icon"], request.blocks[1]["Notification-Icon"]
    assert app_ref != event_ref
    assert len(request.resources) == 2
    reg = receiver.registrations["App"]
    assert reg.icon == ICON and reg.event_icons["done"] == ICON


@pytest.mark.parametrize(
    ("title", "text", "arrived"),
    [
        ("Grüße 🎉 完了", "ünïcödé — ✓", ("Grüße 🎉 完了", "ünïcödé — ✓")),
        ("nul\x00", "a\x00b\x1bc\x7fd\x85e\tf\ng",  # controls arrive as a visible mark
         ("nul\ufffd", "a\ufffdb\ufffdc\ufffdd\ufffde\tf\ng")),
    ],
    ids=["unicode", "control-characters"],
)
def test_text_arrives_as_sent_or_marked(transport, receiver, title, text, arrived):
    p = transport.publisher(receiver)
    p.register()
    p.publish("done", title, text)
    (n,) = receiver.notifications
    assert (n.title, n.text) == arrived


def test_cr_and_lf_in_text_arrive_as_lf_and_inject_nothing(transport, receiver):
    p = transport.publisher(receiver)
    p.register()
    p.publish("done", "title\r\nX-Title-Injected: 1", "one\r\ntwo\rthree\nX-Injected: yes")
    (n,) = receiver.notifications
    assert n.text == "one\ntwo\nthree\nX-Injected: yes"
    assert n.title == "title\nX-Title-Injected: 1"
    assert "X-Injected" not in n.headers and "X-Title-Injected" not in n.headers


def test_url_callback_target_arrives(transport, receiver_factory):
    server = receiver_factory(callback="CLICKED")
    p = transport.publisher(server)
    p.register()
    p.publish("done", "open me", callback="https://example.org/run/4")
    (n,) = server.notifications
    assert n.callback_target == "https://example.org/run/4"
    assert n.callback_context is None


# --- socket callbacks ---------------------------------------------------------------------

HANDLERS = {"CLICKED": "click", "CLOSED": "close", "TIMEDOUT": "timeout"}


@pytest.mark.parametrize("same_chunk", [False, True], ids=["separate", "same-chunk"])
@pytest.mark.parametrize("result", list(HANDLERS))
def test_socket_callbacks_are_dispatched(transport, receiver_factory, result, same_chunk):
    server = receiver_factory(callback=result, callback_same_chunk=same_chunk,
                              callback_delay=0.05)
    p = transport.publisher(server)
    p.register()
    recorder = Recorder()
    response = p.publish("done", "click me", callback=recorder.callback())
    assert isinstance(response, OKResponse)
    assert recorder.done.wait(10), "no callback dispatched"
    assert recorder.calls == [(HANDLERS[result], result), ("any", result)]
    (n,) = server.notifications
    assert (n.callback_context, n.callback_context_type) == ("cell-9", "cell")


def test_growl_mac_extra_crlf_is_tolerated(transport, receiver_factory):
    server = receiver_factory(style="growl-mac", callback="CLOSED")
    p = transport.publisher(server)
    p.register()
    recorder = Recorder()
    p.publish("done", "mac", callback=recorder.callback())
    assert recorder.done.wait(10)
    assert recorder.calls == [("close", "CLOSED"), ("any", "CLOSED")]


def test_growl_for_linux_style_never_calls_back(transport, receiver_factory):
    server = receiver_factory(style="growl-for-linux", callback="CLICKED")
    p = transport.publisher(server)
    p.register()
    recorder = Recorder()
    assert isinstance(p.publish("done", "gol", callback=recorder.callback()), OKResponse)
    # The server closes right after -OK: the client sees EOF and lets the socket go.
    until(lambda: sockets_held_to(server.port) == 0, "the client closed its socket")
    assert recorder.calls == []


def test_callback_wait_is_bounded_by_its_timeout(transport, receiver_factory):
    """A callback that comes later than ``timeout.callback`` is not waited for."""
    server = receiver_factory(callback="CLICKED", callback_delay=30.0)
    p = transport.publisher(server, timeout=Timeout(callback=0.2))
    p.register()
    recorder = Recorder()
    p.publish("done", "late", callback=recorder.callback())
    until(lambda: sockets_held_to(server.port) == 0, "the client gave up and closed")
    assert recorder.calls == []


# --- errors -------------------------------------------------------------------------------


def test_unknown_application_is_registered_once_and_retried(transport, receiver):
    ok = transport.publisher(receiver).publish("done", "before register")  # 401 -> REGISTER
    assert ok.action == "NOTIFY"
    assert [(r.message_type, r.code) for r in receiver.rejections] == [("NOTIFY", 401)]
    assert [r.message_type for r in receiver.requests] == ["REGISTER", "NOTIFY"]
    assert [n.title for n in receiver.notifications] == ["before register"]


def test_unknown_type_is_registered_once_and_retried(transport, receiver):
    transport.publisher(receiver, ["done"]).register()
    transport.publisher(receiver, ["done", "new"]).publish("new", "a new type")  # 402 -> ...
    assert [(r.message_type, r.code) for r in receiver.rejections] == [("NOTIFY", 402)]
    assert [r.message_type for r in receiver.requests] == ["REGISTER", "REGISTER", "NOTIFY"]
    assert receiver.registrations["App"].events == {"done": True, "new": True}


def test_server_errors_carry_code_and_description(transport, receiver_factory):
    strict = receiver_factory()
    with pytest.raises(GNTPServerError) as info:
        transport.client(strict).process_request(NotifyRequest("Nobody", "done", "t"))
    assert info.value.code == 401
    assert "Nobody" in info.value.description and "register" in str(info.value)

    mac = receiver_factory(style="growl-mac")
    p = transport.publisher(mac, [Event("off", enabled=False)])
    p.register()
    with pytest.raises(GNTPServerError) as info:
        p.publish("off", "disabled")
    assert info.value.code == 404 and "disabled" in info.value.description

    gol_like = receiver_factory(style="growl-for-linux")
    with pytest.raises(GNTPServerError) as info:
        transport.client(gol_like).process_request(NotifyRequest("Nobody", "done", "t"))
    assert info.value.code is None and info.value.description == "Invalid data"


@pytest.mark.parametrize("password", ["wrong", None], ids=["wrong", "missing"])
def test_refused_password_is_an_auth_error(transport, receiver_factory, password):
    server = receiver_factory(password="right")
    with pytest.raises(GNTPAuthError) as info:
        transport.publisher(server, password=password).register()
    assert info.value.code == 400
    assert server.registrations == {}


def test_silent_server_times_out(transport, receiver_factory):
    server = receiver_factory(mode="silent")
    with pytest.raises(GNTPTimeoutError, match=r"accepted the connection but sent no answer "
                                                r"within 0\.5 s"):
        transport.publisher(server, timeout=0.5).register()
    assert server.wait_for_requests(1)[0].message_type == "REGISTER"


def test_trickling_server_times_out(transport, receiver_factory):
    """The response timeout bounds the whole reply, not each read: a server sending one
    byte every 0.1 s would otherwise complete its ~60-byte -OK after about 6 s."""
    server = receiver_factory(mode="trickle")
    with pytest.raises(GNTPTimeoutError, match=r"sent no answer within 0\.5 s"):
        transport.publisher(server, timeout=0.5).register()


def test_black_holed_host_times_out_on_connect(transport, black_hole):
    host, port = black_hole
    with pytest.raises(GNTPTimeoutError, match=r"could not connect to .* within 0\.5 s"):
        transport.publisher(host=host, port=port, timeout=0.5).register()


def test_timeout_bounds_the_whole_request_connect_included(transport, black_hole):
    """``timeout=Timeout(connect=60, response=0.5)``: the request as a whole gets 0.5 s."""
    host, port = black_hole
    slow_connect = Timeout(connect=60, response=0.5)
    with pytest.raises(GNTPTimeoutError, match=r"within 0\.5 s"):
        transport.publisher(host=host, port=port, timeout=slow_connect).register()


def test_close_mid_response_is_a_protocol_error(transport, receiver_factory):
    server = receiver_factory(mode="close-mid-response")
    with pytest.raises(GNTPProtocolError):
        transport.publisher(server).register()


def test_nothing_listening_is_connection_refused(transport, closed_port):
    with pytest.raises(GNTPConnectionRefused) as info:
        transport.publisher(host="127.0.0.1", port=closed_port, timeout=5).register()
    assert f"nothing is listening on 127.0.0.1:{closed_port}" in str(info.value)
    assert (info.value.host, info.value.port) == ("127.0.0.1", closed_port)


@pytest.mark.parametrize("event, title, options", [
    ("done", "T", {"priority": 3}), ("done", "", {}), ("nope", "T", {}),
    ("done", "T", {"callback": "not a url"}),
])
def test_bad_arguments_are_reported_as_such_whether_or_not_a_server_listens(
        transport, receiver, closed_port, event, title, options):
    # Bad arguments win over a refused connect, and send nothing to a live server.
    down = transport.publisher(host="127.0.0.1", port=closed_port, timeout=5)
    up = transport.publisher(receiver)
    up.register()
    for publisher in (down, up):
        with pytest.raises(GNTPValidationError):
            publisher.publish(event, title, **options)
    up.publish("done", "after")
    assert [n.title for n in receiver.notifications] == ["after"]


def test_ipv6_loopback(transport, receiver_factory):
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        server = receiver_factory(host="::1")
    except OSError as exc:
        pytest.skip(f"cannot listen on ::1: {exc}")
    p = transport.publisher(host="::1", port=server.port, password=None)
    p.register()
    p.publish("done", "over v6")
    assert list(server.registrations) == ["App"]
    assert [n.title for n in server.wait_for(1)] == ["over v6"]


def test_a_host_name_is_looked_up(transport, receiver):
    """"localhost" may give ::1 first, where nothing listens: the next address is tried."""
    p = transport.publisher(host="localhost", port=receiver.port, timeout=5)
    p.register()
    p.publish("done", "by name")
    assert [n.title for n in receiver.wait_for(1)] == ["by name"]


def test_a_refusal_sent_while_the_request_is_still_written_is_reported(transport,
                                                                       refusing_server):
    p = transport.publisher(refusing_server, timeout=5)
    with pytest.raises(GNTPServerError) as info:
        p.publish("done", "big", "x" * 20_000_000)
    assert (info.value.code, info.value.description) == (300, "request is larger than 65536 bytes")


def test_the_real_receiver_refuses_a_large_request_with_its_answer(transport, receiver_factory):
    server = receiver_factory(max_request_size=1_000_000)
    p = transport.publisher(server, timeout=5)
    p.register()
    with pytest.raises(GNTPServerError) as info:
        p.publish("done", "big", "x" * 20_000_000)
    assert info.value.code == 300


# One target per way a send can fail, and the error both transports raise for it.
FAILURES = {
    "silent receiver": GNTPTimeoutError,
    "trickling receiver": GNTPTimeoutError,
    "closes mid-response": GNTPProtocolError,
    "connection refused": GNTPConnectionRefused,
    "black-holed host": GNTPTimeoutError,
    "unresolvable host": GNTPConnectionError,
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_both_transports_fail_alike(both_transports, receiver_factory, black_hole,
                                    closed_port, case):
    """The same failure is the same exception with the same words, whichever transport."""
    fast = Timeout(connect=2, response=0.3)
    modes = {"silent receiver": "silent", "trickling receiver": "trickle",
             "closes mid-response": "close-mid-response"}
    if case in modes:
        target = {**_address(receiver_factory(mode=modes[case])), "timeout": fast}
    elif case == "connection refused":
        target = {"host": "127.0.0.1", "port": closed_port}
    elif case == "unresolvable host":
        # A 64-character label is refused by the IDNA codec: no DNS query leaves the machine.
        target = {"host": f"{'a' * 64}.invalid", "port": closed_port}
    else:
        target = {"host": black_hole[0], "port": black_hole[1],
                  "timeout": Timeout(connect=60, response=0.3)}
    errors = []
    for t in both_transports:
        with pytest.raises(GNTPError) as info:
            t.client(**target).process_request(RegisterRequest("Failing", (Event("e"),)))
        errors.append(info.value)
    sync_error, async_error = errors
    assert type(sync_error) is type(async_error) is FAILURES[case]
    assert str(sync_error) == str(async_error)


# --- the password stays secret ------------------------------------------------------------

SECRET = "hunter2-Ω-secret"


def _texts(exc: BaseException) -> list[str]:
    return [str(exc), repr(exc), "".join(traceback.format_exception(exc))]


def test_password_is_in_no_repr_or_str(transport):
    p = transport.real(transport.publisher(password=SECRET, encryption="AES"))
    sub = transport.real(transport.subscriber(name="S", password=SECRET))
    options = ClientOptions.build(password=SECRET, encryption="3DES", hash_algorithm="SHA512")
    values = [p, p.options, p.options.security, sub, sub.options, options, options.security,
              Security(SECRET), Timeout()]
    for value in values:
        assert SECRET not in repr(value) and SECRET not in str(value)


def test_password_is_in_no_exception_text(transport, receiver_factory, closed_port):
    failures: list[GNTPError] = []
    strict = receiver_factory(password="other")
    silent = receiver_factory(mode="silent")
    broken = receiver_factory(mode="close-mid-response")
    publisher = transport.publisher
    attempts = [
        lambda: publisher(strict, password=SECRET).register(),
        lambda: publisher(strict, password=SECRET, encryption="AES").register(),
        lambda: publisher(silent, password=SECRET, timeout=0.3).register(),
        lambda: publisher(broken, password=SECRET).register(),
        lambda: publisher(host="127.0.0.1", port=closed_port, password=SECRET).register(),
        lambda: publisher(password=SECRET, hash_algorithm="MD5", encryption="AES"),
        lambda: publisher(password=SECRET, encryption="RC4"),
    ]
    for attempt in attempts:
        with pytest.raises(GNTPError) as info:
            attempt()
        failures.append(info.value)
    assert len({type(f) for f in failures}) >= 5  # auth, timeout, protocol, refused, validation
    for failure in failures:
        for text in _texts(failure):
            assert SECRET not in text
