"""The judge card: one judge, or one model family, across every dataset and subset of a store."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from analytics import cli
from analytics import judgecard as C
from analytics import judges as J
from analytics.adapters import alpaca_eval, judgebench, llmbar
from analytics.store import connect, write_batch

from conftest import ROOT
from fixtures import write_alpaca_eval, write_judgebench, write_llmbar

APP = str(ROOT / "dashboard" / "app.py")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("card")
    con = connect(root / "s.duckdb")
    write_batch(con, llmbar.load(write_llmbar(root / "l")))
    write_batch(con, judgebench.load(write_judgebench(root / "j")))
    write_batch(con, alpaca_eval.load(write_alpaca_eval(root / "a")))
    con.close()
    return root / "s.duckdb"


@pytest.fixture
def con(store, tmp_path, monkeypatch):
    monkeypatch.setenv("PREFATLAS_CACHE", str(tmp_path))
    reader = connect(store, read_only=True)
    yield reader
    reader.close()


def test_a_card_repeats_the_judges_pages_figures_for_each_dataset(con):
    card = C.judge_card(con, "GPT-4")
    assert [(r["dataset"], r["subset"]) for r in card["rows"]] == [("llmbar", "(all)")]  # one subset: whole only
    row = card["rows"][0]
    report = J.judges_report(con, "llmbar")
    entry = next(j for j in report["judges"] if j["judge"] == "GPT-4")
    assert row["convention"] == "mean_over_orders"  # LLMBar's own: 5/6 in the fixture, not the combined 3/3
    assert row["accuracy"] == entry["accuracy_average"] and row["accuracy"]["value"] == pytest.approx(5 / 6)
    assert row["swap_consistency"] == entry["position"]["swap_consistency"]
    with pytest.raises(ValueError, match="no judge"):
        C.judge_card(con, "nobody")


def test_a_family_card_spans_every_judge_of_the_family_and_dataset(con):
    assert "gpt-4" in C.families(con)
    card = C.judge_card(con, "GPT-4", by_family=True)  # LLMBar's GPT-4 and AlpacaEval's gpt-4-turbo evaluators
    assert set(card["judges"]) >= {"GPT-4", "weighted_alpaca_eval_gpt4_turbo"}
    assert {r["dataset"] for r in card["rows"]} == {"llmbar", "alpaca_eval"}
    no_reference = [r for r in card["rows"] if r["dataset"] == "alpaca_eval"]
    assert all(r["accuracy"] is None and r["reference"] is None for r in no_reference)
    table = C.card_table(card)
    assert set(table.loc[table["dataset"] == "alpaca_eval", "accuracy vs reference"]) == {"–"}


def test_the_judge_command_prints_the_card(store, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PREFATLAS_CACHE", str(tmp_path))
    assert cli.main(["judge", "--store", str(store), "GPT-4", "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["rows"][0]["accuracy"]["value"] == pytest.approx(5 / 6)
    assert cli.main(["judge", "--store", str(store), "nobody"]) == 2
    assert "no judge 'nobody'" in capsys.readouterr().err


def test_the_card_page_and_its_link(store, tmp_path, monkeypatch):
    monkeypatch.setenv("PREFATLAS_STORE", str(store))
    monkeypatch.setenv("PREFATLAS_CACHE", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["name"] = "GPT-4"
    at.switch_page("views/judge.py")
    at.run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["dataset"]) == ["llmbar"] and table.loc[0, "accuracy vs reference"].startswith("83.3%")
    assert "name=GPT-4" in at.sidebar.code[0].value and "/judge?" in at.sidebar.code[0].value
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert "mean of the two orders" in figure["data"][0]["customdata"][0][1]  # accuracy's hover names its convention
    at.toggle(key="family").set_value(True).run()
    assert not at.exception
    assert at.query_params["family"] == "true"


def test_accuracy_within_some_pairs_beside_the_whole_dataset(con):
    rows = con.execute("SELECT pair_id FROM pairs WHERE dataset = 'llmbar' ORDER BY source_row").fetchall()
    ids = [r[0] for r in rows]
    within = J.accuracy_within(con, "llmbar", ids[:2]).set_index("judge")
    report = J.judges_report(con, "llmbar")
    gpt4 = next(j for j in report["judges"] if j["judge"] == "GPT-4")
    assert within.loc["GPT-4", "whole"] == gpt4["accuracy_average"]  # the dataset's convention: LLMBar's
    assert within.loc["GPT-4", "n"] == 2 and within.loc["GPT-4", "within"]["value"] == pytest.approx(1.0)
    assert within.loc["Falcon", "within"]["value"] == pytest.approx(0.5)  # always the first shown: one order right
    assert "gold" not in within.index
