"""One compiled pass over each text for the word-level properties (analytics.properties' bulk path).

Regular expressions find words one match at a time (~75 ns a word even in Rust's engine), and repetition and
readability then need every word as a string. The patterns involved reduce to simple byte classes of UTF-8 (a word
is ASCII letters and digits with one apostrophe, ' or ’, inside; a sentence ends at '.', '!', '?' or a newline), so
one pass per text, in parallel over texts, gives the same counts: words (WORD), distinct word trigrams, sentences
(SENTENCE: every maximal run of characters other than '.!?' and newline is one) with a word in them and those
ending in '?', a 64-bit hash of each lower-cased word (for the syllable lookup), and, for plain-ASCII texts,
tokens (TOKEN: runs of [A-Za-z0-9_] plus every other character that is not whitespace; other texts need Unicode's
classes and are counted by a regular expression). Tests check every count against the Python reference.
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from analytics.ids import text_buffers

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_MIX_1 = np.uint64(0x9E3779B97F4A7C15)
_MIX_2 = np.uint64(0xC2B2AE3D27D4EB4F)

# byte classes: 1 = letter, 2 = digit, 4 = '_', 8 = whitespace as Python's Unicode \s reads ASCII, 16 = . ! ?
_CLASS = np.zeros(256, dtype=np.uint8)
for _c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz":
    _CLASS[_c] = 1
for _c in b"0123456789":
    _CLASS[_c] = 2
_CLASS[ord("_")] = 4
for _c in b"\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f ":
    _CLASS[_c] = 8
for _c in b".!?":
    _CLASS[_c] = 16


@numba.njit(cache=True, nogil=True)
def _hash_run(data, i, end, cls, mask, h):
    """Extend the hash h by the lower-cased bytes from i on while their class is in mask: (the next i, h)."""
    while i < end and cls[data[i]] & mask:
        b = data[i]
        if 65 <= b <= 90:
            b += 32
        h = (h ^ np.uint64(b)) * _FNV_PRIME
        i += 1
    return i, h


@numba.njit(cache=True, nogil=True)
def _scan(data, start, end, cls, hashes, starts, ends, out_at, words_only):
    """Scan data[start:end]; when out_at >= 0, write each word's hash and byte span from hashes[out_at],
    starts[out_at] and ends[out_at]. Returns (words, tokens, worded sentences, questions, distinct trigrams)."""
    words = 0
    tokens = 0
    worded = 0
    questions = 0
    i = start
    in_token_word = False
    end_tokens = start if words_only else end
    # tokens: a run of \w is one token, every other non-space character is one
    for j in range(start, end_tokens):
        c = cls[data[j]]
        if c & 7:
            if not in_token_word:
                tokens += 1
                in_token_word = True
        else:
            in_token_word = False
            if not (c & 8):
                tokens += 1
    # words: [A-Za-z0-9]+ then optionally "'" and [A-Za-z]+, leftmost first
    while i < end:
        c = cls[data[i]]
        if c & 3:
            first = i
            i, h = _hash_run(data, i, end, cls, 3, _FNV_OFFSET)
            # the apostrophe: ' (one byte) or ’ (U+2019, three bytes in UTF-8), then a letter
            quote = 0
            if i + 1 < end and data[i] == 39:
                quote = 1
            elif i + 3 < end and data[i] == 0xE2 and data[i + 1] == 0x80 and data[i + 2] == 0x99:
                quote = 3
            if quote and cls[data[i + quote]] & 1:
                for q in range(quote):
                    h = (h ^ np.uint64(data[i + q])) * _FNV_PRIME
                i, h = _hash_run(data, i + quote, end, cls, 1, h)
            if out_at >= 0:
                hashes[out_at + words] = h
                starts[out_at + words] = first
                ends[out_at + words] = i
            words += 1
        else:
            i += 1
    # sentences: each maximal run of characters other than . ! ? and newline
    i = start
    while i < end and not words_only:
        b = data[i]
        if b == 10 or cls[b] & 16:
            i += 1
            continue
        has_word = False
        while i < end and data[i] != 10 and not (cls[data[i]] & 16):
            if cls[data[i]] & 3:
                has_word = True
            i += 1
        last = 0
        while i < end and cls[data[i]] & 16:
            last = data[i]
            i += 1
        if has_word:
            worded += 1
        if last == 63:
            questions += 1
    distinct = 0
    if out_at >= 0 and words >= 3:
        keys = np.empty(words - 2, dtype=np.uint64)
        for k in range(words - 2):
            keys[k] = (hashes[out_at + k] * _MIX_1) ^ (hashes[out_at + k + 1] * _MIX_2) ^ hashes[out_at + k + 2]
        keys.sort()
        distinct = 1
        for k in range(1, words - 2):
            if keys[k] != keys[k - 1]:
                distinct += 1
    return words, tokens, worded, questions, distinct


@numba.njit(cache=True, nogil=True)
def _scan_texts(data, offsets, first, last, cls, word_at, hashes, starts, ends, stats, words_only):
    """_scan over texts first..last-1: their word counts only (into stats[:, 0]), or everything."""
    for t in range(first, last):
        r = _scan(
            data, offsets[t], offsets[t + 1], cls, hashes, starts, ends, -1 if words_only else word_at[t], words_only
        )
        for k in range(5):
            stats[t, k] = r[k]


def _in_parallel(n: int, work) -> None:
    """work(first, last) over n texts in one slice per core (the compiled scan lets go of the GIL; a parallel
    numba loop would cost seconds of compiling on a first run)."""
    cores = min(os.cpu_count() or 1, max(1, n // 1000))
    bounds = np.linspace(0, n, cores + 1).astype(int)
    if cores == 1:
        work(0, n)
        return
    with ThreadPoolExecutor(cores) as pool:
        list(pool.map(work, bounds[:-1], bounds[1:]))


class Scan:
    """The statistics of n texts: per text (arrays of n) words, tokens (right for plain-ASCII texts only),
    worded_sentences, questions, distinct_trigrams; per word, in text order: hashes (of the lower-cased word),
    text (its text's index), start and end (its bytes in `data`)."""

    def __init__(self, texts: pa.Array) -> None:
        self.data, offsets = text_buffers(texts)
        n = len(offsets) - 1
        stats = np.zeros((n, 5), dtype=np.int64)
        word_at = np.zeros(n, dtype=np.int64)
        none = np.empty(0, dtype=np.int64)

        def count(first: int, last: int) -> None:
            _scan_texts(self.data, offsets, first, last, _CLASS, word_at, none.view(np.uint64), none, none, stats, True)

        _in_parallel(n, count)
        self.words = stats[:, 0].copy()
        np.cumsum(self.words[:-1], out=word_at[1:])
        total = int(self.words.sum())
        self.hashes = np.empty(total, dtype=np.uint64)
        self.start = np.empty(total, dtype=np.int64)
        self.end = np.empty(total, dtype=np.int64)

        def scan(first: int, last: int) -> None:
            _scan_texts(
                self.data, offsets, first, last, _CLASS, word_at, self.hashes, self.start, self.end, stats, False
            )

        _in_parallel(n, scan)
        self.tokens, self.worded_sentences, self.questions, self.distinct_trigrams = stats[:, 1:].T
        self.text = np.repeat(np.arange(n), self.words)

    def word(self, index: int) -> str:
        """The lower-cased word `index`."""
        return bytes(self.data[self.start[index] : self.end[index]]).decode("utf-8").lower()


# ---------------------------------------------------------------------------------------------------------------
# syllables: pyphen's hyphenation points (Liang's algorithm over its en_US patterns), for many words at once

_DOT = 28  # codes: a-z 1..26, "'" 27, the word's boundary '.' 28; anything else ends every pattern
_LETTER_CODE = np.zeros(256, dtype=np.int64)
for _c in range(26):
    _LETTER_CODE[ord("a") + _c] = _c + 1
_LETTER_CODE[ord("'")] = 27


class _Patterns:
    """pyphen's patterns as a trie in arrays: transitions (node x code -> node, -1 for none), and for each node
    that ends a pattern its first value's offset in the word and its values."""

    def __init__(self, hyphenator) -> None:
        codes = {chr(ord("a") + c): c + 1 for c in range(26)} | {"'": 27, ".": _DOT}
        transitions = [np.full(_DOT + 1, -1, dtype=np.int64)]
        ends: dict[int, tuple[int, tuple[int, ...]]] = {}
        for pattern, (offset, values) in hyphenator.hd.patterns.items():
            if any(c not in codes for c in pattern):
                continue  # é, ’, ligatures: never in the words this path is given
            node = 0
            for c in pattern:
                code = codes[c]
                if transitions[node][code] < 0:
                    transitions[node][code] = len(transitions)
                    transitions.append(np.full(_DOT + 1, -1, dtype=np.int64))
                node = transitions[node][code]
            ends[node] = (offset, tuple(int(v) for v in values))
        self.transitions = np.stack(transitions)
        self.pattern_offset = np.full(len(transitions), -1, dtype=np.int64)
        self.value_at = np.zeros(len(transitions), dtype=np.int64)
        self.value_count = np.zeros(len(transitions), dtype=np.int64)
        flat: list[int] = []
        for node, (offset, values) in ends.items():
            self.pattern_offset[node], self.value_at[node], self.value_count[node] = offset, len(flat), len(values)
            flat.extend(values)
        self.values = np.array(flat, dtype=np.int64)
        self.left, self.right = hyphenator.left, hyphenator.right


@numba.njit(cache=True, nogil=True)
def _syllables(codes, offsets, transitions, pattern_offset, value_at, value_count, values, left, right, out):
    for w in range(len(offsets) - 1):
        start, n = offsets[w], offsets[w + 1] - offsets[w]
        size = n + 2  # the word between two boundary dots
        points = np.zeros(size + 1, dtype=np.int64)
        for i in range(size - 1):
            node = 0
            for j in range(i, size):
                code = _DOT if j == 0 or j == size - 1 else codes[start + j - 1]
                if code == 0:
                    break
                node = transitions[node, code]
                if node < 0:
                    break
                if pattern_offset[node] >= 0:
                    for q in range(value_count[node]):
                        k = i + pattern_offset[node] + q
                        if k <= size and values[value_at[node] + q] > points[k]:
                            points[k] = values[value_at[node] + q]
        count = 1
        for k in range(size + 1):
            if points[k] % 2 == 1 and left <= k - 1 <= n - right:
                count += 1
        out[w] = count


@functools.cache
def _patterns_of(hyphenator) -> _Patterns:
    return _Patterns(hyphenator)


def syllable_counts(words: list[str], hyphenator) -> np.ndarray:
    """pyphen's syllables (hyphenation points + 1) of lower-cased words, by a pyphen.Pyphen: plain-ASCII words by
    the compiled trie walk over its patterns, any other by pyphen itself."""
    out = np.zeros(len(words), dtype=np.float64)
    if not words:
        return out
    array = pa.array(words, type=pa.large_string())
    data, offsets = text_buffers(array)
    ascii_ = np.asarray(pc.equal(pc.binary_length(array), pc.utf8_length(array)))
    counts = np.zeros(len(words), dtype=np.int64)
    p = _patterns_of(hyphenator)
    _syllables(
        _LETTER_CODE[data],
        offsets,
        p.transitions,
        p.pattern_offset,
        p.value_at,
        p.value_count,
        p.values,
        p.left,
        p.right,
        counts,
    )
    out[:] = counts
    for i in np.flatnonzero(~ascii_):
        out[i] = len(hyphenator.positions(words[i])) + 1
    return out
