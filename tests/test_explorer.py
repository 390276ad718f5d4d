"""The Pairs explorer's filters on inline data."""

from __future__ import annotations

from analytics.adapters import judgebench, pandalm
from analytics.explorer import PairFilters, filter_options, find_pairs
from analytics.store import connect, write_batch

from fixtures import write_judgebench, write_pandalm


def store(tmp_path):
    con = connect(tmp_path / "s.duckdb")
    write_batch(con, pandalm.load(write_pandalm(tmp_path / "p")))
    write_batch(con, judgebench.load(write_judgebench(tmp_path / "j")))
    return con


def test_filters(tmp_path):
    con = store(tmp_path)
    assert len(find_pairs(con, "pandalm", PairFilters())) == 3
    assert len(find_pairs(con, "pandalm", PairFilters(generators=["bloom-7b"]))) == 1
    assert len(find_pairs(con, "pandalm", PairFilters(judge="gpt-3.5-turbo", verdict="unparsed"))) == 1
    assert len(find_pairs(con, "pandalm", PairFilters(text="A SENTENCE"))) == 2  # case-insensitive, in responses
    assert len(find_pairs(con, "pandalm", PairFilters(text="50%_"))) == 0  # wildcards mean themselves
    split = find_pairs(con, "pandalm", PairFilters(split=True))
    assert len(split) == 3  # every pair has judges that disagree
    assert list(find_pairs(con, "judgebench", PairFilters(categories=["Math/livebench-math"]))["category"]) == [
        "Math/livebench-math"
    ]
    longest = find_pairs(con, "pandalm", PairFilters(sort="longest first"))
    assert longest.iloc[0][["len_a", "len_b"]].max() >= longest.iloc[-1][["len_a", "len_b"]].max()


def test_filters_from_link_parameters_tolerate_junk():
    f = PairFilters.from_params({"category": ["x"], "min_len": "abc", "split": "true", "prop_min": "2.5", "q": "hi"})
    assert (f.categories, f.min_len, f.split, f.prop_min, f.text) == (["x"], 0, True, 2.5, "hi")


def test_options(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFATLAS_CACHE", str(tmp_path / "cache"))
    con = store(tmp_path)
    options = filter_options(con, "pandalm")
    assert options["generators"] == ["bloom-7b", "llama-7b", "opt-7b", "pythia-6.9b"]
    assert "gpt-3.5-turbo" in options["judges"]
    # categories, generators and judges are kept per dataset version; a property imported since shows at once
    con.execute("INSERT INTO properties VALUES ('r', 'response', 'politeness', 1.0, 'annotator')")
    again = filter_options(con, "pandalm")
    assert "politeness" in again["properties"] and "politeness" not in options["properties"]
    assert {k: again[k] for k in ("categories", "generators", "judges")} == {
        k: options[k] for k in ("categories", "generators", "judges")
    }


def test_one_page_with_the_total_and_the_property_filter(tmp_path):
    from analytics.explorer import count_of
    from analytics.properties import store_properties

    con = store(tmp_path)
    everything = find_pairs(con, "judgebench", PairFilters(sort="longest first"))
    page = find_pairs(con, "judgebench", PairFilters(sort="longest first"), limit=1, offset=1)
    assert count_of(page) == len(everything) == count_of(everything) == 2 and len(page) == 1
    assert list(page["pair_id"]) == list(everything["pair_id"][1:2])  # the same order, paged in SQL
    assert count_of(find_pairs(con, "judgebench", PairFilters(text="no such text anywhere"), limit=5)) == 0
    store_properties(con, "pandalm")
    words = con.execute(
        "SELECT p.pair_id, greatest(a.value, b.value) AS most FROM pairs p "
        "JOIN properties a ON a.subject_id = p.response_a_id AND a.name = 'length (words)' "
        "JOIN properties b ON b.subject_id = p.response_b_id AND b.name = 'length (words)' WHERE p.dataset = 'pandalm'"
    ).df()
    cut = float(words["most"].median())
    found = find_pairs(con, "pandalm", PairFilters(prop="length (words)", prop_min=cut))
    assert set(found["pair_id"]) == set(words.loc[words["most"] >= cut, "pair_id"])


def test_a_pairs_properties_and_its_nearest_prompts(tmp_path, monkeypatch):
    import numpy as np
    import pytest

    from analytics import embed
    from analytics.explorer import pair_properties, similar_prompts

    con = store(tmp_path)
    pair_id, text_a = con.execute(
        "SELECT p.pair_id, r.text FROM pairs p JOIN responses r ON r.response_id = p.response_a_id LIMIT 1"
    ).fetchone()
    props = pair_properties(con, pair_id)
    assert list(props.columns) == ["A", "B"] and props.loc["length (words)", "A"] == len(text_a.split())
    assert pair_properties(con, "nope").empty
    prompts = sorted(
        {
            t
            for (t,) in con.execute(
                "SELECT DISTINCT q.text FROM pairs p JOIN prompts q USING (prompt_id) WHERE p.dataset = 'pandalm'"
            ).fetchall()
        }
    )
    # fake vectors: each prompt's vector is its position on a circle, so neighbours are neighbours in sorted order
    angles = np.linspace(0, np.pi / 2, len(prompts))
    monkeypatch.setattr(embed, "load_vectors", lambda _con, ids: np.column_stack([np.cos(angles), np.sin(angles)]))
    near = similar_prompts(con, "pandalm", prompts[0], k=5)
    assert list(near["text"]) == prompts[1:]  # every other prompt, nearest first, never the prompt itself
    assert near["cosine"].is_monotonic_decreasing and near["cosine"].iloc[0] == pytest.approx(0.0, abs=1e-3)
    monkeypatch.setattr("analytics.explorer.MAX_SIMILAR_SCAN", 1)
    with pytest.raises(LookupError, match="Map page"):
        similar_prompts(con, "pandalm", prompts[0])


def test_presorted_pages_equal_the_query_and_fall_back_past_the_kept_top(tmp_path, monkeypatch):
    """The sorts that read every pair are kept as a summary of the dataset's version (its first PRESORTED_TOP
    pairs, unfiltered): each page read from it equals the query's page, ties in length and in dispute broken the
    same way; a page past the kept top and any filtered view run the query."""
    import analytics.explorer as E
    from analytics.adapters.base import BatchBuilder
    from analytics.store import DatasetMeta

    monkeypatch.setenv("PREFATLAS_CACHE", str(tmp_path / "cache"))
    bb = BatchBuilder()
    for judge in ("j1", "j2", "j3"):
        bb.judge(judge, "llm")
    for i in range(45):
        k = bb.pair(
            prompt=f"prompt {i}",
            response_a=f"a{i} " + "x" * (i % 7),  # lengths repeat: ties the sort breaks by source row
            response_b=f"b{i} " + "y" * (i % 5),
            category="even" if i % 2 == 0 else "odd",
            source_file="f",
            source_row=44 - i,  # source order is not insertion order
        )
        for n, judge in enumerate(("j1", "j2", "j3")):
            bb.judgment(k, judge, ("A", "B", "tie")[(i * (n + 1)) % 3 if i % 4 else 0], source_file="f", source_row=i)
    con = connect(tmp_path / "s.duckdb")
    write_batch(con, bb.build(DatasetMeta(name="toy", version="1", adapter="test", title="Toy", source="x")))
    monkeypatch.setattr(E, "PRESORTED_TOP", 30)
    query = E._sorted_ids
    queried: list[int] = []  # the offsets find_pairs asked the query for
    monkeypatch.setattr(
        E,
        "_sorted_ids",
        lambda con, d, f, limit, offset, *a: queried.append(offset) or query(con, d, f, limit, offset, *a),
    )
    for sort in E.PRESORTED:
        kept = E.presorted_ids(con, "toy", sort)
        assert len(kept) == 30
        queried.clear()
        for offset in (0, 10, 20, 25, 30, 40):  # 25 + 10 and beyond pass the kept top: the query answers
            page = find_pairs(con, "toy", PairFilters(sort=sort), limit=10, offset=offset)
            want, total = query(con, "toy", PairFilters(sort=sort), 10, offset)
            assert list(page["pair_id"]) == want and page["matches"].iloc[0] == total == 45, (sort, offset)
        assert queried == [25, 30, 40]
        assert kept[:10] == query(con, "toy", PairFilters(sort=sort), 10, 0)[0]
        filtered = find_pairs(con, "toy", PairFilters(sort=sort, categories=["odd"]), limit=10)
        assert set(filtered["category"]) == {"odd"} and filtered["matches"].iloc[0] == 22
    disputed = find_pairs(con, "toy", PairFilters(sort="most disputed"), limit=45)
    assert disputed["distinct_verdicts"].is_monotonic_decreasing and disputed["distinct_verdicts"].iloc[0] == 3
