"""Addresses and durations as the client reads and prints them."""

from __future__ import annotations

import pytest

from gntp_jupyter.gntp.exceptions import GNTPValidationError
from gntp_jupyter.gntp.options import ClientOptions, format_address, format_seconds, split_address


@pytest.mark.parametrize(("text", "parsed"), [
    ("localhost", ("localhost", None)),
    ("localhost:24117", ("localhost", 24117)),
    ("10.0.0.2:23053", ("10.0.0.2", 23053)),
    ("[::1]", ("::1", None)),
    ("[::1]:24117", ("::1", 24117)),
    ("::1", ("::1", None)),
    ("fe80::1%eth0", ("fe80::1%eth0", None)),
])
def test_split_address_reads_every_printed_form(text: str, parsed: tuple) -> None:
    assert split_address(text) == parsed
    host, port = parsed
    if port is not None:
        assert split_address(format_address(host, port)) == parsed


@pytest.mark.parametrize(
    "text", ["", ":80", "[::1", "[::1]x", "host:0", "host:http", "[::1]:99999"]
)
def test_split_address_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(GNTPValidationError):
        split_address(text)


def test_a_bracketed_host_is_the_literal_inside() -> None:
    assert ClientOptions(host="[::1]").host == "::1"


@pytest.mark.parametrize(("seconds", "text"), [
    (2.99998, "3 s"), (3.0, "3 s"), (1.5, "1.5 s"), (0.25, "0.25 s"), (0.001, "0 s"),
    (600, "600 s"),
])
def test_format_seconds_has_no_float_noise(seconds: float, text: str) -> None:
    assert format_seconds(seconds) == text
