"""Content-hash ids: the same content always gets the same id, in any dataset and any run."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# 12 bytes = 96 bits: collision odds stay negligible far beyond 10^9 rows.
_DIGEST_BYTES = 12
_SEP = "\x1f"  # unit separator: never part of normal text, so ("a", "bc") and ("ab", "c") differ
_NONE = "\x00"  # what None reads as


def content_id(*parts: object) -> str:
    """Hex id of the parts, each turned into text; None is distinct from the empty string."""
    text = _SEP.join(_NONE if p is None else str(p) for p in parts)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=_DIGEST_BYTES).hexdigest()


def _as_text(column: Iterable[object]) -> list[str]:
    return [_NONE if p is None else p if isinstance(p, str) else str(p) for p in column]


def _by_row(columns: tuple[Iterable[object], ...]) -> list[str]:
    joined = map(_SEP.join, zip(*map(_as_text, columns), strict=True))
    blake2b = hashlib.blake2b
    return [blake2b(t.encode("utf-8", "surrogatepass"), digest_size=_DIGEST_BYTES).hexdigest() for t in joined]


def _arrow_backed(column: object) -> bool:
    if isinstance(column, (pa.Array, pa.ChunkedArray)):
        return True
    dtype = getattr(column, "dtype", None)
    return isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"


class _NotPlainText(Exception):
    """A column holds something other than text or None: it is hashed row by row, as content_id reads it."""


def _utf8(column: Sequence[object] | pd.Series | pa.Array | pa.ChunkedArray) -> pa.Array:
    """The column as one Arrow UTF-8 array (nulls for None) when it is text and None only."""
    if isinstance(column, (pa.Array, pa.ChunkedArray)):
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            raise _NotPlainText
        array = column
    else:
        try:
            array = pa.array(column, type=pa.large_string())  # a list of anything else (a number, NaN) raises
        except (pa.ArrowException, TypeError, ValueError, UnicodeError):
            raise _NotPlainText from None
        if isinstance(column, pd.Series) and array.null_count:  # pandas' missing values read as their str()
            raise _NotPlainText
    if isinstance(array, pa.ChunkedArray):  # pandas' Arrow strings may come in pieces
        array = array.combine_chunks()
    return array.cast(pa.large_string())


def text_buffers(texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The bytes and the offsets (int64, relative to the bytes) of an Arrow string array without nulls: each
    text read where it lies."""
    texts = texts.cast(pa.large_string()) if texts.type != pa.large_string() else texts
    _, offsets, data = texts.buffers()
    offsets = np.frombuffer(offsets, dtype=np.int64)[texts.offset : texts.offset + len(texts) + 1]
    return np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8), offsets


def content_ids(*columns: Sequence[object] | pd.Series | pa.Array | pa.ChunkedArray) -> list[str]:
    """content_id over zipped columns (one id per row), the same ids. Where a column is Arrow text already (an
    Arrow array, or pandas' Arrow-backed strings: long texts, read without a copy), the columns are joined by
    Arrow and each row's UTF-8 bytes hashed where they lie (a million 700-byte texts: 2.4 s against 3.4 s as Python
    strings); otherwise, and for columns that hold other values than text and None, row by row."""
    if not any(_arrow_backed(c) for c in columns):
        return _by_row(columns)
    try:
        arrays = [_utf8(c) for c in columns]
    except _NotPlainText:
        return _by_row(columns)
    if len({len(a) for a in arrays}) > 1:
        raise ValueError("content_ids: the columns differ in length")
    text = pa.large_string()
    joined = pc.binary_join_element_wise(
        *(pc.fill_null(a, pa.scalar(_NONE, text)) for a in arrays), pa.scalar(_SEP, text)
    )
    data, offsets = text_buffers(joined)
    bounds = offsets.tolist()
    view = memoryview(data)
    blake2b = hashlib.blake2b
    return [blake2b(view[a:b], digest_size=_DIGEST_BYTES).hexdigest() for a, b in itertools.pairwise(bounds)]
