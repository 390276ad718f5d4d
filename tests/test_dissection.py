"""Preference dissection: the posterior fit on simulated data, and the dataset-level API on inline fixtures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from analytics import judges as J
from analytics.adapters.base import BatchBuilder
from analytics.dissection import (
    OVERALL,
    Settings,
    contributions,
    decided_pair,
    default_comparison,
    design,
    difference_from_reference,
    dissect,
    features_of_pair,
    fit_bayes_logistic,
    group_names,
)
from analytics.store import DatasetMeta, connect, write_batch


def simulate(n: int, d: int, weights: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.integers(-1, 2, (n, d)).astype(float)  # sign features, as the paper's
    y = (rng.random(n) < expit(x @ weights)).astype(float)
    return x, y


def test_intervals_cover_weights_drawn_from_the_prior_at_the_nominal_rate():
    """Calibration: with weights drawn from the Laplace(0, 0.1) prior, 95% posterior intervals cover them in about
    95% of cases (40 simulated datasets x 6 weights = 240 intervals)."""
    covered = []
    for seed in range(40):
        rng = np.random.default_rng(1000 + seed)
        w = rng.laplace(0, 0.1, 6)
        x, y = simulate(400, 6, w, seed)
        fit = fit_bayes_logistic(x, y, prior_scale=0.1, samples=1500, seed=seed)
        covered += list((fit.low <= w) & (w <= fit.high))
    rate = float(np.mean(covered))
    assert 0.91 <= rate <= 0.99, rate


def test_strong_effects_are_recovered_with_tight_intervals():
    w = np.array([0.9, -0.6, 0.3, 0.0, 0.0])
    x, y = simulate(5000, 5, w, 7)
    fit = fit_bayes_logistic(x, y)
    assert np.all((fit.low <= w + 0.05) & (w - 0.05 <= fit.high))
    assert np.sign(fit.mean[:3]).tolist() == [1, -1, 1]
    assert fit.ess > 200
    assert np.all(fit.high - fit.low < 0.25)


def test_distinct_rows_with_counts_give_the_same_posterior():
    """The fit on each distinct (features, outcome) row with its count equals the fit on every pair."""
    from analytics.dissection import distinct_rows

    w = np.array([0.5, -0.3, 0.2])
    x, y = simulate(3000, 3, w, 3)
    full = fit_bayes_logistic(x, y, seed=1)
    xs, ys, counts = distinct_rows(x, y)
    assert len(ys) < 60 and counts.sum() == 3000
    collapsed = fit_bayes_logistic(xs, ys, seed=1, counts=counts)
    assert collapsed.n == full.n == 3000
    np.testing.assert_allclose(collapsed.mode, full.mode, atol=1e-4)
    np.testing.assert_allclose(collapsed.mean, full.mean, atol=5e-3)
    np.testing.assert_allclose(collapsed.low, full.low, atol=1e-2)
    np.testing.assert_allclose(collapsed.high, full.high, atol=1e-2)


def test_above_laplace_threshold_the_fit_matches_the_corrected_posterior(monkeypatch):
    """Beyond LAPLACE_ABOVE pairs a fit is the Laplace approximation alone; on 60,000 pairs its means and intervals
    agree with the importance-sampled posterior to a small fraction of a posterior standard deviation."""
    import analytics.dissection as D

    w = np.array([0.4, -0.2, 0.1, 0.0, 0.05])
    x, y = simulate(60_000, 5, w, 11)
    xs, ys, counts = D.distinct_rows(x, y)
    laplace = fit_bayes_logistic(xs, ys, seed=2, counts=counts)
    monkeypatch.setattr(D, "LAPLACE_ABOVE", 10**9)
    sampled = fit_bayes_logistic(xs, ys, seed=2, counts=counts)
    sd = (sampled.high - sampled.low) / 3.92
    assert laplace.n == sampled.n == 60_000 and laplace.ess == 3000
    for field in ("mean", "low", "high"):
        assert np.all(np.abs(getattr(laplace, field) - getattr(sampled, field)) < 0.15 * sd), field
    assert laplace.draws.shape == (1000, 5)
    np.testing.assert_allclose(laplace.draws.mean(axis=0), laplace.mean, atol=0.2 * sd.max())


def test_no_variation_in_outcomes_gives_no_fit():
    fit = fit_bayes_logistic(np.ones((10, 2)), np.ones(10))
    assert np.isnan(fit.mean).all()


def _store_with_length_loving_judge(tmp_path):
    """60 pairs; judge 'long' always prefers the longer response, 'short' the shorter, 'human' the one with a
    question mark; 'coin' flips a seeded coin."""
    rng = np.random.default_rng(3)
    bb = BatchBuilder()
    for name in ("long", "short", "human", "coin"):
        bb.judge(name, "human" if name == "human" else "llm")
    for i in range(60):
        a = "The cat sat down. " * int(rng.integers(2, 25))  # same sentences: only the length varies
        b = "A dog ran off. " * int(rng.integers(2, 25))
        if i % 2:
            a += " Is that right?"
        k = bb.pair(
            prompt=f"prompt {i}",
            response_a=a,
            response_b=b,
            category="even" if i % 2 == 0 else "odd",
            source_file="f",
            source_row=i,
        )
        longer_a = len(a.split()) > len(b.split())
        bb.judgment(k, "long", "A" if longer_a else "B", source_file="f", source_row=i)
        bb.judgment(k, "short", "B" if longer_a else "A", source_file="f", source_row=i)
        bb.judgment(k, "human", "A" if i % 2 else "B", source_file="f", source_row=i)
        bb.judgment(k, "coin", "A" if rng.random() < 0.5 else "B", source_file="f", source_row=i)
    con = connect(tmp_path / "s.duckdb")
    write_batch(con, bb.build(DatasetMeta(name="toy", version="1", adapter="test")))
    return con


def test_dissect_finds_the_property_each_judge_rewards(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFATLAS_CACHE", str(tmp_path / "cache"))
    con = _store_with_length_loving_judge(tmp_path)
    settings = Settings(min_pairs=20, samples=1500)
    out = dissect(con, "toy", settings=settings)
    overall = out["results"][OVERALL]
    length = {j: overall[j]["weights"]["length (words)"] for j in ("long", "short")}
    assert length["long"]["low"] > 0 and length["long"]["p"] > 0.6
    assert length["short"]["high"] < 0 and length["short"]["p"] < 0.4
    human = overall["human"]["weights"]
    assert max(human, key=lambda f: human[f]["mean"]) == "asks a question"
    assert human["asks a question"]["low"] > 0
    assert out["similarity"][OVERALL]["long"]["short"] < -0.5
    assert out["similarity"][OVERALL]["long"]["long"] == pytest.approx(1.0)
    assert "length (words)" in out["definitions"]
    again = dissect(con, "toy", settings=settings)  # cached: read back from disk, the same numbers
    assert again["results"][OVERALL]["long"] == overall["long"]


def test_groups_and_minimum_size(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFATLAS_CACHE", str(tmp_path / "cache"))
    con = _store_with_length_loving_judge(tmp_path)
    out = dissect(con, "toy", judges=["long"], group="category", settings=Settings(min_pairs=20, samples=800))
    assert set(out["results"]) == {OVERALL, "even", "odd"}
    assert out["results"]["even"]["long"]["n"] == 30
    small = dissect(con, "toy", judges=["long"], group="category", settings=Settings(min_pairs=31, samples=800))
    assert small["results"]["even"] == {}  # 30 pairs < 31: not fitted
    with pytest.raises(ValueError, match="cannot group"):
        dissect(con, "toy", group="nope", settings=Settings(min_pairs=20))
    with pytest.raises(ValueError, match="no judge"):
        dissect(con, "toy", judges=["ghost"], settings=Settings(min_pairs=20))


def test_difference_from_reference_and_contributions(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFATLAS_CACHE", str(tmp_path / "cache"))
    con = _store_with_length_loving_judge(tmp_path)
    settings = Settings(min_pairs=20, samples=1500)
    diff = difference_from_reference(con, "toy", "long", "human", settings=settings)
    top = diff.iloc[:2].set_index("property")
    assert "length (words)" in top.index and top.loc["length (words)", "low"] > 0
    weights = dissect(con, "toy", settings=settings)["results"][OVERALL]["long"]["weights"]
    feats = pd.Series({"length (words)": 1.0, "asks a question": -1.0, "bold": 0.0})
    table = contributions(weights, feats)
    assert table["property"].iloc[0] == "length (words)"
    assert "bold" not in set(table["property"])


def test_dissect_a_subset_of_pairs(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFATLAS_CACHE", str(tmp_path / "cache"))
    con = _store_with_length_loving_judge(tmp_path)
    ids = [r[0] for r in con.execute("SELECT pair_id FROM pairs ORDER BY source_row LIMIT 40").fetchall()]
    out = dissect(con, "toy", judges=["long"], settings=Settings(min_pairs=20, samples=800), pair_ids=ids)
    assert out["results"][OVERALL]["long"]["n"] == 40


def test_cache_entries_of_another_format_are_not_read(tmp_path, monkeypatch):
    import analytics.cache as C

    monkeypatch.setenv("PREFATLAS_CACHE", str(tmp_path))
    assert C.cached(["k"], lambda: {"v": 1}) == {"v": 1}
    assert C.cached(["k"], lambda: {"v": 2}) == {"v": 1}  # read back
    monkeypatch.setattr(C, "CACHE_FORMAT", "999")
    assert C.cached(["k"], lambda: {"v": 3}) == {"v": 3}  # a new format computes anew


def test_the_pages_light_reads_agree_with_the_whole_design(tmp_path, monkeypatch):
    """The Dissection page reads one pair, the group names and the default comparison without building the
    dataset's design (seconds at a million pairs): each must equal what the design gives."""
    monkeypatch.setenv("PREFATLAS_CACHE", str(tmp_path / "cache"))
    con = _store_with_length_loving_judge(tmp_path)
    for mode in ("sign", "normalised"):
        features, wide, pairs = design(con, "toy", Settings(features=mode))
        decided = wide["coin"][wide["coin"].isin(["A", "B"])]
        for number in (1, 7, len(decided)):
            pair_id, verdict, total, _ = decided_pair(con, "toy", "coin", number)
            assert (pair_id, verdict, total) == (decided.index[number - 1], decided.iloc[number - 1], len(decided))
            pd.testing.assert_series_equal(
                features_of_pair(con, pair_id, Settings(features=mode)), features.loc[pair_id]
            )
    assert decided_pair(con, "toy", "coin", len(decided) + 1) is None
    assert decided_pair(con, "toy", "ghost", 1) is None
    # among the pairs where the coin disagrees with the human: exactly those the design says, with the human's verdict
    human = wide["human"].reindex(decided.index)
    differ = decided[human.notna() & (human != decided)]
    first = decided_pair(con, "toy", "coin", 1, "disagrees", "human")
    assert first == (differ.index[0], differ.iloc[0], len(differ), human[differ.index[0]])
    assert decided_pair(con, "toy", "coin", 1, "flipped", "human") is None  # one order each: nothing flipped
    assert group_names(con, "toy") == list(J.group_columns(pairs)) == ["category"]
    kinds = {"human": "human", "long": "llm", "short": "llm", "coin": "llm"}
    assert default_comparison(sorted(kinds), kinds) == ("human", "coin")
    assert default_comparison(["long", "short"], kinds) == ("long", "short")  # no human label: the first judge


def test_fits_on_threads_equal_the_same_fits_one_after_another():
    """Fits run on threads (_fit_many) give exactly the numbers of the same fits run alone: liblinear's generator
    is shared by the process, so two fits inside it at once would each change the other's coordinate order."""
    import analytics.dissection as D

    rng = np.random.default_rng(3)
    features = pd.DataFrame(rng.normal(size=(20_000, 6)), columns=[f"p{k}" for k in range(6)])
    logits = features.to_numpy() @ np.array([0.5, -0.3, 0.2, 0.0, 0.1, -0.4])
    wide = pd.DataFrame(
        {
            f"judge {k}": np.where(rng.random(20_000) < 1 / (1 + np.exp(-logits * (1 + k / 4))), "A", "B")
            for k in range(4)
        }
    )
    settings = D.Settings(samples=300)
    tasks = [(judge, None) for judge in wide.columns]
    together = D._fit_many(features, wide, settings, tasks)
    alone = [D._fit_one(D._compact(features), list(features.columns), wide[judge], settings) for judge, _ in tasks]
    for a, b in zip(together, alone, strict=True):
        np.testing.assert_array_equal(a.mode, b.mode)
        np.testing.assert_array_equal(a.mean, b.mean)


def test_reading_fitted_views_loads_no_scikit_learn():
    """scikit-learn (0.8-1.9 s to import) is loaded by the first fit only: a server whose Dissection views an
    ingest computed never pays for it."""
    import subprocess
    import sys

    code = (
        "import sys, analytics.dissection, analytics.pages, analytics.judges, analytics.catalog\n"
        "assert not [m for m in sys.modules if m.startswith('sklearn')], 'imported'\n"
        "from analytics.dissection import fit_bayes_logistic\n"
        "import numpy as np\n"
        "fit_bayes_logistic(np.array([[1.0], [-1.0], [1.0]]), np.array([1.0, 0.0, 0.0]), samples=50)\n"
        "assert 'sklearn.linear_model' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_design_read_block_by_block_equals_one_read(tmp_path, monkeypatch):
    """designs() reads the properties a block of pairs at a time (memory at a million pairs): with blocks of 7
    pairs, and an imported property that only some blocks' responses have, both feature modes equal the design
    read in one block (the imported property's missing values count as no difference, as pair_features has it)."""
    import analytics.dissection as D

    monkeypatch.setenv("PREFATLAS_CACHE", str(tmp_path / "cache"))
    con = _store_with_length_loving_judge(tmp_path)
    first = con.execute("SELECT response_a_id, response_b_id FROM pairs ORDER BY source_row LIMIT 3").fetchall()
    con.executemany(  # the first three pairs' responses only: A more polite in two, B in one
        "INSERT INTO properties VALUES (?, 'response', 'politeness', ?, 'annotator')",
        [(a, float(k)) for k, (a, _) in enumerate(first)] + [(b, 1.5) for _, b in first],
    )
    whole = D.designs(con, "toy", ("sign", "normalised"))
    monkeypatch.setattr(D, "_PAIRS_PER_READ", 7)
    blocks = D.designs(con, "toy", ("sign", "normalised"))
    for mode in ("sign", "normalised"):
        assert "politeness" in whole[mode][0].columns and whole[mode][0]["politeness"].abs().sum() > 0
        pd.testing.assert_frame_equal(blocks[mode][0], whole[mode][0], check_dtype=False)
        pd.testing.assert_frame_equal(blocks[mode][1], whole[mode][1])
    assert whole["sign"][0].dtypes.eq(np.int8).all()  # signs are held as bytes
    # without the imported property every block has the same columns: stacked, types kept
    con.execute("DELETE FROM properties")
    monkeypatch.setattr(D, "_PAIRS_PER_READ", 10**6)
    whole = D.designs(con, "toy", ("sign",))
    monkeypatch.setattr(D, "_PAIRS_PER_READ", 7)
    pd.testing.assert_frame_equal(D.designs(con, "toy", ("sign",))["sign"][0], whole["sign"][0])
