"""The store: content-hash ids, idempotent ingest, atomic failure, replacement of a new version."""

from __future__ import annotations

import pytest

from analytics.adapters import llmbar, pandalm
from analytics.ids import content_id
from analytics.store import connect, store_stats, write_batch

from conftest import ROOT
from fixtures import write_llmbar, write_pandalm

TABLES = ("datasets", "prompts", "responses", "pairs", "judges", "judgments")


def snapshot(con) -> dict[str, list]:
    return {
        t: sorted(
            map(
                repr,
                con.execute(
                    f"SELECT * EXCLUDE (ingested_at) FROM {t}" if t == "datasets" else f"SELECT * FROM {t}"
                ).fetchall(),
            )
        )
        for t in TABLES
    }


def test_content_id_separates_parts():
    assert content_id("ab", "c") != content_id("a", "bc")
    assert content_id(None) != content_id("")
    assert content_id("x", 1) == content_id("x", "1")


def test_content_ids_of_columns_equal_content_id_of_each_row():
    """The column-wise ids (Arrow text joined and hashed in place, or row by row) are content_id's, whatever the
    columns hold: pandas' Arrow-backed strings, lists with None, numbers, separators and NULs inside the text,
    multi-byte and unpaired-surrogate characters, missing values in a pandas column."""
    import random

    import pandas as pd
    import pyarrow as pa

    from analytics.ids import content_ids

    rng = random.Random(7)

    def text() -> str | None:
        if rng.random() < 0.1:
            return None
        return "".join(rng.choice("ab \x00\x1f’é🙂\nxyz") for _ in range(rng.randrange(0, 30)))

    for _ in range(300):
        n, m = rng.randrange(0, 40), rng.randrange(1, 5)
        columns = [[text() for _ in range(n)] for _ in range(m)]
        expected = [content_id(*row) for row in zip(*columns, strict=True)]
        assert content_ids(*columns) == expected
        as_series = [pd.Series([v for v in c], dtype="str") if k == 0 else c for k, c in enumerate(columns)]
        assert content_ids(*as_series) == [content_id(*row) for row in zip(*as_series, strict=True)]
        as_arrow = [pa.array(c, type=pa.string()) if k == m - 1 else c for k, c in enumerate(columns)]
        assert content_ids(*as_arrow) == expected
    odd = [pd.Series(["x", "\ud800y", "z"], dtype=object), [1, None, 2.5], ["a", "b", None]]
    assert content_ids(*odd) == [content_id(*row) for row in zip(*odd, strict=True)]
    assert content_ids(pd.Series(["a", "b"], dtype="str"), ["c", "d"]) == [content_id("a", "c"), content_id("b", "d")]
    pieces = pd.concat([pd.Series(["a"], dtype="str"), pd.Series(["b", "c"], dtype="str")], ignore_index=True)
    assert content_ids(pieces) == [content_id(v) for v in "abc"]  # Arrow strings in several chunks


def test_second_ingest_changes_nothing(tmp_path, store_path):
    root = write_llmbar(tmp_path / "llmbar")
    con = connect(store_path)
    first = write_batch(con, llmbar.load(root))
    before = snapshot(con)
    second = write_batch(con, llmbar.load(root))
    assert second.status == "unchanged"
    assert snapshot(con) == before
    forced = write_batch(con, llmbar.load(root), force=True)
    assert forced.status == "replaced"
    after = snapshot(con)
    assert after == before
    assert (first.pairs, first.judgments) == (3, 3 + 6 + 6)


def test_same_prompt_in_two_datasets_is_one_prompt(tmp_path, store_path):
    root = write_llmbar(tmp_path / "llmbar")
    con = connect(store_path)
    write_batch(con, llmbar.load(root, name="one"))
    write_batch(con, llmbar.load(root, name="two"))
    assert con.execute("SELECT count(*) FROM prompts").fetchone()[0] == 3
    assert con.execute("SELECT count(*) FROM pairs").fetchone()[0] == 6
    stats = store_stats(con)
    assert stats["one"]["pairs"] == stats["two"]["pairs"] == 3


def test_failed_ingest_leaves_store_unchanged(tmp_path, store_path, monkeypatch):
    con = connect(store_path)
    write_batch(con, pandalm.load(write_pandalm(tmp_path / "pandalm")))
    before = snapshot(con)
    batch = llmbar.load(write_llmbar(tmp_path / "llmbar"))

    import analytics.store as store_module

    real_insert = store_module._insert

    def failing_insert(con_, table, frame, **options):
        real_insert(con_, table, frame, **options)
        if table == "pairs":  # prompts, responses, judges and pairs are already written when this fails
            raise RuntimeError("disk full (simulated)")

    monkeypatch.setattr(store_module, "_insert", failing_insert)
    with pytest.raises(RuntimeError, match="simulated"):
        write_batch(con, batch)
    assert snapshot(con) == before


def test_adapter_bug_is_caught_before_any_write(tmp_path, store_path):
    con = connect(store_path)
    batch = llmbar.load(write_llmbar(tmp_path / "llmbar"))
    batch.judgments.loc[0, "verdict"] = "left"
    with pytest.raises(ValueError, match="verdicts must be one of"):
        write_batch(con, batch)
    assert con.execute("SELECT count(*) FROM pairs").fetchone()[0] == 0


def test_new_version_replaces_old_rows(tmp_path, store_path):
    root = write_llmbar(tmp_path / "llmbar")
    con = connect(store_path)
    write_batch(con, llmbar.load(root))
    batch = llmbar.load(root)
    batch.meta.version = "v2"
    batch.pairs = batch.pairs.iloc[:2].reset_index(drop=True)
    batch.judgments = batch.judgments[batch.judgments["pair_row"] < 2].reset_index(drop=True)
    summary = write_batch(con, batch)
    assert summary.status == "replaced"
    assert summary.pairs == 2
    assert con.execute("SELECT count(*) FROM prompts").fetchone()[0] == 2  # the orphaned prompt is gone
    assert con.execute("SELECT version FROM datasets").fetchone()[0] == "v2"


def test_verdicts_of_several_raters_are_kept(tmp_path, store_path):
    con = connect(store_path)
    write_batch(con, pandalm.load(write_pandalm(tmp_path)))
    per_pair = con.execute(
        "SELECT p.upstream_id, count(*) FROM judgments j JOIN pairs p USING (pair_id) GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert per_pair == [("0", 5), ("1", 5), ("2", 5)]
    ties = con.execute("SELECT count(*) FROM judgments WHERE verdict = 'tie'").fetchone()[0]
    assert ties == 3  # annotator3 on idx 0, PandaLM-7B on idx 0, gpt-3.5 'Tie' on idx 2


def test_read_only_open_of_missing_store_says_how_to_build(tmp_path):
    with pytest.raises(FileNotFoundError, match="prefatlas ingest"):
        connect(tmp_path / "nope.duckdb", read_only=True)


def test_schema_rejects_bad_verdict(store_path):
    con = connect(store_path)
    with pytest.raises(Exception, match="CHECK"):
        con.execute(
            "INSERT INTO judgments (judgment_id, pair_id, judge_id, dataset, verdict) "
            "VALUES ('x', 'p', 'j', 'd', 'left')"
        )


def test_a_judge_declared_with_another_kind_is_an_error_not_kept_silently(tmp_path):
    from analytics.adapters import pandalm

    from fixtures import write_pandalm

    con = connect(tmp_path / "s.duckdb")
    batch = pandalm.load(write_pandalm(tmp_path / "p"))
    write_batch(con, batch)
    other = pandalm.load(tmp_path / "p")
    other.meta.name = "copy"
    name = other.judges["name"].iloc[0]
    stored_kind = other.judges["kind"].iloc[0]
    other.judges.loc[other.judges["name"] == name, "kind"] = "reward_model" if stored_kind != "reward_model" else "llm"
    before = store_stats(con)
    with pytest.raises(ValueError, match=f"judge '{name}' is stored as kind '{stored_kind}'"):
        write_batch(con, other)
    assert store_stats(con) == before  # nothing written
    # re-ingesting the judge's only dataset with a corrected kind takes the new kind
    fixed = pandalm.load(tmp_path / "p")
    fixed.judges.loc[fixed.judges["name"] == name, "kind"] = other.judges.loc[other.judges["name"] == name, "kind"]
    write_batch(con, fixed, force=True)
    assert con.execute("SELECT kind FROM judges WHERE name = $n", {"n": name}).fetchone()[0] != stored_kind
    con.close()


def _characters(con) -> list[tuple]:
    return con.execute("SELECT response_id, chars, length(text) FROM responses ORDER BY response_id").fetchall()


def test_response_lengths_are_stored_as_written_and_made_for_a_store_of_version_2(tmp_path, store_path):
    """responses.chars is the text's length in characters, written with the row; a store an older prefatlas made
    (version 2: no such column) gets it on its first opening, read-only included."""
    import duckdb

    con = connect(store_path)
    write_batch(con, pandalm.load(write_pandalm(tmp_path / "p")))
    rows = _characters(con)
    assert len(rows) == 4 and all(chars == length > 0 for _, chars, length in rows)
    # turn it into the store version 2 wrote
    con.execute("ALTER TABLE responses DROP COLUMN chars")
    con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    con.close()
    con = connect(store_path, read_only=True)
    try:
        assert _characters(con) == rows
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "3"
    finally:
        con.close()
    raw = duckdb.connect(str(store_path), read_only=True)
    assert raw.execute("SELECT count(*) FROM responses WHERE chars IS NULL").fetchone()[0] == 0
    raw.close()


def test_a_store_whose_content_tables_have_primary_keys_takes_the_same_rows(tmp_path):
    """Stores made before the content tables lost their primary keys keep them: rows go in by the same anti-join
    (never a key violation), and shared prompts stay one row."""
    import duckdb

    from analytics import store

    path = tmp_path / "keyed.duckdb"
    old_ddl = store._DDL
    for column in ("prompt_id", "response_id", "pair_id"):
        old_ddl = old_ddl.replace(f"    {column} VARCHAR NOT NULL,", f"    {column} VARCHAR PRIMARY KEY,", 1)
    assert old_ddl.count("PRIMARY KEY") == store._DDL.count("PRIMARY KEY") + 3
    raw = duckdb.connect(str(path))
    raw.execute(old_ddl)
    raw.close()
    con = connect(path)
    root = write_llmbar(tmp_path / "llmbar")
    write_batch(con, llmbar.load(root, name="one"))
    write_batch(con, llmbar.load(root, name="two"))
    write_batch(con, llmbar.load(root, name="two"), force=True)
    assert con.execute("SELECT count(*), count(DISTINCT prompt_id) FROM prompts").fetchone() == (3, 3)
    assert con.execute("SELECT count(*), count(DISTINCT pair_id) FROM pairs").fetchone() == (6, 6)
    fresh = connect(tmp_path / "fresh.duckdb")
    write_batch(fresh, llmbar.load(root, name="one"))
    write_batch(fresh, llmbar.load(root, name="two"))
    assert snapshot(con) == snapshot(fresh)


def test_connections_draw_no_progress_bar(store_path):
    """DuckDB draws a progress bar on stdout for a query of more than two seconds (a million pairs' verdicts):
    into `prefatlas judges --json`'s output. Every store connection turns it off."""
    for read_only in (False, True):
        con = connect(store_path, read_only=read_only)
        try:
            assert con.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0] is False
        finally:
            con.close()


def test_each_connection_kind_gets_its_memory_cap(store_path, monkeypatch):
    """A command's reader runs under 512 MB (DuckDB spills; a million pairs' verdicts then peak at 1.0 GB
    resident instead of 1.4), the dashboard's shared reader under 1 GB, writers under 2 GB; every connection
    hands freed memory back (the allocator's background threads). PREFATLAS_MEMORY_LIMIT overrides them all."""
    monkeypatch.delenv("PREFATLAS_MEMORY_LIMIT", raising=False)

    def settings(**kwargs) -> tuple[str, bool]:
        con = connect(store_path, **kwargs)
        try:
            return con.execute(
                "SELECT current_setting('memory_limit'), current_setting('allocator_background_threads')"
            ).fetchone()
        finally:
            con.close()

    connect(store_path).close()
    assert settings(read_only=True) == ("488.2 MiB", True)
    assert settings(read_only=True, memory="serve") == ("953.6 MiB", True)
    assert settings() == ("1.8 GiB", True)
    monkeypatch.setenv("PREFATLAS_MEMORY_LIMIT", "300MB")
    assert settings(read_only=True, memory="serve")[0] == "286.1 MiB"


def test_an_ingest_checkpoints_before_it_returns(store_path, tmp_path):
    """An ingest moves its rows from the write-ahead log into the file itself, under the ingest's memory cap,
    before it returns: left to the connection's close (under a writer's 2 GB), that checkpoint took a million
    pairs' ingest from 1.2 to 1.9 GB resident."""
    from pathlib import Path

    con = connect(store_path)
    try:
        write_batch(con, pandalm.load(write_pandalm(tmp_path / "p")))
        wal = Path(f"{store_path}.wal")
        assert not wal.exists() or wal.stat().st_size == 0
        assert con.execute("SELECT count(*) FROM pairs").fetchone()[0] == 3
    finally:
        con.close()


def test_a_writer_waiting_for_the_store_flags_it_and_a_reader_lets_go(tmp_path):
    """A writer that finds the store held by another process keeps a flag beside it fresh while it waits (what the
    dashboard watches to let go between page runs) and removes it once it has the store."""
    import subprocess
    import sys
    import time

    from analytics.store import write_wanted, write_wanted_path

    path = tmp_path / "s.duckdb"
    connect(path).close()
    holder = subprocess.Popen(  # a reader in another process that closes the store once a writer asks for it
        [
            sys.executable,
            "-c",
            "import sys, time, duckdb; from analytics.store import write_wanted\n"
            "con = duckdb.connect(sys.argv[1], read_only=True); print('holding', flush=True)\n"
            "deadline = time.time() + 60\n"
            "while not write_wanted(sys.argv[1]) and time.time() < deadline: time.sleep(0.05)\n"
            "print('asked' if write_wanted(sys.argv[1]) else 'never asked', flush=True); con.close()",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=str(ROOT),
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        assert not write_wanted(path)
        start = time.monotonic()
        con = connect(path, wait_s=60)  # waits for the reader, flagging the store meanwhile
        con.close()
        assert holder.stdout.readline().strip() == "asked"
        assert holder.wait(30) == 0 and time.monotonic() - start < 30
    finally:
        holder.kill()  # a failed assertion leaves no process behind
        holder.wait()
        holder.stdout.close()
    assert not write_wanted_path(path).exists()  # the flag is gone with the wait


def test_the_dashboard_keeps_its_reader_open_between_runs_until_a_writer_waits(tmp_path, monkeypatch):
    """Page runs share one read-only connection between them (its buffers stay warm); a waiting writer's flag closes
    it within moments once no run holds it."""
    import time

    import dashboard.db as db
    from analytics.store import write_wanted_path

    path = tmp_path / "s.duckdb"
    connect(path).close()
    monkeypatch.setenv("PREFATLAS_STORE", str(path))
    with db.reading() as cur:
        assert cur.execute("SELECT 1").fetchone() == (1,)
    time.sleep(1.5)
    assert db._shared["con"] is not None  # idle for a while, nobody waiting: kept
    write_wanted_path(path).touch()
    deadline = time.monotonic() + 10
    while db._shared["con"] is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert db._shared["con"] is None
    write_wanted_path(path).unlink()
