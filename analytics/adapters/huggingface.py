"""A Hugging Face dataset id, read through the Hub's parquet export and the generic mapping adapter.

Needs the network; offline it fails within a few seconds with a message saying so. Without a mapping, a dataset
with HH-style ``chosen`` / ``rejected`` transcript columns is read as HH-RLHF.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pandas as pd

from analytics.adapters.base import BatchBuilder, IngestError
from analytics.adapters.hh_rlhf import JUDGE, pair_from_transcripts
from analytics.adapters.mapping import Mapping, build_batch, read_table
from analytics.ids import content_id
from analytics.store import DatasetMeta, IngestBatch

HF_ENDPOINT = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
CONNECT_TIMEOUT_S = 5


def _get(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=CONNECT_TIMEOUT_S) as resp:
            return resp.read()
    except urllib.error.HTTPError as exc:
        raise IngestError(
            f"the Hugging Face Hub answered {exc.code} for {url}: is the dataset id right and public?"
        ) from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise IngestError(
            f"cannot reach the Hugging Face Hub at {HF_ENDPOINT} ({getattr(exc, 'reason', exc)}); prefatlas is "
            "offline here. Download the dataset's files elsewhere and ingest them with --mapping."
        ) from exc


def parquet_urls(dataset_id: str, config: str | None = None, split: str | None = None) -> list[str]:
    """URLs of the Hub's parquet export for the dataset, optionally one config / split."""
    listing = json.loads(_get(f"{HF_ENDPOINT}/api/datasets/{urllib.parse.quote(dataset_id, safe='/')}/parquet"))
    urls = []
    for cfg, splits in listing.items():
        if config and cfg != config:
            continue
        for sp, files in splits.items():
            if split and sp != split:
                continue
            urls.extend(files)
    if not urls:
        raise IngestError(
            f"{dataset_id}: no parquet files for config={config!r} split={split!r}; "
            f"available: {json.dumps({c: list(s) for c, s in listing.items()})}"
        )
    return urls


def _hh_batch(frame: pd.DataFrame, name: str, label: str, version: str) -> IngestBatch:
    bb = BatchBuilder()
    judge = bb.judge(JUDGE, "crowd", protocol="chosen/rejected")
    for i, (chosen, rejected) in enumerate(zip(frame["chosen"], frame["rejected"], strict=True), start=1):
        bb.rows_read += 1
        try:
            prompt, context, a, b = pair_from_transcripts(str(chosen), str(rejected))
        except ValueError as exc:
            bb.skip(label, i, str(exc))
            continue
        k = bb.pair(
            prompt=prompt,
            context=json.dumps(context) if context else None,
            response_a=a,
            response_b=b,
            source_file=label,
            source_row=i,
        )
        bb.judgment(k, judge, "A", verdict_raw="chosen=A", source_file=label, source_row=i)
    return bb.build(DatasetMeta(name=name, version=version, adapter="huggingface", files=[label]))


def load(
    dataset_id: str,
    mapping: Mapping | None,
    cache: Path,
    config: str | None = None,
    split: str | None = None,
    name: str | None = None,
) -> IngestBatch:
    urls = parquet_urls(dataset_id, config, split)
    frames = []
    for url in urls:
        dest = Path(cache) / "huggingface" / content_id(url)
        if not dest.is_file():
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_suffix(".part")
            tmp.write_bytes(_get(url))
            tmp.replace(dest)
        frames.append(read_table(dest, "parquet"))
    frame = pd.concat(frames, ignore_index=True)
    label = f"hf:{dataset_id}"
    version = content_id(*urls)
    if mapping is None:
        if {"chosen", "rejected"} <= set(frame.columns):
            return _hh_batch(frame, name or dataset_id.replace("/", "__"), label, version)
        raise IngestError(
            f"{dataset_id} has columns {list(frame.columns)[:20]}; give --mapping to say which hold "
            "the prompt, the two responses and the verdicts"
        )
    batch = build_batch(frame, mapping, label, version)
    batch.meta.adapter = "huggingface"
    batch.meta.source = f"{HF_ENDPOINT}/datasets/{dataset_id}"
    return batch
