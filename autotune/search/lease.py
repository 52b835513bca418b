"""One coordinator per search: a lock that lives exactly as long as its process.

``autotune search`` owns ask/tell and takes every RUNNING trial it finds at start for one
lost by a dead coordinator (:func:`autotune.search.studies.reconcile`). A second
coordinator of the same search on the same storage would fail the first one's running
trials and break the exact quota, so :func:`coordinator_lock` refuses it, before it
touches anything, with one line. The lock dies with the process that holds it, however
it dies (``kill -9`` included), so a crashed coordinator never blocks a resume:

* **SQLite** (the default): ``flock`` on ``<database>.<search>.coordinator.lock`` beside
  the database file; the kernel drops it when the holder's file descriptor closes. The
  file also says which process holds it (pid and host), for the refusal message.
* **PostgreSQL**: a session advisory lock (``pg_try_advisory_lock``) on a connection held
  open for the whole search; the server drops it when the connection ends (a killed
  process's socket is closed by its kernel; a machine that lost power is noticed when
  the server's TCP keepalive gives up).
* Other databases (in-memory SQLite, MySQL): no lock; one coordinator per search is then
  the user's to ensure.

Usage::

    with coordinator_lock(storage, search_name):
        ...  # reconcile, ask, tell
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from autotune.errors import UserError

__all__ = ["coordinator_lock"]


def _refuse(name: str, where: str, holder: str) -> UserError:
    who = f" ({holder})" if holder else ""
    return UserError(
        f"search '{name}' in {where} is already being run by another live coordinator{who}; "
        "wait for it to finish or stop it, then run the command again to resume"
    )


@contextlib.contextmanager
def _file_lock(path: Path, name: str, where: str) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by trial processes
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
            raise _refuse(name, where, holder) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock; the file stays (unlinking it would race)


@contextlib.contextmanager
def _advisory_lock(engine: Any, name: str, where: str) -> Iterator[None]:
    from sqlalchemy import text

    key = {"k": f"autotune-coordinator:{name}"}
    with engine.connect() as conn:
        got = conn.execute(text("SELECT pg_try_advisory_lock(hashtext(:k))"), key).scalar()
        conn.commit()  # the lock belongs to the session, not to a transaction
        if not got:
            raise _refuse(name, where, "")
        try:
            yield
        finally:
            with contextlib.suppress(Exception):  # a lost connection has dropped it already
                conn.execute(text("SELECT pg_advisory_unlock(hashtext(:k))"), key)
                conn.commit()


@contextlib.contextmanager
def coordinator_lock(storage: Any, name: str) -> Iterator[None]:
    """Hold the coordinator lock of search ``name`` on Optuna RDB ``storage``, or raise a
    :class:`UserError` naming the live coordinator that holds it."""
    engine = storage.engine
    url = engine.url
    where = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        db = Path(str(url.database))
        with _file_lock(db.with_name(f"{db.name}.{name}.coordinator.lock"), name, where):
            yield
    elif url.get_backend_name() == "postgresql":
        with _advisory_lock(engine, name, where):
            yield
    else:
        yield
