"""Map costs at 20k and 100k points: building a map (kNN, UMAP 2-D and 5-D, HDBSCAN, names, regions) and the
page's server time (reading the points and layers, ranking regions, sampling and drawing the figure).

    .venv/bin/python benchmarks/maps.py [--sizes 20000 100000]

Points are generated (clustered 384-d unit vectors standing in for prompt embeddings), written to a fresh store with
one judged pair each, then mapped against a reference of half the size.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics import maps as M
from analytics.embed import EmbedSettings, ensure_tables, text_id
from analytics.store import DatasetMeta, IngestBatch, connect, write_batch


def clustered(n: int, seed: int, dim: int = 384, topics: int = 60) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(topics, dim))
    sizes = rng.dirichlet(np.ones(topics)) * n
    labels = np.repeat(np.arange(topics), np.maximum(1, sizes.astype(int)))[:n]
    labels = np.r_[labels, rng.integers(0, topics, n - len(labels))]
    x = centres[labels] + 0.6 * rng.normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def add_dataset(con, name: str, vectors: np.ndarray) -> None:
    n = len(vectors)
    prompts = [f"{name} prompt {i} about topic words {i % 97} and {i % 13}" for i in range(n)]
    pairs = pd.DataFrame(
        {
            "subset": None,
            "category": None,
            "prompt": prompts,
            "context": None,
            "response_a": [f"a{i}" for i in range(n)],
            "response_b": [f"b{i}" for i in range(n)],
            "model_a": None,
            "model_b": None,
            "upstream_id": None,
            "source_file": "gen",
            "source_row": np.arange(n),
        }
    )
    rng = np.random.default_rng(len(name))
    judgments = pd.DataFrame(
        {
            "pair_row": np.r_[np.arange(n), np.arange(n)],
            "judge": ["j1"] * n + ["j2"] * n,
            "verdict": rng.choice(["A", "B"], 2 * n),
            "verdict_raw": None,
            "prob_b": np.nan,
            "score_a": np.nan,
            "score_b": np.nan,
            "shown_order": None,
            "rationale": None,
            "source_file": "gen",
            "source_row": np.r_[np.arange(n), np.arange(n)],
        }
    )
    judges = pd.DataFrame(
        {"name": ["j1", "j2"], "kind": ["human", "llm"], "model": None, "family": None, "protocol": None}
    )
    write_batch(con, IngestBatch(DatasetMeta(name=name, version="1", adapter="bench"), pairs, judgments, judges))
    ensure_tables(con)
    key = EmbedSettings().key
    dim = vectors.shape[1]
    offsets = pa.array(np.arange(0, (n + 1) * dim, dim, dtype=np.int32))
    table = pa.table(
        {
            "text_id": [text_id(p) for p in prompts],
            "model_key": [key] * n,
            "vector": pa.ListArray.from_arrays(offsets, pa.array(vectors.reshape(-1))),
        }
    )
    con.register("_v", table)
    con.execute("INSERT OR IGNORE INTO embeddings SELECT * FROM _v")
    con.unregister("_v")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000])
    args = parser.parse_args()
    print("warming numba (UMAP's first call in a process compiles its kernels)...", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        con = connect(Path(tmp) / "w.duckdb")
        add_dataset(con, "warm", clustered(300, 0))
        start = time.perf_counter()
        M.build_map(con, "warm")
        print(f"  first map in this process: {time.perf_counter() - start:.1f} s")
    print(f"{'points':>8} {'build map s':>12} {'page server s':>14} {'drawn':>8}")
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            con = connect(Path(tmp) / "s.duckdb")
            add_dataset(con, "data", clustered(n * 2 // 3, 1))
            add_dataset(con, "ref", clustered(n // 3, 2))
            start = time.perf_counter()
            map_id = M.build_map(con, "data", reference="ref", settings=M.MapSettings(seed=None))
            built = time.perf_counter() - start
            start = time.perf_counter()
            layers = M.pair_layers(con, "data", "prompts")
            points = M.map_points(con, map_id).merge(layers, on="item_id", how="left")
            M.regions(con, map_id, layers)
            shown = M.sample_for_display(points)
            import plotly.graph_objects as go

            go.Figure(go.Scattergl(x=shown["x"], y=shown["y"], mode="markers")).to_json()
            served = time.perf_counter() - start
            print(f"{n:>8} {built:>12.1f} {served:>14.1f} {len(shown):>8}", flush=True)


if __name__ == "__main__":
    main()
