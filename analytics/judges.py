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
import krippendorff
import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

from analytics.cache import cached
from analytics.families import model_family
from analytics.overview import dataset_version
from analytics.properties import PROPERTIES, response_properties
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
)

LABELS = ("A", "tie", "B")
CODE = {"A": 0, "tie": 1, "B": 2}  # ordinal: tie is the midpoint
SCORE = {"A": 1.0, "tie": 0.0, "B": -1.0}
HUMAN_MAJORITY = "human majority"
REGRESSION_BOOT = 200

CONVENTIONS = {
    "frame": "A and B are the pair's own responses, whatever order a judge saw them in.",
    "unparsed": "An unparsed verdict is a missing value: left out of agreement, counted wrong in accuracy; "
    "never a tie.",
    "several_runs": "A judge with several judgments of one pair (both orders) gets one verdict by JudgeBench's "
    "rule: sum of +1 (A), -1 (B), 0 (tie); >0 A, <0 B, 0 tie.",
    "agreement_with_ties": "Share of shared pairs with equal verdicts, ties a category of their own.",
    "agreement_without_ties": "MT-Bench convention: pairs where either judge said tie are dropped.",
    "kappa": "Cohen's kappa over A / tie / B (scikit-learn).",
    "fleiss": "Fleiss' kappa over pairs every judge decided (statsmodels).",
    "krippendorff": "Krippendorff's alpha with missing values; nominal and ordinal with A=0, tie=1, B=2.",
    "accuracy": "Pairs the reference decided; a judge's tie or missing verdict counts wrong. With the human "
    "majority as reference, each human is scored against the majority of the other humans.",
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
    "probability, else 1 / 0.5 / 0 for win / tie / loss (AlpacaEval's convention).",
    "intervals": f"95% seeded bootstrap over pairs ({DEFAULT_BOOT} resamples; {REGRESSION_BOOT} for regressions), "
    f"seed {DEFAULT_SEED}. Statistics of a table of counts (agreement, kappa, Fleiss, Krippendorff, shares) resample "
    "the table (a multinomial draw, the same distribution as resampling pairs); regressions on more than "
    f"{WALD_ABOVE:,} pairs use the Wald interval instead of refitting per resample.",
}


# ---------------------------------------------------------------------------------------------------------------
# loading


def load_judgments(con: duckdb.DuckDBPyConnection, dataset: str, subset: str | None = None) -> pd.DataFrame:
    """Long table of a dataset's judgments with the pair's groups, generators and response lengths."""
    frame = con.execute(
        """
        SELECT x.pair_id, j.name AS judge, j.kind, j.family AS judge_family, j.model AS judge_model,
               x.verdict, x.shown_order, x.prob_b, x.score_a, x.score_b,
               p.subset, p.category, ra.generator AS model_a, rb.generator AS model_b,
               length(ra.text) AS len_a, length(rb.text) AS len_b, p.response_a_id, p.response_b_id
        FROM judgments x
        JOIN judges j USING (judge_id)
        JOIN pairs p USING (pair_id)
        JOIN responses ra ON ra.response_id = p.response_a_id
        JOIN responses rb ON rb.response_id = p.response_b_id
        WHERE x.dataset = $d AND ($s IS NULL OR p.subset = $s)
        """,
        {"d": dataset, "s": subset},
    ).df()
    return plain_strings(frame)


T = TypeVar("T", pd.DataFrame, pd.Series)


def plain_strings(frame: T) -> T:
    """Text columns and the index as Python objects: pandas' Arrow-backed strings (which pivots, unstacks and
    set_index infer) hash 10-20x slower in the isin / reindex / comparisons the analytics make per judge
    (measured at 100k pairs)."""
    if pd.api.types.is_string_dtype(frame.index) and frame.index.dtype != object:
        frame.index = frame.index.astype(object)
    columns = frame.items() if isinstance(frame, pd.DataFrame) else []
    for name, column in columns:
        if pd.api.types.is_string_dtype(column) and column.dtype != object:
            frame[name] = column.astype(object)
    if isinstance(frame, pd.Series) and pd.api.types.is_string_dtype(frame) and frame.dtype != object:
        frame = frame.astype(object)
    return frame


def pair_table(judgments: pd.DataFrame) -> pd.DataFrame:
    """One row per pair: groups, generators, lengths."""
    cols = ["pair_id", "subset", "category", "model_a", "model_b", "len_a", "len_b", "response_a_id", "response_b_id"]
    return plain_strings(judgments[cols].drop_duplicates("pair_id").set_index("pair_id"))


# ---------------------------------------------------------------------------------------------------------------
# one verdict per judge and pair


def combine_runs(judgments: pd.DataFrame) -> pd.DataFrame:
    """Wide table pair_id x judge of single verdicts ('A' / 'tie' / 'B' or NaN), by JudgeBench's summing rule."""
    parsed = judgments[judgments["verdict"] != "unparsed"]
    scored = parsed.assign(score=parsed["verdict"].map(SCORE))
    total = scored.groupby(["pair_id", "judge"])["score"].sum()
    verdict = pd.Series(np.where(total > 0, "A", np.where(total < 0, "B", "tie")), index=total.index)
    wide = plain_strings(verdict.unstack("judge"))
    all_pairs = judgments["pair_id"].unique()
    return wide.reindex(all_pairs).sort_index(axis=1)


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


def agreement(
    v1: pd.Series, v2: pd.Series, boot: int = DEFAULT_BOOT, seed: int = DEFAULT_SEED
) -> tuple[Estimate, Estimate, Estimate]:
    """(agreement with ties, without ties, Cohen's kappa) of two verdict columns on the pairs both decided."""
    both = v1.notna() & v2.notna()
    a = v1[both].map(CODE).to_numpy(dtype=int)
    b = v2[both].map(CODE).to_numpy(dtype=int)
    with_ties = mean_estimate((a == b).astype(float), boot, seed)
    decisive = (a != 1) & (b != 1)
    without_ties = mean_estimate((a[decisive] == b[decisive]).astype(float), boot, seed)
    if len(a) == 0:
        return with_ties, without_ties, NAN_ESTIMATE
    point = float(cohen_kappa_score(a, b, labels=[0, 1, 2])) if len(set(a) | set(b)) > 1 else float("nan")
    # the 3 x 3 table of the two verdicts is all kappa needs: resample the table, not the pairs
    confusion = np.bincount(a * 3 + b, minlength=9)
    return with_ties, without_ties, bootstrap_counts(kappa_from_confusions, confusion, boot, seed, value=point)


def agreement_matrix(wide: pd.DataFrame, boot: int = DEFAULT_BOOT, seed: int = DEFAULT_SEED) -> list[PairAgreement]:
    out = []
    for j1, j2 in combinations(wide.columns, 2):
        w, wo, k = agreement(wide[j1], wide[j2], boot, seed)
        out.append(PairAgreement(j1, j2, w, wo, k))
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


def group_agreement(wide: pd.DataFrame, boot: int = 200, seed: int = DEFAULT_SEED) -> dict[str, dict]:
    """Fleiss' kappa (pairs every judge decided) and Krippendorff's alpha (missing allowed), nominal and ordinal.
    Point values from statsmodels and the krippendorff package; intervals from the units' rating patterns (the
    statistics depend on nothing else), resampled as counts."""
    codes = wide.apply(lambda col: col.map(CODE)).astype(float)
    result: dict[str, dict] = {}
    complete = codes.dropna().to_numpy(dtype=int)
    if len(complete) and codes.shape[1] >= 2:
        table, _ = aggregate_raters(complete, n_cat=3)
        with np.errstate(divide="ignore", invalid="ignore"):
            point = float(fleiss_kappa(table, method="fleiss"))
        patterns, counts = np.unique(table, axis=0, return_counts=True)
        result["fleiss_kappa"] = bootstrap_counts(
            lambda w: fleiss_from_patterns(w, patterns.astype(float)), counts, boot, seed, value=point
        ).as_dict()
    else:
        result["fleiss_kappa"] = NAN_ESTIMATE.as_dict()
    data = codes.to_numpy().T  # raters x units
    usable = (~np.isnan(data)).sum(axis=0) >= 2
    data = data[:, usable]
    unit_counts = np.stack([(data == v).sum(axis=0) for v in (0, 1, 2)], axis=1)  # units x (A, tie, B)
    patterns, counts = (
        np.unique(unit_counts, axis=0, return_counts=True) if len(unit_counts) else (unit_counts, np.array([]))
    )
    for level in ("nominal", "ordinal"):
        if data.shape[1] < 2 or len(np.unique(data[~np.isnan(data)])) < 2:
            result[f"krippendorff_alpha_{level}"] = NAN_ESTIMATE.as_dict()
            continue
        point = float(krippendorff.alpha(reliability_data=data, level_of_measurement=level, value_domain=[0, 1, 2]))

        def alpha(w: np.ndarray, level: str = level) -> np.ndarray:
            values = alpha_from_patterns(w, patterns.astype(float), level)
            one_value = ((w @ patterns) > 0).sum(axis=1) < 2  # a replicate holding a single value has no alpha
            return np.where(one_value, np.nan, values)

        result[f"krippendorff_alpha_{level}"] = bootstrap_counts(alpha, counts, boot, seed, value=point).as_dict()
    return result


def accuracy(
    verdicts: pd.Series, ref: pd.Series, judged: pd.Index, boot: int = DEFAULT_BOOT, seed: int = DEFAULT_SEED
) -> Estimate:
    """Share of the pairs the judge judged (`judged`) and the reference decided where the verdicts are equal;
    a tie or unparsed verdict of the judge counts wrong."""
    ids = ref.dropna().index.intersection(judged)
    correct = (verdicts.reindex(ids) == ref.reindex(ids)).astype(float).to_numpy()
    return mean_estimate(correct, boot, seed)


def verdicts_by_order(judgments: pd.DataFrame) -> pd.DataFrame:
    """Each judge's verdict per pair in each shown order: index (judge, pair_id), columns AB / BA (the first
    verdict where a judge saw one order several times). One grouping for every judge."""
    known = judgments[judgments["shown_order"].notna()]
    if known.empty:
        return pd.DataFrame(index=pd.MultiIndex.from_arrays([[], []], names=["judge", "pair_id"]))
    table = known.groupby(["judge", "pair_id", "shown_order"], sort=False)["verdict"].first().unstack("shown_order")
    return table


def _orders_of(judgments: pd.DataFrame, judge: str, by_order: pd.DataFrame | None) -> pd.DataFrame:
    """One judge's (pair_id x AB/BA) verdicts, only the orders it saw."""
    if by_order is None:
        by_order = verdicts_by_order(judgments[judgments["judge"] == judge])
    if judge not in by_order.index.levels[0]:
        return pd.DataFrame()
    return plain_strings(by_order.xs(judge, level=0).dropna(axis=1, how="all"))


def accuracy_by_order(
    judgments: pd.DataFrame,
    judge: str,
    ref: pd.Series,
    boot: int = DEFAULT_BOOT,
    seed: int = DEFAULT_SEED,
    by_order: pd.DataFrame | None = None,
) -> dict[str, dict]:
    """LLMBar's figures: accuracy in each shown order (unparsed counts wrong), their average, and both correct.
    `by_order`: verdicts_by_order of the judgments, when already at hand."""
    by_order = _orders_of(judgments, judge, by_order)
    if by_order.empty:
        return {}
    by_order = by_order[by_order.index.isin(ref.dropna().index)]
    out = {}
    correct = {}
    for order in ("AB", "BA"):
        if order in by_order:
            col = by_order[order].dropna()
            correct[order] = (col == ref.reindex(col.index)).astype(float)
            out[f"accuracy_{order}"] = mean_estimate(correct[order].to_numpy(), boot, seed).as_dict()
    if len(correct) == 2:
        both = pd.concat(correct, axis=1).dropna()
        out["accuracy_average"] = mean_estimate(both.mean(axis=1).to_numpy(), boot, seed).as_dict()
        out["accuracy_both_orders"] = mean_estimate((both.min(axis=1)).to_numpy(), boot, seed).as_dict()
    return out


# ---------------------------------------------------------------------------------------------------------------
# biases


def position_bias(
    judgments: pd.DataFrame,
    judge: str,
    boot: int = DEFAULT_BOOT,
    seed: int = DEFAULT_SEED,
    by_order: pd.DataFrame | None = None,
) -> dict:
    """Swap consistency, where the inconsistent verdicts go, and P(first shown wins)."""
    mine = judgments[judgments["judge"] == judge]
    known = mine[mine["shown_order"].notna()]
    decisive = known[known["verdict"].isin(["A", "B"])]
    first_wins = ((decisive["shown_order"] == "AB") & (decisive["verdict"] == "A")) | (
        (decisive["shown_order"] == "BA") & (decisive["verdict"] == "B")
    )
    out: dict = {
        "orders_seen": sorted(known["shown_order"].unique().tolist()),
        "p_first_shown_wins": mean_estimate(first_wins.astype(float).to_numpy(), boot, seed).as_dict(),
    }
    by_order = _orders_of(judgments, judge, by_order)
    if {"AB", "BA"} <= set(by_order.columns):
        both = by_order[["AB", "BA"]].dropna()
        consistent = (both["AB"] == both["BA"]).astype(float).to_numpy()
        inconsistent = both[both["AB"] != both["BA"]]
        n_inc = len(inconsistent)
        favours_first = ((inconsistent["AB"] == "A") & (inconsistent["BA"] == "B")).sum()
        favours_second = ((inconsistent["AB"] == "B") & (inconsistent["BA"] == "A")).sum()
        out.update(
            {
                "swap_consistency": mean_estimate(consistent, boot, seed).as_dict(),
                "inconsistent": int(n_inc),
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
    decided = verdict[verdict.isin(["A", "B"])]
    la = pairs["len_a"].reindex(decided.index).to_numpy(dtype=float)
    lb = pairs["len_b"].reindex(decided.index).to_numpy(dtype=float)
    y = (decided == "A").to_numpy(dtype=float)
    unequal = la != lb
    longer_won = np.where(la > lb, y, 1 - y)[unequal]
    x, y = random_orientation(((la - lb) / np.maximum(la + lb, 1))[:, None], y, seed)
    coef = (logistic_estimates(x, y, REGRESSION_BOOT, seed) or [NAN_ESTIMATE])[0]
    return {"p_longer_preferred": mean_estimate(longer_won, boot, seed).as_dict(), "length_coefficient": coef.as_dict()}


STYLE_FEATURES = ("tokens", "headers", "lists", "bold")
STYLE_PROPERTIES = ("length (tokens)", "headers", "list items", "bold")  # analytics.properties' names


def style_counts(text: str) -> tuple[int, int, int, int]:
    """(tokens, headers, list items, bold spans) of a response: tokens over the whole text, the markdown counts
    outside fenced code (analytics.properties' definitions)."""
    return tuple(int(PROPERTIES[name].compute(text or "", "")) for name in STYLE_PROPERTIES)  # type: ignore[return-value]


def style_features(con: duckdb.DuckDBPyConnection, pairs: pd.DataFrame) -> pd.DataFrame:
    """Per pair: Arena's normalised differences (a - b) / (a + b + 1) of the four style counts, read from the
    stored response properties (computed at ingest), not from the texts."""
    ids = list(pd.unique(pd.concat([pairs["response_a_id"], pairs["response_b_id"]])))
    counts = response_properties(con, ids)[list(STYLE_PROPERTIES)].set_axis(list(STYLE_FEATURES), axis=1)
    a = counts.reindex(pairs["response_a_id"]).to_numpy(dtype=float)
    b = counts.reindex(pairs["response_b_id"]).to_numpy(dtype=float)
    return pd.DataFrame((a - b) / (a + b + 1), index=pairs.index, columns=list(STYLE_FEATURES))


def style_bias(verdict: pd.Series, features: pd.DataFrame, seed: int = DEFAULT_SEED) -> dict:
    decided = verdict[verdict.isin(["A", "B"])]
    if decided.empty:
        return {name: NAN_ESTIMATE.as_dict() for name in STYLE_FEATURES}
    x = features.reindex(decided.index).to_numpy(dtype=float)
    sd = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1)
    x, y = random_orientation(x, (decided == "A").to_numpy(dtype=float), seed)
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
    fam_a = pairs["model_a"].map(model_family)
    fam_b = pairs["model_b"].map(model_family)
    own_a, own_b = fam_a == family, fam_b == family
    mask = (own_a ^ own_b).reindex(verdict.index).fillna(False).astype(bool) & verdict.notna()
    if not mask.any():
        return {"note": f"no pair with exactly one response from the judge's family ({family})"}
    idx = verdict.index[mask]

    def own_rate(v: pd.Series) -> np.ndarray:
        own_is_a = own_a.reindex(idx).to_numpy()
        vv = v.reindex(idx)
        return np.where(vv == "tie", 0.5, np.where(own_is_a, vv == "A", vv == "B")).astype(float)

    judge_wr = own_rate(verdict)
    out = {"family": family, "judge_win_rate_own": mean_estimate(judge_wr, boot, seed).as_dict()}
    if ref is None or ref.reindex(idx).isna().all():
        out["note"] = "no reference verdicts on these pairs: DBG needs a reference"
        return out
    has_ref = ref.reindex(idx).notna().to_numpy()
    diff = (judge_wr - own_rate(ref))[has_ref]
    out["reference_win_rate_own"] = mean_estimate(own_rate(ref)[has_ref], boot, seed).as_dict()
    out["dbg"] = mean_estimate(diff, boot, seed).as_dict()
    return out


# ---------------------------------------------------------------------------------------------------------------
# leaderboards of generators


def win_probabilities(judgments: pd.DataFrame, judge: str) -> pd.Series:
    """Per pair, P(B preferred) from one judge: prob_b when given, else 1 / 0.5 / 0 (runs averaged)."""
    mine = judgments[(judgments["judge"] == judge) & (judgments["verdict"] != "unparsed")]
    p = mine["prob_b"].where(mine["prob_b"].notna(), mine["verdict"].map({"B": 1.0, "tie": 0.5, "A": 0.0}))
    return plain_strings(p.groupby(mine["pair_id"]).mean())


def raw_win_rates(p_b: pd.Series, pairs: pd.DataFrame, boot: int = DEFAULT_BOOT, seed: int = DEFAULT_SEED) -> dict:
    """Per generator: mean P(it is preferred) over the pairs it appears in (against any opponent)."""
    rows = pairs.reindex(p_b.index)
    model_a, model_b = rows["model_a"].to_numpy(object), rows["model_b"].to_numpy(object)
    p = p_b.to_numpy(dtype=float)
    a_side = model_a != model_b  # a generator against itself counts once, as B
    long = pd.DataFrame(
        {
            "model": np.concatenate([model_b, model_a[a_side]]),
            "value": np.concatenate([p, 1 - p[a_side]]),
        }
    ).dropna(subset=["model"])
    values = {model: part.to_numpy() for model, part in long.groupby("model", sort=True)["value"]}
    return {str(model): mean_estimate(v, boot, seed).as_dict() for model, v in values.items()}


def lc_win_rates(p_b: pd.Series, pairs: pd.DataFrame, seed: int = DEFAULT_SEED) -> dict:
    """AlpacaEval-style length-controlled win rate of each model against the baseline on side A (the 'minimal' GLM:
    logit P = theta + phi * tanh(dlen / sd(dlen)); LC = 100 * sigmoid(theta)), with soft labels."""
    rows = pairs.reindex(p_b.index)
    baselines = rows["model_a"].dropna().unique()
    if len(baselines) != 1:
        return {}
    out = {}
    for model, part in rows.groupby("model_b"):
        if model == baselines[0]:
            continue
        p = p_b.reindex(part.index).to_numpy()
        dlen = (part["len_b"] - part["len_a"]).to_numpy(dtype=float)
        sd = dlen.std() or 1.0
        x = np.column_stack([np.ones(len(p)), np.tanh(dlen / sd)])

        def fit(idx: np.ndarray, x: np.ndarray = x, p: np.ndarray = p) -> float:
            # soft labels: the log-likelihood with y = p equals alpaca_eval's two weighted rows per item
            theta = logistic_fit(x[idx], p[idx])[0]
            return float(1 / (1 + math.exp(-theta)))

        if len(p) <= WALD_ABOVE:
            out[str(model)] = bootstrap(fit, len(p), REGRESSION_BOOT, seed).as_dict()
        else:  # the Wald interval of theta, through the sigmoid (see stats.logistic_estimates)
            theta = logistic_estimates(x, p, REGRESSION_BOOT, seed)[0]
            out[str(model)] = Estimate(
                *(float(1 / (1 + math.exp(-t))) for t in (theta.value, theta.low, theta.high)), len(p)
            ).as_dict()
    return out


def bradley_terry(
    p_b: pd.Series, pairs: pd.DataFrame, style: pd.DataFrame | None = None, boot: int = 100, seed: int = DEFAULT_SEED
) -> dict:
    """Bradley-Terry ratings (Arena scale: 400 * beta + 1000) with optional style control; ties count 0.5."""
    rows = pairs.reindex(p_b.index)
    keep = rows["model_a"].notna() & rows["model_b"].notna() & (rows["model_a"] != rows["model_b"])
    rows, p = rows[keep], p_b[keep].to_numpy()
    models = sorted(set(rows["model_a"]) | set(rows["model_b"]))
    if len(models) < 2 or len(rows) == 0:
        return {}
    index = {m: i for i, m in enumerate(models)}
    x = np.zeros((len(rows), len(models)))
    x[np.arange(len(rows)), rows["model_a"].map(index).to_numpy()] = 1.0
    x[np.arange(len(rows)), rows["model_b"].map(index).to_numpy()] = -1.0
    style_cols: list[str] = []
    if style is not None:
        z = style.reindex(rows.index).to_numpy(dtype=float)
        sd = z.std(axis=0)
        z = (z - z.mean(axis=0)) / np.where(sd > 0, sd, 1)
        x = np.hstack([x, z])
        style_cols = list(style.columns)
    y_a = 1 - p  # P(A preferred)

    def fit(idx: np.ndarray) -> np.ndarray:
        return logistic_fit(x[idx], y_a[idx], ridge=0.5)  # Arena's L2 regulariser, reg = 0.5

    if len(rows) <= WALD_ABOVE:
        point = fit(np.arange(len(rows)))
        rng = np.random.default_rng(seed)
        draws = np.array([fit(rng.integers(0, len(rows), len(rows))) for _ in range(boot)])
        low, high = np.percentile(draws, [2.5, 97.5], axis=0)
    else:  # Wald intervals (see stats.logistic_estimates): one fit, not one per resample
        estimates = logistic_estimates(x, y_a, boot, seed, ridge=0.5)
        point, low, high = (np.array([getattr(e, k) for e in estimates]) for k in ("value", "low", "high"))
    scale = 400 / math.log(10)

    appearances = pd.concat([rows["model_a"], rows["model_b"]]).value_counts()  # a != b here: one per pair

    def rating(k: int) -> dict:
        return Estimate(
            point[k] * scale + 1000,
            low[k] * scale + 1000,
            high[k] * scale + 1000,
            int(appearances.get(models[k], 0)),
        ).as_dict()

    out = {"ratings": {m: rating(index[m]) for m in models}}
    if style_cols:
        out["style_coefficients"] = {
            c: Estimate(point[len(models) + k], low[len(models) + k], high[len(models) + k], len(rows)).as_dict()
            for k, c in enumerate(style_cols)
        }
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
    known = pairs["model_a"].notna() & pairs["model_b"].notna() & (pairs["model_a"] != pairs["model_b"])
    if known.any():
        label = [" vs ".join(sorted((str(a), str(b)))) for a, b in zip(pairs["model_a"], pairs["model_b"], strict=True)]
        out["model pair"] = pd.Series(label, index=pairs.index).where(known)
    return out


# each group column of group_columns, as SQL over pairs p with generators ra / rb
GROUP_SQL = {
    "subset": "p.subset",
    "category": "p.category",
    "category group": "split_part(p.category, '/', 1)",
    "model pair": "CASE WHEN ra.generator <> rb.generator "
    "THEN least(ra.generator, rb.generator) || ' vs ' || greatest(ra.generator, rb.generator) END",
}
# combine_runs's rule in SQL (JudgeBench's: +1 per A, -1 per B, 0 per tie; the sign decides), over a group of one
# judge's parsed judgments of one pair
COMBINED_VERDICT_SQL = "sign(sum(CASE verdict WHEN 'A' THEN 1 WHEN 'B' THEN -1 ELSE 0 END))"
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
) -> list[str]:
    """Pair ids behind a figure, in source order: with two judges, the pairs both decided (their verdicts combined
    over runs by JudgeBench's rule), those where they differ first (or only those); with one judge, its pairs
    judged in both orders whose verdicts differ (or all its pairs judged with a known order, differing first).
    Optionally within a subset and one group of a group column (GROUP_SQL). One SQL query: nothing of the dataset
    is loaded into memory."""
    args: dict = {"d": dataset, "j1": judge_1, "s": subset}  # DuckDB refuses parameters a query does not use
    if judge_2 is None:
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
    where = ["($s IS NULL OR p.subset = $s)"]
    if group_by in GROUP_SQL and group is not None:
        where.append(f"({GROUP_SQL[group_by]}) = $g")
        args["g"] = group
    if only_disagreements:
        where.append("v.differs")
    rows = con.execute(
        f"""SELECT v.pair_id FROM ({differs}) v JOIN pairs p USING (pair_id)
            JOIN responses ra ON ra.response_id = p.response_a_id
            JOIN responses rb ON rb.response_id = p.response_b_id
            WHERE {" AND ".join(where)}
            ORDER BY v.differs DESC, p.source_row, p.pair_id""",
        args,
    ).fetchall()
    return [r[0] for r in rows]


def disagreement_by_group(wide: pd.DataFrame, groups: pd.Series, min_n: int = 1) -> pd.DataFrame:
    """Long table (group, judge_1, judge_2, disagreement, n): share of shared pairs with different verdicts. Counted
    with one bincount per judge pair over the groups' codes."""
    codes = wide.apply(lambda col: col.map(CODE)).to_numpy(dtype=float)
    labels, names = pd.factorize(groups.reindex(wide.index).fillna("(none)"), sort=True)
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
    key = ("judges", dataset_version(con, dataset), dataset, reference, subset, boot, seed, leaderboards)
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
    judgments = load_judgments(con, dataset, subset)
    if judgments.empty:
        raise ValueError(f"dataset '{dataset}'{f' subset {subset!r}' if subset else ''} has no judgments")
    pairs = pair_table(judgments)
    wide = combine_runs(judgments)
    info = judgments.drop_duplicates("judge").set_index("judge")
    kinds = info["kind"].to_dict()
    kind_order = {"gold": 0, "human": 1, "crowd": 2, "llm": 3, "reward_model": 4}
    wide = wide[sorted(wide.columns, key=lambda j: (kind_order.get(kinds[j], 9), j.lower()))]
    ref_name, ref = reference_verdicts(wide, kinds, reference)
    coverage = judgments.groupby("judge")["pair_id"].unique()
    by_order = verdicts_by_order(judgments)
    style = style_features(con, pairs)
    judges = []
    for judge in wide.columns:
        entry: dict = {
            "judge": judge,
            "kind": kinds[judge],
            "model": info.at[judge, "judge_model"],
            "family": info.at[judge, "judge_family"],
            "pairs": len(coverage[judge]),
            "judgments": int((judgments["judge"] == judge).sum()),
            "unparsed": int(((judgments["judge"] == judge) & (judgments["verdict"] == "unparsed")).sum()),
        }
        if ref is not None and judge != ref_name:
            judge_ref = ref
            if ref_name == HUMAN_MAJORITY and kinds[judge] == "human":
                # a human is scored against the majority of the other humans, never against a vote it is part of
                others = [h for h, k in kinds.items() if k == "human" and h != judge and h in wide]
                judge_ref = majority(wide[others])
                entry["reference"] = "majority of the other humans"
            entry["accuracy"] = accuracy(wide[judge], judge_ref, pd.Index(coverage[judge]), boot, seed).as_dict()
            entry.update(accuracy_by_order(judgments, judge, judge_ref, boot, seed, by_order))
        entry["position"] = position_bias(judgments, judge, boot, seed, by_order)
        entry["length"] = length_bias(wide[judge], pairs, boot, seed)
        entry["style"] = style_bias(wide[judge], style, seed)
        entry["self_preference"] = self_preference(
            wide[judge], ref if judge != ref_name else None, pairs, entry["family"], boot, seed
        )
        judges.append(entry)
    groups = {}
    for column, values in group_columns(pairs).items():
        groups[column] = disagreement_by_group(wide, values).to_dict("records")
    report = {
        "dataset": dataset,
        "subset": subset,
        "reference": ref_name,
        "pairs": len(pairs),
        "conventions": CONVENTIONS,
        "judges": judges,
        "agreement": [a.as_dict() for a in agreement_matrix(wide, boot, seed)],
        "all_judges": group_agreement(wide, min(boot, 200), seed),
        "disagreement_by_group": groups,
    }
    if ref is not None:
        flips = {}
        decided = ref.isin(["A", "B"])
        for judge in wide.columns:
            if judge == ref_name:
                continue
            v = wide[judge][decided & wide[judge].isin(["A", "B"])]
            if len(v):
                flips[judge] = {"disagreement_with_reference": float((v != ref[v.index]).mean()), "n": len(v)}
        report["flip_rate_vs_reference"] = flips
    humans = [j for j in wide.columns if kinds[j] == "human"]
    if len(humans) >= 2:
        two_label = {}
        for h1, h2 in combinations(humans, 2):
            both = wide[h1].isin(["A", "B"]) & wide[h2].isin(["A", "B"])
            p = float((wide[h1][both] != wide[h2][both]).mean()) if both.any() else float("nan")
            two_label[f"{h1} | {h2}"] = {
                "disagreement": p,
                "flip_rate": flip_rate_from_two_labels(p),
                "n": int(both.sum()),
            }
        report["flip_rate_from_two_labels"] = two_label
    if leaderboards and pairs["model_a"].notna().any() and (pairs["model_a"] != pairs["model_b"]).any():
        boards = {}
        for judge in wide.columns:
            if kinds[judge] == "gold":
                continue
            p_b = win_probabilities(judgments, judge)
            boards[judge] = {
                "raw_win_rate": raw_win_rates(p_b, pairs, boot, seed),
                "lc_win_rate": lc_win_rates(p_b, pairs, seed),
                "bradley_terry_style": bradley_terry(p_b, pairs, style, boot=50, seed=seed),
            }
        report["leaderboards"] = boards
    return report


def bias_table(report: dict) -> pd.DataFrame:
    """One row per judge of a judges_report: accuracy, position, length, style and self-preference, as text with
    intervals (what the Judges page and the report show)."""
    fmt = format_estimate
    rows = []
    for j in report["judges"]:
        pos, length, style, selfp = j["position"], j["length"], j["style"], j["self_preference"]
        swap = pos.get("swap_consistency")
        rows.append(
            {
                "judge": j["judge"],
                "kind": j["kind"],
                "pairs": j["pairs"],
                "accuracy vs reference": fmt(j.get("accuracy")),
                "swap consistency": fmt(swap)
                if swap
                else ("one order only" if pos["orders_seen"] else "order unknown"),
                "inconsistent → first / second": (
                    f"{pos['inconsistent_favour_first']:.0%} / {pos['inconsistent_favour_second']:.0%}"
                    if pos.get("inconsistent_favour_first") is not None
                    else "–"
                ),
                "P(first shown wins)": fmt(pos["p_first_shown_wins"]),
                "P(longer preferred)": fmt(length["p_longer_preferred"]),
                "length coef.": fmt(length["length_coefficient"], False),
                **{f"style: {k}": fmt(v, False) for k, v in style.items()},
                "self-preference (DBG)": fmt(selfp.get("dbg")) if "dbg" in selfp else selfp.get("note", "–"),
                "unparsed": j["unparsed"],
            }
        )
    return pd.DataFrame(rows)
