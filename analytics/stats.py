"""Small statistics helpers shared by the judge analytics: estimates with n and a seeded bootstrap interval."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from scipy.special import expit

DEFAULT_BOOT = 1000
DEFAULT_SEED = 0


@dataclass(frozen=True)
class Estimate:
    """A figure as prefatlas shows it: the value, its 95% bootstrap interval, and how many units it rests on."""

    value: float
    low: float
    high: float
    n: int

    def as_dict(self) -> dict:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}

    def fmt(self, percent: bool = False, digits: int = 2) -> str:
        if math.isnan(self.value):
            return f"– (n={self.n})"
        scale, unit = (100, "%") if percent else (1, "")
        d = 1 if percent else digits
        return f"{self.value * scale:.{d}f}{unit} [{self.low * scale:.{d}f}, {self.high * scale:.{d}f}] (n={self.n})"


NAN_ESTIMATE = Estimate(float("nan"), float("nan"), float("nan"), 0)


def format_estimate(est: dict | None, percent: bool = True) -> str:
    """'value [low, high] (n=...)' of an estimate given as a dict (as reports carry them); '–' for none."""
    if not est:
        return "–"
    return Estimate(**{k: (float("nan") if v is None else v) for k, v in est.items()}).fmt(percent)


def bootstrap(
    stat: Callable[[np.ndarray], float],
    n: int,
    boot: int = DEFAULT_BOOT,
    seed: int = DEFAULT_SEED,
) -> Estimate:
    """stat(all indices) with the 2.5/97.5 percentiles of stat over `boot` resamples of the n units (seeded)."""
    if n == 0:
        return NAN_ESTIMATE
    value = float(stat(np.arange(n)))
    rng = np.random.default_rng(seed)
    draws = np.array([stat(rng.integers(0, n, n)) for _ in range(boot)], dtype=float)
    draws = draws[~np.isnan(draws)]
    if len(draws) == 0:
        return Estimate(value, float("nan"), float("nan"), n)
    low, high = np.percentile(draws, [2.5, 97.5])
    return Estimate(value, float(low), float(high), n)


def mean_estimate(values: np.ndarray, boot: int = DEFAULT_BOOT, seed: int = DEFAULT_SEED) -> Estimate:
    """Mean of per-unit values (e.g. 0/1 outcomes) with a vectorised bootstrap."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n == 0:
        return NAN_ESTIMATE
    rng = np.random.default_rng(seed)
    chunk = max(1, 2_000_000 // n)  # bound memory: at most ~2M resampled values at a time
    draws = np.concatenate(
        [values[rng.integers(0, n, (min(chunk, boot - i), n))].mean(axis=1) for i in range(0, boot, chunk)]
    )
    low, high = np.percentile(draws, [2.5, 97.5])
    return Estimate(float(values.mean()), float(low), float(high), n)


def bootstrap_many(
    stat: Callable[[np.ndarray], np.ndarray], n: int, boot: int = DEFAULT_BOOT, seed: int = DEFAULT_SEED
) -> list[Estimate]:
    """Like bootstrap, for a statistic that returns a vector (e.g. regression coefficients): one fit per resample."""
    if n == 0:
        return []
    point = np.asarray(stat(np.arange(n)), dtype=float)
    rng = np.random.default_rng(seed)
    draws = np.array([stat(rng.integers(0, n, n)) for _ in range(boot)], dtype=float)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a coefficient that is NaN in every resample stays NaN
        low, high = np.nanpercentile(draws, [2.5, 97.5], axis=0)
    return [Estimate(float(v), float(lo), float(hi), n) for v, lo, hi in zip(point, low, high, strict=True)]


def logistic_fit(
    x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None, ridge: float = 1e-3, iterations: int = 50
) -> np.ndarray:
    """Coefficients of a logistic regression without intercept, by Newton's method with a small ridge penalty
    (keeps separable data finite). y may be soft (in [0, 1]). Fast for the few features used here."""
    n, d = x.shape
    if n == 0:
        return np.full(d, np.nan)
    w = np.ones(n) if weights is None else weights
    beta = np.zeros(d)
    for _ in range(iterations):
        p = expit(x @ beta)
        grad = x.T @ (w * (y - p)) - ridge * beta
        hess = (x * (w * p * (1 - p))[:, None]).T @ x + ridge * np.eye(d)
        step = np.linalg.solve(hess, grad)
        beta += step
        if np.abs(step).max() < 1e-8:
            break
    return beta


def random_orientation(x: np.ndarray, y: np.ndarray, seed: int = DEFAULT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Swap A and B in a seeded random half of the pairs: features negate, outcomes flip. For an antisymmetric
    no-intercept model the likelihood of each pair is unchanged, but data where A always wins (chosen/rejected
    sets) gets both outcomes, which solvers need."""
    flip = np.random.default_rng(seed).random(len(y)) < 0.5
    sign = np.where(flip, -1.0, 1.0)
    return x * sign[:, None], np.where(flip, 1.0 - y, y)
