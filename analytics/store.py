"""The DuckDB store: schema, opening, and the one place where ingested batches are written.

Conventions (also in README "Conventions"):
- A judgment's ``verdict`` is always in the pair's own A/B frame, whatever order the judge saw;
  ``shown_order`` records that order ('AB' = A was shown first, 'BA' = swapped, NULL = unknown).
- ``verdict`` is one of 'A', 'B', 'tie', 'unparsed'. An answer the judge gave but nobody could read is
  'unparsed' (kept, with ``verdict_raw``), never a tie.
- ``prob_b`` is P(B preferred) when the judge gave a probability (AlpacaEval's weighted evaluators).
- ``score_a`` / ``score_b`` are the judge's own scores of A and B (reward models), again in the pair frame.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from analytics.ids import content_id, content_ids

SCHEMA_VERSION = "3"  # 2: builtin response properties in their own wide table; 3: responses.chars
MIGRATED_VERSIONS = ("1", "2")  # stores of these versions are brought to this one when opened (ensure_schema)

VERDICTS = ("A", "B", "tie", "unparsed")
JUDGE_KINDS = ("human", "llm", "reward_model", "gold", "crowd")
SHOWN_ORDERS = ("AB", "BA")

_DDL = f"""
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS datasets (
    name VARCHAR PRIMARY KEY,
    title VARCHAR,
    source VARCHAR,
    licence VARCHAR,
    licence_note VARCHAR,
    adapter VARCHAR,
    version VARCHAR NOT NULL,
    files VARCHAR,
    ingested_at TIMESTAMP,
    rows_read BIGINT,
    rows_skipped BIGINT,
    skipped VARCHAR
);
-- prompts, responses and pairs: rows named by content hashes, written by insert_new (each id once); no primary key
-- (its index cost a million-pair ingest a fifth of its time; stores made before keep theirs)
CREATE TABLE IF NOT EXISTS prompts (
    prompt_id VARCHAR NOT NULL,
    text VARCHAR NOT NULL,
    context VARCHAR
);
-- chars: the text's length in characters (DuckDB's length(); see DERIVED_COLUMNS), stored because sorting or
-- splitting a million pairs by length would otherwise read two million texts (2.5 s)
CREATE TABLE IF NOT EXISTS responses (
    response_id VARCHAR NOT NULL,
    prompt_id VARCHAR NOT NULL,
    text VARCHAR NOT NULL,
    generator VARCHAR,
    chars BIGINT
);
CREATE TABLE IF NOT EXISTS pairs (
    pair_id VARCHAR NOT NULL,
    dataset VARCHAR NOT NULL,
    subset VARCHAR,
    category VARCHAR,
    prompt_id VARCHAR NOT NULL,
    response_a_id VARCHAR NOT NULL,
    response_b_id VARCHAR NOT NULL,
    upstream_id VARCHAR,
    source_file VARCHAR,
    source_row BIGINT
);
CREATE TABLE IF NOT EXISTS judges (
    judge_id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL UNIQUE,
    kind VARCHAR NOT NULL CHECK (kind IN {JUDGE_KINDS}),
    model VARCHAR,
    family VARCHAR,
    protocol VARCHAR
);
-- judgment_id is a row identity nothing looks up: no index (a primary key's index cost a million-pair ingest about
-- a third of its write time and hundreds of MB); an ingest keeps one row per id itself (stores made before keep
-- their key)
CREATE TABLE IF NOT EXISTS judgments (
    judgment_id VARCHAR NOT NULL,
    pair_id VARCHAR NOT NULL,
    judge_id VARCHAR NOT NULL,
    dataset VARCHAR NOT NULL,
    verdict VARCHAR NOT NULL CHECK (verdict IN {VERDICTS}),
    verdict_raw VARCHAR,
    prob_b DOUBLE,
    score_a DOUBLE,
    score_b DOUBLE,
    shown_order VARCHAR CHECK (shown_order IN {SHOWN_ORDERS}),
    rationale VARCHAR,
    source_file VARCHAR,
    source_row BIGINT
);
-- figures the dataset's upstream publishes (e.g. AlpacaEval's leaderboard), shown beside prefatlas's own
CREATE TABLE IF NOT EXISTS published (
    dataset VARCHAR NOT NULL,
    judge VARCHAR NOT NULL,
    generator VARCHAR NOT NULL,
    metric VARCHAR NOT NULL,
    value DOUBLE,
    standard_error DOUBLE,
    source VARCHAR,
    PRIMARY KEY (dataset, judge, generator, metric)
);
CREATE TABLE IF NOT EXISTS properties (
    subject_id VARCHAR NOT NULL,
    subject_kind VARCHAR NOT NULL CHECK (subject_kind IN ('response', 'pair')),
    name VARCHAR NOT NULL,
    value DOUBLE,
    source VARCHAR NOT NULL,
    PRIMARY KEY (subject_id, name, source)
);
"""

PAIR_COLUMNS = [
    "subset",
    "category",
    "prompt",
    "context",
    "response_a",
    "response_b",
    "model_a",
    "model_b",
    "upstream_id",
    "source_file",
    "source_row",
]
JUDGMENT_COLUMNS = [
    "pair_row",
    "judge",
    "verdict",
    "verdict_raw",
    "prob_b",
    "score_a",
    "score_b",
    "shown_order",
    "rationale",
    "source_file",
    "source_row",
]
JUDGE_COLUMNS = ["name", "kind", "model", "family", "protocol"]


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All of the block's writes or none of them: COMMIT at the end, ROLLBACK on any error (re-raised)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def arrow_rows(
    con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None, tables: dict[str, object] | None = None
) -> pa.Table:
    """A query's rows as an Arrow table, on any connection or page cursor; `tables`: frames or Arrow tables the
    query reads by these names (registered for this query only). (con.sql with parameters and register() refuse to
    run while an earlier result on the connection is unfinished, e.g. after a fetchone(); execute does not. Its
    one extra copy of the rows is cheap next to a million Python strings.)"""
    tables = tables or {}
    if tables:
        con.abort()  # drops the rest of a result an earlier query left open (a fetchone()): register() refuses then
    for name, table in tables.items():
        con.register(name, table)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "Arrow output on a DB-API result makes an extra copy"
            return con.execute(sql, params or {}).to_arrow_table()
    finally:
        for name in tables:
            con.unregister(name)


def default_store_path() -> Path:
    """``PREFATLAS_STORE`` if set, else ``data/store/prefatlas.duckdb`` in the checkout (git-ignored)."""
    env = os.environ.get("PREFATLAS_STORE")
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[1] / "data" / "store" / "prefatlas.duckdb"


LOCK_WAIT_S = 300.0  # default wait for another process's hold on the store (env PREFATLAS_LOCK_WAIT, seconds)


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the store has the table (tables of optional features are made when first written)."""
    found = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = $t", {"t": name})
    return bool(found.fetchone()[0])


WRITE_WANTED_FRESH_S = 5.0  # a waiting writer touches its flag every retry; an older flag is a writer long gone


def write_wanted_path(path: str | Path) -> Path:
    """The flag a writer waiting for the store keeps fresh beside it: a dashboard, which holds its read-only
    connection open between page runs (reopening costs a page its warm buffers), then closes it at once."""
    path = Path(path)
    return path.with_name(path.name + ".write-wanted")


def write_wanted(path: str | Path) -> bool:
    """Whether a writer is waiting for the store now (its flag touched in the last few seconds)."""
    try:
        return time.time() - write_wanted_path(path).stat().st_mtime < WRITE_WANTED_FRESH_S
    except OSError:
        return False


def is_lock_conflict(exc: BaseException) -> bool:
    """Another process holds the file (DuckDB: one writer, or several readers, never both)."""
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


def connect(
    path: str | Path,
    read_only: bool = False,
    wait_s: float = 0.0,
    on_wait: Callable[[str], None] | None = None,
    memory: str | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open (and for writers, create or migrate) the store. While another process holds it (the dashboard between
    a page run's start and end, or another ingest), retry for up to `wait_s` seconds, telling `on_wait` once.
    `memory`: the DuckDB memory cap, a MEMORY_LIMIT kind (default 'read' or 'write')."""
    path = Path(path)
    if read_only and not path.exists():
        raise FileNotFoundError(f"no store at {path}: run `prefatlas ingest` or `prefatlas demo` first")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_s
    told = False
    flag = write_wanted_path(path) if not read_only else None
    flagged = False
    try:
        while True:
            try:
                con = duckdb.connect(str(path), read_only=read_only)
                break
            except duckdb.IOException as exc:
                if not is_lock_conflict(exc) or time.monotonic() >= deadline:
                    raise
                if on_wait is not None and not told:
                    on_wait("the store is open in another process (a dashboard page, or another command); waiting")
                    told = True
                if flag is not None:
                    with contextlib.suppress(OSError):  # a dashboard serving the store lets go of it between runs
                        flag.touch()
                        flagged = True
                time.sleep(0.2)
    finally:
        if flagged:
            with contextlib.suppress(OSError):
                flag.unlink(missing_ok=True)
    _set_memory_limit(con, memory or ("read" if read_only else "write"))
    con.execute("SET enable_progress_bar = false")  # DuckDB draws it on stdout: into a --json output, a page's log
    # DuckDB's allocator hands freed memory back to the system from a background thread; without it a query's
    # working memory stays resident after the query (reading a million pairs' verdicts: 0.27 GB kept for nothing)
    con.execute("SET allocator_background_threads = true")
    if not read_only:
        ensure_schema(con)
    elif _needs_migration(con):  # a store an older prefatlas wrote: migrated once by a short writer, then read
        con.close()
        connect(path, wait_s=max(wait_s, 0.0), on_wait=on_wait).close()
        return connect(path, read_only=True, wait_s=wait_s, on_wait=on_wait, memory=memory)
    return con


def _needs_migration(con: duckdb.DuckDBPyConnection) -> bool:
    if not has_table(con, "meta"):
        return False
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return row is not None and row[0] in MIGRATED_VERSIONS


# DuckDB's own memory per connection (it spills to a temporary file beyond; DuckDB's default is 80 % of the
# machine). A command's reader gets 512 MB: aggregating a million pairs' judgments peaks at 1.0 GB resident with it,
# 1.4 GB with 1 GB, 3 GB without a cap, in about the same time (spilled hash tables); results larger than the cap
# still come back whole. The dashboard's one reader, which every session's queries share, keeps 1 GB ('serve').
# Other writers (maps, imports, deletions) get 2 GB. An ingest's transaction only appends, with no index to keep:
# 512 MB took a million pairs 83 s and 1.9 GB resident, against 86 s and 3.3 GB with 2 GB (with the primary
# keys' indexes, 1 GB could not commit). PREFATLAS_MEMORY_LIMIT sets them all ("none": DuckDB's default).
MEMORY_LIMIT = {"write": "2GB", "read": "512MB", "serve": "1GB", "ingest": "512MB"}


def _set_memory_limit(con: duckdb.DuckDBPyConnection, kind: str) -> None:
    limit = os.environ.get("PREFATLAS_MEMORY_LIMIT", MEMORY_LIMIT[kind]).strip().replace("'", "")
    if limit and limit.lower() != "none":
        con.execute(f"SET memory_limit = '{limit}'")


@contextmanager
def memory_for(con: duckdb.DuckDBPyConnection, kind: str) -> Iterator[None]:
    """A writer's memory cap set to MEMORY_LIMIT[kind] for a block, then back to a writer's."""
    _set_memory_limit(con, kind)
    try:
        yield
    finally:
        _set_memory_limit(con, "write")


class StoreAccess:
    """How a long computation reaches the store: `read()` and `write()` each give a connection for one short step,
    so the hours of work in between (embedding, a UMAP layout) hold no lock. This base class hands out one
    connection it was given (tests, or a caller that already holds a writer)."""

    def __init__(self, con: duckdb.DuckDBPyConnection | None = None) -> None:
        self.con = con

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        yield self.con

    @contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        yield self.con


class ShortConnections(StoreAccess):
    """Each step opens the store file and closes it again (the CLI): a dashboard serving the same store reads
    between the steps, and a step waits while another process holds the file."""

    def __init__(self, path: Path, wait_s: float = LOCK_WAIT_S, on_wait: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self.path, self.wait_s, self.on_wait = Path(path), wait_s, on_wait

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        con = connect(self.path, read_only=True, wait_s=self.wait_s, on_wait=self.on_wait)
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        con = connect(self.path, wait_s=self.wait_s, on_wait=self.on_wait)
        try:
            yield con
        finally:
            con.close()


def _builtin_properties_ddl() -> str:
    from analytics.properties import COLUMNS  # the property definitions own their columns

    columns = ", ".join(f"{c} DOUBLE" for c in COLUMNS.values())
    return (
        "CREATE TABLE IF NOT EXISTS builtin_properties "
        f"(response_id VARCHAR NOT NULL, source VARCHAR NOT NULL, {columns})"
    )


# Columns a table computes from its other columns as rows are inserted (by whatever writes them: an ingest, an
# import of exported files); no writer hands them in.
DERIVED_COLUMNS = {"responses": {"chars": "length(text)"}}


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(_DDL)
    con.execute(_builtin_properties_ddl())
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None:
        con.execute("INSERT INTO meta VALUES ('schema_version', $v)", {"v": SCHEMA_VERSION})
    elif row[0] in MIGRATED_VERSIONS:
        with transaction(con):
            if row[0] == "1":  # version 1 kept builtin properties in the long table; they are recomputed
                con.execute("DELETE FROM properties WHERE source LIKE 'prefatlas-%'")
            con.execute("ALTER TABLE responses ADD COLUMN IF NOT EXISTS chars BIGINT")
            for table, columns in DERIVED_COLUMNS.items():
                sets = ", ".join(f"{c} = {expression}" for c, expression in columns.items())
                con.execute(f"UPDATE {table} SET {sets}")
            con.execute("UPDATE meta SET value = $v WHERE key = 'schema_version'", {"v": SCHEMA_VERSION})
    elif row[0] != SCHEMA_VERSION:
        raise RuntimeError(
            f"store schema version {row[0]} differs from this prefatlas ({SCHEMA_VERSION}); "
            "re-create the store with `prefatlas demo --rebuild` or ingest into a new --store"
        )


@dataclass
class DatasetMeta:
    name: str
    version: str
    adapter: str
    title: str | None = None
    source: str | None = None
    licence: str | None = None
    licence_note: str | None = None
    files: list[str] = field(default_factory=list)


@dataclass
class Skipped:
    file: str
    row: int | None
    reason: str


PUBLISHED_COLUMNS = ["judge", "generator", "metric", "value", "standard_error", "source"]


@dataclass
class IngestBatch:
    """What an adapter hands to the store: canonical pairs, judgments (pointing at pairs by row position) and judges."""

    meta: DatasetMeta
    pairs: pd.DataFrame
    judgments: pd.DataFrame
    judges: pd.DataFrame
    rows_read: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    properties: pd.DataFrame | None = None  # imported per-response values: pair_row, side ('a'/'b'), name, value
    published: pd.DataFrame | None = None  # upstream's own figures: PUBLISHED_COLUMNS (shown beside prefatlas's)


@dataclass
class VerdictBatch:
    """A judge's outputs for pairs already in the store (mapping [join]): judgments in JUDGMENT_COLUMNS (pair_row
    unused) plus join_key (the pair's id, or the row of the dataset's file as text), join_prompt (the prompt the file
    repeats, or None), file_index (which of `files` the row came from) and repeat."""

    dataset: str
    by: str  # 'id' | 'row'
    judgments: pd.DataFrame
    judges: pd.DataFrame
    files: list[str]
    version: str
    rows_read: int
    skip_unmatched: bool = False


@dataclass
class IngestSummary:
    dataset: str
    status: str  # 'ingested' | 'replaced' | 'unchanged'
    pairs: int
    judges: int
    judgments: int
    rows_read: int
    skipped: list[Skipped]
    merged_rows: int = 0  # rows that became a pair another row already made (identical content, no id)
    conflicts: list[str] = field(default_factory=list)  # such pairs whose rows a judge labelled differently

    def as_text(self) -> str:
        lines = [
            f"{self.dataset}: {self.status}: {self.pairs} pairs, {self.judges} judges, "
            f"{self.judgments} judgments from {self.rows_read} rows read; {len(self.skipped)} rows skipped"
        ]
        if self.merged_rows:
            lines.append(
                f"  merged {self.merged_rows} rows into pairs of identical content (their verdicts all kept, on one "
                'pair); [columns] id = "@row" keeps every row its own pair'
            )
        if self.conflicts:
            lines.append(
                f"  {len(self.conflicts)} merged pairs have rows a judge labelled differently, e.g. rows "
                + "; ".join(self.conflicts[:5])
            )
        reasons: dict[str, int] = {}
        for s in self.skipped:
            reasons[s.reason] = reasons.get(s.reason, 0) + 1
        for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1]):
            lines.append(f"  skipped {n}: {reason}")
        return "\n".join(lines)


DATASET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")


def check_dataset_name(name: object) -> str:
    """The name a dataset has in the store, its links, and the file names of its exports and caches: 1–80 letters,
    digits, '.', '_' or '-', starting with a letter or digit. Anything else is refused with a message."""
    if not isinstance(name, str) or not DATASET_NAME.fullmatch(name) or ".." in name:
        shown = repr(name)[:60] + ("…" if len(repr(name)) > 60 else "")
        raise ValueError(
            f"dataset name {shown} is not valid: use 1–80 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (e.g. 'my-study_v2')"
        )
    return name


def _check_batch(batch: IngestBatch) -> None:
    """Invariants every adapter must meet; a violation is a bug in the adapter, caught before any write."""
    check_dataset_name(batch.meta.name)
    missing = set(PAIR_COLUMNS) - set(batch.pairs.columns)
    if missing:
        raise ValueError(f"adapter {batch.meta.adapter}: pairs lack columns {sorted(missing)}")
    missing = set(JUDGMENT_COLUMNS) - set(batch.judgments.columns)
    if missing:
        raise ValueError(f"adapter {batch.meta.adapter}: judgments lack columns {sorted(missing)}")
    bad = set(batch.judgments["verdict"].dropna().unique()) - set(VERDICTS)
    if bad or batch.judgments["verdict"].isna().any():
        raise ValueError(
            f"adapter {batch.meta.adapter}: verdicts must be one of {VERDICTS}, got {sorted(map(str, bad))}"
        )
    bad = set(batch.judges["kind"].unique()) - set(JUDGE_KINDS)
    if bad:
        raise ValueError(f"adapter {batch.meta.adapter}: judge kinds must be one of {JUDGE_KINDS}, got {sorted(bad)}")
    unknown = set(batch.judgments["judge"].unique()) - set(batch.judges["name"])
    if unknown:
        raise ValueError(f"adapter {batch.meta.adapter}: judgments name undeclared judges {sorted(unknown)}")
    n = len(batch.pairs)
    rows = batch.judgments["pair_row"]
    if len(rows) and (rows.min() < 0 or rows.max() >= n):
        raise ValueError(f"adapter {batch.meta.adapter}: judgment pair_row out of range")


def _none_if_na(values: pd.Series) -> list:
    """The values as a list with every missing value (None, NaN, NA) as None, in one vectorised pass."""
    objects = values.astype(object)
    return objects.where(values.notna(), None).tolist()


def _judges_frame(declared: pd.DataFrame) -> pd.DataFrame:
    """The judges table's rows for declared judges (name, kind, model, family, protocol): one id per name."""
    jg = declared.drop_duplicates("name")
    return pd.DataFrame(
        {
            "judge_id": [content_id("judge", n) for n in jg["name"]],
            "name": jg["name"].tolist(),
            "kind": jg["kind"].tolist(),
            "model": _none_if_na(jg["model"]),
            "family": _none_if_na(jg["family"]),
            "protocol": _none_if_na(jg["protocol"]),
        }
    )


def _strings(values: pd.Series | list) -> pa.Array:
    """A column as Arrow text, every missing value (None, NaN, NA) null. Text columns convert as whole columns
    (pandas' Arrow-backed strings without a copy); other values are written as str() writes them."""
    if isinstance(values, pd.Series) and pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        return pa.array(values, type=pa.string(), from_pandas=True)
    listed = _none_if_na(values) if isinstance(values, pd.Series) else values
    return pa.array([None if v is None else v if isinstance(v, str) else str(v) for v in listed], type=pa.string())


def _numbers(values: pd.Series) -> pa.Array:
    """A numeric column as Arrow doubles; what does not read as a number (and NaN) is null."""
    return pa.array(pd.to_numeric(values, errors="coerce").astype("float64"), type=pa.float64(), from_pandas=True)


def _judge_ids(names: pd.Series, judge_id_of: dict[str, str]) -> pa.Array:
    """Each judgment's judge id: the names dictionary-encoded, so each distinct name is looked up once."""
    encoded = _strings(names).dictionary_encode()
    ids = pa.array([judge_id_of.get(n) for n in encoded.dictionary.to_pylist()], type=pa.string())
    return ids.take(encoded.indices)


def _judgments_frame(j: pd.DataFrame, pair_ids: pa.Array, judges: pd.DataFrame, dataset: str) -> pa.Table:
    """The judgments table's rows for judgments in JUDGMENT_COLUMNS (index 0..n-1) whose pairs have `pair_ids`,
    built as Arrow columns (DuckDB reads them without Python objects); their ids are made as they are inserted
    (_insert_judgments)."""
    judge_id_of = dict(zip(judges["name"], judges["judge_id"], strict=True))
    repeat = j["repeat"].fillna(0).astype("int64") if "repeat" in j.columns else np.zeros(len(j), dtype=np.int64)
    return pa.table(
        {
            "pair_id": pair_ids,
            "judge_id": _judge_ids(j["judge"], judge_id_of),
            "dataset": pa.array(np.full(len(j), dataset, dtype=object), type=pa.string()),
            "verdict": _strings(j["verdict"]),
            "verdict_raw": _strings(j["verdict_raw"]),
            "prob_b": _numbers(j["prob_b"]),
            "score_a": _numbers(j["score_a"]),
            "score_b": _numbers(j["score_b"]),
            "shown_order": _strings(j["shown_order"]),
            "rationale": _strings(j["rationale"]),
            "source_file": _strings(j["source_file"]),
            "source_row": pa.array(pd.array(_none_if_na(j["source_row"]), dtype="Int64"), type=pa.int64()),
            "repeat": pa.array(np.asarray(repeat, dtype=np.int64)),
        }
    )


# A judgment's id hashes where it came from: its pair, judge, shown order, source file and row, and which of a
# row's counted verdicts it is (two raters' rows, or repeated runs, are never merged). Made by DuckDB over whole
# columns (96 bits of md5; nothing looks judgments up by id, and a store made before keeps its blake2b ids).
_JUDGMENT_ID = (
    "substr(md5(concat_ws(chr(31), pair_id, judge_id, coalesce(shown_order, chr(0)), coalesce(source_file, chr(0)), "
    "coalesce(CAST(source_row AS VARCHAR), chr(0)), CAST(repeat AS VARCHAR))), 1, 24)"
)


def _insert_judgments(con: duckdb.DuckDBPyConnection, incoming_judgments: pa.Table) -> None:
    """Insert _judgments_frame's rows, each id once (the table has no key to ignore a repeat by, see its DDL)."""
    if incoming_judgments.num_rows == 0:
        return
    cols = ", ".join(c for c in incoming_judgments.column_names if c != "repeat")
    con.execute(  # incoming_judgments is read by name (a replacement scan)
        f"""INSERT INTO judgments (judgment_id, {cols})
            SELECT judgment_id, {cols} FROM (SELECT {_JUDGMENT_ID} AS judgment_id, * FROM incoming_judgments)
            QUALIFY row_number() OVER (PARTITION BY judgment_id) = 1"""  # one id is one source row: any copy
    )


def _first_of_each(table: pa.Table, ids: list[str]) -> pa.Table:
    """The table's rows with the first of each id (a prompt asked in many pairs of a batch is written once)."""
    repeated = pd.Index(ids).duplicated()
    return table.filter(pa.array(~repeated)) if repeated.any() else table


def _frames_with_ids(batch: IngestBatch) -> dict[str, pa.Table]:
    """Compute every content id and build the table-shaped Arrow tables."""
    p = batch.pairs.reset_index(drop=True)
    ds = batch.meta.name
    prompt, text_a, text_b = (p[c].astype(str) for c in ("prompt", "response_a", "response_b"))
    context = _none_if_na(p["context"])
    prompt_ids = content_ids(prompt, context)
    model_a = _none_if_na(p["model_a"])
    model_b = _none_if_na(p["model_b"])
    a_ids = content_ids(prompt_ids, text_a, model_a)
    b_ids = content_ids(prompt_ids, text_b, model_b)
    subset = _none_if_na(p["subset"])
    upstream = [None if v is None else str(v) for v in _none_if_na(p["upstream_id"])]
    pair_ids = content_ids([ds] * len(p), subset, prompt_ids, a_ids, b_ids, upstream)

    prompt_id_column = pa.array(prompt_ids, type=pa.string())
    prompts = _first_of_each(
        pa.table({"prompt_id": prompt_id_column, "text": _strings(prompt), "context": _strings(context)}), prompt_ids
    )
    responses = pa.concat_tables(
        [
            pa.table(
                {
                    "response_id": pa.array(ids, type=pa.string()),
                    "prompt_id": prompt_id_column,
                    "text": _strings(texts),
                    "generator": _strings(models),
                }
            )
            for ids, texts, models in ((a_ids, text_a, model_a), (b_ids, text_b, model_b))
        ]
    )
    response_ids = responses.column("response_id")
    pair_id_column = pa.array(pair_ids, type=pa.string())
    pairs = pa.table(
        {
            "pair_id": pair_id_column,
            "dataset": pa.array(np.full(len(p), ds, dtype=object), type=pa.string()),
            "subset": _strings(subset),
            "category": _strings(p["category"]),
            "prompt_id": prompt_id_column,
            "response_a_id": response_ids.slice(0, len(p)),
            "response_b_id": response_ids.slice(len(p)),
            "upstream_id": _strings(upstream),
            "source_file": _strings(p["source_file"]),
            "source_row": pa.array(pd.array(_none_if_na(p["source_row"]), dtype="Int64"), type=pa.int64()),
        }
    )

    judges = _judges_frame(batch.judges)
    j = batch.judgments.reset_index(drop=True)
    rows = pa.array(j["pair_row"].to_numpy(dtype=np.int64))
    judgments = _judgments_frame(j, pair_id_column.take(rows), judges, ds)
    responses = _first_of_each(responses, a_ids + b_ids)
    pairs = _first_of_each(pairs, pair_ids)  # rows of the same content are one pair (their verdicts all kept)
    frames = {"prompts": prompts, "responses": responses, "pairs": pairs, "judges": judges, "judgments": judgments}
    if batch.properties is not None and not batch.properties.empty:
        x = batch.properties
        ids = [a_ids[r] if side == "a" else b_ids[r] for r, side in zip(x["pair_row"], x["side"], strict=True)]
        frames["properties"] = pd.DataFrame(
            {
                "subject_id": ids,
                "subject_kind": "response",
                "name": x["name"].tolist(),
                "value": pd.to_numeric(x["value"], errors="coerce").astype("float64"),
                "source": f"import:{ds}",
            }
        ).drop_duplicates(["subject_id", "name"])
    return frames


# The columns that identify a row of each table: a row whose key is stored already is the same row (the content
# tables' ids are hashes of their content) and is not written again. Judgments have none (see their DDL).
ROW_KEYS = {
    "prompts": ("prompt_id",),
    "responses": ("response_id",),
    "pairs": ("pair_id",),
    "judges": ("judge_id",),
    "properties": ("subject_id", "name", "source"),
    "published": ("dataset", "judge", "generator", "metric"),
    "datasets": ("name",),
    "embedding_models": ("model_key",),
    "embeddings": ("text_id", "model_key"),
    "builtin_properties": ("response_id", "source"),
}


def insert_new(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: list[str],
    source_sql: str,
    params: dict | None = None,
    repeats: bool = True,
    incoming_rows: pa.Table | None = None,
) -> int:
    """Insert the rows `source_sql` selects (its columns named as `columns`) whose key (ROW_KEYS) the table does
    not hold yet: an anti-join, not a primary key's index (at a million pairs the indexes of the content tables
    took a fifth of an ingest, and their memory). `repeats`: the rows may repeat a key among themselves (files
    from elsewhere), so one row of each key is kept (a content id stands for one content); an ingest hands each
    key once. `incoming_rows`: rows the source reads by that name (a DuckDB replacement scan, which looks in this
    function's variables). Returns how many rows went in."""
    cols = ", ".join(columns)
    keys = ROW_KEYS.get(table)
    if keys is None:
        return con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM ({source_sql})", params).fetchone()[0]
    absent = " AND ".join(f"o.{k} = n.{k}" for k in keys)
    once = f"QUALIFY row_number() OVER (PARTITION BY {', '.join(f'n.{k}' for k in keys)}) = 1" if repeats else ""
    return con.execute(
        f"""INSERT INTO {table} ({cols}) SELECT {cols} FROM ({source_sql}) n
            WHERE NOT EXISTS (SELECT 1 FROM {table} o WHERE {absent}) {once}""",
        params,
    ).fetchone()[0]


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame | pa.Table, repeats: bool = True) -> None:
    # the rows are read by their variable name (a DuckDB replacement scan): con.register() would keep every batch's
    # rows alive until the ingest's transaction commits, a million pairs' worth of memory
    # as Arrow: DuckDB then reads the strings without taking Python's GIL for each one
    rows = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    if rows.num_rows == 0:
        return
    derived = DERIVED_COLUMNS.get(table, {})
    columns = [*rows.column_names, *derived]
    values = ", ".join([*rows.column_names, *(f"{e} AS {c}" for c, e in derived.items())])
    insert_new(con, table, columns, f"SELECT {values} FROM incoming_rows", repeats=repeats, incoming_rows=rows)


def _insert_published(con: duckdb.DuckDBPyConnection, dataset: str, published: pd.DataFrame) -> None:
    """Upstream's figures for a dataset; a batch's figures of a judge replace those stored (an appended shard)."""
    frame = published[PUBLISHED_COLUMNS].assign(dataset=dataset)
    con.execute(
        "DELETE FROM published WHERE dataset = $d AND judge IN (SELECT unnest($j))",
        {"d": dataset, "j": sorted(set(frame["judge"]))},
    )
    _insert(con, "published", frame)


def delete_dataset(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Remove a dataset's pairs and judgments, and prompts/responses no other dataset uses.

    The caller owns the transaction."""
    con.execute("DELETE FROM judgments WHERE dataset = $d", {"d": name})
    con.execute("DELETE FROM pairs WHERE dataset = $d", {"d": name})
    con.execute("DELETE FROM datasets WHERE name = $d", {"d": name})
    con.execute("DELETE FROM published WHERE dataset = $d", {"d": name})
    # anti-joins on equalities (an OR of two columns would make DuckDB loop over every pair for every response)
    con.execute(
        "DELETE FROM responses WHERE response_id NOT IN "
        "(SELECT response_a_id FROM pairs UNION ALL SELECT response_b_id FROM pairs)"
    )
    con.execute("DELETE FROM prompts WHERE prompt_id NOT IN (SELECT prompt_id FROM pairs)")
    con.execute("DELETE FROM builtin_properties WHERE response_id NOT IN (SELECT response_id FROM responses)")
    con.execute(
        "DELETE FROM properties x WHERE x.subject_kind = 'pair' AND NOT EXISTS "
        "(SELECT 1 FROM pairs p WHERE p.pair_id = x.subject_id)"
    )
    con.execute(
        "DELETE FROM properties x WHERE x.subject_kind = 'response' AND NOT EXISTS "
        "(SELECT 1 FROM responses r WHERE r.response_id = x.subject_id)"
    )


def _reconcile_judges(con: duckdb.DuckDBPyConnection, judges: pd.DataFrame) -> None:
    """A judge is one row per name across datasets. A declared kind that differs from the stored one is an error
    while other data uses that judge (never silently kept); a judge nothing uses any more takes the new declaration."""
    declared = dict(zip(judges["name"], judges["kind"], strict=True))
    stored = con.execute(
        """SELECT j.judge_id, j.name, j.kind, EXISTS (SELECT 1 FROM judgments x WHERE x.judge_id = j.judge_id)
           FROM judges j WHERE j.name IN (SELECT unnest($names))""",
        {"names": list(declared)},
    ).fetchall()
    for judge_id, name, kind, used in stored:
        if kind == declared[name]:
            continue
        if used:
            raise ValueError(
                f"judge '{name}' is stored as kind '{kind}' (it judges other data); this data declares it "
                f"'{declared[name]}': declare '{kind}', or give this judge another name"
            )
        con.execute("DELETE FROM judges WHERE judge_id = $j", {"j": judge_id})


WHEN_STORED = ("replace", "append", "refuse")


def write_batch(
    con: duckdb.DuckDBPyConnection, batch: IngestBatch, force: bool = False, when_stored: str = "replace"
) -> IngestSummary:
    """Write one dataset atomically: all of it or, on any error, nothing (the store is left as it was).

    Same version already stored -> nothing is written ('unchanged'). Another version: see write_batches.
    """
    return write_batches(con, iter([batch]), force, when_stored)


def write_batches(
    con: duckdb.DuckDBPyConnection,
    batches: Iterator[IngestBatch],
    force: bool = False,
    when_stored: str = "replace",
) -> IngestSummary:
    """Write one dataset given as consecutive batches (a large file read in pieces), in one transaction: all of
    it or nothing. The first batch's metadata describes the dataset; content ids make rows shared between batches
    (a prompt asked again) one row. Same version already stored -> nothing is read past the first batch.

    A dataset of that name with another version is replaced (`when_stored` 'replace': a catalog dataset read
    again), extended by these files ('append': more shards), or left alone with an error ('refuse')."""
    from analytics.properties import insert_computed, properties_worker, texts_without_properties

    first = next(batches)
    meta = first.meta
    check_dataset_name(meta.name)
    existing = con.execute(
        "SELECT version, files, rows_read, skipped, rows_skipped FROM datasets WHERE name = $n", {"n": meta.name}
    ).fetchone()
    if existing is not None and existing[0] == meta.version and not force:
        counts = dataset_counts(con, meta.name)
        return IngestSummary(
            meta.name, "unchanged", counts["pairs"], counts["judges"], counts["judgments"], first.rows_read, []
        )
    append = existing is not None and when_stored == "append"
    if existing is not None and when_stored == "refuse":
        counts = dataset_counts(con, meta.name)
        raise ValueError(
            f"dataset '{meta.name}' is already in the store ({counts['pairs']} pairs from "
            f"{', '.join(json.loads(existing[1] or '[]')[:3])}): --replace replaces it, --append adds these files "
            "to it, --name stores this data under another name"
        )
    rows_read, skipped, unlisted = 0, [], 0
    if append:
        old_files = json.loads(existing[1] or "[]")
        again = sorted(set(meta.files) & set(old_files))
        if again:
            raise ValueError(
                f"dataset '{meta.name}' already holds {', '.join(again)}; --replace reads the dataset anew"
            )
        meta.files = old_files + meta.files
        meta.version = content_id(existing[0], "append", meta.version)
        rows_read = int(existing[2] or 0)
        skipped = [Skipped(**x) for x in json.loads(existing[3] or "[]")]
        unlisted = int(existing[4] or 0) - len(skipped)  # only the first 1000 skipped rows are listed
    # The builtin properties are part of the unit (never pairs without them), computed batch by batch (memory stays
    # bounded) while this thread reads and writes the next batch (properties_worker says where).
    with memory_for(con, "ingest"), transaction(con), properties_worker(len(first.pairs)) as worker:
        computing, reconciled = False, set()
        if existing is not None:
            if append:
                con.execute("DELETE FROM datasets WHERE name = $d", {"d": meta.name})  # rewritten below
            else:
                delete_dataset(con, meta.name)
        for batch in itertools.chain([first], batches):
            _check_batch(batch)
            if batch.meta.name != meta.name:
                raise ValueError(f"batches of one dataset name two: {meta.name}, {batch.meta.name}")
            new_judges = batch.judges[~batch.judges["name"].isin(reconciled)]
            if len(new_judges):  # once per judge and ingest: the check reads every judgment of the judge
                _reconcile_judges(con, new_judges)
                reconciled.update(new_judges["name"])
            frames = _frames_with_ids(batch)  # each key once
            for table in ("prompts", "responses", "judges", "pairs", "properties"):
                if table in frames:
                    _insert(con, table, frames[table], repeats=False)
            _insert_judgments(con, frames["judgments"])
            texts = texts_without_properties(con, frames["responses"])
            if computing:
                insert_computed(con, worker.result())
            worker.submit(texts)
            computing = True
            if batch.published is not None and not batch.published.empty:
                _insert_published(con, meta.name, batch.published)
            rows_read += batch.rows_read
            skipped += batch.skipped
            del frames, texts
        if computing:
            insert_computed(con, worker.result())
        con.execute(
            "INSERT INTO datasets VALUES ($name, $title, $source, $licence, $note, $adapter, $version, $files, "
            "$at, $read, $nskip, $skipped)",
            {
                "name": meta.name,
                "title": meta.title,
                "source": meta.source,
                "licence": meta.licence,
                "note": meta.licence_note,
                "adapter": meta.adapter,
                "version": meta.version,
                "files": json.dumps(meta.files),
                "at": datetime.now(UTC).replace(tzinfo=None),
                "read": rows_read,
                "nskip": len(skipped) + unlisted,
                "skipped": json.dumps([s.__dict__ for s in skipped[:1000]]),
            },
        )
    # The checkpoint that moves the transaction's rows into the file runs now, under the ingest's cap: left to the
    # connection's close, under a writer's 2 GB, it took a million pairs' ingest from 1.2 to 1.9 GB resident
    with memory_for(con, "ingest"):
        con.execute("CHECKPOINT")
        counts = dataset_counts(con, meta.name)
    merged, conflicts = 0, []
    if meta.adapter == "mapping":  # one row is one pair: fewer pairs than rows kept means rows were merged
        merged = rows_read - len(skipped) - unlisted - counts["pairs"]
        if merged:
            conflicts = [
                ", ".join(rows)
                for (rows,) in con.execute(
                    """SELECT list(DISTINCT source_file || ':' || source_row ORDER BY source_file || ':' || source_row)
                       FROM judgments WHERE dataset = $d GROUP BY pair_id, judge_id
                       HAVING count(DISTINCT source_file || ':' || source_row) > 1 AND count(DISTINCT verdict) > 1
                       ORDER BY min(source_row) LIMIT 1000""",
                    {"d": meta.name},
                ).fetchall()
            ]
    return IngestSummary(
        meta.name,
        "appended" if append else "replaced" if existing is not None else "ingested",
        counts["pairs"],
        counts["judges"],
        counts["judgments"],
        rows_read,
        skipped,
        merged,
        conflicts,
    )


def _match_verdicts(
    con: duckdb.DuckDBPyConnection, batch: VerdictBatch, files: list[str], rows_read: int
) -> pd.DataFrame:
    """Each incoming judgment with the pair_id it belongs to (None when no pair matches); raises on ambiguity,
    on a row count that does not line up, and on a prompt that differs from the pair's."""
    v = batch.judgments.reset_index(drop=True).copy()
    v["_k"] = range(len(v))
    where = f"verdicts for '{batch.dataset}'"
    if batch.by == "row":
        if len(files) == 1:
            targets = files * len(batch.files)
            by_file = v.drop_duplicates(["file_index", "source_row"]).groupby("file_index").size()
            for index, count in by_file.items():
                if count != rows_read:
                    raise ValueError(
                        f"{batch.files[index]}: {count} rows, but '{batch.dataset}' was read from {rows_read} rows of "
                        f"{files[0]}: joined by row, the file must list the dataset's rows in order, one per row"
                    )
        elif len(batch.files) == len(files):
            targets = files  # shard i of the verdicts belongs to shard i of the dataset
        else:
            raise ValueError(
                f"{where}: joined by row, give one verdict file for each of the dataset's {len(files)} files "
                f"({', '.join(files[:5])}), in that order; or join by id"
            )
        v["target_file"] = [targets[i] for i in v["file_index"]]
        on = "p.source_file = v.target_file AND p.source_row = CAST(v.join_key AS BIGINT)"
    else:
        on = "p.upstream_id = v.join_key"
    con.register("_incoming_verdicts", v)
    try:
        matched = con.execute(
            f"""SELECT v._k, p.pair_id, pr.text AS pair_prompt
                FROM _incoming_verdicts v
                LEFT JOIN pairs p ON p.dataset = $d AND {on}
                LEFT JOIN prompts pr ON pr.prompt_id = p.prompt_id""",
            {"d": batch.dataset},
        ).df()
    finally:
        con.unregister("_incoming_verdicts")
    twice = matched["_k"].duplicated(keep=False)
    if twice.any():
        k = int(matched.loc[twice, "_k"].iloc[0])
        raise ValueError(
            f"{where}: id {v.at[k, 'join_key']!r} ({batch.files[v.at[k, 'file_index']]}, row {v.at[k, 'source_row']}) "
            "matches several pairs of the dataset: its ids are not unique, so join by row"
        )
    v = v.merge(matched, on="_k", how="left")
    if v["join_prompt"].notna().any():
        differs = v["join_prompt"].notna() & v["pair_id"].notna()
        differs &= v["join_prompt"].astype(str).str.strip() != v["pair_prompt"].astype(str).str.strip()
        if differs.any():
            first = v[differs].iloc[0]
            raise ValueError(
                f"{batch.files[first['file_index']]}, row {first['source_row']}: its prompt "
                f"{str(first['join_prompt'])[:60]!r} is not the matched pair's {str(first['pair_prompt'])[:60]!r} "
                f"({int(differs.sum())} rows differ): the file is not in the dataset's order, or ids do not match"
            )
    return v


def add_judgments(con: duckdb.DuckDBPyConnection, batch: VerdictBatch) -> IngestSummary:
    """Add a judge's verdicts to a dataset in the store, in one transaction. Re-adding a judge replaces its
    judgments in the shown orders this batch holds (a run in AB order replaces the last AB run, not the BA one).
    Rows that match no pair are an error, or with on_bad_row = "skip" are reported as skipped."""
    check_dataset_name(batch.dataset)
    found = con.execute(
        "SELECT version, files, rows_read FROM datasets WHERE name = $d", {"d": batch.dataset}
    ).fetchall()  # fetched to the end: register() refuses a connection with an unfinished result
    row = found[0] if found else None
    if row is None:
        raise ValueError(f"dataset '{batch.dataset}' is not in the store; ingest it first (`prefatlas stats` lists it)")
    version, files_json, rows_read = row
    sources = {
        f
        for (f,) in con.execute(
            "SELECT DISTINCT source_file FROM pairs WHERE dataset = $d", {"d": batch.dataset}
        ).fetchall()
    }
    files = json.loads(files_json or "[]")
    data_files = [f for f in files if f in sources]  # the files the pairs came from, not verdict files added since
    v = _match_verdicts(con, batch, data_files, int(rows_read or 0))
    unmatched = v[v["pair_id"].isna()].drop_duplicates(["file_index", "source_row"])
    skipped = [
        Skipped(batch.files[r.file_index], int(r.source_row), f"matches no pair of {batch.dataset} (key {r.join_key})")
        for r in unmatched.itertuples()
    ]
    if skipped and not batch.skip_unmatched:
        listed = ", ".join(f"{s.file} row {s.row} ({s.reason.split('(key ')[-1][:-1]})" for s in skipped[:5])
        raise ValueError(
            f"{len(skipped)} rows match no pair of '{batch.dataset}': {listed}; rows skipped or merged when the "
            'dataset was ingested match nothing. Set on_bad_row = "skip" to leave such rows out'
        )
    v = v[v["pair_id"].notna()].reset_index(drop=True)
    jg = batch.judges
    judges = _judges_frame(jg)
    judgments = _judgments_frame(v, _strings(v["pair_id"]), judges, batch.dataset)
    judge_id_of = dict(zip(judges["name"], judges["judge_id"], strict=True))
    shown = judgments.column("shown_order").to_pylist()
    replaced = sorted({(judge_id_of[n], o) for n, o in zip(v["judge"], shown, strict=True)}, key=str)
    with transaction(con):
        _reconcile_judges(con, jg)
        _insert(con, "judges", judges)
        before = 0
        for judge_id, order in replaced:
            before += con.execute(
                """DELETE FROM judgments WHERE dataset = $d AND judge_id = $j
                   AND shown_order IS NOT DISTINCT FROM $o""",
                {"d": batch.dataset, "j": judge_id, "o": order},
            ).fetchall()[0][0]
        _insert_judgments(con, judgments)
        new_files = files + [f for f in batch.files if f not in files]
        con.execute(
            "UPDATE datasets SET version = $v, files = $f, ingested_at = $at WHERE name = $d",
            {
                "v": content_id(version, "verdicts", batch.version, *sorted(judge_id_of)),
                "f": json.dumps(new_files),
                "at": datetime.now(UTC).replace(tzinfo=None),
                "d": batch.dataset,
            },
        )
    counts = dataset_counts(con, batch.dataset)
    return IngestSummary(
        batch.dataset,
        f"verdicts of {', '.join(sorted(judge_id_of))} " + ("replaced" if before else "added"),
        counts["pairs"],
        counts["judges"],
        counts["judgments"],
        batch.rows_read,
        skipped,
    )


def dataset_counts(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, int]:
    row = con.execute(
        """
        SELECT
          (SELECT count(*) FROM pairs WHERE dataset = $d),
          (SELECT count(DISTINCT prompt_id) FROM pairs WHERE dataset = $d),
          (SELECT count(*) FROM (SELECT response_a_id AS r FROM pairs WHERE dataset = $d
                                 UNION SELECT response_b_id FROM pairs WHERE dataset = $d)),
          (SELECT count(DISTINCT judge_id) FROM judgments WHERE dataset = $d),
          (SELECT count(*) FROM judgments WHERE dataset = $d)
        """,
        {"d": name},
    ).fetchone()
    return dict(zip(("pairs", "prompts", "responses", "judges", "judgments"), row, strict=True))


def store_stats(con: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    """Per-dataset counts, with per-subset pair counts and per-judge judgment counts."""
    out: dict[str, dict] = {}
    for (name,) in con.execute("SELECT name FROM datasets ORDER BY name").fetchall():
        stats: dict = dataset_counts(con, name)
        # pairs per subset; a dataset without subsets has none listed (not one subset named '')
        stats["subsets"] = dict(
            con.execute(
                "SELECT subset, count(*) FROM pairs WHERE dataset = $d AND subset IS NOT NULL GROUP BY 1 ORDER BY 1",
                {"d": name},
            ).fetchall()
        )
        stats["judgments_per_judge"] = dict(
            con.execute(
                "SELECT j.name, count(*) FROM judgments x JOIN judges j USING (judge_id) "
                "WHERE x.dataset = $d GROUP BY 1 ORDER BY 1",
                {"d": name},
            ).fetchall()
        )
        out[name] = stats
    return out
