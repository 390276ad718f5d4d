"""Map costs at 20k and 100k points: building a map (kNN, UMAP 2-D and 5-D, HDBSCAN, names, regions) and the
page's server time (reading the points and layers, ranking regions, sampling and drawing the figure).

    .venv/bin/python benchmarks/maps.py [--sizes 20000 100000]

With --layout-for STORE, a map of every pair of the store's dataset (pairs space: a million points on the
generated million-pair store) is written straight into that store with a generated layout (clustered 2-D positions,
30 neighbours each within the cluster), without UMAP: the page, not the build, is what it lets
benchmarks/pages.py time at that size (`--pages Map`).

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

from analytics import figures
from analytics import maps as M
from analytics.embed import EmbedSettings, ensure_tables, text_id
from analytics.store import DatasetMeta, IngestBatch, arrow_rows, connect, transaction, write_batch


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


def write_layout(store: Path, dataset: str, clusters: int = 60, k: int = 30, seed: int = 0) -> str:
    """A pairs-space map of every pair of `dataset` with a generated layout (see the module's docstring)."""
    import json

    rng = np.random.default_rng(seed)
    con = connect(store)
    try:
        ids = arrow_rows(con, "SELECT pair_id FROM pairs WHERE dataset = $d ORDER BY pair_id", {"d": dataset})
        ids = ids["pair_id"].combine_chunks()
        n = len(ids)
        label = rng.choice(clusters, size=n, p=rng.dirichlet(np.ones(clusters)))
        centre = rng.uniform(-12, 12, size=(clusters, 2))
        xy = centre[label] + rng.normal(size=(n, 2)) * rng.uniform(0.3, 1.2, size=clusters)[label][:, None]
        label[rng.random(n) < 0.03] = -1  # HDBSCAN's noise
        order = np.argsort(label, kind="stable")  # neighbours: random members of the same cluster
        start = np.searchsorted(label[order], label)
        size = np.bincount(label + 1)[label + 1]
        neighbours = order[start[:, None] + (rng.random((n, k)) * size[:, None]).astype(np.int64)]
        neighbours[:, 0] = np.arange(n)  # a point is its own first neighbour, as in a real kNN graph
        offsets = pa.array(np.arange(0, (n + 1) * k, k, dtype=np.int32))
        dists = np.sort(rng.uniform(0.05, 0.6, size=(n, k)).astype(np.float32), axis=1)
        dists[:, 0] = 0
        map_id = f"layout-{dataset}-{n}"
        _points = pa.table(
            {
                "map_id": pa.array([map_id] * n),
                "item_id": ids,
                "source": pa.array(["dataset"] * n),
                "x": xy[:, 0],
                "y": xy[:, 1],
                "cluster": label.astype(np.int32),
                "knn_ids": pa.ListArray.from_arrays(offsets, ids.take(pa.array(neighbours.ravel()))),
                "knn_dists": pa.ListArray.from_arrays(offsets, pa.array(dists.ravel())),
                "rarity": rng.lognormal(0, 0.4, n),
                "neighbours_data": pa.nulls(n, pa.int32()),
                "density_ratio": pa.nulls(n, pa.float64()),
                "p_value": pa.nulls(n, pa.float64()),
            }
        )
        counts = np.bincount(label[label >= 0], minlength=clusters)
        _clusters = pa.table(
            {
                "map_id": [map_id] * clusters,
                "cluster": np.arange(clusters, dtype=np.int32),
                "name": [f"topic {c}" for c in range(clusters)],
                "keywords": [f"word{c}, other{c}" for c in range(clusters)],
                "medoid": [f"a typical prompt of topic {c}" for c in range(clusters)],
                "n_data": counts.astype(np.int32),
                "n_reference": np.zeros(clusters, dtype=np.int32),
            }
        )
        M.ensure_tables(con)
        with transaction(con):
            for table in ("map_points", "map_clusters", "maps"):
                con.execute(f"DELETE FROM {table} WHERE map_id = $m", {"m": map_id})
            con.execute(
                "INSERT INTO maps VALUES ($m, $d, NULL, 'preference', $k, $p, now(), $n)",
                {"m": map_id, "d": dataset, "k": EmbedSettings().key, "p": json.dumps({"generated": True}), "n": n},
            )
            con.execute("INSERT INTO map_points SELECT * FROM _points")
            con.execute("INSERT INTO map_clusters SELECT * FROM _clusters")
        return map_id
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--layout-for", type=Path, help="write a generated-layout map into this store and stop")
    parser.add_argument("--dataset", default="generated", help="with --layout-for: the dataset mapped")
    args = parser.parse_args()
    if args.layout_for:
        start = time.perf_counter()
        map_id = write_layout(args.layout_for, args.dataset)
        print(f"map {map_id} written in {time.perf_counter() - start:.1f} s")
        return
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
            start = time.perf_counter()  # the page's own path (its layers and regions cached by the build)
            points, regions = M.map_view(con, map_id)
            shown = M.drawn_points(con, points, "prompts")
            figures.map_figure(shown, "cluster", "cluster", regions, None, "map").to_json()
            served = time.perf_counter() - start
            print(f"{n:>8} {built:>12.1f} {served:>14.1f} {len(shown):>8}", flush=True)


if __name__ == "__main__":
    main()
