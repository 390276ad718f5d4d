"""The generic adapter: any CSV / JSONL / JSON / Parquet file plus a small mapping file (TOML or JSON).

The mapping says which column holds what, and how each verdict column's values read as A / B / tie.
Full reference with an example: README "Your own data". Every error names the file, the row and the column.
"""

from __future__ import annotations

import difflib
import io
import json
import math
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
    check_dataset_name,
)

FORMATS = ("csv", "jsonl", "json", "parquet")
TEXT_COLUMNS = ("prompt", "response_a", "response_b")
OPTIONAL_COLUMNS = ("context", "model_a", "model_b", "category", "subset", "id", "order")
TOP_KEYS = (
    "name",
    "title",
    "licence",
    "source",
    "format",
    "records",
    "on_bad_row",
    "columns",
    "order_values",
    "verdicts",
    "properties",
)
VERDICT_KEYS = (
    "judge",
    "kind",
    "model",
    "family",
    "column",
    "constant",
    "values",
    "frame",
    "unknown",
    "prob_b",
    "score_a",
    "score_b",
    "rationale",
)
TARGETS = ("A", "B", "tie", "unparsed")
ORDERS = ("AB", "BA")
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
                f"unknown key '{key}' in {where}{_did_you_mean(key, allowed)} (allowed: {', '.join(allowed)})",
                file=label,
            )


@dataclass
class VerdictSpec:
    judge: str
    kind: str
    column: str | None = None
    constant: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    frame: str = "columns"
    unknown: str = "error"
    model: str | None = None
    family: str | None = None
    prob_b: str | None = None
    score_a: str | None = None
    score_b: str | None = None
    rationale: str | None = None


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
    on_bad_row: str = "error"


def parse_mapping(raw: dict, label: str = "mapping") -> Mapping:
    """Validate a mapping given as a dict (from TOML/JSON); raise IngestError naming the faulty key."""
    if not isinstance(raw, dict):
        raise IngestError("a mapping must be a table/object", file=label)
    _check_keys(raw, TOP_KEYS, "the mapping", label)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise IngestError("'name' (the dataset name in the store) is required", file=label)
    try:
        check_dataset_name(name.strip())
    except ValueError as exc:
        raise IngestError(f"'name': {exc}", file=label) from None
    columns = raw.get("columns")
    if not isinstance(columns, dict):
        raise IngestError("a [columns] table is required (prompt, response_a, response_b, ...)", file=label)
    _check_keys(columns, TEXT_COLUMNS + OPTIONAL_COLUMNS, "[columns]", label)
    for key in TEXT_COLUMNS:
        if not isinstance(columns.get(key), str):
            raise IngestError(f"[columns] needs '{key}' = the name of the column holding it", file=label)
    records = raw.get("records")
    if records is not None and (not isinstance(records, str) or not records.strip()):
        raise IngestError('records must be the dotted path of the list of records, e.g. "data.examples"', file=label)
    fmt = raw.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise IngestError(f"format '{fmt}' is not one of {', '.join(FORMATS)}", file=label)
    on_bad_row = raw.get("on_bad_row", "error")
    if on_bad_row not in ("error", "skip"):
        raise IngestError("on_bad_row must be 'error' or 'skip'", file=label)
    order_values = {str(k): v for k, v in (raw.get("order_values") or {}).items()}
    if "order" in columns and not order_values:
        raise IngestError("[columns] maps 'order', so [order_values] must say which values mean AB and BA", file=label)
    for k, v in order_values.items():
        if v not in ORDERS:
            raise IngestError(f"[order_values] '{k}' = '{v}': each value must be 'AB' or 'BA'", file=label)
    specs = raw.get("verdicts")
    if not isinstance(specs, list) or not specs:
        raise IngestError(
            "at least one [[verdicts]] table is required (judge, kind, column or constant, values)", file=label
        )
    verdicts = []
    for n, spec in enumerate(specs, start=1):
        where = f"[[verdicts]] #{n}"
        if not isinstance(spec, dict):
            raise IngestError(f"{where} must be a table", file=label)
        _check_keys(spec, VERDICT_KEYS, where, label)
        if not isinstance(spec.get("judge"), str):
            raise IngestError(f"{where} needs 'judge' = the judge's name", file=label)
        kind = spec.get("kind", "human")
        if kind not in JUDGE_KINDS:
            raise IngestError(f"{where} kind '{kind}' is not one of {', '.join(JUDGE_KINDS)}", file=label)
        has_col, has_const = "column" in spec, "constant" in spec
        if has_col == has_const:
            raise IngestError(
                f"{where} needs exactly one of 'column' (a verdict column) or 'constant' "
                '(e.g. constant = "A" for chosen/rejected data)',
                file=label,
            )
        if has_const and spec["constant"] not in TARGETS[:3]:
            raise IngestError(f"{where} constant must be A, B or tie", file=label)
        values = {str(k): v for k, v in (spec.get("values") or {}).items()}
        if has_col and not values and not spec.get("prob_b"):
            raise IngestError(f"{where} needs a [verdicts.values] table (file value -> A / B / tie)", file=label)
        for k, v in values.items():
            if v not in TARGETS:
                raise IngestError(f"{where} values: '{k}' = '{v}' must be one of {', '.join(TARGETS)}", file=label)
        frame = spec.get("frame", "columns")
        if frame not in ("columns", "shown"):
            raise IngestError(
                f"{where} frame must be 'columns' (A/B = response_a/response_b) or 'shown' "
                "(A/B = first/second as shown)",
                file=label,
            )
        if frame == "shown" and "order" not in columns:
            raise IngestError(f"{where} frame = 'shown' needs [columns] order", file=label)
        unknown = spec.get("unknown", "error")
        if unknown not in ("error", "unparsed"):
            raise IngestError(f"{where} unknown must be 'error' or 'unparsed'", file=label)
        verdicts.append(
            VerdictSpec(
                judge=spec["judge"],
                kind=kind,
                column=spec.get("column"),
                constant=spec.get("constant"),
                values=values,
                frame=frame,
                unknown=unknown,
                model=spec.get("model"),
                family=spec.get("family"),
                prob_b=spec.get("prob_b"),
                score_a=spec.get("score_a"),
                score_b=spec.get("score_b"),
                rationale=spec.get("rationale"),
            )
        )
    properties = {}
    for prop, spec in (raw.get("properties") or {}).items():
        if not isinstance(spec, dict) or set(spec) != {"a", "b"}:
            raise IngestError(
                f'[properties] \'{prop}\' must be {{ a = "column for response A", b = "column for response B" }}',
                file=label,
            )
        properties[str(prop)] = (str(spec["a"]), str(spec["b"]))
    return Mapping(
        name=name.strip(),
        columns=columns,
        verdicts=verdicts,
        order_values=order_values,
        properties=properties,
        records=records,
        title=raw.get("title"),
        licence=raw.get("licence"),
        source=raw.get("source"),
        format=fmt,
        on_bad_row=on_bad_row,
    )


def load_mapping(path: Path) -> Mapping:
    label = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise IngestError(f"cannot read the mapping file ({exc.strerror})", file=label) from exc
    try:
        raw = json.loads(text) if Path(path).suffix == ".json" else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise IngestError(f"not valid {'JSON' if Path(path).suffix == '.json' else 'TOML'}: {exc}", file=label) from exc
    return parse_mapping(raw, label)


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


def read_table(path: Path, fmt: str | None = None, records: str | None = None) -> pd.DataFrame:
    """The file as a DataFrame (text columns kept as text: 'NA' or '' stay strings in CSV)."""
    label = str(path)
    if not Path(path).is_file():
        raise IngestError("file not found", file=label)
    fmt = _detect_format(Path(path), fmt)
    try:
        if fmt == "csv":
            sep = "\t" if Path(path).name.lower().removesuffix(".gz").endswith(".tsv") else ","
            frame = pd.read_csv(io.BytesIO(open_bytes(path)), dtype=str, keep_default_na=False, sep=sep)
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
    return frame


def _column(frame: pd.DataFrame, col: str, role: str, label: str) -> pd.Series:
    if col not in frame.columns:
        cols = [str(c) for c in frame.columns]
        listed = ", ".join(cols[:30]) + (" ..." if len(cols) > 30 else "")
        raise IngestError(
            f"column '{col}' (mapped as {role}) not found{_did_you_mean(col, cols)}; the file has: {listed}", file=label
        )
    return frame[col]


def _is_missing(series: pd.Series) -> np.ndarray:
    return np.array([v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA for v in series])


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


def build_batch(frame: pd.DataFrame, mapping: Mapping, label: str, version: str, first_row: int = 0) -> IngestBatch:
    """Vectorised: a 1M-row file becomes a batch without a Python loop per judgment where avoidable. `first_row`:
    the frame's first row's position in its file (a chunk of a large file), for row numbers and messages."""
    cols = mapping.columns
    n = len(frame)
    frame = frame.reset_index(drop=True)

    def rows_text(rows: np.ndarray) -> str:
        return _rows_text(np.asarray(rows) + first_row)

    skipped_rows: dict[int, str] = {}
    text = {}
    for role in TEXT_COLUMNS:
        series = _column(frame, cols[role], role, label)
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
        series = _column(frame, cols[role], role, label)
        return series.map(
            lambda v: (
                None
                if _key(v) is None
                else (v if isinstance(v, str) else json.dumps(v) if isinstance(v, (list, dict)) else str(v))
            )
        )

    order = None
    if "order" in cols:
        raw_order = _column(frame, cols["order"], "order", label)
        order = pd.Series(
            [None if (k := _key(v)) is None else mapping.order_values.get(k, "?") for v in raw_order], dtype=object
        )
        bad = np.flatnonzero((order == "?").to_numpy() & keep)
        if len(bad):
            raise IngestError(
                f"value {raw_order.iloc[bad[0]]!r} (rows {rows_text(bad)}) is not in [order_values] "
                f"(mapped: {', '.join(mapping.order_values)})",
                file=label,
                column=cols["order"],
            )

    row_numbers = np.arange(first_row + 1, first_row + n + 1)
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

    judgments = []
    judges = []
    for spec in mapping.verdicts:
        judges.append(
            {"name": spec.judge, "kind": spec.kind, "model": spec.model, "family": spec.family, "protocol": None}
        )
        if spec.constant is not None:
            verdict = pd.Series([spec.constant] * n, dtype=object)
            raw = verdict
        else:
            raw = _column(frame, spec.column, f"verdict of {spec.judge}", label)
            keys = [_key(v) for v in raw]
            verdict = pd.Series(["unparsed" if k is None else spec.values.get(k, "?") for k in keys], dtype=object)
            unknown = (verdict == "?").to_numpy() & keep
            if unknown.any():
                bad = np.flatnonzero(unknown)
                if spec.unknown == "error" and not spec.prob_b:
                    others = sorted({str(keys[i]) for i in bad[:200]})[:_MAX_LISTED]
                    raise IngestError(
                        f"values {', '.join(repr(v) for v in others)} (rows {rows_text(bad)}) have no verdict in "
                        f"[verdicts.values] of judge '{spec.judge}' (mapped: {', '.join(spec.values) or 'none'}); "
                        'add them, or set unknown = "unparsed"',
                        file=label,
                        column=spec.column,
                    )
                verdict = verdict.where(verdict != "?", "unparsed")
        prob_b = (
            _numeric(frame, spec.prob_b, f"prob_b of {spec.judge}", label, keep, first_row) if spec.prob_b else None
        )
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
        if spec.frame == "shown" and order is not None:
            flip = (order == "BA").to_numpy()
            verdict = verdict.where(~flip, verdict.map(_FLIP))
            if prob_b is not None:
                prob_b = prob_b.where(~flip, 1 - prob_b)
        score_a = (
            _numeric(frame, spec.score_a, f"score_a of {spec.judge}", label, keep, first_row) if spec.score_a else None
        )
        score_b = (
            _numeric(frame, spec.score_b, f"score_b of {spec.judge}", label, keep, first_row) if spec.score_b else None
        )
        rationale = optional_col(frame, spec.rationale, label)
        judgments.append(
            pd.DataFrame(
                {
                    "pair_row": np.arange(n),
                    "judge": spec.judge,
                    "verdict": verdict.astype(object),
                    "verdict_raw": pd.Series(keys, dtype=object) if spec.constant is None else spec.constant,
                    "prob_b": prob_b if prob_b is not None else np.nan,
                    "score_a": score_a if score_a is not None else np.nan,
                    "score_b": score_b if score_b is not None else np.nan,
                    "shown_order": order if order is not None else None,
                    "rationale": rationale,
                    "source_file": Path(label).name,
                    "source_row": row_numbers,
                }
            )[JUDGMENT_COLUMNS]
        )

    all_judgments = pd.concat(judgments, ignore_index=True)
    skipped = [Skipped(Path(label).name, first_row + r + 1, why) for r, why in sorted(skipped_rows.items())]
    if skipped_rows:
        # Drop skipped pairs and renumber pair_row so it still points at the kept pairs.
        kept_rows = np.flatnonzero(keep)
        renumber = np.full(n, -1)
        renumber[kept_rows] = np.arange(len(kept_rows))
        pairs = pairs.iloc[kept_rows].reset_index(drop=True)
        all_judgments = all_judgments[keep[all_judgments["pair_row"].to_numpy()]].copy()
        all_judgments["pair_row"] = renumber[all_judgments["pair_row"].to_numpy()]
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
        adapter="mapping",
        title=mapping.title,
        source=mapping.source,
        licence=mapping.licence,
        files=[Path(label).name],
    )
    return IngestBatch(
        meta=meta,
        pairs=pairs,
        judgments=all_judgments.reset_index(drop=True),
        judges=pd.DataFrame(judges, columns=JUDGE_COLUMNS),
        rows_read=n,
        skipped=skipped,
        properties=properties,
    )


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


def _frames(path: Path, fmt: str | None, rows: int, records: str | None = None) -> Iterator[pd.DataFrame]:
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
            for batch in pq.ParquetFile(path).iter_batches(batch_size=rows):
                any_rows = any_rows or batch.num_rows > 0
                yield batch.to_pandas()
            if not any_rows:
                raise IngestError("the file has no rows", file=label)
            return
    except IngestError:
        raise
    except Exception as exc:
        raise IngestError(f"could not be read as {fmt}: {exc}", file=label) from exc
    frame = read_table(path, fmt, records)
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
    for frame in _frames(data_path, mapping.format, rows, mapping.records):
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
    frame = read_table(data_path, mapping.format, mapping.records)
    return build_batch(frame, mapping, str(data_path), files_version([data_path]))
