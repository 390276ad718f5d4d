"""Curation exports: the rows a recipe keeps, the chosen side, byte-identical files, the card; on a fixture made in
code and on the real PandaLM and AlpacaEval data."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analytics import curation as C
from analytics import judges as J
from analytics.adapters.base import BatchBuilder
from analytics.store import DatasetMeta, connect, write_batch

RECIPE = """
reference = "gold"

[[steps]]
step = "drop_judge_splits"
judges = ["gpt", "llama"]

[[steps]]
step = "drop_inconsistent"
judge = "gpt"

[[steps]]
step = "balance_length"
"""


def _store(tmp_path, licence: str = "MIT"):
    """40 pairs: gold decides 36 (4 ties); 'gpt' judged both orders and flips on every 5th pair; 'llama' agrees with
    gold except on every 3rd pair; the chosen (gold) side is the longer one in 3 of 4 pairs."""
    bb = BatchBuilder()
    bb.judge("gold", "gold")
    bb.judge("gpt", "llm")
    bb.judge("llama", "llm")
    for i in range(40):
        long, short = "word " * (30 + i), "word " * (5 + i % 7)
        gold = "tie" if i % 10 == 9 else ("A" if i % 2 else "B")
        chosen_long = i % 4 != 0
        winner_text, loser_text = (long, short) if chosen_long else (short, long)
        a, b = (winner_text, loser_text) if gold != "B" else (loser_text, winner_text)
        k = bb.pair(
            prompt=f"prompt number {i}",
            response_a=f"A{i}: {a}",
            response_b=f"B{i}: {b}",
            category="math" if i < 20 else "chat",
            model_a="model-x",
            model_b="model-y",
            source_file="f",
            source_row=i,
        )
        bb.judgment(k, "gold", gold, source_file="f", source_row=i)
        decided = gold if gold != "tie" else "A"
        other = "B" if decided == "A" else "A"
        bb.judgment(k, "gpt", decided, shown_order="AB", source_file="g", source_row=i)
        bb.judgment(k, "gpt", other if i % 5 == 0 else decided, shown_order="BA", source_file="g", source_row=i)
        bb.judgment(k, "llama", other if i % 3 == 0 else decided, source_file="l", source_row=i)
    con = connect(tmp_path / "s.duckdb")
    meta = DatasetMeta(name="toy", version="1", adapter="test", title="Toy", source="https://x @ abc", licence=licence)
    write_batch(con, bb.build(meta))
    return con


def test_a_recipe_keeps_decisive_pairs_with_the_references_pick_and_drops_the_right_ones(tmp_path):
    con = _store(tmp_path)
    recipe = C.Recipe.from_toml(RECIPE)
    curated = C.curate(con, "toy", recipe)
    wide = J.load_verdicts(con, "toy").wide
    gold = wide["gold"]
    decisive = set(gold.index[gold.isin(["A", "B"])])
    steps = {s["step"]: s for s in curated.steps}
    assert steps["decisive reference"]["dropped"] == 4 and steps["decisive reference"]["after"] == 36
    # the judges split where gpt (both orders combined) and llama differ, among decisive pairs
    split = {p for p in decisive if pd_notna(wide.at[p, "gpt"]) and wide.at[p, "gpt"] != wide.at[p, "llama"]}
    assert steps["drop_judge_splits"]["dropped"] == len(split) > 0
    after_split = decisive - split
    orders = J.load_verdicts(con, "toy").orders("gpt")
    inconsistent = {p for p in after_split if orders.at[p, "AB"] != orders.at[p, "BA"]}
    assert steps["drop_inconsistent"]["dropped"] == len(inconsistent)
    table = curated.table
    ids = table.column("pair_id").to_pylist()
    assert set(ids) <= after_split - inconsistent
    # chosen = the gold pick, texts and generators follow it
    texts = con.execute(
        "SELECT pair_id, ra.text AS a, rb.text AS b FROM pairs p JOIN responses ra "
        "ON ra.response_id = p.response_a_id JOIN responses rb ON rb.response_id = p.response_b_id"
    ).df()
    texts = texts.set_index("pair_id")
    for row in table.to_pylist():
        pick = gold[row["pair_id"]]
        assert row["chosen"] == texts.at[row["pair_id"], pick.lower()]
        assert row["chosen_was"] == pick and row["chosen_generator"] == ("model-x" if pick == "A" else "model-y")
        assert row["verdict: gold"] == "chosen" and row["weight"] == 1.0
    # balanced: as many kept pairs with the longer chosen as with the shorter
    longer = [len(r["chosen"]) > len(r["rejected"]) for r in table.to_pylist()]
    assert sum(longer) == len(longer) - sum(longer) and len(longer) > 0
    assert ids == sorted(ids, key=lambda p: int(texts.at[p, "a"].split(":")[0][1:]))  # source order
    con.close()


def pd_notna(value: object) -> bool:
    return isinstance(value, str)


def test_exports_are_byte_identical_and_read_back_with_pyarrow(tmp_path):
    con = _store(tmp_path)
    recipe = C.Recipe.from_toml(RECIPE)
    scope = C.Scope("toy", None, "every pair of the dataset")
    first = C.export(con, scope, recipe, "parquet")
    con.close()
    con = connect(tmp_path / "s.duckdb", read_only=True)
    again = C.export(con, scope, recipe, "parquet")
    assert first.data == again.data and first.card == again.card
    assert C.export(con, scope, recipe, "jsonl").data == C.export(con, scope, recipe, "jsonl").data
    table = pq.read_table(pa.BufferReader(first.data))
    expected = [
        "prompt",
        "chosen",
        "rejected",
        "context",
        "pair_id",
        "dataset",
        "subset",
        "category",
        "chosen_generator",
        "rejected_generator",
        "chosen_was",
        "reference",
        "weight",
    ]
    assert table.column_names[: len(expected)] == expected
    assert {"verdict: gold", "verdict: gpt", "verdict: llama"} <= set(table.column_names)
    assert table.num_rows == first.curated.table.num_rows > 0
    assert set(table.column("dataset").to_pylist()) == {"toy"}
    assert "Non-commercial" not in first.card and not first.non_commercial
    con.close()


def test_a_non_commercial_source_makes_the_card_say_so(tmp_path):
    con = _store(tmp_path, licence="CC BY-NC 4.0")
    result = C.export(con, C.Scope("toy", None, "every pair"), C.Recipe("gold"))
    assert result.non_commercial and "**Non-commercial source**: CC BY-NC 4.0" in result.card
    assert "- licence: CC BY-NC 4.0" in result.card and "https://x @ abc" in result.card
    con.close()


def test_a_link_exports_the_pairs_its_view_shows(tmp_path):
    con = _store(tmp_path)
    scope = C.scope_of_link(con, "http://localhost:8501/pairs?dataset=toy&category=chat")
    assert len(scope.pair_ids) == 20
    curated = C.curate(con, "toy", C.Recipe("gold"), scope.pair_ids)
    assert set(curated.table.column("category").to_pylist()) == {"chat"}
    assert curated.table.num_rows == 18  # two of the twenty chat pairs are gold ties
    whole = C.scope_of_link(con, "http://localhost:8501/judges?dataset=toy")
    assert whole.pair_ids is None
    behind = C.scope_of_link(con, "http://localhost:8501/judges?dataset=toy&cell=gpt+~+llama")
    assert set(behind.pair_ids) == set(J.pairs_behind(con, "toy", "gpt", "llama"))
    con.close()


def test_agreement_reference_and_bad_recipes(tmp_path):
    con = _store(tmp_path)
    curated = C.curate(con, "toy", C.Recipe("agreement", ("gold", "llama")))
    wide = J.load_verdicts(con, "toy").wide
    agree = wide.index[(wide["gold"] == wide["llama"]) & wide["gold"].isin(["A", "B"])]
    assert set(curated.table.column("pair_id").to_pylist()) == set(agree)
    with pytest.raises(C.CurationError, match="unknown step 'drop_everything'"):
        C.Recipe.from_toml('[[steps]]\nstep = "drop_everything"')
    with pytest.raises(C.CurationError, match="unknown parameters \\['treshold'\\]"):
        C.Recipe.from_toml('[[steps]]\nstep = "drop_near_duplicates"\ntreshold = 0.9')
    with pytest.raises(C.CurationError, match="not valid TOML"):
        C.Recipe.from_toml("reference = ")
    with pytest.raises(C.CurationError, match="no judge"):
        C.curate(con, "toy", C.Recipe("gold", (), (C.Step("drop_inconsistent", {"judge": "nobody"}),)))
    with pytest.raises(C.CurationError, match="embeddings"):
        C.curate(con, "toy", C.Recipe("gold", (), (C.Step("drop_near_duplicates", {}),)))
    with pytest.raises(C.CurationError, match="needs a map"):
        C.curate(con, "toy", C.Recipe("gold", (), (C.Step("drop_likely_flips", {}),)))
    assert C.Recipe.from_toml(C.Recipe.from_toml(RECIPE).to_toml()) == C.Recipe.from_toml(RECIPE)
    con.close()


def test_near_duplicate_prompts_go_with_their_pairs(tmp_path):
    from analytics.embed import EmbedSettings, text_id, write_vectors
    from analytics.store import ShortConnections

    con = _store(tmp_path)
    prompts = [f"prompt number {i}" for i in range(40)]
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(40, 8)).astype(np.float32)
    vectors[7] = vectors[3] + 0.01  # prompt 7 is a near duplicate of prompt 3
    con.close()
    write_vectors(ShortConnections(tmp_path / "s.duckdb"), [text_id(p) for p in prompts], vectors, EmbedSettings())
    con = connect(tmp_path / "s.duckdb", read_only=True)
    step = C.Step("drop_near_duplicates", {"threshold": 0.99})
    curated = C.curate(con, "toy", C.Recipe("gold", (), (step,)))
    kept = set(curated.table.column("prompt").to_pylist())
    assert "prompt number 3" in kept and "prompt number 7" not in kept
    assert curated.steps[-1]["dropped"] == 1
    con.close()


def test_real_pandalm_through_a_recipe(mirror, tmp_path):
    from analytics.catalog import ingest_entry, load_catalog

    con = connect(tmp_path / "s.duckdb")
    ingest_entry(con, load_catalog()["pandalm"], mirror=mirror)
    recipe = C.Recipe.from_toml(
        'reference = "human majority"\n[[steps]]\nstep = "drop_judge_splits"\njudges = ["gpt-3.5-turbo", "PandaLM-7B"]'
    )
    result = C.export(con, C.Scope("pandalm", None, "every pair"), recipe)
    wide = J.load_verdicts(con, "pandalm").wide
    humans = [c for c in wide.columns if c.startswith("PandaLM annotator")]
    majority = J.majority(wide[humans])
    steps = result.curated.steps
    assert steps[0]["before"] == 999 and steps[0]["after"] == int(majority.isin(["A", "B"]).sum())
    table = pq.read_table(pa.BufferReader(result.data)).to_pylist()
    for row in table:
        assert row["chosen_was"] == majority[row["pair_id"]]
        assert row["verdict: gpt-3.5-turbo"] == row["verdict: PandaLM-7B"] or None in (
            row["verdict: gpt-3.5-turbo"],
            row["verdict: PandaLM-7B"],
        )
    assert "Apache-2.0" in result.card and not result.non_commercial
    con.close()


def test_real_alpaca_eval_card_carries_its_non_commercial_licence(mirror, tmp_path):
    from analytics.catalog import ingest_entry, load_catalog

    con = connect(tmp_path / "s.duckdb")
    ingest_entry(con, load_catalog()["alpaca_eval"], mirror=mirror)
    scope = C.scope_of_link(con, "/pairs?dataset=alpaca_eval&category=helpful_base")
    result = C.export(con, scope, C.Recipe("alpaca_eval_gpt4"), "jsonl")
    assert result.non_commercial and "CC BY-NC 4.0" in result.card and "/pairs?dataset=alpaca_eval" in result.card
    assert result.curated.table.num_rows > 0
    con.close()
