"""Maps and regions: statistics on generated embeddings (no model needed), the embedding cache with the bundled
model, and one map built end to end (UMAP)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from analytics import maps as M
from analytics.adapters.base import BatchBuilder
from analytics.store import DatasetMeta, connect, write_batch


def topics(
    n_per_topic: dict[int, int], dim: int = 64, seed: int = 0, spread: float = 0.35
) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors around one random centre per topic."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(n_per_topic) + 1, dim))
    vecs, labels = [], []
    for t, n in n_per_topic.items():
        v = centres[t] + spread * rng.normal(size=(n, dim)) * np.linalg.norm(centres[t]) / np.sqrt(dim)
        vecs.append(v)
        labels += [t] * n
    x = np.vstack(vecs)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), np.array(labels)


def test_density_ratio_finds_under_sampled_topics():
    """Reference: 12 topics x 150. Dataset: the same topics x 300, except topics 0-2 at 1/10 of that and topic 3
    absent. The pooled-kNN ratio on reference points separates the under-sampled topics (AUC >= 0.95)."""
    data_counts = {t: 300 for t in range(12)} | {0: 30, 1: 30, 2: 30, 3: 0}
    data, _ = topics({t: n for t, n in data_counts.items() if n}, seed=1)
    ref, ref_topic = topics(dict.fromkeys(range(12), 150), seed=1)
    pooled = np.vstack([data, ref])
    is_data = np.r_[np.ones(len(data), bool), np.zeros(len(ref), bool)]
    idx, _ = M.knn(pooled, 30)
    _, ratio, p_value = M.density_ratio(idx, is_data)
    on_ref = ~is_data
    truth = np.isin(ref_topic, [0, 1, 2, 3])
    auc = roc_auc_score(truth, -np.log(ratio[on_ref]))
    assert auc >= 0.95, auc
    flagged = p_value[on_ref] < 0.01
    assert flagged[truth].mean() > 0.8 and flagged[~truth].mean() < 0.05


def test_jeffreys_ratio_and_flags():
    point, low, high = M.jeffreys_ratio(0, 40, 1000, 1000)
    assert point < 0.05 and high < 0.1  # 40 reference items and none of ours: a coverage gap
    point, low, high = M.jeffreys_ratio(50, 50, 1000, 1000)
    assert low < 1 < high and point == pytest.approx(1.0)
    assert M.jeffreys_interval(0, 0)[0] != M.jeffreys_interval(0, 0)[0]  # NaN with no data


def test_rarity_marks_sparse_points():
    """The same topic, its core densely sampled and its periphery sparsely: periphery points are rarer."""
    core, _ = topics({0: 300}, seed=2, spread=0.3)
    periphery, _ = topics({0: 15}, seed=2, spread=1.5)
    x = np.vstack([core, periphery])
    idx, dist = M.knn(x, 10)
    r = M.rarity(idx, dist)
    assert np.median(r[300:]) > 1.2 > np.median(r[:300])


def test_smoothed_rate_shrinks_toward_the_global_rate():
    values = np.array([1.0, 0.0, 0.0, 0.0, np.nan])
    idx = np.array([[1, 2], [0, 2], [0, 1], [1, 2], [0, 1]])
    rate = M.smoothed_rate(values, idx, alpha=2)
    assert rate[3] == pytest.approx((0 + 2 * 0.25) / 4)
    assert rate[4] == pytest.approx((1 + 2 * 0.25) / 4)


def test_cluster_names_use_distinctive_words():
    texts = pd.Series(["python code bug fix"] * 5 + ["chocolate cake recipe bake"] * 5 + ["misc"])
    clusters = np.array([0] * 5 + [1] * 5 + [-1])
    x, _ = topics({0: 5, 1: 5, 2: 1}, seed=3)
    names = M.cluster_names(texts, clusters, x).set_index("cluster")
    words_0 = set(names.loc[0, "name"].replace(",", " ").split())
    assert words_0 <= {"python", "code", "bug", "fix"} and words_0
    assert "cake" in names.loc[1, "name"] or "chocolate" in names.loc[1, "name"]
    assert names.loc[1, "medoid"] == "chocolate cake recipe bake"


def test_selection_ids_from_both_customdata_shapes():
    event = {
        "points": [{"customdata": ["p1", 3]}, {"customdata": {"0": "p2"}}, {"customdata": ["p1"]}, {"point_index": 7}]
    }
    assert M.row_ids_from_selection(event) == ["p1", "p2"]
    assert M.row_ids_from_selection(None) == []


def test_display_sample_keeps_sparse_points():
    rng = np.random.default_rng(0)
    points = pd.DataFrame(
        {
            "item_id": [str(i) for i in range(10_000)],
            "cluster": np.r_[np.zeros(9_900, int), np.ones(100, int)],
            "rarity": np.r_[rng.random(9_900), 10 + rng.random(100)],
        }
    )
    sample = M.sample_for_display(points, max_points=2_000)
    assert len(sample) < 4_000
    assert (sample["cluster"] == 1).sum() == 100  # the small, rare cluster is kept whole
    assert M.sample_for_display(points, max_points=20_000) is points
    small = M.sample_for_display(points, max_points=300)  # the 500 rarest alone exceed it: the bound holds
    assert 250 <= len(small) <= 300 and (small["cluster"] == 1).sum() >= 100  # rare points take up to half


def test_selections_round_trip(tmp_path, monkeypatch):
    from analytics.selections import load_selection, save_selection

    monkeypatch.setenv("PREFATLAS_CACHE", str(tmp_path))
    sid = save_selection(["b", "a", "a"], {"map": "m"})
    assert len(sid) == 12 and save_selection(["a", "b"], {"map": "m"}) == sid
    assert load_selection(sid)["items"] == ["a", "b"]
    assert load_selection("../../etc/passwd") is None and load_selection("0" * 12) is None


@pytest.fixture(scope="module")
def model():
    from analytics.embed import load_model

    return load_model()


def test_embedding_cache_computes_each_text_once(tmp_path, model):
    from analytics.embed import embed_texts, load_vectors, text_id

    con = connect(tmp_path / "s.duckdb")
    texts = {text_id(t): t for t in ["a cat", "a dog", "quantum chromodynamics"]}
    assert embed_texts(con, texts, model=model) == 3
    assert embed_texts(con, texts, model=model) == 0  # cached: nothing computed
    more = dict(texts) | {text_id("a bird"): "a bird"}
    assert embed_texts(con, more, model=model) == 1
    v = load_vectors(con, list(more))
    assert v.shape == (4, 384) and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    sims = v @ v.T
    assert sims[0, 1] > sims[0, 2]  # cat is nearer dog than quantum chromodynamics
    with pytest.raises(LookupError, match="prefatlas embed"):
        load_vectors(con, [text_id("never embedded")])


def test_a_map_end_to_end(tmp_path, model, monkeypatch):
    """Two small datasets on two topics; the dataset lacks one topic: the joint map flags it."""
    monkeypatch.setenv("PREFATLAS_CACHE", str(tmp_path / "cache"))
    from analytics.embed import embed_dataset

    con = connect(tmp_path / "s.duckdb")
    cooking = [
        f"How do I bake {x} {y}?"
        for x in ("bread", "cake", "cookies", "pie", "muffins", "scones")
        for y in ("quickly", "at home", "without eggs", "for kids", "with honey", "gluten free")
    ]
    coding = [
        f"How do I {x} in {y}?"
        for x in ("sort a list", "read a file", "parse json", "open a socket", "write a test", "profile code")
        for y in ("Python", "Rust", "Go", "Java", "C", "Haskell")
    ]
    for name, prompts in (("ours", coding), ("theirs", coding + cooking)):
        bb = BatchBuilder()
        bb.judge("j1", "human")
        bb.judge("j2", "llm")
        for i, p in enumerate(prompts):
            k = bb.pair(
                prompt=p, response_a=f"answer one {i}", response_b=f"answer two {i}", source_file="f", source_row=i
            )
            bb.judgment(k, "j1", "A", source_file="f", source_row=i)
            bb.judgment(k, "j2", "A" if i % 3 else "B", source_file="f", source_row=i)
        write_batch(con, bb.build(DatasetMeta(name=name, version="1", adapter="test")))
        embed_dataset(con, name, model=model, responses=name == "ours")
    preference = M.build_map(con, "ours", space="preference", settings=M.MapSettings(min_cluster_size=5))
    assert len(M.map_points(con, preference)) == 36  # one point per decided pair (j1 decides all, as the reference)
    map_id = M.build_map(con, "ours", reference="theirs", settings=M.MapSettings(min_cluster_size=8))
    points = M.map_points(con, map_id)
    assert len(points) == 36 + 72 and points[["x", "y"]].notna().all().all()
    regions = M.regions(con, map_id)
    cooking_regions = regions[regions["medoid"].str.contains("bake")]
    assert not cooking_regions.empty and cooking_regions["n_data"].sum() == 0
    assert cooking_regions["coverage_gap"].any()
    assert regions.iloc[0]["coverage_gap"]  # gaps are listed first
    # curation steps that read this map: the likely flips it flags, and cluster weights capped at a share
    from analytics import curation as C

    prompt_of = con.execute("SELECT pair_id, prompt_id FROM pairs WHERE dataset = 'ours'").df()
    flips = M.likely_flips(con, map_id)
    flagged = {p for p, q in zip(prompt_of["pair_id"], prompt_of["prompt_id"], strict=True) if flips.get(q, False)}
    curated = C.curate(con, "ours", C.Recipe("j1", (), (C.Step("drop_likely_flips", {"map": map_id}),)))
    assert set(curated.table.column("pair_id").to_pylist()) == set(prompt_of["pair_id"]) - flagged
    assert curated.steps[-1]["dropped"] == len(flagged)
    step = C.Step("reweight_clusters", {"map": map_id, "max_share": 0.2, "upweight_under_represented": False})
    weighted = C.curate(con, "ours", C.Recipe("j1", (), (step,))).table.to_pandas()
    cluster_of = points[points["source"] == "dataset"].set_index("item_id")["cluster"]
    weighted["cluster"] = weighted["pair_id"].map(prompt_of.set_index("pair_id")["prompt_id"]).map(cluster_of)
    totals = weighted.groupby("cluster")["weight"].sum()
    sizes = weighted.groupby("cluster").size()
    assert np.allclose(totals, np.minimum(sizes, 0.2 * len(weighted))) and (sizes > 0.2 * len(weighted)).any()
    # a link names its map as the Map page does (its label): the export reads that map's region
    assert M.map_choices(con, "ours")["prompts vs theirs (reference)"] == map_id
    cluster = int(points.loc[points["source"] == "dataset", "cluster"].max())
    link = f"/map?dataset=ours&map=prompts+vs+theirs+(reference)&region={cluster}:+x"
    members = set(points.loc[(points["source"] == "dataset") & (points["cluster"] == cluster), "item_id"])
    expected = set(prompt_of.loc[prompt_of["prompt_id"].isin(members), "pair_id"])
    assert set(C.scope_of_link(con, link).pair_ids) == expected and expected


def _store_with_a_written_map(tmp_path, n: int = 120, k: int = 6, seed: int = 4):
    """A dataset of n pairs (three judges that split at random, some pairs with one judge, generators known or
    not) and a pairs map of it written directly: random neighbours, some of them reference items."""
    rng = np.random.default_rng(seed)
    bb = BatchBuilder()
    for name in ("j1", "j2", "j3"):
        bb.judge(name, "human" if name == "j1" else "llm")
    for i in range(n):
        key = bb.pair(
            prompt=f"prompt {i}",
            response_a="a" * (1 + i % 7),
            response_b="b" * (1 + i % 5),
            model_a=None if i % 11 == 0 else f"gen{i % 3}",
            model_b=f"gen{(i + 1) % 4}",
            source_file="f",
            source_row=i,
        )
        for judge in ("j1", "j2", "j3")[: 1 + i % 3]:
            bb.judgment(key, judge, str(rng.choice(["A", "B", "tie"])), source_file="f", source_row=i)
    con = connect(tmp_path / "m.duckdb")
    write_batch(con, bb.build(DatasetMeta(name="toy", version="1", adapter="test")))
    ids = [r[0] for r in con.execute("SELECT pair_id FROM pairs ORDER BY pair_id").fetchall()]
    others = [f"ref{i}" for i in range(n // 4)]
    pool = np.array(ids + others, dtype=object)
    neighbours = [[ids[i], *rng.choice(pool, size=k - 1)] for i in range(n)]
    M.ensure_tables(con)
    con.execute("INSERT INTO maps VALUES ('m1', 'toy', NULL, 'preference', 'key', '{}', now(), $n)", {"n": n})
    points = pd.DataFrame(
        {
            "map_id": "m1",
            "item_id": ids,
            "source": "dataset",
            "x": rng.normal(size=n),
            "y": rng.normal(size=n),
            "cluster": rng.integers(-1, 3, size=n).astype(np.int32),
            "knn_ids": neighbours,
            "knn_dists": [[0.1] * k] * n,
            "rarity": rng.random(n),
            "neighbours_data": None,
            "density_ratio": None,
            "p_value": None,
        }
    )
    con.execute("INSERT INTO map_points SELECT * FROM points")
    con.execute(
        "INSERT INTO map_clusters SELECT 'm1', c, 'topic ' || c, '', '', 0, 0 FROM range(3) t(c)"  # n_* unused here
    )
    return con, points


def test_layers_and_likely_flips_at_scale_equal_the_reference_rules(tmp_path, monkeypatch):
    """pair_layers on verdict codes and the flips in SQL give what the plain pandas / numpy rules give."""
    from analytics import judges as J

    monkeypatch.setenv("PREFATLAS_CACHE", str(tmp_path / "cache"))
    con, points = _store_with_a_written_map(tmp_path)
    layers = M.pair_layers(con, "toy", "preference").set_index("item_id")
    verdicts = J.load_verdicts(con, "toy")
    wide, pairs = verdicts.wide, verdicts.pairs
    split = (wide.nunique(axis=1) > 1).astype(float).where(wide.notna().sum(axis=1) >= 2)
    assert split.notna().sum() > 20 and (split == 1).sum() > 10
    pd.testing.assert_series_equal(layers["judges_disagree"].reindex(split.index), split, check_names=False)
    generators = pairs["model_a"].astype(object).fillna("?") + " vs " + pairs["model_b"].astype(object).fillna("?")
    assert layers["generators"].astype(str).reindex(generators.index).tolist() == generators.tolist()
    assert layers["verdict"].reindex(wide.index).tolist() == wide["j1"].tolist()  # the single human: reference
    # flips: the numpy rule on integer neighbour indices (a non-dataset neighbour stands for the item itself)
    position = {item: i for i, item in enumerate(points["item_id"])}
    index = np.array([[position.get(j, i) for j in row] for i, row in enumerate(points["knn_ids"])])
    values = layers["judges_disagree"].reindex(points["item_id"]).to_numpy(dtype=float)
    expected = np.abs(np.nan_to_num(values) - M.smoothed_rate(values, index)) > 0.5
    flips = M.likely_flips(con, "m1").reindex(points["item_id"])
    assert expected.any() and not expected.all()
    assert flips.tolist() == expected.tolist()
    regions = M.regions(con, "m1").set_index("cluster")
    for cluster in range(3):
        members = points["cluster"].to_numpy() == cluster
        assert regions.at[cluster, "likely_flips"] == expected[members].sum()


def test_map_colours_never_repeat_among_clusters_and_scales_are_named():
    from analytics.figures import CATEGORY_PALETTE, GAP_COLORS, map_figure

    rng = np.random.default_rng(1)
    n = 3000
    clusters = rng.integers(-1, 60, size=n)  # 60 clusters and noise: the template's eight colours would repeat
    shown = pd.DataFrame(
        {
            "item_id": [f"i{k}" for k in range(n)],
            "x": rng.normal(size=n),
            "y": rng.normal(size=n),
            "cluster": clusters,
            "cluster_name": [f"topic {c}" if c >= 0 else "unclustered" for c in clusters],
            "rarity": rng.random(n),
            "text": "a prompt",
        }
    )
    regions = pd.DataFrame({"cluster": [0, 1], "coverage": ["missing", "thin"]})
    fig = map_figure(shown, "cluster", "cluster", regions, None, "t")
    named = [t for t in fig.data if t.name != "unclustered"]
    colours = [t.marker.color for t in named]
    assert len(named) == 60 and len(set(colours)) == 60 and set(colours) <= set(CATEGORY_PALETTE)
    gap = map_figure(shown, "gap", "gap", regions, None, "t")
    assert {t.name: t.marker.color for t in gap.data} == GAP_COLORS  # a legend entry per state, fixed colours
    rarity = map_figure(shown, "rarity", "rarity (k-distance vs neighbours)", regions, None, "t")
    assert rarity.data[0].marker.colorbar.title.text.startswith("rarity")


def test_a_map_search_link_exports_the_pairs_the_page_finds(tmp_path, monkeypatch):
    """A map link's search (`q`) selects, for an export, exactly what the Map page's search lists: the same
    case-insensitive literal match."""
    from analytics import curation as C

    monkeypatch.setenv("PREFATLAS_CACHE", str(tmp_path / "cache"))
    con, _ = _store_with_a_written_map(tmp_path)
    prompt_of = dict(con.execute("SELECT p.pair_id, q.text FROM pairs p JOIN prompts q USING (prompt_id)").fetchall())
    expected = {p for p, text in prompt_of.items() if "prompt 1" in text}  # prompt 1, 10-19, 100-119
    assert len(expected) == 31
    for query in ("prompt 1", "PROMPT 1"):
        assert M.search_items(con, "m1", "preference", query) == expected
        scope = C.scope_of_link(con, f"http://h/map?dataset=toy&map=preference&q={query.replace(' ', '+')}")
        assert set(scope.pair_ids) == expected and scope.pair_ids == sorted(expected)


def test_coverage_verdicts_and_readable_cluster_names():
    assert M.coverage_verdict(0, 40, 0.05) == "missing"
    assert M.coverage_verdict(3, 40, 0.15) == "missing"  # (almost) none of ours where the reference has 40
    assert M.coverage_verdict(20, 40, 0.6) == "thin"  # the whole interval below parity
    assert M.coverage_verdict(30, 40, 1.3) == "covered"
    assert M.coverage_verdict(0, 5, 0.9) == "thin" and M.coverage_verdict(0, 5, 1.5) == "covered"  # too few to call
    texts = pd.Series(
        ["I want to know how to make chicken soup", "Just tell me a chicken soup recipe please"] * 3
        + ["Explain how black holes form", "Can you explain black holes to me"] * 3
    )
    clusters = np.array([0, 0] * 3 + [1, 1] * 3)
    vectors = np.eye(12)[:, :4]
    names = M.cluster_names(texts, clusters, vectors).set_index("cluster")["name"]
    assert names[0].split(", ")[0] == "chicken soup"  # the phrase, not its words or the filler around it
    assert "know" not in names[0] and "want" not in names[0] and "chicken" not in names[0].split(", ")[1:]
    assert names[1].startswith("black holes")
