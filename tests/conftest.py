from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
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
