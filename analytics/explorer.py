"""The Pairs explorer's query: filter a dataset's pairs by category, generator, a judge's verdict, judge
disagreement, length, a property value and text, then sort."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from analytics import judges as J
from analytics.properties import PROPERTIES_SOURCE

SORTS = ("source order", "longest first", "shortest first", "most disputed", "random")
VERDICT_FILTERS = ("any", "A", "B", "tie", "unparsed")


@dataclass
class PairFilters:
    categories: list[str] = field(default_factory=list)
    generators: list[str] = field(default_factory=list)
    judge: str | None = None
    verdict: str = "any"
    split: bool = False  # only pairs where the judges disagree
    min_len: int = 0  # characters of the longer response
    max_len: int = 0  # 0 = no upper bound
    prop: str | None = None
    prop_min: float | None = None  # either response has prop >= prop_min
    text: str = ""
    sort: str = "source order"

    @classmethod
    def from_params(cls, params: dict) -> PairFilters:
        """From link parameters (strings); invalid numbers fall back to no filter."""

        def number(key: str, default: float) -> float:
            try:
                return float(params.get(key, default))
            except (TypeError, ValueError):
                return default

        prop_min = params.get("prop_min")
        return cls(
            categories=list(params.get("category") or []),
            generators=list(params.get("generator") or []),
            judge=params.get("judge") or None,
            verdict=str(params.get("verdict", "any")),
            split=str(params.get("split", "false")).lower() == "true",
            min_len=int(number("min_len", 0)),
            max_len=int(number("max_len", 0)),
            prop=params.get("prop") or None,
            prop_min=number("prop_min", 0.0) if prop_min not in (None, "") else None,
            text=str(params.get("q", "")),
            sort=str(params.get("sort", "source order")),
        )


def find_pairs(con: duckdb.DuckDBPyConnection, dataset: str, f: PairFilters, seed: int = 0) -> pd.DataFrame:
    """Matching pairs (pair_id, subset, category, generators, lengths, verdicts given, a prompt preview)."""
    where = ["p.dataset = $d"]
    args: dict = {"d": dataset}
    if f.categories:
        where.append("list_contains($cats, p.category)")
        args["cats"] = f.categories
    if f.generators:
        where.append("(list_contains($gens, ra.generator) OR list_contains($gens, rb.generator))")
        args["gens"] = f.generators
    if f.judge and f.verdict in VERDICT_FILTERS and f.verdict != "any":
        where.append(
            "EXISTS (SELECT 1 FROM judgments x JOIN judges j USING (judge_id) WHERE x.pair_id = p.pair_id "
            "AND j.name = $judge AND x.verdict = $verdict)"
        )
        args.update(judge=f.judge, verdict=f.verdict)
    if f.min_len > 0:
        where.append("greatest(length(ra.text), length(rb.text)) >= $min_len")
        args["min_len"] = f.min_len
    if f.max_len > 0:
        where.append("greatest(length(ra.text), length(rb.text)) <= $max_len")
        args["max_len"] = f.max_len
    if f.prop and f.prop_min is not None:
        where.append(
            "EXISTS (SELECT 1 FROM properties x WHERE x.subject_id IN (p.response_a_id, p.response_b_id) "
            "AND x.name = $prop AND x.value >= $prop_min)"
        )
        args.update(prop=f.prop, prop_min=f.prop_min)
    if f.text:
        # contains() on lower-cased text: no wildcard characters to escape, '%' and '_' mean themselves
        where.append("(contains(lower(q.text), $q) OR contains(lower(ra.text), $q) OR contains(lower(rb.text), $q))")
        args["q"] = f.text.lower()
    frame = con.execute(
        f"""SELECT p.pair_id, p.subset, p.category, ra.generator AS model_a, rb.generator AS model_b,
                   length(ra.text) AS len_a, length(rb.text) AS len_b, left(q.text, 160) AS prompt, p.source_row,
                   (SELECT count(DISTINCT x.verdict) FROM judgments x WHERE x.pair_id = p.pair_id
                    AND x.verdict IN ('A', 'B', 'tie')) AS distinct_verdicts
            FROM pairs p JOIN prompts q USING (prompt_id)
            JOIN responses ra ON ra.response_id = p.response_a_id
            JOIN responses rb ON rb.response_id = p.response_b_id
            WHERE {" AND ".join(where)}""",
        args,
    ).df()
    if f.split and not frame.empty:
        judgments = J.load_judgments(con, dataset)
        wide = J.combine_runs(judgments[judgments["pair_id"].isin(frame["pair_id"])])
        split_ids = wide.index[(wide.nunique(axis=1) > 1) & (wide.notna().sum(axis=1) >= 2)]
        frame = frame[frame["pair_id"].isin(split_ids)]
    if f.sort == "longest first":
        frame = frame.assign(_k=frame[["len_a", "len_b"]].max(axis=1)).sort_values("_k", ascending=False)
    elif f.sort == "shortest first":
        frame = frame.assign(_k=frame[["len_a", "len_b"]].max(axis=1)).sort_values("_k")
    elif f.sort == "most disputed":
        frame = frame.sort_values(["distinct_verdicts", "source_row"], ascending=[False, True])
    elif f.sort == "random":
        frame = frame.iloc[np.random.default_rng(seed).permutation(len(frame))]
    else:
        frame = frame.sort_values(["source_row", "pair_id"])
    return frame.drop(columns=["_k"], errors="ignore").reset_index(drop=True)


def filter_options(con: duckdb.DuckDBPyConnection, dataset: str) -> dict[str, list[str]]:
    """The values the filters can take in a dataset."""
    one = lambda sql: [r[0] for r in con.execute(sql, {"d": dataset}).fetchall() if r[0] is not None]  # noqa: E731
    return {
        "categories": one("SELECT DISTINCT category FROM pairs WHERE dataset = $d ORDER BY 1"),
        "generators": one("""SELECT DISTINCT r.generator FROM pairs p JOIN responses r
                             ON r.response_id IN (p.response_a_id, p.response_b_id) WHERE p.dataset = $d ORDER BY 1"""),
        "judges": one("""SELECT DISTINCT j.name FROM judgments x JOIN judges j USING (judge_id)
                         WHERE x.dataset = $d ORDER BY 1"""),
        "properties": [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT name FROM properties WHERE source = $s OR source LIKE 'import:%' ORDER BY 1",
                {"s": PROPERTIES_SOURCE},
            ).fetchall()
        ],
    }
