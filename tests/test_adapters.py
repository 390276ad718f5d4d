"""Each adapter on inline fixtures: verdict conventions, orders, ids, provenance."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analytics.adapters import alpaca_eval, hh_rlhf, judgebench, llmbar, pandalm
from analytics.adapters.alpaca_eval import preference_to_verdict
from analytics.adapters.hh_rlhf import pair_from_transcripts
from analytics.store import connect, delete_dataset, transaction, write_batch

from fixtures import write_alpaca_eval, write_hh, write_judgebench, write_llmbar, write_pandalm


def _judgments(batch, judge):
    j = batch.judgments
    return j[j["judge"] == judge].sort_values(["pair_row", "shown_order"], na_position="first")


def test_llmbar_orders_and_unparsed(tmp_path):
    batch = llmbar.load(write_llmbar(tmp_path))
    assert len(batch.pairs) == 3
    assert set(batch.pairs["subset"]) == {"LLMBar/Natural"}
    assert list(_judgments(batch, "gold")["verdict"]) == ["A", "B", "A"]
    gpt4 = _judgments(batch, "GPT-4")
    assert list(gpt4["shown_order"]) == ["AB", "BA", "AB", "BA", "AB", "BA"]
    assert list(gpt4["verdict"]) == ["A", "A", "B", "B", "A", "unparsed"]
    falcon = _judgments(batch, "Falcon")
    assert list(falcon["verdict"]) == ["A", "B"] * 3  # winner already in the original frame: stored as is
    assert batch.judges.set_index("name").loc["GPT-4", "kind"] == "llm"
    assert batch.judges.set_index("name").loc["gold", "kind"] == "gold"
    # mirror '.gz' is dropped from provenance so that ids do not depend on where the file came from
    assert batch.pairs["source_file"].iloc[0] == "Dataset/LLMBar/Natural/dataset.json"


def test_pandalm_duplicates_garbage_and_models(tmp_path):
    batch = pandalm.load(write_pandalm(tmp_path))
    assert len(batch.pairs) == 3
    assert list(batch.pairs["model_a"]) == ["llama-7b", "llama-7b", "bloom-7b"]
    assert list(batch.pairs["model_b"]) == ["opt-7b", "opt-7b", "pythia-6.9b"]
    assert batch.pairs["prompt"].iloc[0] == "Shorten\n\na long sentence"
    assert batch.pairs["prompt"].iloc[2] == "Shorten"
    assert list(_judgments(batch, "gpt-3.5-turbo")["verdict"]) == ["A", "unparsed", "tie"]
    assert list(_judgments(batch, "PandaLM-7B")["verdict"]) == ["tie", "B", "A"]
    assert list(_judgments(batch, "PandaLM annotator 3")["verdict"]) == ["tie", "A", "B"]
    assert set(batch.judgments["shown_order"]) == {"AB"}


def test_pandalm_duplicate_rows_stay_two_pairs_in_store(tmp_path, store_path):
    con = connect(store_path)
    summary = write_batch(con, pandalm.load(write_pandalm(tmp_path)))
    assert summary.pairs == 3
    assert summary.judgments == 15


def test_judgebench_second_game_is_flipped(tmp_path):
    batch = judgebench.load(write_judgebench(tmp_path))
    assert list(_judgments(batch, "gold")["verdict"]) == ["A", "B"]
    rm = _judgments(batch, "rm/x")
    assert batch.judges.set_index("name").loc["rm/x", "kind"] == "reward_model"
    # consistent reward model: both games agree once game 2 is flipped back; scores mapped to the pair frame
    assert list(rm["verdict"]) == ["A", "A", "B", "B"]
    assert list(rm["score_a"]) == [2.0, 2.0, 0.5, 0.5]
    assert list(rm["score_b"]) == [1.0, 1.0, 3.0, 3.0]
    llm = _judgments(batch, "o1-mini (arena_hard)")
    assert list(llm["shown_order"]) == ["AB", "BA", "AB", "BA"]
    assert list(llm["verdict"]) == ["A", "B", "tie", "unparsed"]
    assert list(batch.pairs["category"]) == ["Knowledge/mmlu-pro-law", "Math/livebench-math"]


@pytest.mark.parametrize(
    ("value", "verdict", "prob_b"),
    [
        (1, "A", 0.0),
        (2, "B", 1.0),
        (1.5, "tie", 0.5),
        (0, "tie", 0.5),
        (None, "unparsed", None),
        (1.25, "A", 0.25),
        (1.9, "B", 0.9),
        (3, "unparsed", None),
        ("x", "unparsed", None),
        (float("nan"), "unparsed", None),
    ],
)
def test_alpaca_preference_values(value, verdict, prob_b):
    got_verdict, got_prob = preference_to_verdict(value)
    assert got_verdict == verdict
    assert got_prob == (pytest.approx(prob_b) if prob_b is not None else None)


def test_alpaca_eval_evaluators_share_pairs(tmp_path):
    batch = alpaca_eval.load(write_alpaca_eval(tmp_path))
    assert len(batch.pairs) == 4  # two evaluator files on the same texts -> one pair each, two judges
    assert set(batch.judgments["judge"]) == {"alpaca_eval_gpt4_turbo_fn", "weighted_alpaca_eval_gpt4_turbo"}
    assert list(batch.pairs["model_a"].unique()) == ["gpt4_1106_preview"]
    assert set(batch.pairs["subset"]) == {"AlpacaEval 2"}
    fn = _judgments(batch, "alpaca_eval_gpt4_turbo_fn")
    assert list(fn["verdict"]) == ["A", "B", "tie", "unparsed"]
    w = _judgments(batch, "weighted_alpaca_eval_gpt4_turbo")
    assert list(w["prob_b"].round(3)) == [0.2, 0.9, 0.5, 0.0]
    assert batch.judgments["shown_order"].isna().all()


def test_alpaca_eval_keeps_upstreams_leaderboard_for_the_generators_it_holds(tmp_path):
    assert alpaca_eval.load(write_alpaca_eval(tmp_path / "plain")).published.empty  # no leaderboard file: nothing
    batch = alpaca_eval.load(write_alpaca_eval(tmp_path / "board", leaderboard=True))
    got = batch.published.set_index(["generator", "metric"])
    assert got.loc[("tiny-model", "lc_win_rate"), "value"] == pytest.approx(0.45)
    assert got.loc[("tiny-model", "raw_win_rate"), "standard_error"] == pytest.approx(0.025)
    assert set(batch.published["judge"]) == {"weighted_alpaca_eval_gpt4_turbo"}
    assert "not-in-the-data" not in set(batch.published["generator"])  # only generators the data holds
    store = connect(tmp_path / "store.duckdb")
    write_batch(store, batch)
    rows = store.execute("SELECT count(*) FROM published WHERE dataset = 'alpaca_eval'").fetchone()[0]
    assert rows == len(batch.published) == 4
    with transaction(store):
        delete_dataset(store, "alpaca_eval")
    assert store.execute("SELECT count(*) FROM published").fetchone()[0] == 0  # leaves with its dataset


def test_hh_split_context_and_final_turns(tmp_path):
    batch = hh_rlhf.load(write_hh(tmp_path))
    first = batch.pairs.iloc[0]
    assert first["prompt"] == "how to pick a lock?"
    assert json.loads(first["context"]) == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
    ]
    assert (first["response_a"], first["response_b"]) == ("I can't help.", "Use a pin.")
    assert pd.isna(batch.pairs.iloc[1]["context"])
    assert set(batch.judgments["verdict"]) == {"A"}
    assert set(batch.judges["kind"]) == {"crowd"}


def test_hh_transcripts_that_part_early_keep_the_whole_tail():
    chosen = "\n\nHuman: q\n\nAssistant: a1\n\nHuman: more\n\nAssistant: a2"
    rejected = "\n\nHuman: q\n\nAssistant: b1"
    prompt, context, a, b = pair_from_transcripts(chosen, rejected)
    assert prompt == "q" and context == []
    assert a == "Assistant: a1\n\nHuman: more\n\nAssistant: a2"
    assert b == "Assistant: b1"


def test_verdict_label_names_generators():
    from analytics.reads import verdict_label

    assert verdict_label("A", "gpt-4", "llama") == "gpt-4 (A)"
    assert verdict_label("B", "gpt-4", "llama") == "llama (B)"
    assert verdict_label("B", "gpt-4o", "gpt-4o") == "B"  # same generator on both sides: the slot is the information
    assert verdict_label("A", float("nan"), None) == "A"
    assert verdict_label("tie", "x", "y") == "tie"
