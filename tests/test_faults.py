"""Faults: an ingest killed at any point leaves the store as it was or complete; malformed input of every kind is
a one-line message, never a traceback, and changes nothing."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import cli
from analytics.adapters.base import IngestError
from analytics.catalog import CatalogEntry, fetch, ingest_entry, load_catalog
from analytics.store import connect, store_stats

from conftest import ROOT
from fixtures import write_pandalm

MAPPING = (
    'name = "killed"\n[columns]\nprompt = "q"\nresponse_a = "a"\nresponse_b = "b"\n'
    '[[verdicts]]\njudge = "annotator"\ncolumn = "label"\nvalues = { A = "A", B = "B" }\n'
)


def _study(root: Path, n: int) -> tuple[Path, Path]:
    words = [
        "the",
        "a",
        "model",
        "answer",
        "because",
        "however",
        "table",
        "code",
        "list",
        "example",
        "step",
        "result",
        "first",
        "second",
    ]
    rng = random.Random(1)
    rows = [
        {
            "q": f"question {i}: " + " ".join(rng.choices(words, k=12)),
            "a": " ".join(rng.choices(words, k=rng.randint(5, 120))) + f" {i}",
            "b": " ".join(rng.choices(words, k=rng.randint(5, 120))) + f". {i}?",
            "label": rng.choice("AB"),
        }
        for i in range(n)
    ]
    data = root / "study.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    mapping = root / "study.toml"
    mapping.write_text(MAPPING)
    return data, mapping


def _state(store: Path) -> tuple[int, int, int]:
    """(datasets named 'killed', its pairs, its responses lacking builtin properties)."""
    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.execute(
            """SELECT (SELECT count(*) FROM datasets WHERE name = 'killed'),
                      (SELECT count(*) FROM pairs WHERE dataset = 'killed'),
                      (SELECT count(*) FROM (SELECT response_a_id r FROM pairs WHERE dataset = 'killed'
                                             UNION SELECT response_b_id FROM pairs WHERE dataset = 'killed')
                       WHERE r NOT IN (SELECT response_id FROM builtin_properties))"""
        ).fetchone()
    finally:
        con.close()


def test_an_ingest_killed_at_random_points_leaves_the_store_as_before_or_complete(tmp_path):
    n = 6000
    data, mapping = _study(tmp_path, n)
    store = tmp_path / "store.duckdb"
    connect(store).close()
    command = [sys.executable, "-m", "analytics.cli", "ingest", "--store", str(store), "--mapping", str(mapping),
               str(data), "--no-precompute"]  # fmt: skip
    start = time.monotonic()
    subprocess.run([*command[:4], "stats"], cwd=ROOT, capture_output=True)  # interpreter start-up, for scale
    startup = time.monotonic() - start
    rng = random.Random(7)
    for attempt in range(6):  # kills into an empty store and into one that holds the complete dataset (--force)
        force = ["--force"] * (attempt % 2)
        proc = subprocess.Popen(command + force, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(startup + rng.uniform(0.0, 2.5))  # a full ingest of these rows takes ≈ 2 s here
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        datasets, pairs, without = _state(store)
        assert (datasets, pairs, without) in ((0, 0, 0), (1, n, 0)), (datasets, pairs, without)
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert _state(store) == (1, n, 0)


# --- fuzz: malformed mappings and files ------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=True) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
VALID_MAPPING = {
    "name": "fuzzed",
    "columns": {"prompt": "q", "response_a": "a", "response_b": "b", "order": "o"},
    "order_values": {"ab": "AB", "ba": "BA"},
    "verdicts": [{"judge": "j", "kind": "llm", "column": "w", "frame": "shown", "values": {"1": "A", "2": "B"}}],
}
VALID_ROWS = [{"q": f"q{i}", "a": "x", "b": "y", "o": "ab" if i % 2 else "ba", "w": 1 + i % 2} for i in range(4)]
MAPPING_KEYS = [
    ("name",), ("format",), ("records",), ("header",), ("order",), ("order_values",), ("derive",), ("lookups",),
    ("join",), ("properties",), ("on_bad_row",), ("columns",), ("columns", "prompt"), ("columns", "order"),
    ("columns", "id"), ("verdicts",), ("verdicts", 0), ("verdicts", 0, "values"), ("verdicts", 0, "column"),
    ("verdicts", 0, "counts"), ("verdicts", 0, "order"), ("verdicts", 0, "judge_from"), ("verdicts", 0, "kind"),
    ("verdicts", 0, "frame"), ("verdicts", 0, "prob_b"), ("unknown_key",),
]  # fmt: skip


def _set(document: object, path: tuple, value: object) -> None:
    node = document
    for step in path[:-1]:
        if isinstance(node, dict) and isinstance(step, str):
            node = node.setdefault(step, {})
        elif isinstance(node, list) and isinstance(step, int) and step < len(node):
            node = node[step]
        else:
            return
    if isinstance(node, dict) or (isinstance(node, list) and isinstance(path[-1], int) and path[-1] < len(node)):
        node[path[-1]] = value


def _ingest_fails_cleanly_or_works(mapping: dict | str, data: bytes, suffix: str) -> None:
    """In-process CLI: exit 0, or exit 2 with one line naming what is wrong; never an exception, never a changed
    store on an error."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        store = root / "store.duckdb"
        connect(store).close()
        mapping_file = root / "m.json"
        mapping_file.write_text(mapping if isinstance(mapping, str) else json.dumps(mapping))
        data_file = root / f"data{suffix}"
        data_file.write_bytes(data)
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = cli.main(["ingest", "--store", str(store), "--mapping", str(mapping_file), str(data_file),
                             "--no-precompute"])  # fmt: skip
        message = err.getvalue().strip()
        assert code in (0, 2), message
        if code == 2:
            assert message.startswith("prefatlas: error: ") and "Traceback" not in message, message
            con = duckdb.connect(str(store), read_only=True)
            try:
                assert con.execute("SELECT count(*) FROM pairs").fetchone() == (0,)
            finally:
                con.close()


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True)
@given(st.lists(st.tuples(st.sampled_from(MAPPING_KEYS), json_values), min_size=1, max_size=3))
def test_fuzzed_mappings_never_raise(mutations):
    mapping = json.loads(json.dumps(VALID_MAPPING))
    for path, value in mutations:
        _set(mapping, path, value)
    data = "".join(json.dumps(r) + "\n" for r in VALID_ROWS).encode()
    _ingest_fails_cleanly_or_works(mapping, data, ".jsonl")


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True)
@given(
    st.lists(st.dictionaries(st.sampled_from(["q", "a", "b", "o", "w", "x"]), json_values, max_size=6), max_size=5),
    st.sampled_from([".jsonl", ".json", ".csv", ".json-object", ".bytes"]),
    st.binary(max_size=40),
)
def test_fuzzed_files_never_raise(rows, kind, noise):
    if kind == ".jsonl":
        data, suffix = "".join(json.dumps(r) + "\n" for r in rows).encode(), ".jsonl"
    elif kind == ".json":
        data, suffix = json.dumps(rows).encode(), ".json"
    elif kind == ".json-object":
        data, suffix = json.dumps({"rows": rows, "n": len(rows)}).encode(), ".json"
    elif kind == ".csv":
        columns = sorted({k for r in rows for k in r})
        lines = [",".join(columns)] + [",".join(str(r.get(c, "")) for c in columns) for r in rows]
        data, suffix = "\n".join(lines).encode(), ".csv"
    else:
        data, suffix = noise, ".jsonl"
    _ingest_fails_cleanly_or_works(VALID_MAPPING, data, suffix)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_fuzzed_mapping_files_never_raise(raw):
    data = "".join(json.dumps(r) + "\n" for r in VALID_ROWS).encode()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "m.toml").write_bytes(raw)
        (root / "d.jsonl").write_bytes(data)
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = cli.main(["ingest", "--store", str(root / "s.duckdb"), "--mapping", str(root / "m.toml"),
                             str(root / "d.jsonl"), "--no-precompute"])  # fmt: skip
        assert code == 2 and err.getvalue().startswith("prefatlas: error: "), err.getvalue()


# --- the catalog: files that parse but hold nothing, and stale cached copies ----------------------------------


def _pandalm_entry(pairs: int | None = 3) -> CatalogEntry:
    real = load_catalog()["pandalm"]
    return dataclasses.replace(real, pairs=pairs)


def test_a_catalog_file_that_parses_but_holds_nothing_leaves_the_dataset_as_it_was(tmp_path):
    mirror = tmp_path / "mirror"
    write_pandalm(mirror / "pandalm")
    con = connect(tmp_path / "store.duckdb")
    try:
        ingest_entry(con, _pandalm_entry(), mirror=mirror)
        before = store_stats(con)
        (mirror / "pandalm" / "data" / "testset-v1.json").write_text("[]")
        with pytest.raises(IngestError, match="the files hold 0 pairs, the catalog's commit 3871806e72b4 holds 3"):
            ingest_entry(con, _pandalm_entry(), mirror=mirror)
        assert store_stats(con) == before
    finally:
        con.close()


def test_a_truncated_catalog_file_is_refused_unless_allowed(tmp_path):
    mirror = tmp_path / "mirror"
    write_pandalm(mirror / "pandalm")
    con = connect(tmp_path / "store.duckdb")
    try:
        with pytest.raises(IngestError, match=r"holds 100: .* --allow-partial"):
            ingest_entry(con, _pandalm_entry(pairs=100), mirror=mirror)
        assert store_stats(con) == {}
        assert ingest_entry(con, _pandalm_entry(pairs=100), mirror=mirror, allow_partial=True).pairs == 3
    finally:
        con.close()


def test_the_mirrors_current_file_wins_over_a_stale_cached_copy(tmp_path):
    mirror, cache = tmp_path / "mirror", tmp_path / "cache"
    write_pandalm(mirror / "pandalm")
    entry = _pandalm_entry()
    # a cache filled from an older mirror, then the mirror loses one file (so the cache is used) and changes another
    shutil.copytree(mirror / "pandalm", cache / "pandalm")
    (mirror / "pandalm" / "data" / "pandalm-7b-testset-v1.json").unlink()
    rows = json.loads((mirror / "pandalm" / "data" / "testset-v1.json").read_text())
    rows[2]["response1"] = "the corrected answer"
    (mirror / "pandalm" / "data" / "testset-v1.json").write_text(json.dumps(rows))
    root = fetch(entry, mirror=mirror, cache=cache)
    assert root == cache / "pandalm"
    assert json.loads((root / "data" / "testset-v1.json").read_text())[2]["response1"] == "the corrected answer"
