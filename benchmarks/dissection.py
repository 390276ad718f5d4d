"""Preference Dissection: fit time of the default path (5k and 50k pairs x 30 properties, one judge x group), and its
agreement with a long MCMC run (emcee) on a real case.

    PREFATLAS_MIRROR=../shared/data/raw .venv/bin/python benchmarks/dissection.py [--store S] [--mcmc-steps 6000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.special import expit, log_expit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics.dissection import Settings, _fit_one, design, fit_bayes_logistic
from analytics.stats import random_orientation


def timing(n: int, d: int = 30, repeats: int = 3) -> float:
    rng = np.random.default_rng(0)
    x = rng.integers(-1, 2, (n, d)).astype(float)
    w = rng.laplace(0, 0.2, d)
    y = (rng.random(n) < expit(x @ w)).astype(float)
    times = []
    for r in range(repeats):
        start = time.perf_counter()
        fit_bayes_logistic(x, y, seed=r)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def mcmc(x: np.ndarray, y: np.ndarray, b: float, steps: int, seed: int = 0) -> np.ndarray:
    import emcee

    d = x.shape[1]
    signs = 2 * y - 1
    xs = x * signs[:, None]

    def log_prob(w: np.ndarray) -> float:
        return float(log_expit(xs @ w).sum() - np.abs(w).sum() / b)

    walkers = 2 * d + 2
    rng = np.random.default_rng(seed)
    sampler = emcee.EnsembleSampler(walkers, d, log_prob)
    sampler.run_mcmc(rng.normal(0, 0.05, (walkers, d)), steps, progress=False)
    return sampler.get_chain(discard=steps // 3, thin=5, flat=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", type=Path, help="a store with pandalm (default: built from the mirror)")
    parser.add_argument("--mcmc-steps", type=int, default=6000)
    args = parser.parse_args()

    print("fit time of the default path (MAP + Laplace + importance sampling, 3000 draws), median of 3:")
    for n in (5_000, 50_000):
        print(f"  {n:>6} pairs x 30 properties: {timing(n):.2f} s")

    from analytics.catalog import ingest_entry, load_catalog
    from analytics.store import connect

    with tempfile.TemporaryDirectory() as tmp:
        store = args.store
        if store is None:
            if not os.environ.get("PREFATLAS_MIRROR"):
                print("(no --store and no PREFATLAS_MIRROR: the comparison with MCMC is skipped)")
                return
            store = Path(tmp) / "s.duckdb"
            writer = connect(store)
            ingest_entry(writer, load_catalog()["pandalm"])
            writer.close()
        con = connect(store, read_only=True)
        settings = Settings()
        features, wide, _ = design(con, "pandalm", settings)
        judge = "gpt-3.5-turbo"
        fit = _fit_one(features, wide[judge], settings)
        decided = wide[judge][wide[judge].isin(["A", "B"])]
        x = features.reindex(decided.index)[fit.features].to_numpy(dtype=float)
        x, y = random_orientation(x, (decided == "A").to_numpy(dtype=float), settings.seed)
        start = time.perf_counter()
        chain = mcmc(x, y, settings.prior_scale, args.mcmc_steps)
        print(f"\nreal case: PandaLM, judge {judge}, {fit.n} pairs x {len(fit.features)} properties")
        print(
            f"  emcee: {len(chain)} draws after burn-in ({time.perf_counter() - start:.1f} s); default path ess "
            f"{fit.ess:.0f}"
        )
        mean, low, high = chain.mean(0), np.percentile(chain, 2.5, 0), np.percentile(chain, 97.5, 0)
        print(f"  {'property':<26} {'ours: mean [95%]':>26} {'MCMC: mean [95%]':>26}")
        for k, name in enumerate(fit.features):
            print(
                f"  {name:<26} {fit.mean[k]:+.3f} [{fit.low[k]:+.3f}, {fit.high[k]:+.3f}]   "
                f"{mean[k]:+.3f} [{low[k]:+.3f}, {high[k]:+.3f}]"
            )
        width = np.median(high - low)
        print(
            f"  largest difference: mean {np.abs(fit.mean - mean).max():.3f}, interval ends "
            f"{max(np.abs(fit.low - low).max(), np.abs(fit.high - high).max()):.3f} "
            f"(median interval width {width:.3f})"
        )


if __name__ == "__main__":
    main()
