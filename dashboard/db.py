"""The store, opened once per process read-only, with one cursor per session (DuckDB connections are not shared
across threads)."""

from __future__ import annotations

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
        st.error(
            f"No store at `{path}`. Build one with `prefatlas demo --no-serve` (or `prefatlas ingest`), then reload."
        )
        return None
    try:
        return _cursor(str(path))
    except duckdb.Error as exc:
        st.error(f"Cannot open the store `{path}`: {exc}")
        return None


def new_cursor() -> duckdb.DuckDBPyConnection:
    """A cursor of its own, for work outside the session's script thread (a download callback)."""
    return _database(str(default_store_path())).cursor()
