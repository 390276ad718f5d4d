"""Response properties computed without any paid API, and the pair features built from them (Preference Dissection).

Each property has a one-line definition (shown in the UI), a Python reference implementation (one text at a time)
and a bulk implementation (a whole dataset at once: Rust's regex over whole columns through Polars, and one compiled
pass per plain-ASCII text for the word-level properties, analytics.wordscan). Every pattern is written in the syntax
Python's `re` (ASCII mode) and Rust's regex read the same way, so both give the same values; tests check that on
real data. The markdown structure counts follow Chatbot Arena's
style features (line rules: ATX headings, list items, bold spans), plus fenced code blocks and table delimiter rows.

Pair features follow Li et al. (2024), "Dissecting Human and LLM Preferences": the sign of the difference A - B,
with the paper's rule for length; a normalised-difference variant is offered too.
"""

from __future__ import annotations

import functools
import math
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import emoji
import numpy as np
import pandas as pd
import pyarrow as pa
import pyphen

from analytics.store import insert_new, transaction

if TYPE_CHECKING:
    import polars as pl

PROPERTIES_SOURCE = "prefatlas-2"  # bump when a definition changes: stored values are keyed by it

_WS = r"[\t\n\x0b\x0c\r ]"  # ASCII whitespace, spelled out: Rust's \s is Unicode's, Python's (ASCII) \s has \v
_NOT_WS = r"[^\t\n\x0b\x0c\r ]"
CODE_FENCE = r"(?s)```.*?(?:```|$)"
WORD = r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?"
SENTENCE = r"(?m)[^.!?\n]+[.!?]+|[^.!?\n]+$"
HEADER = rf"(?m)^#{{1,6}}{_WS}"
LIST_ITEM = rf"(?m)^{_WS}*(?:[0-9]+\.|[-*+]){_WS}"
BOLD = r"\*\*[^\n*]+?\*\*|__[^\n_]+?__"
TABLE_RULE = r"(?m)^[ \t|:-]+$"  # a delimiter row: only '|', '-', ':' and blanks; counted when it has '|' and '-'
URL = rf"https?://{_NOT_WS}+|www\.{_NOT_WS}+"
REFUSAL = (
    rf"(?i)\b(?:i{_WS}*(?:can(?:'|’)?t|cannot|am unable to|'m unable to|am not able to|'m not able to|"
    r"won(?:'|’)t be able to)|as an ai\b|as a language model|"
    r"i don(?:'|’)?t have (?:access|the ability|personal|real-time)|"
    r"i(?:'|’)m not (?:sure|certain|a (?:doctor|lawyer|financial))|i do not have (?:access|the ability))"
)
APOLOGY = r"(?i)\b(?:sorry|apologi[sz]e|apologies|my mistake|my bad)\b"
HEDGE = (
    r"(?i)\b(?:might|may|perhaps|possibly|probably|likely|generally|typically|usually|it depends|seems?|"
    r"could be|i think|i believe|in some cases|not necessarily|arguably)\b"
)
CITATION = r"(?i)\[[0-9]+\]|\baccording to\b|\bsources?:|\breferences?:|\bstud(?:y|ies) (?:by|from|show)|\bet al\.?"
SLANG = (
    r"(?i)\b(?:lol|lmao|omg|gonna|wanna|gotta|kinda|sorta|btw|tbh|imo|imho|dude|yeah|yep|nope|hey|"
    r"awesome|cool)\b|!!+"
)
# Tokens are Unicode: `\w+|[^\w\s]` as Python reads it (the bulk path spells the same classes out, _TOKEN_RUST)
TOKEN = r"\w+|[^\w\s]"
# Python's \s: ASCII's whitespace and the separators, \x85 and \p{Z}
TOKEN_SPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + ("\u2028\u2029\u202f\u205f\u3000")
)
HAS_WORD = r"[A-Za-z0-9]"


@functools.cache
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(pattern) if pattern == TOKEN else re.compile(pattern, re.ASCII)


def _count(pattern: str, text: str) -> int:
    return len(_compiled(pattern).findall(text))


_HYPHENATOR = pyphen.Pyphen(lang="en_US")


@functools.lru_cache(maxsize=200_000)
def syllables(word: str) -> int:
    """Syllables of a word: pyphen's (en_US) hyphenation points + 1."""
    return len(_HYPHENATOR.positions(word.lower())) + 1


def _prose(text: str) -> str:
    """The text without fenced code blocks (code is not prose: its '?' or '#' mean nothing here)."""
    return _compiled(CODE_FENCE).sub(" ", text or "")


def _sentences(prose: str) -> list[str]:
    return _compiled(SENTENCE).findall(prose)


def words(text: str, prompt: str = "") -> float:
    return float(_count(WORD, text or ""))


def tokens(text: str, prompt: str = "") -> float:
    return float(_count(TOKEN, text or ""))


def _in_prose(pattern: str) -> Callable[[str, str], float]:
    def count(text: str, prompt: str = "") -> float:
        return float(_count(pattern, _prose(text)))

    return count


def code_blocks(text: str, prompt: str = "") -> float:
    return float(_count(CODE_FENCE, text or ""))


def tables(text: str, prompt: str = "") -> float:
    return float(sum(1 for line in _compiled(TABLE_RULE).findall(_prose(text)) if "|" in line and "-" in line))


def questions(text: str, prompt: str = "") -> float:
    return float(sum(1 for s in _sentences(_prose(text)) if s.endswith("?")))


def citations(text: str, prompt: str = "") -> float:
    prose = _prose(text)
    return float(_count(URL, prose) + _count(CITATION, prose))


def _emoji_class(escape: Callable[[int], str]) -> str:
    """A character class of every non-ASCII code point that occurs in any emoji of the emoji package (every emoji
    holds at least one): a text without one has no emoji, and the slow emoji_count is never called on it."""
    points = sorted({ord(c) for key in emoji.EMOJI_DATA for c in key if ord(c) > 127})
    ranges: list[list[int]] = []
    for point in points:
        if ranges and point == ranges[-1][1] + 1:
            ranges[-1][1] = point
        else:
            ranges.append([point, point])
    return "[" + "".join(escape(a) if a == b else f"{escape(a)}-{escape(b)}" for a, b in ranges) + "]"


EMOJI_CANDIDATE = _emoji_class(lambda c: f"\\U{c:08x}")  # Python's spelling
EMOJI_CANDIDATE_RUST = _emoji_class(lambda c: f"\\x{{{c:x}}}")
EMOJI_RUN = r"[0-9#*]?[^\x00-\x7f]+"


def _emoji(prose: str) -> int:
    return emoji.emoji_count(prose) if _compiled(EMOJI_CANDIDATE).search(prose) else 0


def informal(text: str, prompt: str = "") -> float:
    prose = _prose(text)
    return float(_emoji(prose) + _count(SLANG, prose))


def repetition(text: str, prompt: str = "") -> float:
    """Share of word trigrams that repeat an earlier trigram of the same response (0 = none repeated)."""
    w = [x.lower() for x in _compiled(WORD).findall(text or "")]
    grams = list(zip(w, w[1:], w[2:], strict=False))
    if not grams:
        return 0.0
    return 1.0 - len(set(grams)) / len(grams)


def _flesch(n_words: float, n_sentences: float, n_syllables: float) -> float:
    return 206.835 - 1.015 * n_words / n_sentences - 84.6 * n_syllables / n_words


def readability(text: str, prompt: str = "") -> float:
    """Flesch reading ease (higher = easier): 206.835 - 1.015 words/sentence - 84.6 syllables/word; syllables from
    pyphen's hyphenation points, code removed. NaN for text without words."""
    prose = _prose(text)
    w = _compiled(WORD).findall(prose)
    if not w:
        return float("nan")
    sentences = max(1, sum(1 for s in _sentences(prose) if _compiled(HAS_WORD).search(s)))
    return _flesch(len(w), sentences, sum(syllables(x) for x in w))


@dataclass(frozen=True)
class Property:
    name: str
    definition: str
    compute: Callable[[str, str], float]
    kind: str = "count"  # 'count' (>= 0), 'share' (0..1) or 'score' (any real); drives the normalised difference


PROPERTIES: dict[str, Property] = {
    p.name: p
    for p in [
        Property("length (words)", "Number of words.", words),
        Property("length (tokens)", "Number of word and punctuation tokens.", tokens),
        Property(
            "headers", "Markdown headings (lines starting with 1–6 '#' and a space), outside code.", _in_prose(HEADER)
        ),
        Property(
            "list items",
            "Markdown bullet or numbered list items (lines starting '-', '*', '+' or 'N.').",
            _in_prose(LIST_ITEM),
        ),
        Property("bold", "Bold spans (**text** or __text__) outside code.", _in_prose(BOLD)),
        Property("code blocks", "Fenced code blocks (```).", code_blocks),
        Property("tables", "Markdown tables (their |---| delimiter rows).", tables),
        Property("asks a question", "Sentences ending in '?' outside code (asks the user back).", questions),
        Property(
            "admits limits / refuses",
            'Phrases like "I can\'t", "as an AI", "I don\'t have access".',
            _in_prose(REFUSAL),
        ),
        Property("apologises", "Apologies: sorry, apologise, my mistake.", _in_prose(APOLOGY)),
        Property("hedges", "Hedging words: might, perhaps, probably, it depends, I think.", _in_prose(HEDGE)),
        Property("cites sources", "Links, [n] references, 'according to', 'et al.'.", citations),
        Property("informal register", "Emoji and slang markers (lol, gonna, btw, !!).", informal),
        Property("repetition", "Share of word trigrams repeating an earlier one (0 = none).", repetition, "share"),
        Property("readability", "Flesch reading ease; higher is easier to read.", readability, "score"),
    ]
}
LENGTH_PROPERTY = "length (words)"
# the column of each property in the store's builtin_properties table
COLUMNS: dict[str, str] = {n: re.sub(r"[^a-z0-9]+", "_", n.lower()).strip("_") for n in PROPERTIES}


def compute_properties(
    texts: pd.Series, prompts: pd.Series | None = None, names: list[str] | None = None
) -> pd.DataFrame:
    """Wide table (one row per text, one column per property), by the Python reference implementation."""
    names = names or list(PROPERTIES)
    prompts = prompts if prompts is not None else pd.Series([""] * len(texts), index=texts.index)
    rows = [[PROPERTIES[n].compute(t, q) for n in names] for t, q in zip(texts, prompts, strict=True)]
    return pd.DataFrame(rows, index=texts.index, columns=names, dtype=float)


# ---------------------------------------------------------------------------------------------------------------
# the bulk path: every property of many responses, column by column


def _ascii_semantics(pattern: str) -> str:
    """A pattern with \\b and (?i) read as Python's re.ASCII reads them (Rust's regex reads both in Unicode: 'K',
    the Kelvin sign, would match (?i)k). Only for patterns of literals and ASCII classes."""
    return f"(?-u:{pattern})"


# Python's \w and \s (Unicode) in Rust's spelling: \w as str.isalnum() or '_', \s as TOKEN_SPACE lists them
_TOKEN_RUST = r"[\p{L}\p{N}_]+|[^\p{L}\p{N}_" + "".join(f"\\x{{{ord(c):x}}}" for c in TOKEN_SPACE) + "]"
BULK_CHUNK = 25_000  # responses per step: bounds the memory the words of a chunk take


def _matches(pattern: str, column: str = "prose") -> pl.Expr:
    import polars as pl  # here, not at the top: a page imports this module, never the bulk path

    return pl.col(column).str.count_matches(pattern).cast(pl.Float64)


def _pattern_counts(frame: pl.DataFrame) -> pl.DataFrame:
    """The properties that are counts of one pattern (Rust's regex over whole columns, the patterns in parallel),
    and which texts may hold an emoji or a table (looked at closer after)."""
    import polars as pl

    prose = pl.col("prose")
    return frame.select(
        "k",
        _matches(HEADER).alias(COLUMNS["headers"]),
        _matches(LIST_ITEM).alias(COLUMNS["list items"]),
        _matches(BOLD).alias(COLUMNS["bold"]),
        _matches(CODE_FENCE, "text").alias(COLUMNS["code blocks"]),
        _matches(_ascii_semantics(REFUSAL)).alias(COLUMNS["admits limits / refuses"]),
        _matches(_ascii_semantics(APOLOGY)).alias(COLUMNS["apologises"]),
        _matches(_ascii_semantics(HEDGE)).alias(COLUMNS["hedges"]),
        (_matches(URL) + _matches(_ascii_semantics(CITATION))).alias(COLUMNS["cites sources"]),
        _matches(_ascii_semantics(SLANG)).alias("_slang"),
        prose.str.contains(EMOJI_CANDIDATE_RUST).alias("_emoji"),
        prose.str.contains(TABLE_RULE).alias("_table"),
    )


def _word_stats(frame: pl.DataFrame) -> pl.DataFrame:
    """The word-level properties, by one compiled pass over each text and its prose (analytics.wordscan)."""
    import polars as pl

    from analytics.wordscan import Scan, syllable_counts

    text = Scan(frame["text"].to_arrow())
    fenced = frame["fenced"].to_numpy()
    # prose = text where there is no code fence; the others are scanned again without their code
    prose = Scan(frame.filter("fenced")["prose"].to_arrow()) if fenced.any() else None
    worded, questions = text.worded_sentences.copy(), text.questions.copy()
    prose_words = text.words.copy()
    keep = ~fenced[text.text]
    hashes, text_of_word, source = [text.hashes[keep]], [text.text[keep]], [np.where(keep)[0]]
    if prose is not None:
        rows = np.where(fenced)[0]
        worded[rows], questions[rows], prose_words[rows] = prose.worded_sentences, prose.questions, prose.words
        hashes.append(prose.hashes)
        text_of_word.append(rows[prose.text])
        source.append(len(text.hashes) + np.arange(len(prose.hashes)))
    # syllables: pyphen asked once per distinct word (found by its hash), summed per text
    codes, uniques = pd.factorize(np.concatenate(hashes))
    first = np.full(len(uniques), -1, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    where = np.concatenate(source)[first]
    vocabulary = [text.word(i) if i < len(text.hashes) else prose.word(i - len(text.hashes)) for i in where]
    counts = syllable_counts(vocabulary, _HYPHENATOR)
    n = frame.height
    syllable_sum = np.bincount(np.concatenate(text_of_word), weights=counts[codes], minlength=n)
    tokens = text.tokens.astype(np.float64)
    other = ~frame["ascii"].to_numpy()
    if other.any():  # Unicode's classes: a regular expression
        tokens[other] = frame.filter(~pl.col("ascii")).select(_matches(_TOKEN_RUST, "text"))["text"].to_numpy()
    return pl.DataFrame(
        {
            "k": frame["k"],
            "_words": text.words.astype(np.float64),
            "_tokens": tokens,
            "_distinct_trigrams": text.distinct_trigrams.astype(np.float64),
            "_prose_words": prose_words.astype(np.float64),
            "_syllables": syllable_sum.astype(np.float64),
            "_worded": worded.astype(np.float64),
            "_questions": questions.astype(np.float64),
        }
    )


def _chunk_properties(chunk: pa.Table) -> pa.Table:
    import polars as pl

    text = pl.col("text")
    frame = (
        pl.from_arrow(chunk.select(["response_id", "text"]))
        .with_row_index("k")
        .with_columns(text.fill_null(""))
        .with_columns(fenced=text.str.contains("```", literal=True), ascii=text.str.len_bytes() == text.str.len_chars())
        .with_columns(prose=pl.when("fenced").then(text.str.replace_all(CODE_FENCE, " ")).otherwise(text))
    )
    counts = _pattern_counts(frame)
    words = _word_stats(frame)
    tabled = frame.filter(counts["_table"]).select("k", "prose")
    with_bars = pl.element().str.contains("|", literal=True) & pl.element().str.contains("-", literal=True)
    tables = tabled.select("k", pl.col("prose").str.extract_all(TABLE_RULE).list.eval(with_bars).list.sum())
    # emoji: the emoji package's list (multi-codepoint sequences), on the few texts that may hold one, and of
    # those only their runs of non-ASCII characters (every emoji is one, a keycap's [0-9#*] before it)
    odd = frame.filter(counts["_emoji"]).select("k", pl.col("prose").str.extract_all(EMOJI_RUN).list.join(" "))
    emoji_counts = pl.DataFrame(
        {"k": odd["k"], "_emoji_n": [float(emoji.emoji_count(p)) for p in odd["prose"].to_list()]},
        schema={"k": pl.UInt32, "_emoji_n": pl.Float64},
    )
    n_words, n_prose = pl.col("_words"), pl.col("_prose_words")
    table = (
        frame.select("k", "response_id")
        .join(counts, on="k", how="left")
        .join(words, on="k", how="left")
        .join(tables.rename({"prose": "_tables"}), on="k", how="left")
        .join(emoji_counts, on="k", how="left")
        .with_columns(
            n_words.alias(COLUMNS["length (words)"]),
            pl.col("_tokens").alias(COLUMNS["length (tokens)"]),
            pl.col("_tables").fill_null(0).cast(pl.Float64).alias(COLUMNS["tables"]),
            pl.col("_questions").alias(COLUMNS["asks a question"]),
            (pl.col("_slang") + pl.col("_emoji_n").fill_null(0.0)).alias(COLUMNS["informal register"]),
            pl.when(n_words < 3)
            .then(0.0)
            .otherwise(1.0 - pl.col("_distinct_trigrams") / (n_words - 2))
            .alias(COLUMNS["repetition"]),
            pl.when(n_prose == 0)
            .then(None)
            .otherwise(
                206.835
                - 1.015 * n_prose / pl.max_horizontal(pl.col("_worded"), 1.0)
                - 84.6 * pl.col("_syllables") / n_prose
            )
            .alias(COLUMNS["readability"]),
        )
        .sort("k")
    )
    return table.select("response_id", *COLUMNS.values()).to_arrow()


def bulk_properties(
    con: duckdb.DuckDBPyConnection | None,
    texts_sql: str | pa.Table,
    params: dict | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pa.Table:
    """Every builtin property of the responses `texts_sql` selects (or, given an Arrow table, holds: columns
    response_id, text), as an Arrow table: response_id and one column per property (COLUMNS' names), chunk by
    chunk. The pattern counts run in Rust's regex over whole columns (Polars, the patterns in parallel); the
    word-level properties come from one compiled pass per text (analytics.wordscan); Python touches only the
    distinct words (syllables for readability) and the texts that may hold an emoji."""
    if isinstance(texts_sql, pa.Table):
        texts = texts_sql.select(["response_id", "text"])
    else:
        texts = con.sql(f"SELECT response_id, text FROM ({texts_sql})", params=params or {}).to_arrow_table()
    total = texts.num_rows
    parts = []
    for low in range(0, total, BULK_CHUNK):
        parts.append(_chunk_properties(texts.slice(low, BULK_CHUNK)))
        if progress is not None:
            progress(min(total, low + BULK_CHUNK), total)
    if not parts:
        schema = pa.schema([("response_id", pa.string())] + [(c, pa.float64()) for c in COLUMNS.values()])
        return schema.empty_table()
    return pa.concat_tables(parts)


def bulk_compute(texts: pd.Series) -> pd.DataFrame:
    """The bulk path on texts given in memory: the same table as compute_properties (used by tests to check
    that the two implementations agree, and for texts not in a store)."""
    given = pa.table(
        {"response_id": [f"{i:012d}" for i in range(len(texts))], "text": texts.fillna("").astype(str).tolist()}
    )
    out = bulk_properties(None, given).to_pandas()  # in the given order
    out = out.drop(columns="response_id").rename(columns={c: n for n, c in COLUMNS.items()})
    return out[list(PROPERTIES)].set_axis(texts.index)


def _placed(values: np.ndarray, at: np.ndarray, rows: int) -> np.ndarray:
    """A column of `rows` floats holding `values` at the positions `at` (NULL and the rest NaN)."""
    out = np.full(rows, np.nan)
    out[at] = np.ma.filled(np.ma.asarray(values, dtype=float), np.nan)
    return out


def response_properties(
    con: duckdb.DuckDBPyConnection, response_ids: list[str] | pa.ChunkedArray, names: list[str] | None = None
) -> pd.DataFrame:
    """Properties of the responses, one row per given id in the given order (ids may repeat): stored values where
    the store has them (builtin or imported), the builtin ones computed here for the rest. `names`: only these
    builtin properties (default: every builtin and imported one). Imported properties keep their own names.
    One join in DuckDB, however many ids (a million pairs ask for two million); ids given in Arrow index the rows
    by position."""
    with_imported = names is None
    names = list(PROPERTIES) if names is None else names
    columns = ", ".join(f'b.{COLUMNS[n]} AS "{n}"' for n in names)
    ids = response_ids if isinstance(response_ids, pa.ChunkedArray) else pa.chunked_array([response_ids], pa.string())
    _wanted = pa.table({"response_id": ids, "pos": np.arange(len(ids))})
    # an inner join, each row then put at its position: DuckDB hashes the smaller side (a pair's two ids, not the
    # properties of two million responses, as the left join it was did: 0.3 s for one pair at a million pairs)
    found = con.execute(
        f"""SELECT w.pos, {columns} FROM _wanted w
            JOIN builtin_properties b ON b.response_id = w.response_id AND b.source = $s""",
        {"s": PROPERTIES_SOURCE},
    ).fetchnumpy()
    at = np.asarray(found["pos"], dtype=np.intp)
    stored = np.zeros(len(ids), dtype=bool)
    stored[at] = True
    # ids given as a list index the rows; ids given in Arrow (millions, from analytics.verdicts) stay there
    given_list = not isinstance(response_ids, pa.ChunkedArray)
    table = pd.DataFrame(
        {name: _placed(found[name], at, len(ids)) for name in names},
        index=pd.Index(response_ids, dtype=object, name="response_id") if given_list else pd.RangeIndex(len(ids)),
    )
    if not stored.all():
        unstored = ids.filter(pa.array(~stored)).to_pylist()
        missing = list(dict.fromkeys(unstored))
        texts = (
            con.execute(
                "SELECT response_id, text FROM responses WHERE response_id IN (SELECT unnest($ids))", {"ids": missing}
            )
            .df()
            .set_index("response_id")["text"]
        )
        computed = compute_properties(texts, names=names) if len(texts) < 200 else bulk_compute(texts)[names]
        table.loc[~stored, names] = computed.reindex(unstored).to_numpy(dtype=float)
    if not with_imported or len(ids) == 0:
        return table
    imported = con.execute(
        "SELECT subject_id, name, value FROM properties WHERE subject_kind = 'response' "
        "AND subject_id IN (SELECT response_id FROM _wanted)"
    ).df()
    if imported.empty:
        return table
    extra = imported.pivot_table(index="subject_id", columns="name", values="value", aggfunc="first")
    extra = extra.rename(columns={c: f"{c} (imported)" for c in extra.columns if c in table.columns})
    return pd.concat([table, extra.reindex(ids.to_pylist()).set_axis(table.index)], axis=1)


class _OnThread:
    """bulk_properties of one batch at a time on a thread (for a small dataset: starting a process costs more)."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(1)
        self._future: Future | None = None

    def submit(self, texts: pa.Table) -> None:
        self._future = self._pool.submit(bulk_properties, None, texts)

    def result(self) -> pa.Table:
        return self._future.result()

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class _InProcess:
    """bulk_properties of one batch at a time in a child process (`python -m analytics.properties`), fed and read
    as Arrow IPC streams through its stdin and stdout. Not multiprocessing: its workers import the caller's main
    module again (a script, or a page run by Streamlit's test harness, would run a second time)."""

    def __init__(self) -> None:
        root = str(Path(__file__).resolve().parents[1])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
        self._child = subprocess.Popen(
            [sys.executable, "-m", "analytics.properties"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )

    def submit(self, texts: pa.Table) -> None:
        with pa.ipc.new_stream(self._child.stdin, texts.schema) as writer:
            writer.write_table(texts)
        self._child.stdin.flush()

    def result(self) -> pa.Table:
        try:
            table = pa.ipc.open_stream(self._child.stdout).read_all()
        except (pa.ArrowInvalid, OSError) as error:
            raise RuntimeError(f"the properties process ended (exit code {self._child.poll()})") from error
        if table.column_names == ["error"]:
            raise RuntimeError(f"computing properties failed: {table['error'][0].as_py()}")
        return table

    def close(self) -> None:
        try:
            self._child.stdin.close()
            self._child.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            self._child.kill()
            self._child.wait()


# pairs in an ingest's first batch from which the properties are computed in a child process
PROPERTIES_PROCESS_PAIRS = 20_000


@contextmanager
def properties_worker(first_batch_pairs: int) -> Iterator[_OnThread | _InProcess]:
    """Where an ingest computes its batches' properties while it reads and writes the next batch: for a large
    dataset a process of its own (the reading and the ids hold the GIL, which a second thread would wait for), for a
    small one a thread."""
    worker = _OnThread() if first_batch_pairs < PROPERTIES_PROCESS_PAIRS else _InProcess()
    try:
        yield worker
    finally:
        worker.close()


def _serve() -> None:
    """The child's loop: a table of texts in, their properties out, until stdin closes."""
    sink = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed goes to stderr, never into the stream
    while True:
        try:
            texts = pa.ipc.open_stream(sys.stdin.buffer).read_all()
        except (pa.ArrowInvalid, OSError):
            return  # stdin closed: the ingest is over
        try:
            out = bulk_properties(None, texts)
        except Exception as error:  # reported to the parent, which raises it
            out = pa.table({"error": [f"{type(error).__name__}: {error}"]})
        with pa.ipc.new_stream(sink, out.schema) as writer:
            writer.write_table(out)
        sink.flush()


def insert_computed(con: duckdb.DuckDBPyConnection, computed: pa.Table) -> int:
    """Insert properties bulk_properties computed, but not for a response that has them by now (an ingest
    computes one batch while it writes the next, so a response repeated in both is computed twice)."""
    columns = ["response_id", "source", *COLUMNS.values()]
    source = f"SELECT response_id, $s AS source, {', '.join(COLUMNS.values())} FROM incoming_rows"
    return insert_new(
        con, "builtin_properties", columns, source, {"s": PROPERTIES_SOURCE}, repeats=False, incoming_rows=computed
    )


# A response r without builtin properties of the current source ($s). NOT EXISTS, not NOT IN: DuckDB then hashes
# the responses asked about, not the ids of every response with properties (two million at a million pairs).
_WITHOUT_PROPERTIES = (
    "NOT EXISTS (SELECT 1 FROM builtin_properties p WHERE p.source = $s AND p.response_id = r.response_id)"
)


def insert_missing_properties(con: duckdb.DuckDBPyConnection, dataset: str) -> int:
    """Compute and insert the builtin properties of every response of a dataset that lacks them, inside the
    caller's transaction (an ingest writes pairs and their properties as one unit); the number computed."""
    computed = bulk_properties(
        con,
        f"""SELECT r.response_id, r.text FROM responses r WHERE r.response_id IN (
                SELECT response_a_id FROM pairs WHERE dataset = $d
                UNION SELECT response_b_id FROM pairs WHERE dataset = $d)
            AND {_WITHOUT_PROPERTIES}""",
        {"d": dataset, "s": PROPERTIES_SOURCE},
    )
    return insert_computed(con, computed)


def texts_without_properties(con: duckdb.DuckDBPyConnection, responses_of_batch: pa.Table) -> pa.Table:
    """The distinct responses of a batch being written (response_id, text) that have no builtin properties yet:
    an ingest computes properties batch by batch, so it never holds a second copy of every text of a million
    pairs."""
    return con.sql(  # one row per id, without hashing the texts
        f"""SELECT r.response_id, r.text FROM responses_of_batch r WHERE {_WITHOUT_PROPERTIES}
            QUALIFY row_number() OVER (PARTITION BY r.response_id) = 1""",
        params={"s": PROPERTIES_SOURCE},
    ).to_arrow_table()  # responses_of_batch: read by name (a replacement scan, see bulk_properties)


def store_properties(con: duckdb.DuckDBPyConnection, dataset: str) -> int:
    """insert_missing_properties in a transaction of its own (a store written before ingests included them)."""
    with transaction(con):
        return insert_missing_properties(con, dataset)


# ---------------------------------------------------------------------------------------------------------------
# pair features

# The paper's "lengthy" rule: for a shorter count w_s <= 11, the longer must reach this many words.
_SHORT_THRESHOLDS = {0: 1, 1: 3, 2: 5, 3: 7, 4: 8, 5: 10, 6: 11, 7: 13, 8: 14, 9: 16, 10: 17, 11: 19}


def length_sign(words_a: np.ndarray | float, words_b: np.ndarray | float) -> np.ndarray:
    """+1 where A is clearly longer, -1 where B is, 0 otherwise (Li et al. 2024's thresholds on word counts), for
    arrays of word counts (or two numbers). NaN counts give 0."""
    a, b = np.asarray(words_a, dtype=float), np.asarray(words_b, dtype=float)
    short, long_ = np.minimum(a, b), np.maximum(a, b)
    threshold = np.array([_SHORT_THRESHOLDS[k] for k in range(12)], dtype=float)
    very_short = (short >= 0) & (short <= 11)
    short_rule = very_short & (long_ >= threshold[np.where(very_short, short, 0).astype(int)])
    gap = long_ - short
    clearly = (
        short_rule
        | ((short <= 0.7 * long_) & (gap >= 10))
        | ((short <= 0.8 * long_) & (gap >= 20))
        | ((short <= 0.9 * long_) & (gap >= 40))
    )
    return np.where(clearly & (a != b), np.sign(a - b), 0.0).astype(int)


def pair_features(props_a: pd.DataFrame, props_b: pd.DataFrame, mode: str = "sign") -> pd.DataFrame:
    """Pair-level features from the two responses' properties.

    mode 'sign': sgn(a - b) in {-1, 0, +1} (int8); length by the paper's threshold rule (a near-equal length is 0).
    mode 'normalised': (a - b) / (|a| + |b|) for counts, a - b for shares, (a - b) / 100 clipped for readability;
    length as sgn * min(1, log(1 + |dw|) / log(501)) as in the paper's norm_diff.
    Undefined values (NaN, e.g. readability of an empty response) give 0, "no difference".
    """
    out = {}
    for name in props_a.columns:
        a = props_a[name].to_numpy(dtype=float)
        b = props_b[name].to_numpy(dtype=float)
        kind = PROPERTIES[name].kind if name in PROPERTIES else "score"
        if name == LENGTH_PROPERTY:
            if mode == "sign":
                values = length_sign(a, b).astype(float)
            else:
                d = a - b
                values = np.sign(d) * np.minimum(1.0, np.log1p(np.abs(d)) / math.log(501))
        elif mode == "sign":
            values = np.sign(a - b)
        elif kind == "count":
            denom = np.abs(a) + np.abs(b)
            values = np.divide(a - b, denom, out=np.zeros_like(a), where=denom > 0)
        elif kind == "share":
            values = a - b
        else:
            values = np.clip((a - b) / 100.0, -1, 1)
        values = np.nan_to_num(values, nan=0.0)
        out[name] = values.astype(np.int8) if mode == "sign" else values  # a sign is a byte (a million pairs: 1 MB)
    return pd.DataFrame(out, index=props_a.index)


if __name__ == "__main__":
    _serve()
