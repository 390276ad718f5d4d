"""Every page opens with no parameters, in presentation mode, and with the share panel; the Pairs page's filters
come from the link; saved views are listed on the Overview."""

from __future__ import annotations

import json

import pandas as pd
import plotly.graph_objects as go
import pytest
from streamlit.testing.v1 import AppTest

from analytics.adapters import judgebench, llmbar, pandalm
from analytics.pages import REGISTRY
from analytics.savedviews import agenda_path, list_views, save_view
from analytics.store import connect, write_batch
from analytics.viewstate import link_params

from conftest import ROOT
from fixtures import write_judgebench, write_llmbar, write_pandalm

APP = str(ROOT / "dashboard" / "app.py")
PAGES = [f"views/{name}.py" for name in REGISTRY]  # every page of the registry: a new page is covered at once


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("all")
    con = connect(root / "s.duckdb")
    write_batch(con, llmbar.load(write_llmbar(root / "l")))
    write_batch(con, pandalm.load(write_pandalm(root / "p")))
    write_batch(con, judgebench.load(write_judgebench(root / "j")))
    con.close()
    return root


def run(monkeypatch, root, view, **params) -> AppTest:
    monkeypatch.setenv("PREFATLAS_STORE", str(root / "s.duckdb"))
    monkeypatch.setenv("PREFATLAS_CACHE", str(root / "cache"))
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page(view)
    return at.run()


@pytest.mark.parametrize("page", PAGES)
def test_page_opens_without_parameters_and_offers_its_link(monkeypatch, store, page):
    at = run(monkeypatch, store, page)
    assert not at.exception
    link = at.sidebar.code[0].value
    assert "dataset=judgebench" in link and link.endswith("v=1")
    assert len(at.sidebar.get("download_button")) == 2  # report as HTML and as PDF


@pytest.mark.parametrize("page", PAGES)
def test_presentation_mode_hides_controls(monkeypatch, store, page):
    at = run(monkeypatch, store, page, dataset="pandalm", present="true")
    assert not at.exception
    assert not at.sidebar.code  # no share panel
    assert not at.selectbox  # the view comes from the link, no controls


def test_pairs_filters_from_the_link(monkeypatch, store):
    at = run(monkeypatch, store, "views/pairs.py", dataset="pandalm", generator="bloom-7b", sort="longest first")
    assert not at.exception and not at.warning
    assert any(c.value == "1 pairs match" for c in at.caption)
    at = run(monkeypatch, store, "views/pairs.py", dataset="pandalm", judge="gpt-3.5-turbo", verdict="unparsed")
    assert any(c.value == "1 pairs match" for c in at.caption)


def test_pairs_page_opens_a_pair_and_rejects_junk(monkeypatch, store):
    con = connect(store / "s.duckdb", read_only=True)
    pid = con.execute("SELECT pair_id FROM pairs WHERE dataset = 'pandalm' LIMIT 1").fetchone()[0]
    con.close()
    at = run(monkeypatch, store, "views/pairs.py", dataset="pandalm", open=pid)
    assert not at.exception
    assert any(m.value.startswith("**Prompt**") for m in at.markdown)
    at = run(
        monkeypatch,
        store,
        "views/pairs.py",
        dataset="pandalm",
        open="nope",
        prop_min="abc",
        prop="hedges",
        verdict="maybe",
    )
    assert not at.exception
    assert len(at.warning) >= 2


def test_saved_views_are_listed_on_the_overview(monkeypatch, store):
    fresh_agenda(monkeypatch, store)
    save_view("Position bias of Falcon", "look at the swapped runs", "http://h/judges?dataset=llmbar&cell=Falcon&v=1")
    assert list_views()[-1]["title"] == "Position bias of Falcon"
    with pytest.raises(ValueError, match="needs a title"):
        save_view("  ", "", "http://h/")
    at = run(monkeypatch, store, "views/overview.py", dataset="llmbar")
    assert any(s.value.startswith("Agenda") for s in at.subheader)
    table = at.dataframe[1].value
    assert "Position bias of Falcon" in set(table["title"])


def fresh_agenda(monkeypatch, store) -> None:
    """An empty agenda beside the store the pages read (run() points them at store/s.duckdb)."""
    monkeypatch.setenv("PREFATLAS_STORE", str(store / "s.duckdb"))
    agenda_path().unlink(missing_ok=True)
    assert agenda_path() == store / "s.agenda.json"


def test_the_agenda_is_edited_reordered_and_trimmed_from_the_overview(monkeypatch, store):
    fresh_agenda(monkeypatch, store)
    for title in ("first", "second", "third"):
        save_view(title, "", f"http://h/judges?dataset=llmbar&cell=Falcon&v=1#{title}")
    at = run(monkeypatch, store, "views/overview.py", dataset="llmbar")
    ids = [v["id"] for v in list_views()]
    at.selectbox(key="agenda_view").set_value(ids[2]).run()
    at.text_input[0].set_value("third, renamed")
    at.text_area[0].set_value("what to decide")
    at.button[0].click().run()  # the form's submit
    assert [(v["title"], v["note"]) for v in list_views()][2] == ("third, renamed", "what to decide")
    at.selectbox(key="agenda_view").set_value(ids[2]).run()
    next(b for b in at.button if b.label == "Move up").click().run()
    assert [v["title"] for v in list_views()] == ["first", "third, renamed", "second"]
    at.selectbox(key="agenda_view").set_value(ids[0]).run()
    next(b for b in at.button if b.label == "Delete").click().run()
    assert [v["title"] for v in list_views()] == ["third, renamed", "second"]
    assert not at.exception


def test_presenting_a_step_of_the_agenda_shows_where_it_is_and_the_way_on(monkeypatch, store):
    fresh_agenda(monkeypatch, store)
    save_view("one", "", "http://h/judges?dataset=llmbar&metric=kappa&v=1")
    save_view("two", "note two", "http://h/judges?dataset=llmbar&metric=kappa&v=1")
    save_view("three", "", "http://h/judges?dataset=llmbar&metric=agreement_no_ties&v=1")  # the same page, other values
    views = list_views()
    at = run(
        monkeypatch, store, "views/judges.py", dataset="llmbar", metric="kappa", present="true", agenda=views[1]["id"]
    )
    assert not at.exception
    assert any(m.value == "**2 / 3 · two**" for m in at.markdown)
    assert any(c.value == "note two" for c in at.caption)
    next(b for b in at.button if b.label == "Next ▶").click().run()
    assert not at.exception
    assert at.query_params["agenda"] == views[2]["id"] and at.query_params["metric"] == "agreement_no_ties"
    assert any(m.value == "**3 / 3 · three**" for m in at.markdown)
    assert next(b for b in at.button if b.label == "Next ▶").disabled  # the last step
    next(b for b in at.button if b.label == "Exit").click().run()
    assert "present" not in at.query_params and at.query_params["metric"] == "agreement_no_ties"
    assert at.selectbox(key="metric").value == "agreement_no_ties"  # the controls are back, on the view's values
    at = run(monkeypatch, store, "views/judges.py", dataset="llmbar", present="true")  # not a step: a way out
    assert [b.label for b in at.button] == ["Exit presentation"]
    at.button[0].click().run()
    assert "present" not in at.query_params and at.selectbox


def test_link_from_another_version_is_flagged(monkeypatch, store):
    at = run(monkeypatch, store, "views/overview.py", dataset="llmbar", v="99")
    assert any("another prefatlas" in w.value for w in at.warning)


# one valid, non-default value for every parameter of every page (fixture data: llmbar / pandalm / judgebench)
NON_DEFAULT = {
    "views/overview.py": {"sample": "5"},
    "views/judges.py": {
        "subset": "gpt-4o",
        "ref": "o1-mini (arena_hard)",
        "conv": "both_orders",
        "metric": "kappa",
        "group": "category",
        "with_ref": "false",
        "fits": "true",
        "cell": "gold ~ rm/x",
        "only": "false",
        "in": "Knowledge/mmlu-pro-law",
        "page": "1",
        "open": "not-a-pair",
        "board": "rm/x",
    },
    "views/dissection.py": {
        "group": "category",
        "features": "normalised",
        "judges": "gold",
        "g": "All pairs",
        "sim": "Overall",
        "ref": "gold",
        "vs_ref": "true",
        "judge": "rm/x",
        "among": "disagrees",
        "pair": "2",
        "wjudge": "gold",
        "prop": "length (words)",
        "prop_page": "1",
    },
    "views/map.py": {
        "map": "prompts",
        "color": "rarity",
        "region": "(none)",
        "q": "Q1",
        "category": "Math/livebench-math",
        "judge": "gold",
        "verdict": "A",
        "split": "true",
        "sel": "0123456789ab",
        "page": "1",
        "item": "2",
    },
    "views/judge.py": {"name": "rm/x", "family": "true"},
    "views/pairs.py": {
        "category": "Math/livebench-math",
        "generator": "gpt-4o",
        "judge": "rm/x",
        "verdict": "B",
        "split": "true",
        "min_len": "1",
        "max_len": "100",
        "prop": "hedges",
        "prop_min": "0",
        "q": "wrong",
        "sort": "random",
        "page": "1",
        "open": "",
    },
}


@pytest.mark.parametrize("page", PAGES)
def test_every_parameter_at_a_non_default_value(monkeypatch, store, page):
    names = {p.name for p in REGISTRY[page.split("/")[1].removesuffix(".py")].params}
    assert page in NON_DEFAULT, f"{page}: give NON_DEFAULT a valid, non-default value for each of its parameters"
    assert names <= set(NON_DEFAULT[page]) | {"present"}, names - set(NON_DEFAULT[page])  # every parameter covered
    for key, value in NON_DEFAULT[page].items():
        at = run(monkeypatch, store, page, dataset="judgebench", **{key: value})
        assert not at.exception, (key, value, at.exception)


def _drawn_titles(at: AppTest) -> list[str]:
    return [json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "") for c in at.get("plotly_chart")]


@pytest.mark.parametrize(
    ("page", "params"),
    [(name, {"dataset": "judgebench"}) for name in REGISTRY if name != "map"]  # the Map: tests/test_map_page.py
    + [("judges", {"dataset": "llmbar", "cell": "Falcon"}), ("overview", {"dataset": "pandalm", "sample": "3"})],
)
def test_each_page_draws_every_section_of_its_content(monkeypatch, store, page, params):
    """Walks the registry: the view draws each figure, table and message its page's content holds (the content
    its report prints), so screen and report cannot drift apart."""
    at = run(monkeypatch, store, f"views/{page}.py", **params)
    assert not at.exception
    con = connect(store / "s.duckdb", read_only=True)
    sections = REGISTRY[page].content(con, params["dataset"], link_params(page, params))
    con.close()
    titles = _drawn_titles(at)
    frames = [d.value for d in at.dataframe]
    shown_text = " ".join(e.value.replace("\\", "") for e in [*at.info, *at.warning, *at.caption, *at.markdown])
    for section in sections:
        if isinstance(section.body, go.Figure):
            assert section.body.layout.title.text in titles, section.key
        elif isinstance(section.body, pd.DataFrame):
            columns = [c for c in section.body.columns if c not in section.hidden]
            if section.key == "sample":  # a sample is drawn as pair cards, one per pair
                assert sum(m.value.startswith("**Prompt**") for m in at.markdown) == len(section.body)
            else:
                assert any(set(columns) <= set(f.columns) for f in frames), section.key
        else:
            assert " ".join(str(section.body).split()) in shown_text, section.key
        if section.note:
            assert " ".join(section.note.split()) in shown_text, section.key


def test_each_run_logs_its_server_time_when_asked(monkeypatch, store, tmp_path):
    """PREFATLAS_RUN_LOG (benchmarks/pages.py): one line per script run, with the page and its seconds; a run
    stopped early says how it ended. Without the variable nothing is written."""
    log = tmp_path / "runs.jsonl"
    run(monkeypatch, store, "views/judges.py", dataset="llmbar")
    assert not log.exists()
    monkeypatch.setenv("PREFATLAS_RUN_LOG", str(log))
    at = run(monkeypatch, store, "views/judges.py", dataset="llmbar")
    at.run()  # a rerun of the same view: a second line
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["page"] for line in lines] == ["judges", "judges"]
    assert all(line["ended"] == "completed" and 0 < line["seconds"] < 600 for line in lines)
    monkeypatch.setenv("PREFATLAS_STORE", str(tmp_path / "missing.duckdb"))
    AppTest.from_file(APP, default_timeout=60).run()
    last = json.loads(log.read_text().splitlines()[-1])
    assert last["page"] is None and last["ended"] == "StopException"
