"""The store, opened once per process read-only, with one cursor per session (DuckDB connections are not shared
across threads)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

import duckdb
import streamlit as st

from analytics.store import connect, default_store_path


@st.cache_resource
def _database(path: str) -> duckdb.DuckDBPyConnection:
    return connect(path, read_only=True)


@st.cache_resource(scope="session", on_release=lambda c: c.close())
def _cursor(path: str) -> duckdb.DuckDBPyConnection:
    return _database(path).cursor()


def cursor() -> duckdb.DuckDBPyConnection | None:
    """The session's cursor, or None (after showing how to build a store) when there is no store."""
    path = default_store_path()
    if not path.exists():
        # visitors never see server paths: the operator has them in the server's log
        print(f"prefatlas: no store at {path}", flush=True)
        st.error("No store yet. Build one with `prefatlas demo --no-serve` (or `prefatlas ingest`), then reload.")
        return None
    if _WRITING.locked():
        st.info("The store is being updated (a map is being built); this page reloads when it is done.")
        return None
    try:
        cur = _cursor(str(path))
        cur.execute("SELECT 1")  # a cursor of a connection closed for a build is stale: open anew
        return cur
    except duckdb.ConnectionException:
        _cursor.clear()
        _database.clear()
        return _cursor(str(path))
    except duckdb.Error as exc:
        print(f"prefatlas: cannot open the store {path}: {exc}", flush=True)
        st.error("The store cannot be opened right now (it may be being written); reload in a moment.")
        return None


def page_start() -> tuple[duckdb.DuckDBPyConnection, str]:
    """(cursor, dataset) for a page; stops the page (the frame has said why) when either is missing."""
    con = cursor()
    dataset = st.session_state.get("dataset")
    if con is None or dataset is None:
        st.stop()
    return con, dataset


def new_cursor() -> duckdb.DuckDBPyConnection:
    """A cursor of its own, for work outside the session's script thread (a download callback)."""
    return _database(str(default_store_path())).cursor()


_WRITING = threading.Lock()  # one in-app build at a time; readers wait it out


@contextmanager
def writable() -> Iterator[duckdb.DuckDBPyConnection | None]:
    """A read-write connection for a build started from the app: the shared read-only connection is closed for
    its duration (DuckDB allows one configuration per file in a process) and reopened after. Yields None when
    another build is running. Fails when another process holds the store."""
    if not _WRITING.acquire(blocking=False):
        yield None
        return
    try:
        path = str(default_store_path())
        with suppress(duckdb.Error):
            _database(path).close()
        _cursor.clear()
        _database.clear()
        con = connect(path)
        try:
            yield con
        finally:
            con.close()
    finally:
        _WRITING.release()


def progress_callback(bar: st.delta_generator.DeltaGenerator, label: str) -> Callable[[int, int], None]:
    def update(done: int, total: int) -> None:
        bar.progress(min(1.0, done / max(total, 1)), text=f"{label}: {done:,} of {total:,}")

    return update
