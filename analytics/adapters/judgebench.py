"""JudgeBench (ScalerLab/JudgeBench): gold correctness labels plus reward models and LLM judges, two games each.

``data/*.jsonl`` hold the pairs (``label`` "A>B" / "B>A" is objective correctness). Each ``outputs/*.jsonl`` is one
judge: ``judgments[0]`` saw the pair in its own order (shown_order 'AB'), ``judgments[1]`` saw it swapped
('BA') and its ``decision`` (and reward-model ``scores``) are written in the swapped frame, so they are flipped
back here, as upstream's metrics code does. ``category`` is "<paper category>/<source>", e.g.
"Knowledge/mmlu-pro-law", so results can be grouped as in the paper's tables or by source.
Decisions: "A>B" -> A, "B>A" -> B, "A=B" -> tie, missing -> unparsed.
"""

from __future__ import annotations

import re
from pathlib import Path

from analytics.adapters.base import BatchBuilder, IngestError, files_version, find, logical_name, read_records, require
from analytics.families import model_family
from analytics.store import DatasetMeta, IngestBatch


# The paper's four categories (Tan et al., 2025, Table 1), from the upstream `source` field.
def paper_category(source: object) -> str:
    text = str(source or "")
    if text.startswith("mmlu-pro"):
        return "Knowledge"
    if text == "livebench-reasoning":
        return "Reasoning"
    if text == "livebench-math":
        return "Math"
    if text.startswith("livecodebench"):
        return "Coding"
    return "Other"


_DECISION = {"A>B": "A", "B>A": "B", "A=B": "tie"}
_FLIP = {"A": "B", "B": "A", "tie": "tie", "unparsed": "unparsed"}
_OUTPUT_NAME = re.compile(r"judge_name=(?P<judge>[^,]+),judge_model=(?P<model>.+?)\.jsonl$")


def decision_verdict(decision: object, swapped: bool) -> str:
    verdict = _DECISION.get(decision, "unparsed")  # type: ignore[arg-type]
    return _FLIP[verdict] if swapped else verdict


def load(root: Path, name: str = "judgebench") -> IngestBatch:
    root = Path(root)
    data_files = find(root, "data/*.jsonl")
    if not data_files:
        raise IngestError(f"no JudgeBench data/*.jsonl[.gz] under {root}")
    bb = BatchBuilder()
    gold = bb.judge("gold", "gold", protocol="JudgeBench label (objective correctness)")
    pair_of_id: dict[str, int] = {}
    for path in data_files:
        label = logical_name(path, root)
        for i, row in enumerate(read_records(path, label), start=1):
            bb.rows_read += 1
            pid = str(require(row, "pair_id", label, i))
            model = row.get("response_model")
            k = bb.pair(
                subset=model,
                category=f"{paper_category(row.get('source'))}/{row.get('source')}",
                prompt=str(require(row, "question", label, i)),
                response_a=str(require(row, "response_A", label, i)),
                response_b=str(require(row, "response_B", label, i)),
                model_a=model,
                model_b=model,
                upstream_id=pid,
                source_file=label,
                source_row=i,
            )
            pair_of_id[pid] = k
            bb.judgment(
                k,
                gold,
                _DECISION.get(row.get("label"), "unparsed"),
                verdict_raw=row.get("label"),
                source_file=label,
                source_row=i,
            )
    used = list(data_files)
    for path in find(root, "outputs/*.jsonl"):
        label = logical_name(path, root)
        m = _OUTPUT_NAME.search(label)
        if not m:
            bb.skip(label, None, "file name does not say judge_name=...,judge_model=...")
            continue
        used.append(path)
        protocol, model_slug = m["judge"], m["model"]
        kind = "reward_model" if protocol == "reward_model" else "llm"
        for i, row in enumerate(read_records(path, label), start=1):
            bb.rows_read += 1
            k = pair_of_id.get(str(row.get("pair_id")))
            if k is None:
                bb.skip(label, i, "pair_id not in JudgeBench data files")
                continue
            games = row.get("judgments") or []
            model = (games[0].get("judgment") or {}).get("judge_model") if games else None
            model = model or model_slug
            judge_name = model if kind == "reward_model" else f"{model} ({protocol})"
            judge = bb.judge(judge_name, kind, model=model, family=model_family(model), protocol=protocol)
            for g, game in enumerate(games[:2]):
                swapped = g == 1
                detail = game.get("judgment") or {}
                scores = detail.get("scores")
                score_a = score_b = None
                if isinstance(scores, list) and len(scores) == 2:
                    score_a, score_b = (scores[1], scores[0]) if swapped else (scores[0], scores[1])
                raw = game.get("decision")
                bb.judgment(
                    k,
                    judge,
                    decision_verdict(raw, swapped),
                    verdict_raw=raw,
                    shown_order="BA" if swapped else "AB",
                    score_a=score_a,
                    score_b=score_b,
                    rationale=detail.get("response") or None,
                    source_file=label,
                    source_row=i,
                )
    meta = DatasetMeta(
        name=name, version=files_version(used), adapter="judgebench", files=[logical_name(p, root) for p in used]
    )
    return bb.build(meta)
