"""LLMBar (princeton-nlp/LLMBar): gold labels plus LLM judges, each run in both presentation orders.

``Dataset/<group>/<subset>/dataset.json`` holds ``{input, output_1, output_2, label}`` (label 1/2 = the
objectively better output). ``evaluators/<judge>/Vanilla_NoRules/result.json`` repeats the rows with
``results[0]["swap = False"|"swap = True"]["winner"]``, already in the original output_1/output_2 frame, so the
swap=False run is stored with shown_order 'AB' and the swap=True run with 'BA'. A missing winner is 'unparsed'.
Rows of a result file are matched to the dataset by content (input, output_1, output_2), not by position.
"""

from __future__ import annotations

from pathlib import Path

from analytics.adapters.base import BatchBuilder, IngestError, files_version, find, logical_name, read_records, require
from analytics.families import model_family
from analytics.store import DatasetMeta, IngestBatch

STRATEGY = "Vanilla_NoRules"
JUDGE_MODELS = {
    "GPT-4": "gpt-4",
    "ChatGPT": "gpt-3.5-turbo-0613",
    "ChatGPT-0301": "gpt-3.5-turbo-0301",
    "LLaMA2": "Llama-2-70B-Chat",
    "PaLM2": "text-bison-001",
    "Falcon": "Falcon-180B-Chat",
}
GOLD = "gold"
_WINNER = {"1": "A", "2": "B", 1: "A", 2: "B"}


def load(root: Path, name: str = "llmbar", strategy: str = STRATEGY) -> IngestBatch:
    root = Path(root)
    dataset_files = find(root, "Dataset/**/dataset.json")
    if not dataset_files:
        raise IngestError(f"no LLMBar Dataset/**/dataset.json[.gz] under {root}")
    bb = BatchBuilder()
    gold = bb.judge(GOLD, "gold", protocol="LLMBar label (objectively better output)")
    used = list(dataset_files)
    for dpath in dataset_files:
        dlabel = logical_name(dpath, root)
        subset = dlabel.removeprefix("Dataset/").removesuffix("/dataset.json")
        row_of_key: dict[tuple, int] = {}
        for i, row in enumerate(read_records(dpath, dlabel), start=1):
            bb.rows_read += 1
            key = tuple(str(require(row, f, dlabel, i)) for f in ("input", "output_1", "output_2"))
            k = bb.pair(
                subset=subset,
                prompt=key[0],
                response_a=key[1],
                response_b=key[2],
                upstream_id=i,
                source_file=dlabel,
                source_row=i,
            )
            row_of_key.setdefault(key, k)
            label = row.get("label")
            bb.judgment(k, gold, _WINNER.get(label, "unparsed"), verdict_raw=label, source_file=dlabel, source_row=i)
        evaluators = dpath.parent / "evaluators"
        for rpath in find(evaluators, f"*/{strategy}/result.json") if evaluators.is_dir() else []:
            used.append(rpath)
            rlabel = logical_name(rpath, root)
            judge_name = rpath.relative_to(evaluators).parts[0]
            model = JUDGE_MODELS.get(judge_name, judge_name)
            judge = bb.judge(judge_name, "llm", model=model, family=model_family(model), protocol=f"LLMBar {strategy}")
            for i, row in enumerate(read_records(rpath, rlabel), start=1):
                bb.rows_read += 1
                key = tuple(str(row.get(f)) for f in ("input", "output_1", "output_2"))
                k = row_of_key.get(key)
                if k is None:
                    bb.skip(rlabel, i, "row not found in the subset's dataset.json")
                    continue
                results = row.get("results") or [{}]
                for swap_key, order in (("swap = False", "AB"), ("swap = True", "BA")):
                    run = results[0].get(swap_key)
                    if run is None:
                        continue
                    winner = run.get("winner")
                    completion = run.get("completion")
                    bb.judgment(
                        k,
                        judge,
                        _WINNER.get(winner, "unparsed"),
                        verdict_raw=winner,
                        shown_order=order,
                        rationale=completion[0] if isinstance(completion, list) and completion else None,
                        source_file=rlabel,
                        source_row=i,
                    )
    meta = DatasetMeta(
        name=name, version=files_version(used), adapter="llmbar", files=[logical_name(p, root) for p in used]
    )
    return bb.build(meta)
