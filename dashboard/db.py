"""The store as the dashboard sees it: read-only, and only while a script run needs it.

DuckDB lets one process write a file or several read it, never both. A connection held for the server's lifetime
would stop `prefatlas ingest` for as long as the dashboard serves. So every script run takes a lease (app.py), and
once no run holds one the process's read-only connection is closed as soon as a writer waits for the file (it keeps
a flag beside the store fresh: analytics.store.write_wanted), or after IDLE_CLOSE_S without a run: an ingest waits
at most for the runs in flight, and the next run after it reads the new data. Between those, page runs share the
open connection and its warm buffers (reopening a million-pair store cost a control change 0.4-0.7 s). Each run
gets its own cursor (DuckDB connections are not shared across threads)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import duckdb
import streamlit as st

from analytics.store import StoreAccess, connect, default_store_path, is_lock_conflict, write_wanted

_state = threading.Condition()
_shared: dict = {"con": None, "path": None, "leases": 0, "writing": False, "idle_since": None}
_run = threading.local()  # the cursor of the script run on this thread


class StoreBusy(Exception):
    """Another process (an ingest) is writing the store, or this one is building into it."""


def _acquire(path: str, wait_s: float = 0.0) -> duckdb.DuckDBPyConnection:
    with _state:
        deadline = time.monotonic() + wait_s
        while _shared["writing"]:
            if time.monotonic() >= deadline or not _state.wait(timeout=deadline - time.monotonic()):
                raise StoreBusy
        if _shared["con"] is not None and _shared["path"] != path and _shared["leases"] == 0:
            _close_shared()  # another store (PREFATLAS_STORE changed): never keep two files open
        if _shared["con"] is None or _shared["path"] != path:
            try:
                _shared["con"] = connect(path, read_only=True, memory="serve")
            except duckdb.IOException as exc:
                if is_lock_conflict(exc):
                    raise StoreBusy from exc
                raise
            _shared["path"] = path
        _shared["leases"] += 1
        return _shared["con"].cursor()


IDLE_CLOSE_S = 60.0  # the file is freed this long after the last run ends, or at once when a writer waits for it
WATCH_S = 0.2  # how often an idle connection looks for a waiting writer


def _close_shared() -> None:
    """Close the read-only connection (the caller holds _state and no run holds a lease)."""
    if _shared["con"] is not None:
        with suppress(duckdb.Error):
            _shared["con"].close()
        _shared["con"] = None
    _state.notify_all()


def _watch_idle(idle_since: float) -> None:
    """Close the idle connection when a writer waits for the file or it has been idle IDLE_CLOSE_S; stop watching
    when a run takes it again (a new idle period has its own watcher)."""
    while True:
        with _state:
            if _shared["leases"] > 0 or _shared.get("idle_since") != idle_since or _shared["con"] is None:
                return
            path = _shared["path"]
            if time.monotonic() - idle_since >= IDLE_CLOSE_S or (path is not None and write_wanted(path)):
                _close_shared()
                return
        time.sleep(WATCH_S)


def _release() -> None:
    with _state:
        _shared["leases"] -= 1
        if _shared["leases"] == 0:
            idle_since = _shared["idle_since"] = time.monotonic()
            threading.Thread(target=_watch_idle, args=(idle_since,), daemon=True, name="prefatlas-idle").start()
            _state.notify_all()


def _give_back(cur: duckdb.DuckDBPyConnection) -> None:
    with suppress(duckdb.Error):
        cur.close()
    _release()


@contextmanager
def lease() -> Iterator[duckdb.DuckDBPyConnection | None]:
    """A cursor on the store for one script run (app.py), or None after telling the visitor why there is
    none: no store yet, or the store is being written. Released (and the file freed) when the block ends."""
    path = default_store_path()
    if not path.exists():
        # visitors never see server paths: the operator has them in the server's log
        print(f"prefatlas: no store at {path}", flush=True)
        st.error("No store yet. Build one with `prefatlas demo --no-serve` (or `prefatlas ingest`), then reload.")
        yield None
        return
    try:
        cur = _acquire(str(path))
    except StoreBusy:
        st.info("The store is being updated (new data is being written); reload this page in a moment.")
        yield None
        return
    except duckdb.Error as exc:
        print(f"prefatlas: cannot open the store {path}: {exc}", flush=True)
        st.error("The store cannot be opened right now; reload in a moment.")
        yield None
        return
    _run.cursor = cur
    try:
        yield cur
    finally:
        _run.cursor = None
        _give_back(cur)


def page_start() -> tuple[duckdb.DuckDBPyConnection, str]:
    """(cursor, dataset) for a page; stops the page (the frame has said why) when either is missing."""
    con = getattr(_run, "cursor", None)
    dataset = st.session_state.get("dataset")
    if con is None or dataset is None:
        st.stop()
    return con, dataset


@contextmanager
def reading(wait_s: float = 0.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor for work outside a script run (a download, a background build); raises StoreBusy while the store
    is written for longer than `wait_s`."""
    cur = _acquire(str(default_store_path()), wait_s)
    try:
        yield cur
    finally:
        _give_back(cur)


WRITE_WAIT_S = 60.0  # how long an in-app write waits for the page runs in flight to finish


@contextmanager
def writer() -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection for one short step of a build started from the app (DuckDB allows one configuration
    per file in a process): new page runs are told the store is being updated, the runs in flight are waited out,
    and the read-only connection reopens with the next run. Waits for another in-app write to finish first."""
    deadline = time.monotonic() + WRITE_WAIT_S
    with _state:
        while _shared["writing"] or _shared["leases"] > 0:
            if not _state.wait(timeout=max(0.0, deadline - time.monotonic())):
                raise duckdb.IOException("page runs keep the store open; the build will be tried again")
            if time.monotonic() >= deadline:
                raise duckdb.IOException("page runs keep the store open; the build will be tried again")
        _shared["writing"] = True
        _close_shared()  # this process's read-only connection, at once
    try:
        con = connect(str(default_store_path()), wait_s=WRITE_WAIT_S)
        try:
            yield con
        finally:
            con.close()
    finally:
        with _state:
            _shared["writing"] = False
            _state.notify_all()


class DashboardAccess(StoreAccess):
    """Store access for builds running in the server's background: reads share the pages' read-only connection,
    each write is one short writer() step."""

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with reading(wait_s=WRITE_WAIT_S) as con:
            yield con

    @contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with writer() as con:
            yield con
