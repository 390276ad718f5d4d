"""The store as Parquet and back: an exported dataset imports into another store with every row and figure."""

from __future__ import annotations

import json

import duckdb

from analytics import cli
from analytics.adapters import judgebench, pandalm
from analytics.embed import embed_dataset, load_model
from analytics.judges import judges_report
from analytics.store import connect, store_stats, write_batch

from fixtures import write_judgebench, write_pandalm


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def table(store, sql):
    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_export_then_import_keeps_every_row_and_figure(tmp_path, capsys):
    source, target, folder = tmp_path / "a.duckdb", tmp_path / "b.duckdb", tmp_path / "parquet"
    con = connect(source)
    write_batch(con, pandalm.load(write_pandalm(tmp_path / "p")))
    write_batch(con, judgebench.load(write_judgebench(tmp_path / "j")))
    embed_dataset(con, "pandalm", model=load_model(), responses=False)
    con.close()
    code, out, err = run(
        capsys, "export-store", "--store", source, "-o", folder, "--dataset", "pandalm", "--embeddings"
    )
    assert code == 0, err
    manifest = json.loads((folder / "manifest.json").read_text())
    assert (
        manifest["datasets"] == ["pandalm"] and manifest["rows"]["pairs"] == 3 and manifest["rows"]["embeddings"] == 2
    )
    code, out, err = run(capsys, "import-store", "--store", target, folder)
    assert code == 0 and "imported: pandalm" in out, err
    a, b = connect(source, read_only=True), connect(target, read_only=True)
    try:
        assert store_stats(b) == {"pandalm": store_stats(a)["pandalm"]}
        mine = "(SELECT response_a_id FROM pairs WHERE dataset = 'pandalm' UNION SELECT response_b_id FROM pairs "
        mine += "WHERE dataset = 'pandalm')"
        for sql in (
            "SELECT * FROM datasets WHERE name = 'pandalm'",
            "SELECT * FROM judgments WHERE dataset = 'pandalm' ORDER BY judgment_id",
            f"SELECT * FROM builtin_properties WHERE response_id IN {mine} ORDER BY response_id",
            "SELECT text_id, vector FROM embeddings ORDER BY text_id",
        ):
            assert b.execute(sql).fetchall() == a.execute(sql).fetchall(), sql

        def report(con):  # NaN figures compare equal as text
            return json.dumps(judges_report(con, "pandalm", boot=50), sort_keys=True, default=str)

        assert report(b) == report(a)
    finally:
        a.close()
        b.close()
    code, _, err = run(capsys, "import-store", "--store", target, folder)
    assert code == 2 and "already in the store: pandalm; --replace replaces them" in err
    code, out, err = run(capsys, "import-store", "--store", target, folder, "--replace")
    assert code == 0, err
    assert table(target, "SELECT count(*) FROM pairs") == [(3,)]


def test_import_refuses_files_that_lack_columns(tmp_path, capsys):
    source, folder = tmp_path / "a.duckdb", tmp_path / "parquet"
    con = connect(source)
    write_batch(con, pandalm.load(write_pandalm(tmp_path / "p")))
    con.close()
    assert run(capsys, "export-store", "--store", source, "-o", folder)[0] == 0
    broken = duckdb.connect()
    path = str(folder / "pairs.parquet")
    broken.execute(f"COPY (SELECT * EXCLUDE (prompt_id) FROM read_parquet('{path}')) TO '{path}.new' (FORMAT parquet)")
    broken.close()
    (folder / "pairs.parquet.new").replace(folder / "pairs.parquet")
    code, _, err = run(capsys, "import-store", "--store", tmp_path / "b.duckdb", folder)
    assert code == 2 and "pairs.parquet: lacks the column(s) prompt_id of table pairs" in err
    assert table(tmp_path / "b.duckdb", "SELECT count(*) FROM pairs") == [(0,)]


def test_the_agenda_travels_with_its_datasets(tmp_path, capsys):
    """The saved views of the exported datasets go with them (a view of another dataset stays), and an import adds
    them to the target store's agenda once."""
    from analytics.savedviews import agenda_path, list_views, save_view

    source, target, folder = tmp_path / "a.duckdb", tmp_path / "b.duckdb", tmp_path / "parquet"
    con = connect(source)
    write_batch(con, pandalm.load(write_pandalm(tmp_path / "p")))
    write_batch(con, judgebench.load(write_judgebench(tmp_path / "j")))
    con.close()
    save_view("PandaLM agreement", "first", "http://h/judges?dataset=pandalm&metric=kappa", store=source)
    save_view("JudgeBench", "", "http://h/judges?dataset=judgebench", store=source)
    assert agenda_path(source) == tmp_path / "a.agenda.json" and agenda_path(source).is_file()
    assert run(capsys, "export-store", "--store", source, "-o", folder, "--dataset", "pandalm")[0] == 0
    assert [v["title"] for v in json.loads((folder / "agenda.json").read_text())] == ["PandaLM agreement"]
    save_view("Already there", "", "http://h/?dataset=x", store=target)
    for _ in range(2):  # a second import (--replace) adds no view twice
        assert run(capsys, "import-store", "--store", target, folder, "--replace")[0] == 0
    assert [(v["title"], v["note"]) for v in list_views(target)] == [
        ("Already there", ""),
        ("PandaLM agreement", "first"),
    ]


def test_files_of_schema_version_2_import_with_their_lengths_made(tmp_path, capsys):
    """An export of version 2 (responses without chars) imports; the lengths are computed from the texts (and a
    file's own chars column would not be trusted either)."""
    import pyarrow.parquet as pq

    source, target, folder = tmp_path / "a.duckdb", tmp_path / "b.duckdb", tmp_path / "parquet"
    con = connect(source)
    write_batch(con, pandalm.load(write_pandalm(tmp_path / "p")))
    con.close()
    assert run(capsys, "export-store", "--store", source, "-o", folder)[0] == 0
    responses = pq.read_table(folder / "responses.parquet")
    pq.write_table(responses.drop_columns(["chars"]), folder / "responses.parquet")
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps(manifest | {"schema_version": "2"}))
    code, _, err = run(capsys, "import-store", "--store", target, folder)
    assert code == 0, err
    sql = "SELECT response_id, chars FROM responses ORDER BY response_id"
    assert table(target, sql) == table(source, sql)
    assert table(target, "SELECT count(*) FROM responses WHERE chars = length(text) AND chars > 0") == [(4,)]
    (folder / "manifest.json").write_text(json.dumps(manifest | {"schema_version": "1"}))
    code, _, err = run(capsys, "import-store", "--store", tmp_path / "c.duckdb", folder)
    assert code == 2 and "schema version 1" in err


def test_files_that_repeat_a_row_import_it_once(tmp_path, capsys):
    """Files from another pipeline may hold a row twice: each id is stored once."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    source, target, folder = tmp_path / "a.duckdb", tmp_path / "b.duckdb", tmp_path / "parquet"
    con = connect(source)
    write_batch(con, pandalm.load(write_pandalm(tmp_path / "p")))
    con.close()
    assert run(capsys, "export-store", "--store", source, "-o", folder)[0] == 0
    for name in ("prompts", "responses", "pairs"):
        rows = pq.read_table(folder / f"{name}.parquet")
        pq.write_table(pa.concat_tables([rows, rows]), folder / f"{name}.parquet")
    code, _, err = run(capsys, "import-store", "--store", target, folder)
    assert code == 0, err
    for name, key in (("prompts", "prompt_id"), ("responses", "response_id"), ("pairs", "pair_id")):
        sql = f"SELECT count(*), count(DISTINCT {key}) FROM {name}"
        assert table(target, sql) == table(source, sql), name
