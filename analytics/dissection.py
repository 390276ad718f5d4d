"""Preference Dissection (Li et al., 2024): what each judge rewards, per group, with posterior intervals.

Model (as the paper): P(A preferred) = sigmoid(w . phi), no intercept, w_k ~ Laplace(0, b) with b = 0.1, phi the pair
features of analytics.properties. The paper samples with NUTS and publishes posterior means only. Here the default
path is fast and gives intervals too: the MAP (L1-penalised logistic regression, which is exactly the posterior mode
under this prior), a Student-t proposal around it with the likelihood's curvature (the Laplace approximation), and
self-normalised importance sampling that corrects the proposal toward the exact posterior. The effective sample size
is reported with every fit; benchmarks/dissection.py compares it with a long MCMC run (emcee) on a real case. Above
LAPLACE_ABOVE decided pairs the Laplace approximation is the fit (tests check it against the corrected one).

Ties are dropped (the paper's data has none), as are pairs a judge left unparsed. A judge that judged a pair in both
orders gets one verdict by the JudgeBench rule of analytics.judges.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.special import expit

from analytics import judges as J
from analytics.cache import cached
from analytics.properties import COLUMNS, PROPERTIES, PROPERTIES_SOURCE, pair_features, response_properties
from analytics.reads import dataset_summary, dataset_version
from analytics.stats import random_orientation
from analytics.verdicts import COMBINED_VERDICT_SQL, SOURCE_ORDER

DEFAULT_FEATURES = [n for n in PROPERTIES if n != "length (tokens)"]  # words and tokens together are collinear
OVERALL = "All pairs"  # one fit over every pair
MEAN_OVER_GROUPS = "Overall"  # the paper's similarity "Overall": the mean of the per-group matrices
INFLATION = 1.1  # proposal scale over the Laplace approximation's
# Decided pairs above which a fit is the Laplace approximation itself. Its error in the mean is O(1/n) against a
# posterior sd of O(1/sqrt(n)): at 50,000 pairs under 1% of a standard deviation, far below the Monte Carlo error of
# the importance-sampling correction (ESS ~1,600 of 3,000 draws: ~2.5% of a standard deviation), which would cost
# rows x draws evaluations of the likelihood (minutes at a million pairs).
LAPLACE_ABOVE = 50_000


@dataclass(frozen=True)
class Settings:
    prior_scale: float = 0.1
    features: str = "sign"  # 'sign' (the paper) or 'normalised'
    samples: int = 3000
    seed: int = 0
    min_pairs: int = 50
    properties: tuple[str, ...] = tuple(DEFAULT_FEATURES)


@dataclass
class Fit:
    features: list[str]
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    mode: np.ndarray
    n: int
    ess: float
    draws: np.ndarray = field(repr=False)  # equal-weight posterior draws (for differences between judges)

    def as_dict(self) -> dict:
        return {
            "n": self.n,
            "ess": round(self.ess, 1),
            "weights": {
                f: {
                    "mean": float(m),
                    "low": float(lo),
                    "high": float(hi),
                    "mode": float(mo),
                    "p": float(expit(m)),
                    "p_low": float(expit(lo)),
                    "p_high": float(expit(hi)),
                }
                for f, m, lo, hi, mo in zip(self.features, self.mean, self.low, self.high, self.mode, strict=True)
            },
        }


# liblinear draws its coordinate order from one generator for the whole process (seeded by random_state at each
# fit): two fits at once on two threads draw from it in turn, and the modes then differ run to run in the 8th
# decimal. One fit at a time inside liblinear; everything around it still runs in parallel.
_LIBLINEAR = threading.Lock()
_PAIRS_PER_READ = 200_000  # pairs whose properties a design reads at once
_ROWS_PER_STEP = 1024  # rows of the data times draws evaluated at once: bounds memory (1024 x 3000 doubles ~ 25 MB)


def _log_posterior(w: np.ndarray, signed: np.ndarray, counts: np.ndarray, b: float) -> np.ndarray:
    """Log posterior (up to a constant) of each column of w (d x S). `signed` holds each pair's features times +1
    if A won, -1 if B won (log P(verdict) = log sigmoid(signed . w)); row i stands for counts[i] pairs."""
    loglik = np.zeros(w.shape[1])
    for start in range(0, len(counts), _ROWS_PER_STEP):
        part = slice(start, start + _ROWS_PER_STEP)
        z = signed[part] @ w
        # log sigmoid(z), stable for any z; twice as fast as scipy's log_expit on these (rows x draws) blocks
        loglik += counts[part] @ (np.minimum(z, 0) - np.log1p(np.exp(-np.abs(z))))
    return loglik - np.abs(w).sum(axis=0) / b


def _signs_only(values: np.ndarray) -> bool:
    """Every value is -1, 0 or +1. (np.isin widens small integers to int64 first: 0.1 GB for a million pairs'
    int8 signs, on each of the fits running at once.)"""
    if values.size == 0:
        return True
    if np.issubdtype(values.dtype, np.integer):
        return bool(values.min() >= -1 and values.max() <= 1)
    return bool(np.all((values == 0) | (values == 1) | (values == -1)))


def _unique_rows(rows: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows with their summed counts, for rows of -1 / 0 / +1 (sign features), keyed as base-3 integers
    (which sorts far faster than whole rows). Other rows (normalised features) come back as they are: continuous
    rows hardly repeat (999,687 distinct of a million generated pairs), and finding that out cost 1.7 s a fit."""
    if rows.shape[1] <= 39 and _signs_only(rows):
        keys = np.zeros(len(rows), dtype=np.int64)
        for k in range(rows.shape[1]):  # column by column: no (rows x columns) int64 copy of a million pairs
            keys += (rows[:, k].astype(np.int64) + 1) * 3**k
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        return rows[first], np.bincount(inverse.ravel(), weights=counts)
    return rows, counts


def distinct_rows(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, counts) with each distinct (features, outcome) row once: the likelihood of the data is the count-
    weighted likelihood of its distinct rows, so the posterior is the same. Sign features take few values, so a
    million pairs become some tens of thousands of rows; continuous features stay one row per pair."""
    rows, counts = _unique_rows(np.column_stack([x, y.astype(x.dtype)]), np.ones(len(y)))
    return rows[:, :-1].astype(float), rows[:, -1].astype(float), counts


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return float(values[order][min(np.searchsorted(cum, q * cum[-1]), len(values) - 1)])


def _importance_round(
    signed: np.ndarray,
    counts: np.ndarray,
    b: float,
    center: np.ndarray,
    cov: np.ndarray,
    samples: int,
    rng: np.random.Generator,
    df: float = 5.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Draws (d x S) from a multivariate t around center, and their self-normalised importance weights."""
    d = len(center)
    chol = np.linalg.cholesky(cov)
    normal = rng.standard_normal((d, samples))
    scale = np.sqrt(df / rng.chisquare(df, samples))
    draws = center[:, None] + chol @ normal * scale
    # t log density up to a constant: -(df + d)/2 log(1 + m/df), m the squared Mahalanobis distance
    log_q = -0.5 * (df + d) * np.log1p(np.einsum("ij,ij->j", normal, normal) * scale**2 / df)
    log_w = _log_posterior(draws, signed, counts, b) - log_q
    weights = np.exp(log_w - log_w.max())
    return draws, weights / weights.sum()


def fit_bayes_logistic(
    x: np.ndarray,
    y: np.ndarray,
    prior_scale: float = 0.1,
    samples: int = 3000,
    seed: int = 0,
    features: list[str] | None = None,
    counts: np.ndarray | None = None,
) -> Fit:
    """Posterior of w in y ~ Bernoulli(sigmoid(x w)), w_k ~ Laplace(0, prior_scale): mean, 95% interval, mode.
    `counts` (optional): how many pairs each row stands for (see distinct_rows)."""
    rows, d = x.shape
    counts = np.ones(rows) if counts is None else np.asarray(counts, dtype=float)
    n = int(counts.sum().round())
    features = features or [f"x{k}" for k in range(d)]
    rng = np.random.default_rng(seed)
    if n == 0 or len(np.unique(y)) < 2:
        nan = np.full(d, np.nan)
        return Fit(features, nan, nan, nan, nan, n, 0.0, np.empty((0, d)))
    # scikit-learn is imported by the first fit, not with the module: pages that read fitted results (the views an
    # ingest computed) never load it (0.8-1.9 s and 70 MB on a server's first Dissection page)
    from sklearn.linear_model import LogisticRegression

    # MAP: sum of log-losses + ||w||_1 / b  ==  scikit-learn's C * sum(loss) + ||w||_1 with C = b
    model = LogisticRegression(
        C=prior_scale,
        l1_ratio=1.0,
        solver="liblinear",
        fit_intercept=False,
        max_iter=5000,
        tol=1e-8,
        random_state=seed,  # liblinear shuffles: seeded, so a fit is reproducible
    )
    with _LIBLINEAR:
        model.fit(x, y, sample_weight=counts)
    mode = model.coef_[0].astype(float)
    # the likelihood depends on each pair only through its signed features (flipping A and B negates both), so the
    # posterior is evaluated on the distinct signed rows: about half as many
    signed, signed_counts = _unique_rows(x * (2 * y - 1)[:, None], counts)
    p = expit(signed @ mode)
    # curvature of the likelihood, plus that of a Gaussian with the prior's variance 2 b^2 (the Laplace prior itself
    # has none away from 0, but with few pairs it is what keeps the posterior narrow)
    hessian = (signed * (signed_counts * p * (1 - p))[:, None]).T @ signed + np.eye(d) / (2 * prior_scale**2)
    center, cov = mode, np.linalg.inv(hessian)
    if n > LAPLACE_ABOVE:
        # the posterior is the Laplace approximation's normal to well within the Monte Carlo error of a correction
        draws = rng.multivariate_normal(mode, cov, size=samples).T
        sd = np.sqrt(np.diag(cov))
        picks = rng.choice(samples, size=min(1000, samples), replace=False)
        return Fit(features, mode, mode - 1.96 * sd, mode + 1.96 * sd, mode, n, float(samples), draws[:, picks].T)
    # Two rounds of importance sampling with a Student-t proposal (df 5, heavier tails than the posterior): the
    # first around the Laplace approximation, the second around the first round's weighted mean and covariance
    # (the Laplace prior's kink at 0 makes small-sample posteriors skewed, which the second round follows).
    for round_samples in (max(500, samples // 3), samples):
        draws, weights = _importance_round(
            signed, signed_counts, prior_scale, center, cov * INFLATION**2, round_samples, rng
        )
        if 1.0 / np.square(weights).sum() > 2 * d:  # enough effective draws to trust their moments
            center = draws @ weights
            centered = draws - center[:, None]
            cov = (centered * weights) @ centered.T + 1e-9 * np.eye(d)
    ess = float(1.0 / np.square(weights).sum())
    mean = draws @ weights
    low = np.array([_weighted_quantile(draws[k], weights, 0.025) for k in range(d)])
    high = np.array([_weighted_quantile(draws[k], weights, 0.975) for k in range(d)])
    # equal-weight draws by systematic resampling
    positions = (rng.random() + np.arange(1000)) / 1000
    picks = np.minimum(np.searchsorted(np.cumsum(weights), positions), samples - 1)
    return Fit(features, mean, low, high, mode, n, ess, draws[:, picks].T)


# ---------------------------------------------------------------------------------------------------------------
# data


def _properties_of(
    con: duckdb.DuckDBPyConnection,
    responses_a: list[str] | pa.ChunkedArray,
    responses_b: list[str] | pa.ChunkedArray,
    index: pd.Index,
    settings: Settings,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The two responses' properties of each pair that a design for `settings` reads (imported ones after)."""
    a, b = (response_properties(con, ids).set_axis(index) for ids in (responses_a, responses_b))
    imported = [c for c in [*a.columns, *b.columns] if c not in PROPERTIES]
    names = [p for p in settings.properties if p in a.columns] + list(dict.fromkeys(imported))
    return a.reindex(columns=names), b.reindex(columns=names)


def designs(
    con: duckdb.DuckDBPyConnection,
    dataset: str,
    modes: tuple[str, ...],
    settings: Settings = Settings(),
    subset: str | None = None,
) -> dict[str, tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]]:
    """design() for each feature mode ('sign', 'normalised'), from one read of the verdicts and properties."""
    verdicts = J.load_verdicts(con, dataset, subset, lengths=False)  # the properties hold the lengths
    index = verdicts.pairs.index
    side_a, side_b = (verdicts.responses.column(side) for side in ("response_a_id", "response_b_id"))
    parts: dict[str, list[pd.DataFrame]] = {mode: [] for mode in modes}
    # a block of pairs at a time: the two property tables (and DuckDB's join and sort behind them) of a million
    # pairs took 0.75 GB at once; only the features (a few numbers per pair) outlive a block
    for start in range(0, max(len(index), 1), _PAIRS_PER_READ):
        block = slice(start, start + _PAIRS_PER_READ)
        a, b = _properties_of(
            con, side_a.slice(start, _PAIRS_PER_READ), side_b.slice(start, _PAIRS_PER_READ), index[block], settings
        )
        for mode in modes:
            parts[mode].append(pair_features(a, b, mode))
        del a, b
    return {mode: (_stacked(parts.pop(mode), index), verdicts.wide, verdicts.pairs) for mode in modes}


def _stacked(blocks: list[pd.DataFrame], index: pd.Index) -> pd.DataFrame:
    """The blocks' rows as one frame on `index`."""
    if len(blocks) == 1:
        return blocks[0]
    if all(block.columns.equals(blocks[0].columns) for block in blocks):
        return pd.DataFrame(
            np.concatenate([block.to_numpy() for block in blocks]), index=index, columns=blocks[0].columns
        )
    # a property imported for some blocks only is undefined in the others: "no difference", as in pair_features
    return pd.concat(blocks).fillna(0.0).set_axis(index)


def design(
    con: duckdb.DuckDBPyConnection, dataset: str, settings: Settings = Settings(), subset: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(features per pair, verdicts wide per pair x judge, pair table) for a dataset."""
    return designs(con, dataset, (settings.features,), settings, subset)[settings.features]


def features_of_pair(con: duckdb.DuckDBPyConnection, pair_id: str, settings: Settings = Settings()) -> pd.Series:
    """One pair's features, as design() computes them for the whole dataset (a per-pair explanation needs no
    more: at a million pairs the whole design takes seconds)."""
    row = con.execute("SELECT response_a_id, response_b_id FROM pairs WHERE pair_id = $p", {"p": pair_id}).fetchone()
    if row is None:
        raise ValueError(f"no pair {pair_id}")
    a, b = _properties_of(con, [row[0]], [row[1]], pd.Index([pair_id]), settings)
    return pair_features(a, b, settings.features).iloc[0]


PAIR_LISTS = {  # which of a judge's decided pairs the per-pair explanation walks through
    "all": "every pair it decided",
    "disagrees": "where it disagrees with the reference",
    "flipped": "where its verdict flipped with the order",
}


def decided_pair(
    con: duckdb.DuckDBPyConnection,
    dataset: str,
    judge: str,
    number: int,
    among: str = "all",
    reference: str | None = None,
) -> tuple[str, str, int, str | None] | None:
    """The number-th pair (1-based, source order) a judge decided (combined verdict A or B, as the fits count), among
    PAIR_LISTS' `among`: every one, those where the reference's verdict differs, or those where the judge preferred
    A in one shown order and B in the other. (pair id, 'A' or 'B', how many there are, the reference's verdict 'A' /
    'B' / 'tie' or None); None when there is none. One query, no design."""
    if among not in PAIR_LISTS:
        raise ValueError(f"among must be one of {', '.join(PAIR_LISTS)}")
    keep = {
        "all": "true",
        "disagrees": "r.s IS NOT NULL AND r.s <> d.s",
        "flipped": "d.ab IN ('A', 'B') AND d.ba IN ('A', 'B') AND d.ab <> d.ba",
    }[among]
    row = con.execute(
        f"""WITH decided AS (
                SELECT x.pair_id, {COMBINED_VERDICT_SQL} AS s,
                       first(x.verdict ORDER BY x.rowid) FILTER (WHERE x.shown_order = 'AB') AS ab,
                       first(x.verdict ORDER BY x.rowid) FILTER (WHERE x.shown_order = 'BA') AS ba
                FROM judgments x JOIN judges j USING (judge_id)
                WHERE x.dataset = $d AND j.name = $j GROUP BY x.pair_id HAVING s <> 0),
            ref AS (
                SELECT x.pair_id, {COMBINED_VERDICT_SQL} AS s FROM judgments x JOIN judges j USING (judge_id)
                WHERE x.dataset = $d AND j.name = $r GROUP BY x.pair_id)
            SELECT p.pair_id, d.s, r.s, count(*) OVER () FROM decided d JOIN pairs p USING (pair_id)
            LEFT JOIN ref r USING (pair_id)
            WHERE p.dataset = $d AND {keep} ORDER BY {SOURCE_ORDER} LIMIT 1 OFFSET $k""",
        {"d": dataset, "j": judge, "r": reference, "k": max(0, number - 1)},
    ).fetchone()
    if row is None:
        return None
    label = {1: "A", -1: "B", 0: "tie"}
    return row[0], label[int(row[1])], int(row[3]), None if row[2] is None else label[int(row[2])]


def pairs_on_property(
    con: duckdb.DuckDBPyConnection, dataset: str, judge: str, prop: str, limit: int = 10, offset: int = 0
) -> tuple[list[str], int, int]:
    """The pairs behind one weight: those the judge decided (A or B) whose two responses differ on a builtin
    property (the sign of A − B, raw counts), the ones where it preferred the response with more of it first, then
    in source order. (a page of pair ids, how many there are, how many of them went to the response with more)."""
    if prop not in PROPERTIES:
        raise ValueError(f"'{prop}' is not a builtin property ({', '.join(PROPERTIES)})")
    column = COLUMNS[prop]
    rows = con.execute(
        f"""WITH decided AS (
                SELECT x.pair_id, {COMBINED_VERDICT_SQL} AS s FROM judgments x JOIN judges j USING (judge_id)
                WHERE x.dataset = $d AND j.name = $j GROUP BY x.pair_id HAVING s <> 0)
            SELECT p.pair_id, sign(ba.{column} - bb.{column}) * d.s AS agrees, count(*) OVER () AS total,
                   count(*) FILTER (WHERE sign(ba.{column} - bb.{column}) * d.s > 0) OVER () AS towards
            FROM decided d JOIN pairs p USING (pair_id)
            JOIN builtin_properties ba ON ba.response_id = p.response_a_id AND ba.source = $src
            JOIN builtin_properties bb ON bb.response_id = p.response_b_id AND bb.source = $src
            WHERE p.dataset = $d AND sign(ba.{column} - bb.{column}) <> 0
            ORDER BY agrees DESC, {SOURCE_ORDER} LIMIT $n OFFSET $o""",
        {"d": dataset, "j": judge, "src": PROPERTIES_SOURCE, "n": limit, "o": offset},
    ).fetchall()
    if not rows:
        return [], 0, 0
    return [r[0] for r in rows], int(rows[0][2]), int(rows[0][3])


def group_names(con: duckdb.DuckDBPyConnection, dataset: str) -> list[str]:
    """The columns a dataset's judged pairs can be split by, as J.group_columns names them, from one query (a
    summary computed once per dataset version): the page offers them before any fit or design is read."""

    def compute() -> list[str]:
        subsets, categories, slashed, model_pairs = con.execute(
            """SELECT count(DISTINCT p.subset), count(DISTINCT p.category), bool_or(contains(p.category, '/')),
                      bool_or(ra.generator IS NOT NULL AND rb.generator IS NOT NULL AND ra.generator <> rb.generator)
               FROM pairs p JOIN responses ra ON ra.response_id = p.response_a_id
               JOIN responses rb ON rb.response_id = p.response_b_id
               WHERE p.dataset = $d AND p.pair_id IN (SELECT pair_id FROM judgments WHERE dataset = $d)""",
            {"d": dataset},
        ).fetchone()
        names = ["subset"] if subsets > 1 else []
        if categories > 1:
            names += ["category", "category group"] if slashed else ["category"]
        return names + (["model pair"] if model_pairs else [])

    return dataset_summary(con, dataset, "group names", compute)


def reference_candidates(fitted_judges: list[str], kinds: dict[str, str]) -> list[str]:
    """The judges a comparison may take as its reference: gold, human and crowd labels where there are any (the
    first is the default, for the page and for the view an ingest precomputes)."""
    return [j for j in fitted_judges if kinds.get(j) in ("gold", "human", "crowd")] or fitted_judges


def judges_to_compare(fitted_judges: list[str], reference: str) -> list[str]:
    """The judges a comparison with `reference` may take (the first is the default)."""
    return [j for j in fitted_judges if j != reference] or fitted_judges


def default_comparison(fitted_judges: list[str], kinds: dict[str, str]) -> tuple[str, str]:
    """(reference, judge) the page shows first."""
    reference = reference_candidates(fitted_judges, kinds)[0]
    return reference, judges_to_compare(fitted_judges, reference)[0]


def _compact(features: pd.DataFrame) -> np.ndarray:
    """The features as one array for the fits: int8 when they are signs (a million pairs: 12 MB, not 96; the
    fits share it), floats otherwise."""
    x = features.to_numpy()
    return x.astype(np.int8) if _signs_only(x) else x.astype(float, copy=False)


def _fit_one(
    x_all: np.ndarray, columns: list[str], verdict: pd.Series, settings: Settings, rows: np.ndarray | None = None
) -> Fit | None:
    """The posterior of one judge's weights on the pairs it decided (within `rows`, a mask, when given);
    `x_all` (the features, _compact) and `verdict` are aligned by row, `columns` names x_all's columns."""
    decided = verdict.isin(["A", "B"]).to_numpy()
    if rows is not None:
        decided = decided & rows
    if decided.sum() < settings.min_pairs:
        return None
    x = x_all[decided]
    keep = np.abs(x).sum(axis=0) > 0  # a feature that never differs carries nothing
    names = [c for c, k in zip(columns, keep, strict=True) if k]
    y = (verdict.to_numpy(dtype=object)[decided] == "A").astype(float)
    xs, ys = random_orientation(x[:, keep], y, settings.seed)
    xs, ys, counts = distinct_rows(xs, ys)
    return fit_bayes_logistic(xs, ys, settings.prior_scale, settings.samples, settings.seed, names, counts)


def _fit_many(
    features: pd.DataFrame, wide: pd.DataFrame, settings: Settings, tasks: list[tuple[str, np.ndarray | None]]
) -> list[Fit | None]:
    """_fit_one for each (judge, rows). The fits are independent and spend their time in liblinear and numpy,
    which release the GIL: on threads every core takes part in the numpy parts (each fit seeds its own generator,
    and liblinear, whose generator is the process's, runs one fit at a time: the results do not depend on the
    order)."""
    x_all, columns = _compact(features), list(features.columns)
    with ThreadPoolExecutor(max_workers=max(1, min(len(tasks), os.cpu_count() or 1))) as pool:
        return list(pool.map(lambda task: _fit_one(x_all, columns, wide[task[0]], settings, task[1]), tasks))


def dissect(
    con: duckdb.DuckDBPyConnection,
    dataset: str,
    judges: list[str] | None = None,
    group: str | None = None,
    settings: Settings = Settings(),
    subset: str | None = None,
    pair_ids: list[str] | None = None,
    frames: Callable[[], tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]] | None = None,
) -> dict:
    """Weights with intervals per judge x group, and the judge similarity matrices (cached on disk). pair_ids
    restricts the fit to those pairs (e.g. a selection on the map). `frames`: gives the dataset's design (as
    design() builds it for these settings and subset) when the caller holds it; called only when not cached."""
    key = (
        "dissect",
        dataset_version(con, dataset),
        dataset,
        tuple(judges or ()),
        group,
        asdict(settings),
        subset,
        PROPERTIES_SOURCE,
        sorted(pair_ids) if pair_ids is not None else None,
    )
    return cached(key, lambda: _dissect(con, dataset, judges, group, settings, subset, pair_ids, frames))


def _dissect(
    con: duckdb.DuckDBPyConnection,
    dataset: str,
    judges: list[str] | None,
    group: str | None,
    settings: Settings,
    subset: str | None,
    pair_ids: list[str] | None = None,
    frames: Callable[[], tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]] | None = None,
) -> dict:
    features, wide, pairs = frames() if frames is not None else design(con, dataset, settings, subset)
    if pair_ids is not None:
        keep = pairs.index.isin(pair_ids)
        features, wide, pairs = features[keep], wide[keep], pairs[keep]
    available = list(wide.columns)
    judges = judges or available
    unknown = [j for j in judges if j not in available]
    if unknown:
        raise ValueError(f"no judge {unknown} in {dataset}; judges: {', '.join(available)}")
    groups: dict[str, np.ndarray | None] = {OVERALL: None}
    if group:
        columns = J.group_columns(pairs)
        if group not in columns:
            raise ValueError(f"cannot group {dataset} by '{group}'; choose from {', '.join(columns) or 'nothing'}")
        values = columns[group]
        for value in sorted(values.dropna().unique()):
            groups[str(value)] = (values == value).to_numpy()
    tasks = [(name, judge) for name in groups for judge in judges]
    fits = _fit_many(features, wide, settings, [(judge, groups[name]) for name, judge in tasks])
    results: dict[str, dict] = {name: {} for name in groups}
    for (name, judge), fit in zip(tasks, fits, strict=True):
        if fit is not None:
            results[name][judge] = fit.as_dict()
    similarity = {name: _similarity(res) for name, res in results.items()}
    group_names = [g for g in results if g != OVERALL]
    if group_names:
        similarity[MEAN_OVER_GROUPS] = _mean_similarity([similarity[g] for g in group_names])
    return {
        "dataset": dataset,
        "subset": subset,
        "group": group,
        "settings": asdict(settings),
        "definitions": {n: PROPERTIES[n].definition for n in features.columns if n in PROPERTIES},
        "conventions": {
            "model": "P(A preferred) = sigmoid(w . phi), no intercept, w_k ~ Laplace(0, b); b = "
            f"{settings.prior_scale}. Shown as 100 * sigmoid(w_k): P(A preferred | A beats B on this property "
            "alone).",
            "features": "sign of A - B (length: the paper's threshold rule)"
            if settings.features == "sign"
            else "normalised difference of A and B",
            "ties": "dropped (the paper's data has none); unparsed verdicts dropped",
            "inference": "MAP + Laplace approximation, corrected by importance sampling; ess = effective samples. "
            f"Above {LAPLACE_ABOVE:,} decided pairs the Laplace approximation alone (its error is then far below "
            "the correction's Monte Carlo error); ess = the draws.",
            "min_pairs": f"a judge x group is fitted with at least {settings.min_pairs} decided pairs",
        },
        "results": results,
        "similarity": similarity,
    }


def _similarity(results: dict[str, dict]) -> dict[str, dict[str, float]]:
    """Pearson correlation of the judges' posterior-mean weight vectors (over the features both have)."""
    names = list(results)
    out: dict[str, dict[str, float]] = {a: {} for a in names}
    for a in names:
        for b in names:
            wa, wb = results[a]["weights"], results[b]["weights"]
            common = [f for f in wa if f in wb]
            va = np.array([wa[f]["mean"] for f in common])
            vb = np.array([wb[f]["mean"] for f in common])
            r = float(np.corrcoef(va, vb)[0, 1]) if len(common) > 2 and va.std() > 0 and vb.std() > 0 else math.nan
            out[a][b] = r
    return out


def _mean_similarity(matrices: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    judges = sorted({j for m in matrices for j in m})
    return {
        a: {
            b: float(np.nanmean([m.get(a, {}).get(b, np.nan) for m in matrices]))
            if any(not math.isnan(m.get(a, {}).get(b, math.nan)) for m in matrices)
            else math.nan
            for b in judges
        }
        for a in judges
    }


def contributions(weights: dict[str, dict], features: pd.Series) -> pd.DataFrame:
    """Per property: weight x feature for one pair (the logit of P(A preferred) is their sum)."""
    rows = [
        {
            "property": f,
            "feature": float(features.get(f, 0.0)),
            "weight": w["mean"],
            "contribution": float(features.get(f, 0.0)) * w["mean"],
        }
        for f, w in weights.items()
    ]
    frame = pd.DataFrame(rows)
    return frame[frame["feature"] != 0].sort_values("contribution", key=np.abs, ascending=False)


def difference_from_reference(
    con: duckdb.DuckDBPyConnection,
    dataset: str,
    judge: str,
    reference: str,
    group: str = OVERALL,
    settings: Settings = Settings(),
    subset: str | None = None,
    frames: Callable[[], tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]] | None = None,
) -> pd.DataFrame:
    """Where a judge's weights differ from the reference's (posterior difference with a 95% interval), largest
    first: the properties a judge rewards that the reference does not (its attack surface). `frames`: gives
    the dataset's design (features, verdicts, pairs) the caller holds; called only when the result is not cached."""

    def compute() -> list[dict]:
        features, wide, pairs = frames() if frames is not None else design(con, dataset, settings, subset)
        rows = None
        if group != OVERALL:
            column = next((c for c in J.group_columns(pairs).values() if (c == group).any()), None)
            rows = (column == group).to_numpy() if column is not None else None
        fitted = _fit_many(features, wide, settings, [(judge, rows), (reference, rows)])
        fits = dict(zip((judge, reference), fitted, strict=True))
        if any(f is None for f in fits.values()):
            return []
        fj, fr = fits[judge], fits[reference]
        rows = []
        for k, name in enumerate(fj.features):
            if name not in fr.features:
                continue
            diff = fj.draws[:, k] - fr.draws[:, fr.features.index(name)]
            rows.append(
                {
                    "property": name,
                    "judge": float(expit(fj.mean[k])),
                    "reference": float(expit(fr.mean[fr.features.index(name)])),
                    "difference": float(diff.mean()),
                    "low": float(np.percentile(diff, 2.5)),
                    "high": float(np.percentile(diff, 97.5)),
                }
            )
        return rows

    key = (
        "difference",
        dataset_version(con, dataset),
        dataset,
        judge,
        reference,
        group,
        asdict(settings),
        subset,
        PROPERTIES_SOURCE,
    )
    rows = cached(key, compute)
    frame = pd.DataFrame(rows, columns=["property", "judge", "reference", "difference", "low", "high"])
    return frame.sort_values("difference", key=np.abs, ascending=False).reset_index(drop=True)
