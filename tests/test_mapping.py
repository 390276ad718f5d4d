"""The generic CSV / JSONL / Parquet adapter: mapping semantics and its error messages."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analytics.adapters.base import IngestError
from analytics.adapters.mapping import load, load_mapping, parse_mapping
from analytics.store import connect, write_batch

MAPPING = {
    "name": "mine",
    "licence": "CC-BY-4.0",
    "columns": {
        "prompt": "question",
        "response_a": "answer_a",
        "response_b": "answer_b",
        "model_a": "ma",
        "model_b": "mb",
        "category": "topic",
    },
    "verdicts": [
        {
            "judge": "alice",
            "kind": "human",
            "column": "winner",
            "values": {"model_a": "A", "model_b": "B", "tie": "tie", "tie (bothbad)": "tie"},
        }
    ],
}


def frame(n: int = 4) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "question": [f"q{i}" for i in range(n)],
            "answer_a": [f"a{i}" for i in range(n)],
            "answer_b": [f"b{i}" for i in range(n)],
            "ma": ["gpt-4"] * n,
            "mb": ["llama"] * n,
            "topic": ["code", "math"] * (n // 2),
            "winner": (["model_a", "model_b", "tie", "tie (bothbad)"] * n)[:n],
        }
    )


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "prefs.csv"
    frame().to_csv(path, index=False)
    return path


def test_csv_with_mapping(csv_file, store_path):
    batch = load(csv_file, MAPPING)
    assert list(batch.judgments["verdict"]) == ["A", "B", "tie", "tie"]
    assert list(batch.pairs["model_a"]) == ["gpt-4"] * 4
    assert list(batch.pairs["source_row"]) == [1, 2, 3, 4]
    summary = write_batch(connect(store_path), batch)
    assert (summary.pairs, summary.judgments, summary.judges) == (4, 4, 1)


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_jsonl_and_parquet(tmp_path, fmt):
    path = tmp_path / f"prefs.{fmt}"
    if fmt == "jsonl":
        path.write_text("\n".join(json.dumps(r) for r in frame().to_dict("records")))
    else:
        frame().to_parquet(path)
    assert list(load(path, MAPPING).judgments["verdict"]) == ["A", "B", "tie", "tie"]


def test_chosen_rejected_with_constant_verdict(tmp_path):
    path = tmp_path / "cr.jsonl"
    path.write_text(json.dumps({"prompt": "p", "chosen": "good", "rejected": "bad"}) + "\n")
    mapping = {
        "name": "cr",
        "columns": {"prompt": "prompt", "response_a": "chosen", "response_b": "rejected"},
        "verdicts": [{"judge": "labeler", "kind": "crowd", "constant": "A"}],
    }
    batch = load(path, mapping)
    assert list(batch.judgments["verdict"]) == ["A"]


def test_order_column_and_shown_frame(tmp_path):
    data = frame(2).assign(order=["ab", "ba"], winner=["first", "first"])
    path = tmp_path / "swapped.csv"
    data.to_csv(path, index=False)
    mapping = dict(
        MAPPING,
        columns=dict(MAPPING["columns"], order="order"),
        order_values={"ab": "AB", "ba": "BA"},
        verdicts=[
            {"judge": "j", "kind": "llm", "column": "winner", "frame": "shown", "values": {"first": "A", "second": "B"}}
        ],
    )
    batch = load(path, mapping)
    # "first" in a BA row means B in the pair's own frame
    assert list(batch.judgments["verdict"]) == ["A", "B"]
    assert list(batch.judgments["shown_order"]) == ["AB", "BA"]


def test_numeric_codes_and_nulls(tmp_path):
    path = tmp_path / "codes.jsonl"
    rows = [{"q": "p", "a": "x", "b": "y", "w": v} for v in (1, 2.0, 0, None)]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    mapping = {
        "name": "codes",
        "columns": {"prompt": "q", "response_a": "a", "response_b": "b"},
        "verdicts": [{"judge": "j", "column": "w", "values": {"1": "A", "2": "B", "0": "tie"}}],
    }
    assert list(load(path, mapping).judgments["verdict"]) == ["A", "B", "tie", "unparsed"]


def test_probability_column(tmp_path):
    path = tmp_path / "p.csv"
    pd.DataFrame({"q": ["p"] * 3, "a": ["x"] * 3, "b": ["y"] * 3, "pb": [0.9, 0.2, 0.5]}).to_csv(path, index=False)
    mapping = {
        "name": "p",
        "columns": {"prompt": "q", "response_a": "a", "response_b": "b"},
        "verdicts": [{"judge": "rm", "kind": "reward_model", "column": "pb", "prob_b": "pb"}],
    }
    batch = load(path, mapping)
    assert list(batch.judgments["verdict"]) == ["B", "A", "tie"]
    assert list(batch.judgments["prob_b"]) == [0.9, 0.2, 0.5]


# --- error messages: each names the file, the row and column where it applies, and what was expected ---


def test_missing_column_suggests_the_close_name(tmp_path):
    path = tmp_path / "typo.csv"
    frame().rename(columns={"answer_a": "answer_A"}).to_csv(path, index=False)
    with pytest.raises(IngestError) as err:
        load(path, MAPPING)
    message = str(err.value)
    assert "typo.csv" in message and "'answer_a' (mapped as response_a) not found" in message
    assert "did you mean 'answer_A'" in message


def test_unmapped_verdict_value_names_rows_and_values(tmp_path):
    path = tmp_path / "bad.csv"
    frame().assign(winner=["model_a", "model_c", "model_a", "???"]).to_csv(path, index=False)
    with pytest.raises(IngestError) as err:
        load(path, MAPPING)
    message = str(err.value)
    assert "column 'winner'" in message
    assert "'???'" in message and "'model_c'" in message
    assert "rows 2, 4" in message
    assert 'unknown = "unparsed"' in message


def test_unknown_values_can_be_kept_as_unparsed(tmp_path):
    path = tmp_path / "bad.csv"
    frame().assign(winner=["model_a", "model_c", "model_a", "model_b"]).to_csv(path, index=False)
    mapping = dict(MAPPING, verdicts=[dict(MAPPING["verdicts"][0], unknown="unparsed")])
    assert list(load(path, mapping).judgments["verdict"]) == ["A", "unparsed", "A", "B"]


def test_missing_response_rows_error_or_skip_and_empty_answers_are_kept(tmp_path, store_path):
    """A response that is missing (null) makes its row an error, or a reported skip; an empty answer (a model that
    said nothing) is a real pair and is kept as an empty text."""
    path = tmp_path / "holes.jsonl"
    rows = frame().assign(answer_b=["b0", None, "", None]).to_dict("records")
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(IngestError, match=r"2 rows have no response_b \(rows 2, 4\)"):
        load(path, MAPPING)
    batch = load(path, dict(MAPPING, on_bad_row="skip"))
    assert len(batch.pairs) == 2 and len(batch.judgments) == 2
    assert list(batch.pairs["response_b"]) == ["b0", ""]
    assert [(s.row, s.reason) for s in batch.skipped] == [
        (2, "no response_b (column 'answer_b')"),
        (4, "no response_b (column 'answer_b')"),
    ]
    summary = write_batch(connect(store_path), batch)
    assert summary.pairs == 2 and len(summary.skipped) == 2
    assert "skipped 2: no response_b" in summary.as_text()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"name": None}, "'name' (the dataset name in the store) is required"),
        ({"columns": {"prompt": "q", "response_a": "a"}}, "[columns] needs 'response_b'"),
        (
            {"columns": {"prompt": "q", "response_a": "a", "response_b": "b", "respone_c": "x"}},
            "did you mean 'response_",
        ),
        ({"verdicts": []}, "at least one [[verdicts]]"),
        (
            {"verdicts": [{"judge": "j", "kind": "robot", "column": "w", "values": {"1": "A"}}]},
            "kind 'robot' is not one of human, llm, reward_model, gold, crowd",
        ),
        ({"verdicts": [{"judge": "j", "column": "w", "values": {"1": "left"}}]}, "'1' = 'left' must be one of"),
        ({"verdicts": [{"judge": "j", "column": "w", "constant": "A"}]}, "exactly one of 'column'"),
        ({"formatt": "csv"}, "did you mean 'format'"),
        ({"columns": dict(MAPPING["columns"], order="o")}, "[order_values]"),
    ],
)
def test_mapping_errors(change, expected):
    raw = {k: v for k, v in {**MAPPING, **change}.items() if v is not None}
    with pytest.raises(IngestError) as err:
        parse_mapping(raw, "m.toml")
    assert expected in str(err.value)
    assert str(err.value).startswith("m.toml: ")


def test_toml_mapping_file_and_syntax_error(tmp_path):
    good = tmp_path / "m.toml"
    good.write_text(
        'name = "mine"\n[columns]\nprompt = "question"\nresponse_a = "answer_a"\nresponse_b = "answer_b"\n'
        '[[verdicts]]\njudge = "alice"\ncolumn = "winner"\n[verdicts.values]\nmodel_a = "A"\nmodel_b = "B"\n'
    )
    assert load_mapping(good).verdicts[0].values == {"model_a": "A", "model_b": "B"}
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n")
    with pytest.raises(IngestError, match=r"bad\.toml: not valid TOML"):
        load_mapping(bad)


def test_malformed_files(tmp_path):
    jsonl = tmp_path / "broken.jsonl"
    jsonl.write_text('{"question": "q"}\n{"question": \n')
    with pytest.raises(IngestError, match=r"broken.jsonl, row 2: invalid JSON on line 2"):
        load(jsonl, MAPPING)
    empty = tmp_path / "empty.csv"
    empty.write_text("question,answer_a,answer_b,winner\n")
    with pytest.raises(IngestError, match=r"empty\.csv: the file has no rows"):
        load(empty, MAPPING)
    with pytest.raises(IngestError, match="file not found"):
        load(tmp_path / "nope.csv", MAPPING)
    odd = tmp_path / "data.txt"
    odd.write_text("x")
    with pytest.raises(IngestError, match="cannot tell the format"):
        load(odd, MAPPING)


def test_hostile_and_huge_text_is_stored_verbatim(tmp_path, store_path):
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    huge = "word " * 200_000
    path = tmp_path / "odd.jsonl"
    path.write_text(json.dumps({"question": hostile, "answer_a": huge, "answer_b": "NA", "winner": "model_a"}) + "\n")
    con = connect(store_path)
    mapping = dict(MAPPING, columns={k: MAPPING["columns"][k] for k in ("prompt", "response_a", "response_b")})
    write_batch(con, load(path, mapping))
    assert con.execute("SELECT text FROM prompts").fetchone()[0] == hostile
    texts = {r[0] for r in con.execute("SELECT text FROM responses").fetchall()}
    assert huge in texts and "NA" in texts  # 'NA' stays text, never a missing value


def test_imported_per_response_properties_and_nested_columns(tmp_path, store_path):
    """The Preference-Dissection layout: nested response objects and per-response ratings."""
    rows = [
        {
            "query": f"q{i}",
            "response_1": {"content": f"a{i}", "model": "gpt-4"},
            "response_2": {"content": f"b{i}", "model": "vicuna"},
            "label": "A" if i % 2 else "B",
            "ratings": {"friendly_1": i % 4, "friendly_2": 3 - i % 4},
        }
        for i in range(6)
    ]
    path = tmp_path / "pd.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    mapping = {
        "name": "pd",
        "columns": {
            "prompt": "query",
            "response_a": "response_1.content",
            "response_b": "response_2.content",
            "model_a": "response_1.model",
            "model_b": "response_2.model",
        },
        "verdicts": [{"judge": "human", "column": "label", "values": {"A": "A", "B": "B"}}],
        "properties": {"friendly": {"a": "ratings.friendly_1", "b": "ratings.friendly_2"}},
    }
    con = connect(store_path)
    write_batch(con, load(path, mapping))
    got = con.execute("""SELECT r.text, x.value, x.source FROM properties x JOIN responses r
                         ON r.response_id = x.subject_id ORDER BY r.text""").fetchall()
    assert got[:2] == [("a0", 0.0, "import:pd"), ("a1", 1.0, "import:pd")]
    assert ("b0", 3.0, "import:pd") in got
    from analytics.properties import response_properties

    ids = [r[0] for r in con.execute("SELECT response_id FROM responses ORDER BY text").fetchall()]
    table = response_properties(con, ids)
    assert table["friendly"].tolist()[:2] == [0.0, 1.0] and "length (words)" in table.columns


def test_property_mapping_errors(tmp_path):
    with pytest.raises(IngestError, match=r"\[properties\] 'x' must be"):
        parse_mapping(dict(MAPPING, properties={"x": "col"}), "m.toml")
    path = tmp_path / "p.csv"
    frame().assign(fa=["1", "2", "x", "3"], fb="1").to_csv(path, index=False)
    with pytest.raises(IngestError, match=r"expected numbers .*rows 3"):
        load(path, dict(MAPPING, properties={"friendly": {"a": "fa", "b": "fb"}}))


def test_a_file_read_in_pieces_is_the_same_dataset_as_read_whole(tmp_path):
    """Chunked reading (how `prefatlas ingest` reads large files) writes the same pairs, judgments and row numbers
    as one batch, and an error in a late piece leaves the store as it was."""
    import pandas as pd

    from analytics.adapters.mapping import load, load_chunks
    from analytics.store import connect, store_stats, write_batch, write_batches

    n = 23
    frame = pd.DataFrame(
        {
            "q": [f"question {i % 7}" for i in range(n)],  # prompts repeat across pieces
            "x": [f"answer x {i}" for i in range(n)],
            "y": [f"answer y {i}" for i in range(n)],
            "w": ["x", "y", "tie"] * 7 + ["x", "y"],
        }
    )
    data, mapping = _in_pieces(tmp_path, frame)
    whole, pieces = connect(tmp_path / "a.duckdb"), connect(tmp_path / "b.duckdb")
    write_batch(whole, load(data, mapping))
    summary = write_batches(pieces, load_chunks(data, mapping, rows=5))
    assert summary.pairs == n and summary.judgments == n and summary.rows_read == n
    query = "SELECT pair_id, source_row, prompt_id FROM pairs ORDER BY source_row"
    assert whole.execute(query).fetchall() == pieces.execute(query).fetchall()
    query = "SELECT judgment_id, verdict, source_row FROM judgments ORDER BY source_row"
    assert whole.execute(query).fetchall() == pieces.execute(query).fetchall()
    assert store_stats(whole) == store_stats(pieces)
    # a bad value in the last piece: nothing of the new version is written, the old one stays
    frame.loc[n - 1, "w"] = "??"
    frame.to_parquet(data, row_group_size=4)
    before = store_stats(pieces)
    with pytest.raises(IngestError, match=r"rows 23"):
        write_batches(pieces, load_chunks(data, mapping, rows=5))
    assert store_stats(pieces) == before
    whole.close()
    pieces.close()


def test_json_records_under_a_key(tmp_path):
    """A JSON file holding one object with its records under a key reads with records = "…" (a dotted path); without
    it, the message says where the records are."""
    from analytics.adapters.mapping import load

    rows = [{"q": f"q{i}", "x": f"a{i}", "y": f"b{i}", "w": "x"} for i in range(3)]
    path = tmp_path / "study.json"
    path.write_text(json.dumps({"meta": {"n": 3}, "data": {"examples": rows}}))
    mapping = {
        "name": "study",
        "columns": {"prompt": "q", "response_a": "x", "response_b": "y"},
        "verdicts": [{"judge": "h", "kind": "human", "column": "w", "values": {"x": "A", "y": "B"}}],
    }
    assert len(load(path, dict(mapping, records="data.examples")).pairs) == 3
    with pytest.raises(IngestError, match=r"no key 'items' at data"):
        load(path, dict(mapping, records="data.items"))
    flat = tmp_path / "flat.json"
    flat.write_text(json.dumps({"examples": rows}))
    with pytest.raises(IngestError, match=r'records are probably under "examples": set records = "examples"'):
        load(flat, mapping)
    one = tmp_path / "one.jsonl"
    one.write_text(json.dumps(rows[0]) + "\n")
    assert len(load(one, mapping).pairs) == 1  # JSON Lines with a single record is still one row


def test_properties_computed_in_a_second_process_are_the_same_and_leave_nothing_running(tmp_path, monkeypatch):
    """A large ingest computes the properties in a process of its own: the same rows as on a thread, an error in a
    late piece still leaves the store as it was, and no process of it is left afterwards."""
    import pandas as pd

    from analytics import properties
    from analytics.adapters.mapping import load_chunks
    from analytics.store import connect, store_stats, write_batches

    n = 23
    frame = pd.DataFrame(
        {
            "q": [f"Question {i % 7}?" for i in range(n)],
            "x": [f"I think **x** is {i}. Sorry!\n- a\n- b" for i in range(n)],
            "y": [f"```py\nprint({i})\n```\nMaybe y, don’t ask 😀" for i in range(n)],
            "w": ["x", "y", "tie"] * 7 + ["x", "y"],
        }
    )
    data, mapping = _in_pieces(tmp_path, frame)
    on_thread, in_process = connect(tmp_path / "a.duckdb"), connect(tmp_path / "b.duckdb")
    write_batches(on_thread, load_chunks(data, mapping, rows=5))
    monkeypatch.setattr(properties, "PROPERTIES_PROCESS_PAIRS", 1)
    write_batches(in_process, load_chunks(data, mapping, rows=5))
    query = "SELECT * FROM builtin_properties ORDER BY response_id"
    rows = in_process.execute(query).fetchall()
    assert len(rows) == 2 * n and rows == on_thread.execute(query).fetchall()
    assert not _children_running("analytics.properties")
    frame.loc[n - 1, "w"] = "??"
    frame.to_parquet(data, row_group_size=4)
    before = store_stats(in_process)
    with pytest.raises(IngestError, match=r"rows 23"):
        write_batches(in_process, load_chunks(data, mapping, rows=5), force=True)
    assert store_stats(in_process) == before and not _children_running("analytics.properties")
    on_thread.close()
    in_process.close()


def _in_pieces(tmp_path, frame) -> tuple:
    """The frame as a Parquet file of 4-row groups, and a mapping of it (columns q, x, y and a verdict column w)."""
    data = tmp_path / "d.parquet"
    frame.to_parquet(data, row_group_size=4)
    mapping = {
        "name": "pieces",
        "columns": {"prompt": "q", "response_a": "x", "response_b": "y"},
        "verdicts": [{"judge": "h", "kind": "human", "column": "w", "values": {"x": "A", "y": "B", "tie": "tie"}}],
    }
    return data, mapping


def _children_running(module: str) -> list[int]:
    """Processes of this one running `python -m module`."""
    import os
    from pathlib import Path

    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if parent == os.getpid() and module.encode() in command:
            found.append(int(stat.parent.name))
    return found
