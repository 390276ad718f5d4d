"""The console script: ingest paths, stats --json, and clear errors with exit code 2."""

from __future__ import annotations

import json

import pandas as pd

from analytics import cli
from analytics.adapters import huggingface

from fixtures import write_llmbar, write_pandalm


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_ingest_folder_then_stats_json(tmp_path, store_path, capsys):
    code, out, _ = run(capsys, "ingest", "--store", store_path, "--adapter", "pandalm", write_pandalm(tmp_path / "p"))
    assert code == 0
    assert "pandalm: ingested: 3 pairs, 5 judges, 15 judgments" in out
    code, out, _ = run(capsys, "ingest", "--store", store_path, "--adapter", "pandalm", tmp_path / "p")
    assert "unchanged" in out
    run(capsys, "ingest", "--store", store_path, "--adapter", "llmbar", "--name", "bar", write_llmbar(tmp_path / "l"))
    code, out, _ = run(capsys, "stats", "--store", store_path, "--json")
    stats = json.loads(out)
    assert {k: (v["pairs"], v["prompts"], v["responses"], v["judges"], v["judgments"]) for k, v in stats.items()} == {
        "bar": (3, 3, 6, 3, 15),
        "pandalm": (3, 2, 4, 5, 15),
    }


def test_ingest_with_mapping(tmp_path, store_path, capsys):
    data = tmp_path / "d.csv"
    pd.DataFrame({"q": ["a", "b"], "x": ["1", "2"], "y": ["3", "4"], "w": ["x", "y"]}).to_csv(data, index=False)
    mapping = tmp_path / "m.toml"
    mapping.write_text(
        'name = "own"\n[columns]\nprompt = "q"\nresponse_a = "x"\nresponse_b = "y"\n'
        '[[verdicts]]\njudge = "me"\ncolumn = "w"\nvalues = { x = "A", y = "B" }\n'
    )
    code, out, err = run(capsys, "ingest", "--store", store_path, "--mapping", mapping, data)
    assert code == 0, err
    assert "own: ingested: 2 pairs, 1 judges, 2 judgments" in out


def test_bad_input_exits_2_with_message_and_store_unchanged(tmp_path, store_path, capsys):
    run(capsys, "ingest", "--store", store_path, "--adapter", "pandalm", write_pandalm(tmp_path / "p"))
    data = tmp_path / "d.csv"
    pd.DataFrame({"q": ["a"], "x": ["1"], "y": ["3"], "w": ["z"]}).to_csv(data, index=False)
    mapping = tmp_path / "m.toml"
    mapping.write_text(
        'name = "own"\n[columns]\nprompt = "q"\nresponse_a = "x"\nresponse_b = "y"\n'
        '[[verdicts]]\njudge = "me"\ncolumn = "w"\nvalues = { x = "A" }\n'
    )
    code, _, err = run(capsys, "ingest", "--store", store_path, "--mapping", mapping, data)
    assert code == 2
    assert "prefatlas: error: " in err and "d.csv, column 'w'" in err and "'z'" in err
    code, out, _ = run(capsys, "stats", "--store", store_path, "--json")
    assert list(json.loads(out)) == ["pandalm"]


def test_unknown_catalog_name_and_missing_store(tmp_path, store_path, capsys):
    code, _, err = run(capsys, "ingest", "--store", store_path, "no-such-dataset")
    assert code == 2 and "not in the catalog" in err
    code, _, err = run(capsys, "stats", "--store", tmp_path / "missing.duckdb")
    assert code == 2 and "no store at" in err


def test_hugging_face_offline_fails_fast(store_path, capsys, monkeypatch):
    monkeypatch.setattr(huggingface, "HF_ENDPOINT", "http://127.0.0.1:9")
    code, _, err = run(capsys, "ingest", "--store", store_path, "--hf", "Anthropic/hh-rlhf")
    assert code == 2
    assert "cannot reach the Hugging Face Hub" in err and "offline" in err


def test_catalog_lists_licences(capsys):
    _, out, _ = run(capsys, "catalog", "--json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["alpaca_eval"]["licence"] == "CC BY-NC 4.0"
    assert set(rows) == {"llmbar", "pandalm", "judgebench", "alpaca_eval", "hh-rlhf-harmless-base"}


def test_ingest_precomputes_the_pages_default_views(tmp_path, store_path, capsys, monkeypatch):
    """After `prefatlas ingest`, the Judges report and the Dissection fits of the new dataset are read from the
    cache: computing them again would fail here."""
    from analytics import dissection, judges
    from analytics.store import connect

    code, _, err = run(capsys, "ingest", "--store", store_path, "--adapter", "pandalm", write_pandalm(tmp_path / "p"))
    assert code == 0 and "Judges and Dissection views computed" in err

    def fail(*args, **kwargs):
        raise AssertionError("recomputed")

    monkeypatch.setattr(judges, "_judges_report", fail)
    monkeypatch.setattr(dissection, "_dissect", fail)
    monkeypatch.setattr(dissection, "decided_pair", fail)  # the pair the Dissection page's explanation opens with
    con = connect(store_path, read_only=True)
    assert judges.judges_report(con, "pandalm")["dataset"] == "pandalm"
    assert "results" in dissection.dissect(con, "pandalm")
    from analytics.explorer import PRESORTED, presorted_ids

    monkeypatch.setattr("analytics.explorer._sorted_ids", fail)  # the Pairs page's sorts that read every pair
    assert all(presorted_ids(con, "pandalm", sort) for sort in PRESORTED)
    con.close()


def test_ingest_precomputes_the_dissection_pages_first_view(tmp_path, store_path, capsys, monkeypatch):
    """The Dissection page opens on its fits and on one pair explained property by property: both come from the
    cache after an ingest (its fits need 50 decided pairs, so a dataset of 60 here)."""
    from analytics import dissection
    from analytics.pages import dissection_content
    from analytics.store import connect

    rows = [
        {"q": f"question {i}", "a": "short answer " * (1 + i % 3), "b": "a longer answer " * (2 + i % 5)}
        | {"judge_1": "AB"[i % 2], "judge_2": "AB"[(i // 2) % 2]}
        for i in range(60)
    ]
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    mapping = tmp_path / "m.toml"
    mapping.write_text(
        'name = "sixty"\n[columns]\nprompt = "q"\nresponse_a = "a"\nresponse_b = "b"\n'
        + "".join(
            f'[[verdicts]]\njudge = "{j}"\ncolumn = "{j}"\nvalues = {{ A = "A", B = "B" }}\n'
            for j in ("judge_1", "judge_2")
        )
    )
    code, _, err = run(capsys, "ingest", "--store", store_path, "--mapping", str(mapping), str(data))
    assert code == 0, err

    def fail(*args, **kwargs):
        raise AssertionError("recomputed")

    monkeypatch.setattr(dissection, "_dissect", fail)
    monkeypatch.setattr(dissection, "decided_pair", fail)
    con = connect(store_path, read_only=True)
    sections = {section.key: section for section in dissection_content(con, "sixty", {})}
    con.close()
    assert "explanation" in sections and not isinstance(sections["explanation"].body, str)


def test_shards_of_one_dataset_are_one_dataset(tmp_path, store_path, capsys):
    """Several files with one mapping are one dataset (all their rows), not the last file replacing the others."""
    mapping = tmp_path / "m.toml"
    mapping.write_text(
        'name = "sharded"\n[columns]\nprompt = "q"\nresponse_a = "x"\nresponse_b = "y"\n'
        '[[verdicts]]\njudge = "h"\nkind = "human"\ncolumn = "w"\nvalues = { x = "A", y = "B" }\n'
    )
    shards = []
    for k, n in ((1, 3), (2, 4)):
        shard = tmp_path / f"part{k}.csv"
        pd.DataFrame(
            {
                "q": [f"q{k}-{i}" for i in range(n)],
                "x": ["a"] * n,
                "y": ["b"] * n,
                "w": ["x", "y"] * (n // 2) + ["x"] * (n % 2),
            }
        ).to_csv(shard, index=False)
        shards.append(shard)
    code, out, _ = run(capsys, "ingest", "--no-precompute", "--store", store_path, "--mapping", mapping, *shards)
    assert code == 0 and "sharded: ingested: 7 pairs" in out
    code, out, _ = run(capsys, "ingest", "--no-precompute", "--store", store_path, "--mapping", mapping, *shards)
    assert "sharded: unchanged: 7 pairs" in out
    code, out, _ = run(capsys, "stats", "--store", store_path, "--json")
    assert json.loads(out)["sharded"]["pairs"] == 7
    code, _, err = run(capsys, "ingest", "--store", store_path, "--mapping", mapping, shards[0], tmp_path / "nope.csv")
    assert code == 2 and "nope.csv: file not found" in err


def test_the_server_preloads_what_the_app_imports():
    """`prefatlas serve` starts Streamlit through dashboard.launch, which imports what the pages need before the
    server starts (the first page then does not wait for them): every module dashboard/app.py imports from the
    project is among them, and each one it names imports."""
    import ast
    import subprocess
    import sys
    from pathlib import Path

    from dashboard.launch import PRELOAD

    root = Path(__file__).resolve().parents[1]
    tree = ast.parse((root / "dashboard" / "app.py").read_text())
    app_imports = [
        node.module
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(("analytics", "dashboard"))
    ]
    assert app_imports and set(app_imports) <= set(PRELOAD)
    code = (
        "import sys; from dashboard.launch import PRELOAD, preload; preload(); "
        "print([m for m in PRELOAD if m not in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stderr[-2000:]
