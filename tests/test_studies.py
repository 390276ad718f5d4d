"""Judge studies ingested from their published layouts with a mapping alone (fixtures of the same shape, written
here), and the mapping features they need: several files, verdicts added to a stored dataset by row or by id, a
shown order per verdict or constant, derived columns, lookups of other files, headerless text, win counts, one pair
per row. Each figure is checked against a hand computation."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from analytics import cli
from analytics.judges import judges_report

GOLD = [1, 2, 1, 1, 2, 2]  # output_1 / output_2 is the better answer
AB = ["Output (a)", "Output (b)", "Output (a)", "Output (a)", "Output (a)", "Output (b)"]  # output_1 shown first
BA = ["Output (b)", "Output (a)", "Output (a)", "Output (b)", "Output (a)", "Output (b)"]  # output_2 shown first


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def rows(store: Path, sql: str, params: dict | None = None) -> list[tuple]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.execute(sql, params or {}).fetchall()
    finally:
        con.close()


def report(store: Path, dataset: str) -> dict:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return judges_report(con, dataset, boot=50)
    finally:
        con.close()


def judge_entry(rep: dict, name: str) -> dict:
    return next(j for j in rep["judges"] if j["judge"] == name)


@pytest.fixture
def llmbar_like(tmp_path: Path) -> Path:
    """LLMBar's layout: the dataset once (a JSON array, gold label 1/2), the judge's outputs per shown order in
    files of their own, row by row: JSON Lines repeating the instruction for AB, headerless text for BA."""
    root = tmp_path / "llmbar-like"
    root.mkdir()
    data = [
        {
            "input": f"instruction {i}",
            "output_1": f"first answer {i}",
            "output_2": f"second answer {i} longer",
            "label": g,
        }
        for i, g in enumerate(GOLD)
    ]
    write(root / "dataset.json", json.dumps(data))
    write(
        root / "gpt4_ab.jsonl",
        "".join(json.dumps({"input": d["input"], "output": o}) + "\n" for d, o in zip(data, AB, strict=True)),
    )
    write(root / "gpt4_ba.txt", "\n".join(BA) + "\n")
    write(
        root / "dataset.toml",
        'name = "bar"\n[columns]\nprompt = "input"\nresponse_a = "output_1"\nresponse_b = "output_2"\n'
        '[[verdicts]]\njudge = "gold"\nkind = "gold"\ncolumn = "label"\nvalues = { 1 = "A", 2 = "B" }\n',
    )
    judge = (
        '[[verdicts]]\njudge = "gpt-4"\nkind = "llm"\ncolumn = "output"\nframe = "shown"\n'
        'values = { "Output (a)" = "A", "Output (b)" = "B" }\n'
    )
    write(root / "ab.toml", f'order = "AB"\n[join]\ndataset = "bar"\nby = "row"\nprompt = "input"\n{judge}')
    write(root / "ba.toml", f'order = "BA"\nformat = "text"\nheader = ["output"]\n[join]\nby = "row"\n{judge}')
    return root


def test_llmbar_layout_judge_outputs_in_both_orders_added_by_row(llmbar_like, store_path, capsys):
    root = llmbar_like
    code, out, err = run(capsys, "ingest", "--store", store_path, "--mapping", root / "dataset.toml",
                         root / "dataset.json", "--no-precompute")  # fmt: skip
    assert code == 0, err
    code, out, err = run(capsys, "ingest", "--store", store_path, "--add-verdicts", "--mapping", root / "ab.toml",
                         root / "gpt4_ab.jsonl", "--no-precompute")  # fmt: skip
    assert code == 0, err
    assert "bar: verdicts of gpt-4 added: 6 pairs, 2 judges, 12 judgments" in out
    code, out, err = run(capsys, "ingest", "--store", store_path, "--add-verdicts", "--dataset", "bar", "--mapping",
                         root / "ba.toml", root / "gpt4_ba.txt", "--no-precompute")  # fmt: skip
    assert code == 0, err
    assert "18 judgments" in out

    # hand computation: in the pair frame, AB keeps the letter, BA flips it
    gold = ["A" if g == 1 else "B" for g in GOLD]
    ab = ["A" if o == "Output (a)" else "B" for o in AB]
    ba = ["B" if o == "Output (a)" else "A" for o in BA]
    stored = rows(store_path, """SELECT p.source_row, x.shown_order, x.verdict FROM judgments x
                                 JOIN pairs p USING (pair_id) JOIN judges j USING (judge_id)
                                 WHERE j.name = 'gpt-4' ORDER BY 1, 2""")  # fmt: skip
    assert stored == [(r + 1, o, v) for r in range(6) for o, v in (("AB", ab[r]), ("BA", ba[r]))]
    assert rows(
        store_path, "SELECT DISTINCT shown_order FROM judgments x JOIN judges j USING (judge_id) WHERE j.name = 'gold'"
    ) == [(None,)]  # fmt: skip  -- gold has no shown order

    entry = judge_entry(report(store_path, "bar"), "gpt-4")
    acc_ab = sum(a == g for a, g in zip(ab, gold, strict=True)) / 6
    acc_ba = sum(b == g for b, g in zip(ba, gold, strict=True)) / 6
    assert entry["accuracy_AB"]["value"] == pytest.approx(acc_ab)
    assert entry["accuracy_BA"]["value"] == pytest.approx(acc_ba)
    assert entry["accuracy_average"]["value"] == pytest.approx((acc_ab + acc_ba) / 2)
    first_wins = sum(o == "Output (a)" for o in AB + BA) / 12
    assert entry["position"]["p_first_shown_wins"]["value"] == pytest.approx(first_wins)
    assert entry["position"]["swap_consistency"]["value"] == pytest.approx(
        sum(a == b for a, b in zip(ab, ba, strict=True)) / 6
    )

    # re-adding the AB run replaces that run only (the BA run stays)
    code, out, _ = run(capsys, "ingest", "--store", store_path, "--add-verdicts", "--mapping", root / "ab.toml",
                       root / "gpt4_ab.jsonl", "--no-precompute")  # fmt: skip
    assert code == 0 and "verdicts of gpt-4 replaced" in out and "18 judgments" in out


def test_added_verdicts_are_checked_against_the_dataset(llmbar_like, store_path, capsys, tmp_path):
    root = llmbar_like
    run(capsys, "ingest", "--store", store_path, "--mapping", root / "dataset.toml", root / "dataset.json",
        "--no-precompute")  # fmt: skip
    before = rows(store_path, "SELECT count(*), (SELECT version FROM datasets) FROM judgments")
    short = write(tmp_path / "short.txt", "\n".join(BA[:4]) + "\n")
    code, _, err = run(capsys, "ingest", "--store", store_path, "--add-verdicts", "--mapping", root / "ba.toml",
                       "--dataset", "bar", short)  # fmt: skip
    assert code == 2 and "4 rows, but 'bar' was read from 6 rows" in err
    shuffled = root / "shuffled.jsonl"
    lines = (root / "gpt4_ab.jsonl").read_text().splitlines()
    write(shuffled, "\n".join([lines[1], lines[0], *lines[2:]]) + "\n")
    code, _, err = run(capsys, "ingest", "--store", store_path, "--add-verdicts", "--mapping", root / "ab.toml",
                       shuffled)  # fmt: skip
    assert code == 2 and "row 1: its prompt 'instruction 1' is not the matched pair's 'instruction 0'" in err
    code, _, err = run(capsys, "ingest", "--store", store_path, "--add-verdicts", "--mapping", root / "ab.toml",
                       "--dataset", "nosuch", root / "gpt4_ab.jsonl")  # fmt: skip
    assert code == 2 and "dataset 'nosuch' is not in the store" in err
    assert rows(store_path, "SELECT count(*), (SELECT version FROM datasets) FROM judgments") == before


def test_verdicts_joined_by_id_and_question_answers_reviews_through_lookups(tmp_path, store_path, capsys):
    """The Vicuna / MT-bench layout: questions, one answer file per model, and reviews naming a question and two
    models, with scores as a list; read with lookups, no conversion. A second judge's reviews join by id."""
    root = tmp_path / "triple"
    (root / "answers").mkdir(parents=True)
    questions = [{"question_id": q, "category": c, "turns": [f"question {q}?", "follow-up"]}
                 for q, c in ((1, "writing"), (2, "math"), (3, "coding"))]  # fmt: skip
    write(root / "question.jsonl", "".join(json.dumps(q) + "\n" for q in questions))
    for model in ("alpaca", "vicuna"):
        answers = [
            {"question_id": q, "model_id": model, "choices": [{"turns": [f"{model} on {q}"]}]} for q in (1, 2, 3)
        ]
        write(root / "answers" / f"{model}.jsonl", "".join(json.dumps(a) + "\n" for a in answers))
    reviews = [  # the scores, and which answer they make better (1, 2, or 0 for equal scores)
        {"review_id": f"r{q}", "question_id": q, "model_1": "alpaca", "model_2": "vicuna", "score": s, "better": b}
        for q, s, b in ((1, [6, 8], 2), (2, [7, 7], 0), (3, [9, 4], 1))
    ]
    write(root / "review_gpt4.jsonl", "".join(json.dumps(r) + "\n" for r in reviews))
    write(
        root / "triple.toml",
        'name = "triple"\n'
        '[lookups.question]\nfile = "question.jsonl"\non = { question_id = "question_id" }\n'
        '[lookups.answer_1]\nfile = "answers/*.jsonl"\non = { question_id = "question_id", model_1 = "model_id" }\n'
        '[lookups.answer_2]\nfile = "answers/*.jsonl"\non = { question_id = "question_id", model_2 = "model_id" }\n'
        '[columns]\nprompt = "question.turns[0]"\nresponse_a = "answer_1.choices[0].turns[0]"\n'
        'response_b = "answer_2.choices[0].turns[0]"\nmodel_a = "model_1"\nmodel_b = "model_2"\n'
        'category = "question.category"\nid = "review_id"\n'
        '[derive.verdict]\nfrom = "better"\nlookup = { 1 = "A", 2 = "B", 0 = "tie" }\n'
        '[[verdicts]]\njudge = "gpt-4"\nkind = "llm"\nscore_a = "score[0]"\nscore_b = "score[1]"\n'
        'column = "verdict"\nvalues = { A = "A", B = "B", tie = "tie" }\n',
    )
    code, out, err = run(capsys, "ingest", "--store", store_path, "--mapping", root / "triple.toml",
                         root / "review_gpt4.jsonl", "--no-precompute")  # fmt: skip
    assert code == 0, err
    assert "triple: ingested: 3 pairs, 1 judges, 3 judgments" in out
    stored = rows(store_path, """SELECT pr.text, ra.text, rb.text, ra.generator, p.category, x.verdict, x.score_a,
                                        x.score_b FROM pairs p JOIN prompts pr USING (prompt_id)
                                 JOIN responses ra ON ra.response_id = p.response_a_id
                                 JOIN responses rb ON rb.response_id = p.response_b_id
                                 JOIN judgments x USING (pair_id) ORDER BY p.upstream_id""")  # fmt: skip
    assert stored == [
        ("question 1?", "alpaca on 1", "vicuna on 1", "alpaca", "writing", "B", 6.0, 8.0),
        ("question 2?", "alpaca on 2", "vicuna on 2", "alpaca", "math", "tie", 7.0, 7.0),
        ("question 3?", "alpaca on 3", "vicuna on 3", "alpaca", "coding", "A", 9.0, 4.0),
    ]
    # a second judge's reviews, in another order, joined by the review id; a judge named by a column
    second = [{"rid": "r3", "who": "claude", "pick": "model_2"}, {"rid": "r1", "who": "claude", "pick": "model_1"}]
    write(root / "review_claude.jsonl", "".join(json.dumps(r) + "\n" for r in second))
    write(
        root / "claude.toml",
        '[join]\ndataset = "triple"\nby = "id"\ncolumn = "rid"\n'
        '[[verdicts]]\njudge_from = "who"\nkind = "llm"\ncolumn = "pick"\nvalues = { model_1 = "A", model_2 = "B" }\n',
    )
    code, out, err = run(capsys, "ingest", "--store", store_path, "--mapping", root / "claude.toml",
                         root / "review_claude.jsonl", "--no-precompute")  # fmt: skip
    assert code == 0, err
    assert rows(store_path, """SELECT p.upstream_id, x.verdict FROM judgments x JOIN pairs p USING (pair_id)
                               JOIN judges j USING (judge_id) WHERE j.name = 'claude' ORDER BY 1""") == [
        ("r1", "A"),
        ("r3", "B"),
    ]  # fmt: skip
    missing = write(root / "review_bad.jsonl", json.dumps({"rid": "r9", "who": "claude", "pick": "model_1"}) + "\n")
    code, _, err = run(capsys, "ingest", "--store", store_path, "--mapping", root / "claude.toml", missing)
    assert code == 2 and "1 rows match no pair of 'triple'" in err and "r9" in err


def test_arena_json_export_with_records_under_a_key_constant_order_and_voters_as_judges(tmp_path, store_path, capsys):
    battles = [
        {"model_a": "gpt-4", "model_b": "llama", "winner": "model_a", "judge": "voter-1", "q": "hi", "ra": "x",
         "rb": "y"},
        {"model_a": "llama", "model_b": "gpt-4", "winner": "tie", "judge": "voter-2", "q": "2+2?", "ra": "4",
         "rb": "four"},
        {"model_a": "gpt-4", "model_b": "claude", "winner": "model_b", "judge": "voter-1", "q": "poem", "ra": "roses",
         "rb": "violets"},
    ]  # fmt: skip
    data = write(tmp_path / "arena.json", json.dumps({"meta": {"n": 3}, "battles": battles}))
    mapping = write(
        tmp_path / "arena.toml",
        'name = "arena"\nrecords = "battles"\norder = "AB"\n'
        '[columns]\nprompt = "q"\nresponse_a = "ra"\nresponse_b = "rb"\nmodel_a = "model_a"\nmodel_b = "model_b"\n'
        'category = "arena"\n[derive.arena]\nconstant = "chatbot-arena"\n'
        '[[verdicts]]\njudge_from = "judge"\nkind = "human"\ncolumn = "winner"\n'
        'values = { model_a = "A", model_b = "B", tie = "tie" }\n',
    )
    code, out, err = run(capsys, "ingest", "--store", store_path, "--mapping", mapping, data, "--no-precompute")
    assert code == 0, err
    assert "arena: ingested: 3 pairs, 2 judges, 3 judgments" in out
    assert rows(store_path, """SELECT j.name, x.verdict, x.shown_order, p.category FROM judgments x JOIN judges j
                               USING (judge_id) JOIN pairs p USING (pair_id) ORDER BY p.source_row""") == [
        ("voter-1", "A", "AB", "chatbot-arena"),
        ("voter-2", "tie", "AB", "chatbot-arena"),
        ("voter-1", "B", "AB", "chatbot-arena"),
    ]  # fmt: skip
    rep = report(store_path, "arena")
    assert judge_entry(rep, "voter-1")["position"]["p_first_shown_wins"]["value"] == pytest.approx(0.5)


def test_counted_preferences_expand_into_one_judgment_per_vote(tmp_path, store_path, capsys):
    data = write(
        tmp_path / "votes.csv",
        "prompt,a,b,wins_a,wins_b,ties\nq1,x1,y1,3,1,1\nq2,x2,y2,0,2,0\nq3,x3,y3,1,1,2\n",
    )
    mapping = write(
        tmp_path / "votes.toml",
        'name = "votes"\n[columns]\nprompt = "prompt"\nresponse_a = "a"\nresponse_b = "b"\n'
        '[[verdicts]]\njudge = "crowd"\nkind = "crowd"\ncounts = { A = "wins_a", B = "wins_b", tie = "ties" }\n',
    )
    code, out, err = run(capsys, "ingest", "--store", store_path, "--mapping", mapping, data, "--no-precompute")
    assert code == 0, err
    assert "votes: ingested: 3 pairs, 1 judges, 11 judgments" in out
    assert rows(store_path, """SELECT p.prompt_id IS NOT NULL, pr.text, x.verdict, count(*) FROM judgments x
                               JOIN pairs p USING (pair_id) JOIN prompts pr USING (prompt_id)
                               GROUP BY ALL ORDER BY 2, 3""") == [
        (True, "q1", "A", 3), (True, "q1", "B", 1), (True, "q1", "tie", 1),
        (True, "q2", "B", 2),
        (True, "q3", "A", 1), (True, "q3", "B", 1), (True, "q3", "tie", 2),
    ]  # fmt: skip
    bad = write(tmp_path / "bad.csv", "prompt,a,b,wins_a,wins_b,ties\nq1,x1,y1,2.5,1,0\n")
    code, _, err = run(capsys, "ingest", "--store", store_path, "--mapping", mapping, bad, "--name", "bad")
    assert code == 2 and "counts must be whole numbers" in err and "column 'wins_a'" in err


def test_shards_append_or_replace_only_when_asked(tmp_path, store_path, capsys):
    mapping = write(
        tmp_path / "m.toml",
        'name = "sharded"\n[columns]\nprompt = "q"\nresponse_a = "a"\nresponse_b = "b"\n'
        '[[verdicts]]\njudge = "me"\ncolumn = "w"\nvalues = { a = "A", b = "B" }\n',
    )
    for i in range(3):
        write(tmp_path / f"part-{i}.csv", "q,a,b,w\n" + "".join(f"q{i}{k},x,y,a\n" for k in range(2)))
    code, out, err = run(
        capsys,
        "ingest",
        "--store",
        store_path,
        "--mapping",
        mapping,
        str(tmp_path / "part-[01].csv"),
        "--no-precompute",
    )  # fmt: skip -- a quoted glob
    assert code == 0, err
    assert "sharded: ingested: 4 pairs" in out
    code, _, err = run(capsys, "ingest", "--store", store_path, "--mapping", mapping, tmp_path / "part-2.csv")
    assert code == 2 and "already in the store (4 pairs" in err and "--append" in err
    code, out, err = run(capsys, "ingest", "--store", store_path, "--mapping", mapping, tmp_path / "part-2.csv",
                         "--append", "--no-precompute")  # fmt: skip
    assert code == 0, err
    assert "sharded: appended: 6 pairs, 1 judges, 6 judgments from 6 rows read" in out
    assert json.loads(rows(store_path, "SELECT files FROM datasets")[0][0]) == [
        "part-0.csv",
        "part-1.csv",
        "part-2.csv",
    ]
    code, _, err = run(capsys, "ingest", "--store", store_path, "--mapping", mapping, tmp_path / "part-2.csv",
                       "--append")  # fmt: skip
    assert code == 2 and "already holds part-2.csv" in err
    code, out, err = run(capsys, "ingest", "--store", store_path, "--mapping", mapping, tmp_path / "part-2.csv",
                         "--replace", "--no-precompute")  # fmt: skip
    assert code == 0 and "sharded: replaced: 2 pairs" in out
    assert rows(store_path, "SELECT count(*) FROM pairs") == [(2,)]
    assert rows(store_path, "SELECT count(*) FROM builtin_properties") == [(4,)]  # the other shards' are gone


def test_identical_rows_are_merged_with_a_report_or_kept_apart_with_row_ids(tmp_path, store_path, capsys):
    data = write(tmp_path / "dup.csv", "q,a,b,gold\nsame,x,y,2\nsame,x,y,2\nsame,x,y,1\nother,x,y,1\n")
    text = 'name = "NAME"\n[columns]\nprompt = "q"\nresponse_a = "a"\nresponse_b = "b"\nID' + (
        '[[verdicts]]\njudge = "gold"\nkind = "gold"\ncolumn = "gold"\nvalues = { 1 = "A", 2 = "B" }\n'
    )
    merged = write(tmp_path / "m.toml", text.replace("NAME", "merged").replace("ID", ""))
    code, out, _ = run(capsys, "ingest", "--store", store_path, "--mapping", merged, data, "--no-precompute")
    assert code == 0
    assert "merged: ingested: 2 pairs, 1 judges, 4 judgments from 4 rows read" in out
    assert "merged 2 rows into pairs of identical content" in out
    assert "1 merged pairs have rows a judge labelled differently, e.g. rows dup.csv:1, dup.csv:2, dup.csv:3" in out
    apart = write(tmp_path / "r.toml", text.replace("NAME", "apart").replace("ID", 'id = "@row"\n'))
    code, out, _ = run(capsys, "ingest", "--store", store_path, "--mapping", apart, data, "--no-precompute")
    assert code == 0
    assert "apart: ingested: 4 pairs, 1 judges, 4 judgments" in out and "merged" not in out.split("apart:")[1]
    assert rows(store_path, "SELECT upstream_id FROM pairs WHERE dataset = 'apart' ORDER BY source_row") == [
        ("dup.csv:1",), ("dup.csv:2",), ("dup.csv:3",), ("dup.csv:4",)
    ]  # fmt: skip


def test_order_per_verdict_and_gold_without_order(tmp_path, store_path, capsys):
    data = write(tmp_path / "o.csv", "q,a,b,shown,judge,gold\nq1,x,y,ab,A,1\nq2,x,y,ba,A,1\n")
    mapping = write(
        tmp_path / "o.toml",
        'name = "orders"\n[columns]\nprompt = "q"\nresponse_a = "a"\nresponse_b = "b"\norder = "shown"\n'
        '[order_values]\nab = "AB"\nba = "BA"\n'
        '[[verdicts]]\njudge = "judge"\nkind = "llm"\ncolumn = "judge"\nframe = "shown"\n'
        'values = { A = "A", B = "B" }\n'
        '[[verdicts]]\njudge = "gold"\nkind = "gold"\ncolumn = "gold"\nvalues = { 1 = "A", 2 = "B" }\n'
        '[[verdicts]]\njudge = "fixed"\nkind = "llm"\norder = "BA"\ncolumn = "gold"\nvalues = { 1 = "A", 2 = "B" }\n',
    )
    code, _, err = run(capsys, "ingest", "--store", store_path, "--mapping", mapping, data, "--no-precompute")
    assert code == 0, err
    assert rows(store_path, """SELECT j.name, p.source_row, x.shown_order, x.verdict FROM judgments x
                               JOIN judges j USING (judge_id) JOIN pairs p USING (pair_id) ORDER BY 1, 2""") == [
        ("fixed", 1, "BA", "A"), ("fixed", 2, "BA", "A"),
        ("gold", 1, None, "A"), ("gold", 2, None, "A"),
        ("judge", 1, "AB", "A"), ("judge", 2, "BA", "B"),
    ]  # fmt: skip


def test_files_that_would_be_damaged_silently_are_refused_or_read_right(tmp_path, store_path, capsys):
    """latin-1 text, list and binary columns in Parquet, and Parquet decimals as verdict values."""
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    mapping = write(
        tmp_path / "m.toml",
        'name = "careful"\n[columns]\nprompt = "q"\nresponse_a = "a"\nresponse_b = "b"\n'
        '[[verdicts]]\njudge = "me"\ncolumn = "w"\nvalues = { 1 = "A", 2 = "B" }\n',
    )
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes('{"q": "café", "a": "x", "b": "y", "w": 1}\n'.encode("latin-1"))
    code, _, err = run(capsys, "ingest", "--store", store_path, "--mapping", mapping, latin)
    assert code == 2 and "not UTF-8 text (byte 10)" in err
    listed = tmp_path / "listed.parquet"
    pq.write_table(pa.table({"q": [["a", "b"]], "a": ["x"], "b": ["y"], "w": [1]}), listed)
    code, _, err = run(capsys, "ingest", "--store", store_path, "--mapping", mapping, listed)
    assert code == 2 and "prompt must be text; rows 1 hold a" in err
    binary = tmp_path / "binary.parquet"
    pq.write_table(pa.table({"q": [b"\x00\x01"], "a": ["x"], "b": ["y"], "w": [1]}), binary)
    code, _, err = run(capsys, "ingest", "--store", store_path, "--mapping", mapping, binary)
    assert code == 2 and "column 'q': holds binary values" in err
    assert rows(store_path, "SELECT count(*) FROM pairs") == [(0,)]
    decimals = tmp_path / "decimals.parquet"
    w = pa.array([decimal.Decimal("1.0"), decimal.Decimal("2")], type=pa.decimal128(3, 1))
    pq.write_table(pa.table({"q": ["q1", "q2"], "a": ["x", "x"], "b": ["y", "y"], "w": w}), decimals)
    code, _, err = run(capsys, "ingest", "--store", store_path, "--mapping", mapping, decimals, "--no-precompute")
    assert code == 0, err
    assert rows(store_path, "SELECT verdict FROM judgments ORDER BY source_row") == [("A",), ("B",)]


def test_ranked_responses_expand_into_every_pair(tmp_path, store_path, capsys):
    """Nectar's layout: k answers per prompt with a rank (1 = best); UltraFeedback's: completions with a score."""
    nectar = [
        {"prompt": "p1", "answers": [{"answer": "x1", "model": "m1", "rank": 2},
                                     {"answer": "y1", "model": "m2", "rank": 1},
                                     {"answer": "z1", "model": "m3", "rank": 3}]},
        {"prompt": "p2", "answers": [{"answer": "x2", "model": "m1", "rank": 1},
                                     {"answer": "y2", "model": "m2", "rank": 1}]},
    ]  # fmt: skip
    data = write(tmp_path / "nectar.jsonl", "".join(json.dumps(r) + "\n" for r in nectar))
    mapping = write(
        tmp_path / "nectar.toml",
        'name = "nectar"\n[columns]\nprompt = "prompt"\n'
        '[ranked]\nresponses = "answers"\ntext = "answer"\nmodel = "model"\nrank = "rank"\njudge = "gpt-4"\n',
    )
    code, out, err = run(capsys, "ingest", "--store", store_path, "--mapping", mapping, data, "--no-precompute")
    assert code == 0, err
    assert "nectar: ingested: 4 pairs, 1 judges, 4 judgments from 2 rows read" in out
    got = rows(store_path, """SELECT ra.text, rb.text, ra.generator, rb.generator, x.verdict, p.source_row
                              FROM pairs p JOIN judgments x USING (pair_id)
                              JOIN responses ra ON ra.response_id = p.response_a_id
                              JOIN responses rb ON rb.response_id = p.response_b_id ORDER BY 1, 2""")  # fmt: skip
    assert got == [
        ("x1", "y1", "m1", "m2", "B", 1),  # rank 2 vs 1: the second is better
        ("x1", "z1", "m1", "m3", "A", 1),
        ("x2", "y2", "m1", "m2", "tie", 2),  # equal ranks
        ("y1", "z1", "m2", "m3", "A", 1),
    ]
    feedback = [{"instruction": "q", "completions": [{"response": "r1", "overall_score": 7.5},
                                                      {"response": "r2", "overall_score": 8},
                                                      {"response": "r3", "overall_score": None}]}]  # fmt: skip
    data = write(tmp_path / "uf.jsonl", json.dumps(feedback[0]) + "\n")
    mapping = write(
        tmp_path / "uf.toml",
        'name = "uf"\n[columns]\nprompt = "instruction"\n'
        '[ranked]\nresponses = "completions"\ntext = "response"\nscore = "overall_score"\njudge = "gpt-4"\n',
    )
    code, out, err = run(capsys, "ingest", "--store", store_path, "--mapping", mapping, data, "--no-precompute")
    assert code == 0, err
    assert rows(store_path, """SELECT ra.text, rb.text, x.verdict FROM pairs p JOIN judgments x USING (pair_id)
                               JOIN responses ra ON ra.response_id = p.response_a_id
                               JOIN responses rb ON rb.response_id = p.response_b_id
                               WHERE p.dataset = 'uf' ORDER BY 1, 2""") == [
        ("r1", "r2", "B"),  # the higher score wins
        ("r1", "r3", "unparsed"),  # a missing score decides nothing
        ("r2", "r3", "unparsed"),
    ]  # fmt: skip
