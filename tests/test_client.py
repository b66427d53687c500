"""The blocking Publisher / Subscriber / GNTPClient against our receiver on loopback.

The receiver is strict (it verifies key hashes, decrypts, refuses what Growl for
Windows refuses), so what passes here is what a real server accepts.
"""

from __future__ import annotations

import socket
import threading
import time
import traceback

import pytest

from gntp_jupyter.gntp import (
    ClientOptions,
    Event,
    GNTPAuthError,
    GNTPClient,
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
    Timeout,
)
from gntp_jupyter.gntp.client import callback_waiter

ICON = b"\x89PNG\r\n\x1a\n\x00\x00\r\n\r\n" + bytes(range(256)) * 40


def publisher(server, events=("done",), name="App", **kwargs) -> Publisher:
    return Publisher(name, list(events), host=server.host, port=server.port, **kwargs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- every request type ----------------------------------------------------------------


def test_register_then_publish(receiver):
    p = publisher(receiver, [Event("done", "Cell finished"), "failed"])
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


def test_subscribe(receiver_factory):
    server = receiver_factory(password="pw")
    sub = Subscriber("Kernel", id="sub-7", subscriber_port=23054, host=server.host,
                     port=server.port, password="pw")
    response = sub.subscribe()
    assert response.action == "SUBSCRIBE"
    assert response.subscription_ttl == 3600
    (got,) = server.subscriptions
    assert (got.id, got.name, got.port) == ("sub-7", "Kernel", 23054)


def test_gntp_client_sends_a_request_value(receiver):
    client = GNTPClient(host=receiver.host, port=receiver.port)
    client.process_request(RegisterRequest("App", (Event("done"),)))
    client.process_request(NotifyRequest("App", "done", "Direct"))
    assert [n.title for n in receiver.notifications] == ["Direct"]


# -- hashes and ciphers ----------------------------------------------------------------


@pytest.mark.parametrize("alg", ["MD5", "SHA1", "SHA256", "SHA512"])
def test_every_key_hash(receiver_factory, alg):
    server = receiver_factory(password="s3cret")
    p = publisher(server, password="s3cret", hash_algorithm=alg)
    p.register()
    p.publish("done", "hashed")
    assert [(r.hash_algorithm, r.encryption) for r in server.requests] == [(alg, None)] * 2
    assert server.notifications[0].title == "hashed"


CIPHERS = [
    ("AES", "SHA256"), ("AES", "SHA512"), ("3DES", "SHA256"), ("3DES", "SHA512"),
    ("DES", "SHA256"), ("DES", "SHA512"), ("DES", "MD5"), ("DES", "SHA1"),
]


@pytest.mark.parametrize(("cipher", "alg"), CIPHERS)
def test_every_cipher(receiver_factory, cipher, alg):
    server = receiver_factory(password="s3cret")
    p = publisher(server, password="s3cret", hash_algorithm=alg, encryption=cipher,
                  icon=Resource(ICON))
    p.register()
    p.publish("done", "encrypted ✓", "secret text", icon=Resource(ICON[::-1]))
    assert {(r.encryption, r.hash_algorithm) for r in server.requests} == {(cipher, alg)}
    assert server.registrations["App"].icon == ICON
    (n,) = server.notifications
    assert (n.title, n.text, n.icon) == ("encrypted ✓", "secret text", ICON[::-1])


@pytest.mark.parametrize("cipher", ["AES", "3DES"])
@pytest.mark.parametrize("alg", ["MD5", "SHA1"])
def test_short_keys_are_refused_before_anything_is_sent(receiver_factory, cipher, alg):
    server = receiver_factory(password="s3cret")
    with pytest.raises(GNTPValidationError, match="SHA256 or SHA512"):
        publisher(server, password="s3cret", hash_algorithm=alg, encryption=cipher)
    with pytest.raises(GNTPValidationError):
        GNTPClient(host=server.host, port=server.port, password="s3cret",
                   hash_algorithm=alg, encryption=cipher)
    assert server.connections == 0


# -- what travels ----------------------------------------------------------------------


def test_binary_icons_from_bytes_and_from_a_file(receiver, tmp_path):
    path = tmp_path / "icon.png"
    other = b"GIF89a" + ICON  # a file must hold an image
    path.write_bytes(other)
    p = publisher(receiver, [Event("done", icon=Resource(path))], icon=Resource(ICON))
    p.register()
    p.publish("done", "with icon", icon=Resource(path))
    p.publish("done", "with other icon", icon=Resource(ICON + b"x"))
    reg = receiver.registrations["App"]
    assert reg.icon == ICON and reg.event_icons["done"] == other
    assert [n.icon for n in receiver.notifications] == [other, ICON + b"x"]


def test_the_same_icon_twice_gets_one_id_per_reference(receiver):
    icon = Resource(ICON)
    publisher(receiver, [Event("done", icon=icon)], icon=icon).register()
    (request,) = receiver.requests
    app_ref, event_ref = request.headers["Application-Icon"], request.blocks[1]["Notification-Icon"]
    assert app_ref != event_ref
    assert len(request.resources) == 2
    reg = receiver.registrations["App"]
    assert reg.icon == ICON and reg.event_icons["done"] == ICON


def test_unicode_title_and_text(receiver):
    p = publisher(receiver)
    p.register()
    p.publish("done", "Grüße 🎉 完了", "ünïcödé — ✓")
    (n,) = receiver.notifications
    assert (n.title, n.text) == ("Grüße 🎉 完了", "ünïcödé — ✓")


def test_cr_and_lf_in_text_arrive_as_lf_and_inject_nothing(receiver):
    p = publisher(receiver)
    p.register()
    p.publish("done", "title\r\nX-Title-Injected: 1", "one\r\ntwo\rthree\nX-Injected: yes")
    (n,) = receiver.notifications
    assert n.text == "one\ntwo\nthree\nX-Injected: yes"
    assert n.title == "title\nX-Title-Injected: 1"
    assert "X-Injected" not in n.headers and "X-Title-Injected" not in n.headers


def test_control_characters_arrive_as_a_visible_mark(receiver):
    p = publisher(receiver)
    p.register()
    p.publish("done", "nul\x00", "a\x00b\x1bc\x7fd\x85e\tf\ng")
    got = receiver.wait_for(1)[0]
    assert (got.title, got.text) == ("nul\ufffd", "a\ufffdb\ufffdc\ufffdd\ufffde\tf\ng")


def test_url_callback_target_arrives(receiver_factory):
    server = receiver_factory(callback="CLICKED")
    p = publisher(server)
    p.register()
    p.publish("done", "open me", callback="https://example.org/run/4")
    (n,) = server.notifications
    assert n.callback_target == "https://example.org/run/4"
    assert n.callback_context is None


# -- socket callbacks ------------------------------------------------------------------


class Recorder:
    """A SocketCallback whose handlers note what ran; ``done`` is set by on_any."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []
        self.done = threading.Event()

    def handler(self, name: str):
        def run(response) -> None:
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


HANDLERS = {"CLICKED": "click", "CLOSED": "close", "TIMEDOUT": "timeout"}


@pytest.mark.parametrize("same_chunk", [False, True], ids=["separate", "same-chunk"])
@pytest.mark.parametrize("result", list(HANDLERS))
def test_socket_callbacks_are_dispatched(receiver_factory, result, same_chunk):
    server = receiver_factory(callback=result, callback_same_chunk=same_chunk,
                              callback_delay=0.05)
    p = publisher(server)
    p.register()
    recorder = Recorder()
    response = p.publish("done", "click me", callback=recorder.callback())
    assert isinstance(response, OKResponse)
    assert recorder.done.wait(10), "no callback dispatched"
    assert recorder.calls == [(HANDLERS[result], result), ("any", result)]
    (n,) = server.notifications
    assert (n.callback_context, n.callback_context_type) == ("cell-9", "cell")


def test_growl_mac_extra_crlf_is_tolerated(receiver_factory):
    server = receiver_factory(style="growl-mac", callback="CLOSED")
    p = publisher(server)
    p.register()
    recorder = Recorder()
    p.publish("done", "mac", callback=recorder.callback())
    assert recorder.done.wait(10)
    assert recorder.calls == [("close", "CLOSED"), ("any", "CLOSED")]


def test_growl_for_linux_style_never_calls_back(receiver_factory):
    server = receiver_factory(style="growl-for-linux", callback="CLICKED")
    p = publisher(server)
    p.register()
    recorder = Recorder()
    assert isinstance(p.publish("done", "gol", callback=recorder.callback()), OKResponse)
    # The server closes right after -OK: the waiter sees EOF and lets the socket go.
    deadline = time.monotonic() + 10
    while callback_waiter.pending and time.monotonic() < deadline:
        time.sleep(0.01)
    assert callback_waiter.pending == 0
    assert recorder.calls == []


def test_many_pending_callbacks_share_one_thread(receiver_factory):
    """A hundred notifications awaiting callbacks cost one thread, not a hundred."""
    server = receiver_factory(callback="CLICKED", callback_delay=1.0)
    p = publisher(server)
    p.register()
    recorders = [Recorder() for _ in range(100)]
    for i, recorder in enumerate(recorders):
        p.publish("done", f"n{i}", callback=recorder.callback())
    waiters = [t for t in threading.enumerate() if t.name.startswith("gntp-callback")]
    assert len(waiters) == 1
    assert all(r.done.wait(20) for r in recorders)
    assert all(r.calls == [("click", "CLICKED"), ("any", "CLICKED")] for r in recorders)


# -- errors ----------------------------------------------------------------------------


def test_unknown_application_is_registered_once_and_retried(receiver):
    p = publisher(receiver)
    p.publish("done", "before register")  # 401 -> REGISTER -> NOTIFY
    assert [(r.message_type, r.code) for r in receiver.rejections] == [("NOTIFY", 401)]
    assert [r.message_type for r in receiver.requests] == ["REGISTER", "NOTIFY"]
    assert [n.title for n in receiver.notifications] == ["before register"]


def test_unknown_type_is_registered_once_and_retried(receiver):
    publisher(receiver, ["done"]).register()
    publisher(receiver, ["done", "new"]).publish("new", "a new type")  # 402 -> ...
    assert [(r.message_type, r.code) for r in receiver.rejections] == [("NOTIFY", 402)]
    assert [r.message_type for r in receiver.requests] == ["REGISTER", "REGISTER", "NOTIFY"]
    assert receiver.registrations["App"].events == {"done": True, "new": True}


def test_server_errors_carry_code_and_description(receiver_factory):
    strict = receiver_factory()
    client = GNTPClient(host=strict.host, port=strict.port)
    with pytest.raises(GNTPServerError) as info:
        client.process_request(NotifyRequest("Nobody", "done", "t"))
    assert info.value.code == 401
    assert "Nobody" in info.value.description and "register" in str(info.value)

    mac = receiver_factory(style="growl-mac")
    p = publisher(mac, [Event("off", enabled=False)])
    p.register()
    with pytest.raises(GNTPServerError) as info:
        p.publish("off", "disabled")
    assert info.value.code == 404 and "disabled" in info.value.description

    gol_like = receiver_factory(style="growl-for-linux")
    client = GNTPClient(host=gol_like.host, port=gol_like.port)
    with pytest.raises(GNTPServerError) as info:
        client.process_request(NotifyRequest("Nobody", "done", "t"))
    assert info.value.code is None and info.value.description == "Invalid data"


@pytest.mark.parametrize("password", ["wrong", None], ids=["wrong", "missing"])
def test_refused_password_is_an_auth_error(receiver_factory, password):
    server = receiver_factory(password="right")
    with pytest.raises(GNTPAuthError) as info:
        publisher(server, password=password).register()
    assert info.value.code == 400
    assert server.registrations == {}


@pytest.mark.timeout(30)  # the bound: a client that ignores its timeout hangs here
def test_silent_server_times_out(receiver_factory):
    server = receiver_factory(mode="silent")
    with pytest.raises(GNTPTimeoutError, match=r"sent no answer within 0\.5 s"):
        publisher(server, timeout=0.5).register()
    assert server.wait_for_requests(1)[0].message_type == "REGISTER"


@pytest.mark.timeout(30)
def test_trickling_server_times_out(receiver_factory):
    """The response timeout bounds the whole reply, not each read: a server sending one
    byte every 0.1 s would otherwise complete its ~60-byte -OK after about 6 s."""
    server = receiver_factory(mode="trickle")
    with pytest.raises(GNTPTimeoutError, match=r"sent no answer within 0\.5 s"):
        publisher(server, timeout=0.5).register()


@pytest.mark.timeout(30)
def test_black_holed_host_times_out_on_connect(black_hole):
    host, port = black_hole
    with pytest.raises(GNTPTimeoutError, match=r"could not connect to .* within 0\.5 s"):
        Publisher("App", ["done"], host=host, port=port, timeout=0.5).register()


@pytest.mark.timeout(30)
def test_timeout_bounds_the_whole_request_connect_included(black_hole):
    """``timeout=Timeout(connect=60, response=0.5)``: the request as a whole gets 0.5 s."""
    host, port = black_hole
    slow_connect = Timeout(connect=60, response=0.5)
    with pytest.raises(GNTPTimeoutError, match=r"within 0\.5 s"):
        Publisher("App", ["done"], host=host, port=port, timeout=slow_connect).register()


def test_close_mid_response_is_a_protocol_error(receiver_factory):
    server = receiver_factory(mode="close-mid-response")
    with pytest.raises(GNTPProtocolError):
        publisher(server).register()


def test_nothing_listening_is_connection_refused():
    port = free_port()
    with pytest.raises(GNTPConnectionRefused) as info:
        Publisher("App", ["done"], host="127.0.0.1", port=port, timeout=5).register()
    assert f"nothing is listening on 127.0.0.1:{port}" in str(info.value)
    assert (info.value.host, info.value.port) == ("127.0.0.1", port)


def test_ipv6_loopback(receiver_factory):
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        server = receiver_factory(host="::1")
    except OSError as exc:
        pytest.skip(f"cannot listen on ::1: {exc}")
    p = Publisher("App", ["done"], host="::1", port=server.port, password=None)
    p.register()
    p.publish("done", "over v6")
    assert [n.title for n in server.wait_for(1)] == ["over v6"]


# -- the password stays secret ---------------------------------------------------------

SECRET = "hunter2-Ω-secret"


def _texts(exc: BaseException) -> list[str]:
    return [str(exc), repr(exc), "".join(traceback.format_exception(exc))]


def test_password_is_in_no_repr_or_str():
    p = Publisher("App", ["done"], password=SECRET, encryption="AES")
    options = ClientOptions.build(password=SECRET, encryption="3DES", hash_algorithm="SHA512")
    values = [p, p.options, p.options.security, options, options.security,
              Security(SECRET), Subscriber("S", password=SECRET), Timeout()]
    for value in values:
        assert SECRET not in repr(value) and SECRET not in str(value)


def test_password_is_in_no_exception_text(receiver_factory):
    failures: list[GNTPError] = []
    strict = receiver_factory(password="other")
    silent = receiver_factory(mode="silent")
    broken = receiver_factory(mode="close-mid-response")
    attempts = [
        lambda: publisher(strict, password=SECRET).register(),
        lambda: publisher(strict, password=SECRET, encryption="AES").register(),
        lambda: publisher(silent, password=SECRET, timeout=0.3).register(),
        lambda: publisher(broken, password=SECRET).register(),
        lambda: Publisher("App", ["done"], port=free_port(), password=SECRET).register(),
        lambda: Publisher("App", ["done"], password=SECRET, hash_algorithm="MD5",
                          encryption="AES"),
        lambda: Publisher("App", ["done"], password=SECRET, encryption="RC4"),
    ]
    for attempt in attempts:
        with pytest.raises(GNTPError) as info:
            attempt()
        failures.append(info.value)
    assert len({type(f) for f in failures}) >= 5  # auth, timeout, protocol, refused, validation
    for failure in failures:
        for text in _texts(failure):
            assert SECRET not in text


def test_callback_wait_is_bounded_by_its_timeout(receiver_factory):
    """A callback that comes later than ``timeout.callback`` is not waited for."""
    server = receiver_factory(callback="CLICKED", callback_delay=3.0)
    p = publisher(server, timeout=Timeout(callback=0.2))
    p.register()
    recorder = Recorder()
    p.publish("done", "late", callback=recorder.callback())
    deadline = time.monotonic() + 10
    while callback_waiter.pending and time.monotonic() < deadline:
        time.sleep(0.01)
    assert callback_waiter.pending == 0  # given up, socket closed, long before the click
    assert recorder.calls == []


def test_a_refusal_sent_while_the_request_is_still_written_is_reported(refusing_server):
    server = refusing_server
    p = Publisher("App", ["done"], host=server.host, port=server.port, timeout=5)
    with pytest.raises(GNTPServerError) as info:
        p.publish("done", "big", "x" * 20_000_000)
    assert (info.value.code, info.value.description) == (300, "request is larger than 65536 bytes")


def test_the_real_receiver_refuses_a_large_request_with_its_answer(receiver_factory):
    server = receiver_factory(max_request_size=1_000_000)
    p = publisher(server, timeout=5)
    p.register()
    with pytest.raises(GNTPServerError) as info:
        p.publish("done", "big", "x" * 20_000_000)
    assert info.value.code == 300
