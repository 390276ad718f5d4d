"""AppTest of the Judges page on a store built from inline fixtures."""

from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from analytics import judges as J
from analytics import reads
from analytics.adapters import alpaca_eval, judgebench, llmbar, pandalm
from analytics.store import connect, write_batch
from dashboard.widgets import plain

from conftest import ROOT
from fixtures import write_alpaca_eval, write_judgebench, write_llmbar, write_pandalm

APP = str(ROOT / "dashboard" / "app.py")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("jp")
    path = root / "store.duckdb"
    con = connect(path)
    write_batch(con, llmbar.load(write_llmbar(root / "llmbar")))
    write_batch(con, pandalm.load(write_pandalm(root / "pandalm")))
    write_batch(con, judgebench.load(write_judgebench(root / "judgebench")))
    con.close()
    return path


def chart_title(at: AppTest) -> str:
    return json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["title"]["text"]


def judges_page(monkeypatch, store, **params) -> AppTest:
    monkeypatch.setenv("PREFATLAS_STORE", str(store))
    at = AppTest.from_file(APP, default_timeout=90)
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page("views/judges.py")
    return at.run()


def test_opens_without_parameters(monkeypatch, store):
    at = judges_page(monkeypatch, store)
    assert not at.exception
    assert at.title[0].value == "Judges"
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert fig["data"][0]["type"] == "heatmap"
    assert fig["data"][0]["x"] == ["gold", "o1-mini (arena_hard)", "rm/x"]  # gold first, then LLMs, then RMs


@pytest.mark.parametrize(
    ("params", "check"),
    [
        (
            {"dataset": "llmbar", "metric": "kappa"},
            lambda at: "κ" in chart_title(at),
        ),
        (
            {"dataset": "llmbar", "metric": "agreement_no_ties"},
            lambda at: "without ties" in json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["title"]["text"],
        ),
        (
            {"dataset": "pandalm", "ref": "human majority"},
            lambda at: any("human majority" in c.value for c in at.caption),
        ),
        (
            {"dataset": "pandalm", "ref": "gpt-3.5-turbo"},
            lambda at: any(f"**{plain('gpt-3.5-turbo')}**" in c.value for c in at.caption),
        ),
        (
            {"dataset": "pandalm", "group": "model pair", "with_ref": "false"},
            lambda at: at.selectbox(key="group").value == "model pair",
        ),
    ],
)
def test_each_parameter_at_a_non_default_value(monkeypatch, store, params, check):
    at = judges_page(monkeypatch, store, **params)
    assert not at.exception
    assert not at.warning
    assert check(at)


def test_a_cell_from_the_link_opens_its_pairs(monkeypatch, store):
    at = judges_page(monkeypatch, store, dataset="llmbar", cell="GPT-4 ~ Falcon")  # either order of the two judges
    assert not at.exception
    assert at.selectbox(key="cell").value == "Falcon ~ GPT-4"
    # Falcon picks the first shown: (A, B) -> tie; GPT-4 says A, B, A -> all three pairs differ
    assert listed(at) == 3
    pairs = pairs_table(at)
    assert len(pairs) == 3 and list(pairs.columns[:4]) == ["pair", "prompt", "gold", "Falcon"]  # reference, studied
    # Falcon picks the first shown in both orders: a tie over its runs, marked flipped and not the reference's
    assert all(v == f"tie{reads.FLIPPED}{reads.WRONG}" for v in pairs["Falcon"])
    assert pairs["GPT-4"].iloc[0] == "A"  # right in both orders: no mark


def listed(at: AppTest) -> int | None:
    """How many pairs the page says are behind the chosen number (its list's heading)."""
    for m in at.markdown:
        found = re.search(r"The pairs behind .* \\\((\d[\d,]*); ", m.value)
        if found:
            return int(found.group(1).replace(",", ""))
    return None


def pairs_table(at: AppTest):
    return next(d.value for d in at.dataframe if "prompt" in d.value.columns and "pair" in d.value.columns)


def test_a_row_of_the_pairs_table_opens_that_pair_and_the_link_keeps_it(monkeypatch, store):
    at = judges_page(monkeypatch, store, dataset="llmbar", cell="Falcon")
    assert not [m for m in at.markdown if m.value.startswith("**Prompt**")]  # the table, no card yet
    second = pairs_table(at)["pair"].iloc[1]
    at = judges_page(monkeypatch, store, dataset="llmbar", cell="Falcon", open=second)
    cards = [m for m in at.markdown if m.value.startswith("**Prompt**")]
    assert len(cards) == 1 and at.query_params["open"] == second
    assert any(second in c.value for c in at.caption)  # the card names its pair
    at = judges_page(monkeypatch, store, dataset="llmbar", cell="Falcon", open="zzz")
    assert not at.exception and any("not on this page" in c.value for c in at.caption)


def test_a_single_judge_opens_its_order_flips(monkeypatch, store):
    at = judges_page(monkeypatch, store, dataset="llmbar", cell="Falcon")
    assert listed(at) == 3
    at = judges_page(monkeypatch, store, dataset="llmbar", cell="GPT-4")
    assert listed(at) == 1  # only pair 3 (A, then unparsed) differs


@pytest.mark.parametrize(
    "params",
    [
        {"metric": "nope"},
        {"ref": "<b>x</b>"},
        {"cell": "a ~ b"},
        {"subset": "zzz", "dataset": "llmbar"},
        {"group": "nope"},
        {"only": "maybe", "cell": "gpt-3.5-turbo"},
        {"page": "-4", "cell": "gpt-3.5-turbo", "only": "false"},
    ],
)
def test_invalid_values_fall_back_with_a_notice(monkeypatch, store, params):
    at = judges_page(monkeypatch, store, **{"dataset": "pandalm", **params})
    assert not at.exception
    assert at.warning, params
    bad = [k for k in ("metric", "ref", "subset", "group", "page", "only") if k in params] or ["cell"]
    assert at.query_params.get(bad[0]) != params[bad[0]]  # the invalid value left the URL


def test_controls_write_canonical_urls(monkeypatch, store):
    at = judges_page(monkeypatch, store, dataset="pandalm")
    assert dict(at.query_params) == {"dataset": "pandalm"}  # defaults left out; the dataset always in
    at.selectbox(key="metric").set_value("kappa").run()
    at.selectbox(key="cell").set_value("PandaLM annotator 1").run()
    assert at.query_params["metric"] == "kappa" and at.query_params["cell"] == "PandaLM annotator 1"
    at.selectbox(key="metric").set_value("agreement").run()
    assert "metric" not in at.query_params


def test_bias_table_lists_every_judge(monkeypatch, store):
    at = judges_page(monkeypatch, store, dataset="llmbar")
    table = at.dataframe[0].value
    assert list(table["judge"]) == ["gold", "Falcon", "GPT-4"]
    assert table.set_index("judge").loc["Falcon", "swap consistency"].startswith("0.0%")
    assert table.set_index("judge").loc["GPT-4", "swap consistency"].startswith("66.7%")


def test_accuracy_follows_the_datasets_convention_and_the_choice_in_the_link(monkeypatch, store):
    # fixture GPT-4 on LLMBar: right in both orders on pairs 1-2; on pair 3 right when shown AB, unparsed when BA
    at = judges_page(monkeypatch, store, dataset="llmbar")
    assert at.selectbox(key="conv").value == "mean_over_orders"  # LLMBar's tables: the mean of the two orders
    assert "conv" not in at.query_params
    table = at.dataframe[0].value.set_index("judge")
    column = next(c for c in table.columns if c.startswith("accuracy vs reference"))
    assert "mean of the two orders" in column
    assert table.loc["GPT-4", column].startswith("83.3%")
    at = judges_page(monkeypatch, store, dataset="llmbar", conv="combined")
    table = at.dataframe[0].value.set_index("judge")
    column = next(c for c in table.columns if c.startswith("accuracy vs reference"))
    assert "JudgeBench" in column and table.loc["GPT-4", column].startswith("100.0%")  # (A, unparsed) -> A
    assert at.query_params["conv"] == "combined"


def test_leaderboard_opens_on_the_official_evaluator_without_the_baseline(monkeypatch, tmp_path):
    path = tmp_path / "store.duckdb"
    con = connect(path)
    write_batch(con, alpaca_eval.load(write_alpaca_eval(tmp_path / "ae", leaderboard=True)))
    con.close()
    at = judges_page(monkeypatch, path, dataset="alpaca_eval")
    assert not at.exception
    # alphabetically alpaca_eval_gpt4_turbo_fn comes first; the catalog names AlpacaEval 2's official evaluator
    assert at.selectbox(key="board").value == "weighted_alpaca_eval_gpt4_turbo"
    assert "board" not in at.query_params
    board = next(d.value for d in at.dataframe if "generator" in d.value.columns)
    assert list(board["generator"]) == ["tiny-model"]  # gpt4_1106_preview, the baseline, is not ranked
    assert board.loc[0, "published LC (%)"] == "45.0"
    assert any("Baseline" in c.value and "gpt4" in c.value for c in at.caption)
    ranks = next(c for c in at.get("plotly_chart") if "Ranks" in json.loads(c.proto.spec)["layout"]["title"]["text"])
    trace = json.loads(ranks.proto.spec)["data"][0]
    assert trace["name"] == "tiny-model"
    assert "an unparsed answer left out" in trace["hovertext"][0]  # each point names what its ranking counts


def test_a_generator_opens_the_pairs_its_judge_decided_against_it(monkeypatch, tmp_path):
    path = tmp_path / "store.duckdb"
    con = connect(path)
    write_batch(con, alpaca_eval.load(write_alpaca_eval(tmp_path / "ae", leaderboard=True)))
    con.close()
    # weighted evaluator on tiny-model's four pairs: P(B) 0.2, 0.9, 0.5, 0.0 -> it lost the first and the last
    at = judges_page(monkeypatch, path, dataset="alpaca_eval", cell="gen:tiny-model")
    assert not at.exception
    assert listed(at) == 2
    assert at.toggle(key="only").label == "Only the pairs it lost"
    at = judges_page(monkeypatch, path, dataset="alpaca_eval", cell="gen:tiny-model", only="false")
    assert listed(at) == 4
    assert len(pairs_table(at)) == 4
    con = connect(path, read_only=True)
    ids = J.pairs_behind(
        con, "alpaca_eval", "weighted_alpaca_eval_gpt4_turbo", only_disagreements=False, generator="tiny-model"
    )
    prompts = [reads.pairs_by_id(con, [i])["prompt"].iloc[0] for i in ids]
    con.close()
    assert prompts == ["I1", "I4", "I2", "I3"]  # its losses first, then in source order


def test_the_bias_table_keeps_the_judge_in_view_and_folds_the_fits(monkeypatch, store):
    at = judges_page(monkeypatch, store, dataset="llmbar")
    shown = list(at.dataframe[0].proto.column_order)
    assert shown[0] == "judge" and "card" in shown and "swap consistency" in shown
    assert not any(c.startswith("style fit") or c == "length fit" for c in shown)  # folded by default
    at = judges_page(monkeypatch, store, dataset="llmbar", fits="true")
    shown = list(at.dataframe[0].proto.column_order)
    assert "style fit: tokens" in shown and "length fit" in shown
    table = at.dataframe[0].value.set_index("judge")
    cell = table.loc["GPT-4", "length fit"]
    assert cell == "–" or cell.startswith("not estimable")  # three pairs cannot pin a fit down: no number shown


def test_a_cell_with_the_reference_itself_lists_each_judge_once(monkeypatch, store):
    at = judges_page(monkeypatch, store, dataset="judgebench", cell="o1-mini (arena_hard) ~ gold")
    assert not at.exception
    columns = list(pairs_table(at).columns)
    assert columns[:4] == ["pair", "prompt", "gold", "o1-mini (arena_hard)"] and len(columns) == len(set(columns))


def test_a_judge_named_in_the_pairs_section_links_to_its_card(monkeypatch, store):
    at = judges_page(monkeypatch, store, dataset="llmbar", cell="GPT-4 ~ Falcon")
    links = {p.proto.label: p.proto for p in at.get("page_link")}
    assert {"Falcon across every dataset", "GPT-4 across every dataset"} <= set(links)
    assert "name=GPT-4" in links["GPT-4 across every dataset"].query_string
