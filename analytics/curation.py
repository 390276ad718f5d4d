"""Curation: the pairs behind a view become a training-ready preference dataset, through a recipe of named steps.

A recipe (a small TOML file) names the reference that decides the chosen side and the steps applied in order:

    reference = "gold"            # or "human majority", a judge's name, "agreement" (of `judges`), "auto"
    judges = []                   # for reference = "agreement": these judges must all pick the same side

    [[steps]]
    step = "drop_judge_splits"    # see STEPS for every step, its parameters and what it does
    min_judges = 2

Rows are the preference format training libraries read (`prompt`, `chosen`, `rejected`) plus the pair id, source
dataset, subset, category, generators, a `weight` and every judge's verdict relative to the chosen side
(`verdict: <judge>` = chosen / rejected / tie, null where it gave none). Pairs without a decisive reference verdict
(a tie, none, or judges of an agreement reference that differ) are left out and counted. Rows keep the dataset's
source order, and nothing random is drawn without a fixed seed, so the same store version and recipe give the same
bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from analytics import judges as J
from analytics.embed import EmbedSettings, load_vectors, text_id
from analytics.explorer import PairFilters, find_pairs
from analytics.maps import likely_flips, map_choices, pairs_of_items, regions, search_items
from analytics.selections import load_selection
from analytics.stats import share_estimate
from analytics.viewstate import parse_link

AUTO = "auto"
AGREEMENT = "agreement"


class CurationError(ValueError):
    """A recipe that cannot be applied (an unknown step or parameter, a judge or map the store lacks)."""


@dataclass(frozen=True)
class Step:
    step: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Recipe:
    reference: str = AUTO
    judges: tuple[str, ...] = ()
    steps: tuple[Step, ...] = ()

    @classmethod
    def from_toml(cls, text: str) -> Recipe:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise CurationError(f"the recipe is not valid TOML: {exc}") from exc
        unknown = set(data) - {"reference", "judges", "steps"}
        if unknown:
            raise CurationError(f"unknown recipe keys {sorted(unknown)}; a recipe has reference, judges and [[steps]]")
        steps = []
        for k, entry in enumerate(data.get("steps", []), 1):
            if not isinstance(entry, dict) or "step" not in entry:
                raise CurationError(f'step {k} has no `step = "..."`; steps: {", ".join(STEPS)}')
            name = str(entry["step"])
            if name not in STEPS:
                raise CurationError(f"step {k}: unknown step '{name}'; steps: {', '.join(STEPS)}")
            params = {key: value for key, value in entry.items() if key != "step"}
            extra = set(params) - set(STEPS[name].params)
            if extra:
                known = ", ".join(STEPS[name].params) or "none"
                raise CurationError(f"step {k} ({name}): unknown parameters {sorted(extra)}; it takes: {known}")
            steps.append(Step(name, params))
        judges = data.get("judges", [])
        if not isinstance(judges, list):
            raise CurationError("`judges` is a list of judge names")
        return cls(str(data.get("reference", AUTO)), tuple(str(j) for j in judges), tuple(steps))

    def to_toml(self) -> str:
        lines = [f"reference = {json.dumps(self.reference)}"]
        if self.judges:
            lines.append(f"judges = {json.dumps(list(self.judges))}")
        for s in self.steps:
            lines += ["", "[[steps]]", f"step = {json.dumps(s.step)}"]
            lines += [f"{key} = {json.dumps(value)}" for key, value in sorted(s.params.items())]
        return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------------------
# the candidate pairs


@dataclass
class Candidates:
    """The pairs in scope with everything the steps read. `frame`: one row per pair (index pair_id, source order)
    with texts, generators, lengths, the reference's verdict ('A' / 'B' / other) and weight; `verdicts`: the
    dataset's aggregated verdicts (analytics.verdicts) on the same rows."""

    dataset: str
    frame: pd.DataFrame
    verdicts: J.Verdicts
    reference: str
    reference_judges: list[str]  # the judges the reference is made of (left out of "agrees with chosen")
    con: duckdb.DuckDBPyConnection


def _reference(verdicts: J.Verdicts, recipe: Recipe) -> tuple[str, pd.Series, list[str]]:
    """(the reference's name, its verdict per pair, the judges it is made of)."""
    wide = verdicts.wide
    if recipe.reference == AGREEMENT:
        if len(recipe.judges) < 2:
            raise CurationError('reference = "agreement" needs `judges`: two or more judge names')
        missing = [j for j in recipe.judges if j not in wide]
        if missing:
            raise CurationError(f"no judge {missing} in this dataset; judges: {', '.join(wide.columns)}")
        chosen = wide[list(recipe.judges)]
        same = chosen.nunique(axis=1, dropna=False) == 1
        return f"agreement of {', '.join(recipe.judges)}", chosen.iloc[:, 0].where(same), list(recipe.judges)
    try:
        name, ref = J.reference_verdicts(wide, verdicts.kinds(), None if recipe.reference == AUTO else recipe.reference)
    except ValueError as exc:
        raise CurationError(str(exc)) from exc
    if ref is None:
        raise CurationError("this dataset has no gold or human verdicts: name a judge as the reference")
    kinds = verdicts.kinds()
    members = [j for j in wide.columns if kinds[j] == "human"] if name == J.HUMAN_MAJORITY else [str(name)]
    return str(name), ref, members


def candidates(
    con: duckdb.DuckDBPyConnection, dataset: str, recipe: Recipe, pair_ids: list[str] | None = None
) -> Candidates:
    """The dataset's pairs (or only `pair_ids`) with texts and the reference's verdict, in source order."""
    verdicts = J.load_verdicts(con, dataset, pair_ids=pair_ids)
    if len(verdicts) == 0:
        raise CurationError(f"dataset '{dataset}' has no judged pairs in this view")
    name, ref, members = _reference(verdicts, recipe)
    pairs = verdicts.pairs
    frame = pd.DataFrame(
        {
            "subset": pairs["subset"],
            "category": pairs["category"],
            "model_a": pairs["model_a"].astype(object).where(pairs["model_a"].notna(), None),
            "model_b": pairs["model_b"].astype(object).where(pairs["model_b"].notna(), None),
            "len_a": pairs["len_a"],
            "len_b": pairs["len_b"],
            "reference": ref,
            "weight": 1.0,
        },
        index=pairs.index,
    )
    return Candidates(dataset, frame, verdicts, name, members, con)


def texts_of(con: duckdb.DuckDBPyConnection, pair_ids: list[str], columns: str = "prompt, context, a, b") -> pa.Table:
    """The texts of the pairs, in the order given, as Arrow (a million pairs' texts never become Python strings):
    any of prompt, context, a, b."""
    select = {
        "prompt": "q.text AS prompt",
        "context": "q.context AS context",
        "a": "ra.text AS a",
        "b": "rb.text AS b",
    }
    wanted = [c.strip() for c in columns.split(",")]
    _wanted = pa.table({"pair_id": pa.array(pair_ids, pa.string()), "pos": np.arange(len(pair_ids))})
    return con.sql(
        f"""SELECT {", ".join(select[c] for c in wanted)}
            FROM _wanted w JOIN pairs p USING (pair_id) JOIN prompts q USING (prompt_id)
            JOIN responses ra ON ra.response_id = p.response_a_id
            JOIN responses rb ON rb.response_id = p.response_b_id ORDER BY w.pos"""
    ).to_arrow_table()


# ---------------------------------------------------------------------------------------------------------------
# steps


@dataclass(frozen=True)
class StepKind:
    run: Callable[[Candidates, pd.DataFrame, dict], pd.DataFrame]  # (candidates, rows kept so far, params) -> kept
    doc: str
    params: dict  # name -> default


def _judges_of(c: Candidates, params: dict) -> list[str]:
    names = list(params.get("judges") or [j for j in c.verdicts.names if j != c.reference])
    missing = [j for j in names if j not in c.verdicts.names]
    if missing:
        raise CurationError(f"no judge {missing} in {c.dataset}; judges: {', '.join(c.verdicts.names)}")
    return names


def _drop_judge_splits(c: Candidates, rows: pd.DataFrame, params: dict) -> pd.DataFrame:
    judges = _judges_of(c, params)
    wide = c.verdicts.wide.loc[rows.index, judges]
    decided = wide.notna().sum(axis=1)
    split = (decided >= int(params.get("min_judges", 2))) & (wide.nunique(axis=1) > 1)
    return rows[~split.to_numpy()]


def _drop_inconsistent(c: Candidates, rows: pd.DataFrame, params: dict) -> pd.DataFrame:
    judge = params.get("judge")
    if not judge:
        raise CurationError("drop_inconsistent needs `judge`: the judge whose two orders must agree")
    orders = c.verdicts.orders(str(judge)) if judge in c.verdicts.names else None
    if orders is None:
        raise CurationError(f"no judge '{judge}' in {c.dataset}; judges: {', '.join(c.verdicts.names)}")
    if not {"AB", "BA"} <= set(orders.columns):
        raise CurationError(f"'{judge}' saw only one presentation order in {c.dataset}: nothing to compare")
    both = orders.dropna()
    inconsistent = both.index[both["AB"].to_numpy() != both["BA"].to_numpy()]
    return rows[~rows.index.isin(inconsistent)]


def _drop_near_duplicates(c: Candidates, rows: pd.DataFrame, params: dict) -> pd.DataFrame:
    threshold = float(params.get("threshold", 0.95))
    settings = EmbedSettings(**({"model": params["model"]} if params.get("model") else {}))
    # distinct prompt texts, in source order: several pairs of one prompt are not duplicates of each other
    row_prompts = pd.Series(texts_of(c.con, list(rows.index), "prompt").column("prompt").to_pylist()).fillna("")
    prompts = list(dict.fromkeys(row_prompts))
    try:
        vectors = load_vectors(c.con, [text_id(t) for t in prompts], settings)
    except LookupError as exc:
        raise CurationError(f"drop_near_duplicates needs the prompts' embeddings: {exc}") from exc
    vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    keep = np.ones(len(prompts), dtype=bool)
    kept = np.zeros((0, vectors.shape[1] if len(vectors) else 0), dtype=vectors.dtype)
    # greedy in source order, a block at a time: a prompt goes when it is within the threshold of one kept before it
    for start in range(0, len(prompts), 1024):
        block = vectors[start : start + 1024]
        near_kept = (block @ kept.T).max(axis=1) >= threshold if len(kept) else np.zeros(len(block), bool)
        within = block @ block.T
        for k in range(len(block)):
            if near_kept[k]:
                keep[start + k] = False
                continue
            earlier = np.flatnonzero(keep[start : start + k])
            if len(earlier) and within[k, earlier].max() >= threshold:
                keep[start + k] = False
        kept = np.vstack([kept, block[keep[start : start + len(block)]]])
    dropped = {t for t, k in zip(prompts, keep, strict=True) if not k}
    return rows[~row_prompts.isin(dropped).to_numpy()]


def _map_of(c: Candidates, params: dict) -> str:
    """The map a step reads: `map` (its id, or its name on the Map page) when given, else the page's default."""
    return _resolve_map(c.con, c.dataset, params.get("map"))


def _resolve_map(con: duckdb.DuckDBPyConnection, dataset: str, wanted: object) -> str:
    choices = map_choices(con, dataset)
    if not choices:
        raise CurationError(f"this view needs a map of {dataset}: run `prefatlas map --dataset {dataset}` first")
    if not wanted:
        return next(iter(choices.values()))
    if str(wanted) in choices:
        return choices[str(wanted)]
    if str(wanted) in choices.values():
        return str(wanted)
    raise CurationError(f"no map '{wanted}' of {dataset}; maps: {', '.join(choices)}")


def _pair_items(c: Candidates, map_id: str) -> pd.Series:
    """Per pair of the view: its item on the map (the pair itself, or its prompt on a prompts map)."""
    space = c.con.execute("SELECT space FROM maps WHERE map_id = $m", {"m": map_id}).fetchone()
    if space is None:
        raise CurationError(f"no map '{map_id}' in the store")
    if space[0] != "prompts":
        return pd.Series(c.frame.index, index=c.frame.index)
    _wanted = pa.table({"pair_id": pa.array(list(c.frame.index), pa.string())})
    items = c.con.execute("SELECT pair_id, prompt_id FROM _wanted JOIN pairs USING (pair_id)").df()
    return items.set_index("pair_id")["prompt_id"].reindex(c.frame.index)


def _drop_likely_flips(c: Candidates, rows: pd.DataFrame, params: dict) -> pd.DataFrame:
    map_id = _map_of(c, params)
    flips = likely_flips(c.con, map_id)
    items = _pair_items(c, map_id).reindex(rows.index)
    flagged = items.map(flips).fillna(False).astype(bool).to_numpy()
    return rows[~flagged]


def _balance_length(c: Candidates, rows: pd.DataFrame, params: dict) -> pd.DataFrame:
    chosen_a = rows["reference"] == "A"
    len_chosen = np.where(chosen_a, rows["len_a"], rows["len_b"])
    len_rejected = np.where(chosen_a, rows["len_b"], rows["len_a"])
    longer, shorter = len_chosen > len_rejected, len_chosen < len_rejected
    surplus = int(longer.sum() - shorter.sum())
    if surplus == 0:
        return rows
    pool = np.flatnonzero(longer if surplus > 0 else shorter)
    # which pairs go is fixed by a hash of their ids and the seed: the same recipe drops the same pairs
    seed = str(params.get("seed", 0))
    keys = [hashlib.sha256(f"{seed}:{pid}".encode()).hexdigest() for pid in rows.index[pool]]
    drop = pool[np.argsort(keys, kind="stable")[: abs(surplus)]]
    keep = np.ones(len(rows), dtype=bool)
    keep[drop] = False
    return rows[keep]


def _reweight_clusters(c: Candidates, rows: pd.DataFrame, params: dict) -> pd.DataFrame:
    map_id = _map_of(c, params)
    cap = float(params.get("max_share", 0.0) or 0.0)
    upweight = bool(params.get("upweight_under_represented", True))
    max_weight = float(params.get("max_weight", 5.0))
    items = _pair_items(c, map_id).reindex(rows.index)
    clusters = c.con.execute(
        "SELECT item_id, cluster FROM map_points WHERE map_id = $m AND source = 'dataset'", {"m": map_id}
    ).df()
    cluster = items.map(clusters.set_index("item_id")["cluster"]).to_numpy()
    weight = rows["weight"].to_numpy(dtype=float).copy()
    if cap > 0:
        known = ~pd.isna(cluster)
        shares = pd.Series(cluster[known]).value_counts(normalize=True)
        for value, share in shares.items():
            if share > cap:
                weight[cluster == value] *= cap / share
    if upweight:
        table = regions(c.con, map_id)
        if "ratio" in table:
            for _, r in table.iterrows():
                if r["ratio"] and r["ratio"] > 0 and r["ratio_high"] < 1:  # reliably under-represented
                    weight[cluster == r["cluster"]] *= min(max_weight, 1.0 / r["ratio"])
    return rows.assign(weight=weight)


STEPS: dict[str, StepKind] = {
    "drop_judge_splits": StepKind(
        _drop_judge_splits,
        "Drop pairs the judges split on: at least `min_judges` judges decided and not all alike (`judges`: which "
        "ones; default every judge but the reference).",
        {"min_judges": 2, "judges": []},
    ),
    "drop_inconsistent": StepKind(
        _drop_inconsistent,
        "Drop pairs `judge` answers differently when the two responses swap places (its AB and BA verdicts differ).",
        {"judge": None},
    ),
    "drop_near_duplicates": StepKind(
        _drop_near_duplicates,
        "Drop pairs whose prompt is a near duplicate of an earlier kept one: cosine similarity of the cached prompt "
        "embeddings >= `threshold` (`model`: the embedding model; default the store's default).",
        {"threshold": 0.95, "model": None},
    ),
    "drop_likely_flips": StepKind(
        _drop_likely_flips,
        "Drop likely label flips: pairs whose judge disagreement stands far above their map neighbourhood's "
        "(the Map page's kNN-smoothed rule; `map`: which map, default the dataset's newest).",
        {"map": None},
    ),
    "balance_length": StepKind(
        _balance_length,
        "Drop pairs (fixed by a hash of their ids and `seed`) where the chosen side is the longer, or the shorter, "
        "until both are equally many: the set no longer teaches that longer wins.",
        {"seed": 0},
    ),
    "reweight_clusters": StepKind(
        _reweight_clusters,
        "Weights from the map's clusters: clusters holding more than `max_share` of the pairs are weighted down to "
        "it; clusters reliably under-represented against the map's reference (ratio interval below 1) are weighted "
        "up by 1 / ratio, at most `max_weight`.",
        {"max_share": 0.0, "upweight_under_represented": True, "max_weight": 5.0, "map": None},
    ),
}


# ---------------------------------------------------------------------------------------------------------------
# applying a recipe


@dataclass
class Curated:
    table: pa.Table  # the exported rows
    steps: list[dict]  # per step: name, params, pairs before / dropped / after
    before: pd.DataFrame  # decisive candidate rows before the steps
    after: pd.DataFrame  # rows kept
    reference: str
    undecided: int  # candidates without a decisive reference verdict, left out
    wide: pd.DataFrame  # every judge's verdict (A / tie / B) on the candidate pairs
    reference_judges: list[str]


def curate(con: duckdb.DuckDBPyConnection, dataset: str, recipe: Recipe, pair_ids: list[str] | None = None) -> Curated:
    c = candidates(con, dataset, recipe, pair_ids)
    decisive = c.frame["reference"].isin(["A", "B"]).to_numpy()
    rows = c.frame[decisive]
    before = rows
    log = [
        {
            "step": "decisive reference",
            "params": {"reference": c.reference},
            "before": len(c.frame),
            "dropped": int((~decisive).sum()),
            "after": len(rows),
        }
    ]
    for step in recipe.steps:
        kind = STEPS[step.step]
        params = {**kind.params, **step.params}
        after = kind.run(c, rows, params)
        log.append(
            {
                "step": step.step,
                "params": step.params,
                "before": len(rows),
                "dropped": len(rows) - len(after),
                "after": len(after),
            }
        )
        rows = after
    return Curated(
        _rows_table(c, rows),
        log,
        before,
        rows,
        c.reference,
        int((~decisive).sum()),
        c.verdicts.wide,
        c.reference_judges,
    )


def _rows_table(c: Candidates, rows: pd.DataFrame) -> pa.Table:
    chosen_a = (rows["reference"] == "A").to_numpy()
    texts = texts_of(c.con, list(rows.index))
    pick_a = pa.array(chosen_a, pa.bool_())
    columns: dict[str, pa.Array] = {
        "prompt": texts.column("prompt"),
        "chosen": pc.if_else(pick_a, texts.column("a").combine_chunks(), texts.column("b").combine_chunks()),
        "rejected": pc.if_else(pick_a, texts.column("b").combine_chunks(), texts.column("a").combine_chunks()),
        "context": texts.column("context"),
        "pair_id": pa.array(list(rows.index), pa.string()),
        "dataset": pa.array([c.dataset] * len(rows), pa.string()),
        "subset": pa.array(rows["subset"].tolist(), pa.string()),
        "category": pa.array(rows["category"].tolist(), pa.string()),
        "chosen_generator": pa.array(np.where(chosen_a, rows["model_a"], rows["model_b"]).tolist(), pa.string()),
        "rejected_generator": pa.array(np.where(chosen_a, rows["model_b"], rows["model_a"]).tolist(), pa.string()),
        "chosen_was": pa.array(np.where(chosen_a, "A", "B").tolist(), pa.string()),
        "reference": pa.array([c.reference] * len(rows), pa.string()),
        "weight": pa.array(rows["weight"].to_numpy(dtype=float), pa.float64()),
    }
    wide = c.verdicts.wide.loc[rows.index]
    for judge in wide.columns:
        v = wide[judge].to_numpy(dtype=object)
        relative = np.where(
            pd.isna(v), None, np.where(v == "tie", "tie", np.where((v == "A") == chosen_a, "chosen", "rejected"))
        )
        columns[f"verdict: {judge}"] = pa.array(relative.tolist(), pa.string())
    return pa.table(columns)


# ---------------------------------------------------------------------------------------------------------------
# before / after


def before_after(curated: Curated) -> pd.DataFrame:
    """What the recipe changed, with 95% intervals: pairs and their total weight, P(chosen is the longer response)
    (pairs of unequal length), and the agreement with the chosen side of each judge not part of the reference (its
    decided verdicts), before the steps (every pair with a decisive reference) and after them."""
    measures: dict[str, dict[str, str]] = {}
    for label, frame in (("before", curated.before), ("after", curated.after)):
        chosen_a = (frame["reference"] == "A").to_numpy()
        len_c = np.where(chosen_a, frame["len_a"], frame["len_b"])
        len_r = np.where(chosen_a, frame["len_b"], frame["len_a"])
        unequal = len_c != len_r
        measures.setdefault("pairs", {})[label] = f"{len(frame):,}"
        measures.setdefault("total weight", {})[label] = f"{frame['weight'].sum():,.1f}"
        longer = share_estimate(int((len_c > len_r)[unequal].sum()), int(unequal.sum()))
        measures.setdefault("P(chosen is longer)", {})[label] = longer.fmt(True)
        wide = curated.wide.loc[frame.index]
        for judge in wide.columns:
            if judge in curated.reference_judges:  # a judge agrees with a vote it is part of
                continue
            v = wide[judge].to_numpy(dtype=object)
            decided = np.isin(v, ["A", "B"])
            agrees = share_estimate(int(((v == "A") == chosen_a)[decided].sum()), int(decided.sum()))
            measures.setdefault(f"{judge} agrees with chosen", {})[label] = agrees.fmt(True)
    return pd.DataFrame([{"": name, **values} for name, values in measures.items()])


def per_category(curated: Curated) -> pd.DataFrame:
    """Pairs per category before and after."""
    before = curated.before["category"].fillna("(none)").value_counts()
    after = curated.after["category"].fillna("(none)").value_counts()
    out = pd.DataFrame({"before": before, "after": after}).fillna(0).astype(int)
    return out.sort_values("before", ascending=False).rename_axis("category").reset_index()


def steps_table(curated: Curated) -> pd.DataFrame:
    """Per step: its parameters and the pairs before it, dropped by it, after it."""
    return pd.DataFrame(
        [
            {
                "step": step["step"],
                "parameters": ", ".join(f"{k}={v}" for k, v in step["params"].items()) or "–",
                "before": step["before"],
                "dropped": step["dropped"],
                "after": step["after"],
            }
            for step in curated.steps
        ]
    )


def markdown_table(frame: pd.DataFrame) -> str:
    """A frame as a Markdown table (cells' pipes escaped)."""

    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    header = "| " + " | ".join(cell(c) for c in frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


# ---------------------------------------------------------------------------------------------------------------
# files


def parquet_bytes(table: pa.Table) -> bytes:
    """The Parquet file of an export: zstd, no statistics that vary, nothing time-dependent, so equal tables give
    equal bytes."""
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd", write_statistics=False)
    return buffer.getvalue()


def jsonl_bytes(table: pa.Table) -> bytes:
    lines = []
    for row in table.to_pylist():
        lines.append(json.dumps(row, ensure_ascii=False, allow_nan=False, default=_plain))
    return ("\n".join(lines) + ("\n" if lines else "")).encode()


def _plain(value: object) -> object:
    if isinstance(value, float) and math.isnan(value):
        return None
    raise TypeError(type(value).__name__)


# ---------------------------------------------------------------------------------------------------------------
# the pairs behind a link, the card, the files


@dataclass(frozen=True)
class Scope:
    dataset: str
    pair_ids: list[str] | None  # None: every pair of the dataset
    description: str
    link: str | None = None


def scope_of_link(con: duckdb.DuckDBPyConnection, link: str, base_path: str = "/") -> Scope:
    """The pairs a prefatlas link shows: the Pairs page's filters, the Map page's selection, region or search, the
    Judges page's opened cell; any other view (and a view with nothing picked) is the whole dataset or subset."""
    page, params = parse_link(link, base_path)
    dataset = str(params["dataset"])
    if page == "pairs":
        filters = PairFilters.from_params(params)
        ids = find_pairs(con, dataset, filters)["pair_id"].tolist()
        return Scope(dataset, ids, f"the Pairs page's filter ({len(ids):,} pairs)", link)
    if page == "map" and (params.get("sel") or params.get("region") not in (None, "(none)") or params.get("q")):
        return _map_scope(con, dataset, params, link)
    if page == "judges" and params.get("cell") not in (None, "(none)"):
        j1, _, j2 = str(params["cell"]).partition(" ~ ")
        subset = params.get("subset") if params.get("subset") not in (None, "(all)") else None
        only = str(params.get("only", "true")).lower() != "false"
        group = params.get("group") or None
        inside = params.get("in") if params.get("in") not in (None, "(all)") else None
        ids = J.pairs_behind(con, dataset, j1, j2 or None, subset, group, inside, only)
        return Scope(dataset, ids, f"the pairs behind {params['cell']} ({len(ids):,})", link)
    subset = params.get("subset") if params.get("subset") not in (None, "(all)") else None
    if subset:
        ids = [
            r[0]
            for r in con.execute(
                "SELECT pair_id FROM pairs WHERE dataset = $d AND subset = $s", {"d": dataset, "s": subset}
            ).fetchall()
        ]
        return Scope(dataset, ids, f"subset {subset}", link)
    return Scope(dataset, None, "every pair of the dataset", link)


def _map_scope(con: duckdb.DuckDBPyConnection, dataset: str, params: dict, link: str) -> Scope:
    map_id = _resolve_map(con, dataset, params.get("map"))  # the link names the map as the page does
    space = con.execute("SELECT space FROM maps WHERE map_id = $m", {"m": map_id}).fetchone()[0]
    items = con.execute(
        "SELECT item_id, cluster FROM map_points WHERE map_id = $m AND source = 'dataset'", {"m": map_id}
    ).df()
    chosen = set(items["item_id"])
    parts = []
    if params.get("sel"):
        selection = load_selection(str(params["sel"]))
        if selection is None:
            raise CurationError("the link's map selection is not available here (selections live in the cache)")
        chosen &= set(selection["items"])
        parts.append(f"{len(selection['items'])} points selected on the map")
    elif params.get("region") not in (None, "(none)"):
        cluster = int(str(params["region"]).split(":")[0])
        chosen &= set(items.loc[items["cluster"] == cluster, "item_id"])
        parts.append(f"region {params['region']}")
    if params.get("q"):  # the page's own search, so an export holds what the page listed
        chosen &= search_items(con, map_id, space, str(params["q"]))
        parts.append(f"search “{params['q']}”")
    ids = pairs_of_items(con, dataset, space, sorted(chosen))
    return Scope(dataset, ids, f"the map's {' · '.join(parts)} ({len(ids):,} pairs)", link)


def dataset_card(con: duckdb.DuckDBPyConnection, curated: Curated, scope: Scope, recipe: Recipe) -> str:
    """A Markdown card for an export: its source with licence and commit (a warning when the licence is
    non-commercial), the view it came from, the recipe, and what each step did."""
    row = con.execute(
        "SELECT title, source, licence, licence_note, version FROM datasets WHERE name = $d", {"d": scope.dataset}
    ).fetchone()
    title, source, licence, note, version = row if row else (scope.dataset, None, None, None, None)
    lines = [
        f"# Curated preference pairs from {title or scope.dataset}",
        "",
        f"{curated.table.num_rows:,} pairs in the preference format (`prompt`, `chosen`, `rejected`), chosen by "
        f"{curated.reference}; exported by prefatlas from {scope.description}.",
        "",
        "## Source",
        "",
        f"- dataset `{scope.dataset}` (store version {version}): {source or 'source not recorded'}",
        f"- licence: {licence or 'not recorded'}" + (f" ({note})" if note else ""),
    ]
    if is_non_commercial(licence, note):
        lines += ["", f"**Non-commercial source**: {licence}. This export may be used for research only."]
    if scope.link:
        lines += [f"- view: {scope.link}"]
    lines += [
        "",
        "## Recipe",
        "",
        "```toml",
        recipe.to_toml().rstrip(),
        "```",
        "",
        "## Steps",
        "",
        "| step | parameters | before | dropped | after |",
        "|---|---|---|---|---|",
    ]
    for step in curated.steps:
        params = ", ".join(f"{k}={v}" for k, v in step["params"].items()) or "–"
        lines.append(f"| {step['step']} | {params} | {step['before']:,} | {step['dropped']:,} | {step['after']:,} |")
    lines += ["", "## Before / after", "", markdown_table(before_after(curated)), ""]
    return "\n".join(lines)


def is_non_commercial(licence: str | None, note: str | None = None) -> bool:
    text = f"{licence or ''} {note or ''}".lower()
    return "-nc" in text or " nc " in f" {text} " or "non-commercial" in text or "noncommercial" in text


@dataclass
class Export:
    data: bytes  # the file: Parquet or JSON Lines
    card: str  # its dataset card (Markdown)
    curated: Curated
    non_commercial: bool


def export(con: duckdb.DuckDBPyConnection, scope: Scope, recipe: Recipe, fmt: str = "parquet") -> Export:
    """The file a view and a recipe give (what `prefatlas export` writes and the dashboard's download holds)."""
    if fmt not in ("parquet", "jsonl"):
        raise CurationError(f"export format '{fmt}': choose parquet or jsonl")
    curated = curate(con, scope.dataset, recipe, scope.pair_ids)
    data = parquet_bytes(curated.table) if fmt == "parquet" else jsonl_bytes(curated.table)
    card = dataset_card(con, curated, scope, recipe)
    return Export(data, card, curated, is_non_commercial(*licence_of(con, scope.dataset)))


def licence_of(con: duckdb.DuckDBPyConnection, dataset: str) -> tuple[str | None, str | None]:
    row = con.execute("SELECT licence, licence_note FROM datasets WHERE name = $d", {"d": dataset}).fetchone()
    return (row[0], row[1]) if row else (None, None)


def export_name(curated: Curated) -> str:
    """A short name for an export's files: a hash of its pairs, chosen sides and weights (the same view and recipe
    on the same store version give the same name)."""
    parts = [curated.table.column(c).to_pylist() for c in ("pair_id", "chosen_was", "weight")]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:12]
