"""The Pairs explorer's query: filter a dataset's pairs by category, generator, a judge's verdict, judge
disagreement, length, a property value and text, then sort."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pandas as pd

from analytics.properties import COLUMNS, PROPERTIES_SOURCE
from analytics.verdicts import COMBINED_VERDICT_SQL

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


_ORDER_BY = {
    "source order": "p.source_row, p.pair_id",
    "longest first": "greatest(len_a, len_b) DESC, p.source_row, p.pair_id",
    "shortest first": "greatest(len_a, len_b), p.source_row, p.pair_id",
    "most disputed": "distinct_verdicts DESC, p.source_row, p.pair_id",
    "random": "hash(p.pair_id, $seed), p.pair_id",
}


def find_pairs(
    con: duckdb.DuckDBPyConnection,
    dataset: str,
    f: PairFilters,
    seed: int = 0,
    limit: int | None = None,
    offset: int = 0,
) -> pd.DataFrame:
    """Matching pairs (pair_id, subset, category, generators, lengths, distinct verdicts, a prompt preview), sorted,
    one page of them when `limit` is given; the column `matches` holds how many pairs match in all. One SQL query:
    filters, sort and paging all run in DuckDB, so a page of a million pairs reads only its own rows' texts."""
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
            "p.pair_id IN (SELECT x.pair_id FROM judgments x JOIN judges j USING (judge_id) "
            "WHERE x.dataset = $d AND j.name = $judge AND x.verdict = $verdict)"
        )
        args.update(judge=f.judge, verdict=f.verdict)
    if f.min_len > 0:
        where.append("greatest(len_a, len_b) >= $min_len")
        args["min_len"] = f.min_len
    if f.max_len > 0:
        where.append("greatest(len_a, len_b) <= $max_len")
        args["max_len"] = f.max_len
    if f.prop and f.prop_min is not None:
        # semi-joins on equalities, never `subject_id IN (a, b)`, which DuckDB runs as a nested loop
        if f.prop in COLUMNS:
            having = f"SELECT response_id FROM builtin_properties WHERE source = $s AND {COLUMNS[f.prop]} >= $prop_min"
            args["s"] = PROPERTIES_SOURCE
        else:
            having = "SELECT subject_id FROM properties WHERE name = $prop AND value >= $prop_min"
            args["prop"] = f.prop
        where.append(f"(p.response_a_id IN ({having}) OR p.response_b_id IN ({having}))")
        args["prop_min"] = f.prop_min
    if f.text:
        # contains() on lower-cased text: no wildcard characters to escape, '%' and '_' mean themselves
        where.append("(contains(lower(q.text), $q) OR contains(lower(ra.text), $q) OR contains(lower(rb.text), $q))")
        args["q"] = f.text.lower()
    if f.split:
        # the judges split: at least two judges with a verdict (several runs combined by JudgeBench's sum rule)
        # and not all the same
        where.append(
            f"""p.pair_id IN (
                SELECT pair_id FROM (
                    SELECT pair_id, judge_id, {COMBINED_VERDICT_SQL} AS v
                    FROM judgments WHERE dataset = $d AND verdict <> 'unparsed' GROUP BY pair_id, judge_id)
                GROUP BY pair_id HAVING count(*) >= 2 AND count(DISTINCT v) > 1)"""
        )
    order = _ORDER_BY.get(f.sort, _ORDER_BY["source order"])
    if f.sort == "random":
        args["seed"] = seed
    page = ""
    if limit is not None:
        page = "LIMIT $limit OFFSET $offset"
        args.update(limit=int(limit), offset=int(offset))
    return con.execute(
        f"""WITH disputes AS (
                SELECT pair_id, count(DISTINCT verdict) AS distinct_verdicts FROM judgments
                WHERE dataset = $d AND verdict IN ('A', 'B', 'tie') GROUP BY pair_id)
            SELECT p.pair_id, p.subset, p.category, ra.generator AS model_a, rb.generator AS model_b,
                   length(ra.text) AS len_a, length(rb.text) AS len_b, left(q.text, 160) AS prompt, p.source_row,
                   coalesce(d.distinct_verdicts, 0) AS distinct_verdicts, count(*) OVER () AS matches
            FROM pairs p JOIN prompts q USING (prompt_id)
            JOIN responses ra ON ra.response_id = p.response_a_id
            JOIN responses rb ON rb.response_id = p.response_b_id
            LEFT JOIN disputes d ON d.pair_id = p.pair_id
            WHERE {" AND ".join(where)}
            ORDER BY {order}
            {page}""",
        args,
    ).df()


def count_of(found: pd.DataFrame) -> int:
    """How many pairs matched in all (find_pairs returns one page of them)."""
    return int(found["matches"].iloc[0]) if len(found) else 0


def filter_options(con: duckdb.DuckDBPyConnection, dataset: str) -> dict[str, list[str]]:
    """The values the filters can take in a dataset."""
    one = lambda sql: [r[0] for r in con.execute(sql, {"d": dataset}).fetchall() if r[0] is not None]  # noqa: E731
    return {
        "categories": one("SELECT DISTINCT category FROM pairs WHERE dataset = $d ORDER BY 1"),
        "generators": one("""SELECT DISTINCT generator FROM responses WHERE response_id IN (
                                 SELECT response_a_id FROM pairs WHERE dataset = $d
                                 UNION ALL SELECT response_b_id FROM pairs WHERE dataset = $d) ORDER BY 1"""),
        "judges": one("""SELECT DISTINCT j.name FROM judgments x JOIN judges j USING (judge_id)
                         WHERE x.dataset = $d ORDER BY 1"""),
        "properties": sorted(
            [*COLUMNS, *(r[0] for r in con.execute("SELECT DISTINCT name FROM properties").fetchall())]
        ),
    }
