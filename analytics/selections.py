"""Selections (e.g. a lasso on the map) saved under a short id, so a link can carry any number of points."""

from __future__ import annotations

import json
import os
import re
import tempfile

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analytics.cache import cache_key
from analytics.catalog import default_cache

_ID = re.compile(r"^[0-9a-f]{12}$")


def save_selection(item_ids: list[str], context: dict | None = None) -> str:
    """Store the ids (with what they were selected from) and return their 12-character id."""
    payload = {"items": sorted(set(item_ids)), "context": context or {}}
    sid = cache_key(payload)[:12]
    folder = default_cache() / "selections"
    path = folder / f"{sid}.json"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=folder, delete=False, suffix=".tmp") as tmp:
            json.dump(payload, tmp)
        os.replace(tmp.name, path)
    return sid


def load_selection(sid: str) -> dict | None:
    """The saved selection, or None for an unknown or malformed id."""
    if not isinstance(sid, str) or not _ID.match(sid):
        return None
    path = default_cache() / "selections" / f"{sid}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def is_among(item_ids: pd.Series, wanted: set[str] | list[str]) -> np.ndarray:
    """Which of the item ids are among `wanted`, in Arrow (a million ids against a selection of hundreds of
    thousands in milliseconds, where pandas' isin on a Python set takes seconds)."""
    found = pc.is_in(pa.array(item_ids, pa.string()), value_set=pa.array(list(wanted), pa.string()))
    return found.fill_null(False).to_numpy(zero_copy_only=False)
