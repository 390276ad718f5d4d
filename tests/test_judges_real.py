"""Judge analytics on the real mirror, checked against the numbers the upstream projects publish."""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest

from analytics import judges as J
from analytics.catalog import ingest_entry, load_catalog
from analytics.store import connect

pytestmark = pytest.mark.mirror


@pytest.fixture(scope="module")
def store_path(mirror, tmp_path_factory):
    return tmp_path_factory.mktemp("judges") / "store.duckdb"


@pytest.fixture(scope="module")
def con(mirror, store_path):
    path = store_path
    writer = connect(path)
    for name in ("llmbar", "pandalm", "judgebench", "alpaca_eval"):
        ingest_entry(writer, load_catalog()[name], mirror=mirror)
    writer.close()
    reader = connect(path, read_only=True)
    yield reader
    reader.close()


@pytest.mark.parametrize("judge", ["weighted_alpaca_eval_gpt4_turbo", "alpaca_eval_gpt4"])
def test_alpaca_eval_raw_win_rate_equals_published_leaderboard(con, mirror, judge):
    board = {
        "weighted_alpaca_eval_gpt4_turbo": "data_AlpacaEval_2/weighted_alpaca_eval_gpt4_turbo_leaderboard.csv",
        "alpaca_eval_gpt4": "data_AlpacaEval/alpaca_eval_gpt4_leaderboard.csv",
    }[judge]
    published = pd.read_csv(mirror / "alpaca_eval/src/alpaca_eval/leaderboards" / board, index_col=0)
    verdicts = J.load_verdicts(con, "alpaca_eval")
    rates = J.raw_win_rates(verdicts.win_probabilities(judge), verdicts.pairs)
    baseline = {"weighted_alpaca_eval_gpt4_turbo": "gpt4_1106_preview", "alpaca_eval_gpt4": "text_davinci_003"}[judge]
    compared = 0
    for model, est in rates.items():
        if model in published.index and model != baseline:
            assert est["value"] * 100 == pytest.approx(published.loc[model, "win_rate"], abs=0.1), model
            assert est["n"] == published.loc[model, "n_total"]
            compared += 1
    assert compared >= 7


# Upstream LLMBar statistics.json (Vanilla_NoRules): correct in swap=False, swap=True, both; equal verdicts.
LLMBAR_STATISTICS = [
    ("LLMBar/Natural", "GPT-4", 100, 92, 95, 92, 97),
    ("LLMBar/Natural", "PaLM2", 100, 77, 87, 74, 84),
    ("Processed/LLMEval^2", "PaLM2", 200, 133, 131, 113, 162),
]


@pytest.mark.parametrize(("subset", "judge", "n", "c_ab", "c_ba", "c_both", "equal"), LLMBAR_STATISTICS)
def test_llmbar_accuracy_and_consistency_match_upstream_statistics(con, subset, judge, n, c_ab, c_ba, c_both, equal):
    verdicts = J.load_verdicts(con, "llmbar", subset)
    ref = verdicts.wide["gold"]
    by_order = J.accuracy_by_order(verdicts, judge, ref)
    assert by_order["accuracy_AB"]["value"] * n == pytest.approx(c_ab)
    assert by_order["accuracy_BA"]["value"] * n == pytest.approx(c_ba)
    assert by_order["accuracy_both_orders"]["value"] * n == pytest.approx(c_both)
    assert by_order["accuracy_average"]["value"] == pytest.approx((c_ab + c_ba) / (2 * n))
    position = J.position_bias(verdicts, judge)
    assert position["swap_consistency"]["value"] * n == pytest.approx(equal)


@pytest.mark.parametrize(
    ("subset", "judge", "consistency"),
    [
        ("LLMBar/Natural", "GPT-4", 0.97),
        ("LLMBar/Natural", "PaLM2", 0.84),
        ("LLMBar/Natural", "LLaMA2", 0.74),
        ("LLMBar/Natural", "ChatGPT", 0.68),
        ("LLMBar/Natural", "Falcon", 0.60),
        ("LLMBar/Adversarial/GPTInst", "ChatGPT-0301", 0.33),
    ],
)
def test_llmbar_swap_consistency(con, subset, judge, consistency):
    verdicts = J.load_verdicts(con, "llmbar", subset)
    assert J.position_bias(verdicts, judge)["swap_consistency"]["value"] == pytest.approx(consistency, abs=0.005)


# JudgeBench paper (Tan et al., ICLR 2025) Tables 2 and 3, GPT-4o response pairs: Knowledge, Reasoning, Math,
# Coding, Overall.
JUDGEBENCH_TABLES = {
    "Skywork/Skywork-Reward-Gemma-2-27B": (59.74, 66.33, 83.93, 50.00, 64.29),
    "Skywork/Skywork-Reward-Llama-3.1-8B": (59.09, 64.29, 76.79, 50.00, 62.29),
    "internlm/internlm2-20b-reward": (62.34, 69.39, 66.07, 50.00, 63.43),
    "internlm/internlm2-7b-reward": (56.49, 61.22, 71.43, 50.00, 59.43),
    "Ray2333/GRM-Gemma-2B-rewardmodel-ft": (62.99, 53.06, 64.29, 54.76, 59.43),
    "o1-mini-2024-09-12 (arena_hard)": (58.44, 62.24, 82.14, 78.57, 65.71),
}


@pytest.mark.parametrize("judge", sorted(JUDGEBENCH_TABLES))
def test_judgebench_accuracy_matches_paper_tables(con, judge):
    verdicts = J.load_verdicts(con, "judgebench", "gpt-4o-2024-05-13")
    wide = verdicts.wide
    judged = verdicts.judged_pairs(judge)
    groups = verdicts.pairs["category"].str.split("/").str[0]
    expected = dict(zip(("Knowledge", "Reasoning", "Math", "Coding", "Overall"), JUDGEBENCH_TABLES[judge], strict=True))
    for group in ("Knowledge", "Reasoning", "Math", "Coding"):
        ids = judged[groups.reindex(judged) == group]
        assert J.accuracy(wide[judge], wide["gold"], ids).value * 100 == pytest.approx(expected[group], abs=0.01)
    assert J.accuracy(wide[judge], wide["gold"], judged).value * 100 == pytest.approx(expected["Overall"], abs=0.01)


def test_pandalm_agreement_with_human_majority(con):
    report = J.judges_report(con, "pandalm", boot=50, leaderboards=False)
    assert report["reference"] == J.HUMAN_MAJORITY
    acc = {j["judge"]: j["accuracy"]["value"] for j in report["judges"] if "accuracy" in j}
    assert acc["gpt-3.5-turbo"] * 100 == pytest.approx(69.8, abs=0.05)  # PandaLM paper / SOURCES.md
    assert acc["PandaLM-7B"] * 100 == pytest.approx(66.8, abs=0.05)
    humans = [
        a
        for a in report["agreement"]
        if a["judge_1"].startswith("PandaLM annotator") and a["judge_2"].startswith("PandaLM annotator")
    ]
    assert len(humans) == 3 and all(a["agreement_with_ties"]["n"] == 999 for a in humans)
    assert "flip_rate_from_two_labels" in report


def _llmbar_mean_over_orders(mirror, subset: str, judge: str) -> float:
    """LLMBar's accuracy of a judge on a subset, straight from the raw files: the mean of its two orders'
    accuracies (each order's winner is already in the original frame; a missing winner is wrong)."""
    path = mirror / "llmbar" / "Dataset" / subset / "evaluators" / judge / "Vanilla_NoRules" / "result.json.gz"
    rows = json.loads(gzip.decompress(path.read_bytes()))
    right = sum(
        str(r["results"][0][order].get("winner")) == str(r["label"])
        for r in rows
        for order in ("swap = False", "swap = True")
    )
    return right / (2 * len(rows))


def test_llmbar_shows_the_papers_figures_by_default(con, mirror):
    natural = J.judges_report(con, "llmbar", subset="LLMBar/Natural")
    assert natural["accuracy_convention"] == "mean_over_orders"  # the catalog's: LLMBar's tables
    gpt4 = next(j for j in natural["judges"] if j["judge"] == "GPT-4")
    assert J.headline_accuracy(gpt4, natural["accuracy_convention"])[0]["value"] == pytest.approx(0.935)
    assert J.bias_table(natural).set_index("judge").iloc[:, 2]["GPT-4"].startswith("93.5%")
    assert gpt4["accuracy"]["value"] == pytest.approx(0.92)  # the combined rule's figure stays a choice away

    members = ["Neighbor", "GPTInst", "GPTOut", "Manual"]
    pooled = J.judges_report(con, "llmbar", subset="LLMBar/Adversarial/*")
    assert pooled["pairs"] == 134 + 92 + 47 + 46
    for judge in ("GPT-4", "ChatGPT", "PaLM2"):
        entry = next(j for j in pooled["judges"] if j["judge"] == judge)
        raw = [_llmbar_mean_over_orders(mirror, f"LLMBar/Adversarial/{m}", judge) for m in members]
        for m, value in zip(members, raw, strict=True):
            assert entry["by_subset"][f"LLMBar/Adversarial/{m}"]["accuracy_average"]["value"] == pytest.approx(value)
        assert entry["subset_mean"]["accuracy_average"]["value"] == pytest.approx(sum(raw) / 4)
    gpt4 = next(j for j in pooled["judges"] if j["judge"] == "GPT-4")
    assert round(gpt4["subset_mean"]["accuracy_average"]["value"] * 100, 1) == 73.1  # the paper's Adversarial avg


def test_pandalm_counts_garbage_as_a_tie_by_default_as_upstream_does(con):
    report = J.judges_report(con, "pandalm")
    assert report["accuracy_convention"] == "unparsed_as_tie"
    got = {j["judge"]: J.headline_accuracy(j, "unparsed_as_tie")[0]["value"] for j in report["judges"]}
    assert round(got["gpt-3.5-turbo"] * 100, 2) == 71.07  # upstream data/compute_metrics.py prints 71.07 %
    assert round(got["PandaLM-7B"] * 100, 2) == 66.77
    strict = {j["judge"]: j["accuracy"]["value"] for j in report["judges"] if "accuracy" in j}
    assert round(strict["gpt-3.5-turbo"] * 100, 1) == 69.8  # its 25 garbage answers counted wrong


@pytest.mark.parametrize("judge", ["weighted_alpaca_eval_gpt4_turbo", "alpaca_eval_gpt4"])
def test_alpaca_eval_leaderboard_beside_the_published_one(con, judge):
    report = J.judges_report(con, "alpaca_eval")
    assert report["official_judge"] == "weighted_alpaca_eval_gpt4_turbo"  # the catalog's: AlpacaEval 2's evaluator
    board = report["leaderboards"][judge]
    table = J.leaderboard_table(board)
    assert board["baseline"] in {"gpt4_1106_preview", "text_davinci_003"}
    assert board["baseline"] not in set(table["generator"])  # the baseline is not ranked
    compared = table.dropna(subset=["published_lc_win_rate", "lc_win_rate_value"])
    assert len(compared) >= 7
    # raw win rates are upstream's exactly; LC with the jointly fitted instruction difficulty lands within 7 points
    # of upstream's (which also regularises toward 'gamed' baselines the files do not hold): documented, not hidden
    assert (compared["raw_win_rate_value"] - compared["published_raw_win_rate"]).abs().max() < 0.1
    assert compared["lc_minus_published"].abs().max() < 7.0
    # and closer than the difficulty-free ('minimal') GLM the page used before
    verdicts = J.load_verdicts(con, "alpaca_eval")
    minimal = J.lc_win_rates(verdicts.win_probabilities(judge), verdicts.pairs)
    before = compared["generator"].map(lambda g: 100 * minimal[g]["value"]) - compared["published_lc_win_rate"]
    assert compared["lc_minus_published"].abs().mean() < before.abs().mean()


def test_judge_cards_put_one_judge_side_by_side_across_subsets_and_datasets(con):
    from analytics import judgecard as C

    rows = {(r["dataset"], r["subset"]): r for r in C.judge_card(con, "GPT-4")["rows"]}
    assert rows[("llmbar", "LLMBar/Natural")]["accuracy"]["value"] == pytest.approx(0.935)  # the paper's convention
    assert rows[("llmbar", "LLMBar/Natural")]["swap_consistency"]["value"] == pytest.approx(0.97)
    assert {s for d, s in rows if d == "llmbar"} >= {"(all)", "LLMBar/Adversarial/Neighbor", "Processed/MT-Bench"}
    claude = C.judge_card(con, "claude", by_family=True)  # JudgeBench's Claude-3-Haiku and AlpacaEval's Claude-v1
    assert {r["dataset"] for r in claude["rows"]} >= {"judgebench", "alpaca_eval"}
    haiku = [r for r in claude["rows"] if r["dataset"] == "judgebench" and r["subset"] == "(all)"]
    report = J.judges_report(con, "judgebench")
    same = next(j for j in report["judges"] if j["judge"] == haiku[0]["judge"])
    assert haiku[0]["accuracy"] == same["accuracy"]  # JudgeBench's convention: the combined rule


def test_the_llmbar_judges_page_shows_the_papers_figures(con, store_path, monkeypatch, tmp_path):
    from streamlit.testing.v1 import AppTest

    from conftest import ROOT

    monkeypatch.setenv("PREFATLAS_STORE", str(store_path))
    monkeypatch.setenv("PREFATLAS_CACHE", str(tmp_path))

    def judges_page(subset: str) -> pd.DataFrame:
        at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=180)
        at.query_params["dataset"], at.query_params["subset"] = "llmbar", subset
        at.switch_page("views/judges.py")
        at.run()
        assert not at.exception
        return at

    bias = judges_page("LLMBar/Natural").dataframe[0].value.set_index("judge")
    accuracy = next(c for c in bias.columns if c.startswith("accuracy vs reference"))
    assert "mean of the two orders" in accuracy and bias.loc["GPT-4", accuracy].startswith("93.5%")
    at = judges_page("LLMBar/Adversarial/*")
    by_subset = next(d.value for d in at.dataframe if J.SUBSET_MEAN_COLUMN in d.value.columns and "pooled" in d.value)
    assert by_subset.set_index("judge").loc["GPT-4", J.SUBSET_MEAN_COLUMN].startswith("73.1%")
