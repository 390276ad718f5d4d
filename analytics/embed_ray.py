"""Embedding as a Ray Data job, for more texts than one machine embeds in time: the texts still missing go out as
Parquet shards, a pool of actors (one GPU each where the cluster has GPUs) encodes them with the same model and
settings as the local path, and the vectors come back as Parquet that the store imports by (text hash, model
settings) — the store's cache stays the one truth. The same code runs on a laptop (a local Ray) and on a cluster
(`address="ray://head:10001"`). Ray is an optional extra: `pip install -e ".[ray]"`."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from analytics.embed import CHUNK, EmbedSettings, load_model, missing_ids, write_vectors
from analytics.store import StoreAccess


class TextEncoder:
    """A Ray actor: loads the model once, then encodes batches (text_id, text) into (text_id, vector)."""

    def __init__(self, settings: dict, device: str) -> None:
        self.settings = EmbedSettings(**settings)
        self.model = load_model(self.settings, device)

    def __call__(self, batch: dict) -> dict:
        vectors = self.model.encode(
            list(batch["text"]),
            batch_size=self.settings.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        ).astype(np.float32)
        return {"text_id": batch["text_id"], "vector": list(vectors)}


def embed_texts_ray(
    access: StoreAccess,
    texts: dict[str, str],
    settings: EmbedSettings | None = None,
    address: str | None = None,
    actors: int = 1,
    progress: Callable[[str], None] | None = None,
) -> int:
    """Embed the texts (text_id -> text) the store lacks with a Ray Data job; return how many were computed."""
    import ray

    settings = settings or EmbedSettings()
    say = progress or (lambda _message: None)
    with access.read() as con:
        todo = missing_ids(con, list(texts), settings)
    if not todo:
        return 0
    if not ray.is_initialized():
        ray.init(address=address, ignore_reinit_error=True, include_dashboard=False, log_to_driver=False)
    gpus = ray.cluster_resources().get("GPU", 0) > 0
    say(f"Ray: {len(todo):,} texts, {actors} actor(s) on {'GPU' if gpus else 'CPU'}")
    with tempfile.TemporaryDirectory(prefix="prefatlas-ray-") as folder:
        shards, out = Path(folder) / "texts", Path(folder) / "vectors"
        shards.mkdir()
        for n, start in enumerate(range(0, len(todo), CHUNK)):
            ids = todo[start : start + CHUNK]
            pq.write_table(
                pa.table({"text_id": ids, "text": [texts[i] for i in ids]}), shards / f"part-{n:05d}.parquet"
            )
        data = ray.data.read_parquet(str(shards))
        vectors = data.map_batches(
            TextEncoder,
            fn_constructor_kwargs={"settings": asdict(settings), "device": "cuda" if gpus else "cpu"},
            batch_size=max(settings.batch_size, 256),
            concurrency=actors,
            num_gpus=1 if gpus else 0,
            batch_format="numpy",
        )
        vectors.write_parquet(str(out))
        table = pq.read_table(out)
    ids = table.column("text_id").to_pylist()
    matrix = np.asarray(table.column("vector").to_pylist(), dtype=np.float32)
    write_vectors(access, ids, matrix, settings)
    say(f"Ray: {len(ids):,} vectors stored")
    return len(ids)
