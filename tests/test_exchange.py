"""The Exchange state machine: one request, its answer and maybe a callback, with no I/O."""

from __future__ import annotations

import hashlib

import pytest

from gntp_jupyter.gntp import (
    CallbackResponse,
    ErrorResponse,
    GNTPProtocolError,
    NotifyRequest,
    OKResponse,
    RegisterRequest,
    Security,
)
from gntp_jupyter.gntp.encoding import encode_response
from gntp_jupyter.gntp.exchange import Exchange, State
from gntp_jupyter.gntp.requests import Event

OK = b"GNTP/1.0 -OK NONE\r\nResponse-Action: NOTIFY\r\nNotification-ID: n-1\r\n\r\n"
ERROR = b"GNTP/1.0 -ERROR NONE\r\nError-Code: 401\r\nError-Description: who?\r\n\r\n"
CALLBACK = (
    b"GNTP/1.0 -CALLBACK NONE\r\nApplication-Name: App\r\nNotification-ID: n-1\r\n"
    b"Notification-Callback-Result: CLOSE\r\nNotification-Callback-Context: ctx\r\n"
    b"Notification-Callback-Context-Type: string\r\n\r\n"
)
PLAIN = NotifyRequest("App", "done", "title", notification_id="n-1")
WITH_CALLBACK = NotifyRequest(
    "App", "done", "title", notification_id="n-1",
    callback_context="ctx", callback_context_type="string",
)


def test_data_is_the_request_key_hashed_with_the_password() -> None:
    """Golden bytes; the key hash is computed here with hashlib, as the spec says:
    key = H(password + salt), key hash = H(key), both hex, salt from ``randbytes``."""
    salt = bytes(range(16))
    key_hash = hashlib.sha256(hashlib.sha256(b"pw" + salt).digest()).hexdigest().upper()
    exchange = Exchange(PLAIN, Security("pw", "SHA256", randbytes=lambda n: salt[:n]))
    assert exchange.data == (
        f"GNTP/1.0 NOTIFY NONE SHA256:{key_hash}.{salt.hex().upper()}\r\n".encode()
        + b"Application-Name: App\r\nNotification-Name: done\r\nNotification-ID: n-1\r\n"
        b"Notification-Title: title\r\nNotification-Text: \r\n\r\n"
    )
    assert exchange.state is State.AWAITING_RESPONSE
    assert not exchange.expects_callback


def test_ok_then_done() -> None:
    exchange = Exchange(PLAIN)
    exchange.receive_data(OK[:10])
    assert exchange.state is State.AWAITING_RESPONSE
    exchange.receive_data(OK[10:])
    assert exchange.state is State.DONE
    assert isinstance(exchange.response, OKResponse)
    assert exchange.response.notification_id == "n-1"
    assert exchange.callback is None


def test_error_then_done_even_when_a_callback_was_asked_for() -> None:
    exchange = Exchange(WITH_CALLBACK)
    exchange.receive_data(ERROR)
    assert exchange.state is State.DONE
    assert isinstance(exchange.response, ErrorResponse)
    assert exchange.response.code == 401


def test_register_never_waits_for_a_callback() -> None:
    exchange = Exchange(RegisterRequest("App", (Event("done"),)))
    assert not exchange.expects_callback
    exchange.receive_data(OK + CALLBACK)
    assert exchange.state is State.DONE
    assert exchange.callback is None


def test_ok_then_callback_in_two_reads() -> None:
    exchange = Exchange(WITH_CALLBACK)
    assert exchange.expects_callback
    exchange.receive_data(OK)
    assert exchange.state is State.AWAITING_CALLBACK
    assert isinstance(exchange.response, OKResponse)
    exchange.receive_data(CALLBACK)
    assert exchange.state is State.DONE
    assert isinstance(exchange.callback, CallbackResponse)
    assert (exchange.callback.result, exchange.callback.context) == ("CLOSED", "ctx")


@pytest.mark.parametrize("separator", [b"", b"\r\n", b"\r\n\r\n"])
def test_ok_and_callback_in_one_chunk(separator: bytes) -> None:
    exchange = Exchange(WITH_CALLBACK)
    exchange.receive_data(OK + separator + CALLBACK)
    assert exchange.state is State.DONE
    assert isinstance(exchange.response, OKResponse)
    assert isinstance(exchange.callback, CallbackResponse)
    assert exchange.callback.result == "CLOSED"


def test_ok_and_start_of_callback_in_one_chunk() -> None:
    exchange = Exchange(WITH_CALLBACK)
    exchange.receive_data(OK + CALLBACK[:30])
    assert exchange.state is State.AWAITING_CALLBACK
    exchange.receive_data(CALLBACK[30:])
    assert exchange.state is State.DONE
    assert exchange.callback is not None


def test_eof_after_ok_while_awaiting_callback_is_done_without_callback() -> None:
    # growl-for-linux closes right after -OK and never calls back.
    exchange = Exchange(WITH_CALLBACK)
    exchange.receive_data(OK)
    exchange.receive_data(b"")
    assert exchange.state is State.DONE
    assert isinstance(exchange.response, OKResponse)
    assert exchange.callback is None


def test_eof_in_the_middle_of_a_callback_is_an_error() -> None:
    exchange = Exchange(WITH_CALLBACK)
    exchange.receive_data(OK + CALLBACK[:30])
    with pytest.raises(GNTPProtocolError):
        exchange.receive_data(b"")


@pytest.mark.parametrize("received", [b"", OK[:12], b"\r\n"])
def test_eof_before_response_is_a_protocol_error(received: bytes) -> None:
    exchange = Exchange(PLAIN)
    if received:
        exchange.receive_data(received)
    with pytest.raises(GNTPProtocolError):
        exchange.receive_data(b"")
    assert exchange.response is None


def test_callback_before_response_is_a_protocol_error() -> None:
    exchange = Exchange(WITH_CALLBACK)
    with pytest.raises(GNTPProtocolError, match="before answering"):
        exchange.receive_data(CALLBACK)


def test_garbage_is_a_protocol_error() -> None:
    exchange = Exchange(PLAIN)
    with pytest.raises(GNTPProtocolError):
        exchange.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")


def test_data_after_done_is_ignored() -> None:
    exchange = Exchange(PLAIN)
    exchange.receive_data(OK)
    exchange.receive_data(b"garbage that would not parse\r\n\r\n")
    exchange.receive_data(b"")
    assert exchange.state is State.DONE


def test_oversized_response_is_a_protocol_error() -> None:
    exchange = Exchange(PLAIN, max_response_size=32)
    with pytest.raises(GNTPProtocolError, match="larger than 32"):
        exchange.receive_data(OK)


def test_encrypted_ok_is_read_with_the_requests_password() -> None:
    security = Security("pw", "SHA256", "AES")
    exchange = Exchange(PLAIN, security)
    exchange.receive_data(encode_response("-OK", [("Response-Action", "NOTIFY")], security))
    assert exchange.state is State.DONE
    assert isinstance(exchange.response, OKResponse)
    assert exchange.response.action == "NOTIFY"


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (b"GNTP/1.0 -NOPE NONE\r\nX: y\r\n\r\n", "unexpected response type"),
        (b"GNTP/1.0 -CALLBACK NONE\r\nNotification-ID: n-1\r\n\r\n", "before answering"),
        (b"GNTP/1.0 -OK AES:00 SHA256:00.00\r\n\x01\x02\r\n\r\n", "no key is known"),
    ],
)
def test_a_whole_answer_in_one_read_is_checked_when_it_is_read(
    answer: bytes, error: str
) -> None:
    """One read that ends a message: the state is DONE at once (the transport closes
    its socket), and what is wrong with the answer is raised where it is read."""
    exchange = Exchange(PLAIN)
    exchange.receive_data(answer)
    assert exchange.state is State.DONE
    with pytest.raises(GNTPProtocolError, match=error):
        _ = exchange.response


def test_ok_then_more_in_one_read_keeps_the_first_message() -> None:
    exchange = Exchange(PLAIN)
    exchange.receive_data(OK + ERROR)
    assert exchange.state is State.DONE
    assert isinstance(exchange.response, OKResponse)
    assert exchange.response.notification_id == "n-1"
