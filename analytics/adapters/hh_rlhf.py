"""Anthropic HH-RLHF: chosen/rejected transcripts sharing everything up to the final assistant turn.

Each row becomes one pair: the last human turn is the prompt, earlier turns are its context, the final assistant
turn of ``chosen`` is response A and that of ``rejected`` is response B, with one crowd verdict 'A'. The shown
order is unknown (NULL). Rows whose transcripts part earlier keep the whole differing tail as the responses.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from analytics.adapters.base import BatchBuilder, IngestError, files_version, find, logical_name, read_records
from analytics.store import DatasetMeta, IngestBatch

_TURN = re.compile(r"(?:^|\n\n)(Human|Assistant):[ ]?")
_ROLE = {"Human": "user", "Assistant": "assistant"}
JUDGE = "HH-RLHF crowdworkers"


def split_turns(transcript: str) -> list[tuple[str, str]]:
    """[(role, text), ...] of an HH transcript; role is 'user' or 'assistant'."""
    parts = _TURN.split(transcript)
    # parts = [before, role1, text1, role2, text2, ...]
    return [(_ROLE[parts[i]], parts[i + 1].strip()) for i in range(1, len(parts) - 1, 2)]


def render_turns(turns: list[tuple[str, str]]) -> str:
    return "\n\n".join(f"{'Human' if r == 'user' else 'Assistant'}: {t}" for r, t in turns)


def pair_from_transcripts(chosen: str, rejected: str) -> tuple[str, list[dict], str, str]:
    """(prompt, context turns, chosen response, rejected response)."""
    a, b = split_turns(chosen), split_turns(rejected)
    common = 0
    while common < min(len(a), len(b)) and a[common] == b[common]:
        common += 1
    head = a[:common]
    # The prompt is the last human turn of the shared part; the responses are what follows it.
    last_user = max((i for i, (r, _) in enumerate(head) if r == "user"), default=None)
    if last_user is None:
        raise ValueError("no shared human turn before the responses")
    tail_a, tail_b = a[last_user + 1 :], b[last_user + 1 :]
    if len(tail_a) == 1 and len(tail_b) == 1 and tail_a[0][0] == tail_b[0][0] == "assistant":
        resp_a, resp_b = tail_a[0][1], tail_b[0][1]
    else:
        resp_a, resp_b = render_turns(tail_a), render_turns(tail_b)
    context = [{"role": r, "content": t} for r, t in head[:last_user]]
    return head[last_user][1], context, resp_a, resp_b


def load(root: Path, name: str = "hh-rlhf-harmless-base", split_glob: str = "*/*.jsonl") -> IngestBatch:
    root = Path(root)
    files = find(root, split_glob)
    if not files:
        raise IngestError(f"no HH-RLHF files matching {split_glob}[.gz] under {root}")
    bb = BatchBuilder()
    judge = bb.judge(JUDGE, "crowd", protocol="chosen/rejected")
    for path in files:
        label = logical_name(path, root)
        subset = label.split("/")[0]
        for i, row in enumerate(read_records(path, label), start=1):
            bb.rows_read += 1
            chosen, rejected = row.get("chosen"), row.get("rejected")
            if not isinstance(chosen, str) or not isinstance(rejected, str):
                bb.skip(label, i, "'chosen' or 'rejected' is missing or not text")
                continue
            try:
                prompt, context, resp_a, resp_b = pair_from_transcripts(chosen, rejected)
            except ValueError as exc:
                bb.skip(label, i, str(exc))
                continue
            k = bb.pair(
                subset=subset,
                prompt=prompt,
                context=json.dumps(context) if context else None,
                response_a=resp_a,
                response_b=resp_b,
                source_file=label,
                source_row=i,
            )
            bb.judgment(k, judge, "A", verdict_raw="chosen=A", source_file=label, source_row=i)
    meta = DatasetMeta(
        name=name, version=files_version(files), adapter="hh_rlhf", files=[logical_name(p, root) for p in files]
    )
    return bb.build(meta)
