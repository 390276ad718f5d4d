"""AppTest of the Map page on a store with a small joint map."""

from __future__ import annotations

import json
import time

import pytest
from streamlit.testing.v1 import AppTest

from analytics import maps as M
from analytics.adapters.base import BatchBuilder
from analytics.embed import embed_dataset, load_model
from analytics.selections import save_selection
from analytics.store import DatasetMeta, connect, write_batch

from conftest import ROOT

APP = str(ROOT / "dashboard" / "app.py")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("mp")
    cache = root / "cache"
    mp = pytest.MonkeyPatch()
    mp.setenv("PREFATLAS_CACHE", str(cache))
    con = connect(root / "s.duckdb")
    model = load_model()
    topics = {
        "ours": ["sort a list", "read a file", "parse json", "write a test", "profile code", "open a socket"],
        "theirs": ["sort a list", "read a file", "bake bread", "bake a cake", "roast a chicken", "boil eggs"],
    }
    for name, verbs in topics.items():
        bb = BatchBuilder()
        bb.judge("j1", "human")
        bb.judge("j2", "llm")
        for i, (verb, where) in enumerate((v, w) for v in verbs for w in ("at home", "fast", "well", "today", "now")):
            k = bb.pair(
                prompt=f"How do I {verb} {where}? <script>alert({i})</script>",
                response_a=f"a{i}",
                response_b=f"b{i}",
                model_a="gpt-4",
                model_b="llama",
                source_file="f",
                source_row=i,
            )
            bb.judgment(k, "j1", "A", source_file="f", source_row=i)
            bb.judgment(k, "j2", "A" if i % 3 else "B", source_file="f", source_row=i)
        write_batch(con, bb.build(DatasetMeta(name=name, version="1", adapter="test")))
        embed_dataset(con, name, model=model, responses=False)
    map_id = M.build_map(con, "ours", reference="theirs", settings=M.MapSettings(min_cluster_size=5))
    M.build_map(con, "ours", settings=M.MapSettings(min_cluster_size=5))
    con.close()
    yield root / "s.duckdb", cache, map_id
    mp.undo()


def page(monkeypatch, store, **params) -> AppTest:
    path, cache, _ = store
    monkeypatch.setenv("PREFATLAS_STORE", str(path))
    monkeypatch.setenv("PREFATLAS_CACHE", str(cache))
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in {"dataset": "ours", **params}.items():
        at.query_params[k] = v
    at.switch_page("views/map.py")
    return at.run()


def test_opens_with_a_webgl_scatter_and_regions(monkeypatch, store):
    at = page(monkeypatch, store)
    assert not at.exception
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert {t["type"] for t in fig["data"]} == {"scattergl"}
    assert all("<script>" not in str(t.get("text", "")) for t in fig["data"])  # hover text is never markup
    assert at.dataframe, "the regions table"


def test_reference_map_ranks_the_gap_first(monkeypatch, store):
    at = page(monkeypatch, store, map="prompts vs theirs (reference)", color="gap")
    assert not at.exception and not at.warning
    regions = at.dataframe[0].value
    assert regions.iloc[0]["n_data"] == 0 and regions.iloc[0]["coverage"] in ("missing", "thin")  # the gap first
    assert list(regions["coverage"]) == sorted(regions["coverage"], key=["missing", "thin", "covered"].index)
    names = {t["name"] for t in json.loads(at.get("plotly_chart")[0].proto.spec)["data"]}
    assert names & {"missing", "thin", "covered"}


def test_a_selection_link_opens_its_pairs(monkeypatch, store):
    path, cache, map_id = store
    monkeypatch.setenv("PREFATLAS_CACHE", str(cache))
    con = connect(path, read_only=True)
    all_points = M.map_points(con, map_id)
    items = all_points.query("source == 'dataset'")["item_id"].tolist()[:3]
    theirs = int(all_points.query("source == 'reference'")["item_id"].isin(items).sum())  # a prompt both hold
    con.close()
    sid = save_selection(items, {"map": map_id})
    at = page(monkeypatch, store, map="prompts vs theirs (reference)", sel=sid)
    assert not at.exception
    assert any(c.value == "3 pairs of ours" for c in at.caption)
    assert len([m for m in at.markdown if m.value.startswith("**Prompt**")]) == 3
    # the summary beside the map: the selection's counts, its density ratio and coverage, its central prompts
    assert [(m.label, m.value) for m in at.metric] == [("ours", "3"), ("theirs", str(theirs))]
    ratio = next(m.value for m in at.markdown if m.value.startswith("Density ratio"))
    assert ratio.split("**")[-2] in ("missing", "thin", "covered")
    assert len([t for t in at.text if t.value]) >= 3


@pytest.mark.parametrize(
    "params", [{"sel": "nope"}, {"map": "zzz"}, {"color": "bogus"}, {"region": "99: x"}, {"item": "100000"}]
)
def test_invalid_parameters_fall_back(monkeypatch, store, params):
    at = page(monkeypatch, store, **params)
    assert not at.exception
    assert at.warning


def test_search_selects_matching_prompts(monkeypatch, store):
    at = page(monkeypatch, store, q="json")
    assert any("search “json”: 5 matches" in c.value.replace("\\", "") for c in at.caption)  # shown escaped


def test_no_map_explains_how_to_build_one(monkeypatch, store):
    at = page(monkeypatch, store, dataset="theirs")
    assert not at.exception
    assert any("prefatlas map" in i.value for i in at.info)


def test_building_a_map_from_the_page(monkeypatch, tmp_path):
    """A dataset without embeddings: the page's button embeds its prompts (progress bar) and builds its map."""
    con = connect(tmp_path / "s.duckdb")
    bb = BatchBuilder()
    bb.judge("j1", "human")
    for i, topic in enumerate(["cats", "dogs", "tax law", "baking", "python"] * 6):
        k = bb.pair(
            prompt=f"Tell me about {topic}, part {i}", response_a="a", response_b="b", source_file="f", source_row=i
        )
        bb.judgment(k, "j1", "A", source_file="f", source_row=i)
    write_batch(con, bb.build(DatasetMeta(name="fresh", version="1", adapter="test")))
    con.close()
    monkeypatch.setenv("PREFATLAS_STORE", str(tmp_path / "s.duckdb"))
    monkeypatch.setenv("PREFATLAS_CACHE", str(tmp_path / "cache"))
    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params["dataset"] = "fresh"
    at.switch_page("views/map.py")
    at.run()
    assert any("No map of **fresh**" in i.value for i in at.info)
    at.button[0].click().run()
    assert not at.exception, at.exception
    from dashboard.builds import map_build

    assert map_build("fresh")["state"] in ("running", "done")
    for _ in range(600):  # the build runs in the server's background; other sessions read meanwhile
        if map_build("fresh")["state"] != "running":
            break
        other = AppTest.from_file(APP, default_timeout=60)
        other.query_params["dataset"] = "fresh"
        other.run()
        assert not other.exception and not other.error, "another session reads while the map is built"
        time.sleep(0.5)
    assert map_build("fresh")["state"] == "done", map_build("fresh")
    at.run()
    assert at.get("plotly_chart"), "the new map is shown"
    reader = connect(tmp_path / "s.duckdb", read_only=True)
    assert len(M.list_maps(reader, "fresh")) == 1
    reader.close()


@pytest.mark.parametrize(
    "color",
    ["cluster", "rarity", "density_ratio", "gap", "judges_disagree", "verdict", "generators", "length", "source"],
)
def test_every_colour_draws(monkeypatch, store, color):
    at = page(monkeypatch, store, map="prompts vs theirs (reference)", color=color)
    assert not at.exception and not at.warning
    assert json.loads(at.get("plotly_chart")[0].proto.spec)["data"]


def test_a_served_first_run_builds_the_default_maps_in_the_background(monkeypatch, tmp_path):
    """`prefatlas serve` ingests, then lets the dashboard build the default maps in its background: the Map page
    says so while they build (instead of offering its own build), and shows the map once it is written."""
    from analytics.catalog import missing_default_maps
    from dashboard.builds import default_maps_build

    con = connect(tmp_path / "s.duckdb")
    bb = BatchBuilder()
    bb.judge("j1", "human")
    for i, topic in enumerate(["cats", "dogs", "tax law", "baking", "python"] * 6):
        k = bb.pair(prompt=f"What about {topic}, case {i}?", response_a="a", response_b="b", source_file="f",
                    source_row=i)  # fmt: skip
        bb.judgment(k, "j1", "A", source_file="f", source_row=i)
    write_batch(con, bb.build(DatasetMeta(name="firstrun", version="1", adapter="test")))
    assert missing_default_maps(con) == [{"dataset": "firstrun", "space": "prompts"}]
    con.close()
    monkeypatch.setenv("PREFATLAS_STORE", str(tmp_path / "s.duckdb"))
    monkeypatch.setenv("PREFATLAS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PREFATLAS_DEFAULT_MAPS", "1")
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["dataset"] = "firstrun"
    at.switch_page("views/map.py")
    at.run()
    assert not at.exception, at.exception
    assert default_maps_build() is not None, "the first page run started the default maps"
    if default_maps_build()["state"] == "running":
        assert any("the default maps" in p.proto.text for p in at.get("progress")), "its progress is on the page"
        assert not [b for b in at.button if "build the map" in b.label], "no second build while the default maps build"
    for _ in range(600):
        if default_maps_build()["state"] != "running":
            break
        time.sleep(0.5)
    assert default_maps_build()["state"] == "done" and not default_maps_build()["error"], default_maps_build()
    at.run()
    assert at.get("plotly_chart"), "the map built in the background is shown"
    reader = connect(tmp_path / "s.duckdb", read_only=True)
    assert missing_default_maps(reader) == []
    reader.close()


@pytest.mark.parametrize("chosen", ["prompts vs theirs (reference)", None])
def test_the_map_draws_every_section_of_its_content(monkeypatch, store, chosen):
    """The map and its regions, as the page's content (and so its report) holds them."""
    from analytics.pages import REGISTRY

    params = {"map": chosen} if chosen else {}
    at = page(monkeypatch, store, **params)
    assert not at.exception
    path, _, _ = store
    con = connect(path, read_only=True)
    sections = {s.key: s for s in REGISTRY["map"].content(con, "ours", params)}
    con.close()
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert sections["map"].body.layout.title.text in titles
    regions = sections["regions"]
    assert any(list(d.value.columns) == list(regions.body.columns) for d in at.dataframe)
    assert any(" ".join(regions.note.split()) in c.value.replace("\\", "") for c in at.caption)


def test_the_filters_from_the_link_cross_the_map(monkeypatch, store):
    """judge=j2&verdict=B keeps the items whose pairs j2 judged B (every third pair of the fixture): they are the
    selection, its summary and its pairs; combined with a search, both must hold."""
    at = page(monkeypatch, store, judge="j2", verdict="B")
    assert not at.exception
    assert any("filters: 10 items kept" in c.value.replace("\\", "") for c in at.caption)
    assert any(c.value == "10 pairs of ours" for c in at.caption)
    at = page(monkeypatch, store, judge="j2", verdict="B", q="sort")  # "sort a list" × 5 places, of which 2 are B
    assert any(c.value == "2 pairs of ours" for c in at.caption)
    at = page(monkeypatch, store, judge="nobody", verdict="B")  # a judge not in the dataset: said, then no filter
    assert not at.exception and at.warning
    assert not any("filters:" in c.value.replace("\\", "") for c in at.caption)


def test_a_map_report_holds_the_selection_the_link_makes(store, monkeypatch):
    from analytics.report import build_report

    path, cache, _ = store
    monkeypatch.setenv("PREFATLAS_CACHE", str(cache))
    con = connect(path, read_only=True)
    document = build_report(con, "http://h/map?dataset=ours&judge=j2&verdict=B&map=prompts+vs+theirs+%28reference%29")
    con.close()
    assert "Selected: filters: 10 items kept" in document
    assert ">The selection</h2>" in document and "density ratio ρ" in document and "items of theirs" in document
