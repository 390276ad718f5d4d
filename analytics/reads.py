"""The store's shared reads: datasets and their counts (computed once per dataset version), judges and their
verdicts, pairs by id, and the compact verdict tables every page shows pairs in."""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import numpy as np
import pandas as pd

from analytics.store import VERDICTS


def datasets_table(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per dataset: its metadata and counts (the counts of each dataset version are computed once)."""
    meta = con.execute(
        """SELECT name AS dataset, title, licence, licence_note, source, version, ingested_at, rows_skipped
           FROM datasets ORDER BY name"""
    ).df()
    counts = pd.DataFrame(
        [
            {"dataset": name, **dataset_summary(con, name, "counts", lambda n=name: _counts(con, n))}
            for name in meta["dataset"]
        ],
        columns=["dataset", "pairs", "prompts", "judges", "judgments"],
    )
    columns = ["dataset", "title", "licence", "licence_note", "source", "version", "ingested_at", "pairs", "prompts"]
    return meta.merge(counts, on="dataset", how="left")[[*columns, "judges", "judgments", "rows_skipped"]]


def _counts(con: duckdb.DuckDBPyConnection, dataset: str) -> dict[str, int]:
    pairs, prompts = con.execute(
        "SELECT count(*), count(DISTINCT prompt_id) FROM pairs WHERE dataset = $d", {"d": dataset}
    ).fetchone()
    judges, judgments = con.execute(
        "SELECT count(DISTINCT judge_id), count(*) FROM judgments WHERE dataset = $d", {"d": dataset}
    ).fetchone()
    return {"pairs": pairs, "prompts": prompts, "judges": judges, "judgments": judgments}


def dataset_summary(con: duckdb.DuckDBPyConnection, dataset: str, name: str, compute: Callable[[], object]) -> object:
    """A summary of a dataset (counts, per-judge tables) computed once per dataset version and then read from the
    result cache: at a million pairs the aggregates take seconds, reading them back milliseconds."""
    from analytics.cache import cached

    return cached(("summary", name, dataset, dataset_version(con, dataset)), compute)


def _frame_summary(con: duckdb.DuckDBPyConnection, dataset: str, name: str, sql: str) -> pd.DataFrame:
    def compute() -> dict:
        frame = con.execute(sql, {"d": dataset}).df()
        return {"columns": list(frame.columns), "rows": frame.astype(object).where(frame.notna(), None).values.tolist()}

    stored = dataset_summary(con, dataset, name, compute)
    return pd.DataFrame(stored["rows"], columns=stored["columns"])


def dataset_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute("SELECT name FROM datasets ORDER BY name").fetchall()]


def dataset_version(con: duckdb.DuckDBPyConnection, dataset: str) -> str:
    """A key that changes whenever the dataset is re-ingested (for caches)."""
    row = con.execute(
        "SELECT version || '@' || ingested_at::VARCHAR FROM datasets WHERE name = $d", {"d": dataset}
    ).fetchone()
    return row[0] if row else ""


def subsets_table(con: duckdb.DuckDBPyConnection, dataset: str) -> pd.DataFrame:
    return con.execute(
        """
        SELECT coalesce(subset, '(none)') AS subset, count(*) AS pairs, count(DISTINCT category) AS categories
        FROM pairs WHERE dataset = $d GROUP BY 1 ORDER BY 1
        """,
        {"d": dataset},
    ).df()


def judges_table(con: duckdb.DuckDBPyConnection, dataset: str) -> pd.DataFrame:
    """One row per judge: kind, model, counts, and the share of each verdict (A/B in the pair frame).

    Shares are over all the judge's judgments, unparsed included, so they add up to 1.
    """
    shares = ", ".join(f"avg(CASE WHEN x.verdict = '{v}' THEN 1.0 ELSE 0.0 END) AS share_{v}" for v in VERDICTS)
    return _frame_summary(
        con,
        dataset,
        "judges_table",
        f"""
        SELECT j.name AS judge, j.kind, j.model, j.protocol,
               count(DISTINCT x.pair_id) AS pairs, count(*) AS judgments,
               count(DISTINCT x.shown_order) AS "orders seen", {shares}
        FROM judgments x JOIN judges j USING (judge_id)
        WHERE x.dataset = $d
        GROUP BY ALL ORDER BY j.kind, j.name
        """,
    )


def judge_kinds(con: duckdb.DuckDBPyConnection, dataset: str, decided_only: bool = False) -> dict[str, str]:
    """judge name -> kind (human, llm, reward_model, gold, crowd) for the judges of a dataset, by name;
    `decided_only`: only judges with at least one parsed verdict."""
    parsed = "AND x.verdict <> 'unparsed'" if decided_only else ""

    def compute() -> dict[str, str]:  # a scan of every judgment (0.2 s at a million pairs): once per version
        return dict(
            con.execute(
                f"""SELECT DISTINCT j.name, j.kind FROM judgments x JOIN judges j USING (judge_id)
                    WHERE x.dataset = $d {parsed} ORDER BY j.name""",
                {"d": dataset},
            ).fetchall()
        )

    name = "judge kinds (decided)" if decided_only else "judge kinds"
    return dict(dataset_summary(con, dataset, name, compute))


def verdict_counts(con: duckdb.DuckDBPyConnection, dataset: str) -> pd.DataFrame:
    """Long table (judge, verdict, n) for the verdict-distribution chart."""
    return _frame_summary(
        con,
        dataset,
        "verdict_counts",
        """
        SELECT j.name AS judge, x.verdict, count(*) AS n
        FROM judgments x JOIN judges j USING (judge_id)
        WHERE x.dataset = $d GROUP BY ALL ORDER BY 1, 2
        """,
    )


_PAIR_SELECT = """
        SELECT p.pair_id, p.subset, p.category, q.text AS prompt, q.context,
               ra.text AS response_a, ra.generator AS model_a, rb.text AS response_b, rb.generator AS model_b,
               p.source_file, p.source_row, p.upstream_id
        FROM pairs p
        JOIN prompts q USING (prompt_id)
        JOIN responses ra ON ra.response_id = p.response_a_id
        JOIN responses rb ON rb.response_id = p.response_b_id
"""


PAIR_TEXT = ("prompt", "model_a", "response_a", "model_b", "response_b")  # what a printed pair shows


def pairs_by_id(con: duckdb.DuckDBPyConnection, pair_ids: list[str]) -> pd.DataFrame:
    """The pairs with both texts and generators, in the order of pair_ids."""
    if not pair_ids:
        return con.execute(_PAIR_SELECT + " WHERE false").df()
    frame = con.execute(_PAIR_SELECT + " WHERE p.pair_id IN (SELECT unnest($ids))", {"ids": pair_ids}).df()
    return frame.set_index("pair_id").reindex(pair_ids).reset_index()


def sample_pairs(con: duckdb.DuckDBPyConnection, dataset: str, n: int = 5, seed: int = 0) -> pd.DataFrame:
    """A reproducible sample of pairs (same seed, same pairs) with both texts and generators."""
    # the ids first (a scan of one column), then the texts of those pairs only
    ids = con.execute(
        "SELECT pair_id FROM pairs WHERE dataset = $d ORDER BY hash(pair_id || $seed::VARCHAR) LIMIT $n",
        {"d": dataset, "n": n, "seed": seed},
    ).fetchall()
    return pairs_by_id(con, [i for (i,) in ids])


def verdict_label(verdict: str, model_a: object, model_b: object) -> str:
    """A verdict named as researchers read it: the preferred generator when the two generators are known and differ,
    else 'A' / 'B' (and 'tie' / 'unparsed' as they are)."""
    known = isinstance(model_a, str) and isinstance(model_b, str) and model_a and model_b and model_a != model_b
    if known and verdict in ("A", "B"):
        return f"{model_a} (A)" if verdict == "A" else f"{model_b} (B)"
    return verdict


def pair_judgments(con: duckdb.DuckDBPyConnection, pair_ids: list[str]) -> pd.DataFrame:
    """Every judgment of the given pairs: judge, verdict (pair frame), order shown, scores."""
    if not pair_ids:
        return pd.DataFrame(
            columns=[
                "pair_id",
                "judge",
                "kind",
                "verdict",
                "verdict_raw",
                "shown_order",
                "prob_b",
                "score_a",
                "score_b",
            ]
        )
    return con.execute(
        """
        SELECT x.pair_id, j.name AS judge, j.kind, x.verdict, x.verdict_raw, x.shown_order, x.prob_b,
               x.score_a, x.score_b
        FROM judgments x JOIN judges j USING (judge_id)
        WHERE x.pair_id IN (SELECT unnest($ids))
        ORDER BY x.pair_id, j.kind, j.name, x.shown_order NULLS FIRST
        """,
        {"ids": pair_ids},
    ).df()


REFERENCE_FIRST = {"gold": 0, "human": 1, "crowd": 2}  # reference labels lead a pair's verdict table
ORDER_COLUMNS = {None: "verdict (order not recorded)", "AB": "A shown first", "BA": "B shown first"}
NOT_GIVEN = "–"  # a cell the judge left empty (Streamlit would print None)


def verdict_table(judgments: pd.DataFrame, model_a: object, model_b: object) -> pd.DataFrame:
    """One pair's verdicts as a table: one row per judge (gold, human and crowd labels first), one column per
    order it was shown in ('verdict (order not recorded)' for labels given without an order, such as gold), the
    preferred response named by its generator, and 'flipped' where the judge preferred different responses in the
    two orders (first verdict of each). Scores, when a judge gave them, in their own columns. `judgments`: the
    pair's rows of pair_judgments()."""
    if judgments.empty:
        return pd.DataFrame(columns=["judge", "kind"])
    # a pair has a few dozen judgments at most: plain records (pandas operations per judge on a frame of Arrow
    # strings took a Pairs or Overview page ~30 ms per pair shown)
    runs_of: dict[tuple[object, object], list[dict]] = {}
    for run in judgments.to_dict("records"):
        key = tuple(None if pd.isna(run[c]) else run[c] for c in ("judge", "kind"))
        runs_of.setdefault(key, []).append(run)
    rows = []
    for (judge, kind), runs in runs_of.items():
        row: dict[str, object] = {"judge": judge, "kind": kind}
        given: dict[object, list[str]] = {order: [] for order in ORDER_COLUMNS}  # each order's verdicts, as stored
        for r in runs:
            given.setdefault(None if pd.isna(r["shown_order"]) else r["shown_order"], []).append(r["verdict"])
        for order, column in ORDER_COLUMNS.items():
            if given[order]:
                row[column] = " / ".join(verdict_label(v, model_a, model_b) for v in given[order])
        if given["AB"] and given["BA"]:  # the first verdict in each order
            row["flipped"] = "yes" if {given["AB"][0], given["BA"][0]} == {"A", "B"} else "no"
        scored = [r for r in runs if not pd.isna(r["score_a"])]
        if scored:
            row["score A"], row["score B"] = (f"{scored[0][c]:.4g}" for c in ("score_a", "score_b"))
        rows.append(row)
    table = pd.DataFrame(rows)
    table = table.sort_values(
        ["kind", "judge"], key=lambda c: c.map(REFERENCE_FIRST).fillna(9) if c.name == "kind" else c
    )
    columns = ["judge", "kind", *ORDER_COLUMNS.values(), "flipped", "score A", "score B"]
    return table[[c for c in columns if c in table.columns]].fillna(NOT_GIVEN).reset_index(drop=True)


FLIPPED, WRONG = (
    " ⇄",
    " ✗",
)  # marks in the compact pair table: preferred different responses per order; not the reference's


def pairs_summary(
    texts: pd.DataFrame, judgments: pd.DataFrame, reference: str | None = None, first: list[str] | None = None
) -> pd.DataFrame:
    """The pairs behind a number in one compact table, a row per pair (in `texts`' order): the prompt's start, the
    reference's verdict, then each judge's verdict over its runs (JudgeBench's rule, as everywhere; the preferred
    generator named), marked ⇄ where it preferred different responses in its two orders and ✗ where it is not the
    reference's. Judges in `first` (those under study) come right after the reference. `judgments`: the pairs' rows
    of pair_judgments()."""
    from analytics.verdicts import ORDER_LABELS, verdicts_of

    if texts.empty:
        return pd.DataFrame(columns=["pair", "prompt"])
    long = judgments[["pair_id", "judge", "kind", "verdict", "shown_order"]]
    verdicts = verdicts_of(long) if len(long) else None
    judges = list(verdicts.judges.index) if verdicts is not None else []
    ordered = list(dict.fromkeys(j for j in ([reference] if reference else []) + (first or []) if j in judges))
    ordered += sorted(j for j in judges if j not in ordered)
    rows = []
    for _, pair in texts.iterrows():  # one page of pairs (ten): the table a person reads
        prompt = str(pair["prompt"] or "")
        row: list[object] = [pair["pair_id"], prompt[:120] + ("…" if len(prompt) > 120 else "")]
        k = (
            verdicts.pairs.index.get_loc(pair["pair_id"])
            if verdicts is not None and pair["pair_id"] in verdicts.pairs.index
            else None
        )
        ref_code = verdicts.codes[k, verdicts.column(reference)] if k is not None and reference in judges else np.nan
        for judge in ordered:
            c = verdicts.column(judge)
            if k is None or not verdicts.judged[k, c]:
                row.append(NOT_GIVEN)
                continue
            code = verdicts.codes[k, c]
            label = (
                "unparsed"
                if np.isnan(code)
                else verdict_label(ORDER_LABELS[int(code)], pair["model_a"], pair["model_b"])
            )
            ab, ba = verdicts.order_codes[k, c, 0], verdicts.order_codes[k, c, 1]
            flipped = {ab, ba} == {0.0, 2.0}
            wrong = judge != reference and not np.isnan(ref_code) and code != ref_code
            row.append(label + (FLIPPED if flipped else "") + (WRONG if wrong else ""))
        rows.append(row)
    # a judge named like a fixed column keeps a column of its own (two 'prompt' columns could not be styled)
    columns = ["pair", "prompt", *(f"{j} (judge)" if j in ("pair", "prompt") else j for j in ordered)]
    return pd.DataFrame(rows, columns=columns)


def pairs_summary_note(reference: str | None) -> str:
    return (
        f"Each judge's verdict over its runs;{FLIPPED.rstrip()} preferred different responses in its two orders;"
        f"{WRONG.rstrip()} not the reference's ({reference or 'none'}). A row opens the pair."
    )
