"""Judge analytics: agreement, accuracy against a reference, position / length / style / self-preference bias,
generator leaderboards, disagreement by group and per-pair ensemble strength.

Conventions (also printed with every result, see CONVENTIONS):
- Verdicts are in the pair's own A/B frame. 'unparsed' verdicts are missing values, never ties.
- A judge that judged a pair more than once (both presentation orders, or repeated runs) gets one verdict per pair by
  JudgeBench's rule: +1 for each A, -1 for each B, 0 for ties; positive sum -> A, negative -> B, zero -> tie.
  So (A, B) across the two orders is a tie, (A, tie) is A. Unparsed runs are left out of the sum.
- Accuracy against a reference counts every pair the reference decided (A or B, or tie when the reference has ties);
  a judge's tie or missing verdict on such a pair counts as wrong (JudgeBench and LLMBar both count it so).
- Swap consistency follows LLMBar / JudgeBench code: the two orders are consistent when their verdicts are equal,
  two unparsed answers included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from typing import TypeVar

import duckdb
import numpy as np
import pandas as pd
from scipy.special import expit

from analytics.cache import cached
from analytics.catalog import entry_of_dataset
from analytics.families import model_family
from analytics.properties import PROPERTIES, response_properties
from analytics.reads import dataset_version
from analytics.stats import (
    DEFAULT_BOOT,
    DEFAULT_SEED,
    NAN_ESTIMATE,
    WALD_ABOVE,
    Estimate,
    bootstrap,
    bootstrap_counts,
    format_estimate,
    logistic_estimates,
    logistic_fit,
    mean_estimate,
    random_orientation,
    share_estimate,
    unweighted_mean_estimate,
)
from analytics.store import has_table
from analytics.verdicts import (
    ACCURACY_CONVENTIONS,
    CODE,
    COMBINED_VERDICT_SQL,
    GROUP_MARK,
    LABELS,
    ORDERS,
    SCORE,
    SUBSET_SQL,
    Verdicts,
    load_verdicts,
    verdicts_of,
)

HUMAN_MAJORITY = "human majority"
REPORT_FORMAT = 3  # part of the report's cache key: bump when its content changes
REGRESSION_BOOT = 200
LC_RIDGE = 1.0  # the joint difficulty fit's penalty: a N(0, 1) prior on each coefficient (logit scale)

CONVENTIONS = {
    "frame": "A and B are the pair's own responses, whatever order a judge saw them in.",
    "unparsed": "An unparsed verdict is a missing value: left out of agreement, counted wrong in accuracy; "
    "never a tie.",
    "several_runs": "A judge with several judgments of one pair (both orders) gets one verdict by JudgeBench's "
    "rule: sum of +1 (A), -1 (B), 0 (tie); >0 A, <0 B, 0 tie.",
    "agreement_with_ties": "Share of shared pairs with equal verdicts, ties a category of their own.",
    "agreement_without_ties": "MT-Bench convention: pairs where either judge said tie are dropped.",
    "kappa": "Cohen's kappa over A / tie / B (scikit-learn).",
    "fleiss": "Fleiss' kappa over pairs every judge decided (statsmodels' formula).",
    "krippendorff": "Krippendorff's alpha with missing values; nominal and ordinal with A=0, tie=1, B=2.",
    "accuracy": "Pairs the reference decided; a judge's tie or missing verdict counts wrong. With the human "
    "majority as reference, each human is scored against the majority of the other humans. Conventions (each "
    "dataset shows its upstream's by default, the others a choice away): "
    + "; ".join(f"{name}: {label}" for name, (_, label) in ACCURACY_CONVENTIONS.items())
    + ". A judge seen in one order only has no per-order figure: its combined accuracy stands in.",
    "subset_mean": "For a group of subsets: each subset's accuracy and their unweighted mean (how LLMBar reports "
    "'Adversarial'), its interval from resampling each subset within itself; 'pooled' counts every pair once.",
    "swap_consistency": "Share of pairs judged in both orders with equal verdicts (two unparsed count as equal, "
    "as LLMBar's and JudgeBench's code count them).",
    "first_slot": "P(first shown wins) over judgments with a known order and an A/B verdict.",
    "length": "Length in characters. P(longer preferred) over decided pairs of unequal length; the logistic "
    "coefficient is of (len_A - len_B) / (len_A + len_B), no intercept, ties left out.",
    "style": "Chatbot Arena's style features: tokens (word and punctuation pieces, not tiktoken), and outside "
    "fenced code markdown headers, list items, bold spans; feature (a - b) / (a + b + 1), z-scored; logistic "
    "regression without intercept, ties left out.",
    "self_preference": "DBG = judge's win rate for its own model family minus the reference's on the same pairs "
    "(pairs where exactly one response is from the judge's family); a tie counts 0.5.",
    "win_rate": "A generator's win rate: mean of P(it is preferred), with P = prob_b for judges that give a "
    "probability, else 1 / 0.5 / 0 for win / tie / loss (AlpacaEval's convention); a null (unparsed) preference "
    "is left out of the denominator. A generator in every pair a judge decided (AlpacaEval's baseline) is left "
    "out of the rankings.",
    "lc_win_rate": "AlpacaEval's length-controlled win rate: per model, logit P(beats the baseline) = theta + "
    "phi * tanh(dlen / sd) + psi * gamma_x (dlen in characters), LC = mean sigmoid(theta + psi * gamma_x). The "
    "instruction difficulty gamma_x is fitted jointly over every generator the judge compared with the baseline "
    f"(ridge {LC_RIDGE}); upstream fits it over its whole leaderboard and also regularises toward the baseline "
    "with 'gamed' baseline outputs the files do not hold, so small differences from the published LC remain "
    "(shown beside it).",
    "intervals": f"95% seeded bootstrap over pairs ({DEFAULT_BOOT} resamples; {REGRESSION_BOOT} for regressions), "
    f"seed {DEFAULT_SEED}. Statistics of a table of counts (agreement, kappa, Fleiss, Krippendorff, shares) resample "
    "the table (a multinomial draw, the same distribution as resampling pairs); regressions on more than "
    f"{WALD_ABOVE:,} pairs use the Wald interval instead of refitting per resample, and means of many distinct "
    f"values (probabilities) on more than {WALD_ABOVE:,} pairs the normal interval.",
}


# ---------------------------------------------------------------------------------------------------------------
# loading


T = TypeVar("T", pd.DataFrame, pd.Series)


def combine_runs(judgments: pd.DataFrame) -> pd.DataFrame:
    """Wide table pair_id x judge of single verdicts ('A' / 'tie' / 'B' or NaN) of a long frame of judgments, by
    JudgeBench's summing rule (analytics.verdicts)."""
    return verdicts_of(judgments).wide


def aligned(frame: T, index: pd.Index) -> T:
    """`frame` on `index`: as it is when already aligned (the report's columns all share one index, and
    reindexing a million string keys costs a second), else reindexed."""
    return frame if frame.index.equals(index) else frame.reindex(index)


def generator_codes(pairs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(code of each pair's A generator, of its B generator, the names the codes index); -1 where unknown. Free for
    analytics.verdicts' pair tables (categoricals with shared names); factorized otherwise."""
    a, b = pairs["model_a"], pairs["model_b"]
    if isinstance(a.dtype, pd.CategoricalDtype) and a.dtype == b.dtype:
        return a.cat.codes.to_numpy(), b.cat.codes.to_numpy(), list(a.cat.categories)
    codes, names = pd.factorize(np.concatenate([a.to_numpy(object), b.to_numpy(object)]), sort=True)
    return codes[: len(a)], codes[len(a) :], list(names)


def majority(verdicts: pd.DataFrame) -> pd.Series:
    """Per row: the verdict most raters gave, 'tie' when no single verdict has the most votes; NaN with no votes."""
    counts = pd.DataFrame({v: (verdicts == v).sum(axis=1) for v in LABELS})
    top = counts.max(axis=1)
    winners = counts.eq(top, axis=0)
    out = pd.Series(np.nan, index=verdicts.index, dtype=object)
    single = winners.sum(axis=1) == 1
    out[single] = winners[single].idxmax(axis=1)
    out[~single & (top > 0)] = "tie"
    return out


def reference_verdicts(
    wide: pd.DataFrame, kinds: dict[str, str], reference: str | None
) -> tuple[str | None, pd.Series | None]:
    """The reference's verdict per pair. reference=None picks gold, else the human majority (>= 2 humans), else
    a single human or crowd judge."""
    humans = [j for j, k in kinds.items() if k == "human" and j in wide]
    if reference is None:
        gold = [j for j, k in kinds.items() if k == "gold" and j in wide]
        if gold:
            reference = gold[0]
        elif len(humans) >= 2:
            reference = HUMAN_MAJORITY
        else:
            single = [j for j, k in kinds.items() if k in ("human", "crowd") and j in wide]
            reference = single[0] if single else None
    if reference is None:
        return None, None
    if reference == HUMAN_MAJORITY:
        if len(humans) < 2:
            raise ValueError("the human majority needs at least two human judges in this dataset")
        return reference, majority(wide[humans])
    if reference not in wide:
        raise ValueError(f"reference judge '{reference}' has no verdicts here; judges: {', '.join(wide.columns)}")
    return reference, wide[reference]


# ---------------------------------------------------------------------------------------------------------------
# agreement


def kappa_from_confusions(confusions: np.ndarray) -> np.ndarray:
    """Cohen's kappa of each row of (m, 9) confusion counts (3 x 3, A/tie/B): scikit-learn's formula, vectorised
    over bootstrap replicates."""
    c = np.asarray(confusions, dtype=float).reshape(-1, 3, 3)
    n = c.sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        p_o = np.trace(c, axis1=1, axis2=2) / n
        p_e = (c.sum(axis=1) * c.sum(axis=2)).sum(axis=1) / n**2
        kappa = (p_o - p_e) / (1 - p_e)
    return np.where((n == 0) | (p_e == 1), np.nan, kappa)


@dataclass(frozen=True)
class PairAgreement:
    judge_1: str
    judge_2: str
    with_ties: Estimate
    without_ties: Estimate
    kappa: Estimate

    def as_dict(self) -> dict:
        return {
            "judge_1": self.judge_1,
            "judge_2": self.judge_2,
            "agreement_with_ties": self.with_ties.as_dict(),
            "agreement_without_ties": self.without_ties.as_dict(),
            "cohen_kappa": self.kappa.as_dict(),
        }


def verdict_codes(wide: pd.DataFrame) -> np.ndarray:
    """(pairs, judges) float codes 0 A / 1 tie / 2 B, NaN none, of a wide table of verdicts."""
    return np.column_stack([wide[c].map(CODE).to_numpy(dtype=float) for c in wide.columns]).reshape(len(wide), -1)


def agreement(
    v1: pd.Series, v2: pd.Series, boot: int = DEFAULT_BOOT, seed: int = DEFAULT_SEED
) -> tuple[Estimate, Estimate, Estimate]:
    """(agreement with ties, without ties, Cohen's kappa) of two verdict columns on the pairs both decided."""
    codes = verdict_codes(pd.concat([v1, v2], axis=1, keys=[0, 1]))
    return agreement_of_codes(codes[:, 0], codes[:, 1], boot, seed)


def agreement_of_codes(
    a: np.ndarray, b: np.ndarray, boot: int = DEFAULT_BOOT, seed: int = DEFAULT_SEED
) -> tuple[Estimate, Estimate, Estimate]:
    """agreement() of two code columns (NaN none). All three figures are functions of the 3 x 3 table of the two
    verdicts: it is counted once, and each interval resamples it (a multinomial draw), never the pairs."""
    both = ~np.isnan(a) & ~np.isnan(b)
    confusion = np.bincount((a[both] * 3 + b[both]).astype(np.int64), minlength=9)
    table = confusion.reshape(3, 3)
    with_ties = share_estimate(int(np.trace(table)), int(table.sum()), boot, seed)
    decisive = table[[0, 0, 2, 2], [0, 2, 0, 2]]  # (A,A) (A,B) (B,A) (B,B)
    without_ties = share_estimate(int(decisive[0] + decisive[3]), int(decisive.sum()), boot, seed)
    if not both.any():
        return with_ties, without_ties, NAN_ESTIMATE
    one_label = np.count_nonzero(table.sum(axis=0) + table.sum(axis=1)) == 1
    point = float("nan") if one_label else float(kappa_from_confusions(confusion[None, :])[0])
    return with_ties, without_ties, bootstrap_counts(kappa_from_confusions, confusion, boot, seed, value=point)


def agreement_matrix(
    wide: pd.DataFrame, boot: int = DEFAULT_BOOT, seed: int = DEFAULT_SEED, codes: np.ndarray | None = None
) -> list[PairAgreement]:
    """agreement() of every two judges (columns of `wide`; `codes`: verdict_codes(wide) when already at hand)."""
    codes = verdict_codes(wide) if codes is None else codes
    out = []
    for (i, j1), (k, j2) in combinations(enumerate(wide.columns), 2):
        w, wo, kappa = agreement_of_codes(codes[:, i], codes[:, k], boot, seed)
        out.append(PairAgreement(j1, j2, w, wo, kappa))
    return out


def fleiss_from_patterns(weights: np.ndarray, patterns: np.ndarray) -> np.ndarray:
    """Fleiss' kappa (statsmodels' 'fleiss' method) of units given as distinct rating patterns (P, 3: how many raters
    said A / tie / B) and, per row of `weights` (m, P), how many units have each pattern."""
    raters = patterns.sum(axis=1)[0]
    units = weights.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_cat = weights @ patterns / (units * raters)[:, None]
        agreement_per_unit = ((patterns**2).sum(axis=1) - raters) / (raters * (raters - 1.0))
        p_mean = weights @ agreement_per_unit / units
        p_exp = (p_cat**2).sum(axis=1)
        return (p_mean - p_exp) / (1 - p_exp)


def _ordinal_distances(n_v: np.ndarray) -> np.ndarray:
    """(m, 3, 3) Krippendorff's ordinal squared distances of the values 0 < 1 < 2, from marginal counts (m, 3)."""
    d = np.zeros((n_v.shape[0], 3, 3))
    for c in range(3):
        for k in range(c + 1, 3):
            d[:, c, k] = d[:, k, c] = (n_v[:, c : k + 1].sum(axis=1) - (n_v[:, c] + n_v[:, k]) / 2) ** 2
    return d


def alpha_from_patterns(weights: np.ndarray, patterns: np.ndarray, level: str) -> np.ndarray:
    """Krippendorff's alpha (as the krippendorff package computes it, values 0/1/2) of units given as distinct value
    count patterns (P, 3) with `weights` (m, P) units of each: the coincidence matrix is a weighted sum of each
    pattern's own, so every bootstrap replicate is one matrix product."""
    m_u = patterns.sum(axis=1)
    per_pattern = (patterns[:, :, None] * patterns[:, None, :] - np.einsum("pc,ck->pck", patterns, np.eye(3))) / (
        m_u - 1.0
    )[:, None, None]
    o = np.einsum("mp,pck->mck", weights, per_pattern)
    n_v = o.sum(axis=1)
    n = n_v.sum(axis=1)
    expected = (n_v[:, :, None] * n_v[:, None, :] - np.einsum("mc,ck->mck", n_v, np.eye(3))) / (n - 1.0)[:, None, None]
    d = _ordinal_distances(n_v) if level == "ordinal" else np.broadcast_to(1.0 - np.eye(3), o.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1.0 - (o * d).sum(axis=(1, 2)) / (expected * d).sum(axis=(1, 2))


def rating_patterns(unit_counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of (units, 3) rating counts in lexicographic order (as np.unique(axis=0) gives them) and how
    many units have each; keyed as integers, which sorts a million units far faster than whole rows."""
    if len(unit_counts) == 0:
        return unit_counts.reshape(0, 3), np.array([], dtype=np.int64)
    base = int(unit_counts.max()) + 1
    keys = unit_counts.astype(np.int64) @ np.array([base * base, base, 1], dtype=np.int64)
    _, first, counts = np.unique(keys, return_index=True, return_counts=True)
    return unit_counts[first], counts


def group_agreement(
    wide: pd.DataFrame, boot: int = 200, seed: int = DEFAULT_SEED, codes: np.ndarray | None = None
) -> dict[str, dict]:
    """Fleiss' kappa (pairs every judge decided) and Krippendorff's alpha (missing allowed), nominal and ordinal.
    Both are functions of the units' rating patterns (how many judges said A / tie / B) alone: the values are
    computed from the distinct patterns and their counts (equal to statsmodels' fleiss_kappa and the krippendorff
    package: tests/test_judges.py checks), and the intervals resample those counts. `codes`: verdict_codes(wide)
    when at hand."""
    codes = verdict_codes(wide) if codes is None else codes
    unit_counts = np.stack([(codes == v).sum(axis=1) for v in (0, 1, 2)], axis=1)  # units x (A, tie, B)
    result: dict[str, dict] = {}
    complete = ~np.isnan(codes).any(axis=1)
    if complete.any() and codes.shape[1] >= 2:
        patterns, counts = rating_patterns(unit_counts[complete])
        result["fleiss_kappa"] = bootstrap_counts(
            lambda w: fleiss_from_patterns(w, patterns.astype(float)), counts, boot, seed
        ).as_dict()
    else:
        result["fleiss_kappa"] = NAN_ESTIMATE.as_dict()
    usable = unit_counts.sum(axis=1) >= 2  # units two or more judges decided
    patterns, counts = rating_patterns(unit_counts[usable])
    for level in ("nominal", "ordinal"):
        if usable.sum() < 2 or (patterns.sum(axis=0) > 0).sum() < 2:
            result[f"krippendorff_alpha_{level}"] = NAN_ESTIMATE.as_dict()
            continue

        def alpha(w: np.ndarray, level: str = level) -> np.ndarray:
            values = alpha_from_patterns(w, patterns.astype(float), level)
            one_value = ((w @ patterns) > 0).sum(axis=1) < 2  # a replicate holding a single value has no alpha
            return np.where(one_value, np.nan, values)

        result[f"krippendorff_alpha_{level}"] = bootstrap_counts(alpha, counts, boot, seed).as_dict()
    return result


def accuracy(
    verdicts: pd.Series,
    ref: pd.Series,
    judged: pd.Index | np.ndarray,
    boot: int = DEFAULT_BOOT,
    seed: int = DEFAULT_SEED,
) -> Estimate:
    """Share of the pairs the judge judged (`judged`: their ids, or a mask aligned with `ref`) and the reference
    decided where the verdicts are equal; a tie or unparsed verdict of the judge counts wrong."""
    mask = ref.index.isin(judged) if isinstance(judged, pd.Index) else np.asarray(judged, dtype=bool)
    mask = mask & ref.notna().to_numpy()
    correct = aligned(verdicts, ref.index).to_numpy(dtype=object)[mask] == ref.to_numpy(dtype=object)[mask]
    return share_estimate(int(correct.sum()), int(mask.sum()), boot, seed)


def _order_codes(verdicts: Verdicts, judge: str) -> tuple[np.ndarray, np.ndarray]:
    """The judge's first verdict shown AB and shown BA per pair: codes 0 A, 1 tie, 2 B, 3 unparsed, NaN unseen."""
    both = verdicts.order_codes[:, verdicts.column(judge), :].astype(float)
    return both[:, 0], both[:, 1]


def accuracy_outcomes(verdicts: Verdicts, judge: str, ref: pd.Series) -> dict[str, np.ndarray]:
    """Per pair, the judge's accuracy outcome under each convention (ACCURACY_CONVENTIONS' fields, plus each shown
    order's): 1 right, 0 wrong, 0.5 right in one of its two orders (the mean over orders), NaN where the pair does
    not count — the reference did not decide it, the judge did not judge it, or (per-order conventions) it was not
    judged in that order / in both. A tie or unparsed answer is wrong, except that 'unparsed as tie' reads a pair
    whose every answer was unparsed as a tie."""
    column = verdicts.column(judge)
    ref_codes = aligned(ref, verdicts.pairs.index).map(CODE).to_numpy(dtype=float)
    decided = ~np.isnan(ref_codes)
    counted = verdicts.judged[:, column] & decided
    combined = verdicts.codes[:, column].astype(float)
    as_tie = np.where(np.isnan(combined), CODE["tie"], combined)
    out = {
        "accuracy": np.where(counted, combined == ref_codes, np.nan),
        "accuracy_unparsed_as_tie": np.where(counted, as_tie == ref_codes, np.nan),
    }
    by_order = {}
    for order, codes in zip(ORDERS, _order_codes(verdicts, judge), strict=True):
        if not np.isnan(codes).all():
            seen = ~np.isnan(codes) & decided
            by_order[order] = (seen, codes == ref_codes)
            out[f"accuracy_{order}"] = np.where(seen, by_order[order][1], np.nan)
    if len(by_order) == 2:
        both = by_order["AB"][0] & by_order["BA"][0]
        hits = by_order["AB"][1].astype(int) + by_order["BA"][1].astype(int)  # 0, 1 or 2 orders right
        out["accuracy_average"] = np.where(both, hits / 2, np.nan)
        out["accuracy_both_orders"] = np.where(both, hits == 2, np.nan)
    return out


def accuracy_estimates(
    outcomes: dict[str, np.ndarray], rows: np.ndarray | None = None, boot: int = DEFAULT_BOOT, seed: int = DEFAULT_SEED
) -> dict[str, dict]:
    """Each outcome column's mean with its interval (optionally over some rows: one subset of a group)."""
    out = {}
    for field, values in outcomes.items():
        values = values if rows is None else values[rows]
        out[field] = mean_estimate(values[~np.isnan(values)], boot, seed).as_dict()
    return out


def accuracy_by_order(
    verdicts: Verdicts, judge: str, ref: pd.Series, boot: int = DEFAULT_BOOT, seed: int = DEFAULT_SEED
) -> dict[str, dict]:
    """LLMBar's figures: accuracy in each shown order (unparsed counts wrong), their average, and both correct."""
    estimates = accuracy_estimates(accuracy_outcomes(verdicts, judge, ref), boot=boot, seed=seed)
    return {k: v for k, v in estimates.items() if k.startswith("accuracy_") and k != "accuracy_unparsed_as_tie"}


def headline_accuracy(entry: dict, convention: str) -> tuple[dict | None, str]:
    """A judge entry's accuracy under a convention, and the convention it is really under: a judge seen in one
    order only has no mean over orders, so its combined accuracy (that order's) stands in."""
    field = ACCURACY_CONVENTIONS[convention][0]
    if field in entry:
        return entry[field], convention
    return entry.get("accuracy"), "combined"


def accuracy_convention(con: duckdb.DuckDBPyConnection, dataset: str) -> str:
    """The convention a dataset's upstream scores judges by (its catalog entry's), else the combined verdict."""
    entry = entry_of_dataset(con, dataset)
    return entry.accuracy_convention if entry else "combined"


def official_judge(con: duckdb.DuckDBPyConnection, dataset: str, judges: list[str]) -> str | None:
    """The evaluator upstream ranks its leaderboard with (catalog `official_judge`) when it judged here."""
    entry = entry_of_dataset(con, dataset)
    return entry.official_judge if entry and entry.official_judge in judges else None


def is_subset_group(subset: str | None) -> bool:
    return bool(subset) and subset.endswith(GROUP_MARK)


def subset_groups(subsets: list[str]) -> dict[str, list[str]]:
    """Groups of path-like subset names: each 'prefix/*' that two or more subsets fall under ('LLMBar/Adversarial/*'
    holds LLMBar's four adversarial subsets), broadest first."""
    groups: dict[str, list[str]] = {}
    for name in sorted(subsets):
        parts = name.split("/")
        for k in range(1, len(parts)):
            groups.setdefault("/".join(parts[:k]) + GROUP_MARK, []).append(name)
    return {g: members for g, members in sorted(groups.items()) if len(members) >= 2}


# ---------------------------------------------------------------------------------------------------------------
# biases


def position_bias(verdicts: Verdicts, judge: str, boot: int = DEFAULT_BOOT, seed: int = DEFAULT_SEED) -> dict:
    """Swap consistency, where the inconsistent verdicts go, and P(first shown wins)."""
    info = verdicts.judges.loc[judge]
    ab, ba = _order_codes(verdicts, judge)
    seen = [order for order, codes in zip(ORDERS, (ab, ba), strict=True) if not np.isnan(codes).all()]
    first_wins = share_estimate(int(info["first_wins"]), int(info["first_decisive"]), boot, seed)
    out: dict = {"orders_seen": seen, "p_first_shown_wins": first_wins.as_dict()}
    if len(seen) == 2:
        both = ~np.isnan(ab) & ~np.isnan(ba)
        ab, ba = ab[both], ba[both]
        n_inc = int((ab != ba).sum())  # two unparsed answers (code 3) count as equal, as upstream counts them
        favours_first = int(((ab == CODE["A"]) & (ba == CODE["B"])).sum())
        favours_second = int(((ab == CODE["B"]) & (ba == CODE["A"])).sum())
        out.update(
            {
                "swap_consistency": share_estimate(len(ab) - n_inc, len(ab), boot, seed).as_dict(),
                "inconsistent": n_inc,
                "inconsistent_favour_first": float(favours_first / n_inc) if n_inc else None,
                "inconsistent_favour_second": float(favours_second / n_inc) if n_inc else None,
                "inconsistent_other": float((n_inc - favours_first - favours_second) / n_inc) if n_inc else None,
            }
        )
    else:
        out["swap_consistency"] = None
        out["note"] = "judge saw only one presentation order: swap consistency cannot be measured"
    return out


def length_bias(verdict: pd.Series, pairs: pd.DataFrame, boot: int = DEFAULT_BOOT, seed: int = DEFAULT_SEED) -> dict:
    """P(longer response preferred) and the logistic coefficient of the normalised length difference."""
    pairs = aligned(pairs, verdict.index)
    mask = verdict.isin(["A", "B"]).to_numpy()
    la = pairs["len_a"].to_numpy(dtype=float)[mask]
    lb = pairs["len_b"].to_numpy(dtype=float)[mask]
    y = (verdict.to_numpy(dtype=object)[mask] == "A").astype(float)
    unequal = la != lb
    longer_won = np.where(la > lb, y, 1 - y)[unequal]
    x, y = random_orientation(((la - lb) / np.maximum(la + lb, 1))[:, None], y, seed)
    coef = (logistic_estimates(x, y, REGRESSION_BOOT, seed) or [NAN_ESTIMATE])[0]
    p_longer = share_estimate(int(longer_won.sum()), len(longer_won), boot, seed)
    return {"p_longer_preferred": p_longer.as_dict(), "length_coefficient": coef.as_dict()}


STYLE_FEATURES = ("tokens", "headers", "lists", "bold")
STYLE_PROPERTIES = ("length (tokens)", "headers", "list items", "bold")  # analytics.properties' names


def style_counts(text: str) -> tuple[int, int, int, int]:
    """(tokens, headers, list items, bold spans) of a response: tokens over the whole text, the markdown counts
    outside fenced code (analytics.properties' definitions)."""
    return tuple(int(PROPERTIES[name].compute(text or "", "")) for name in STYLE_PROPERTIES)  # type: ignore[return-value]


def style_features(con: duckdb.DuckDBPyConnection, verdicts: Verdicts) -> pd.DataFrame:
    """Per pair: Arena's normalised differences (a - b) / (a + b + 1) of the four style counts, read from the
    stored response properties (computed at ingest), not from the texts."""
    a, b = (
        response_properties(con, verdicts.responses.column(side), list(STYLE_PROPERTIES)).to_numpy(dtype=float)
        for side in ("response_a_id", "response_b_id")
    )
    return pd.DataFrame((a - b) / (a + b + 1), index=verdicts.pairs.index, columns=list(STYLE_FEATURES))


def style_bias(verdict: pd.Series, features: pd.DataFrame, seed: int = DEFAULT_SEED) -> dict:
    mask = verdict.isin(["A", "B"]).to_numpy()
    if not mask.any():
        return {name: NAN_ESTIMATE.as_dict() for name in STYLE_FEATURES}
    x = aligned(features, verdict.index).to_numpy(dtype=float)[mask]
    sd = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1)
    x, y = random_orientation(x, (verdict.to_numpy(dtype=object)[mask] == "A").astype(float), seed)
    estimates = logistic_estimates(x, y, REGRESSION_BOOT, seed)
    if not estimates:
        return {name: NAN_ESTIMATE.as_dict() for name in STYLE_FEATURES}
    # a feature that never varies (no bold anywhere) has no coefficient to speak of
    return {
        name: (e if sd[k] > 0 else Estimate(float("nan"), float("nan"), float("nan"), e.n)).as_dict()
        for k, (name, e) in enumerate(zip(STYLE_FEATURES, estimates, strict=True))
    }


def self_preference(
    verdict: pd.Series,
    ref: pd.Series | None,
    pairs: pd.DataFrame,
    family: str | None,
    boot: int = DEFAULT_BOOT,
    seed: int = DEFAULT_SEED,
) -> dict:
    """The DBG score: the judge's win rate for its own family minus the reference's, on the same pairs."""
    if not family:
        return {"note": "judge's model family unknown"}
    pairs = aligned(pairs, verdict.index)
    code_a, code_b, names = generator_codes(pairs)
    families = np.array([model_family(n) for n in names] + [None], dtype=object)  # code -1 picks the None
    own_a, own_b = families[code_a] == family, families[code_b] == family
    mask = (own_a ^ own_b) & verdict.notna().to_numpy()
    if not mask.any():
        return {"note": f"no pair with exactly one response from the judge's family ({family})"}
    own_is_a = own_a[mask]

    def own_rate(v: np.ndarray) -> np.ndarray:
        return np.where(v == "tie", 0.5, np.where(own_is_a, v == "A", v == "B")).astype(float)

    judge_wr = own_rate(verdict.to_numpy(dtype=object)[mask])
    out = {"family": family, "judge_win_rate_own": mean_estimate(judge_wr, boot, seed).as_dict()}
    ref_values = aligned(ref, verdict.index).to_numpy(dtype=object)[mask] if ref is not None else None
    has_ref = pd.notna(ref_values) if ref_values is not None else None
    if ref_values is None or not has_ref.any():
        out["note"] = "no reference verdicts on these pairs: DBG needs a reference"
        return out
    ref_wr = own_rate(ref_values)
    out["reference_win_rate_own"] = mean_estimate(ref_wr[has_ref], boot, seed).as_dict()
    out["dbg"] = mean_estimate((judge_wr - ref_wr)[has_ref], boot, seed).as_dict()
    return out


# ---------------------------------------------------------------------------------------------------------------
# leaderboards of generators


def raw_win_rates(p_b: pd.Series, pairs: pd.DataFrame, boot: int = DEFAULT_BOOT, seed: int = DEFAULT_SEED) -> dict:
    """Per generator: mean P(it is preferred) over the pairs it appears in (against any opponent)."""
    rows, p, _ = _with_probabilities(p_b, pairs)
    code_a, code_b, models = generator_codes(rows)
    a_side = code_a != code_b  # a generator against itself counts once, as B
    codes = np.concatenate([code_b, code_a[a_side]])  # no generator: -1, sorted first and left out below
    values = np.concatenate([p, 1 - p[a_side]])
    order = np.argsort(codes, kind="stable")  # each generator's values together, in pair order
    bounds = np.searchsorted(codes[order], np.arange(len(models) + 1))
    return {
        str(model): mean_estimate(values[order[bounds[k] : bounds[k + 1]]], boot, seed).as_dict()
        for k, model in enumerate(models)
        if bounds[k + 1] > bounds[k]
    }


def _with_probabilities(p_b: pd.Series, pairs: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """(the pairs a judge decided, their P(B preferred), the mask that picked them from p_b's rows); p_b may hold
    NaN for pairs it did not decide."""
    known = p_b.notna().to_numpy()
    return aligned(pairs, p_b.index)[known], p_b.to_numpy(dtype=float)[known], known


def instruction_difficulty(
    p: np.ndarray, model_code: np.ndarray, tanh_length: np.ndarray, prompt_code: np.ndarray
) -> np.ndarray:
    """AlpacaEval's instruction difficulty gamma_x, fitted jointly over every generator compared with the baseline:
    logit P(model m beats the baseline on x) = theta_m + phi_m * tanh_length + gamma_x, soft labels p, a ridge of
    LC_RIDGE on every coefficient (upstream fits gamma once over its whole leaderboard; here, over the generators the
    data holds). One value per prompt code, centred at 0. A sparse design: a million pairs and their prompts fit in
    seconds (scikit-learn's L-BFGS; soft labels as two rows weighted p and 1 - p, as alpaca_eval does)."""
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    n = len(p)
    models, prompts = int(model_code.max()) + 1, int(prompt_code.max()) + 1
    rows = np.arange(n)
    x = sparse.csr_matrix(
        (
            np.concatenate([np.ones(n), tanh_length, np.ones(n)]),
            (np.tile(rows, 3), np.concatenate([model_code, models + model_code, 2 * models + prompt_code])),
        ),
        shape=(n, 2 * models + prompts),
    )
    fit = LogisticRegression(C=1 / LC_RIDGE, fit_intercept=False, max_iter=2000, tol=1e-8)
    fit.fit(sparse.vstack([x, x]), np.r_[np.ones(n), np.zeros(n)], sample_weight=np.r_[p, 1 - p])
    gamma = fit.coef_[0, 2 * models :]
    return gamma - gamma.mean()


def lc_win_rates(
    p_b: pd.Series, pairs: pd.DataFrame, seed: int = DEFAULT_SEED, prompts: np.ndarray | None = None
) -> dict:
    """AlpacaEval's length-controlled win rate of each model against the baseline on side A, with soft labels:
    logit P = theta + phi * tanh(dlen / sd(dlen)) [+ psi * gamma_x], LC = 100 * mean over the model's instructions of
    sigmoid(theta + psi * gamma_x) (the length term set to 0). With `prompts` (each pair's prompt id, aligned with
    p_b) and two or more models, gamma_x is the instruction difficulty fitted jointly over them
    (instruction_difficulty); without, the 'minimal' GLM (no difficulty term). dlen in characters."""
    rows, p_all, known = _with_probabilities(p_b, pairs)
    code_a, code_b, models = generator_codes(rows)
    baselines = np.unique(code_a[code_a >= 0])
    if len(baselines) != 1:
        return {}
    compared = (code_b >= 0) & (code_b != baselines[0])
    ranked = np.unique(code_b[compared])
    dlen_all = (rows["len_b"] - rows["len_a"]).to_numpy(dtype=float)
    tanh_all = np.zeros(len(p_all))
    for k in ranked:
        mine = code_b == k
        tanh_all[mine] = np.tanh(dlen_all[mine] / (dlen_all[mine].std() or 1.0))
    gamma_all = None
    if prompts is not None and len(ranked) >= 2:
        prompt_code = pd.factorize(np.asarray(prompts, dtype=object)[known][compared])[0]
        gamma = instruction_difficulty(p_all[compared], code_b[compared], tanh_all[compared], prompt_code)
        gamma_all = np.zeros(len(p_all))
        gamma_all[compared] = gamma[prompt_code]
    out = {}
    for k in ranked:
        positions = np.flatnonzero(code_b == k)
        p = p_all[positions]
        columns = [np.ones(len(p)), tanh_all[positions]]
        if gamma_all is not None:
            columns.append(gamma_all[positions])
        x = np.column_stack(columns)
        without_length = x.copy()
        without_length[:, 1] = 0.0

        def lc(idx: np.ndarray, x: np.ndarray = x, p: np.ndarray = p, x0: np.ndarray = without_length) -> float:
            # soft labels: the log-likelihood with y = p equals alpaca_eval's two weighted rows per item
            beta = logistic_fit(x[idx], p[idx])
            return float(expit(x0[idx] @ beta).mean())

        if len(p) <= WALD_ABOVE:
            out[str(models[k])] = bootstrap(lc, len(p), REGRESSION_BOOT, seed).as_dict()
        else:  # the delta method on the Wald covariance: one fit, not one per resample
            beta = logistic_fit(x, p)
            fitted = expit(x @ beta)
            covariance = np.linalg.pinv((x * (fitted * (1 - fitted))[:, None]).T @ x + 1e-3 * np.eye(x.shape[1]))
            shown = expit(without_length @ beta)
            gradient = ((shown * (1 - shown))[:, None] * without_length).mean(axis=0)
            value, se = float(shown.mean()), float(np.sqrt(max(gradient @ covariance @ gradient, 0.0)))
            out[str(models[k])] = Estimate(value, value - 1.96 * se, value + 1.96 * se, len(p)).as_dict()
    return out


def baseline_of(pairs: pd.DataFrame) -> str | None:
    """The generator every one of these pairs compares with (AlpacaEval's baseline, compared with each model in
    turn): the one always on side A, else the one generator in every pair. A leaderboard leaves it out, as its win
    rate only mirrors the others'. None when there is no such single generator."""
    code_a, code_b, models = generator_codes(pairs)
    if len(code_a) == 0:
        return None
    if code_a[0] >= 0 and (code_a == code_a[0]).all() and (code_b != code_a[0]).any():
        return str(models[code_a[0]])
    everywhere = [k for k in {code_a[0], code_b[0]} if k >= 0 and ((code_a == k) | (code_b == k)).all()]
    return str(models[everywhere[0]]) if len(everywhere) == 1 else None


def published_figures(con: duckdb.DuckDBPyConnection, dataset: str) -> dict[str, dict[str, dict[str, dict]]]:
    """Upstream's published figures of a dataset (store table `published`): judge -> generator -> metric ->
    {value, standard_error, source}."""
    if not has_table(con, "published"):  # a store written before the table existed
        return {}
    out: dict = {}
    rows = con.execute(
        "SELECT judge, generator, metric, value, standard_error, source FROM published WHERE dataset = $d",
        {"d": dataset},
    ).fetchall()
    for judge, generator, metric, value, se, source in rows:
        out.setdefault(judge, {}).setdefault(generator, {})[metric] = {
            "value": value,
            "standard_error": se,
            "source": source,
        }
    return out


def bradley_terry(
    p_b: pd.Series, pairs: pd.DataFrame, style: pd.DataFrame | None = None, boot: int = 100, seed: int = DEFAULT_SEED
) -> dict:
    """Bradley-Terry ratings (Arena scale: 400 * beta + 1000) with optional style control; ties count 0.5."""
    rows, p, known = _with_probabilities(p_b, pairs)
    code_a, code_b, names = generator_codes(rows)
    keep = (code_a >= 0) & (code_b >= 0) & (code_a != code_b)
    code_a, code_b, p = code_a[keep], code_b[keep], p[keep]
    present = np.flatnonzero(np.bincount(np.concatenate([code_a, code_b]), minlength=len(names)))
    models = [names[k] for k in present]  # sorted, as the names are
    if len(models) < 2 or len(p) == 0:
        return {}
    index = {m: i for i, m in enumerate(models)}
    recode = np.full(len(names), -1)
    recode[present] = np.arange(len(present))
    code_a, code_b = recode[code_a], recode[code_b]
    style_cols = list(style.columns) if style is not None else []
    x = np.zeros((len(p), len(models) + len(style_cols)))
    x[np.arange(len(p)), code_a] = 1.0
    x[np.arange(len(p)), code_b] = -1.0
    if style is not None:
        z = aligned(style, p_b.index).to_numpy(dtype=float)[known][keep]
        sd = z.std(axis=0)
        x[:, len(models) :] = (z - z.mean(axis=0)) / np.where(sd > 0, sd, 1)
    y_a = 1 - p  # P(A preferred)

    def fit(idx: np.ndarray) -> np.ndarray:
        return logistic_fit(x[idx], y_a[idx], ridge=0.5)  # Arena's L2 regulariser, reg = 0.5

    if len(p) <= WALD_ABOVE:
        point = fit(np.arange(len(p)))
        rng = np.random.default_rng(seed)
        draws = np.array([fit(rng.integers(0, len(p), len(p))) for _ in range(boot)])
        low, high = np.percentile(draws, [2.5, 97.5], axis=0)
    else:  # Wald intervals (see stats.logistic_estimates): one fit, not one per resample
        estimates = logistic_estimates(x, y_a, boot, seed, ridge=0.5)
        point, low, high = (np.array([getattr(e, k) for e in estimates]) for k in ("value", "low", "high"))
    scale = 400 / math.log(10)

    appearances = np.bincount(code_a, minlength=len(models)) + np.bincount(code_b, minlength=len(models))

    def rating(k: int) -> dict:
        return Estimate(
            point[k] * scale + 1000, low[k] * scale + 1000, high[k] * scale + 1000, int(appearances[k])
        ).as_dict()

    out = {"ratings": {m: rating(index[m]) for m in models}}
    if style_cols:
        out["style_coefficients"] = {
            c: Estimate(point[len(models) + k], low[len(models) + k], high[len(models) + k], len(p)).as_dict()
            for k, c in enumerate(style_cols)
        }
    return out


# the leaderboard's rankings, in the order they are shown: board key -> (label, scale of the shown value, short name)
RANKINGS = {
    "raw_win_rate": ("raw win rate (%)", 100.0, "raw"),
    "lc_win_rate": ("LC win rate (%)", 100.0, "LC"),
    "bradley_terry_style": ("BT rating, style-controlled", 1.0, "BT"),
}
RANKING_CONVENTIONS = {  # what each ranking counts, as its hover says
    "raw_win_rate": "mean P(preferred); a tie ½, an unparsed answer left out (AlpacaEval)",
    "lc_win_rate": "AlpacaEval's GLM at zero length difference, instruction difficulty fitted jointly",
    "bradley_terry_style": "Arena's Bradley–Terry with style control; a tie ½",
}


def accuracy_within(
    con: duckdb.DuckDBPyConnection,
    dataset: str,
    pair_ids: list[str],
    boot: int = 200,
    seed: int = DEFAULT_SEED,
    verdicts: Verdicts | None = None,
) -> pd.DataFrame:
    """Each judge's accuracy on some pairs (a map selection) beside its accuracy on the whole dataset, both against
    the dataset's reference and under its convention: judge, n, within (estimate), whole (estimate), and whether
    the two intervals part. Empty when the dataset has no reference. `verdicts`: those pairs' verdicts when the
    caller holds them (load_verdicts of pair_ids)."""
    if verdicts is None:
        verdicts = load_verdicts(con, dataset, pair_ids=pair_ids, details=False)
    if len(verdicts) == 0:
        return pd.DataFrame()
    report = judges_report(con, dataset)  # the whole dataset's (precomputed at ingest)
    convention = report["accuracy_convention"]
    ref_name, ref = reference_verdicts(verdicts.wide, verdicts.kinds(), report["reference"])
    if ref is None:
        return pd.DataFrame()
    whole = {j["judge"]: headline_accuracy(j, convention)[0] for j in report["judges"]}
    rows = []
    kinds = verdicts.kinds()
    for judge in verdicts.wide.columns:
        if judge == ref_name or not whole.get(judge):
            continue
        if ref_name == HUMAN_MAJORITY and kinds[judge] == "human":
            continue  # its own vote is in the majority here (the report scores it against the others)
        within = headline_accuracy(
            accuracy_estimates(accuracy_outcomes(verdicts, judge, ref), None, boot, seed), convention
        )[0]
        if not within or not within["n"]:
            continue
        w, a = whole[judge], within
        parts = a["high"] is not None and w["low"] is not None and (a["high"] < w["low"] or a["low"] > w["high"])
        rows.append({"judge": judge, "n": a["n"], "within": a, "whole": w, "differs": bool(parts)})
    return pd.DataFrame(rows)


def leaderboard_table(board: dict) -> pd.DataFrame:
    """One row per generator of a judge's leaderboard, the baseline left out: for each ranking (RANKINGS) its value,
    interval and rank (1 = best), then upstream's published raw and LC win rates and our LC minus theirs (points).
    Sorted by the LC rank where there is one, else the raw."""
    estimates = {
        "raw_win_rate": board.get("raw_win_rate") or {},
        "lc_win_rate": board.get("lc_win_rate") or {},
        "bradley_terry_style": (board.get("bradley_terry_style") or {}).get("ratings", {}),
    }
    generators = sorted(set().union(*estimates.values()) - {board.get("baseline")})
    table = pd.DataFrame({"generator": generators})
    for key, (_, scale, _) in RANKINGS.items():
        for part in ("value", "low", "high"):
            values = [(estimates[key].get(g) or {}).get(part) for g in generators]
            table[f"{key}_{part}"] = np.array([np.nan if v is None else v for v in values], dtype=float) * scale
        table[f"{key}_rank"] = table[f"{key}_value"].rank(ascending=False, method="min")
    published = board.get("published") or {}
    for metric in ("raw_win_rate", "lc_win_rate"):
        table[f"published_{metric}"] = [
            100 * published[g][metric]["value"] if metric in published.get(g, {}) else np.nan for g in generators
        ]
    table["lc_minus_published"] = table["lc_win_rate_value"] - table["published_lc_win_rate"]
    order = "lc_win_rate_rank" if table["lc_win_rate_rank"].notna().any() else "raw_win_rate_rank"
    return table.sort_values([order, "generator"]).reset_index(drop=True)


def leaderboard_display(table: pd.DataFrame) -> pd.DataFrame:
    """leaderboard_table as the page and the report show it: 'value [low, high]' and '#rank' per ranking, the
    published values and the difference in points; '–' where a figure is missing."""

    def cell(value: float, low: float, high: float, digits: int) -> str:
        if np.isnan(value):
            return "–"
        return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"

    out = pd.DataFrame({"generator": table["generator"]})
    for key, (label, _, short) in RANKINGS.items():
        if table[f"{key}_value"].isna().all():
            continue
        digits = 0 if key == "bradley_terry_style" else 1
        out[label] = [
            cell(v, lo, hi, digits)
            for v, lo, hi in zip(table[f"{key}_value"], table[f"{key}_low"], table[f"{key}_high"], strict=True)
        ]
        out[f"rank {short}"] = [("–" if np.isnan(r) else f"#{int(r)}") for r in table[f"{key}_rank"]]
    for column, label in (
        ("published_raw_win_rate", "published raw (%)"),
        ("published_lc_win_rate", "published LC (%)"),
    ):
        if table[column].notna().any():
            out[label] = [("–" if np.isnan(v) else f"{v:.1f}") for v in table[column]]
    if table["lc_minus_published"].notna().any():
        out["LC − published (points)"] = [("–" if np.isnan(v) else f"{v:+.1f}") for v in table["lc_minus_published"]]
    return out


# ---------------------------------------------------------------------------------------------------------------
# groups and per-pair strength


def group_columns(pairs: pd.DataFrame) -> dict[str, pd.Series]:
    """The categorical columns a dataset can be split by (only those with more than one value)."""
    out = {}
    for column in ("subset", "category"):
        if pairs[column].nunique() > 1:
            out[column] = pairs[column]
    if "category" in out and out["category"].str.contains("/", regex=False).any():
        out["category group"] = pairs["category"].str.split("/").str[0]
    code_a, code_b, generators = generator_codes(pairs)
    known = (code_a >= 0) & (code_b >= 0)
    if known.any():
        # one label per distinct (A, B) combination (a few hundred), not per pair: the two names sorted, as GROUP_SQL
        # orders them; none for a generator against itself
        width = len(generators)
        distinct, inverse = np.unique(np.where(known, code_a * width + code_b, -1), return_inverse=True)
        names = [
            " vs ".join(sorted((str(generators[key // width]), str(generators[key % width]))))
            if key >= 0 and key // width != key % width
            else None
            for key in distinct
        ]
        labels = np.array(names, dtype=object)[inverse.ravel()]
        if pd.notna(labels).any():
            out["model pair"] = pd.Series(labels, index=pairs.index, dtype=object)
    return out


# each group column of group_columns, as SQL over pairs p with generators ra / rb
GROUP_SQL = {
    "subset": "p.subset",
    "category": "p.category",
    "category group": "split_part(p.category, '/', 1)",
    "model pair": "CASE WHEN ra.generator <> rb.generator "
    "THEN least(ra.generator, rb.generator) || ' vs ' || greatest(ra.generator, rb.generator) END",
}
_COMBINED = f"""SELECT x.pair_id, {COMBINED_VERDICT_SQL} AS s
               FROM judgments x JOIN judges j USING (judge_id)
               WHERE x.dataset = $d AND x.verdict <> 'unparsed' AND j.name = {{judge}} GROUP BY x.pair_id"""


def pairs_behind(
    con: duckdb.DuckDBPyConnection,
    dataset: str,
    judge_1: str,
    judge_2: str | None = None,
    subset: str | None = None,
    group_by: str | None = None,
    group: str | None = None,
    only_disagreements: bool = True,
    generator: str | None = None,
) -> list[str]:
    """Pair ids behind a figure, in source order: with two judges, the pairs both decided (their verdicts combined
    over runs by JudgeBench's rule), those where they differ first (or only those); with one judge, its pairs
    judged in both orders whose verdicts differ (or all its pairs judged with a known order, differing first);
    with one judge and a generator (a leaderboard's point), the pairs of that generator the judge decided, those
    it lost first (or only those). Optionally within a subset and one group of a group column (GROUP_SQL). One SQL
    query: nothing of the dataset is loaded into memory."""
    args: dict = {"d": dataset, "j1": judge_1, "s": subset}  # DuckDB refuses parameters a query does not use
    where = [SUBSET_SQL.format(column="p.subset")]
    if generator is not None:  # 'differs' reads: the judge preferred the other response
        args["gen"] = generator
        differs = f"SELECT pair_id, s FROM ({_COMBINED.format(judge='$j1')}) c"
        where.append("(ra.generator = $gen OR rb.generator = $gen)")
        flag = "CASE WHEN ra.generator = $gen THEN v.s < 0 ELSE v.s > 0 END"
    elif judge_2 is None:
        differs = """SELECT x.pair_id,
                            count(DISTINCT x.shown_order) = 2 AND
                            first(x.verdict) FILTER (WHERE x.shown_order = 'AB')
                              <> first(x.verdict) FILTER (WHERE x.shown_order = 'BA') AS differs
                     FROM judgments x JOIN judges j USING (judge_id)
                     WHERE x.dataset = $d AND j.name = $j1 AND x.shown_order IS NOT NULL GROUP BY x.pair_id"""
    else:
        args["j2"] = judge_2
        first, second = _COMBINED.format(judge="$j1"), _COMBINED.format(judge="$j2")
        differs = f"SELECT a.pair_id, a.s <> b.s AS differs FROM ({first}) a JOIN ({second}) b USING (pair_id)"
    if generator is None:
        flag = "v.differs"
    if group_by in GROUP_SQL and group is not None:
        where.append(f"({GROUP_SQL[group_by]}) = $g")
        args["g"] = group
    if only_disagreements:
        where.append(flag)
    rows = con.execute(
        f"""SELECT v.pair_id FROM ({differs}) v JOIN pairs p USING (pair_id)
            JOIN responses ra ON ra.response_id = p.response_a_id
            JOIN responses rb ON rb.response_id = p.response_b_id
            WHERE {" AND ".join(where)}
            ORDER BY {flag} DESC, p.source_row, p.pair_id""",
        args,
    ).fetchall()
    return [r[0] for r in rows]


GENERATOR_MARK = "gen:"  # a cell naming a generator's pairs under a leaderboard's judge (cell=gen:NAME)


def pairs_of_cell(
    con: duckdb.DuckDBPyConnection,
    dataset: str,
    cell: str,
    board_judge: str | None = None,
    subset: str | None = None,
    group_by: str | None = None,
    group: str | None = None,
    only: bool = True,
) -> tuple[list[str], list[str]]:
    """(the pair ids behind a Judges view's chosen number, the judges under study) for its `cell`: 'J1 ~ J2', one
    judge, or GENERATOR_MARK + a generator judged by `board_judge` (pairs_behind says which pairs each means)."""
    generator = cell.removeprefix(GENERATOR_MARK) if cell.startswith(GENERATOR_MARK) else None
    if generator is not None and not board_judge:
        return [], []
    first, _, second = (board_judge, "", "") if generator else cell.partition(" ~ ")
    ids = pairs_behind(con, dataset, first, second or None, subset, group_by, group, only, generator)
    return ids, [j for j in (first, second) if j]


def disagreement_by_group(
    wide: pd.DataFrame, groups: pd.Series, min_n: int = 1, codes: np.ndarray | None = None
) -> pd.DataFrame:
    """Long table (group, judge_1, judge_2, disagreement, n): share of shared pairs with different verdicts. Counted
    with one bincount per judge pair over the groups' codes. `codes`: verdict_codes(wide) when at hand."""
    codes = verdict_codes(wide) if codes is None else codes
    labels, names = pd.factorize(aligned(groups, wide.index).fillna("(none)"), sort=True)
    rows = []
    for (i, j1), (k, j2) in combinations(enumerate(wide.columns), 2):
        both = ~np.isnan(codes[:, i]) & ~np.isnan(codes[:, k])
        n = np.bincount(labels[both], minlength=len(names))
        differ = np.bincount(labels[both], weights=(codes[both, i] != codes[both, k]), minlength=len(names))
        for g in np.flatnonzero((n >= min_n) & (n > 0)):
            rows.append(
                {
                    "group": names[g],
                    "judge_1": j1,
                    "judge_2": j2,
                    "disagreement": float(differ[g] / n[g]),
                    "n": int(n[g]),
                }
            )
    return pd.DataFrame(rows, columns=["group", "judge_1", "judge_2", "disagreement", "n"])


def ensemble_strength(wide: pd.DataFrame, exclude: list[str] | None = None) -> pd.DataFrame:
    """Per pair: mean and spread of the judges' verdict scores (A=+1, tie=0, B=-1) and how many judged it."""
    cols = [c for c in wide.columns if c not in (exclude or [])]
    scores = wide[cols].apply(lambda col: col.map(SCORE)).astype(float)
    return pd.DataFrame(
        {"mean": scores.mean(axis=1), "spread": scores.std(axis=1, ddof=0), "judges": scores.notna().sum(axis=1)}
    )


def flip_rate_from_two_labels(p_disagree: float) -> float:
    """Label flip rate epsilon from the disagreement of two independent labels, each flipped at rate epsilon:
    P(disagree) = 2 eps (1 - eps). Valid for P(disagree) < 1/2."""
    if not 0 <= p_disagree < 0.5:
        return float("nan")
    return (1 - math.sqrt(1 - 2 * p_disagree)) / 2


# ---------------------------------------------------------------------------------------------------------------
# everything for one dataset


def judges_report(
    con: duckdb.DuckDBPyConnection,
    dataset: str,
    reference: str | None = None,
    subset: str | None = None,
    boot: int = DEFAULT_BOOT,
    seed: int = DEFAULT_SEED,
    leaderboards: bool = True,
) -> dict:
    """All judge analytics of a dataset as plain data (what `prefatlas judges --json` prints). Computed once per
    dataset version and arguments, then read from the disk cache (the CLI, every dashboard process and the ingest
    that precomputes it share one copy)."""
    key = ("judges", REPORT_FORMAT, dataset_version(con, dataset), dataset, reference, subset, boot, seed, leaderboards)
    return cached(key, lambda: _judges_report(con, dataset, reference, subset, boot, seed, leaderboards))


def _judges_report(
    con: duckdb.DuckDBPyConnection,
    dataset: str,
    reference: str | None,
    subset: str | None,
    boot: int,
    seed: int,
    leaderboards: bool,
) -> dict:
    verdicts = load_verdicts(con, dataset, subset)
    if len(verdicts) == 0:
        raise ValueError(f"dataset '{dataset}'{f' subset {subset!r}' if subset else ''} has no judgments")
    pairs = verdicts.pairs
    info = verdicts.judges
    kinds = verdicts.kinds()
    kind_order = {"gold": 0, "human": 1, "crowd": 2, "llm": 3, "reward_model": 4}
    order = sorted(range(len(info)), key=lambda k: (kind_order.get(info["kind"].iloc[k], 9), info.index[k].lower()))
    wide = verdicts.wide.iloc[:, order]
    codes = verdicts.codes[:, order].astype(float)
    ref_name, ref = reference_verdicts(wide, kinds, reference)
    style = style_features(con, verdicts)
    judges = []
    for judge in wide.columns:
        entry: dict = {
            "judge": judge,
            "kind": kinds[judge],
            "model": info.at[judge, "model"],
            "family": info.at[judge, "family"],
            "pairs": int(info.at[judge, "pairs"]),
            "judgments": int(info.at[judge, "judgments"]),
            "unparsed": int(info.at[judge, "unparsed"]),
        }
        if ref is not None and judge != ref_name:
            judge_ref = ref
            if ref_name == HUMAN_MAJORITY and kinds[judge] == "human":
                # a human is scored against the majority of the other humans, never against a vote it is part of
                others = [h for h, k in kinds.items() if k == "human" and h != judge and h in wide]
                judge_ref = majority(wide[others])
                entry["reference"] = "majority of the other humans"
            outcomes = accuracy_outcomes(verdicts, judge, judge_ref)
            entry.update(accuracy_estimates(outcomes, boot=boot, seed=seed))
            if is_subset_group(subset):  # each subset's figures, and their unweighted mean (the papers' average)
                members = sorted(pairs["subset"].dropna().unique())
                rows = {m: (pairs["subset"] == m).to_numpy() for m in members}
                entry["by_subset"] = {m: accuracy_estimates(outcomes, rows[m], boot, seed) for m in members}
                entry["subset_mean"] = {
                    field: unweighted_mean_estimate([v[rows[m] & ~np.isnan(v)] for m in members], boot, seed).as_dict()
                    for field, v in outcomes.items()
                }
        entry["position"] = position_bias(verdicts, judge, boot, seed)
        entry["length"] = length_bias(wide[judge], pairs, boot, seed)
        entry["style"] = style_bias(wide[judge], style, seed)
        entry["self_preference"] = self_preference(
            wide[judge], ref if judge != ref_name else None, pairs, entry["family"], boot, seed
        )
        judges.append(entry)
    groups = {}
    for column, values in group_columns(pairs).items():
        groups[column] = disagreement_by_group(wide, values, codes=codes).to_dict("records")
    report = {
        "dataset": dataset,
        "subset": subset,
        "reference": ref_name,
        "accuracy_convention": accuracy_convention(con, dataset),
        "pairs": len(pairs),
        "conventions": CONVENTIONS,
        "judges": judges,
        "agreement": [a.as_dict() for a in agreement_matrix(wide, boot, seed, codes)],
        "all_judges": group_agreement(wide, min(boot, 200), seed, codes),
        "disagreement_by_group": groups,
    }
    if ref is not None:
        flips = {}
        ref_values = ref.to_numpy(dtype=object)
        decided = ref.isin(["A", "B"]).to_numpy()
        for judge in wide.columns:
            if judge == ref_name:
                continue
            mask = decided & wide[judge].isin(["A", "B"]).to_numpy()
            if mask.any():
                differ = wide[judge].to_numpy(dtype=object)[mask] != ref_values[mask]
                flips[judge] = {"disagreement_with_reference": float(differ.mean()), "n": int(mask.sum())}
        report["flip_rate_vs_reference"] = flips
    humans = [j for j in wide.columns if kinds[j] == "human"]
    if len(humans) >= 2:
        two_label = {}
        for h1, h2 in combinations(humans, 2):
            both = (wide[h1].isin(["A", "B"]) & wide[h2].isin(["A", "B"])).to_numpy()
            differ = wide[h1].to_numpy(dtype=object)[both] != wide[h2].to_numpy(dtype=object)[both]
            p = float(differ.mean()) if both.any() else float("nan")
            two_label[f"{h1} | {h2}"] = {
                "disagreement": p,
                "flip_rate": flip_rate_from_two_labels(p),
                "n": int(both.sum()),
            }
        report["flip_rate_from_two_labels"] = two_label
    if leaderboards and pairs["model_a"].notna().any() and (pairs["model_a"] != pairs["model_b"]).any():
        boards = {}
        published = published_figures(con, dataset)
        prompts = verdicts.responses.column("prompt_id").to_numpy(zero_copy_only=False)
        for judge in wide.columns:
            if kinds[judge] == "gold":
                continue
            p_b = pd.Series(verdicts.p_b[:, verdicts.column(judge)], index=pairs.index)
            boards[judge] = {
                "baseline": baseline_of(pairs[p_b.notna().to_numpy()]),
                "raw_win_rate": raw_win_rates(p_b, pairs, boot, seed),
                "lc_win_rate": lc_win_rates(p_b, pairs, seed, prompts),
                "bradley_terry_style": bradley_terry(p_b, pairs, style, boot=50, seed=seed),
                "published": published.get(judge, {}),
            }
        report["leaderboards"] = boards
        report["official_judge"] = official_judge(con, dataset, list(boards))
    return report


def accuracy_column(report: dict, convention: str | None = None) -> str:
    """The bias table's accuracy header: it names the convention its figures follow."""
    convention = convention or report.get("accuracy_convention", "combined")
    return f"accuracy vs reference ({ACCURACY_CONVENTIONS[convention][1]})"


SUBSET_MEAN_COLUMN = "mean over the subsets"


MIN_FIT_PAIRS = 100  # decided pairs below which a regression coefficient is not reported as a number
MAX_FIT_WIDTH = 4.0  # a coefficient interval wider than this (logit units) is a separated or flat fit


def fit_text(est: dict | None) -> str:
    """A regression coefficient as the bias table shows it: 'value [low, high] (n)', or why it is not estimable
    (too few decided pairs, or an interval so wide the data cannot tell: separation, a feature that barely varies)
    instead of a number nobody should read."""
    if not est or est.get("value") is None:
        return "–"
    if est["n"] < MIN_FIT_PAIRS:
        return f"not estimable: {est['n']} pairs"
    if est["low"] is None or est["high"] is None or est["high"] - est["low"] > MAX_FIT_WIDTH:
        return f"not estimable: interval too wide (n={est['n']})"
    return format_estimate(est, False)


# the bias table's column groups; those after the first two are folded by default on the page
BIAS_GROUPS = {
    "judge": ("judge", "kind", "pairs"),
    "accuracy": (),  # the accuracy columns, named after their convention (accuracy_column)
    "position": ("swap consistency", "inconsistent → first / second", "P(first shown wins)"),
    "length": ("P(longer preferred)", "length fit"),
    "style": tuple(f"style fit: {k}" for k in STYLE_FEATURES),
    "self-preference": ("self-preference (DBG)",),
    "parsing": ("unparsed",),
}
FOLDED = ("length fit", *BIAS_GROUPS["style"], "unparsed")  # regression details and counts: a click away


def bias_table(report: dict, convention: str | None = None) -> pd.DataFrame:
    """One row per judge of a judges_report: accuracy (under `convention`, default the dataset's own), position,
    length, style and self-preference, as text with intervals (what the Judges page and the report show). A judge
    whose accuracy falls back to another convention (seen in one order only) says so in its cell; for a subset
    group, the unweighted mean over its subsets follows (the papers' "average")."""
    fmt = format_estimate
    convention = convention or report.get("accuracy_convention", "combined")
    header = accuracy_column(report, convention)
    rows = []
    for j in report["judges"]:
        pos, length, style, selfp = j["position"], j["length"], j["style"], j["self_preference"]
        swap = pos.get("swap_consistency")
        estimate, used = headline_accuracy(j, convention)
        row = {"judge": j["judge"], "kind": j["kind"], "pairs": j["pairs"]}
        row[header] = fmt(estimate) + ("" if used == convention or not estimate else " (one order: combined)")
        if "subset_mean" in j:
            row[SUBSET_MEAN_COLUMN] = fmt(headline_accuracy(j["subset_mean"], convention)[0])
        row |= {
            "swap consistency": fmt(swap) if swap else ("one order only" if pos["orders_seen"] else "order unknown"),
            "inconsistent → first / second": (
                f"{pos['inconsistent_favour_first']:.0%} / {pos['inconsistent_favour_second']:.0%}"
                if pos.get("inconsistent_favour_first") is not None
                else "–"
            ),
            "P(first shown wins)": fmt(pos["p_first_shown_wins"]),
            "P(longer preferred)": fmt(length["p_longer_preferred"]),
            "length fit": fit_text(length["length_coefficient"]),
            **{f"style fit: {k}": fit_text(v) for k, v in style.items()},
            "self-preference (DBG)": fmt(selfp.get("dbg")) if "dbg" in selfp else selfp.get("note", "–"),
            "unparsed": j["unparsed"],
        }
        rows.append(row)
    return pd.DataFrame(rows)


def bias_note(with_fits: bool) -> str:
    """What the bias table's columns count (the fits' only when they are shown)."""
    fits = (
        "Length fit: the logistic coefficient of the normalised length difference; style fit: the judge's verdicts "
        "regressed on Chatbot Arena's style features (z-scored), not the leaderboard's Bradley-Terry style "
        f"coefficients, a joint model. A fit on fewer than {MIN_FIT_PAIRS} decided pairs, or with an interval wider "
        f"than {MAX_FIT_WIDTH:g}, is marked not estimable. "
    )
    return (
        "Position: swap consistency and where inconsistent verdicts go, P(first shown wins). Length: P(longer "
        "preferred). " + (fits if with_fits else "") + "A row opens the pairs whose verdict flipped with the order."
    )


def all_judges_note(report: dict) -> str:
    together = report["all_judges"]
    return (
        f"All judges together: Fleiss' κ {format_estimate(together['fleiss_kappa'], False)} · Krippendorff's α "
        f"nominal {format_estimate(together['krippendorff_alpha_nominal'], False)} · ordinal "
        f"{format_estimate(together['krippendorff_alpha_ordinal'], False)}"
    )


SUBSET_NOTE = (
    f"{SUBSET_MEAN_COLUMN}: the unweighted mean of the subsets' accuracies, as papers average them (interval: each "
    "subset resampled within itself); pooled: every pair of the group counted once."
)


def board_judge(report: dict, wanted: object = None) -> str | None:
    """The judge whose leaderboard a view shows: the one asked for, else upstream's official evaluator, else the
    first; None without leaderboards."""
    boards = report.get("leaderboards") or {}
    if wanted in boards:
        return str(wanted)
    official = report.get("official_judge")
    return official if official in boards else next(iter(boards), None)


def leaderboard_notes(board: dict, table: pd.DataFrame) -> str:
    """What a leaderboard leaves out and how it compares with upstream's published one."""
    notes = []
    if board.get("baseline"):
        notes.append(f"Baseline {board['baseline']} (in every pair this judge decided) is left out of the ranking.")
    if "lc_minus_published" in table and table["lc_minus_published"].notna().any():
        worst = table.loc[table["lc_minus_published"].abs().idxmax()]
        notes.append(
            "Published values: upstream's leaderboard for this evaluator; our LC differs from it by at most "
            f"{abs(worst['lc_minus_published']):.1f} points ({worst['generator']}); the LC convention says why."
        )
    style = (board.get("bradley_terry_style") or {}).get("style_coefficients", {})
    if style:
        notes.append(
            "Style coefficients of the BT fit (z-scored features): "
            + ", ".join(f"{k} {format_estimate(v, False)}" for k, v in style.items())
        )
    return " ".join(notes)


def cell_aliases(report: dict) -> dict[str, str]:
    """A judge pair written in the other order, to the cell it opens (links may name either order)."""
    cells = [(a["judge_1"], a["judge_2"]) for a in report["agreement"]]
    return {f"{second} ~ {first}": f"{first} ~ {second}" for first, second in cells}


def cell_choices(report: dict, generators: list[str]) -> list[str]:
    """What 'the pairs behind a number' can open: a judge pair, a judge, or a generator of the shown leaderboard."""
    cells = [f"{a['judge_1']} ~ {a['judge_2']}" for a in report["agreement"]]
    return ["(none)", *cells, *(j["judge"] for j in report["judges"]), *(GENERATOR_MARK + g for g in generators)]


def subset_accuracy_table(report: dict, convention: str | None = None) -> pd.DataFrame:
    """For a subset group: judges × subsets accuracy under the convention, then the unweighted mean and the pooled
    figure (LLMBar's table layout). Empty for a single subset or the whole dataset."""
    convention = convention or report.get("accuracy_convention", "combined")
    rows = []
    for j in report["judges"]:
        if "by_subset" not in j:
            continue
        row = {"judge": j["judge"]}
        for subset, figures in j["by_subset"].items():
            row[subset] = format_estimate(headline_accuracy(figures, convention)[0])
        row[SUBSET_MEAN_COLUMN] = format_estimate(headline_accuracy(j["subset_mean"], convention)[0])
        row["pooled"] = format_estimate(headline_accuracy(j, convention)[0])
        rows.append(row)
    return pd.DataFrame(rows)
