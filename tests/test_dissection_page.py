"""AppTest of the Dissection page on an inline store."""

from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest
from test_dissection import _store_with_length_loving_judge

from conftest import ROOT

APP = str(ROOT / "dashboard" / "app.py")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("dp")
    _store_with_length_loving_judge(root).close()
    return root / "s.duckdb"


def page(monkeypatch, store, tmp_path, **params) -> AppTest:
    monkeypatch.setenv("PREFATLAS_STORE", str(store))
    monkeypatch.setenv("PREFATLAS_CACHE", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page("views/dissection.py")
    return at.run()


def test_opens_and_plots_every_selected_judge(monkeypatch, store, tmp_path):
    # min_pairs is 50 and the toy store has 60 pairs: every judge is fitted over all pairs
    at = page(monkeypatch, store, tmp_path)
    assert not at.exception
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [t["name"].split(" (")[0] for t in fig["data"]] == ["human", "coin", "long"]  # the human first
    assert fig["layout"]["shapes"][0]["y0"] == 50  # the no-effect line


@pytest.mark.parametrize(
    ("params", "expect"),
    [
        (
            {"judges": "short", "features": "normalised"},
            lambda fig: [t["name"].split(" (")[0] for t in fig["data"]] == ["short"],
        ),
        ({"group": "category", "g": "All pairs"}, lambda fig: "All pairs" in fig["layout"]["title"]["text"]),
    ],
)
def test_parameters_from_the_link(monkeypatch, store, tmp_path, params, expect):
    at = page(monkeypatch, store, tmp_path, **params)
    assert not at.exception and not at.warning
    assert expect(json.loads(at.get("plotly_chart")[0].proto.spec))


def test_invalid_parameters_fall_back(monkeypatch, store, tmp_path):
    at = page(monkeypatch, store, tmp_path, judges="nobody", group="zzz", pair="99999", features="x")
    assert not at.exception
    assert len(at.warning) >= 3


def test_per_pair_waterfall_and_reference_difference(monkeypatch, store, tmp_path):
    at = page(monkeypatch, store, tmp_path, ref="human", judge="long", pair="3")
    assert not at.exception
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert any(t.startswith("What long rewards beyond human") for t in titles)
    assert any(t.startswith("long preferred") for t in titles)


def test_after_an_ingest_the_default_view_reads_no_design(monkeypatch, store, tmp_path):
    """An ingest precomputes the page's default fits, group names and comparison with the reference: the first
    visitor then reads them, and the dataset's design (seconds at a million pairs) is never built."""
    import analytics.dissection as D
    from analytics import catalog
    from analytics.store import connect

    monkeypatch.setenv("PREFATLAS_CACHE", str(tmp_path))
    con = connect(store, read_only=True)
    try:
        catalog.precompute_views(con, "toy")
    finally:
        con.close()

    def no_design(*args, **kwargs):
        raise AssertionError("the design was built")

    monkeypatch.setattr(D, "design", no_design)
    at = page(monkeypatch, store, tmp_path, pair="5")
    assert not at.exception
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert any(t.startswith("What coin rewards beyond human") for t in titles)  # the default comparison
    assert any(t.startswith("coin preferred") for t in titles)  # the fifth pair coin decided


def test_every_judge_at_once_and_as_a_difference_from_the_reference(monkeypatch, store, tmp_path):
    at = page(monkeypatch, store, tmp_path)
    assert not at.exception
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    every = next(f for f in specs if "What every judge rewards" in f["layout"]["title"]["text"])
    judges, properties = every["data"][0]["y"], every["data"][0]["x"]
    assert set(judges) == {"human", "coin", "long", "short"}
    assert every["data"][1]["type"] == "scatter"  # click targets over the cells
    cell = every["data"][0]["text"][judges.index("long")][properties.index("length (words)")]
    assert cell.startswith("+") and cell.endswith("*")  # the length-loving judge: a clearly positive weight
    at = page(monkeypatch, store, tmp_path, vs_ref="true")
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    beyond = next(f for f in specs if f["layout"]["title"]["text"].startswith("Beyond "))
    reference = at.selectbox(key="ref").value
    assert reference == "human" and set(beyond["data"][0]["y"]) == {"coin", "long", "short"}
    assert at.query_params["vs_ref"] == "true"


def test_the_waterfall_walks_the_pairs_a_judge_got_wrong_and_says_so(monkeypatch, store, tmp_path):
    at = page(monkeypatch, store, tmp_path, judge="coin", among="disagrees")
    assert not at.exception
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    waterfall = next(t for t in titles if t.startswith("coin preferred"))
    assert "— wrong: human preferred" in waterfall
    at = page(monkeypatch, store, tmp_path, judge="long", among="all", pair="1")
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert any(t.startswith("long preferred") and ("— right:" in t or "— wrong:" in t) for t in titles)


def test_a_weight_opens_the_pairs_behind_it(monkeypatch, store, tmp_path):
    at = page(monkeypatch, store, tmp_path, wjudge="long", prop="length (words)")
    assert not at.exception
    assert any(s.value.replace("\\", "").startswith("The pairs behind long's weight") for s in at.subheader)
    caption = next(c.value.replace("\\", "") for c in at.caption if "whose responses differ on" in c.value)
    total, towards = (int(x.replace(",", "")) for x in re.findall(r"([\d,]+) pairs .* in ([\d,]+) \(", caption)[0])
    assert towards / total > 0.8  # the length-loving judge: the longer response, nearly always
    table = next(d.value for d in at.dataframe if "prompt" in d.value.columns)
    assert 0 < len(table) <= 10 and list(table.columns[2:4]) == ["human", "long"]  # reference, then the judge
    at = page(monkeypatch, store, tmp_path, wjudge="long", prop="no such property")
    assert not at.exception and at.warning
