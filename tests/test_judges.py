"""Judge analytics on tiny hand-computed examples: ties, missing verdicts, one-order judges."""

from __future__ import annotations

from itertools import combinations

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import cohen_kappa_score

from analytics import judges as J
from analytics.stats import logistic_fit, mean_estimate, unweighted_mean_estimate
from analytics.verdicts import SUBSET_SQL


def long(rows):
    """rows: (pair, judge, verdict, shown_order)"""
    return pd.DataFrame(rows, columns=["pair_id", "judge", "verdict", "shown_order"])


def test_combine_runs_follows_judgebench_rule():
    wide = J.combine_runs(
        long(
            [
                ("p1", "x", "A", "AB"),
                ("p1", "x", "A", "BA"),
                ("p2", "x", "A", "AB"),
                ("p2", "x", "B", "BA"),
                ("p3", "x", "A", "AB"),
                ("p3", "x", "tie", "BA"),
                ("p4", "x", "unparsed", "AB"),
                ("p4", "x", "B", "BA"),
                ("p5", "x", "unparsed", "AB"),
                ("p5", "x", "unparsed", "BA"),
            ]
        )
    )
    assert wide["x"].iloc[:4].tolist() == ["A", "tie", "A", "B"]
    assert pd.isna(wide["x"].iloc[4])


def test_agreement_with_and_without_ties_and_kappa():
    v1 = pd.Series(["A", "B", "tie", "A", "B"])
    v2 = pd.Series(["A", "A", "tie", "A", np.nan])
    with_ties, without_ties, kappa = J.agreement(v1, v2)
    assert with_ties.value == pytest.approx(3 / 4) and with_ties.n == 4
    assert without_ties.value == pytest.approx(2 / 3) and without_ties.n == 3
    expected = cohen_kappa_score(["A", "B", "tie", "A"], ["A", "A", "tie", "A"])
    assert kappa.value == pytest.approx(expected)
    assert kappa.low <= kappa.value <= kappa.high or np.isnan(kappa.low)


def test_vectorised_kappa_equals_scikit_learn():
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 3, 200), rng.integers(0, 3, 200)
    b[:120] = a[:120]
    confusion = np.bincount(a * 3 + b, minlength=9)
    assert J.kappa_from_confusions(confusion[None, :])[0] == pytest.approx(cohen_kappa_score(a, b))


def test_accuracy_counts_ties_and_unparsed_as_wrong_and_skips_unjudged_pairs():
    ref = pd.Series({"p1": "A", "p2": "B", "p3": "A", "p4": "B", "p5": "A"})
    verdicts = pd.Series({"p1": "A", "p2": "tie", "p3": np.nan, "p4": "B", "p5": np.nan})
    judged = pd.Index(["p1", "p2", "p3", "p4"])  # p3 judged but unparsed; p5 never judged
    est = J.accuracy(verdicts, ref, judged)
    assert (est.value, est.n) == (0.5, 4)


def test_accuracy_by_order_as_llmbar():
    judgments = long(
        [
            ("p1", "x", "A", "AB"),
            ("p1", "x", "A", "BA"),
            ("p2", "x", "A", "AB"),
            ("p2", "x", "B", "BA"),
            ("p3", "x", "unparsed", "AB"),
            ("p3", "x", "A", "BA"),
        ]
    )
    ref = pd.Series({"p1": "A", "p2": "B", "p3": "A"})
    out = J.accuracy_by_order(J.verdicts_of(judgments), "x", ref)
    assert out["accuracy_AB"]["value"] == pytest.approx(1 / 3)
    assert out["accuracy_BA"]["value"] == pytest.approx(1.0)
    assert out["accuracy_average"]["value"] == pytest.approx(2 / 3)
    assert out["accuracy_both_orders"]["value"] == pytest.approx(1 / 3)


def test_position_bias_of_a_first_slot_judge_and_a_one_order_judge():
    rows = []
    for k in range(10):
        rows += [(f"p{k}", "first", "A", "AB"), (f"p{k}", "first", "B", "BA")]  # always the first shown
        rows += [(f"p{k}", "once", "A" if k < 7 else "B", "AB")]
    rows += [("p0", "first", "unparsed", None)]
    judgments = long(rows)
    bias = J.position_bias(J.verdicts_of(judgments), "first")
    assert bias["swap_consistency"]["value"] == 0.0
    assert bias["inconsistent_favour_first"] == 1.0 and bias["inconsistent_favour_second"] == 0.0
    assert bias["p_first_shown_wins"]["value"] == 1.0 and bias["p_first_shown_wins"]["n"] == 20
    once = J.position_bias(J.verdicts_of(judgments), "once")
    assert once["swap_consistency"] is None and "only one presentation order" in once["note"]
    assert once["p_first_shown_wins"]["value"] == pytest.approx(0.7)


def test_swap_consistency_counts_two_unparsed_as_equal():
    judgments = long(
        [("p1", "x", "unparsed", "AB"), ("p1", "x", "unparsed", "BA"), ("p2", "x", "A", "AB"), ("p2", "x", "B", "BA")]
    )
    assert J.position_bias(J.verdicts_of(judgments), "x")["swap_consistency"]["value"] == 0.5


def test_length_bias_of_a_judge_that_always_prefers_the_longer():
    pairs = pd.DataFrame(
        {"len_a": [10, 50, 30, 80, 5, 60], "len_b": [40, 20, 90, 10, 50, 60]}, index=[f"p{i}" for i in range(6)]
    )
    verdict = pd.Series(["B", "A", "B", "A", "B", "A"], index=pairs.index)
    out = J.length_bias(verdict, pairs)
    assert out["p_longer_preferred"]["value"] == 1.0 and out["p_longer_preferred"]["n"] == 5
    assert out["length_coefficient"]["value"] > 0


def test_majority_reference():
    votes = pd.DataFrame(
        {"h1": ["A", "A", "A", np.nan], "h2": ["A", "B", "B", np.nan], "h3": ["B", "tie", np.nan, np.nan]}
    )
    maj = J.majority(votes)
    assert maj.iloc[:3].tolist() == ["A", "tie", "tie"] and pd.isna(maj.iloc[3])


def test_reference_picks_gold_then_human_majority():
    wide = pd.DataFrame({"gold": ["A"], "h1": ["A"], "h2": ["B"], "llm": ["A"]})
    kinds = {"gold": "gold", "h1": "human", "h2": "human", "llm": "llm"}
    assert J.reference_verdicts(wide, kinds, None)[0] == "gold"
    name, _ = J.reference_verdicts(wide.drop(columns="gold"), kinds, None)
    assert name == J.HUMAN_MAJORITY
    with pytest.raises(ValueError, match="no verdicts here"):
        J.reference_verdicts(wide, kinds, "nobody")


def test_flip_rate_from_two_labels_inverts_the_noise_model():
    eps = 0.1
    assert J.flip_rate_from_two_labels(2 * eps * (1 - eps)) == pytest.approx(eps)
    assert np.isnan(J.flip_rate_from_two_labels(0.6))


def test_self_preference_dbg():
    pairs = pd.DataFrame(
        {"model_a": ["gpt-4-0613"] * 4 + ["llama-2"], "model_b": ["llama-2"] * 4 + ["vicuna"]},
        index=[f"p{i}" for i in range(5)],
    )
    judge = pd.Series(["A", "A", "A", "tie", "A"], index=pairs.index)  # always its own family (or tie)
    ref = pd.Series(["A", "B", "B", "A", "B"], index=pairs.index)
    out = J.self_preference(judge, ref, pairs, "gpt-4")
    assert out["judge_win_rate_own"]["value"] == pytest.approx(3.5 / 4)
    assert out["reference_win_rate_own"]["value"] == pytest.approx(2 / 4)
    assert out["dbg"]["value"] == pytest.approx(3.5 / 4 - 2 / 4) and out["dbg"]["n"] == 4
    assert "no pair" in J.self_preference(judge, ref, pairs, "claude")["note"]


def test_raw_win_rate_is_alpaca_eval_mean_of_preference():
    pairs = pd.DataFrame({"model_a": ["base"] * 4, "model_b": ["m"] * 4}, index=list("abcd"))
    p_b = pd.Series([1.0, 0.0, 0.5, 0.9], index=list("abcd"))
    rates = J.raw_win_rates(p_b, pairs)
    assert rates["m"]["value"] == pytest.approx(0.6)
    assert rates["base"]["value"] == pytest.approx(0.4)


def test_win_probabilities_use_prob_b_when_given():
    judgments = pd.DataFrame(
        {
            "pair_id": ["a", "b", "c", "d"],
            "judge": "j",
            "verdict": ["A", "B", "tie", "unparsed"],
            "prob_b": [0.2, np.nan, np.nan, np.nan],
        }
    )
    assert J.verdicts_of(judgments).win_probabilities("j").to_dict() == {"a": 0.2, "b": 1.0, "c": 0.5}


def test_style_counts_ignore_code_blocks():
    text = "# Title\n\n- one\n- two\n1. three\n**bold** and __also__\n```python\n# comment\n- not a list\n```"
    tokens, headers, lists, bold = J.style_counts(text)
    assert (headers, lists, bold) == (1, 3, 2)
    assert tokens > 0


def test_group_agreement_matches_the_libraries():
    import krippendorff
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

    wide = pd.DataFrame(
        {
            "a": ["A", "A", "B", "B", "A", "tie", "B", "A", "B"],
            "b": ["A", "A", "B", "B", "B", "tie", "A", "B", "A"],
            "c": ["A", "B", "B", "B", "A", "tie", "A", "B", np.nan],
        }
    )
    out = J.group_agreement(wide, boot=20)
    codes = wide.apply(lambda c: c.map(J.CODE)).astype(float)
    table, _ = aggregate_raters(codes.dropna().to_numpy(dtype=int), n_cat=3)
    assert out["fleiss_kappa"]["value"] == pytest.approx(fleiss_kappa(table))
    alpha = krippendorff.alpha(
        reliability_data=codes.to_numpy().T, level_of_measurement="ordinal", value_domain=[0, 1, 2]
    )
    assert out["krippendorff_alpha_ordinal"]["value"] == pytest.approx(alpha)


def test_disagreement_by_group():
    wide = pd.DataFrame({"x": ["A", "A", "B", "B"], "y": ["A", "B", "B", np.nan]}, index=list("abcd"))
    groups = pd.Series(["g1", "g1", "g2", "g2"], index=list("abcd"))
    table = J.disagreement_by_group(wide, groups).set_index("group")
    assert table.loc["g1", "disagreement"] == 0.5 and table.loc["g1", "n"] == 2
    assert table.loc["g2", "disagreement"] == 0.0 and table.loc["g2", "n"] == 1


def test_ensemble_strength():
    wide = pd.DataFrame({"x": ["A", "A"], "y": ["A", "B"], "z": ["A", np.nan]}, index=["p", "q"])
    strength = J.ensemble_strength(wide)
    assert strength.loc["p"].tolist() == [1.0, 0.0, 3]
    assert strength.loc["q", "mean"] == 0.0 and strength.loc["q", "judges"] == 2


def test_logistic_fit_matches_scikit_learn_unpenalised():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2))
    y = (rng.random(400) < 1 / (1 + np.exp(-(x @ [1.5, -0.7])))).astype(float)
    ours = logistic_fit(x, y, ridge=0.0)
    ref = LogisticRegression(C=np.inf, fit_intercept=False, tol=1e-12, max_iter=10_000).fit(x, y).coef_[0]
    assert ours == pytest.approx(ref, abs=1e-4)


def test_bootstrap_interval_is_seeded_and_covers():
    values = np.r_[np.ones(30), np.zeros(70)]
    a, b = mean_estimate(values), mean_estimate(values)
    assert a == b and a.low < 0.3 < a.high and a.n == 100


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pattern_formulas_equal_the_libraries_on_random_ratings(seed):
    """Fleiss and Krippendorff from rating patterns (what the bootstrap resamples) equal statsmodels and the
    krippendorff package on the full data, missing ratings included."""
    import krippendorff
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, 300)
    codes = np.where(rng.random((300, 4)) < 0.7, truth[:, None], rng.integers(0, 3, (300, 4))).astype(float)
    table, _ = aggregate_raters(codes.astype(int), n_cat=3)
    patterns, counts = np.unique(table, axis=0, return_counts=True)
    assert J.fleiss_from_patterns(counts[None, :].astype(float), patterns.astype(float))[0] == pytest.approx(
        fleiss_kappa(table)
    )
    codes[rng.random(codes.shape) < 0.2] = np.nan
    data = codes.T
    data = data[:, (~np.isnan(data)).sum(axis=0) >= 2]
    units = np.stack([(data == v).sum(axis=0) for v in (0, 1, 2)], axis=1)
    patterns, counts = np.unique(units, axis=0, return_counts=True)
    for level in ("nominal", "ordinal"):
        ours = J.alpha_from_patterns(counts[None, :].astype(float), patterns.astype(float), level)[0]
        lib = krippendorff.alpha(reliability_data=data, level_of_measurement=level, value_domain=[0, 1, 2])
        assert ours == pytest.approx(lib), level


def test_count_bootstrap_matches_the_unit_bootstrap_in_distribution():
    """Resampling a table of counts (one multinomial draw) and resampling the units give the same spread."""
    from analytics.stats import resample_counts

    values = np.r_[np.ones(300), np.zeros(700)]
    rng = np.random.default_rng(5)
    by_units = values[rng.integers(0, 1000, (4000, 1000))].mean(axis=1)
    by_counts = resample_counts(np.array([700, 300]), boot=4000, seed=5)[:, 1] / 1000
    assert by_counts.std() == pytest.approx(by_units.std(), rel=0.06)
    assert np.percentile(by_counts, 2.5) == pytest.approx(np.percentile(by_units, 2.5), abs=0.005)


def test_regressions_switch_to_wald_intervals_on_many_pairs():
    """Above WALD_ABOVE pairs the interval is Wald's; on the same data it agrees with a bootstrap of refits."""
    from analytics.stats import WALD_ABOVE, bootstrap_many, logistic_estimates, logistic_fit

    rng = np.random.default_rng(0)
    n = WALD_ABOVE + 5000
    x = rng.normal(size=(n, 1))
    y = (rng.random(n) < 1 / (1 + np.exp(-0.8 * x[:, 0]))).astype(float)
    (wald,) = logistic_estimates(x, y, boot=200)
    (boot,) = bootstrap_many(lambda idx: logistic_fit(x[idx], y[idx]), n, boot=200)
    assert wald.low < 0.8 < wald.high and wald.n == n
    assert wald.value == pytest.approx(boot.value)
    assert (wald.high - wald.low) == pytest.approx(boot.high - boot.low, rel=0.2)


def test_pairs_behind_a_number_in_sql_equals_the_verdict_tables(tmp_path):
    """The drill-down query gives the pairs the in-memory verdict table (JudgeBench's combining rule) says two
    judges split on, and filters by a group column."""
    from analytics.adapters import pandalm
    from analytics.store import connect, write_batch

    from fixtures import write_pandalm

    con = connect(tmp_path / "s.duckdb")
    write_batch(con, pandalm.load(write_pandalm(tmp_path / "p")))
    verdicts = J.load_verdicts(con, "pandalm")
    wide, pairs = verdicts.wide, verdicts.pairs
    checked = 0
    for j1, j2 in combinations(wide.columns, 2):
        both = wide[j1].notna() & wide[j2].notna()
        expected = set(wide.index[both & (wide[j1] != wide[j2])])
        assert set(J.pairs_behind(con, "pandalm", j1, j2)) == expected
        everything = J.pairs_behind(con, "pandalm", j1, j2, only_disagreements=False)
        assert set(everything) == set(wide.index[both]) and set(everything[: len(expected)]) == expected
        model_pair = J.group_columns(pairs)["model pair"]
        for group in model_pair.dropna().unique():
            inside = set(model_pair.index[model_pair == group])
            assert set(J.pairs_behind(con, "pandalm", j1, j2, group_by="model pair", group=group)) == expected & inside
        checked += 1
    assert checked >= 6
    con.close()


def test_verdicts_from_the_store_equal_the_long_frame_rules(tmp_path):
    """load_verdicts (DuckDB's GROUP BY over the store) and verdicts_of (the same SQL over a long frame, the rules
    stated in analytics.verdicts) agree on LLMBar-style data: both orders per judge, gold without an order."""
    from analytics.adapters import llmbar
    from analytics.store import connect, write_batch

    from fixtures import write_llmbar

    con = connect(tmp_path / "s.duckdb")
    write_batch(con, llmbar.load(write_llmbar(tmp_path / "l")))
    stored = J.load_verdicts(con, "llmbar")
    without_lengths = J.load_verdicts(con, "llmbar", lengths=False)  # the same, lengths left out
    assert np.array_equal(without_lengths.codes, stored.codes, equal_nan=True)
    assert without_lengths.pairs["len_a"].isna().all() and stored.pairs["len_a"].gt(0).all()
    pd.testing.assert_frame_equal(
        without_lengths.pairs.drop(columns=["len_a", "len_b"]), stored.pairs.drop(columns=["len_a", "len_b"])
    )
    # some pairs with no pair details (a map's selection): the same verdicts, counts and pairs, details missing
    some = list(stored.pairs.index[::3])
    selected = J.load_verdicts(con, "llmbar", pair_ids=some, details=False)
    rows = stored.pairs.index.get_indexer(some)
    assert list(selected.pairs.index) == some
    for name in ("codes", "judged", "order_codes", "p_b"):
        assert np.array_equal(getattr(selected, name), getattr(stored, name)[rows], equal_nan=True), name
    assert selected.pairs[["subset", "model_a", "len_a"]].isna().all().all()
    assert selected.responses.column("response_a_id").null_count == len(some)
    with_details = J.load_verdicts(con, "llmbar", pair_ids=some)
    pd.testing.assert_frame_equal(selected.judges, with_details.judges)
    assert selected.judges["judgments"].sum() < stored.judges["judgments"].sum()
    assert selected.kinds() == stored.kinds()
    long = con.execute(
        """SELECT x.pair_id, j.name AS judge, j.kind, x.verdict, x.shown_order, x.prob_b FROM judgments x
           JOIN judges j USING (judge_id) JOIN pairs p USING (pair_id) ORDER BY p.source_row, x.rowid"""
    ).df()
    con.close()
    expected = J.verdicts_of(long)
    assert set(stored.pairs.index) == set(expected.pairs.index) and len(stored) > 0
    wide = stored.wide.loc[expected.pairs.index]
    pd.testing.assert_frame_equal(wide, expected.wide, check_names=False)
    assert "gold" in stored.names and not np.isnan(stored.codes).all()
    for judge in stored.names:
        mine = stored.orders(judge).reindex(expected.orders(judge).index)
        pd.testing.assert_frame_equal(mine, expected.orders(judge), check_names=False)
        columns = ["kind", "pairs", "judgments", "unparsed", "first_wins", "first_decisive"]
        assert stored.judges.loc[judge, columns].tolist() == expected.judges.loc[judge, columns].tolist()
    # hand check of one judge's combined verdict against the judgments themselves
    judge = next(j for j in stored.names if j != "gold")
    runs = long[long["judge"] == judge].groupby("pair_id")["verdict"].apply(list)
    for pair_id, verdicts in runs.items():
        score = sum({"A": 1, "B": -1}.get(v, 0) for v in verdicts if v != "unparsed")
        parsed = any(v != "unparsed" for v in verdicts)
        want = ("A" if score > 0 else "B" if score < 0 else "tie") if parsed else None
        got = stored.wide.at[pair_id, judge]
        assert (got if isinstance(got, str) else None) == want


@pytest.mark.parametrize("ones", [0, 3, 17, 20])
def test_share_estimate_equals_the_mean_of_the_outcomes(ones):
    from analytics.stats import share_estimate

    outcomes = np.array([1.0] * ones + [0.0] * (20 - ones))
    assert share_estimate(ones, 20) == mean_estimate(outcomes)


def test_rating_patterns_are_numpys_distinct_rows_in_order():
    rng = np.random.default_rng(3)
    counts = rng.integers(0, 4, (500, 3))
    patterns, n = J.rating_patterns(counts)
    expected, expected_n = np.unique(counts, axis=0, return_counts=True)
    np.testing.assert_array_equal(patterns, expected)
    np.testing.assert_array_equal(n, expected_n)


def test_mean_of_many_distinct_values_on_many_pairs_has_the_normal_interval():
    values = np.random.default_rng(5).beta(2, 5, 30_000)  # continuous, like AlpacaEval's prob_b
    est = mean_estimate(values)
    se = values.std(ddof=1) / np.sqrt(len(values))
    assert est.value == pytest.approx(values.mean())
    assert (est.low, est.high) == pytest.approx((values.mean() - 1.96 * se, values.mean() + 1.96 * se))
    draws = [values[np.random.default_rng(k).integers(0, len(values), len(values))].mean() for k in range(200)]
    assert np.percentile(draws, 2.5) == pytest.approx(est.low, abs=0.3 * se)


def test_accuracy_under_each_convention():
    judgments = long(
        [
            ("p1", "x", "A", "AB"),
            ("p1", "x", "A", "BA"),  # right in both orders
            ("p2", "x", "A", "AB"),
            ("p2", "x", "B", "BA"),  # right in one order: combined says tie (wrong), the mean over orders 0.5
            ("p3", "x", "unparsed", "AB"),
            ("p3", "x", "unparsed", "BA"),  # never parsed; the reference says tie
            ("p4", "x", "unparsed", "AB"),
            ("p4", "x", "B", "BA"),  # combined B (the unparsed run left out): right
        ]
    )
    ref = pd.Series({"p1": "A", "p2": "B", "p3": "tie", "p4": "B"})
    verdicts = J.verdicts_of(judgments)
    outcomes = J.accuracy_outcomes(verdicts, "x", ref)
    np.testing.assert_array_equal(outcomes["accuracy"], [1, 0, 0, 1])
    np.testing.assert_array_equal(outcomes["accuracy_unparsed_as_tie"], [1, 0, 1, 1])
    np.testing.assert_array_equal(outcomes["accuracy_average"], [1, 0.5, 0, 0.5])
    np.testing.assert_array_equal(outcomes["accuracy_both_orders"], [1, 0, 0, 0])
    entry = J.accuracy_estimates(outcomes)
    assert J.headline_accuracy(entry, "mean_over_orders") == (entry["accuracy_average"], "mean_over_orders")
    assert entry["accuracy_average"]["value"] == pytest.approx(0.5)
    one_order = {k: v for k, v in entry.items() if k in ("accuracy", "accuracy_unparsed_as_tie")}
    assert J.headline_accuracy(one_order, "mean_over_orders") == (entry["accuracy"], "combined")


def test_subset_groups_and_their_unweighted_mean():
    names = ["LLMBar/Natural", "LLMBar/Adversarial/GPTInst", "LLMBar/Adversarial/Manual", "Processed/MT-Bench", "x"]
    assert J.subset_groups(names) == {
        "LLMBar/*": ["LLMBar/Adversarial/GPTInst", "LLMBar/Adversarial/Manual", "LLMBar/Natural"],
        "LLMBar/Adversarial/*": ["LLMBar/Adversarial/GPTInst", "LLMBar/Adversarial/Manual"],
    }
    big, small = np.r_[np.ones(90), np.zeros(10)], np.r_[np.ones(1), np.zeros(9)]
    mean = unweighted_mean_estimate([big, small])
    assert mean.value == pytest.approx((0.9 + 0.1) / 2) and mean.n == 110  # pooled would be 91/110
    assert mean.low < mean.value < mean.high


def test_a_subset_group_selects_every_subset_under_its_prefix():
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('A/x'), ('A/y'), ('A/y/z'), ('AB/x'), ('B')) v(subset)")

    def chosen(s):
        sql = f"SELECT subset FROM t WHERE {SUBSET_SQL.format(column='subset')} ORDER BY subset"
        return [r[0] for r in con.execute(sql, {"s": s}).fetchall()]

    assert chosen("A/*") == ["A/x", "A/y", "A/y/z"]  # not AB/x
    assert chosen("A/y") == ["A/y"]
    assert len(chosen(None)) == 5


def test_instruction_difficulty_recovers_simulated_difficulties():
    rng = np.random.default_rng(3)
    models, prompts = 6, 300
    theta, gamma = rng.normal(0, 1, models), rng.normal(0, 1.5, prompts)
    m, x = np.repeat(np.arange(models), prompts), np.tile(np.arange(prompts), models)
    tanh_len = np.tanh(rng.normal(0, 1, len(m)))
    p = 1 / (1 + np.exp(-(theta[m] + 0.8 * tanh_len + gamma[x])))
    got = J.instruction_difficulty(p, m, tanh_len, x)
    assert abs(got.mean()) < 1e-9  # centred
    assert np.corrcoef(got, gamma)[0, 1] > 0.97


def test_leaderboard_leaves_the_baseline_out_and_ranks_each_way():
    pairs = pd.DataFrame(
        {"model_a": ["base"] * 6, "model_b": ["m1", "m1", "m2", "m2", "m3", "m3"], "len_a": 10.0, "len_b": 10.0},
        index=[f"p{k}" for k in range(6)],
    )
    assert J.baseline_of(pairs) == "base"
    assert J.baseline_of(pairs.assign(model_a=["base"] * 5 + ["other"])) is None
    assert J.baseline_of(pairs.iloc[:2]) == "base"  # always on side A
    mixed = pairs.iloc[:2].assign(model_a=["base", "m1"], model_b=["m1", "base"])
    assert J.baseline_of(mixed) is None  # two generators in every pair, on either side: neither is the baseline

    def est(v):
        return {"value": v, "low": v - 0.05, "high": v + 0.05, "n": 2}

    board = {
        "baseline": "base",
        "raw_win_rate": {"base": est(0.6), "m1": est(0.3), "m2": est(0.5), "m3": est(0.4)},
        "lc_win_rate": {"m1": est(0.45), "m2": est(0.35), "m3": est(0.4)},
        "bradley_terry_style": {},
        "published": {"m1": {"lc_win_rate": {"value": 0.4}}},
    }
    table = J.leaderboard_table(board)
    assert list(table["generator"]) == ["m1", "m3", "m2"]  # by LC rank
    assert list(table["raw_win_rate_rank"]) == [3, 2, 1]
    assert table["lc_minus_published"].iloc[0] == pytest.approx(5.0)  # points
    shown = J.leaderboard_display(table)
    assert "base" not in set(shown["generator"]) and "BT rating, style-controlled" not in shown
    assert list(shown["LC − published (points)"]) == ["+5.0", "–", "–"]


def test_a_fit_the_data_cannot_pin_down_is_not_shown_as_a_number():
    assert J.fit_text({"value": 0.25, "low": 0.1, "high": 0.4, "n": 500}) == "0.25 [0.10, 0.40] (n=500)"
    assert J.fit_text({"value": -4.1, "low": -17.0, "high": 7.0, "n": 500}).startswith("not estimable: interval")
    assert J.fit_text({"value": 0.3, "low": 0.1, "high": 0.5, "n": 68}) == "not estimable: 68 pairs"
    assert J.fit_text(None) == "–" and J.fit_text({"value": None, "low": None, "high": None, "n": 0}) == "–"


def test_the_compact_pair_table_names_each_judge_once_whatever_its_name():
    from analytics import reads

    texts = pd.DataFrame(
        {"pair_id": ["p1", "p2"], "prompt": ["x" * 200, "short"], "model_a": ["m1", "m1"], "model_b": ["m2", "m2"]}
    )
    judgments = long([("p1", "gold", "A", None), ("p2", "gold", "B", None), ("p1", "prompt", "B", "AB")])
    judgments = judgments.assign(kind=["gold", "gold", "llm"])
    table = reads.pairs_summary(texts, judgments, reference="gold", first=["gold", "prompt"])
    assert list(table.columns) == ["pair", "prompt", "gold", "prompt (judge)"]  # the reference once, no clash
    assert table["prompt"].iloc[0].endswith("…") and len(table["prompt"].iloc[0]) == 121
    assert list(table["prompt (judge)"]) == ["m2 (B) ✗", "–"]  # wrong vs the reference; not judged: a dash
    assert list(table["gold"]) == ["m1 (A)", "m2 (B)"]
