"""Our GNTP receiver on real loopback TCP: raw bytes in, exact answers out.

Requests are built with the encoder where it can express them and by hand where it
refuses to (a repeated header); answers are read back with a plain socket, so what is
checked is what a real client would see.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from pathlib import Path

import pytest
from icon_server import png
from misbehaving import ScriptedDisplay

from gntp_jupyter.gntp import (
    Event,
    GNTPAuthError,
    GNTPProtocolError,
    NotifyRequest,
    Publisher,
    RegisterRequest,
    Resource,
    Security,
    SubscribeRequest,
)
from gntp_jupyter.gntp.encoding import encode_message, encode_request
from gntp_jupyter.gntp.parsing import ResponseParser
from gntp_jupyter.gntp.receiver import Receiver, ReceiverLimits, ReceiverThread
from gntp_jupyter.gntp.responses import CallbackResponse, ErrorResponse, OKResponse, Response

ROOT = Path(__file__).resolve().parent.parent
END = b"\r\n\r\n"
# Bytes that trip naive framing: CRLF CRLF, NULs, every byte value, more than one read.
AWKWARD = b"\x89PNG\r\n\x1a\n\x00\x00" + END + bytes(range(256)) * 300 + b"\r\n"


# -- helpers ---------------------------------------------------------------------------


def talk(server: ReceiverThread, data: bytes, timeout: float = 5.0) -> bytes:
    """Send one request in one write; return everything until the server closes."""
    with socket.create_connection((server.host, server.port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def responses(data: bytes) -> list[Response]:
    parser = ResponseParser()
    parser.feed(data)
    parser.feed(b"")
    out = []
    while (message := parser.next_response()) is not None:
        out.append(message)
    return out


def answer(server: ReceiverThread, data: bytes) -> Response:
    (only,) = responses(talk(server, data))
    return only


def error_code(server: ReceiverThread, data: bytes) -> int | None:
    response = answer(server, data)
    assert isinstance(response, ErrorResponse), response
    return response.code


def register(app: str = "App", events: tuple[str, ...] = ("done",), **kw) -> RegisterRequest:
    return RegisterRequest(app, tuple(Event(e) for e in events), **kw)


def notify(app: str = "App", event: str = "done", title: str = "Title", **kw) -> NotifyRequest:
    return NotifyRequest(app, event, title, **kw)


def ok(server: ReceiverThread, request, security: Security | None = None) -> OKResponse:
    response = answer(server, encode_request(request, security or Security()))
    assert isinstance(response, OKResponse), response
    return response


# -- what is kept ----------------------------------------------------------------------


def test_register_and_notify_are_kept_as_sent(receiver):
    ok(receiver, RegisterRequest(
        "App", (Event("done", "Cell done"), Event("off", enabled=False)),
        icon=Resource(b"app-icon"), headers={"X-Kind": "test"},
    ))
    response = ok(receiver, notify(
        text="line one\nline two", notification_id="n-1", sticky=True, priority=2,
        icon=Resource(b"note-icon"), coalescing_id="c-1",
        callback_target="https://example.org/x", headers={"Data-Row": "7"},
    ))

    reg = receiver.registrations["App"]
    assert reg.events == {"done": True, "off": False}
    assert reg.display_names == {"done": "Cell done", "off": "off"}
    assert reg.icon == b"app-icon"
    assert reg.headers["X-Kind"] == "test"
    (n,) = receiver.notifications
    assert (n.application, n.name, n.title) == ("App", "done", "Title")
    assert n.text == "line one\nline two"
    assert (n.id, n.sticky, n.priority, n.coalescing_id) == ("n-1", True, 2, "c-1")
    assert n.icon == b"note-icon" and n.icon_url is None
    assert n.callback_target == "https://example.org/x"
    assert n.headers["Data-Row"] == "7"
    assert response.notification_id == "n-1"
    assert [r.message_type for r in receiver.requests] == ["REGISTER", "NOTIFY"]


def test_url_icon_is_kept_as_url(receiver):
    ok(receiver, register())
    ok(receiver, notify(icon="https://example.org/icon.png"))
    (n,) = receiver.notifications
    assert n.icon is None and n.icon_url == "https://example.org/icon.png"


def test_resources_arrive_byte_for_byte(receiver):
    event_icon = AWKWARD[::-1]
    ok(receiver, RegisterRequest(
        "App", (Event("done", icon=Resource(event_icon)),), icon=Resource(AWKWARD)
    ))
    ok(receiver, notify(icon=Resource(AWKWARD + b"!")))
    reg = receiver.registrations["App"]
    assert reg.icon == AWKWARD
    assert reg.event_icons == {"done": event_icon}
    assert receiver.notifications[0].icon == AWKWARD + b"!"


def test_subscribe_is_answered_with_a_ttl(receiver_factory):
    server = receiver_factory(password="pw")
    request = SubscribeRequest("Sub", subscriber_id="sub-1", subscriber_port=9999)
    response = ok(server, request, Security("pw"))
    assert response.action == "SUBSCRIBE"
    assert response.subscription_ttl == 3600
    (sub,) = server.subscriptions
    assert (sub.id, sub.name, sub.port) == ("sub-1", "Sub", 9999)


# -- strict validation -----------------------------------------------------------------


def test_repeated_header_is_300(receiver):
    ok(receiver, register())
    raw = (
        b"GNTP/1.0 NOTIFY NONE\r\n"
        b"Application-Name: App\r\nNotification-Name: done\r\n"
        b"Notification-Title: one\r\nnotification-title: two\r\n\r\n"
    )
    assert error_code(receiver, raw) == 300
    assert receiver.notifications == []
    assert [r.code for r in receiver.rejections] == [300]


def test_repeated_header_in_a_type_block_is_300(receiver):
    raw = (
        b"GNTP/1.0 REGISTER NONE\r\nApplication-Name: App\r\nNotifications-Count: 1\r\n\r\n"
        b"Notification-Name: done\r\nNotification-Enabled: True\r\n"
        b"Notification-Enabled: False\r\n\r\n"
    )
    assert error_code(receiver, raw) == 300
    assert receiver.registrations == {}


NOTIFY_BLOCK = [
    ("Application-Name", "App"), ("Notification-Name", "done"),
    ("Notification-Title", "Title"), ("Notification-Text", ""),
]


@pytest.mark.parametrize("missing", ["Application-Name", "Notification-Name", "Notification-Title"])
def test_notify_without_a_required_header_is_303(receiver, missing):
    ok(receiver, register())
    block = [(n, v) for n, v in NOTIFY_BLOCK if n != missing]
    assert error_code(receiver, encode_message("NOTIFY", [block])) == 303
    assert receiver.notifications == []


@pytest.mark.parametrize(
    "blocks",
    [
        [[("Notifications-Count", 1)], [("Notification-Name", "done")]],
        [[("Application-Name", "App")], [("Notification-Name", "done")]],
        [[("Application-Name", "App"), ("Notifications-Count", 1)],
         [("Notification-Enabled", True)]],
        [[("Application-Name", "App"), ("Notifications-Count", 2)],
         [("Notification-Name", "done")], [("Notification-Display-Name", "x")]],
    ],
    ids=["no-app-name", "no-count", "type-without-name", "second-type-without-name"],
)
def test_register_without_a_required_header_is_303(receiver, blocks):
    assert error_code(receiver, encode_message("REGISTER", blocks)) == 303
    assert receiver.registrations == {}


@pytest.mark.parametrize("missing", ["Subscriber-ID", "Subscriber-Name"])
def test_subscribe_without_a_required_header_is_303(receiver_factory, missing):
    server = receiver_factory(password="pw")
    full = [("Subscriber-ID", "id"), ("Subscriber-Name", "me")]
    block = [(n, v) for n, v in full if n != missing]
    assert error_code(server, encode_message("SUBSCRIBE", [block], Security("pw"))) == 303
    assert server.subscriptions == []


def test_unknown_application_is_401(receiver):
    response = answer(receiver, encode_request(notify(app="Nobody")))
    assert isinstance(response, ErrorResponse)
    assert response.code == 401
    assert response.headers["Response-Action"] == "NOTIFY"


def test_unregistered_type_is_402(receiver):
    ok(receiver, register(events=("done",)))
    assert error_code(receiver, encode_request(notify(event="other"))) == 402
    assert receiver.notifications == []


def test_a_new_register_replaces_the_old_types(receiver):
    ok(receiver, register(events=("done",)))
    ok(receiver, register(events=("other",)))
    assert error_code(receiver, encode_request(notify(event="done"))) == 402
    ok(receiver, notify(event="other"))


def test_garbage_is_refused_not_waited_on(receiver):
    assert error_code(receiver, b"HELLO THERE\r\n\r\n") == 301
    assert error_code(receiver, b"GNTP/2.0 NOTIFY NONE\r\n\r\n") == 302


# -- passwords and encryption ----------------------------------------------------------


@pytest.mark.parametrize("alg", ["MD5", "SHA1", "SHA256", "SHA512"])
def test_each_key_hash_is_verified(receiver_factory, alg):
    server = receiver_factory(password="s3cret")
    ok(server, register(), Security("s3cret", alg))
    assert error_code(server, encode_request(register(), Security("wrong", alg))) == 400
    assert server.requests[0].hash_algorithm == alg
    assert len(server.requests) == 1


def test_a_missing_key_hash_is_400_when_a_password_is_set(receiver_factory):
    server = receiver_factory(password="s3cret")
    assert error_code(server, encode_request(register())) == 400
    assert server.registrations == {}
    assert [r.code for r in server.rejections] == [400]


CIPHERS = [
    ("AES", "SHA256"), ("AES", "SHA512"), ("3DES", "SHA256"), ("3DES", "SHA512"),
    ("DES", "MD5"), ("DES", "SHA1"), ("DES", "SHA256"), ("DES", "SHA512"),
]


@pytest.mark.parametrize(("cipher", "alg"), CIPHERS)
def test_encrypted_requests_are_decrypted(receiver_factory, cipher, alg):
    server = receiver_factory(password="pässword")
    security = Security("pässword", alg, cipher)
    ok(server, RegisterRequest(
        "App", (Event("done", icon=Resource(AWKWARD[:999])), Event("two")),
        icon=Resource(AWKWARD),
    ), security)
    ok(server, notify(title="Grüße ✓", text="a\nb", icon=Resource(b"\x00" + AWKWARD)), security)

    reg = server.registrations["App"]
    assert reg.events == {"done": True, "two": True}
    assert reg.icon == AWKWARD and reg.event_icons["done"] == AWKWARD[:999]
    (n,) = server.notifications
    assert (n.title, n.text, n.icon) == ("Grüße ✓", "a\nb", b"\x00" + AWKWARD)
    assert {(r.encryption, r.hash_algorithm) for r in server.requests} == {(cipher, alg)}


@pytest.mark.parametrize("cipher", ["AES", "DES", "3DES"])
def test_encrypted_with_the_wrong_password_is_400(receiver_factory, cipher):
    server = receiver_factory(password="right")
    request = encode_request(register(), Security("wrong", "SHA256", cipher))
    assert error_code(server, request) == 400


def test_a_large_refused_request_still_gets_its_error(receiver_factory):
    # The server refuses at the first line while megabytes are still arriving: it must
    # drain them rather than reset the connection and destroy its own answer.
    server = receiver_factory(password="right")
    publisher = Publisher(
        "App", ["done"], host=server.host, port=server.port, password="wrong", timeout=10,
        icon=Resource(bytes(24 * 1024 * 1024)),  # more than loopback buffers hold
    )
    with pytest.raises(GNTPAuthError) as info:
        publisher.register()
    assert info.value.code == 400


# -- response styles -------------------------------------------------------------------


@pytest.mark.parametrize("style", ["strict", "windows"])
def test_strict_ok_echoes_id_and_data_headers(receiver_factory, style):
    server = receiver_factory(style=style)
    ok(server, register())
    raw = talk(server, encode_request(notify(notification_id="n-9", headers={"Data-Row": "7"})))
    assert raw == (
        b"GNTP/1.0 -OK NONE\r\nResponse-Action: NOTIFY\r\n"
        b"Notification-ID: n-9\r\nData-Row: 7\r\n\r\n"
    )


def test_strict_error_has_code_and_action(receiver):
    raw = talk(receiver, encode_request(notify(app="Nobody")))
    assert raw.startswith(b"GNTP/1.0 -ERROR NONE\r\nResponse-Action: NOTIFY\r\nError-Code: 401\r\n")
    assert raw.endswith(END) and raw.count(END) == 1


def test_growl_mac_ends_every_message_with_one_more_crlf(receiver_factory):
    server = receiver_factory(style="growl-mac", callback="CLICKED")
    ok_raw = talk(server, encode_request(register()))
    assert ok_raw == b"GNTP/1.0 -OK NONE\r\nResponse-Action: REGISTER\r\n\r\n\r\n"
    err_raw = talk(server, encode_request(notify(event="nope")))
    assert err_raw.endswith(b"\r\n\r\n\r\n") and b"Error-Code: 402" in err_raw
    both = talk(server, encode_request(notify(callback_context="c", callback_context_type="t")))
    assert both.count(b"GNTP/1.0 ") == 2
    assert both.endswith(b"\r\n\r\n\r\n") and b"\r\n\r\n\r\nGNTP/1.0 -CALLBACK" in both


def test_lenient_receiver_answers_ruby_growl_in_growl_mac_framing(receiver_factory):
    # ruby-growl reads each reply up to CRLF CRLF CRLF; other senders get the receiver's own.
    server = receiver_factory(lenient=True, callback="CLICKED")
    ruby = {"Origin-Software-Name": "ruby-growl"}
    assert talk(server, encode_request(register(headers=ruby))).endswith(b"\r\n\r\n\r\n")
    other = talk(server, encode_request(register(headers={"Origin-Software-Name": "gntp.py"})))
    assert other == b"GNTP/1.0 -OK NONE\r\nResponse-Action: REGISTER\r\n\r\n"
    raw = talk(server, encode_request(notify(callback_context="c", callback_context_type="t",
                                             headers=ruby)))
    assert raw.count(b"\r\n\r\n\r\n") == 2 and b"\r\n\r\n\r\nGNTP/1.0 -CALLBACK" in raw
    refused = talk(server, encode_request(notify(event="nope", headers=ruby)))
    assert b"Error-Code: 402" in refused and refused.endswith(b"\r\n\r\n\r\n")


def test_strict_receiver_answers_ruby_growl_like_any_sender(receiver):
    raw = talk(receiver, encode_request(register(headers={"Origin-Software-Name": "ruby-growl"})))
    assert raw == b"GNTP/1.0 -OK NONE\r\nResponse-Action: REGISTER\r\n\r\n"


def test_only_growl_mac_refuses_a_disabled_type(receiver_factory):
    for style, expected in [("growl-mac", 404), ("strict", None), ("growl-for-linux", None)]:
        server = receiver_factory(style=style)
        ok(server, RegisterRequest("App", (Event("off", enabled=False),)))
        response = answer(server, encode_request(notify(event="off")))
        if expected is None:
            assert isinstance(response, OKResponse), style
        else:
            assert isinstance(response, ErrorResponse) and response.code == expected


def test_growl_for_linux_style_is_bare(receiver_factory):
    server = receiver_factory(style="growl-for-linux", callback="CLICKED")
    assert talk(server, encode_request(register())) == (
        b"GNTP/1.0 -OK NONE\r\nResponse-Action: REGISTER\r\n\r\n"
    )
    # No echo and no callback, even when one is asked for: it closes after -OK.
    raw = talk(server, encode_request(notify(
        notification_id="n-1", callback_context="c", callback_context_type="t",
        headers={"Data-Row": "1"},
    )))
    assert raw == b"GNTP/1.0 -OK NONE\r\nResponse-Action: NOTIFY\r\n\r\n"
    assert talk(server, encode_request(notify(event="nope"))) == (
        b"GNTP/1.0 -ERROR Invalid data\r\nError-Description: Invalid data\r\n\r\n"
    )
    (error,) = responses(talk(server, encode_request(notify(app="Nobody"))))
    assert isinstance(error, ErrorResponse) and error.code is None


# -- socket callbacks ------------------------------------------------------------------


@pytest.mark.parametrize("result", ["CLICKED", "CLOSED", "TIMEDOUT"])
def test_callback_follows_the_ok(receiver_factory, result):
    server = receiver_factory(callback=result)
    ok(server, register())
    request = notify(
        notification_id="n-5", callback_context="ctx-1", callback_context_type="cell",
        headers={"Data-Cell": "12", "X-Other": "no"},
    )
    first, callback = responses(talk(server, encode_request(request)))
    assert isinstance(first, OKResponse) and first.notification_id == "n-5"
    assert first.data_headers == {"Data-Cell": "12"}
    assert isinstance(callback, CallbackResponse)
    assert callback.result == result
    assert (callback.context, callback.context_type) == ("ctx-1", "cell")
    assert callback.headers["Application-Name"] == "App"
    assert callback.notification_id == "n-5"
    assert callback.timestamp
    assert callback.data_headers == {"Data-Cell": "12"}


def test_callback_in_the_same_chunk(receiver_factory):
    server = receiver_factory(callback="CLICKED", callback_same_chunk=True)
    ok(server, register())
    request = notify(callback_context="c", callback_context_type="t")
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(encode_request(request))
        first_read = sock.recv(65536)
    kinds = [type(r) for r in responses(first_read)]
    assert kinds == [OKResponse, CallbackResponse]


@pytest.mark.parametrize(
    "extra",
    [{}, {"callback_target": "https://example.org/"}],
    ids=["no-context", "url-target"],
)
def test_no_callback_unless_a_socket_callback_is_asked_for(receiver_factory, extra):
    server = receiver_factory(callback="CLICKED")
    ok(server, register())
    kinds = [type(r) for r in responses(talk(server, encode_request(notify(**extra))))]
    assert kinds == [OKResponse]


def test_no_callback_configured_closes_after_ok(receiver):
    ok(receiver, register())
    request = notify(callback_context="c", callback_context_type="t")
    assert [type(r) for r in responses(talk(receiver, encode_request(request)))] == [OKResponse]


# -- misbehaving on purpose, and limits ------------------------------------------------


def test_silent_mode_reads_and_holds_the_socket_until_stop(receiver_factory):
    server = receiver_factory(mode="silent")
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(encode_request(register()))
        (request,) = server.wait_for_requests(1)
        assert request.message_type == "REGISTER"
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(1)
        sock.settimeout(5)
        server.stop()
        with contextlib.suppress(ConnectionResetError):  # a reset is a close too
            assert sock.recv(1) == b""


def test_close_mid_response_sends_half_an_ok(receiver_factory):
    server = receiver_factory(mode="close-mid-response")
    raw = talk(server, encode_request(register()))
    full = b"GNTP/1.0 -OK NONE\r\nResponse-Action: REGISTER\r\n\r\n"
    assert raw == full[: len(full) // 2]
    with pytest.raises(GNTPProtocolError):
        responses(raw)


def test_a_request_over_the_size_cap_is_300(receiver_factory):
    server = receiver_factory(max_request_size=4096)
    ok(server, register())
    assert error_code(server, encode_request(notify(text="x" * 10_000))) == 300
    assert error_code(server, encode_request(notify(icon=Resource(AWKWARD)))) == 300
    assert server.notifications == []


def test_a_stuck_client_is_dropped_after_the_read_timeout(receiver_factory):
    server = receiver_factory(request_timeout=0.3)
    unfinished = encode_request(register())[:-4]
    (response,) = responses(talk(server, unfinished, timeout=10))
    assert isinstance(response, ErrorResponse) and response.code == 200
    assert server.connections == 1


def test_a_client_that_leaves_early_is_not_answered(receiver):
    with socket.create_connection((receiver.host, receiver.port), timeout=5) as sock:
        sock.sendall(encode_request(register())[:30])
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(100) == b""
    assert receiver.rejections == [] and receiver.requests == []


def test_a_sender_still_writing_after_the_answer_is_not_reset(receiver):
    # growly, growler and gntp-send write the CRLF CRLF after their last binary section
    # in a write of its own, which may arrive after the answer. Closing on unread input
    # would reset the connection: growly and growler then report an error, gntp-send dies
    # of SIGPIPE. The receiver half-closes and drains instead.
    data = encode_request(register(icon=Resource(b"icon" * 250)))
    body, tail = data[:-4], data[-4:]
    with socket.create_connection((receiver.host, receiver.port), timeout=5) as sock:
        sock.sendall(body)
        reply = b""
        while not reply.endswith(END):
            reply += sock.recv(65536)
        sock.sendall(tail)
        time.sleep(0.05)  # a reset would have come back by now
        sock.sendall(tail)
        assert sock.recv(100) == b""
    assert reply.startswith(b"GNTP/1.0 -OK")


def test_ipv6_loopback(receiver_factory):
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        server = receiver_factory(host="::1")
    except OSError as exc:
        pytest.skip(f"cannot listen on ::1: {exc}")
    ok(server, register())
    assert server.address == f"[::1]:{server.port}"
    assert server.registrations["App"].peer.startswith("[::1]:")


# -- the API itself --------------------------------------------------------------------


def test_wait_for_times_out_with_what_it_saw(receiver):
    ok(receiver, register())
    with pytest.raises(TimeoutError, match=r"expected 1 notifications .* REGISTER"):
        receiver.wait_for(1, timeout=0.2)


def test_wait_for_returns_when_enough_arrived(receiver):
    ok(receiver, register())

    def send() -> None:
        for i in range(3):
            ok(receiver, notify(title=f"n{i}"))

    sender = threading.Thread(target=send)
    sender.start()
    got = receiver.wait_for(3, timeout=10)
    sender.join()
    assert [n.title for n in got] == ["n0", "n1", "n2"]


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        Receiver(style="snarl")
    for limits in [{"max_connections": 0}, {"idle_timeout": 0}, {"history": -1}]:
        with pytest.raises(ValueError):
            ReceiverLimits(**limits)


def test_a_taken_port_fails_at_start(receiver):
    with pytest.raises(OSError):
        ReceiverThread(Receiver(port=receiver.port)).start()


@pytest.mark.asyncio
async def test_async_receiver_and_wait_for():
    async with Receiver(display=ScriptedDisplay("CLOSED")) as server:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(encode_request(register()))
        assert isinstance(responses(await reader.read()), list)
        writer.close()

        reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(encode_request(notify(callback_context="c", callback_context_type="t")))
        (n,) = await server.wait_for(1)
        kinds = [type(r) for r in responses(await reader.read())]
        writer.close()
        assert n.title == "Title"
        assert kinds == [OKResponse, CallbackResponse]
        with pytest.raises(TimeoutError):
            await server.wait_for(2, timeout=0.1)


class SlowDisplay:
    """Takes ``seconds`` to show a notification and says when it has begun."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.showing = threading.Event()

    async def show(self, delivery) -> None:
        self.showing.set()
        await asyncio.sleep(self.seconds)

    async def close(self) -> None:
        pass


def test_stopping_while_a_notification_is_shown_still_answers_its_callback_closed(
        receiver_factory):
    # The race a loaded machine hits: stop() arrives between reading the request and the
    # display returning, before the callback is pending. The sender still gets its -OK and
    # a CLOSED callback rather than a dropped connection.
    display = SlowDisplay(0.3)
    server = receiver_factory(display=display)
    ok(server, register())
    answers: list[bytes] = []
    sender = threading.Thread(target=lambda: answers.append(talk(server, encode_request(
        notify(callback_context="c", callback_context_type="t")))))
    sender.start()
    assert display.showing.wait(5)
    server.stop()
    sender.join(10)
    (data,) = answers
    ok_answer, callback = responses(data)
    assert isinstance(ok_answer, OKResponse)
    assert isinstance(callback, CallbackResponse) and callback.result == "CLOSED"


# -- safe on a network: every bound, each with the input that used to break it ----------


def raw_notify(extra: str = "", sections: bytes = b"") -> bytes:
    head = (
        "GNTP/1.0 NOTIFY NONE\r\nApplication-Name: App\r\nNotification-Name: done\r\n"
        f"Notification-Title: Title\r\n{extra}\r\n"
    )
    return head.encode() + sections


def test_many_resource_references_cost_linear_work(receiver_factory):
    # 120,000 references and their sections (14 MB). A list-based parser needs minutes for
    # this (32,000 took 4.5 s of CPU); a linear one answers well within the socket timeout.
    server = receiver_factory()
    ok(server, register())
    count = 120_000
    ids = [f"{i:032x}" for i in range(count)]
    extra = "".join(f"X-R{i}: x-growl-resource://{rid}\r\n" for i, rid in enumerate(ids))
    sections = b"".join(b"Identifier: %s\r\nLength: 1\r\n\r\nx\r\n\r\n" % rid.encode()
                        for rid in ids)
    response = answer_within(server, raw_notify(extra, sections), timeout=30)
    assert isinstance(response, OKResponse), response
    (request,) = [r for r in server.requests if r.message_type == "NOTIFY"]
    assert len(request.resources) == count


def answer_within(server: ReceiverThread, data: bytes, timeout: float) -> Response:
    (only,) = responses(talk(server, data, timeout=timeout))
    return only


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (raw_notify("", b"").replace(b"NOTIFY", b"REGISTER").replace(
            b"Notification-Title: Title", b"Notifications-Count: \xc2\xb2"), 300),
        (raw_notify("Notification-Icon: x-growl-resource://ab\r\n",
                    "Identifier: ab\r\nLength: ²\r\n\r\n".encode()), 300),
        (raw_notify("Notification-Icon: x-growl-resource://ab\r\n",
                    "Identifier: ab\r\nLength: ٣\r\n\r\nabc\r\n\r\n".encode()), 300),
    ],
    ids=["count-superscript-two", "length-superscript-two", "length-arabic-indic-three"],
)
def test_non_ascii_digits_are_an_error_answer_not_a_crash(receiver, caplog, data, code):
    ok(receiver, register())
    assert error_code(receiver, data) == code
    assert [r.levelname for r in caplog.records if r.levelname == "ERROR"] == []


def test_refused_requests_are_not_kept(receiver):
    assert error_code(receiver, encode_request(notify(icon=Resource(AWKWARD)))) == 401
    assert receiver.requests == [] and receiver.notifications == []
    (rejection,) = receiver.rejections
    assert (rejection.code, rejection.message_type) == (401, "NOTIFY")


def test_records_are_bounded(receiver_factory):
    server = receiver_factory(history=3, applications=2)
    for app in ("A", "B", "C"):
        ok(server, register(app))
    assert list(server.registrations) == ["B", "C"]  # the least recently registered went
    for i in range(5):
        ok(server, notify("C", title=f"n{i}"))
    assert [n.title for n in server.notifications] == ["n2", "n3", "n4"]
    assert len(server.requests) == 3


def test_ok_and_callback_always_carry_the_notification_id(receiver_factory):
    server = receiver_factory(callback="CLICKED")
    ok(server, register())
    extra = "Notification-Callback-Context: c\r\nNotification-Callback-Context-Type: t\r\n"
    data = talk(server, raw_notify(extra))
    assert data.count(b"\r\nNotification-ID: \r\n") == 2  # in -OK and in -CALLBACK
    assert [type(r) for r in responses(data)] == [OKResponse, CallbackResponse]


def test_an_idle_connection_is_dropped(receiver_factory):
    server = receiver_factory(idle_timeout=0.3, request_timeout=30)
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        (response,) = responses(sock.recv(4096) + sock.recv(4096))
    assert isinstance(response, ErrorResponse) and response.code == 200
    assert "nothing arrived" in response.description


def test_a_slow_sender_is_dropped_at_the_request_deadline(receiver_factory):
    server = receiver_factory(idle_timeout=5, request_timeout=0.6)
    data = encode_request(register())
    got = b""
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.settimeout(0.1)
        for byte in data:  # one byte per 0.1 s: never idle, never finished
            try:
                sock.sendall(bytes([byte]))
                got += sock.recv(4096)
            except (TimeoutError, BlockingIOError):
                continue
            except OSError:
                break
            if got.endswith(b"\r\n\r\n"):
                break
    (response,) = responses(got)
    assert isinstance(response, ErrorResponse) and response.code == 200
    assert "longer than 0.6s" in response.description


def _descriptor_limit(limit: int):
    def apply() -> None:
        import resource

        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))

    return apply


def _room_for(descriptors: int) -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < descriptors:
        if hard != resource.RLIM_INFINITY and hard < descriptors:
            pytest.skip(f"needs {descriptors} descriptors, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (descriptors, hard))


def test_idle_connections_cannot_lock_out_a_sender(receiver_cli):
    # 1,100 idle connections against the usual 1024-descriptor limit: a receiver without
    # a connection cap runs out of descriptors and a real sender can no longer get in.
    _room_for(1400)
    child = receiver_cli("--print", "--quiet", preexec_fn=_descriptor_limit(1024))
    idle = []
    try:
        for _ in range(1100):
            idle.append(socket.create_connection((child.host, child.port), timeout=10))
        p = Publisher("Busy", ["done"], host=child.host, port=child.port, timeout=10)
        p.register()
        assert p.publish("done", "still served").action == "NOTIFY"
    finally:
        for sock in idle:
            sock.close()


def _peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    pytest.skip("no VmHWM in /proc (not Linux)")


def test_memory_for_unfinished_requests_is_bounded(receiver_cli):
    # 32 clients each holding most of a 16 MiB request: 514 MiB without a budget.
    child = receiver_cli("--print", "--quiet")
    before = _peak_rss_kib(child.proc.pid)
    head = raw_notify("Notification-Icon: x-growl-resource://big\r\n",
                      b"Identifier: big\r\nLength: 16000000\r\n\r\n")
    body = b"\0" * (15 * 1024 * 1024)
    socks: list[socket.socket] = []

    def hold() -> None:
        sock = socket.create_connection((child.host, child.port), timeout=30)
        socks.append(sock)
        with contextlib.suppress(OSError):  # refused mid-way: the receiver closed on us
            sock.sendall(head + body)

    threads = [threading.Thread(target=hold) for _ in range(32)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        p = Publisher("Small", ["done"], host=child.host, port=child.port, timeout=10)
        p.register()
        assert p.publish("done", "a small request still passes").action == "NOTIFY"
        grown_mib = (_peak_rss_kib(child.proc.pid) - before) / 1024
        assert grown_mib < 256, f"the receiver grew by {grown_mib:.0f} MiB"
    finally:
        for sock in socks:
            sock.close()


def test_too_many_header_lines_are_refused_before_they_are_parsed(receiver):
    lines = "".join(f"X-{i}: v\r\n" for i in range(150_001))
    assert error_code(receiver, raw_notify(lines)) == 300


def test_answers_stay_small_whatever_was_echoed(receiver_factory):
    server = receiver_factory(callback="CLICKED")
    ok(server, register())
    huge_context = "c" * 10_000
    extra = (f"Notification-Callback-Context: {huge_context}\r\n"
             "Notification-Callback-Context-Type: t\r\n")
    assert error_code(server, raw_notify(extra)) == 300
    data = "".join(f"Data-{i}: {'d' * 1000}\r\n" for i in range(200))  # 200 kB of Data-*
    reply = talk(server, raw_notify(data))
    assert len(reply) < 70_000 and b"Data-0: " in reply



def test_registrations_are_bounded_by_bytes_too(receiver_factory):
    server = receiver_factory(registration_bytes=300_000)
    icon = png("big-icon", 16) + b"\0" * 120_000  # a PNG with 120 kB of trailing bytes
    for app in ("A", "B", "C"):
        ok(server, RegisterRequest(app, (Event("done"),), Resource(icon)))
    assert list(server.registrations) == ["B", "C"]
