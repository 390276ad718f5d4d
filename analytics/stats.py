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


MAX_CELLS = 4096  # distinct values up to which a bootstrap resamples counts rather than units


def resample_counts(counts: np.ndarray, boot: int = DEFAULT_BOOT, seed: int = DEFAULT_SEED) -> np.ndarray:
    """(boot, k) bootstrap replicates of a table of counts. Drawing n units with replacement and counting them per
    cell is one multinomial draw with the cells' shares: the same distribution as resampling the units, at a cost
    that depends on the number of cells, not of units."""
    counts = np.asarray(counts, dtype=np.int64)
    n = int(counts.sum())
    return np.random.default_rng(seed).multinomial(n, counts / n, size=boot)


def bootstrap_counts(
    stat: Callable[[np.ndarray], np.ndarray],
    counts: np.ndarray,
    boot: int = DEFAULT_BOOT,
    seed: int = DEFAULT_SEED,
    value: float | None = None,
) -> Estimate:
    """An estimate from sufficient statistics: stat maps (m, k) count tables to m values (vectorised); its interval
    comes from `boot` multinomial replicates of the observed table (resample_counts), in one call. `value` overrides
    the point estimate (e.g. a library's exact computation)."""
    counts = np.asarray(counts, dtype=np.int64)
    n = int(counts.sum())
    if n == 0:
        return NAN_ESTIMATE
    point = float(stat(counts[None, :])[0]) if value is None else float(value)
    with np.errstate(all="ignore"):
        draws = np.asarray(stat(resample_counts(counts, boot, seed)), dtype=float)
    draws = draws[~np.isnan(draws)]
    if len(draws) == 0:
        return Estimate(point, float("nan"), float("nan"), n)
    low, high = np.percentile(draws, [2.5, 97.5])
    return Estimate(point, float(low), float(high), n)


def share_estimate(successes: int, n: int, boot: int = DEFAULT_BOOT, seed: int = DEFAULT_SEED) -> Estimate:
    """mean_estimate of n 0/1 outcomes of which `successes` are 1, from the two counts alone (what a SQL COUNT or a
    bincount gives): the same value and interval, without the n outcomes."""
    if n == 0:
        return NAN_ESTIMATE
    distinct, counts = np.array([0.0, 1.0]), np.array([n - successes, successes])
    distinct, counts = distinct[counts > 0], counts[counts > 0]  # as np.unique of the outcomes would give them
    estimate = bootstrap_counts(lambda c: c @ distinct / n, counts, boot, seed, value=successes / n)
    return Estimate(estimate.value, estimate.low, estimate.high, n)


def mean_estimate(values: np.ndarray, boot: int = DEFAULT_BOOT, seed: int = DEFAULT_SEED) -> Estimate:
    """Mean of per-unit values (e.g. 0/1 outcomes) with a bootstrap interval. Values that take few distinct values
    (outcomes, shares) are resampled as counts of each value (one multinomial draw per replicate); many distinct
    values are resampled unit by unit, in chunks, up to WALD_ABOVE units; beyond, the normal interval of the mean
    (mean +- 1.96 standard errors), which the bootstrap's percentiles equal at that size."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n == 0:
        return NAN_ESTIMATE
    distinct, counts = np.unique(values, return_counts=True)
    if len(distinct) <= MAX_CELLS and not np.isnan(distinct).any():
        estimate = bootstrap_counts(lambda c: c @ distinct / n, counts, boot, seed, value=float(values.mean()))
        return Estimate(estimate.value, estimate.low, estimate.high, n)
    if n > WALD_ABOVE:
        mean, se = float(values.mean()), float(values.std(ddof=1) / math.sqrt(n))
        return Estimate(mean, mean - 1.96 * se, mean + 1.96 * se, n)
    rng = np.random.default_rng(seed)
    chunk = max(1, 2_000_000 // n)  # bound memory: at most ~2M resampled values at a time
    draws = np.concatenate(
        [values[rng.integers(0, n, (min(chunk, boot - i), n))].mean(axis=1) for i in range(0, boot, chunk)]
    )
    low, high = np.percentile(draws, [2.5, 97.5])
    return Estimate(float(values.mean()), float(low), float(high), n)


def unweighted_mean_estimate(groups: list[np.ndarray], boot: int = DEFAULT_BOOT, seed: int = DEFAULT_SEED) -> Estimate:
    """The unweighted mean of several groups' means (a paper's "average over its subsets"), with a bootstrap interval
    that resamples each group within itself (a multinomial draw of its distinct values' counts, as mean_estimate
    does) and averages the replicates. n: the units of all groups."""
    groups = [np.asarray(g, dtype=float) for g in groups if len(g)]
    if not groups:
        return NAN_ESTIMATE
    replicates = []
    for k, values in enumerate(groups):
        distinct, counts = np.unique(values, return_counts=True)
        replicates.append(resample_counts(counts, boot, seed + k) @ distinct / len(values))
    low, high = np.percentile(np.mean(replicates, axis=0), [2.5, 97.5])
    value = float(np.mean([values.mean() for values in groups]))
    return Estimate(value, float(low), float(high), int(sum(len(values) for values in groups)))


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


WALD_ABOVE = 20_000  # units above which a regression's interval is Wald's (its bootstrap would refit per resample)


def logistic_estimates(
    x: np.ndarray, y: np.ndarray, boot: int, seed: int = DEFAULT_SEED, ridge: float = 1e-3
) -> list[Estimate]:
    """Coefficients of a no-intercept logistic regression with 95% intervals: a bootstrap of `boot` refits up to
    WALD_ABOVE units; above, the Wald interval from the observed information (at that size the two agree, and a
    refit per resample would cost minutes)."""
    n, d = x.shape
    if n == 0:
        return []
    if len(np.unique(y)) < 2:
        return [Estimate(float("nan"), float("nan"), float("nan"), n)] * d
    if n <= WALD_ABOVE:
        return bootstrap_many(
            lambda idx: logistic_fit(x[idx], y[idx], ridge=ridge) if len(np.unique(y[idx])) > 1 else np.full(d, np.nan),
            n,
            boot,
            seed,
        )
    beta = logistic_fit(x, y, ridge=ridge)
    p = expit(x @ beta)
    information = (x * (p * (1 - p))[:, None]).T @ x + ridge * np.eye(d)
    se = np.sqrt(np.clip(np.diag(np.linalg.pinv(information)), 0, None))
    return [Estimate(float(b), float(b - 1.96 * e), float(b + 1.96 * e), n) for b, e in zip(beta, se, strict=True)]


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
    sign = np.where(flip, -1, 1).astype(x.dtype)  # x keeps its type (small signed integers stay small)
    return x * sign[:, None], np.where(flip, 1.0 - y, y)
