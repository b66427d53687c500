"""Request values validate on construction: a bad request never reaches the wire."""

from __future__ import annotations

import uuid

import pytest

from gntp_jupyter.gntp import (
    Event,
    GNTPResourceError,
    GNTPValidationError,
    NotifyRequest,
    Publisher,
    RegisterRequest,
    Resource,
    SocketCallback,
    SubscribeRequest,
)


@pytest.mark.parametrize(
    "name",
    ["X-Has Space", "X-Colon:", "X-New\nLine", "X-CR\r", "", "-X-Leading", "X_Under", "X-Ünï",
     "X-Semi;colon", 7],
)  # fmt: skip
def test_invalid_header_names_are_refused(name: object) -> None:
    with pytest.raises(GNTPValidationError, match="invalid header name"):
        NotifyRequest("A", "e", "T", headers={name: "v"})


@pytest.mark.parametrize(
    "name", ["Notification-Title", "Application-Name", "Custom", "Error-Code", "Xylophone"]
)
def test_custom_headers_must_be_x_data_or_origin(name: str) -> None:
    with pytest.raises(GNTPValidationError, match="must start with X-, Data- or Origin-"):
        NotifyRequest("A", "e", "T", headers={name: "v"})


@pytest.mark.parametrize(
    "name", ["X-Cell", "x-lower", "Data-Run-Id", "DATA-UPPER", "Origin-Machine-Name", "X-1"]
)
def test_allowed_custom_headers(name: str) -> None:
    request = NotifyRequest("A", "e", "T", headers={name: 3})
    assert request.headers == ((name, "3"),)
    assert (name, "3") in request.blocks()[0]
    register = RegisterRequest("A", (Event("e"),), headers={name: "v"})
    assert (name, "v") in register.blocks()[0]
    assert all(name not in dict(block) for block in register.blocks()[1:])


@pytest.mark.parametrize("priority", [-2, -1, 0, 1, 2])
def test_priority_range(priority: int) -> None:
    request = NotifyRequest("A", "e", "T", priority=priority)
    sent = dict(request.blocks()[0]).get("Notification-Priority", 0)  # 0 goes unsaid
    assert sent == priority


@pytest.mark.parametrize("priority", [-3, 3, 100, True, 1.0, "1", None])
def test_priority_out_of_range_or_not_an_int(priority: object) -> None:
    with pytest.raises(GNTPValidationError, match="priority"):
        NotifyRequest("A", "e", "T", priority=priority)


def test_callback_target_and_context_are_exclusive() -> None:
    with pytest.raises(GNTPValidationError, match="not both"):
        NotifyRequest("A", "e", "T", callback_target="http://x", callback_context="c",
                      callback_context_type="string")


@pytest.mark.parametrize(("context", "context_type"), [("c", None), (None, "string")])
def test_callback_context_needs_its_type(context: str | None, context_type: str | None) -> None:
    with pytest.raises(GNTPValidationError, match="go together"):
        NotifyRequest("A", "e", "T", callback_context=context, callback_context_type=context_type)


def test_socket_callback_and_url_callback() -> None:
    socket_cb = NotifyRequest("A", "e", "T", callback_context="c", callback_context_type="s")
    assert socket_cb.wants_socket_callback
    names = [name for name, _ in socket_cb.blocks()[0]]
    assert "Notification-Callback-Context" in names
    assert "Notification-Callback-Target" not in names
    url_cb = NotifyRequest("A", "e", "T", callback_target="https://example.org")
    assert not url_cb.wants_socket_callback
    names = [name for name, _ in url_cb.blocks()[0]]
    assert "Notification-Callback-Target" in names
    assert "Notification-Callback-Context" not in names


@pytest.mark.parametrize("field", ["application_name", "event_name", "title"])
@pytest.mark.parametrize("value", ["", "   ", None, 5])
def test_required_notify_text(field: str, value: object) -> None:
    kwargs = {"application_name": "A", "event_name": "e", "title": "T", field: value}
    with pytest.raises(GNTPValidationError, match="non-empty string"):
        NotifyRequest(**kwargs)


def test_text_must_be_a_string() -> None:
    with pytest.raises(GNTPValidationError, match="text must be a string"):
        NotifyRequest("A", "e", "T", text=None)


def test_register_needs_events_with_distinct_names() -> None:
    with pytest.raises(GNTPValidationError, match="at least one"):
        RegisterRequest("A", ())
    with pytest.raises(GNTPValidationError, match="repeat"):
        RegisterRequest("A", (Event("e"), Event("e", "again")))


def test_event_validation() -> None:
    with pytest.raises(GNTPValidationError):
        Event("")
    with pytest.raises(GNTPValidationError, match="URL, a Resource or None"):
        Event("e", icon=b"raw bytes")
    block = Event("e", "Shown", enabled=False).block()
    assert block == [
        ("Notification-Name", "e"),
        ("Notification-Display-Name", "Shown"),
        ("Notification-Enabled", False),
    ]


@pytest.mark.parametrize("port", [0, 65536, -1, True])
def test_subscriber_port_range(port: object) -> None:
    with pytest.raises(GNTPValidationError, match="subscriber port"):
        SubscribeRequest("me", subscriber_port=port)


def test_subscribe_blocks() -> None:
    request = SubscribeRequest("me", subscriber_id="id-1", subscriber_port=23054)
    assert request.blocks() == [
        [("Subscriber-ID", "id-1"), ("Subscriber-Name", "me"), ("Subscriber-Port", 23054)]
    ]
    assert len(SubscribeRequest("me").subscriber_id) == 36  # a UUID by default


def test_notification_ids_are_unique_by_default() -> None:
    ids = {NotifyRequest("A", "e", "T").notification_id for _ in range(50)}
    assert len(ids) == 50


def test_requests_are_immutable() -> None:
    request = NotifyRequest("A", "e", "T")
    with pytest.raises(AttributeError):
        request.title = "other"  # type: ignore[misc]


def test_resource_accepts_bytes_or_path_and_reports_missing_files(tmp_path) -> None:
    assert Resource(bytearray(b"ab")).data == b"ab"
    missing = tmp_path / "nope.png"
    with pytest.raises(GNTPResourceError) as info:
        Resource(missing)
    assert info.value.url == str(missing)
    with pytest.raises(GNTPValidationError, match="bytes or a file path"):
        Resource(3.5)  # type: ignore[arg-type]


def test_publisher_validates_its_arguments_up_front() -> None:
    with pytest.raises(GNTPValidationError, match="custom header"):
        Publisher("A", ["e"], headers={"Application-Name": "x"})
    publisher = Publisher("A", ["e"])
    with pytest.raises(GNTPValidationError, match="not one of this publisher's events"):
        publisher.notify_request("other", "T")
    with pytest.raises(GNTPValidationError, match="URL or a SocketCallback"):
        publisher.notify_request("e", "T", callback=42)  # type: ignore[arg-type]
    request = publisher.notify_request("e", "T", callback=SocketCallback(context="abc"))
    assert (request.callback_context, request.callback_context_type) == ("abc", "string")


def test_events_set_after_construction_are_the_ones_publish_accepts() -> None:
    publisher = Publisher("A", ["e"])
    publisher.events = ["f", Event("g", "Gee")]  # type: ignore[assignment]
    assert publisher.events == (Event("f"), Event("g", "Gee"))
    assert publisher.notify_request("g", "T").event_name == "g"
    with pytest.raises(GNTPValidationError, match="not one of this publisher's events"):
        publisher.notify_request("e", "T")
    with pytest.raises(GNTPValidationError, match="at least one Event"):
        publisher.events = []


def test_a_notification_gets_a_fresh_version_4_uuid_as_its_id() -> None:
    ids = [NotifyRequest("A", "e", "T").notification_id for _ in range(200)]
    assert len(set(ids)) == len(ids)
    for notification_id in ids:
        parsed = uuid.UUID(hex=notification_id)
        assert parsed.hex == notification_id
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)


# -- what publish() sends ------------------------------------------------------------------


def _header(data: bytes, name: str) -> str | None:
    for line in data.decode().split("\r\n"):
        if line.startswith(f"{name}: "):
            return line.split(": ", 1)[1]
    return None


def test_a_plain_notification_is_sent_from_the_events_template() -> None:
    publisher = Publisher("A", ["e", "f"], headers={"X-Run": "1"})
    data = publisher.notification(Event("e"), "Title", "text")
    assert isinstance(data, bytes)
    assert (_header(data, "Notification-Name"), _header(data, "X-Run")) == ("e", "1")
    assert uuid.UUID(hex=_header(data, "Notification-ID")).version == 4
    other = publisher.notification("e", "Title", "text")
    assert _header(other, "Notification-ID") != _header(data, "Notification-ID")


@pytest.mark.parametrize("options", [
    {"id": "n-1"}, {"sticky": True}, {"priority": 1}, {"icon": "https://example.org/i.png"},
    {"coalescing_id": "c"}, {"callback": "https://example.org"}, {"headers": {"X-A": "b"}},
    {"callback": SocketCallback(context="ctx")},
])
def test_anything_more_than_a_title_and_text_is_a_request(options: dict) -> None:
    request = Publisher("A", ["e"]).notification("e", "Title", "text", **options)
    assert isinstance(request, NotifyRequest)


def test_a_password_always_takes_the_encoder() -> None:
    assert isinstance(Publisher("A", ["e"], password="pw").notification("e", "T"), NotifyRequest)


@pytest.mark.parametrize(("event", "title", "options", "match"), [
    ("other", "T", {}, "not one of this publisher's events"),
    ("e", "", {}, "title"), ("e", "T", {"priority": 0.0}, "priority"),
    ("e", "T", {"priority": 7}, "priority"),
])
def test_bad_arguments_get_the_requests_own_errors(event, title, options, match) -> None:
    with pytest.raises(GNTPValidationError, match=match):
        Publisher("A", ["e"]).notification(event, title, **options)


def test_the_template_follows_the_publishers_name_headers_and_events() -> None:
    publisher = Publisher("A", ["e"], headers={"X-Run": "1"})
    publisher.notification("e", "T")
    publisher.name = "B"
    publisher.headers = (("X-Run", "2"),)
    data = publisher.notification("e", "T")
    assert (_header(data, "Application-Name"), _header(data, "X-Run")) == ("B", "2")
    publisher.events = ["g"]  # type: ignore[assignment]
    assert _header(publisher.notification("g", "T"), "Notification-Name") == "g"
    with pytest.raises(GNTPValidationError, match="not one of this publisher's events"):
        publisher.notification("e", "T")
