from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# hypothesis keeps its caches in ./.hypothesis unless told otherwise: a test run writes nothing into the checkout
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", tempfile.mkdtemp(prefix="prefatlas-hypothesis-"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def mirror_path() -> Path | None:
    env = os.environ.get("PREFATLAS_MIRROR")
    return Path(env) if env and Path(env).is_dir() else None


@pytest.fixture(scope="session")
def mirror() -> Path:
    path = mirror_path()
    if path is None:
        pytest.skip("real-data mirror absent: set PREFATLAS_MIRROR to a folder laid out like ../shared/data/raw")
    return path


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store.duckdb"


@pytest.fixture(autouse=True)
def _cache_in_a_temporary_folder(tmp_path_factory, monkeypatch):
    """Every test's result cache, and the default store (with its agenda beside it), live in temporary folders: a
    test run writes nothing into the checkout (and a command's --cache or --store, which set PREFATLAS_CACHE and
    PREFATLAS_STORE, is undone after each test)."""
    monkeypatch.setenv("PREFATLAS_CACHE", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("PREFATLAS_STORE", str(tmp_path_factory.mktemp("store") / "prefatlas.duckdb"))
