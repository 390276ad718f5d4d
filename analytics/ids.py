"""Content-hash ids: the same content always gets the same id, in any dataset and any run."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

# 12 bytes = 96 bits: collision odds stay negligible far beyond 10^9 rows.
_DIGEST_BYTES = 12
_SEP = "\x1f"  # unit separator: never part of normal text, so ("a", "bc") and ("ab", "c") differ


def content_id(*parts: object) -> str:
    """Hex id of the parts, each turned into text; None is distinct from the empty string."""
    text = _SEP.join("\x00" if p is None else str(p) for p in parts)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=_DIGEST_BYTES).hexdigest()


def _as_text(column: Iterable[object]) -> list[str]:
    return ["\x00" if p is None else p if isinstance(p, str) else str(p) for p in column]


def content_ids(*columns: Iterable[object]) -> list[str]:
    """content_id over zipped columns (one id per row): the same ids, with the per-row work done column by column
    (a million rows take about a second)."""
    joined = map(_SEP.join, zip(*map(_as_text, columns), strict=True))
    blake2b = hashlib.blake2b
    return [blake2b(t.encode("utf-8", "surrogatepass"), digest_size=_DIGEST_BYTES).hexdigest() for t in joined]
