"""Every catalog adapter on the real files of the mirror; counts checked against ../shared/data/SOURCES.md."""

from __future__ import annotations

import gzip
import json

import pytest

from analytics.catalog import fetch, ingest_entry, load_catalog
from analytics.store import connect, store_stats

pytestmark = pytest.mark.mirror


@pytest.fixture(scope="module")
def real_store(mirror, tmp_path_factory):
    path = tmp_path_factory.mktemp("real") / "store.duckdb"
    con = connect(path)
    summaries = {e.name: ingest_entry(con, e, mirror=mirror) for e in load_catalog().values()}
    yield con, summaries
    con.close()


def test_every_catalog_file_is_in_the_mirror(mirror):
    for entry in load_catalog().values():
        root = fetch(entry, mirror=mirror, cache=mirror / "__never_used__")
        assert root == mirror / entry.mirror_dir


def test_counts_match_sources(real_store):
    con, _ = real_store
    stats = store_stats(con)
    pandalm = stats["pandalm"]
    assert (pandalm["pairs"], pandalm["judges"], pandalm["judgments"]) == (999, 5, 999 * 5)
    llmbar = stats["llmbar"]
    assert llmbar["pairs"] == 885
    assert llmbar["subsets"] == {
        "LLMBar/Adversarial/GPTInst": 92,
        "LLMBar/Adversarial/GPTOut": 47,
        "LLMBar/Adversarial/Manual": 46,
        "LLMBar/Adversarial/Neighbor": 134,
        "LLMBar/Natural": 100,
        "Processed/FairEval": 66,
        "Processed/LLMEval^2": 200,
        "Processed/MT-Bench": 200,
    }
    natural = con.execute(
        """SELECT j.name, count(*), count(DISTINCT x.shown_order) FROM judgments x JOIN judges j USING (judge_id)
           JOIN pairs p USING (pair_id) WHERE p.subset = 'LLMBar/Natural' GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    assert natural == [
        ("ChatGPT", 200, 2),
        ("ChatGPT-0301", 200, 2),
        ("Falcon", 200, 2),
        ("GPT-4", 200, 2),
        ("LLaMA2", 200, 2),
        ("PaLM2", 200, 2),
        ("gold", 100, 0),
    ]
    judgebench = stats["judgebench"]
    assert judgebench["pairs"] == 350 + 270
    assert judgebench["judgments_per_judge"]["claude-3-haiku-20240307 (arena_hard)"] == 270 * 2
    assert judgebench["judgments_per_judge"]["o1-mini-2024-09-12 (arena_hard)"] == 350 * 2
    assert judgebench["judgments_per_judge"]["gold"] == 620
    assert stats["hh-rlhf-harmless-base"]["pairs"] == 2312
    alpaca = stats["alpaca_eval"]
    assert alpaca["judgments"] == 27 * 805 + 803  # 28 annotation files, phi-2's weighted file has 803 rows
    assert alpaca["prompts"] == 805


def test_pandalm_verdicts_match_raw_file(real_store, mirror):
    con, _ = real_store
    with gzip.open(mirror / "pandalm/data/gpt-3.5-turbo-testset-v1.json.gz", "rt") as f:
        rows = json.load(f)
    raw = {"1": 0, "2": 0, "Tie": 0, "garbage": 0}
    for r in rows:
        raw[r["gpt_result"]] += 1
    got = dict(
        con.execute(
            "SELECT verdict, count(*) FROM judgments x JOIN judges j USING (judge_id) WHERE j.name = 'gpt-3.5-turbo' "
            "GROUP BY 1"
        ).fetchall()
    )
    assert got == {"A": raw["1"], "B": raw["2"], "tie": raw["Tie"], "unparsed": raw["garbage"]}


def test_judgebench_second_game_flipped_on_real_rows(real_store, mirror):
    con, _ = real_store
    path = next((mirror / "judgebench/outputs").glob("*internlm2-20b*"))
    with gzip.open(path, "rt") as f:
        first = json.loads(f.readline())
    games = con.execute(
        """SELECT x.shown_order, x.verdict, x.score_a, x.score_b FROM judgments x JOIN pairs p USING (pair_id)
           JOIN judges j USING (judge_id) WHERE p.upstream_id = $id AND j.name = 'internlm/internlm2-20b-reward'
           ORDER BY 1""",
        {"id": first["pair_id"]},
    ).fetchall()
    s1 = first["judgments"][0]["judgment"]["scores"]
    s2 = first["judgments"][1]["judgment"]["scores"]
    assert games[0][2:] == (s1[0], s1[1])
    assert games[1][2:] == (s2[1], s2[0])  # swapped game mapped back to the pair's frame
    assert games[0][1] == games[1][1]  # a reward model is order-consistent


def test_second_ingest_of_the_mirror_changes_no_count(real_store, mirror):
    con, _ = real_store
    before = store_stats(con)
    again = {e.name: ingest_entry(con, e, mirror=mirror) for e in load_catalog().values()}
    assert {s.status for s in again.values()} == {"unchanged"}
    assert store_stats(con) == before
    forced = ingest_entry(con, load_catalog()["llmbar"], mirror=mirror, force=True)
    assert forced.status == "replaced"
    assert store_stats(con) == before
