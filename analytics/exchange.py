"""The store as Parquet files, and back: a dataset exported here, or built by any pipeline (Spark, Ray, pandas) in
the same layout, is imported whole. One file per table, with the store's own columns; ids are the content hashes
of analytics/ids.py, so prompts, responses and embeddings shared with data already in the store stay one row.
A manifest (manifest.json) says which datasets the files hold and the schema version they follow."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from analytics.savedviews import list_views, merge_views, views_of_datasets
from analytics.store import (
    DERIVED_COLUMNS,
    SCHEMA_VERSION,
    check_dataset_name,
    delete_dataset,
    has_table,
    insert_new,
    transaction,
)

_RESPONSES_OF = """(SELECT response_a_id FROM pairs WHERE dataset IN (SELECT unnest($d))
                    UNION SELECT response_b_id FROM pairs WHERE dataset IN (SELECT unnest($d)))"""
# each table's rows that belong to the exported datasets
DATASET_TABLES = {
    "datasets": "name IN (SELECT unnest($d))",
    "prompts": "prompt_id IN (SELECT prompt_id FROM pairs WHERE dataset IN (SELECT unnest($d)))",
    "responses": f"response_id IN {_RESPONSES_OF}",
    "pairs": "dataset IN (SELECT unnest($d))",
    "judges": "judge_id IN (SELECT judge_id FROM judgments WHERE dataset IN (SELECT unnest($d)))",
    "judgments": "dataset IN (SELECT unnest($d))",
    "builtin_properties": f"response_id IN {_RESPONSES_OF}",
    "properties": f"subject_id IN {_RESPONSES_OF} OR subject_id IN "
    "(SELECT pair_id FROM pairs WHERE dataset IN (SELECT unnest($d)))",
}
OPTIONAL_TABLES = {"published": "dataset IN (SELECT unnest($d))"}  # files written before it existed lack it
EMBEDDING_TABLES = ("embedding_models", "embeddings")  # keyed by text hash and model: exported whole
# the order rows go in: what others point at first
READABLE_VERSIONS = ("2", SCHEMA_VERSION)  # version 2's files lack only derived columns
IMPORT_ORDER = ("prompts", "responses", "judges", "pairs", "judgments", "builtin_properties", "properties",
                "published", "embedding_models", "embeddings", "datasets")  # fmt: skip
MANIFEST = "manifest.json"
AGENDA = "agenda.json"  # the saved views of the exported datasets (analytics.savedviews)


def store_file(con: duckdb.DuckDBPyConnection) -> Path | None:
    """The file of the store a connection opened (None in memory)."""
    row = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    return Path(row[0]) if row and row[0] else None


def export_store(
    con: duckdb.DuckDBPyConnection, out_dir: Path, datasets: list[str] | None = None, embeddings: bool = False
) -> dict[str, int]:
    """Write the datasets (default: all) as one Parquet file per table into `out_dir`, with a manifest; return the
    rows written per table. `embeddings`: the stored vectors too (all of them: they are shared across datasets)."""
    stored = [r[0] for r in con.execute("SELECT name FROM datasets ORDER BY name").fetchall()]
    datasets = datasets or stored
    unknown = sorted(set(datasets) - set(stored))
    if unknown:
        raise ValueError(f"not in the store: {', '.join(unknown)} (it holds {', '.join(stored) or 'nothing'})")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {}
    tables = DATASET_TABLES | OPTIONAL_TABLES
    if embeddings:
        tables.update({t: "true" for t in EMBEDDING_TABLES if has_table(con, t)})
    for table, where in tables.items():
        path = out_dir / f"{table}.parquet"
        query = f"SELECT * FROM {table} WHERE {where}"
        params = {"d": datasets} if "$d" in where else {}
        con.execute(f"COPY ({query}) TO '{_quoted(path)}' (FORMAT parquet, COMPRESSION zstd)", params)
        counts[table] = con.execute(f"SELECT count(*) FROM read_parquet('{_quoted(path)}')").fetchone()[0]
    store = store_file(con)
    agenda = views_of_datasets(list_views(store), datasets) if store is not None else []
    (out_dir / AGENDA).write_text(json.dumps(agenda, indent=1), encoding="utf-8")  # its views travel with them
    manifest = {"schema_version": SCHEMA_VERSION, "datasets": datasets, "rows": counts, "saved_views": len(agenda)}
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return counts


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def import_store(con: duckdb.DuckDBPyConnection, in_dir: Path, replace: bool = False) -> list[str]:
    """Import a folder written by export_store (or by another pipeline in its layout), in one transaction; return
    the datasets imported. A dataset already in the store is an error unless `replace`."""
    in_dir = Path(in_dir)
    try:
        manifest = json.loads((in_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{in_dir}: no readable {MANIFEST} ({exc}); export with `prefatlas export-store`") from None
    if str(manifest.get("schema_version")) not in READABLE_VERSIONS:
        raise ValueError(
            f"{in_dir}: files follow schema version {manifest.get('schema_version')}, this prefatlas reads "
            f"{' and '.join(READABLE_VERSIONS)}"
        )
    datasets = [check_dataset_name(d) for d in manifest.get("datasets", [])]
    files = {t: in_dir / f"{t}.parquet" for t in IMPORT_ORDER if (in_dir / f"{t}.parquet").is_file()}
    missing = [t for t in DATASET_TABLES if t not in files]
    if missing:
        raise ValueError(f"{in_dir}: missing {', '.join(f + '.parquet' for f in missing)}")
    for table, path in files.items():  # every column the table has must be in the file
        if table in EMBEDDING_TABLES and not has_table(con, table):
            from analytics.embed import ensure_tables

            ensure_tables(con)
        want = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall() if r[0] not in DERIVED_COLUMNS.get(table, {})]
        have = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{_quoted(path)}')").fetchall()]
        lacking = [c for c in want if c not in have]
        if lacking:
            raise ValueError(f"{path}: lacks the column(s) {', '.join(lacking)} of table {table}")
    in_file = sorted(
        r[0] for r in con.execute(f"SELECT name FROM read_parquet('{_quoted(files['datasets'])}')").fetchall()
    )
    if in_file != sorted(datasets):
        raise ValueError(f"{in_dir}: the manifest names {datasets}, datasets.parquet holds {in_file}")
    present = [
        d
        for (d,) in con.execute(
            "SELECT name FROM datasets WHERE name IN (SELECT unnest($d))", {"d": datasets}
        ).fetchall()
    ]
    if present and not replace:
        raise ValueError(f"already in the store: {', '.join(present)}; --replace replaces them")
    with transaction(con):
        for name in present:
            delete_dataset(con, name)
        _check_judge_kinds(con, files["judges"])
        for table, path in files.items():
            derived = DERIVED_COLUMNS.get(table, {})
            names = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
            values = ", ".join(f"{derived[c]} AS {c}" if c in derived else c for c in names)  # made again
            source = f"SELECT {values} FROM read_parquet('{_quoted(path)}')"
            insert_new(con, table, names, source)
    store = store_file(con)
    if store is not None and (in_dir / AGENDA).is_file():  # the saved views that came with the datasets
        try:
            views = json.loads((in_dir / AGENDA).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            views = []
        merge_views(views if isinstance(views, list) else [], store)
    return datasets


def _check_judge_kinds(con: duckdb.DuckDBPyConnection, judges_file: Path) -> None:
    """A judge is one row per name: the files may not give a stored judge another kind."""
    clash = con.execute(
        f"""SELECT n.name, n.kind, o.kind FROM read_parquet('{_quoted(judges_file)}') n
            JOIN judges o ON o.name = n.name WHERE o.kind <> n.kind LIMIT 1"""
    ).fetchall()
    if clash:
        name, new, old = clash[0]
        raise ValueError(f"judge '{name}' is '{old}' in the store and '{new}' in the files: rename one of them")
