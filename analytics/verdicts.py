"""A dataset's verdicts as DuckDB aggregates them: one row per judged pair (in source order), one column per judge.

DuckDB groups the judgments by (pair, judge) once and returns a few numbers per group: the combined verdict, the
first verdict in each shown order, P(B preferred) and counts. They land in arrays aligned on one pair index, so the
long table of judgments (one row per run: millions at a million pairs) never reaches pandas, and the statistics of
analytics.judges read aligned columns instead of joining string indexes. The same SQL runs on a store and on a small
frame in memory (tests, hand-made examples), so each rule has one implementation:

- the combined verdict of a judge on a pair is JudgeBench's rule over its parsed runs (+1 per A, -1 per B, 0 per
  tie; the sign decides), missing when every run was unparsed;
- the verdict in a shown order is the first the judge gave in that order (in storage order), 'unparsed' kept;
- P(B preferred) is the mean over parsed runs of prob_b where the judge gave one, else 1 / 0.5 / 0 for B / tie / A.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import cached_property

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

LABELS = ("A", "tie", "B")
CODE = {"A": 0, "tie": 1, "B": 2}  # ordinal: tie is the midpoint
SCORE = {"A": 1.0, "tie": 0.0, "B": -1.0}
ORDER_LABELS = ("A", "tie", "B", "unparsed")  # a verdict in one shown order: codes 0..3
ORDERS = ("AB", "BA")

# JudgeBench's rule in SQL, over one judge's judgments of one pair: NULL when none was parsed
COMBINED_VERDICT_SQL = (
    "sign(sum(CASE verdict WHEN 'A' THEN 1 WHEN 'B' THEN -1 ELSE 0 END) FILTER (WHERE verdict <> 'unparsed'))"
)
# How a judge's accuracy against the reference is counted: name -> (field of a judges report's judge entry, label).
# Each catalog dataset names its upstream's (catalog `accuracy_convention`); the pages offer the others.
ACCURACY_CONVENTIONS = {
    "combined": ("accuracy", "both orders combined by JudgeBench's rule"),
    "mean_over_orders": ("accuracy_average", "mean of the two orders' accuracies (LLMBar)"),
    "both_orders": ("accuracy_both_orders", "right in both orders"),
    "unparsed_as_tie": ("accuracy_unparsed_as_tie", "an unparsed answer counted as a tie (PandaLM's code)"),
}
# A subset group, 'prefix/*', is every subset whose name starts with 'prefix/' (LLMBar/Adversarial/* pools its four
# adversarial subsets). The SQL condition on a pairs column, for the parameter $s (NULL: every pair).
GROUP_MARK = "/*"
SUBSET_SQL = "($s IS NULL OR {column} = $s OR (suffix($s, '/*') AND starts_with({column}, rtrim($s, '*'))))"
SOURCE_ORDER = "source_file, source_row, pair_id"  # a dataset's pairs in the order of its files (the pairs table's)
_ORDER_CODE_SQL = "CASE verdict WHEN 'A' THEN 0 WHEN 'tie' THEN 1 WHEN 'B' THEN 2 ELSE 3 END"
_P_B_SQL = (
    "avg(coalesce(prob_b, CASE verdict WHEN 'B' THEN 1.0 WHEN 'tie' THEN 0.5 WHEN 'A' THEN 0.0 END)) "
    "FILTER (WHERE verdict <> 'unparsed')"
)


@dataclass(frozen=True)
class _Relations:
    """The four relations the aggregation reads, as SQL: judgments (pair_id, judge, verdict, shown_order, prob_b,
    seq), keys (pair_id, ord: the pairs in scope and their order), pairs (pair_id and its details) and judges
    (judge, kind, model, family)."""

    judgments: str
    keys: str
    pairs: str  # may name {positions}: the pairs in scope (read only their texts' lengths)
    judges: str


_STORE = _Relations(
    judgments="""SELECT x.pair_id, j.name AS judge, x.verdict, x.shown_order, x.prob_b, x.rowid AS seq
                  FROM judgments x JOIN judges j USING (judge_id) WHERE x.dataset = $d""",
    keys=f"""SELECT pair_id, row_number() OVER (ORDER BY {SOURCE_ORDER}) AS ord FROM pairs
            WHERE dataset = $d AND {SUBSET_SQL.format(column="subset")} {{restrict}}""",
    pairs="""SELECT p.pair_id, p.subset, p.category, ra.generator AS model_a, rb.generator AS model_b,
                    {lengths}, p.response_a_id, p.response_b_id, p.prompt_id
             FROM pairs p JOIN responses ra ON ra.response_id = p.response_a_id
             JOIN responses rb ON rb.response_id = p.response_b_id
             WHERE p.dataset = $d AND p.pair_id IN (SELECT pair_id FROM {positions})""",
    judges="SELECT name AS judge, kind, model, family FROM judges",
)

# the pairs in scope with every detail missing (load_verdicts(details=False)), typed as _STORE.pairs' columns
_NO_DETAILS = """SELECT pair_id, NULL::VARCHAR AS subset, NULL::VARCHAR AS category, NULL::VARCHAR AS model_a,
                        NULL::VARCHAR AS model_b, NULL::BIGINT AS len_a, NULL::BIGINT AS len_b,
                        NULL::VARCHAR AS response_a_id, NULL::VARCHAR AS response_b_id, NULL::VARCHAR AS prompt_id
                 FROM {positions}"""

_PAIR_COLUMNS = (
    *("subset", "category", "model_a", "model_b", "len_a", "len_b"),
    *("response_a_id", "response_b_id", "prompt_id"),
)
_FRAME_COLUMNS = _PAIR_COLUMNS[:6]  # Verdicts.pairs; the ids stay in Arrow (Verdicts.responses)


@dataclass
class Verdicts:
    """Aligned arrays of one dataset's verdicts. Rows: the judged pairs (`pairs.index`, source order); columns:
    the judges (`judges.index`, sorted by name). Codes are 0 A, 1 tie, 2 B (3 unparsed in a shown order), NaN none."""

    pairs: pd.DataFrame  # subset, category, model_a, model_b, len_a, len_b
    responses: pa.Table  # response_a_id, response_b_id, prompt_id of each pair (Arrow strings: millions at 1M pairs)
    judges: pd.DataFrame  # kind, model, family, pairs, judgments, unparsed, first_wins, first_decisive
    codes: np.ndarray  # (pairs, judges) combined verdict
    judged: np.ndarray  # (pairs, judges) bool: the judge gave any judgment (unparsed included)
    order_codes: np.ndarray  # (pairs, judges, 2) first verdict shown AB / BA
    p_b: np.ndarray  # (pairs, judges) P(B preferred)
    _index: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._index = {j: k for k, j in enumerate(self.judges.index)}

    def __len__(self) -> int:
        return len(self.pairs)

    @property
    def names(self) -> list[str]:
        return list(self.judges.index)

    def column(self, judge: str) -> int:
        if judge not in self._index:
            raise KeyError(f"no judge '{judge}' here; judges: {', '.join(self.names)}")
        return self._index[judge]

    @cached_property
    def wide(self) -> pd.DataFrame:
        """pair x judge of 'A' / 'tie' / 'B' (NaN where none)."""
        return pd.DataFrame(
            _columns([labels(self.codes[:, k], LABELS) for k in range(len(self.names))], len(self)),
            index=self.pairs.index,
            columns=pd.Index(self.names, dtype=object),
            dtype=object,
        )

    def orders(self, judge: str) -> pd.DataFrame:
        """The judge's verdict in each shown order it saw (columns among AB / BA; 'unparsed' kept), on the pairs
        it judged with a known order."""
        k = self.column(judge)
        both = self.order_codes[:, k, :]
        seen = ~np.isnan(both)
        rows = seen.any(axis=1)
        shown = [i for i in range(len(ORDERS)) if seen[:, i].any()]
        return pd.DataFrame(
            _columns([labels(both[rows, i], ORDER_LABELS) for i in shown], int(rows.sum())),
            index=self.pairs.index[rows],
            columns=[ORDERS[i] for i in shown],
            dtype=object,
        )

    def win_probabilities(self, judge: str) -> pd.Series:
        """Per pair the judge decided (a parsed run): P(B preferred)."""
        p = pd.Series(self.p_b[:, self.column(judge)], index=self.pairs.index)
        return p[p.notna()]

    def judged_pairs(self, judge: str) -> pd.Index:
        return self.pairs.index[self.judged[:, self.column(judge)]]

    def kinds(self) -> dict[str, str]:
        return self.judges["kind"].to_dict()


def _columns(columns: list[np.ndarray], rows: int) -> np.ndarray:
    """Object columns side by side as one (rows, len(columns)) array (none at all included)."""
    return np.column_stack(columns) if columns else np.empty((rows, 0), dtype=object)


def labels(codes: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Codes (NaN for none) as an object array of names (NaN for none)."""
    out = np.full(len(codes), np.nan, dtype=object)
    known = ~np.isnan(codes)
    out[known] = np.asarray(names, dtype=object)[codes[known].astype(int)]
    return out


_TEXT_LENGTHS = "ra.chars AS len_a, rb.chars AS len_b"
_NO_LENGTHS = "NULL::BIGINT AS len_a, NULL::BIGINT AS len_b"


def load_verdicts(
    con: duckdb.DuckDBPyConnection,
    dataset: str,
    subset: str | None = None,
    pair_ids: list[str] | None = None,
    lengths: bool = True,
    details: bool = True,
) -> Verdicts:
    """A dataset's verdicts (optionally one subset, or only the given pairs), aggregated in the store.
    len_a / len_b are the responses' stored lengths in characters; lengths=False leaves them missing, for
    statistics that do not need them. details=False leaves every pair column missing (subset, category,
    generators, lengths, ids) and reads no response: agreement and accuracy on a map's selection need the verdicts
    alone, and joining a million pairs to two million responses was a third of their time."""
    restrict = "AND pair_id IN (SELECT unnest($ids))" if pair_ids is not None else ""
    pairs = _STORE.pairs.replace("{lengths}", _TEXT_LENGTHS if lengths else _NO_LENGTHS) if details else _NO_DETAILS
    relations = _Relations(_STORE.judgments, _STORE.keys.format(restrict=restrict), pairs, _STORE.judges)
    params = {"d": dataset, "s": subset} | ({"ids": list(pair_ids)} if pair_ids is not None else {})
    return _aggregate(con, relations, params)


def verdicts_of(judgments: pd.DataFrame) -> Verdicts:
    """Verdicts of a long frame of judgments (pair_id, judge, verdict, shown_order; optionally prob_b, kind,
    judge_model, judge_family and the pair columns), by the same SQL as a store's. Pairs in order of appearance."""
    frame = judgments.reset_index(drop=True).copy()
    defaults = {"shown_order": None, "prob_b": np.nan, "kind": "llm", "judge_model": None, "judge_family": None}
    defaults |= {c: (np.nan if c.startswith("len_") else None) for c in _PAIR_COLUMNS}
    for column, value in defaults.items():
        if column not in frame:
            frame[column] = value
    frame["seq"] = np.arange(len(frame))
    frame["prob_b"] = frame["prob_b"].astype(float)
    frame["len_a"], frame["len_b"] = frame["len_a"].astype(float), frame["len_b"].astype(float)
    for column in ("pair_id", "judge", "verdict", "shown_order", "kind", "judge_model", "judge_family"):
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    for column in ("subset", "category", "model_a", "model_b", "response_a_id", "response_b_id", "prompt_id"):
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    con = duckdb.connect()
    try:
        con.register("_long", frame)
        relations = _Relations(
            judgments="SELECT pair_id, judge, verdict, shown_order, prob_b, seq FROM _long",
            keys="SELECT pair_id, min(seq) AS ord FROM _long GROUP BY pair_id",
            pairs=f"SELECT pair_id, {', '.join(f'first({c} ORDER BY seq) AS {c}' for c in _PAIR_COLUMNS)} "
            "FROM _long GROUP BY pair_id",
            judges="SELECT judge, first(kind ORDER BY seq) AS kind, first(judge_model ORDER BY seq) AS model, "
            "first(judge_family ORDER BY seq) AS family FROM _long GROUP BY judge",
        )
        return _aggregate(con, relations, {})
    finally:
        con.close()


def _aggregate(con: duckdb.DuckDBPyConnection, rel: _Relations, params: dict) -> Verdicts:
    # Every pair in scope gets its row position once, in a temporary table private to this connection; the pair
    # details and the per-(pair, judge) aggregate both join it. Pairs nobody judged and judges with no judgment
    # here are dropped afterwards, in numpy.
    positions = f"_prefatlas_positions_{uuid.uuid4().hex}"
    con.execute(
        f"CREATE TEMP TABLE {positions} AS "
        f"SELECT pair_id, (row_number() OVER (ORDER BY ord) - 1)::INTEGER AS pos FROM ({rel.keys})",
        params,
    )
    try:
        pair_params = {k: v for k, v in params.items() if f"${k}" in rel.pairs}
        pairs = con.sql(
            f"""SELECT d.pair_id, {", ".join(f"d.{c}" for c in _PAIR_COLUMNS)}
                FROM ({rel.pairs.replace("{positions}", positions)}) d JOIN {positions} t USING (pair_id)
                ORDER BY t.pos""",
            params=pair_params,
        ).to_arrow_table()
        names = sorted(r[0] for r in con.execute(f"SELECT judge FROM ({rel.judges})").fetchall())
        judgment_params = {k: v for k, v in params.items() if f"${k}" in rel.judgments}
        groups = con.execute(
            f"""WITH codes AS (SELECT unnest($names) AS judge, (generate_subscripts($names, 1) - 1)::SMALLINT AS k)
                SELECT t.pos, codes.k,
                       {COMBINED_VERDICT_SQL}::TINYINT AS combined,
                       count(*)::INTEGER AS runs,
                       (count(*) FILTER (WHERE verdict = 'unparsed'))::INTEGER AS unparsed,
                       {_P_B_SQL} AS p_b,
                       (arg_min({_ORDER_CODE_SQL}, seq) FILTER (WHERE shown_order = 'AB'))::TINYINT AS first_ab,
                       (arg_min({_ORDER_CODE_SQL}, seq) FILTER (WHERE shown_order = 'BA'))::TINYINT AS first_ba,
                       (count(*) FILTER (WHERE (shown_order = 'AB' AND verdict = 'A')
                                            OR (shown_order = 'BA' AND verdict = 'B')))::INTEGER AS first_wins,
                       (count(*) FILTER (WHERE shown_order IS NOT NULL AND verdict IN ('A', 'B')))::INTEGER
                           AS first_decisive
                FROM ({rel.judgments}) x JOIN {positions} t USING (pair_id) JOIN codes USING (judge)
                GROUP BY ALL""",
            judgment_params | {"names": names},
        ).fetchnumpy()
        info = (
            con.execute(f"SELECT * FROM ({rel.judges}) WHERE judge IN (SELECT unnest($names))", {"names": names})
            .df()
            .set_index("judge")
            .reindex(names)
        )
    finally:
        con.execute(f"DROP TABLE IF EXISTS {positions}")
    n, m = pairs.num_rows, len(names)
    # the groups' columns are dropped as they are used: six million groups at a million pairs
    col = groups.pop("k").astype(np.intp)
    counts = {
        column: np.bincount(col, weights=groups.pop(column), minlength=m).astype(np.int64)
        for column in ("runs", "unparsed", "first_wins", "first_decisive")
    }
    cell = groups.pop("pos").astype(np.intp) * m + col  # each group's place in a (pairs, judges) array, flattened
    del col

    def scatter(name: str, out: np.ndarray, slot: int = 0, slots: int = 1) -> None:
        """The groups' values of `name` into `out` (pairs, judges[, slots]); NULL leaves it as it is (NaN)."""
        values = groups.pop(name)
        known = ~np.ma.getmaskarray(values)
        out.reshape(-1)[cell[known] * slots + slot] = np.ma.getdata(values)[known]

    judged = np.zeros((n, m), dtype=bool)
    judged.reshape(-1)[cell] = True
    keep_rows, keep_cols = judged.any(axis=1), judged.any(axis=0)
    info = info.astype(object).where(info.notna(), None)
    info["pairs"] = judged.sum(axis=0)
    for column, values in counts.items():
        info[column] = values
    codes = np.full((n, m), np.nan, dtype=np.float32)
    scatter("combined", codes)
    np.subtract(1.0, codes, out=codes)  # sign +1 (A) -> 0, 0 (tie) -> 1, -1 (B) -> 2
    order_codes = np.full((n, m, len(ORDERS)), np.nan, dtype=np.float32)
    scatter("first_ab", order_codes, 0, len(ORDERS))
    scatter("first_ba", order_codes, 1, len(ORDERS))
    p_b = np.full((n, m), np.nan, dtype=np.float64)
    scatter("p_b", p_b)
    info = info.rename(columns={"runs": "judgments"})
    info.index = pd.Index(names, dtype=object, name="judge")
    index = pd.Index(pairs.column("pair_id").to_numpy(zero_copy_only=False), dtype=object, name="pair_id")
    frame = pd.DataFrame(  # object columns: pandas' inferred Arrow strings iterate and hash far slower here
        {c: pd.Series(_objects(pairs.column(c)), index=index, dtype=object) for c in ("subset", "category")},
        index=index,
    )
    frame["model_a"], frame["model_b"] = _generators(pairs.column("model_a"), pairs.column("model_b"), index)
    for column in ("len_a", "len_b"):
        frame[column] = pairs.column(column).to_numpy()
    responses = pairs.select(["response_a_id", "response_b_id", "prompt_id"])
    del pairs
    if not keep_rows.all():  # (usually every pair in scope was judged: no copies then)
        frame, responses = frame[keep_rows], responses.filter(pa.array(keep_rows))
        codes, judged, order_codes, p_b = (a[keep_rows] for a in (codes, judged, order_codes, p_b))
    if not keep_cols.all():
        info = info[keep_cols]
        codes, judged, order_codes, p_b = (a[:, keep_cols] for a in (codes, judged, order_codes, p_b))
    return Verdicts(frame, responses, info, codes, judged, order_codes, p_b)


def _generators(a: pa.ChunkedArray, b: pa.ChunkedArray, index: pd.Index) -> tuple[pd.Series, pd.Series]:
    """The two generator columns as categoricals with one shared, sorted set of names: A and B compare with each
    other, and the statistics work on their integer codes instead of hashing a million strings."""
    encoded = [column.combine_chunks().dictionary_encode() for column in (a, b)]
    names = sorted({v for e in encoded for v in e.dictionary.to_pylist() if v is not None})
    position = {name: k for k, name in enumerate(names)}
    dtype = pd.CategoricalDtype(names)
    out = []
    for e in encoded:
        lookup = np.array([position[v] if v is not None else -1 for v in e.dictionary.to_pylist()] + [-1])
        codes = lookup[e.indices.fill_null(len(e.dictionary)).to_numpy(zero_copy_only=False)]
        out.append(pd.Series(pd.Categorical.from_codes(codes, dtype=dtype), index=index))
    return out[0], out[1]


def _objects(column: pa.ChunkedArray) -> np.ndarray:
    """A string column with few distinct values (generators, categories) as an object array (None for null): each
    value becomes a Python string once, not once per row."""
    if column.num_chunks == 0 or len(column) == 0:
        return np.array([], dtype=object)
    encoded = column.combine_chunks().dictionary_encode()
    values = np.array([*encoded.dictionary.to_pylist(), None], dtype=object)
    indices = encoded.indices.fill_null(len(encoded.dictionary)).to_numpy(zero_copy_only=False)
    return values[indices]
