"""A content-addressed cache on disk: results keyed by a hash of everything they depend on, written atomically.

The store is opened read-only by the dashboard, so computed results (dissection fits, ...) live here instead,
under PREFATLAS_CACHE (default data/cache/), in results/<hash>.json, and tables (a million rows of map layers) in
results/<hash>.parquet.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from analytics.catalog import default_cache

T = TypeVar("T")


# Part of every key: bump it when the shape of a cached result changes, so older entries are never read back.
CACHE_FORMAT = "2"


def cache_key(parts: Any) -> str:
    payload = json.dumps([CACHE_FORMAT, parts], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as JSON numbers and lists."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in the cache")


_recent: OrderedDict[Path, Any] = OrderedDict()  # the last results read or computed in this process, by file
RECENT = 32
_recent_lock = threading.Lock()


def _remember(path: Path, value: Any) -> None:
    with _recent_lock:
        _recent[path] = value
        _recent.move_to_end(path)
        while len(_recent) > RECENT:
            _recent.popitem(last=False)


def cached(parts: Any, compute: Callable[[], T], folder: Path | None = None) -> T:
    """compute() once per distinct `parts`; later calls read the stored JSON (the last few from memory while their
    file is there: a page's rerun asks again for what it just drew; callers treat results as read-only). A cache
    that cannot be written (a read-only disk) just means computing again."""
    folder = (folder or default_cache()) / "results"
    path = folder / f"{cache_key(parts)}.json"
    if path.is_file():
        with _recent_lock:
            if path in _recent:
                _recent.move_to_end(path)
                return _recent[path]
        try:
            value = json.loads(path.read_text())
            _remember(path, value)
            return value
        except (OSError, json.JSONDecodeError):
            pass  # a damaged entry is recomputed and replaced
    value = compute()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=folder, delete=False, suffix=".tmp") as tmp:
            json.dump(value, tmp, default=_plain)
        os.replace(tmp.name, path)
    except OSError:
        pass
    return value


def cached_frame(parts: Any, compute: Callable[[], pd.DataFrame], folder: Path | None = None) -> pd.DataFrame:
    """cached() for a table: stored as Parquet (a million rows read back in a fraction of a second, where JSON
    would take seconds). The frame's index is not kept: put what matters in columns."""
    folder = (folder or default_cache()) / "results"
    path = folder / f"{cache_key(parts)}.parquet"
    if path.is_file():
        try:
            return pd.read_parquet(path)
        except (OSError, ValueError):
            pass  # a damaged entry is recomputed and replaced
    value = compute().reset_index(drop=True)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, delete=False, suffix=".tmp") as tmp:
            value.to_parquet(tmp.name, index=False)
        os.replace(tmp.name, path)
    except OSError:
        pass
    return value
