"""The Pairs explorer's query: filter a dataset's pairs by category, generator, a judge's verdict, judge
disagreement, length, a property value and text, then sort."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from analytics.properties import COLUMNS, PROPERTIES_SOURCE
from analytics.reads import dataset_summary
from analytics.verdicts import COMBINED_VERDICT_SQL

SORTS = ("source order", "longest first", "shortest first", "most disputed", "random")
VERDICT_FILTERS = ("any", "A", "B", "tie", "unparsed")


ANY_JUDGE, NO_PROP = "(any judge)", "(none)"  # the filters' "no filter" choices


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

        def number(key: str, default: float | None) -> float | None:
            try:
                return float(params.get(key, default))
            except (TypeError, ValueError):
                return default

        prop_min = params.get("prop_min")
        return cls(
            categories=list(params.get("category") or []),
            generators=list(params.get("generator") or []),
            judge=params.get("judge") if params.get("judge") not in (None, "", ANY_JUDGE) else None,
            verdict=str(params.get("verdict", "any")),
            split=str(params.get("split", "false")).lower() == "true",
            min_len=int(number("min_len", 0)),
            max_len=int(number("max_len", 0)),
            prop=params.get("prop") if params.get("prop") not in (None, "", NO_PROP) else None,
            prop_min=number("prop_min", None) if prop_min not in (None, "") else None,  # not a number: off
            text=str(params.get("q", "")),
            sort=str(params.get("sort", "source order")),
        )


# how many distinct verdicts (A / B / tie) the judges gave a pair: the "most disputed" sort
_DISPUTES = """SELECT pair_id, count(DISTINCT verdict) AS distinct_verdicts FROM judgments
               WHERE dataset = $d AND verdict IN ('A', 'B', 'tie')"""

_ORDER_BY = {
    "source order": "p.source_row, p.pair_id",
    "longest first": "greatest(len_a, len_b) DESC, p.source_row, p.pair_id",
    "shortest first": "greatest(len_a, len_b), p.source_row, p.pair_id",
    "most disputed": "distinct_verdicts DESC, p.source_row, p.pair_id",
    "random": "hash(p.pair_id, $seed), p.pair_id",
}


# The sorts that read every pair (lengths, or every judgment's verdict) keep their first PRESORTED_TOP pairs of an
# unfiltered dataset as a summary of its version (computed at ingest): at a million pairs the query joins a million
# pairs to two million responses (0.7 s) or groups six million judgments; the summary's slice is read in milliseconds.
PRESORTED = ("longest first", "shortest first", "most disputed")
PRESORTED_TOP = 10_000  # pairs: the first 500 pages of 20


def presorted_ids(con: duckdb.DuckDBPyConnection, dataset: str, sort: str) -> list[str]:
    """The ids of a dataset's first PRESORTED_TOP pairs in one of the PRESORTED orders, no filter applied."""
    if sort not in PRESORTED:
        raise ValueError(f"'{sort}' is not kept presorted; those are: {', '.join(PRESORTED)}")

    def compute() -> list[str]:
        return _sorted_ids(con, dataset, PairFilters(sort=sort), PRESORTED_TOP, 0)[0]

    return list(dataset_summary(con, dataset, f"pairs sorted: {sort}, first {PRESORTED_TOP}", compute))


def _conditions(dataset: str, f: PairFilters) -> tuple[list[str], dict]:
    """(WHERE conditions over `pairs p` and the joins _relation makes, their arguments) of the filters."""
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
        # the words as a case-insensitive literal pattern (every regex character escaped): RE2 scans the texts
        # five times faster than contains() on lower-cased copies of them
        where.append(
            "(regexp_matches(q.text, $q, 'i') OR regexp_matches(ra.text, $q, 'i') OR regexp_matches(rb.text, $q, 'i'))"
        )
        args["q"] = re.escape(f.text)
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
    return where, args


def _relation(f: PairFilters, where: list[str], lengths: bool, disputes: bool) -> tuple[str, str]:
    """(columns, FROM ... WHERE ...) joining only what the filters (and the sort) read."""
    joins = "JOIN prompts q USING (prompt_id) " if f.text else ""
    if lengths or f.generators or f.text:
        joins += (
            "JOIN responses ra ON ra.response_id = p.response_a_id "
            "JOIN responses rb ON rb.response_id = p.response_b_id "
        )
    columns = "p.pair_id, ra.chars AS len_a, rb.chars AS len_b" if lengths else "p.pair_id"
    if disputes:
        joins += f"LEFT JOIN ({_DISPUTES} GROUP BY pair_id) d ON d.pair_id = p.pair_id "
        columns += ", coalesce(d.distinct_verdicts, 0) AS distinct_verdicts"
    return columns, f"FROM pairs p {joins} WHERE {' AND '.join(where)}"


def matching_ids(con: duckdb.DuckDBPyConnection, dataset: str, f: PairFilters, of: str = "pair") -> set[str]:
    """The ids of every pair the filters keep (`of="prompt"`: of their prompts), unsorted: what a map highlights."""
    column = {"pair": "p.pair_id", "prompt": "p.prompt_id"}[of]
    where, args = _conditions(dataset, f)
    _, body = _relation(f, where, f.min_len > 0 or f.max_len > 0, False)
    return {r[0] for r in con.execute(f"SELECT DISTINCT {column} {body}", args).fetchall()}


def is_filtering(f: PairFilters) -> bool:
    """Whether the filters keep fewer than every pair (the sort aside)."""
    return len(_conditions("", f)[0]) > 1


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
    presorted = f.sort in PRESORTED and not is_filtering(f) and limit is not None and offset + limit <= PRESORTED_TOP
    if presorted:
        ids = presorted_ids(con, dataset, f.sort)[offset : offset + limit]
        total = con.execute("SELECT count(*) FROM pairs WHERE dataset = $d", {"d": dataset}).fetchone()[0]
    else:
        ids, total = _sorted_ids(con, dataset, f, limit, offset, seed)
    rows = con.execute(
        f"""SELECT p.pair_id, p.subset, p.category, ra.generator AS model_a, rb.generator AS model_b,
                   ra.chars AS len_a, rb.chars AS len_b, left(q.text, 160) AS prompt, p.source_row,
                   coalesce(d.distinct_verdicts, 0) AS distinct_verdicts
            FROM pairs p JOIN prompts q USING (prompt_id)
            JOIN responses ra ON ra.response_id = p.response_a_id
            JOIN responses rb ON rb.response_id = p.response_b_id
            LEFT JOIN ({_DISPUTES} AND pair_id IN (SELECT unnest($ids)) GROUP BY pair_id) d ON d.pair_id = p.pair_id
            WHERE p.pair_id IN (SELECT unnest($ids))""",
        {"d": dataset, "ids": ids},
    ).df()
    rows = rows.set_index("pair_id").reindex(ids).rename_axis("pair_id").reset_index()
    return rows.assign(matches=int(total))


def _sorted_ids(
    con: duckdb.DuckDBPyConnection, dataset: str, f: PairFilters, limit: int | None, offset: int, seed: int = 0
) -> tuple[list[str], int]:
    """(the ids of one page of matching pairs in the filters' sort, how many match in all), in DuckDB."""
    where, args = _conditions(dataset, f)
    order = _ORDER_BY.get(f.sort, _ORDER_BY["source order"])
    if f.sort == "random":
        args["seed"] = seed
    # Only what the filters and the sort read is joined for every pair (at a million pairs, reading all response
    # texts for their lengths or all judgments for the dispute count costs seconds): the page's own rows are then
    # read in full by their ids.
    filter_lengths = f.min_len > 0 or f.max_len > 0
    sort_lengths = f.sort in ("longest first", "shortest first")

    columns, body = _relation(f, where, filter_lengths or sort_lengths, f.sort == "most disputed")
    page = ""
    if limit is not None:
        page = "LIMIT $limit OFFSET $offset"
        args.update(limit=int(limit), offset=int(offset))
    count_args = {k: v for k, v in args.items() if k not in ("limit", "offset", "seed")}
    if sort_lengths:
        # a top-N sort over every pair's lengths: counted apart, so the count does not keep every length in memory
        ids = [r[0] for r in con.execute(f"SELECT {columns} {body} ORDER BY {order} {page}", args).fetchall()]
        count_columns, count_body = _relation(f, where, filter_lengths, False)
        total = con.execute(f"SELECT count(*) FROM (SELECT {count_columns} {count_body})", count_args).fetchone()[0]
    else:
        found = con.execute(
            f"SELECT {columns}, count(*) OVER () AS matches {body} ORDER BY {order} {page}", args
        ).fetchall()
        ids = [r[0] for r in found]
        total = found[0][-1] if found else 0
        if not found and offset:  # a page past the end: the count still matters
            total = con.execute(f"SELECT count(*) FROM (SELECT {columns} {body})", count_args).fetchone()[0]
    return ids, int(total)


def count_of(found: pd.DataFrame) -> int:
    """How many pairs matched in all (find_pairs returns one page of them)."""
    return int(found["matches"].iloc[0]) if len(found) else 0


def filter_options(con: duckdb.DuckDBPyConnection, dataset: str) -> dict[str, list[str]]:
    """The values the filters can take in a dataset. Its categories, generators and judges are a summary of the
    dataset's version (scans of a million pairs, two million responses and their judgments: a second at 1M), read
    back after the first time; the imported properties can change without a new version, so they are read each
    time."""

    def compute() -> dict[str, list[str]]:
        one = lambda sql: [r[0] for r in con.execute(sql, {"d": dataset}).fetchall() if r[0] is not None]  # noqa: E731
        return {
            "categories": one("SELECT DISTINCT category FROM pairs WHERE dataset = $d ORDER BY 1"),
            "generators": one("""SELECT DISTINCT generator FROM responses WHERE response_id IN (
                                     SELECT response_a_id FROM pairs WHERE dataset = $d
                                     UNION ALL SELECT response_b_id FROM pairs WHERE dataset = $d) ORDER BY 1"""),
            "judges": one("""SELECT DISTINCT j.name FROM judgments x JOIN judges j USING (judge_id)
                             WHERE x.dataset = $d ORDER BY 1"""),
        }

    imported = [r[0] for r in con.execute("SELECT DISTINCT name FROM properties").fetchall()]
    return dict(dataset_summary(con, dataset, "filter options", compute)) | {
        "properties": sorted([*COLUMNS, *imported])
    }


def pair_properties(con: duckdb.DuckDBPyConnection, pair_id: str) -> pd.DataFrame:
    """One pair's response properties side by side: a row per property, columns A and B (empty for no such pair)."""
    from analytics.properties import response_properties

    ids = con.execute("SELECT response_a_id, response_b_id FROM pairs WHERE pair_id = $p", {"p": pair_id}).fetchone()
    if ids is None:
        return pd.DataFrame(columns=["A", "B"])
    return response_properties(con, list(ids)).T.set_axis(["A", "B"], axis=1)


MAX_SIMILAR_SCAN = 200_000  # prompts compared one by one for "similar pairs"; beyond, the Map's neighbours serve


def similar_prompts(con: duckdb.DuckDBPyConnection, dataset: str, prompt: str, k: int = 8) -> pd.DataFrame:
    """The dataset's k prompts nearest a prompt in embedding space (cosine of the stored, normalised vectors):
    cosine, text. Raises LookupError when the prompts are not embedded, or when the dataset holds more prompts than
    MAX_SIMILAR_SCAN (its map's precomputed neighbours answer that, on the Map page)."""
    from analytics.embed import load_vectors, text_id

    prompts = con.execute(
        "SELECT DISTINCT q.text FROM pairs p JOIN prompts q USING (prompt_id) WHERE p.dataset = $d ORDER BY 1",
        {"d": dataset},
    ).df()
    if len(prompts) > MAX_SIMILAR_SCAN:
        raise LookupError(
            f"{len(prompts):,} prompts: too many to compare one by one here; the Map page lists any prompt's "
            "nearest neighbours from the map's precomputed index"
        )
    vectors = load_vectors(con, [text_id(t) for t in prompts["text"]])
    here = vectors[prompts.index[prompts["text"] == prompt][0]]
    similarity = vectors @ here
    order = [i for i in similarity.argsort()[::-1] if prompts.at[i, "text"] != prompt][:k]
    return prompts.iloc[order].assign(cosine=similarity[order].round(3))[["cosine", "text"]].reset_index(drop=True)
