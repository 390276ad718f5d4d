"""Ingest adapters: each turns one upstream layout into an IngestBatch (nothing is written until the store does)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from analytics.adapters import alpaca_eval, hh_rlhf, judgebench, llmbar, pandalm
from analytics.store import IngestBatch

# Adapters that read a folder laid out as upstream. The generic mapping adapter and Hugging Face ids take other
# arguments and live in analytics.adapters.mapping / analytics.adapters.huggingface.
ADAPTERS: dict[str, Callable[..., IngestBatch]] = {
    "hh_rlhf": hh_rlhf.load,
    "alpaca_eval": alpaca_eval.load,
    "llmbar": llmbar.load,
    "judgebench": judgebench.load,
    "pandalm": pandalm.load,
}


def load_folder(adapter: str, root: Path, name: str | None = None) -> IngestBatch:
    if adapter not in ADAPTERS:
        raise ValueError(f"unknown adapter '{adapter}'; choose one of {', '.join(ADAPTERS)} (or use --mapping)")
    return ADAPTERS[adapter](Path(root), **({"name": name} if name else {}))
