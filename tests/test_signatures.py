"""Public constructors and methods say what they take: explicit keyword-only parameters,
each named in the docstring, no ``**kwargs``; a typo names the class; ``options=`` with a
connection keyword is refused. Real calls go to the receiver on loopback."""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Callable

import pytest

from gntp_jupyter.gntp import ClientOptions, GNTPClient, Publisher, Subscriber, Timeout
from gntp_jupyter.gntp.async_gntp import (
    AsyncGNTPClient,
    AsyncPublisher,
    AsyncSubscriber,
)
from gntp_jupyter.gntp.publishing import CONNECTION_KEYWORDS
from gntp_jupyter.gntp.receiver import Receiver, ReceiverThread
from gntp_jupyter.notifier import Notifier

CLIENTS = [GNTPClient, AsyncGNTPClient]
PUBLISHERS = [Publisher, AsyncPublisher]
SUBSCRIBERS = [Subscriber, AsyncSubscriber]
CONNECTION = set(CONNECTION_KEYWORDS)


def keyword_only(func: Callable) -> set[str]:
    parameters = inspect.signature(func).parameters.values()
    assert not [p for p in parameters if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL)], func
    return {p.name for p in parameters if p.kind is p.KEYWORD_ONLY}


def documented(func: Callable, names: set[str]) -> None:
    doc = inspect.getdoc(func) or ""
    assert [n for n in sorted(names) if f"``{n}``" not in doc] == [], func.__qualname__


@pytest.mark.parametrize("cls", CLIENTS + PUBLISHERS + SUBSCRIBERS, ids=lambda c: c.__name__)
def test_constructors_spell_out_their_keywords(cls: type) -> None:
    names = keyword_only(cls)  # the class's own signature, as Publisher? shows it
    # A client's options may also come first, positionally: GNTPClient(options).
    expected = CONNECTION | (set() if cls in CLIENTS else {"options", "headers"})
    if cls in SUBSCRIBERS:
        expected |= {"id", "subscriber_port"}
    assert names == expected
    documented(cls.__init__, names)
    assert "__init__" in vars(cls)  # its own: a TypeError names this class


@pytest.mark.parametrize("cls", PUBLISHERS, ids=lambda c: c.__name__)
def test_publish_spells_out_its_keywords(cls: type) -> None:
    names = keyword_only(cls.publish)
    assert names == {"id", "sticky", "priority", "icon", "coalescing_id", "callback", "headers"}
    documented(cls.publish, names)
    for method in ("register", "publish_async", "register_async"):
        if hasattr(cls, method):
            keyword_only(getattr(cls, method))


def test_the_receiver_spells_out_its_keywords() -> None:
    assert {"password", "style", "display", "limits", "listener"} <= keyword_only(Receiver)


@pytest.mark.parametrize(
    "method", [Notifier.send, Notifier.send_async, Notifier.test_connection,
               Notifier.test_connection_async], ids=lambda m: m.__name__,
)
def test_notifier_sends_spell_out_their_keywords(method: Callable) -> None:
    names = keyword_only(method)
    assert names >= CONNECTION
    if method.__name__.startswith("send"):
        assert {"event", "icon", "sticky", "priority", "coalescing_id", "callback_url",
                "source"} <= names
    if method is Notifier.send or method is Notifier.test_connection:
        documented(method, names)


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: Publisher("App", ["e"], hots="x"), "Publisher"),
        (lambda: AsyncPublisher("App", ["e"], hots="x"), "AsyncPublisher"),
        (lambda: Subscriber("S", password="pw", hots="x"), "Subscriber"),
        (lambda: AsyncSubscriber("S", password="pw", hots="x"), "AsyncSubscriber"),
        (lambda: GNTPClient(hots="x"), "GNTPClient"),
        (lambda: AsyncGNTPClient(hots="x"), "AsyncGNTPClient"),
        (lambda: Notifier().send("t", hots="x"), "Notifier.send"),
        (lambda: Notifier().test_connection(hots="x"), "Notifier.test_connection"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_a_typo_names_the_class(make: Callable, name: str) -> None:
    with pytest.raises(TypeError, match=rf"^{name}\b.*unexpected keyword argument 'hots'"):
        make()


@pytest.mark.parametrize(
    "cls", CLIENTS + PUBLISHERS + SUBSCRIBERS, ids=lambda c: c.__name__,
)
def test_options_and_a_connection_keyword_together_are_refused(cls: type) -> None:
    options = ClientOptions.build(port=1111, password="pw")
    args: tuple = ()
    if cls in PUBLISHERS:
        args = ("App", ["e"])
    elif cls in SUBSCRIBERS:
        args = ("S",)
    with pytest.raises(TypeError) as info:
        cls(*args, options=options, port=2222, password="x")
    message = str(info.value)
    assert message.startswith(f"{cls.__name__}() takes options= or the connection keywords")
    assert "got options= and port=, password=" in message
    assert "ClientOptions.build" in message  # says what to do


def test_options_must_be_client_options() -> None:
    with pytest.raises(TypeError, match="options must be a ClientOptions, not dict"):
        Publisher("App", ["e"], options={"port": 1111})  # type: ignore[arg-type]


def test_publisher_help_shows_the_real_parameters(shell) -> None:  # type: ignore[no-untyped-def]
    shell.user_ns["Publisher"] = Publisher
    text = shell.object_inspect_text("Publisher")
    text = text.decode() if isinstance(text, bytes) else text
    signature = re.sub(r"\x1b\[[0-9;]*m", "", text).partition("Docstring:")[0]
    for name in (*CONNECTION_KEYWORDS, "headers", "options"):
        assert f"\n    {name}: " in signature, name
    assert "**" not in signature


# --- the keywords do what they say, on a real server ----------------------------------------


@pytest.fixture
def locked() -> ReceiverThread:
    server = ReceiverThread(Receiver(password="s3cret")).start()
    yield server
    server.stop()


def test_each_keyword_reaches_the_server(locked: ReceiverThread) -> None:
    p = Publisher("Keywords", ["e"], host=locked.host, port=locked.port, password="s3cret",
                  hash_algorithm="SHA512", encryption="AES", timeout=5,
                  headers={"X-Test": "yes"})
    assert p.options.timeout == Timeout(connect=5, response=5)
    p.register()
    p.publish("e", "typed keywords")
    (n,) = locked.notifications
    assert n.title == "typed keywords"
    assert locked.requests[-1].encryption == "AES"
    assert locked.requests[-1].hash_algorithm == "SHA512"


@pytest.mark.asyncio
async def test_options_alone_reaches_the_server(locked: ReceiverThread) -> None:
    options = ClientOptions.build(host=locked.host, port=locked.port, password="s3cret")
    p = AsyncPublisher("Options", ["e"], options=options)
    await p.register()
    await p.publish("e", "prebuilt options")
    subscriber = AsyncSubscriber("Watcher", options=options, subscriber_port=23099)
    await subscriber.subscribe()
    client = AsyncGNTPClient(host=locked.host, port=locked.port, password="s3cret")
    assert client.options == options
    assert [n.title for n in locked.notifications] == ["prebuilt options"]
    assert [(s.name, s.port) for s in locked.subscriptions] == [("Watcher", 23099)]


def test_notifier_send_takes_a_target_for_one_send(receiver) -> None:  # type: ignore[no-untyped-def]
    notifier = Notifier()
    entry = notifier.send("one-off target", host=receiver.host, port=receiver.port)
    assert entry.ok, entry.warning
    test = notifier.test_connection(host=receiver.host, port=receiver.port, timeout=5)
    assert test.ok, test.warning
    assert [n.title for n in receiver.notifications] == ["one-off target", "gntp_jupyter test"]
    entry = asyncio.run(notifier.send_async("async target", host=receiver.host,
                                            port=receiver.port))
    assert entry.ok and receiver.notifications[-1].title == "async target"
