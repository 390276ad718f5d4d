"""The Ray embedding path, end to end on a local Ray runtime: the vectors it stores equal the local path's."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from analytics import cli
from analytics.adapters.base import BatchBuilder
from analytics.embed import dataset_texts, embed_dataset, load_model, load_vectors
from analytics.store import DatasetMeta, connect, write_batch

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install -e '.[ray]'")


def _store(path):
    con = connect(path)
    bb = BatchBuilder()
    bb.judge("j1", "human")
    verbs = ["sort a list", "bake bread", "read a file", "tune a guitar", "fix a bike", "plan a trip", "learn rust"]
    for i, (verb, how) in enumerate((v, h) for v in verbs for h in ("quickly", "at home", "safely", "for beginners")):
        k = bb.pair(prompt=f"How do I {verb} {how}?", response_a=f"Step one for {verb}.", response_b="No idea.",
                    source_file="f", source_row=i)  # fmt: skip
        bb.judgment(k, "j1", "A", source_file="f", source_row=i)
    write_batch(con, bb.build(DatasetMeta(name="howto", version="1", adapter="test")))
    return con


def test_the_ray_path_stores_the_same_vectors_as_the_local_path(tmp_path, capsys):
    local = _store(tmp_path / "local.duckdb")
    embed_dataset(local, "howto", model=load_model())
    _store(tmp_path / "ray.duckdb").close()
    try:
        code = cli.main(["embed", "--engine", "ray", "--actors", "1", "--dataset", "howto", "--store",
                         str(tmp_path / "ray.duckdb")])  # fmt: skip
    finally:
        ray.shutdown()
    out = capsys.readouterr().out
    assert code == 0
    # 28 prompts and 8 distinct responses
    assert "howto: 36 texts, 36 embedded now, 0 already stored" in out
    with_ray = connect(tmp_path / "ray.duckdb", read_only=True)
    try:
        ids = list(dataset_texts(local, "howto"))
        assert len(ids) == 36
        np.testing.assert_allclose(load_vectors(with_ray, ids), load_vectors(local, ids), atol=1e-6)
    finally:
        with_ray.close()
        local.close()
    left = subprocess.run(["pgrep", "-f", "raylet|gcs_server"], capture_output=True, text=True).stdout
    assert not left.strip(), f"Ray processes left behind: {left}"
