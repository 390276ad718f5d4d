"""Ingest as a user runs it: the `prefatlas ingest` command end to end (read, validate, write, properties, and the
precomputed page views unless --no-precompute), on each catalog dataset of the mirror and on generated data of N pairs
(benchmarks/generate.py: real texts recombined, six judges). Prints seconds, pairs/s, the command's peak resident
memory (the largest process's, and the peak of the command with its properties process together) and the store's
size. Usage:

    PREFATLAS_MIRROR=../shared/data/raw .venv/bin/python benchmarks/ingest.py --pairs 100000 1000000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from generate import generate  # noqa: E402
from procmem import run_measured  # noqa: E402

PREFATLAS = [sys.executable, "-m", "analytics.cli"]


def run(args: list[str], store: Path) -> dict:
    """Time one command in a fresh process; the peak memory of its largest process (the command or its properties
    process) and of the two together (benchmarks/procmem.py)."""
    start = time.perf_counter()
    done, memory = run_measured(args, cwd=ROOT)
    seconds = time.perf_counter() - start
    out, err = done.stdout, done.stderr
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{err[-3000:]}")
    pairs = sum(int(line.split(": ")[2].split()[0]) for line in out.splitlines() if ": " in line)
    return {
        "pairs": pairs,
        "seconds": seconds,
        "peak_mb": memory.largest_mb,
        "tree_mb": memory.tree_mb,
        "store_mb": store.stat().st_size / 1e6,
    }


def show(name: str, r: dict) -> None:
    print(
        f"{name:<40} {r['pairs']:>9,} {r['seconds']:>8.1f} {r['pairs'] / r['seconds']:>9,.0f} "
        f"{r['peak_mb']:>8,.0f} {r['tree_mb']:>8,.0f} {r['store_mb']:>9,.0f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, nargs="*", default=[100_000], help="sizes of generated data")
    parser.add_argument("--no-precompute", action="store_true", help="pass --no-precompute to the command")
    args = parser.parse_args()
    extra = ["--no-precompute"] if args.no_precompute else []
    mirror = os.environ.get("PREFATLAS_MIRROR")
    print(f"{'case':<40} {'pairs':>9} {'seconds':>8} {'pairs/s':>9} {'peak MB':>8} {'tree MB':>8} {'store MB':>9}")
    with tempfile.TemporaryDirectory(prefix="prefatlas-ingest-") as name:
        tmp = Path(name)
        env_cache = ["--cache", str(tmp / "cache")]
        if mirror:
            from analytics.catalog import load_catalog

            for dataset in load_catalog():
                store = tmp / f"{dataset}.duckdb"
                r = run(
                    [*PREFATLAS, "ingest", dataset, "--mirror", mirror, "--store", str(store), *env_cache, *extra],
                    store,
                )
                show(f"mirror: {dataset}", r)
        else:
            print("(PREFATLAS_MIRROR not set: mirror cases skipped, generated texts from a small vocabulary)")
        for n in args.pairs:
            start = time.perf_counter()
            data, mapping = generate(n, tmp / f"gen{n}", Path(mirror) if mirror else None)
            print(
                f"(generated {n:,} pairs, {data.stat().st_size / 1e6:,.0f} MB Parquet, "
                f"in {time.perf_counter() - start:.0f} s)"
            )
            store = tmp / f"gen{n}.duckdb"
            r = run(
                [*PREFATLAS, "ingest", "--mapping", str(mapping), str(data), "--store", str(store), *env_cache, *extra],
                store,
            )
            show(f"generated, {n:,} pairs", r)
            (tmp / f"gen{n}" / "generated.parquet").unlink()


if __name__ == "__main__":
    main()
