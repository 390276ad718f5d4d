"""Faults: an ingest killed at any point leaves the store as it was or complete; malformed input of every kind is
a one-line message, never a traceback, and changes nothing."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from conftest import ROOT

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
    from analytics.store import connect

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
