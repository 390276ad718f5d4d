"""Response properties computed without any paid API, and the pair features built from them (Preference Dissection).

Each property has a one-line definition (shown in the UI) and a function of the response text (and prompt).
Pair features follow Li et al. (2024), "Dissecting Human and LLM Preferences": the sign of the difference A - B,
with the paper's rule for length; a normalised-difference variant is offered too.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import emoji
import numpy as np
import pandas as pd
import pyphen
from markdown_it import MarkdownIt

from analytics.store import transaction

PROPERTIES_SOURCE = "prefatlas-1"  # bump when a definition changes: stored values are keyed by it

_CODE_FENCE = re.compile(r"```.*?(?:```|$)", re.S)
_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")
_TOKEN = re.compile(r"\w+|[^\w\s]")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]+|[^.!?\n]+$", re.M)
_URL = re.compile(r"https?://\S+|www\.\S+")

_REFUSAL = re.compile(
    r"\b(i\s*(?:can(?:'|’)?t|cannot|am unable to|'m unable to|am not able to|'m not able to|won(?:'|’)t be able to)"
    r"|as an ai\b|as a language model|i don(?:'|’)?t have (?:access|the ability|personal|real-time)"
    r"|i(?:'|’)m not (?:sure|certain|a (?:doctor|lawyer|financial))|i do not have (?:access|the ability))",
    re.I,
)
_APOLOGY = re.compile(r"\b(sorry|apologi[sz]e|apologies|my mistake|my bad)\b", re.I)
_HEDGE = re.compile(
    r"\b(might|may|perhaps|possibly|probably|likely|generally|typically|usually|it depends|seems?|"
    r"could be|i think|i believe|in some cases|not necessarily|arguably)\b",
    re.I,
)
_CITATION = re.compile(
    r"\[\d+\]|\baccording to\b|\bsources?:|\breferences?:|\bstud(?:y|ies) (?:by|from|show)|"
    r"\bet al\.?",
    re.I,
)
_SLANG = re.compile(
    r"\b(lol|lmao|omg|gonna|wanna|gotta|kinda|sorta|btw|tbh|imo|imho|dude|yeah|yep|nope|hey|"
    r"awesome|cool)\b|!!+",
    re.I,
)

_MARKDOWN = MarkdownIt("commonmark").enable("table")
_HYPHENATOR = pyphen.Pyphen(lang="en_US")


@functools.lru_cache(maxsize=100_000)
def _syllables(word: str) -> int:
    return len(_HYPHENATOR.positions(word.lower())) + 1


def _prose(text: str) -> str:
    """The text without fenced code blocks (code is not prose: its '?' or '#' mean nothing here)."""
    return _CODE_FENCE.sub(" ", text or "")


def words(text: str, prompt: str = "") -> float:
    return float(len(_WORD.findall(text or "")))


def tokens(text: str, prompt: str = "") -> float:
    return float(len(_TOKEN.findall(text or "")))


@functools.lru_cache(maxsize=256)  # the five markdown properties of one text share one parse
def _markdown_counts(text: str) -> dict[str, int]:
    counts = {"headers": 0, "list_items": 0, "bold": 0, "code_blocks": 0, "tables": 0}
    for tok in _MARKDOWN.parse(text or ""):
        if tok.type == "heading_open":
            counts["headers"] += 1
        elif tok.type == "list_item_open":
            counts["list_items"] += 1
        elif tok.type in ("fence", "code_block"):
            counts["code_blocks"] += 1
        elif tok.type == "table_open":
            counts["tables"] += 1
        elif tok.type == "inline" and tok.children:
            counts["bold"] += sum(1 for c in tok.children if c.type == "strong_open")
    return counts


def _md(name: str) -> Callable[[str, str], float]:
    def count(text: str, prompt: str = "") -> float:
        return float(_markdown_counts(text)[name])

    count.__name__ = name
    return count


def questions(text: str, prompt: str = "") -> float:
    return float(sum(1 for s in _SENTENCE.findall(_prose(text)) if s.strip().endswith("?")))


def _matches(pattern: re.Pattern) -> Callable[[str, str], float]:
    def count(text: str, prompt: str = "") -> float:
        return float(len(pattern.findall(_prose(text))))

    return count


def citations(text: str, prompt: str = "") -> float:
    prose = _prose(text)
    return float(len(_URL.findall(prose)) + len(_CITATION.findall(prose)))


def informal(text: str, prompt: str = "") -> float:
    prose = _prose(text)
    emojis = 0 if prose.isascii() else emoji.emoji_count(prose)  # emoji_count is slow; ASCII text has none
    return float(emojis + len(_SLANG.findall(prose)))


def repetition(text: str, prompt: str = "") -> float:
    """Share of word trigrams that repeat an earlier trigram of the same response (0 = none repeated)."""
    w = [x.lower() for x in _WORD.findall(text or "")]
    grams = list(zip(w, w[1:], w[2:], strict=False))
    if not grams:
        return 0.0
    return 1.0 - len(set(grams)) / len(grams)


def readability(text: str, prompt: str = "") -> float:
    """Flesch reading ease (higher = easier): 206.835 - 1.015 words/sentence - 84.6 syllables/word; syllables from
    pyphen's hyphenation points, code removed. NaN for text without words."""
    prose = _prose(text)
    w = _WORD.findall(prose)
    if not w:
        return float("nan")
    sentences = max(1, len([s for s in _SENTENCE.findall(prose) if _WORD.search(s)]))
    syllables = sum(_syllables(x) for x in w)
    return 206.835 - 1.015 * len(w) / sentences - 84.6 * syllables / len(w)


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
        Property("headers", "Markdown headings.", _md("headers")),
        Property("list items", "Markdown bullet or numbered list items.", _md("list_items")),
        Property("bold", "Bold spans (**text** or __text__).", _md("bold")),
        Property("code blocks", "Fenced or indented code blocks.", _md("code_blocks")),
        Property("tables", "Markdown tables.", _md("tables")),
        Property("asks a question", "Sentences ending in '?' outside code (asks the user back).", questions),
        Property(
            "admits limits / refuses",
            'Phrases like "I can\'t", "as an AI", "I don\'t have access".',
            _matches(_REFUSAL),
        ),
        Property("apologises", "Apologies: sorry, apologise, my mistake.", _matches(_APOLOGY)),
        Property("hedges", "Hedging words: might, perhaps, probably, it depends, I think.", _matches(_HEDGE)),
        Property("cites sources", "Links, [n] references, 'according to', 'et al.'.", citations),
        Property("informal register", "Emoji and slang markers (lol, gonna, btw, !!).", informal),
        Property("repetition", "Share of word trigrams repeating an earlier one (0 = none).", repetition, "share"),
        Property("readability", "Flesch reading ease; higher is easier to read.", readability, "score"),
    ]
}
LENGTH_PROPERTY = "length (words)"


def compute_properties(
    texts: pd.Series, prompts: pd.Series | None = None, names: list[str] | None = None
) -> pd.DataFrame:
    """Wide table (one row per text, one column per property)."""
    names = names or list(PROPERTIES)
    prompts = prompts if prompts is not None else pd.Series([""] * len(texts), index=texts.index)
    # text by text, so the markdown parse one text's five structure properties share is done once
    rows = [[PROPERTIES[n].compute(t, q) for n in names] for t, q in zip(texts, prompts, strict=True)]
    return pd.DataFrame(rows, index=texts.index, columns=names, dtype=float)


def response_properties(con: duckdb.DuckDBPyConnection, response_ids: list[str]) -> pd.DataFrame:
    """Properties of the responses (rows) : stored values where the store has them (builtin or imported), the
    builtin ones computed here for the rest. Imported properties keep their own names."""
    stored = con.execute(
        "SELECT subject_id, name, value, source FROM properties WHERE subject_kind = 'response' "
        "AND list_contains($ids, subject_id)",
        {"ids": response_ids},
    ).df()
    builtin = stored[stored["source"] == PROPERTIES_SOURCE].pivot_table(
        index="subject_id", columns="name", values="value", aggfunc="first"
    )
    missing = [r for r in response_ids if r not in builtin.index or builtin.loc[r].isna().all()]
    frames = [builtin]
    if missing:
        texts = (
            con.execute(
                "SELECT r.response_id, r.text, q.text AS prompt FROM responses r JOIN prompts q USING (prompt_id) "
                "WHERE list_contains($ids, r.response_id)",
                {"ids": missing},
            )
            .df()
            .set_index("response_id")
        )
        frames.append(compute_properties(texts["text"], texts["prompt"]))
    table = pd.concat([f for f in frames if not f.empty]) if any(not f.empty for f in frames) else pd.DataFrame()
    imported = stored[stored["source"] != PROPERTIES_SOURCE]
    if not imported.empty:
        extra = imported.pivot_table(index="subject_id", columns="name", values="value", aggfunc="first")
        extra = extra.rename(columns={c: f"{c} (imported)" for c in extra.columns if c in table.columns})
        table = table.join(extra, how="outer")
    return table.reindex(response_ids)


def store_properties(con: duckdb.DuckDBPyConnection, dataset: str) -> int:
    """Compute the builtin properties of every response of a dataset and store them (one transaction)."""
    rows = con.execute(
        """SELECT DISTINCT r.response_id, r.text, q.text AS prompt FROM pairs p
           JOIN responses r ON r.response_id IN (p.response_a_id, p.response_b_id)
           JOIN prompts q ON q.prompt_id = p.prompt_id WHERE p.dataset = $d""",
        {"d": dataset},
    ).df()
    table = compute_properties(rows["text"], rows["prompt"]).set_index(rows["response_id"])
    long = table.reset_index().melt(id_vars="response_id", var_name="name", value_name="value")
    long = long.rename(columns={"response_id": "subject_id"}).assign(subject_kind="response", source=PROPERTIES_SOURCE)
    with transaction(con):
        con.register("_props", long)
        con.execute(
            "INSERT OR REPLACE INTO properties (subject_id, subject_kind, name, value, source) "
            "SELECT subject_id, subject_kind, name, value, source FROM _props"
        )
        con.unregister("_props")
    return len(long)


# ---------------------------------------------------------------------------------------------------------------
# pair features

# The paper's "lengthy" rule: for a shorter count w_s <= 11, the longer must reach this many words.
_SHORT_THRESHOLDS = {0: 1, 1: 3, 2: 5, 3: 7, 4: 8, 5: 10, 6: 11, 7: 13, 8: 14, 9: 16, 10: 17, 11: 19}


def length_sign(words_a: float, words_b: float) -> int:
    """+1 if A is clearly longer, -1 if B is, 0 otherwise (Li et al. 2024's thresholds on word counts)."""
    if words_a == words_b:
        return 0
    short, long_ = sorted((words_a, words_b))
    clearly = (
        (short <= 11 and long_ >= _SHORT_THRESHOLDS.get(int(short), math.inf))
        or (short <= 0.7 * long_ and long_ - short >= 10)
        or (short <= 0.8 * long_ and long_ - short >= 20)
        or (short <= 0.9 * long_ and long_ - short >= 40)
    )
    if not clearly:
        return 0
    return 1 if words_a > words_b else -1


def pair_features(props_a: pd.DataFrame, props_b: pd.DataFrame, mode: str = "sign") -> pd.DataFrame:
    """Pair-level features from the two responses' properties.

    mode 'sign': sgn(a - b) in {-1, 0, +1}; length by the paper's threshold rule (a near-equal length is 0).
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
                values = np.array([length_sign(x, y) for x, y in zip(a, b, strict=True)], dtype=float)
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
        out[name] = np.nan_to_num(values, nan=0.0)
    return pd.DataFrame(out, index=props_a.index)
