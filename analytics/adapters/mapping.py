"""The generic adapter: any CSV / JSONL / JSON / Parquet file plus a small mapping file (TOML or JSON).

The mapping says which column holds what, and how each verdict column's values read as A / B / tie.
Full reference with an example: README "Your own data". Every error names the file, the row and the column.
"""

from __future__ import annotations

import decimal
import difflib
import io
import json
import math
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analytics.adapters.base import IngestError, files_version, open_bytes, read_records
from analytics.store import (
    JUDGE_COLUMNS,
    JUDGE_KINDS,
    JUDGMENT_COLUMNS,
    PAIR_COLUMNS,
    DatasetMeta,
    IngestBatch,
    Skipped,
    VerdictBatch,
    check_dataset_name,
)

FORMATS = ("csv", "jsonl", "json", "parquet", "text")
TEXT_COLUMNS = ("prompt", "response_a", "response_b")
OPTIONAL_COLUMNS = ("context", "model_a", "model_b", "category", "subset", "id", "order")
ROW_ID = "@row"  # [columns] id = "@row": every row is its own pair, even when another row has the same content
TOP_KEYS = (
    "name",
    "title",
    "licence",
    "source",
    "format",
    "records",
    "header",
    "on_bad_row",
    "columns",
    "order",
    "order_values",
    "derive",
    "lookups",
    "ranked",
    "join",
    "verdicts",
    "properties",
)
VERDICT_KEYS = (
    "judge",
    "judge_from",
    "kind",
    "model",
    "family",
    "column",
    "constant",
    "counts",
    "values",
    "frame",
    "order",
    "unknown",
    "prob_b",
    "score_a",
    "score_b",
    "rationale",
)
JOIN_KEYS = ("dataset", "by", "column", "prompt")
LOOKUP_KEYS = ("file", "on", "format", "records")
RANKED_KEYS = ("responses", "text", "model", "rank", "score", "judge", "kind")
RANKED_COLUMNS = {
    "response_a": "@response_a",
    "response_b": "@response_b",
    "model_a": "@model_a",
    "model_b": "@model_b",
}
DERIVE_KEYS = ("constant", "from", "lookup", "default")
TARGETS = ("A", "B", "tie", "unparsed")
ORDERS = ("AB", "BA")
NO_ORDER = "none"
UNORDERED_KINDS = ("gold", "crowd")  # labels nobody saw in an order: no shown order unless the mapping gives one
_FLIP = {"A": "B", "B": "A", "tie": "tie", "unparsed": "unparsed"}
_MAX_LISTED = 5


def _did_you_mean(word: str, options: list[str] | tuple[str, ...]) -> str:
    same_letters = [o for o in options if o.lower() == word.lower()]
    close = same_letters or difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _check_keys(found: dict, allowed: tuple[str, ...], where: str, label: str) -> None:
    for key in found:
        if key not in allowed:
            raise IngestError(
                f"unknown key '{key}' in {where}{_did_you_mean(str(key), allowed)} (allowed: {', '.join(allowed)})",
                file=label,
            )


def _text(raw: dict, key: str, where: str, label: str, what: str) -> str | None:
    """An optional key whose value must be a non-empty string (a column name, a judge's name...)."""
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise IngestError(f"{where} '{key}' must be {what} (text), not {value!r}", file=label)
    return value


def _lookup_table(raw: object, where: str, label: str, allowed: tuple[str, ...] | None = None) -> dict[str, str]:
    """A table of file value -> meaning (verdict values, order values, a derive lookup); keys read like cells."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        example = '{ "model_a" = "A", "model_b" = "B" }' if allowed == TARGETS else '{ "x" = "..." }'
        raise IngestError(f"{where} must be a table of file value = meaning, e.g. {example}; got {raw!r}", file=label)
    out = {}
    for k, v in raw.items():
        if not isinstance(v, str) or (allowed is not None and v not in allowed):
            need = f"one of {', '.join(allowed)}" if allowed else "text"
            raise IngestError(f"{where}: '{k}' = {v!r} must be {need}", file=label)
        out[_key(k) or str(k)] = v
    return out


@dataclass
class VerdictSpec:
    judge: str | None  # None when judge_from names the column holding each row's judge
    kind: str
    column: str | None = None
    constant: str | None = None
    counts: dict[str, str] | None = None  # verdict -> column of how many times it was given (win counts)
    values: dict[str, str] = field(default_factory=dict)
    frame: str = "columns"
    order: str | None = None  # None: the mapping's order; 'AB' / 'BA' / 'none'; else a column read by order_values
    unknown: str = "error"
    judge_from: str | None = None
    model: str | None = None
    family: str | None = None
    prob_b: str | None = None
    score_a: str | None = None
    score_b: str | None = None
    rationale: str | None = None


@dataclass
class DeriveSpec:
    """A column computed before anything is read: a constant, or a lookup of another column's values."""

    constant: str | None = None
    source: str | None = None
    lookup: dict[str, str] | None = None
    default: str | None = None


@dataclass
class LookupSpec:
    """Another file joined to every row of the data file (a question file, a folder of model answers): its columns
    are read as '<lookup name>.<column>'; `on` pairs the data file's key columns with the lookup file's."""

    files: list[str]
    on: dict[str, str]
    format: str | None = None
    records: str | None = None


@dataclass
class RankedSpec:
    """k responses per row, ranked (or scored) by one judge: every two of them become a pair, A the earlier in the
    list; the verdict is the better-ranked one (rank 1 is best; or the higher score), a tie where they are equal."""

    responses: str
    judge: str
    kind: str = "llm"
    text: str | None = None  # the key of each item's text; None: the items are texts
    model: str | None = None
    rank: str | None = None
    score: str | None = None


@dataclass
class JoinSpec:
    """Verdicts for pairs already in the store: matched by an id column (against the pairs' ids) or by row
    (row k of the file = the pair read from row k of the dataset's file), optionally checking the prompt."""

    dataset: str | None
    by: str  # 'id' | 'row'
    column: str | None = None
    prompt: str | None = None


@dataclass
class Mapping:
    name: str
    columns: dict[str, str]
    verdicts: list[VerdictSpec]
    order_values: dict[str, str] = field(default_factory=dict)
    properties: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (column for A, column for B)
    title: str | None = None
    licence: str | None = None
    source: str | None = None
    format: str | None = None
    records: str | None = None  # a JSON file holding one object: the dotted path of its list of records
    header: list[str] | None = None  # the column names of a file without a header line (CSV, text)
    on_bad_row: str = "error"
    order: str | None = None  # every row shown in this order ('AB' / 'BA'), when no order column says otherwise
    derive: dict[str, DeriveSpec] = field(default_factory=dict)
    lookups: dict[str, LookupSpec] = field(default_factory=dict)
    ranked: RankedSpec | None = None
    join: JoinSpec | None = None
    base: Path | None = None  # the mapping file's folder: lookup files are found relative to it


def _parse_verdict(spec: object, n: int, columns: dict, has_order: bool, label: str) -> VerdictSpec:
    where = f"[[verdicts]] #{n}"
    if not isinstance(spec, dict):
        raise IngestError(f"{where} must be a table", file=label)
    spec = {k: v for k, v in spec.items() if v is not None}  # a JSON null is a key not given
    _check_keys(spec, VERDICT_KEYS, where, label)
    judge = _text(spec, "judge", where, label, "the judge's name")
    judge_from = _text(spec, "judge_from", where, label, "the column holding each row's judge")
    if (judge is None) == (judge_from is None):
        raise IngestError(f"{where} needs 'judge' = the judge's name, or 'judge_from' = a column naming it", file=label)
    kind = spec.get("kind", "human")
    if kind not in JUDGE_KINDS:
        raise IngestError(f"{where} kind '{kind}' is not one of {', '.join(JUDGE_KINDS)}", file=label)
    column = _text(spec, "column", where, label, "a column name")
    sources = [k for k in ("column", "constant", "counts") if k in spec]
    if len(sources) != 1:
        raise IngestError(
            f"{where} needs exactly one of 'column' (a verdict column), 'constant' (e.g. constant = \"A\" for "
            'chosen/rejected data) or \'counts\' (win counts: { A = "wins_a", B = "wins_b", tie = "ties" })',
            file=label,
        )
    if "constant" in spec and spec["constant"] not in TARGETS[:3]:
        raise IngestError(f"{where} constant must be A, B or tie", file=label)
    counts = None
    if "counts" in spec:
        counts = _lookup_table(spec["counts"], f"{where} counts", label)
        if not counts or set(counts) - set(TARGETS[:3]):
            raise IngestError(
                f"{where} counts must map A, B and optionally tie to the columns counting them, "
                'e.g. { A = "wins_a", B = "wins_b", tie = "ties" }',
                file=label,
            )
    values = _lookup_table(spec.get("values"), f"{where} values", label, TARGETS)
    prob_b = _text(spec, "prob_b", where, label, "a column name")
    if column is not None and not values and not prob_b:
        raise IngestError(f"{where} needs a [verdicts.values] table (file value -> A / B / tie)", file=label)
    frame = spec.get("frame", "columns")
    if frame not in ("columns", "shown"):
        raise IngestError(
            f"{where} frame must be 'columns' (A/B = response_a/response_b) or 'shown' (A/B = first/second as shown)",
            file=label,
        )
    order = _text(spec, "order", where, label, "'AB', 'BA', 'none' or a column of shown orders")
    if frame == "shown" and (order == NO_ORDER or (order is None and not has_order)):
        raise IngestError(
            f"{where} frame = 'shown' needs the order each row was shown in: [columns] order, a top-level "
            'order = "AB", or this verdict\'s own order',
            file=label,
        )
    unknown = spec.get("unknown", "error")
    if unknown not in ("error", "unparsed"):
        raise IngestError(f"{where} unknown must be 'error' or 'unparsed'", file=label)
    return VerdictSpec(
        judge=judge,
        judge_from=judge_from,
        kind=kind,
        column=column,
        constant=spec.get("constant"),
        counts=counts,
        values=values,
        frame=frame,
        order=order,
        unknown=unknown,
        model=_text(spec, "model", where, label, "a model name"),
        family=_text(spec, "family", where, label, "a model family"),
        prob_b=prob_b,
        score_a=_text(spec, "score_a", where, label, "a column name"),
        score_b=_text(spec, "score_b", where, label, "a column name"),
        rationale=_text(spec, "rationale", where, label, "a column name"),
    )


def _parse_derive(raw: object, label: str) -> dict[str, DeriveSpec]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise IngestError("[derive] must be a table of new column = { constant | from, lookup, default }", file=label)
    out = {}
    for name, spec in raw.items():
        where = f"[derive] '{name}'"
        if not isinstance(spec, dict):
            raise IngestError(
                f'{where} must be a table: {{ constant = "gpt-4" }} or {{ from = "scenario", lookup = {{ ... }} }}',
                file=label,
            )
        _check_keys(spec, DERIVE_KEYS, where, label)
        if ("constant" in spec) == ("from" in spec):
            raise IngestError(f"{where} needs exactly one of 'constant' or 'from' (a column)", file=label)
        if "constant" in spec and not isinstance(spec["constant"], (str, int, float)):
            raise IngestError(f"{where} constant must be a value, not {spec['constant']!r}", file=label)
        out[str(name)] = DeriveSpec(
            constant=None if "constant" not in spec else str(spec["constant"]),
            source=_text(spec, "from", where, label, "a column name"),
            lookup=_lookup_table(spec["lookup"], f"{where} lookup", label) if "lookup" in spec else None,
            default=_text(spec, "default", where, label, "the value for rows the lookup lacks"),
        )
    return out


def _parse_lookups(raw: object, label: str) -> dict[str, LookupSpec]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise IngestError('[lookups] must hold tables: [lookups.question] file = "question.jsonl", on = {...}',
                          file=label)  # fmt: skip
    out = {}
    for name, spec in raw.items():
        where = f"[lookups.{name}]"
        if not isinstance(spec, dict):
            raise IngestError(f"{where} must be a table with file and on", file=label)
        _check_keys(spec, LOOKUP_KEYS, where, label)
        files = spec.get("file")
        files = [files] if isinstance(files, str) else files
        if not isinstance(files, list) or not files or not all(isinstance(f, str) and f for f in files):
            raise IngestError(f'{where} file must name the file(s) to join, e.g. "question.jsonl" or "answers/*.jsonl"',
                              file=label)  # fmt: skip
        on = _lookup_table(spec.get("on"), f"{where} on", label)
        if not on:
            raise IngestError(
                f"{where} on must pair this data's key column(s) with the lookup file's, e.g. on = {{ question_id = "
                '"question_id" }',
                file=label,
            )
        fmt = spec.get("format")
        if fmt is not None and fmt not in FORMATS:
            raise IngestError(f"{where} format '{fmt}' is not one of {', '.join(FORMATS)}", file=label)
        out[str(name)] = LookupSpec(
            files=files, on=on, format=fmt, records=_text(spec, "records", where, label, "a path")
        )
    return out


def _parse_ranked(raw: object, label: str) -> RankedSpec | None:
    if raw is None:
        return None
    where = "[ranked]"
    if not isinstance(raw, dict):
        raise IngestError(f'{where} must be a table: responses = "answers", rank = "rank", judge = "..."', file=label)
    _check_keys(raw, RANKED_KEYS, where, label)
    responses = _text(raw, "responses", where, label, "the column holding each row's list of responses")
    judge = _text(raw, "judge", where, label, "the name of the judge who ranked them")
    if responses is None or judge is None:
        raise IngestError(f"{where} needs responses (the list column) and judge (who ranked them)", file=label)
    rank, score = _text(raw, "rank", where, label, "a key"), _text(raw, "score", where, label, "a key")
    if (rank is None) == (score is None):
        raise IngestError(f"{where} needs exactly one of rank (1 = best) or score (higher = better)", file=label)
    kind = raw.get("kind", "llm")
    if kind not in JUDGE_KINDS:
        raise IngestError(f"{where} kind '{kind}' is not one of {', '.join(JUDGE_KINDS)}", file=label)
    return RankedSpec(
        responses=responses,
        judge=judge,
        kind=kind,
        text=_text(raw, "text", where, label, "a key"),
        model=_text(raw, "model", where, label, "a key"),
        rank=rank,
        score=score,
    )


def _parse_join(raw: object, label: str) -> JoinSpec | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise IngestError('[join] must be a table: by = "id" (with column) or by = "row"', file=label)
    _check_keys(raw, JOIN_KEYS, "[join]", label)
    by = raw.get("by")
    if by not in ("id", "row"):
        raise IngestError(
            "[join] by must be 'id' (a column matching the pairs' ids) or 'row' (the file's rows in the dataset's "
            "own row order)",
            file=label,
        )
    column = _text(raw, "column", "[join]", label, "the id column")
    if by == "id" and column is None:
        raise IngestError("[join] by = 'id' needs column = the column holding the pair id", file=label)
    dataset = _text(raw, "dataset", "[join]", label, "a dataset name")
    return JoinSpec(dataset=dataset, by=by, column=column, prompt=_text(raw, "prompt", "[join]", label, "a column"))


def parse_mapping(raw: dict, label: str = "mapping") -> Mapping:
    """Validate a mapping given as a dict (from TOML/JSON); raise IngestError naming the faulty key."""
    if not isinstance(raw, dict):
        raise IngestError("a mapping must be a table/object", file=label)
    _check_keys(raw, TOP_KEYS, "the mapping", label)
    join = _parse_join(raw.get("join"), label)
    name = raw.get("name", join.dataset if join is not None else None)
    if join is not None and name is None:
        name = ""  # verdicts for a stored dataset: `--dataset` names it
    elif not isinstance(name, str) or not name.strip():
        raise IngestError("'name' (the dataset name in the store) is required", file=label)
    else:
        try:
            check_dataset_name(name.strip())
        except ValueError as exc:
            raise IngestError(f"'name': {exc}", file=label) from None
    columns = raw.get("columns", {} if join is not None else None)
    if not isinstance(columns, dict):
        raise IngestError("a [columns] table is required (prompt, response_a, response_b, ...)", file=label)
    _check_keys(columns, TEXT_COLUMNS + OPTIONAL_COLUMNS, "[columns]", label)
    for key, value in columns.items():
        if not isinstance(value, str) or not value:
            raise IngestError(f"[columns] '{key}' must be the name of a column (text), not {value!r}", file=label)
    ranked = _parse_ranked(raw.get("ranked"), label)
    if ranked is not None:
        taken = sorted(set(columns) & set(RANKED_COLUMNS))
        if taken:
            raise IngestError(f"[columns] {', '.join(taken)}: with [ranked], responses come from its list", file=label)
        columns = {**columns, **RANKED_COLUMNS}
    if join is None:
        for key in TEXT_COLUMNS:
            if key not in columns:
                raise IngestError(f"[columns] needs '{key}' = the name of the column holding it", file=label)
    records = raw.get("records")
    if records is not None and (not isinstance(records, str) or not records.strip()):
        raise IngestError('records must be the dotted path of the list of records, e.g. "data.examples"', file=label)
    header = raw.get("header")
    if header is not None and (
        not isinstance(header, list) or not header or not all(isinstance(h, str) and h for h in header)
    ):
        raise IngestError('header must list the column names of a file without a header line, e.g. ["verdict"]',
                          file=label)  # fmt: skip
    if header is not None and len(set(header)) < len(header):
        raise IngestError("header names a column twice", file=label)
    fmt = raw.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise IngestError(f"format '{fmt}' is not one of {', '.join(FORMATS)}", file=label)
    if fmt == "text" and (header is None or len(header) != 1):
        raise IngestError('format = "text" reads one value per line: give its column name as header = ["name"]',
                          file=label)  # fmt: skip
    on_bad_row = raw.get("on_bad_row", "error")
    if on_bad_row not in ("error", "skip"):
        raise IngestError("on_bad_row must be 'error' or 'skip'", file=label)
    order = raw.get("order")
    if order is not None and order not in ORDERS:
        raise IngestError(f"order = {order!r}: every row's shown order, 'AB' or 'BA' (a column goes in [columns])",
                          file=label)  # fmt: skip
    order_values = _lookup_table(raw.get("order_values"), "[order_values]", label, ORDERS)
    specs = raw.get("verdicts")
    if ranked is not None and specs is None:
        specs = []
    if ranked is not None:
        specs = [*specs, {"judge": ranked.judge, "kind": ranked.kind, "column": "@verdict",
                          "values": {"A": "A", "B": "B", "tie": "tie"}}]  # fmt: skip
    if not isinstance(specs, list) or not specs:
        raise IngestError(
            "at least one [[verdicts]] table is required (judge, kind, column or constant, values)", file=label
        )
    has_order = "order" in columns or order is not None
    verdicts = [_parse_verdict(spec, n, columns, has_order, label) for n, spec in enumerate(specs, start=1)]
    order_columns = [columns["order"]] if "order" in columns else []
    order_columns += [v.order for v in verdicts if v.order not in (None, NO_ORDER, *ORDERS)]
    if order_columns and not order_values:
        raise IngestError(
            f"column {order_columns[0]!r} gives shown orders, so [order_values] must say which values mean AB and BA",
            file=label,
        )
    properties = {}
    raw_properties = raw.get("properties") or {}
    if not isinstance(raw_properties, dict):
        raise IngestError('[properties] must be a table of name = { a = "column", b = "column" }', file=label)
    for prop, spec in raw_properties.items():
        if not isinstance(spec, dict) or set(spec) != {"a", "b"}:
            raise IngestError(
                f'[properties] \'{prop}\' must be {{ a = "column for response A", b = "column for response B" }}',
                file=label,
            )
        properties[str(prop)] = (str(spec["a"]), str(spec["b"]))
    meta = {k: _text(raw, k, "the mapping", label, "text") for k in ("title", "licence", "source")}
    return Mapping(
        name=name.strip(),
        columns=columns,
        verdicts=verdicts,
        order_values=order_values,
        properties=properties,
        records=records,
        header=header,
        format=fmt,
        on_bad_row=on_bad_row,
        order=order,
        derive=_parse_derive(raw.get("derive"), label),
        lookups=_parse_lookups(raw.get("lookups"), label),
        ranked=ranked,
        join=join,
        **meta,
    )


def load_mapping(path: Path) -> Mapping:
    label = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise IngestError(f"cannot read the mapping file ({exc.strerror})", file=label) from exc
    except UnicodeDecodeError as exc:
        raise IngestError(
            f"the mapping file is not UTF-8 text (byte {exc.start}); save it as UTF-8", file=label
        ) from None
    try:
        raw = json.loads(text) if Path(path).suffix == ".json" else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise IngestError(f"not valid {'JSON' if Path(path).suffix == '.json' else 'TOML'}: {exc}", file=label) from exc
    mapping = parse_mapping(raw, label)
    mapping.base = Path(path).resolve().parent
    return mapping


def _detect_format(path: Path, declared: str | None) -> str:
    if declared:
        return declared
    name = path.name.lower().removesuffix(".gz")
    for suffix, fmt in (
        (".csv", "csv"),
        (".tsv", "csv"),
        (".jsonl", "jsonl"),
        (".ndjson", "jsonl"),
        (".json", "json"),
        (".parquet", "parquet"),
        (".pq", "parquet"),
    ):
        if name.endswith(suffix):
            return fmt
    raise IngestError(f"cannot tell the format from the name; set format = one of {', '.join(FORMATS)}", file=str(path))


def _utf8(path: Path, label: str) -> str:
    raw = open_bytes(path)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IngestError(
            f"not UTF-8 text (byte {exc.start} is {raw[exc.start : exc.start + 1]!r}); convert it, e.g. "
            "`iconv -f latin1 -t utf-8`, so no character is replaced",
            file=label,
        ) from None


def read_table(
    path: Path, fmt: str | None = None, records: str | None = None, header: list[str] | None = None
) -> pd.DataFrame:
    """The file as a DataFrame (text columns kept as text: 'NA' or '' stay strings in CSV). `header`: the column
    names of a CSV or text file that has no header line."""
    label = str(path)
    if not Path(path).is_file():
        raise IngestError("file not found", file=label)
    fmt = _detect_format(Path(path), fmt)
    try:
        if fmt == "text":  # one value per line, e.g. a judge's verdicts in the dataset's row order
            lines = _utf8(path, label).splitlines()
            while lines and not lines[-1].strip():
                lines.pop()
            frame = pd.DataFrame({(header or ["text"])[0]: lines}, dtype=object)
        elif fmt == "csv":
            sep = "\t" if Path(path).name.lower().removesuffix(".gz").endswith(".tsv") else ","
            text = io.StringIO(_utf8(path, label))
            if header is not None:
                frame = pd.read_csv(text, dtype=str, keep_default_na=False, sep=sep, header=None, names=header)
            else:
                frame = pd.read_csv(text, dtype=str, keep_default_na=False, sep=sep)
        elif fmt == "parquet":
            import pyarrow.parquet as pq

            frame = pq.read_table(path).to_pandas()
        else:  # nested objects become dotted columns: {"response_1": {"content": ...}} -> "response_1.content"
            frame = pd.json_normalize(read_records(path, label, records))
    except IngestError:
        raise
    except Exception as exc:  # parser errors from pandas/pyarrow: say what and where
        raise IngestError(f"could not be read as {fmt}: {exc}", file=label) from exc
    if frame.empty:
        raise IngestError("the file has no rows", file=label)
    return _checked_types(frame, label)


def _checked_types(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    """Bytes are never text: a binary column is an error naming it (lists and objects are read as JSON text where
    a mapping uses them, and refused for the prompt and responses)."""
    for col in frame.columns:
        sample = frame[col].dropna().head(200)
        if any(isinstance(v, (bytes, bytearray)) for v in sample):
            raise IngestError("holds binary values, not text: decode it before ingesting", file=label, column=str(col))
    return frame


_STEP = re.compile(r"\[(\d+)\]|\.([^.\[\]]+)")


def _inside(frame: pd.DataFrame, col: str) -> pd.Series | None:
    """A value inside a list or object column: "turns[0]", "choices[0].turns[1]", "score[1]" (None: no such
    column). An element that is not there reads as missing."""
    for cut in range(len(col), 0, -1):
        base = col[:cut]
        if base in frame.columns and col[cut] in "[.":
            rest = col[cut:]
            steps = [(int(i) if i else key) for i, key in _STEP.findall(rest)]
            if "".join(f"[{x}]" if isinstance(x, int) else f".{x}" for x in steps) != rest:
                return None

            def walk(value: object, steps: list = steps) -> object:
                for step in steps:
                    if isinstance(value, np.ndarray):
                        value = value.tolist()
                    fits = (isinstance(step, int) and isinstance(value, list) and -len(value) <= step < len(value)) or (
                        isinstance(step, str) and isinstance(value, dict) and step in value
                    )
                    if not fits:
                        return None
                    value = value[step]
                return value

            return frame[base].map(walk)
    return None


def _column(frame: pd.DataFrame, col: str, role: str, label: str) -> pd.Series:
    if col not in frame.columns and (inside := _inside(frame, col)) is not None:
        return inside
    if col not in frame.columns:
        cols = [str(c) for c in frame.columns]
        listed = ", ".join(cols[:30]) + (" ..." if len(cols) > 30 else "")
        raise IngestError(
            f"column '{col}' (mapped as {role}) not found{_did_you_mean(col, cols)}; the file has: {listed}", file=label
        )
    return frame[col]


def _is_missing(series: pd.Series) -> np.ndarray:
    return series.isna().to_numpy(dtype=bool, copy=True)  # None, NaN and NA; an empty string is a value


def _keys(series: pd.Series) -> pd.Series:
    """_key of every cell, as an object Series; whole-column string operations when the column holds text (the
    common case: a million verdict cells), cell by cell otherwise."""
    values = series.reset_index(drop=True)
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        stripped = values.astype(object).where(values.notna(), None)
        text = stripped[stripped.notna()].astype(str).str.strip()
        stripped[text.index] = text.where(text != "", None)
        return stripped.astype(object)
    if _plain_integers(values):
        return pd.Series(values.to_numpy().astype(str), dtype=object)  # as _key writes them
    return pd.Series([_key(v) for v in values], dtype=object)


def _plain_integers(series: pd.Series) -> bool:
    """A numpy integer column: no missing value, each cell's text is str() of it (read as a whole column)."""
    return pd.api.types.is_integer_dtype(series.dtype) and not isinstance(
        series.dtype, pd.api.extensions.ExtensionDtype
    )


def _holds_containers(series: pd.Series) -> np.ndarray:
    """Which cells hold a list, dict or array (a nested value mapped as text). Only an object column of
    something other than text can hold one: a text column is answered without a look at each of its cells."""
    if series.dtype != object or pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):
        return np.zeros(len(series), dtype=bool)
    return series.map(lambda v: isinstance(v, (list, dict, np.ndarray))).to_numpy(dtype=bool)


def _key(value: object) -> str | None:
    """The lookup key of a raw cell value: None when empty; 1.0 and '1' both read as '1'."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return str(int(value))
    if isinstance(value, (bool, np.bool_)):
        return str(value).lower()
    if isinstance(value, (decimal.Decimal, np.integer, np.floating)):  # Parquet decimals and numpy numbers
        number = float(value)
        if math.isnan(number):
            return None
        return str(int(number)) if number.is_integer() else str(value)
    text = str(value).strip()
    return text or None


def _rows_text(rows: np.ndarray) -> str:
    listed = ", ".join(str(int(r) + 1) for r in rows[:_MAX_LISTED])
    return listed + (f" and {len(rows) - _MAX_LISTED} more" if len(rows) > _MAX_LISTED else "")


def _numeric(frame: pd.DataFrame, col: str, role: str, label: str, keep: np.ndarray, first_row: int = 0) -> pd.Series:
    raw = _column(frame, col, role, label)
    values = pd.to_numeric(raw.replace("", None), errors="coerce")
    bad = np.flatnonzero(values.isna().to_numpy() & ~_is_missing(raw.replace("", None)) & keep)
    if len(bad):
        raise IngestError(
            f"expected numbers (for {role}); rows {_rows_text(bad + first_row)} hold e.g. {raw.iloc[bad[0]]!r}",
            file=label,
            column=col,
        )
    return values.astype("float64")


def _lookup_frame(mapping: Mapping, name: str) -> pd.DataFrame:
    """A lookup's rows (all its files), keyed by text keys, its columns named '<name>.<column>'; read once per
    mapping object."""
    cache = mapping.__dict__.setdefault("_lookup_frames", {})
    if name in cache:
        return cache[name]
    spec = mapping.lookups[name]
    base = mapping.base or Path.cwd()
    paths: list[Path] = []
    for pattern in spec.files:
        found = sorted(base.glob(pattern)) if any(c in pattern for c in "*?[") else [base / pattern]
        found = [p for p in found if p.is_file()]
        if not found:
            raise IngestError(f"[lookups.{name}] file {pattern!r} matches no file (relative to the mapping's folder)")
        paths += found
    frames = [read_table(p, spec.format, spec.records) for p in paths]
    table = pd.concat(frames, ignore_index=True)
    label = ", ".join(str(p) for p in paths[:3]) + (" ..." if len(paths) > 3 else "")
    keys = []
    for their in spec.on.values():
        key = f"\x00key:{their}"
        table[key] = _column(table, their, f"key of lookup '{name}'", label).map(_key)
        keys.append(key)
    twice = table.duplicated(keys, keep=False) & table[keys].notna().all(axis=1)
    if twice.any():
        example = table.loc[twice, keys].iloc[0].tolist()
        raise IngestError(
            f"[lookups.{name}]: {int(twice.sum())} rows share a key ({', '.join(spec.on.values())} = {example}); a "
            "lookup must hold one row per key",
            file=label,
        )
    table = table.rename(columns={c: f"{name}.{c}" for c in table.columns if c not in keys})
    cache[name] = table
    return table


def _with_lookups(frame: pd.DataFrame, mapping: Mapping, label: str, first_row: int) -> pd.DataFrame:
    """The data rows with each lookup's columns joined on (many rows to one lookup row); a row that finds no
    lookup row is an error naming it, unless on_bad_row = "skip" (its looked-up texts are then missing)."""
    for name, spec in mapping.lookups.items():
        table = _lookup_frame(mapping, name)
        keys = list(spec.on)
        left = frame.copy()
        their_keys = [f"\x00key:{their}" for their in spec.on.values()]
        for ours, key in zip(keys, their_keys, strict=True):
            left[key] = _column(frame, ours, f"key for lookup '{name}'", label).map(_key).to_numpy()
        merged = left.merge(table, on=their_keys, how="left", indicator="_found")
        lost = np.flatnonzero((merged["_found"] == "left_only").to_numpy())
        if len(lost) and mapping.on_bad_row == "error":
            example = {k: frame[k].iloc[lost[0]] for k in keys}
            raise IngestError(
                f"rows {_rows_text(lost + first_row)} find no row in lookup '{name}' (e.g. {example}); set "
                'on_bad_row = "skip" to leave them out',
                file=label,
            )
        frame = merged.drop(columns=[*their_keys, "_found"])
    return frame


def _ranked_pairs(frame: pd.DataFrame, spec: RankedSpec, label: str, first_row: int) -> pd.DataFrame:
    """Each row's k ranked responses as k(k-1)/2 rows of pairs (A = the earlier in the list), with the verdict of
    their ranks in '@verdict' and the source row in '@row'."""
    items = _column(frame, spec.responses, "[ranked] responses", label)
    out_rows: list[int] = []
    parts: dict[str, list] = {"@response_a": [], "@response_b": [], "@model_a": [], "@model_b": [], "@verdict": []}
    pair_in_row: list[str] = []

    def field_of(item: object, key: str | None, row: int, what: str) -> object:
        if key is None:
            return item
        if not isinstance(item, dict):
            raise IngestError(
                f"[ranked] each response must be an object with '{key}' (row {row} holds {type(item).__name__})",
                file=label,
                column=spec.responses,
            )
        return item.get(key)

    for position, listed in enumerate(items):
        row = first_row + position + 1
        if isinstance(listed, np.ndarray):
            listed = listed.tolist()
        if not isinstance(listed, list):
            raise IngestError(f"[ranked] row {row}: expected a list of responses, got {type(listed).__name__}",
                              file=label, column=spec.responses)  # fmt: skip
        texts = [field_of(x, spec.text, row, "text") for x in listed]
        models = [field_of(x, spec.model, row, "model") if spec.model else None for x in listed]
        keys = [_numeric_value(field_of(x, spec.rank or spec.score, row, "rank")) for x in listed]
        for i in range(len(listed)):
            for j in range(i + 1, len(listed)):
                better = None if keys[i] is None or keys[j] is None else keys[i] - keys[j]
                if better is None:
                    verdict = None
                elif better == 0:
                    verdict = "tie"
                else:  # rank: the smaller wins; score: the larger
                    verdict = "A" if (better < 0) == (spec.rank is not None) else "B"
                out_rows.append(position)
                pair_in_row.append(f"{i + 1}-{j + 1}")
                parts["@response_a"].append(texts[i])
                parts["@response_b"].append(texts[j])
                parts["@model_a"].append(models[i])
                parts["@model_b"].append(models[j])
                parts["@verdict"].append(verdict)
    expanded = frame.iloc[out_rows].reset_index(drop=True)
    for name, values in parts.items():
        expanded[name] = pd.Series(values, dtype=object)
    expanded["@row"] = np.asarray(out_rows, dtype=np.int64) + first_row + 1
    expanded["@pair_in_row"] = pair_in_row
    return expanded


def _numeric_value(value: object) -> float | None:
    key = _key(value)
    if key is None:
        return None
    try:
        return float(key)
    except ValueError:
        return None


def _derived(frame: pd.DataFrame, mapping: Mapping, label: str, first_row: int) -> pd.DataFrame:
    """The frame with the mapping's [derive] columns added (constants, lookups of another column)."""
    if not mapping.derive:
        return frame
    frame = frame.copy()
    for name, spec in mapping.derive.items():
        if spec.constant is not None:
            frame[name] = spec.constant
            continue
        source = _column(frame, spec.source, f"[derive] '{name}'", label)
        if spec.lookup is None:
            frame[name] = source
            continue
        keys = source.map(_key)
        derived = keys.map(spec.lookup)
        unmatched = derived.isna().to_numpy() & keys.notna().to_numpy()
        if unmatched.any() and spec.default is None:
            bad = np.flatnonzero(unmatched)
            values = sorted({str(keys.iloc[i]) for i in bad[:200]})[:_MAX_LISTED]
            raise IngestError(
                f"[derive] '{name}': values {', '.join(map(repr, values))} (rows {_rows_text(bad + first_row)}) are "
                'not in its lookup; add them, or give default = "..."',
                file=label,
                column=spec.source,
            )
        frame[name] = derived.where(~unmatched, spec.default)
    return frame


def _shown_orders(
    frame: pd.DataFrame, mapping: Mapping, source: str | None, keep: np.ndarray, label: str, first_row: int
) -> pd.Series | None:
    """The order each row was shown in ('AB', 'BA' or None) from a constant or a column read by [order_values]."""
    n = len(frame)
    if source is None or source == NO_ORDER:
        return None
    if source in ORDERS:
        return pd.Series([source] * n, dtype=object)
    raw = _column(frame, source, "order", label)
    keys = _keys(raw)
    order = keys.map(lambda k: None if k is None else mapping.order_values.get(k, "?")).astype(object)
    bad = np.flatnonzero((order == "?").to_numpy() & keep)
    if len(bad):
        raise IngestError(
            f"value {raw.iloc[bad[0]]!r} (rows {_rows_text(bad + first_row)}) is not in [order_values] "
            f"(mapped: {', '.join(mapping.order_values)})",
            file=label,
            column=source,
        )
    return order


def _order_source(spec: VerdictSpec, mapping: Mapping) -> str | None:
    """Where a verdict's shown order comes from: its own `order`; none for gold and crowd labels (nobody saw them
    in an order) unless they are in the shown frame; else the mapping's order column or constant."""
    if spec.order is not None:
        return spec.order
    if spec.kind in UNORDERED_KINDS and spec.frame != "shown":
        return None
    return mapping.columns.get("order") or mapping.order


def _spec_judgments(
    frame: pd.DataFrame,
    spec: VerdictSpec,
    order: pd.Series | None,
    keep: np.ndarray,
    label: str,
    first_row: int,
    row_numbers: np.ndarray,
) -> tuple[pd.DataFrame, list[str]]:
    """One [[verdicts]] table's judgments (pair_row = the frame's row) and the judges it names."""
    n = len(frame)

    def rows_text(rows: np.ndarray) -> str:
        return _rows_text(np.asarray(rows) + first_row)

    keys: list | None = None
    if spec.constant is not None:
        verdict = pd.Series([spec.constant] * n, dtype=object)
    elif spec.counts is not None:
        verdict = pd.Series(["?"] * n, dtype=object)  # expanded below
    else:
        raw = _column(frame, spec.column, f"verdict of {spec.judge or spec.judge_from}", label)
        keys = _keys(raw)
        verdict = keys.map(spec.values).astype(object).fillna("?")
        verdict[keys.isna()] = "unparsed"
        unknown = (verdict == "?").to_numpy() & keep
        if unknown.any():
            bad = np.flatnonzero(unknown)
            if spec.unknown == "error" and not spec.prob_b:
                others = sorted({str(keys[i]) for i in bad[:200]})[:_MAX_LISTED]
                raise IngestError(
                    f"values {', '.join(repr(v) for v in others)} (rows {rows_text(bad)}) have no verdict in "
                    f"[verdicts.values] of judge '{spec.judge or spec.judge_from}' (mapped: "
                    f'{", ".join(spec.values) or "none"}); add them, or set unknown = "unparsed"',
                    file=label,
                    column=spec.column,
                )
            verdict = verdict.where(verdict != "?", "unparsed")
    who = spec.judge or spec.judge_from
    prob_b = _numeric(frame, spec.prob_b, f"prob_b of {who}", label, keep, first_row) if spec.prob_b else None
    if prob_b is not None:
        out = np.flatnonzero(((prob_b < 0) | (prob_b > 1)).to_numpy() & keep)
        if len(out):
            raise IngestError(
                f"P(B preferred) must lie in [0, 1]; rows {rows_text(out)} hold e.g. {prob_b.iloc[out[0]]}",
                file=label,
                column=spec.prob_b,
            )
        from_prob = np.where(prob_b > 0.5, "B", np.where(prob_b < 0.5, "A", "tie"))
        fill = (verdict == "?") | ((verdict == "unparsed") & prob_b.notna())
        verdict = verdict.where(~fill, pd.Series(from_prob, index=verdict.index))
        verdict = verdict.where(verdict != "?", "unparsed")
    if spec.judge_from is not None:
        judge = _column(frame, spec.judge_from, "judge_from", label).map(_key)
        nameless = np.flatnonzero(judge.isna().to_numpy() & keep)
        if len(nameless):
            raise IngestError(
                f"rows {rows_text(nameless)} name no judge (judge_from = '{spec.judge_from}')",
                file=label,
                column=spec.judge_from,
            )
        judge = judge.astype(object)
    else:
        judge = pd.Series([spec.judge] * n, dtype=object)
    score_a = _numeric(frame, spec.score_a, f"score_a of {who}", label, keep, first_row) if spec.score_a else None
    score_b = _numeric(frame, spec.score_b, f"score_b of {who}", label, keep, first_row) if spec.score_b else None
    out = pd.DataFrame(
        {
            "pair_row": np.arange(n),
            "judge": judge,
            "verdict": verdict.astype(object),
            "verdict_raw": pd.Series(keys, dtype=object) if keys is not None else spec.constant,
            "prob_b": prob_b if prob_b is not None else np.nan,
            "score_a": score_a if score_a is not None else np.nan,
            "score_b": score_b if score_b is not None else np.nan,
            "shown_order": order if order is not None else None,
            "rationale": optional_col(frame, spec.rationale, label),
            "source_file": Path(label).name,
            "source_row": row_numbers,
            "repeat": 0,
        }
    )[[*JUDGMENT_COLUMNS, "repeat"]]
    if spec.counts is not None:
        out = _expand_counts(frame, out, spec, keep, label, first_row)
    if spec.frame == "shown" and order is not None:
        flip = (out["shown_order"] == "BA").to_numpy()
        out["verdict"] = out["verdict"].where(~flip, out["verdict"].map(_FLIP))
        out["prob_b"] = out["prob_b"].where(~flip, 1 - out["prob_b"])
    names = sorted(set(judge[keep].dropna())) if spec.judge_from is not None else [spec.judge]
    return out, names


def _expand_counts(
    frame: pd.DataFrame, base: pd.DataFrame, spec: VerdictSpec, keep: np.ndarray, label: str, first_row: int
) -> pd.DataFrame:
    """Win counts as judgments: a row with 3 wins for A and 1 tie is 4 judgments of this judge (A, A, A, tie)."""
    parts = []
    for target, col in spec.counts.items():
        count = _numeric(frame, col, f"count of {target}", label, keep, first_row).fillna(0)
        bad = np.flatnonzero(((count < 0) | (count % 1 != 0)).to_numpy() & keep)
        if len(bad):
            raise IngestError(
                f"counts must be whole numbers ≥ 0; rows {_rows_text(bad + first_row)} hold e.g. {count.iloc[bad[0]]}",
                file=label,
                column=col,
            )
        times = count.to_numpy(dtype=np.int64)
        expanded = base.loc[base.index.repeat(times)].copy()
        expanded["verdict"] = target
        expanded["verdict_raw"] = f"{col} (count)"
        parts.append(expanded)
    out = pd.concat(parts, ignore_index=True)
    # one running index per row across the targets, so every expanded judgment has its own id
    out["repeat"] = out.groupby("pair_row").cumcount()
    return out


def build_batch(frame: pd.DataFrame, mapping: Mapping, label: str, version: str, first_row: int = 0) -> IngestBatch:
    """Vectorised: a 1M-row file becomes a batch without a Python loop per judgment where avoidable. `first_row`:
    the frame's first row's position in its file (a chunk of a large file), for row numbers and messages."""
    cols = mapping.columns
    rows_read = len(frame)
    frame = _with_lookups(frame.reset_index(drop=True), mapping, label, first_row)
    frame = _derived(frame, mapping, label, first_row)
    if mapping.ranked is not None:
        frame = _ranked_pairs(frame, mapping.ranked, label, first_row)
        row_numbers = frame["@row"].to_numpy()
    else:
        row_numbers = np.arange(first_row + 1, first_row + len(frame) + 1)
    n = len(frame)

    def rows_text(rows: np.ndarray) -> str:
        return _rows_text(np.unique(row_numbers[np.asarray(rows, dtype=np.int64)]) - 1)

    skipped_rows: dict[int, str] = {}
    text = {}
    for role in TEXT_COLUMNS:
        series = _column(frame, cols[role], role, label)
        listed = np.flatnonzero(_holds_containers(series))
        if len(listed):
            raise IngestError(
                f"{role} must be text; rows {rows_text(listed)} hold a {type(series.iloc[listed[0]]).__name__} "
                '(a value inside it reads as e.g. "turns[0]"; k ranked responses per prompt must be expanded into '
                "pairs first, see README 'Your own data')",
                file=label,
                column=cols[role],
            )
        missing = _is_missing(series)
        if role == "prompt":  # a pair needs a question; an answer may be empty (a model that said nothing)
            missing |= series.astype(str).str.len().to_numpy() == 0
        if missing.any():
            rows = np.flatnonzero(missing)
            if mapping.on_bad_row == "error":
                raise IngestError(
                    f"{len(rows)} rows have no {role} (rows {rows_text(rows)}); fill them, or set "
                    'on_bad_row = "skip" to leave such rows out',
                    file=label,
                    column=cols[role],
                )
            for r in rows:
                skipped_rows.setdefault(int(r), f"no {role} (column '{cols[role]}')")
        text[role] = series
    keep = np.ones(n, dtype=bool)
    keep[list(skipped_rows)] = False

    def optional(role: str) -> pd.Series:
        if role not in cols:
            return pd.Series([None] * n, dtype=object)
        if role == "id" and cols["id"] == ROW_ID:  # every row its own pair: its file and row are its id
            ids = [f"{Path(label).name}:{r}" for r in row_numbers]
            if "@pair_in_row" in frame:
                ids = [f"{i}#{k}" for i, k in zip(ids, frame["@pair_in_row"], strict=True)]
            return pd.Series(ids, dtype=object)
        series = _column(frame, cols[role], role, label).reset_index(drop=True)
        keys = _keys(series)
        present = keys.notna().to_numpy()
        if pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):
            return series.astype(object).where(present, None)
        if _plain_integers(series):
            return keys  # their text, as str() writes it
        return (
            series.map(lambda v: v if isinstance(v, str) else json.dumps(v) if isinstance(v, (list, dict)) else str(v))
            .where(present, None)
            .astype(object)
        )

    pairs = pd.DataFrame(
        {
            "subset": optional("subset"),
            "category": optional("category"),
            "prompt": text["prompt"].astype(str),
            "context": optional("context"),
            "response_a": text["response_a"].astype(str),
            "response_b": text["response_b"].astype(str),
            "model_a": optional("model_a"),
            "model_b": optional("model_b"),
            "upstream_id": optional("id"),
            "source_file": Path(label).name,
            "source_row": row_numbers,
        }
    )[PAIR_COLUMNS]

    judgments, judges = _all_judgments(frame, mapping, keep, label, first_row, row_numbers)
    skipped = [Skipped(Path(label).name, int(row_numbers[r]), why) for r, why in sorted(skipped_rows.items())]
    if skipped_rows:
        # Drop skipped pairs and renumber pair_row so it still points at the kept pairs.
        kept_rows = np.flatnonzero(keep)
        renumber = np.full(n, -1)
        renumber[kept_rows] = np.arange(len(kept_rows))
        pairs = pairs.iloc[kept_rows].reset_index(drop=True)
        judgments = judgments[keep[judgments["pair_row"].to_numpy()]].copy()
        judgments["pair_row"] = renumber[judgments["pair_row"].to_numpy()]
    props = []
    for prop, (col_a, col_b) in mapping.properties.items():
        for side, col in (("a", col_a), ("b", col_b)):
            values = _numeric(frame, col, f"property '{prop}' of response {side.upper()}", label, keep, first_row)
            props.append(pd.DataFrame({"pair_row": np.arange(n), "side": side, "name": prop, "value": values}))
    properties = pd.concat(props, ignore_index=True) if props else None
    if properties is not None and skipped_rows:
        properties = properties[keep[properties["pair_row"].to_numpy()]].copy()
        properties["pair_row"] = renumber[properties["pair_row"].to_numpy()]
    meta = DatasetMeta(
        name=mapping.name,
        version=version,
        adapter="mapping" if mapping.ranked is None else "mapping (ranked)",  # ranked: many pairs per row
        title=mapping.title,
        source=mapping.source,
        licence=mapping.licence,
        files=[Path(label).name],
    )
    return IngestBatch(
        meta=meta,
        pairs=pairs,
        judgments=judgments.reset_index(drop=True),
        judges=judges,
        rows_read=rows_read,
        skipped=skipped,
        properties=properties,
    )


def _all_judgments(
    frame: pd.DataFrame, mapping: Mapping, keep: np.ndarray, label: str, first_row: int, row_numbers: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every [[verdicts]] table's judgments (pair_row = the frame's row) and the judges they name."""
    orders: dict[str | None, pd.Series | None] = {}
    judgments, judges = [], []
    for spec in mapping.verdicts:
        source = _order_source(spec, mapping)
        if source not in orders:
            orders[source] = _shown_orders(frame, mapping, source, keep, label, first_row)
        part, names = _spec_judgments(frame, spec, orders[source], keep, label, first_row, row_numbers)
        judgments.append(part)
        judges += [
            {"name": name, "kind": spec.kind, "model": spec.model, "family": spec.family, "protocol": None}
            for name in names
        ]
    declared = pd.DataFrame(judges, columns=JUDGE_COLUMNS)
    kinds = declared.groupby("name")["kind"].nunique()
    if (kinds > 1).any():
        raise IngestError(f"judge '{kinds[kinds > 1].index[0]}' is declared with two kinds in this mapping", file=label)
    return pd.concat(judgments, ignore_index=True), declared.drop_duplicates("name").reset_index(drop=True)


def optional_col(frame: pd.DataFrame, col: str | None, label: str) -> pd.Series | None:
    if col is None:
        return None
    return _column(frame, col, "rationale", label).map(lambda v: None if _key(v) is None else str(v))


CHUNK_ROWS = 50_000  # rows per batch when a file is read in pieces: bounds the memory an ingest takes


def _as_mapping(mapping: Mapping | Path | dict) -> Mapping:
    if isinstance(mapping, dict):
        return parse_mapping(mapping)
    if not isinstance(mapping, Mapping):
        return load_mapping(Path(mapping))
    return mapping


def _frames(
    path: Path, fmt: str | None, rows: int, records: str | None = None, header: list[str] | None = None
) -> Iterator[pd.DataFrame]:
    """The file in pieces of `rows` rows: Parquet by row batches and CSV by chunks, so neither is ever whole in
    memory; JSON and JSON Lines are read whole (their records must be parsed anyway), then cut."""
    label = str(path)
    if not path.is_file():
        raise IngestError("file not found", file=label)
    fmt = _detect_format(path, fmt)
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            any_rows = False
            # pre_buffer off: with it, the reader kept every row group it had read until the file was done (a
            # million pairs' file: 0.77 GB more by its end, against 0.12 GB held at any time without)
            for batch in pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=rows):
                any_rows = any_rows or batch.num_rows > 0
                yield _checked_types(batch.to_pandas(), label)
            if not any_rows:
                raise IngestError("the file has no rows", file=label)
            return
    except IngestError:
        raise
    except Exception as exc:
        raise IngestError(f"could not be read as {fmt}: {exc}", file=label) from exc
    frame = read_table(path, fmt, records, header)
    for start in range(0, len(frame), rows):
        yield frame.iloc[start : start + rows]


def load_chunks(
    data_path: Path, mapping: Mapping | Path | dict, rows: int = CHUNK_ROWS, version: str | None = None
) -> Iterator[IngestBatch]:
    """A data file with its mapping as consecutive batches of at most `rows` rows (store.write_batches writes them
    as one dataset, in one transaction). Nothing is written here. `version`: the dataset's, when the file is one of
    several (load_files); by default the file's checksum."""
    mapping = _as_mapping(mapping)
    data_path = Path(data_path)
    version = version or files_version([data_path])
    first_row = 0
    for frame in _frames(data_path, mapping.format, rows, mapping.records, mapping.header):
        yield build_batch(frame, mapping, str(data_path), version, first_row)
        first_row += len(frame)


def load_files(paths: list[Path], mapping: Mapping | Path | dict, rows: int = CHUNK_ROWS) -> Iterator[IngestBatch]:
    """Several files of one layout (the shards of one dataset) as consecutive batches of one dataset: its version
    is the checksum of all of them and it lists every file; each pair keeps its own file and row."""
    mapping = _as_mapping(mapping)
    paths = [Path(p) for p in paths]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise IngestError("file not found", file=", ".join(missing))
    if len({p.name for p in paths}) < len(paths):
        raise IngestError("two of the files share a name: rows are recorded by file name and row", file=str(paths))
    version = files_version(paths)
    names = [p.name for p in paths]
    for path in paths:
        for batch in load_chunks(path, mapping, rows, version):  # each file is read (and hashed) once
            batch.meta.files = names
            yield batch


def load(data_path: Path, mapping: Mapping | Path | dict) -> IngestBatch:
    """Read a data file with its mapping into a batch (nothing is written)."""
    mapping = _as_mapping(mapping)
    data_path = Path(data_path)
    frame = read_table(data_path, mapping.format, mapping.records, mapping.header)
    return build_batch(frame, mapping, str(data_path), files_version([data_path]))


def load_verdicts(
    paths: list[Path], mapping: Mapping | Path | dict, dataset: str | None = None, rows: int = CHUNK_ROWS
) -> VerdictBatch:
    """A judge's outputs for pairs already in the store (a mapping with [join]): its judgments with the key that
    finds each pair (an id, or the row of the dataset's file), and the prompt to check where the file repeats it.
    Nothing is written here; store.add_judgments matches and writes them."""
    mapping = _as_mapping(mapping)
    join = mapping.join
    if join is None:
        raise IngestError(
            'adding verdicts needs a [join] table in the mapping: by = "id" with column = the pair id column, or '
            'by = "row" (the file lists the dataset\'s rows in order)'
        )
    dataset = dataset or join.dataset or mapping.name
    if not dataset:
        raise IngestError("which dataset do these verdicts belong to? give --dataset NAME, or [join] dataset")
    check_dataset_name(dataset)
    paths = [Path(p) for p in paths]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise IngestError("file not found", file=", ".join(missing))
    parts, judges, rows_read = [], [], 0
    for index, path in enumerate(paths):
        label = str(path)
        first_row = 0
        for frame in _frames(path, mapping.format, rows, mapping.records, mapping.header):
            frame = _with_lookups(frame.reset_index(drop=True), mapping, label, first_row)
            frame = _derived(frame, mapping, label, first_row)
            n = len(frame)
            keep = np.ones(n, dtype=bool)
            row_numbers = np.arange(first_row + 1, first_row + n + 1)
            judgments, declared = _all_judgments(frame, mapping, keep, label, first_row, row_numbers)
            if join.by == "id":
                keys = _column(frame, join.column, "the join id", label).map(_key)
                nameless = np.flatnonzero(keys.isna().to_numpy())
                if len(nameless):
                    raise IngestError(
                        f"rows {_rows_text(nameless + first_row)} have no id to join on", file=label, column=join.column
                    )
                judgments["join_key"] = keys.to_numpy()[judgments["pair_row"].to_numpy()]
            else:
                judgments["join_key"] = (row_numbers[judgments["pair_row"].to_numpy()]).astype(str)
            if join.prompt is not None:
                prompt = _column(frame, join.prompt, "the prompt to check", label).astype(str)
                judgments["join_prompt"] = prompt.to_numpy()[judgments["pair_row"].to_numpy()]
            else:
                judgments["join_prompt"] = None
            judgments["file_index"] = index
            parts.append(judgments)
            judges.append(declared)
            first_row += n
        rows_read += first_row
    return VerdictBatch(
        dataset=dataset,
        by=join.by,
        judgments=pd.concat(parts, ignore_index=True),
        judges=pd.concat(judges, ignore_index=True).drop_duplicates("name").reset_index(drop=True),
        files=[p.name for p in paths],
        version=files_version(paths),
        rows_read=rows_read,
        skip_unmatched=mapping.on_bad_row == "skip",
    )
