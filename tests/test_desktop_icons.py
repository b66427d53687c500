"""The icon folder: content-named files, private, bounded; URL icons fetched or skipped."""

from __future__ import annotations

import asyncio
import hashlib
import os

from icon_server import png

from gntp_jupyter.desktop.icons import IconStore


def test_files_are_named_by_content_in_a_private_folder(tmp_path):
    store = IconStore(tmp_path / "icons")
    data = png("a")
    path = store.path_for(data)
    assert path is not None and path.read_bytes() == data
    assert path.name == hashlib.sha256(data).hexdigest()[:40] + ".png"
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
    assert store.path_for(data) == path  # the same bytes, the same file


def test_anything_but_an_image_is_refused(tmp_path):
    store = IconStore(tmp_path / "icons")
    for data in (b"", b"#!/bin/sh\nrm -rf ~\n", b"<svg onload=alert(1)>"):
        assert store.path_for(data) is None
    assert not (tmp_path / "icons").exists() or os.listdir(tmp_path / "icons") == []


def test_the_folder_stays_under_its_cap(tmp_path):
    one = len(png("x", 64))
    store = IconStore(tmp_path / "icons", max_bytes=3 * one)
    paths = [store.path_for(png(str(i), 64)) for i in range(10)]
    left = sorted(os.listdir(tmp_path / "icons"))
    assert sum((tmp_path / "icons" / name).stat().st_size for name in left) <= 3 * one
    assert paths[-1].name in left  # the newest is never the one evicted


def test_url_icons_are_fetched_and_other_schemes_refused(tmp_path, icon_server):
    store = IconStore(tmp_path / "icons", fetch_timeout=5)

    async def fetch_all():
        return await asyncio.gather(
            store.fetch(icon_server.url("/icons/fetched.png")),
            store.fetch(icon_server.url("/icons/missing/x.png")),
            store.fetch(icon_server.url("/icons/big/2000000")),
            store.fetch("file:///etc/hostname"),
            store.fetch(None),
        )

    fetched, missing, big, local, none = asyncio.run(fetch_all())
    assert fetched.read_bytes() == png("/icons/fetched.png")
    assert (missing, big, local, none) == (None, None, None, None)


def test_the_folder_holds_at_most_max_files(tmp_path):
    store = IconStore(tmp_path / "icons", max_files=5)
    paths = [store.path_for(png(f"f{i}")) for i in range(12)]
    left = set(os.listdir(tmp_path / "icons"))
    assert left == {p.name for p in paths[-5:]}  # the five most recent


def test_a_tiny_file_counts_as_a_disk_block(tmp_path):
    store = IconStore(tmp_path / "icons", max_bytes=3 * 4096)
    for i in range(10):
        store.path_for(png(f"tiny{i}", 1))  # ~70 bytes each
    assert len(os.listdir(tmp_path / "icons")) == 3
