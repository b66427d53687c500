"""Icons: one rule for every source (Resource, read_icon, AsyncResource's fetched bytes)."""

from __future__ import annotations

import pytest
from icon_server import png

from gntp_jupyter.gntp.exceptions import GNTPError, GNTPResourceError
from gntp_jupyter.gntp.resources import MAX_ICON_BYTES, Resource, read_icon


def test_an_image_file_is_read_by_path_by_file_url_and_with_a_tilde(tmp_path, monkeypatch) -> None:
    (tmp_path / "my icon.png").write_bytes(png("resource"))
    monkeypatch.setenv("HOME", str(tmp_path))
    for spec in (tmp_path / "my icon.png", f"file://{tmp_path}/my%20icon.png",
                 f"file://localhost{tmp_path}/my icon.png", "~/my icon.png"):
        assert Resource(spec).data == png("resource"), spec


@pytest.mark.parametrize(("name", "cause"), [
    ("missing.png", "No such file or directory"),
    ("notes.txt", "not an image (first bytes b'just tex'"),
    (".", "a directory, not an image file"),
    ("big.png", "too large"),
])
def test_what_is_not_an_image_file_says_why(tmp_path, name: str, cause: str) -> None:
    (tmp_path / "notes.txt").write_text("just text\n")
    (tmp_path / "big.png").write_bytes(png("big") + b"\0" * MAX_ICON_BYTES)
    with pytest.raises(GNTPResourceError) as info:
        Resource(tmp_path / name)
    assert info.value.cause.startswith(cause), info.value.cause
    assert str(info.value).startswith("could not read ")


def test_an_http_url_points_to_async_resource() -> None:
    with pytest.raises(GNTPResourceError, match=r"use AsyncResource\(url\)"):
        Resource("http://example.org/icon.png")
    with pytest.raises(GNTPResourceError, match="a file on this machine"):
        read_icon("file://example.org/icon.png")


def test_bytes_are_sent_as_given_and_errors_are_gntp_errors() -> None:
    assert Resource(b"any bytes").data == b"any bytes"
    assert issubclass(GNTPResourceError, GNTPError)
