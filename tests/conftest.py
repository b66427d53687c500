"""Shared pytest fixtures."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

# --- growl-for-linux (real GNTP server) -------------------------------------------------
# One gol per test session: starting it costs about a second and the port is machine-wide.
# Tests share its state, so they use unique application names instead of resetting.
from gol import GrowlForLinux
from gol import available as gol_available


@pytest.fixture(scope="session")
def gol() -> Iterator[GrowlForLinux]:
    """A running growl-for-linux server on 127.0.0.1:23053 (skips when not installed)."""
    reason = gol_available()
    if reason:
        pytest.skip(reason)
    with GrowlForLinux() as server:
        yield server


@pytest.fixture
def gol_app_name() -> str:
    """A fresh Application-Name: gol never updates a registration once stored."""
    return f"gntp-jupyter-test-{uuid.uuid4().hex[:12]}"


# --- end growl-for-linux ----------------------------------------------------------------
