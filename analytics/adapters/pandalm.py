"""PandaLM human-annotated test set: 3 annotators, gpt-3.5-turbo and PandaLM-7B on the same 999 pairs (by ``idx``).

Labels: annotators and PandaLM-7B use 0 = tie, 1 = response1, 2 = response2; gpt-3.5-turbo uses "1", "2", "Tie",
and "garbage" (its answer could not be parsed) which is kept as 'unparsed', never as a tie. The order shown to
the judges was fixed (response1 first), so shown_order is 'AB'. Generators come from ``cmp_key`` ("<A>_<B>").
"""

from __future__ import annotations

from pathlib import Path

from analytics.adapters.base import BatchBuilder, IngestError, files_version, find, logical_name, read_records, require
from analytics.store import DatasetMeta, IngestBatch

TESTSET = "data/testset-v1.json"
GPT = "data/gpt-3.5-turbo-testset-v1.json"
PANDALM = "data/pandalm-7b-testset-v1.json"
_CODES = {0: "tie", 1: "A", 2: "B", "0": "tie", "1": "A", "2": "B", "Tie": "tie", "tie": "tie"}


def verdict_of(value: object) -> str:
    return _CODES.get(value, "unparsed")  # type: ignore[arg-type]


def _one(root: Path, rel: str) -> Path:
    found = find(root, rel)
    if not found:
        raise IngestError(f"PandaLM file {rel}[.gz] not found under {root}")
    return found[0]


def load(root: Path, name: str = "pandalm") -> IngestBatch:
    root = Path(root)
    test_path = _one(root, TESTSET)
    test_label = logical_name(test_path, root)
    bb = BatchBuilder()
    humans = [bb.judge(f"PandaLM annotator {k}", "human", protocol="PandaLM human annotation") for k in (1, 2, 3)]
    pair_of_idx: dict[object, int] = {}
    for i, row in enumerate(read_records(test_path, test_label), start=1):
        bb.rows_read += 1
        idx = require(row, "idx", test_label, i)
        cmp_key = str(row.get("cmp_key") or "")
        model_a, _, model_b = cmp_key.partition("_")
        instruction = str(require(row, "instruction", test_label, i))
        extra = row.get("input") or ""
        prompt = f"{instruction}\n\n{extra}" if extra.strip() else instruction
        k = bb.pair(
            category=row.get("motivation_app"),
            prompt=prompt,
            response_a=str(require(row, "response1", test_label, i)),
            response_b=str(require(row, "response2", test_label, i)),
            model_a=model_a or None,
            model_b=model_b or None,
            upstream_id=idx,
            source_file=test_label,
            source_row=i,
        )
        pair_of_idx[idx] = k
        for judge, field in zip(humans, ("annotator1", "annotator2", "annotator3"), strict=True):
            value = row.get(field)
            bb.judgment(
                k, judge, verdict_of(value), verdict_raw=value, shown_order="AB", source_file=test_label, source_row=i
            )
    files = [test_path]
    for rel, judge_name, model, field, reason_field, kind in (
        (GPT, "gpt-3.5-turbo", "gpt-3.5-turbo", "gpt_result", "gpt_reason", "llm"),
        (PANDALM, "PandaLM-7B", "PandaLM-7B", "pandalm_result", "pandalm_reason", "llm"),
    ):
        found = find(root, rel)
        if not found:
            bb.skip(rel, None, "judge file not found; judge left out")
            continue
        path = found[0]
        files.append(path)
        label = logical_name(path, root)
        judge = bb.judge(judge_name, kind, model=model, family=model.split("-")[0].lower(), protocol="PandaLM")
        for i, row in enumerate(read_records(path, label), start=1):
            bb.rows_read += 1
            idx = require(row, "idx", label, i)
            if idx not in pair_of_idx:
                bb.skip(label, i, f"idx {idx!r} not in the test set")
                continue
            value = row.get(field)
            bb.judgment(
                pair_of_idx[idx],
                judge,
                verdict_of(value),
                verdict_raw=value,
                shown_order="AB",
                rationale=row.get(reason_field),
                source_file=label,
                source_row=i,
            )
    meta = DatasetMeta(
        name=name, version=files_version(files), adapter="pandalm", files=[logical_name(p, root) for p in files]
    )
    return bb.build(meta)
