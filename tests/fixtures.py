"""Tiny upstream-layout datasets written in code (no data files committed), for adapter and store tests."""

from __future__ import annotations

import gzip
import json
from pathlib import Path


def _write(path: Path, payload: object, gz: bool = False, lines: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(json.dumps(r) for r in payload) + "\n" if lines else json.dumps(payload)  # type: ignore[union-attr]
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def write_llmbar(root: Path, gz: bool = True) -> Path:
    rows = [
        {"input": "Say hi", "output_1": "hi", "output_2": "bye", "label": 1},
        {"input": "Add 2+2", "output_1": "5", "output_2": "4", "label": 2},
        {"input": "Name a colour", "output_1": "red", "output_2": "table", "label": 1},
    ]
    sub = root / "Dataset" / "LLMBar" / "Natural"
    _write(sub / "dataset.json", rows, gz)
    # GPT-4: consistent; winner already in the original frame. Row 3 in swap=True has no winner (unparsed).
    results = [
        {"swap = False": {"winner": "1", "completion": ["Output (a)"]}, "swap = True": {"winner": "1"}},
        {"swap = False": {"winner": "2"}, "swap = True": {"winner": "2"}},
        {"swap = False": {"winner": "1"}, "swap = True": {"winner": None}},
    ]
    judged = [dict(r, results=[res]) for r, res in zip(rows, results, strict=True)]
    _write(sub / "evaluators" / "GPT-4" / "Vanilla_NoRules" / "result.json", judged, gz)
    # Falcon: always picks whatever is shown first -> winner flips with swap (position-inconsistent).
    first = [dict(r, results=[{"swap = False": {"winner": "1"}, "swap = True": {"winner": "2"}}]) for r in rows]
    _write(sub / "evaluators" / "Falcon" / "Vanilla_NoRules" / "result.json", first, gz)
    return root


def write_pandalm(root: Path) -> Path:
    base = {"motivation_app": "Grammarly", "instruction": "Shorten", "input": "a long sentence"}
    rows = [
        dict(
            base,
            idx=0,
            cmp_key="llama-7b_opt-7b",
            response1="short",
            response2="a sentence",
            annotator1=1,
            annotator2=1,
            annotator3=0,
        ),
        # idx 1 repeats idx 0's content: it must stay a separate pair (PandaLM has 99 such rows).
        dict(
            base,
            idx=1,
            cmp_key="llama-7b_opt-7b",
            response1="short",
            response2="a sentence",
            annotator1=2,
            annotator2=1,
            annotator3=1,
        ),
        dict(
            base,
            idx=2,
            cmp_key="bloom-7b_pythia-6.9b",
            response1="x",
            response2="y",
            input="",
            annotator1=2,
            annotator2=2,
            annotator3=2,
        ),
    ]
    _write(root / "data" / "testset-v1.json", rows)
    _write(
        root / "data" / "gpt-3.5-turbo-testset-v1.json",
        [
            {"idx": 0, "gpt_result": "1", "gpt_reason": "r"},
            {"idx": 1, "gpt_result": "garbage", "gpt_reason": ""},
            {"idx": 2, "gpt_result": "Tie", "gpt_reason": "t"},
        ],
    )
    _write(
        root / "data" / "pandalm-7b-testset-v1.json",
        [{"idx": 0, "pandalm_result": 0}, {"idx": 1, "pandalm_result": 2}, {"idx": 2, "pandalm_result": 1}],
    )
    return root


def write_judgebench(root: Path) -> Path:
    pairs = [
        {
            "pair_id": "p1",
            "original_id": 1,
            "source": "mmlu-pro-law",
            "question": "Q1",
            "response_model": "gpt-4o",
            "response_A": "right",
            "response_B": "wrong",
            "label": "A>B",
        },
        {
            "pair_id": "p2",
            "original_id": 2,
            "source": "livebench-math",
            "question": "Q2",
            "response_model": "gpt-4o",
            "response_A": "wrong",
            "response_B": "right",
            "label": "B>A",
        },
    ]
    _write(root / "data" / "dataset=judgebench,response_model=gpt-4o.jsonl", pairs, lines=True)

    def games(d1: str | None, d2: str | None, s1=None, s2=None) -> list[dict]:
        return [
            {"judgment": {"judge_model": "rm/x", "scores": s1}, "decision": d1},
            {"judgment": {"judge_model": "rm/x", "scores": s2}, "decision": d2},
        ]

    # Reward model: game 2 sees B first, so its scores and decision are in the swapped frame.
    rm = [
        dict(pairs[0], judge_name="reward_model", judgments=games("A>B", "B>A", [2.0, 1.0], [1.0, 2.0])),
        dict(pairs[1], judge_name="reward_model", judgments=games("B>A", "A>B", [0.5, 3.0], [3.0, 0.5])),
    ]
    _write(
        root / "outputs" / "dataset=judgebench,response_model=gpt-4o,judge_name=reward_model,judge_model=rm_x.jsonl",
        rm,
        lines=True,
    )
    # LLM judge: prefers the first-shown answer in game 2 (decision "A>B" in the swapped frame = B), tie, missing.
    llm = [
        dict(pairs[0], judge_name="arena_hard", judgments=games("A>B", "A>B")),
        dict(pairs[1], judge_name="arena_hard", judgments=games("A=B", None)),
    ]
    for row in llm:
        for g in row["judgments"]:
            g["judgment"]["judge_model"] = "o1-mini"
    _write(
        root / "outputs" / "dataset=judgebench,response_model=gpt-4o,judge_name=arena_hard,judge_model=o1-mini.jsonl",
        llm,
        lines=True,
    )
    return root


def write_alpaca_eval(root: Path, leaderboard: bool = False) -> Path:
    """Two evaluators on four instructions (baseline gpt4_1106_preview vs tiny-model); with `leaderboard`, upstream's
    AlpacaEval 2 leaderboard file too (published win rates: tiny-model 40 % raw, 45 % LC)."""
    base = {"generator_1": "gpt4_1106_preview", "generator_2": "tiny-model", "dataset": "koala"}
    texts = [
        ("I1", "base 1", "model 1"),
        ("I2", "base 2", "model 2"),
        ("I3", "base 3", "model 3"),
        ("I4", "base 4", "model 4"),
    ]
    prefs = {"alpaca_eval_gpt4_turbo_fn": [1, 2, 1.5, None], "weighted_alpaca_eval_gpt4_turbo": [1.2, 1.9, 1.5, 1.0]}
    for evaluator, values in prefs.items():
        rows = [
            dict(base, instruction=i, output_1=o1, output_2=o2, annotator=evaluator, preference=p)
            for (i, o1, o2), p in zip(texts, values, strict=True)
        ]
        _write(root / "results" / "tiny-model" / evaluator / "annotations.json", rows, gz=True)
    if leaderboard:
        board = root / "src/alpaca_eval/leaderboards/data_AlpacaEval_2/weighted_alpaca_eval_gpt4_turbo_leaderboard.csv"
        board.parent.mkdir(parents=True, exist_ok=True)
        board.write_text(
            ",win_rate,standard_error,length_controlled_winrate,lc_standard_error\n"
            "gpt4_1106_preview,50.0,0.0,50.0,0.0\ntiny-model,40.0,2.5,45.0,1.5\nnot-in-the-data,70.0,1.0,60.0,1.0\n"
        )
    return root


def write_hh(root: Path) -> Path:
    rows = [
        {
            "chosen": "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: how to pick a lock?\n\nAssistant: I can't help.",
            "rejected": "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: how to pick a lock?\n\nAssistant: Use a pin.",
        },
        {"chosen": "\n\nHuman: q\n\nAssistant: a good", "rejected": "\n\nHuman: q\n\nAssistant: a bad"},
    ]
    _write(root / "harmless-base" / "test.jsonl", rows, gz=True, lines=True)
    return root
