"""Shared pieces of the ingest adapters: reading files, errors that name file/row/column, batch assembly."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from analytics.store import JUDGE_COLUMNS, JUDGMENT_COLUMNS, PAIR_COLUMNS, DatasetMeta, IngestBatch, Skipped

GZIP_MAGIC = b"\x1f\x8b"


class IngestError(ValueError):
    """Bad input. The message names the file, and the row and column where known, and what was expected."""

    def __init__(self, message: str, file: str | None = None, row: int | None = None, column: str | None = None):
        where = []
        if file is not None:
            where.append(str(file))
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column '{column}'")
        self.file, self.row, self.column = file, row, column
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


def open_bytes(path: Path) -> bytes:
    """The file's content, gunzipped when it is gzip (by magic bytes, whatever its name)."""
    raw = Path(path).read_bytes()
    if raw[:2] == GZIP_MAGIC:
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise IngestError(f"corrupt gzip data ({exc})", file=str(path)) from exc
    return raw


def logical_name(path: Path, root: Path) -> str:
    """The upstream-relative name recorded as provenance; a '.gz' added by a mirror is dropped so ids do not depend
    on where the file was read from."""
    rel = Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    return rel.removesuffix(".gz")


def _records_at(document: dict, records: str, label: str) -> list:
    """The list at a dotted path of a JSON object ("data.examples")."""
    node: object = document
    for step, key in enumerate(records.split(".")):
        if not isinstance(node, dict) or key not in node:
            where = ".".join(records.split(".")[:step]) or "the top level"
            keys = sorted(node)[:12] if isinstance(node, dict) else type(node).__name__
            raise IngestError(f"records = '{records}': no key '{key}' at {where} (it has {keys})", file=label)
        node = node[key]
    if not isinstance(node, list):
        raise IngestError(f"records = '{records}' holds a {type(node).__name__}, not a list of records", file=label)
    return node


def read_records(path: Path, label: str | None = None, records: str | None = None) -> list[dict]:
    """Rows of a JSON array or JSON-lines file (plain or gzip), or of the list a JSON object holds at the dotted
    path `records` (e.g. {"examples": [...]} with records = "examples")."""
    label = label or str(path)
    raw = open_bytes(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:  # never store replaced characters: say where the file is not UTF-8
        raise IngestError(
            f"not UTF-8 text (byte {exc.start}); convert it, e.g. `iconv -f latin1 -t utf-8`", file=label
        ) from None
    stripped = text.lstrip()
    document = None
    lines_by_name = Path(path).name.lower().removesuffix(".gz").endswith((".jsonl", ".ndjson"))
    if stripped.startswith("{") and not (lines_by_name and records is None):  # a .jsonl is lines, even one line
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            document = None  # JSON Lines: one object per line
    lists = (
        [k for k, v in document.items() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)]
        if isinstance(document, dict)
        else []
    )
    if isinstance(document, dict) and records is not None:
        rows = _records_at(document, records, label)
    elif lists:  # one object holding lists of records: say where they are rather than read it as one row
        raise IngestError(
            f"the file is one JSON object (keys {sorted(document)[:12]}), not a list of records; its records are "
            f'probably under "{lists[0]}": set records = "{lists[0]}" in the mapping',
            file=label,
        )
    elif isinstance(document, dict):
        rows = [document]  # JSON Lines with a single record
    elif records is not None:
        raise IngestError(f"records = '{records}' needs a file holding one JSON object", file=label)
    elif stripped.startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise IngestError(f"invalid JSON at line {exc.lineno}, char {exc.colno}: {exc.msg}", file=label) from exc
    else:
        rows = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise IngestError(f"invalid JSON on line {lineno}: {exc.msg}", file=label, row=lineno) from exc
    for i, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise IngestError(f"expected a JSON object, got {type(row).__name__}", file=label, row=i)
    return rows


def require(row: dict, key: str, file: str, rowno: int) -> object:
    if key not in row:
        raise IngestError(f"missing field; the row has {sorted(row)[:12]}", file=file, row=rowno, column=key)
    return row[key]


def files_version(paths: Iterable[Path]) -> str:
    """Checksum of the decompressed contents (order-independent), so a mirror's .gz and upstream agree."""
    h = hashlib.sha256()
    for p in sorted(Path(x) for x in paths):
        h.update(p.name.removesuffix(".gz").encode())
        h.update(hashlib.sha256(open_bytes(p)).digest())
    return h.hexdigest()[:16]


def find(root: Path, pattern: str) -> list[Path]:
    """Files under root matching pattern, with or without a mirror's '.gz' suffix (one per logical file)."""
    found: dict[str, Path] = {}
    for p in sorted(root.glob(pattern)) + sorted(root.glob(pattern + ".gz")):
        if p.is_file():
            found.setdefault(p.as_posix().removesuffix(".gz"), p)
    return [found[k] for k in sorted(found)]


class BatchBuilder:
    """Collects pairs, judgments and judges row by row, then builds an IngestBatch."""

    def __init__(self) -> None:
        self.pairs: list[dict] = []
        self.judgments: list[dict] = []
        self.judges: dict[str, dict] = {}
        self.skipped: list[Skipped] = []
        self.rows_read = 0

    def judge(
        self, name: str, kind: str, model: str | None = None, family: str | None = None, protocol: str | None = None
    ) -> str:
        self.judges.setdefault(
            name, {"name": name, "kind": kind, "model": model, "family": family, "protocol": protocol}
        )
        return name

    def pair(self, **fields: object) -> int:
        row = {c: None for c in PAIR_COLUMNS}
        unknown = set(fields) - set(PAIR_COLUMNS)
        if unknown:
            raise TypeError(f"unknown pair fields {sorted(unknown)}")
        row.update(fields)
        self.pairs.append(row)
        return len(self.pairs) - 1

    def judgment(self, pair_row: int, judge: str, verdict: str, **fields: object) -> None:
        row = {c: None for c in JUDGMENT_COLUMNS}
        row.update(fields)
        row.update(pair_row=pair_row, judge=judge, verdict=verdict)
        self.judgments.append(row)

    def skip(self, file: str, row: int | None, reason: str) -> None:
        self.skipped.append(Skipped(file, row, reason))

    def build(self, meta: DatasetMeta) -> IngestBatch:
        return IngestBatch(
            meta=meta,
            pairs=pd.DataFrame(self.pairs, columns=PAIR_COLUMNS),
            judgments=pd.DataFrame(self.judgments, columns=JUDGMENT_COLUMNS),
            judges=pd.DataFrame(list(self.judges.values()), columns=JUDGE_COLUMNS),
            rows_read=self.rows_read,
            skipped=self.skipped,
        )
