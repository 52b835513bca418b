"""Shared fixtures of the multi-process tests."""

from __future__ import annotations

import pytest

from autotune import multidevice


@pytest.fixture(scope="session")
def two_ranks() -> None:
    """Skip unless this process may use 2 devices (GPUs, else CPU cores, one gloo rank each):
    on one core ``autotune`` refuses ``--devices 2`` by design."""
    have, _ = multidevice.available_devices()
    if have < 2:
        pytest.skip(f"needs 2 devices; this process may use {have}")
