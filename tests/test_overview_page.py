"""AppTest of the dashboard frame and the Overview page on a store built from inline fixtures."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from analytics.adapters import judgebench, llmbar, pandalm
from analytics.store import connect, write_batch

from conftest import ROOT
from fixtures import write_judgebench, write_llmbar, write_pandalm

APP = str(ROOT / "dashboard" / "app.py")


@pytest.fixture(scope="module")
def fixture_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("fx")
    path = root / "store.duckdb"
    con = connect(path)
    write_batch(con, llmbar.load(write_llmbar(root / "llmbar")))
    write_batch(con, pandalm.load(write_pandalm(root / "pandalm")))
    jb = judgebench.load(write_judgebench(root / "judgebench"))
    jb.pairs.loc[0, "prompt"] = '<script>alert("x")</script>'
    write_batch(con, jb)
    con.close()
    return path


def app(monkeypatch, store, **params) -> AppTest:
    monkeypatch.setenv("PREFATLAS_STORE", str(store))
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in params.items():
        at.query_params[k] = v
    return at.run()


def test_opens_without_parameters(monkeypatch, fixture_store):
    at = app(monkeypatch, fixture_store)
    assert not at.exception
    assert at.selectbox(key="dataset").value == "judgebench"
    assert [m.value for m in at.metric] == ["2", "2", "3", "10"]
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert {t["name"] for t in fig["data"]} == {"A", "B", "tie", "unparsed"}


def test_dataset_and_sample_from_the_url(monkeypatch, fixture_store):
    at = app(monkeypatch, fixture_store, dataset="pandalm", sample="7")
    assert not at.exception
    assert at.selectbox(key="dataset").value == "pandalm"
    assert at.number_input(key="sample").value == 7
    assert [m.value for m in at.metric] == ["3", "2", "5", "15"]
    # generator names, not slot letters, head the responses
    assert any("llama\\-7b" in md.value for md in at.markdown)  # escaped: names show as text, never markdown


def test_unknown_dataset_falls_back_with_notice(monkeypatch, fixture_store):
    at = app(monkeypatch, fixture_store, dataset="../../etc/passwd")
    assert not at.exception
    assert any("not available here" in w.value for w in at.warning)
    assert at.selectbox(key="dataset").value == "judgebench"


def test_hostile_text_is_shown_as_text(monkeypatch, fixture_store):
    at = app(monkeypatch, fixture_store, dataset="judgebench", sample="0")
    codes = [c.value for c in at.code]
    assert '<script>alert("x")</script>' in codes  # in a code block: shown as characters, never run as HTML
    assert not any("<script>" in md.value for md in at.markdown)


def test_missing_store_explains(monkeypatch, tmp_path):
    at = app(monkeypatch, tmp_path / "none.duckdb")
    assert not at.exception
    assert any("prefatlas demo" in e.value for e in at.error)


def test_a_pairs_verdict_table_names_generators_puts_gold_first_and_marks_flips():
    import pandas as pd

    from analytics.reads import verdict_table

    runs = pd.DataFrame(
        [
            # verdicts in the pair's frame: the same letter in both orders is a consistent judge
            ("p", "gpt-4", "llm", "A", "AB", None, None),
            ("p", "gpt-4", "llm", "A", "BA", None, None),
            ("p", "claude", "llm", "A", "AB", None, None),  # whichever response was shown first: flipped
            ("p", "claude", "llm", "B", "BA", None, None),
            ("p", "rm", "reward_model", "B", None, 0.2, 0.9),
            ("p", "gold", "gold", "A", None, None, None),
        ],
        columns=["pair_id", "judge", "kind", "verdict", "shown_order", "score_a", "score_b"],
    )
    table = verdict_table(runs, "llama", "mistral")
    assert table["judge"].tolist()[0] == "gold"  # the reference label leads
    gold = table.set_index("judge").loc["gold"]
    assert gold["verdict (order not recorded)"] == "llama (A)" and gold["A shown first"] == "–"
    assert table.set_index("judge").loc["gpt-4", "A shown first"] == "llama (A)"
    flips = table.set_index("judge")["flipped"]
    assert flips["gpt-4"] == "no" and flips["claude"] == "yes"
    assert (flips[["gold", "rm"]] == "–").all()  # one order or none: no flip to tell
    assert table.set_index("judge").loc["rm", ["score A", "score B"]].tolist() == ["0.2", "0.9"]
    assert table.notna().all().all()  # empty cells say "–", not None
    unnamed = verdict_table(runs, None, None)  # generators unknown: slots by letter
    assert unnamed.set_index("judge").loc["claude", "B shown first"] == "B"
