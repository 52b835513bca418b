"""One coordinator per search on PostgreSQL: a second is refused while the first lives,
and a first killed with SIGKILL leaves nothing behind that blocks the next.

The SQLite default is covered by the kill -9 resume test in ``test_search_runs.py``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest

from autotune.search import lease, studies
from tests.search.search_helpers import NADAMW, run_error, search_args
from tests.worker.conftest import fresh_database

pytestmark = pytest.mark.postgres

HOLD = """import sys, time
from autotune.search import lease, studies
with lease.coordinator_lock(studies.open_storage(sys.argv[1]), "t"):
    print("held", flush=True)
    time.sleep(300)
"""


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_database("lock") as url:
        yield url


def _holder(url: str) -> subprocess.Popen[str]:
    """A process that holds search 't''s coordinator lock until it is killed."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, url], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def _acquire(url: str, timeout: float) -> None:
    """Take and release the lock, retrying while the server notices a dead holder."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with lease.coordinator_lock(studies.open_storage(url), "t"):
                return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_second_coordinator_refused_and_sigkill_frees_the_lock(
    pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    holder = _holder(pg_url)
    try:
        argv = search_args(tmp_path / "x", "--submission", "baseline", "--search-space", NADAMW,
                           "--storage", pg_url)  # fmt: skip
        err = run_error(capsys, argv)
        assert "search 't' in postgresql" in err and "already being run by another live" in err
        storage = studies.open_storage(pg_url)
        assert optuna.get_all_study_names(storage) == []  # refused before any study
    finally:
        holder.kill()
        holder.wait()
    _acquire(pg_url, timeout=10)
