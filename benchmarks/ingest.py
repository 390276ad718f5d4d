"""Ingest throughput: the real mirror (each catalog dataset) and a generated CSV of N pairs (default 1M).

Prints pairs/s and the peak resident memory of a fresh process per case. Usage:
    PREFATLAS_MIRROR=../shared/data/raw .venv/bin/python benchmarks/ingest.py [--pairs 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def child(case: str, arg: str, store: str) -> None:
    sys.path.insert(0, str(ROOT))
    from analytics.adapters import mapping
    from analytics.catalog import ingest_entry, load_catalog
    from analytics.store import connect, write_batch

    con = connect(store)
    start = time.perf_counter()
    if case == "catalog":
        summary = ingest_entry(con, load_catalog()[arg], mirror=Path(os.environ["PREFATLAS_MIRROR"]))
    else:
        m = {
            "name": "generated",
            "columns": {
                "prompt": "prompt",
                "response_a": "a",
                "response_b": "b",
                "model_a": "model_a",
                "model_b": "model_b",
                "category": "category",
            },
            "verdicts": [
                {"judge": "rater", "kind": "human", "column": "winner", "values": {"a": "A", "b": "B", "tie": "tie"}}
            ],
        }
        summary = write_batch(con, mapping.load(Path(arg), m))
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps({"pairs": summary.pairs, "judgments": summary.judgments, "seconds": seconds, "peak_rss_mb": peak_mb})
    )


def generate(path: Path, n: int) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    words = np.array(
        ["the", "a", "model", "answer", "prompt", "data", "judge", "prefers", "longer", "list", "code", "math", "story"]
    )
    prompt_ids = rng.integers(0, n // 2 + 1, n)
    frame = pd.DataFrame(
        {
            "prompt": [f"question {i}: " + " ".join(words[rng.integers(0, len(words), 12)]) for i in prompt_ids],
            "a": [f"answer a {i} " + "lorem ipsum " * 20 for i in range(n)],
            "b": [f"answer b {i} " + "dolor sit amet " * 15 for i in range(n)],
            "model_a": rng.choice(["gpt-4", "llama-2-70b", "mistral-7b"], n),
            "model_b": rng.choice(["claude-2", "vicuna-13b"], n),
            "category": rng.choice(["code", "math", "writing", "qa"], n),
            "winner": rng.choice(["a", "b", "tie"], n, p=[0.45, 0.45, 0.1]),
        }
    )
    frame.to_csv(path, index=False)


def measure(case: str, arg: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [sys.executable, __file__, "--child", case, arg, str(Path(tmp) / "s.duckdb")],
            check=True,
            capture_output=True,
            text=True,
            env=os.environ,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=1_000_000, help="size of the generated file")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    print(f"{'case':<34} {'pairs':>9} {'judgments':>10} {'seconds':>8} {'pairs/s':>9} {'peak MB':>8}")

    def show(name: str, r: dict) -> None:
        print(
            f"{name:<34} {r['pairs']:>9} {r['judgments']:>10} {r['seconds']:>8.2f} "
            f"{r['pairs'] / r['seconds']:>9.0f} {r['peak_rss_mb']:>8.0f}",
            flush=True,
        )

    if os.environ.get("PREFATLAS_MIRROR"):
        sys.path.insert(0, str(ROOT))
        from analytics.catalog import load_catalog

        for name in load_catalog():
            show(f"mirror: {name}", measure("catalog", name))
    else:
        print("(PREFATLAS_MIRROR not set: mirror cases skipped)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "generated.csv"
        t = time.perf_counter()
        generate(path, args.pairs)
        print(
            f"(generated {args.pairs:,} pairs, {path.stat().st_size / 1e6:.0f} MB CSV in "
            f"{time.perf_counter() - t:.1f} s)"
        )
        show(f"generated CSV, {args.pairs:,} pairs", measure("generated", str(path)))


if __name__ == "__main__":
    main()
