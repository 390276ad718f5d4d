"""Response properties and pair features on hand-made examples."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analytics.properties import PROPERTIES, compute_properties, length_sign, pair_features

MARKDOWN = """# Plan

Here is **the plan** and __more__:

- first
- second
1. third

| a | b |
|---|---|
| 1 | 2 |

```python
# not a header
print("is this a question?")
```
"""


def value(name: str, text: str) -> float:
    return PROPERTIES[name].compute(text, "")


def test_every_property_has_a_definition():
    assert all(p.definition.strip() for p in PROPERTIES.values())


def test_length():
    assert value("length (words)", "It's a short answer, really.") == 5
    assert value("length (tokens)", "Hi, you!") == 4


def test_markdown_structure_ignores_code():
    assert value("headers", MARKDOWN) == 1
    assert value("list items", MARKDOWN) == 3
    assert value("bold", MARKDOWN) == 2
    assert value("code blocks", MARKDOWN) == 1
    assert value("tables", MARKDOWN) == 1
    assert value("asks a question", MARKDOWN) == 0  # the '?' is inside code


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("asks a question", "Sure. Which version do you use? And the OS?", 2),
        ("admits limits / refuses", "I'm sorry, but I can't help with that. As an AI, I don't have access to it.", 3),
        ("apologises", "Sorry! My apologies, my mistake.", 3),
        ("hedges", "It might work; it depends. I think so, probably.", 4),
        ("cites sources", "According to Smith et al. [1], see https://example.org/x", 4),
        ("informal register", "lol that's awesome 😀!!", 4),
        ("apologises", "The answer is 4.", 0),
        ("admits limits / refuses", "Here is how to do it.", 0),
    ],
)
def test_lexical_properties(name, text, expected):
    assert value(name, text) == expected


def test_repetition():
    assert value("repetition", "one two three four five") == 0.0
    assert value("repetition", "a b c a b c a b c") == pytest.approx(1 - 3 / 7)
    assert value("repetition", "") == 0.0


def test_readability_orders_easy_above_hard():
    easy = value("readability", "The cat sat. The dog ran. We had fun.")
    hard = value(
        "readability",
        "Notwithstanding considerable methodological heterogeneity, epidemiological "
        "investigations consistently demonstrate associations.",
    )
    assert easy > 80 > 0 > hard
    assert math.isnan(value("readability", "```\ncode only\n```"))


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (10, 10, 0),
        (0, 1, -1),
        (3, 6, 0),
        (3, 7, -1),
        (11, 19, -1),
        (11, 18, 0),
        (100, 69, 1),
        (100, 75, 1),
        (100, 85, 0),
        (500, 455, 0),
        (500, 450, 1),
    ],
)
def test_length_rule_of_the_paper(a, b, expected):
    assert length_sign(a, b) == expected
    assert length_sign(np.array([a, b, a]), np.array([b, a, a])).tolist() == [expected, -expected, 0]


def test_pair_features_sign_and_normalised():
    a = compute_properties(pd.Series(["Sorry, maybe. " * 3, "# Title\n- x"]))
    b = compute_properties(pd.Series(["Fine.", "- x\n- y\n- z"]))
    sign = pair_features(a, b, "sign")
    assert sign.loc[0, "apologises"] == 1 and sign.loc[1, "apologises"] == 0
    assert sign.loc[1, "headers"] == 1 and sign.loc[1, "list items"] == -1
    norm = pair_features(a, b, "normalised")
    assert norm.loc[1, "list items"] == pytest.approx((1 - 3) / 4)
    assert norm.to_numpy().min() >= -1 and norm.to_numpy().max() <= 1
    swapped = pair_features(b, a, "sign")
    assert (swapped == -sign).all().all()  # antisymmetric, as the no-intercept model needs


EDGE_CASES = [
    "",
    "```\ncode only\n```",
    "Hi, you!",
    "lol that's awesome 😀!! 👍🏽 and 🇫🇷",
    "İstanbul café naïve — ok? yes!\n",
    "# T\n- a\n* b\n1. c\n| a |\n|---|\n**x** __y__",
    "a\u2028b\u00a0c\x1c d_e \u3000 f\x85g",
    "Sorry!!! might… I can't. As an AI, I don't have access. I’m not sure.",
    "unclosed ```python\nprint('? #')\n",
    "Kelvin \u212a and ΣΑΣ σς",
    "see www.example.org/x and https://a.b/c?d [12] et al. Sources: x",
    MARKDOWN,
]


def test_the_bulk_sql_path_equals_the_python_reference_on_edge_cases():
    from analytics.properties import bulk_compute

    texts = pd.Series(EDGE_CASES)
    pd.testing.assert_frame_equal(bulk_compute(texts), compute_properties(texts), rtol=1e-9, atol=1e-9)


def test_token_counts_agree_on_random_mixes_of_every_character_class():
    """Tokens (Python's \\w+|[^\\w\\s]) against the SQL count (word runs collapsed, whitespace removed): random
    strings of letters and digits of several scripts, combining marks, underscores, punctuation, emoji and every
    kind of whitespace Python knows."""
    from analytics.properties import bulk_compute

    spaces = [c for c in map(chr, range(0x3001)) if c.isspace()]
    pool = spaces + list("aZé_9٣Ⅻ²-.,!?'’`|#") + ["\u0301", "\u0903", "😀", "👍🏽", "\u200b", "\ufeff", "漢", "ß"]
    rng = np.random.default_rng(7)
    texts = pd.Series(["".join(rng.choice(pool, size=int(rng.integers(0, 40)))) for _ in range(400)])
    assert bulk_compute(texts)["length (tokens)"].tolist() == compute_properties(texts)["length (tokens)"].tolist()


@pytest.mark.mirror
def test_the_bulk_sql_path_equals_the_python_reference_on_real_responses(mirror):
    """Every response of PandaLM, LLMBar and JudgeBench: the two implementations give the same values."""
    from analytics.adapters import load_folder
    from analytics.catalog import load_catalog
    from analytics.properties import bulk_compute

    texts = []
    for name in ("pandalm", "llmbar", "judgebench"):
        entry = load_catalog()[name]
        batch = load_folder(entry.adapter, mirror / entry.mirror_dir, name)
        texts += batch.pairs["response_a"].tolist() + batch.pairs["response_b"].tolist()
    texts = pd.Series(sorted(set(texts)))
    assert len(texts) > 3000
    pd.testing.assert_frame_equal(bulk_compute(texts), compute_properties(texts), rtol=1e-9, atol=1e-9)


def test_the_compiled_word_scan_counts_as_the_regular_expressions_do():
    """analytics.wordscan against Python's re on random mixes of the characters its rules turn on: letters,
    digits, both apostrophes, sentence ends, newlines, multi-byte characters; every count and every word."""
    import re

    import pyarrow as pa

    from analytics.properties import HAS_WORD, SENTENCE, WORD, _compiled
    from analytics.wordscan import Scan

    pool = [*"aZk9_ '’.!?\n\t-#`|,", "don't", "it’s", "Why?A?", "t9", "x''y", "\r\n", "é", "漢", "😀", "K"]
    rng = np.random.default_rng(11)
    texts = ["".join(rng.choice(pool, size=int(rng.integers(0, 60)))) for _ in range(3000)]
    texts += ["", "a b c a b c a b c", "Why?A? b.?! c?!? d!? ...\n?? e", "’s", "a’", "a’b’c", "x'’y"]
    scan = Scan(pa.array(texts))
    for i, text in enumerate(texts):
        words = [w.lower() for w in _compiled(WORD).findall(text)]
        sentences = _compiled(SENTENCE).findall(text)
        assert scan.words[i] == len(words), text
        assert scan.worded_sentences[i] == sum(1 for s in sentences if re.search(HAS_WORD, s)), text
        assert scan.questions[i] == sum(1 for s in sentences if s.endswith("?")), text
        assert scan.distinct_trigrams[i] == len(set(zip(words, words[1:], words[2:], strict=False))), text
        assert [scan.word(j) for j in np.flatnonzero(scan.text == i)] == words, text
        if text.isascii():
            assert scan.tokens[i] == len(re.findall(r"\w+|[^\w\s]", text)), text


def test_emoji_are_counted_in_the_runs_of_non_ascii_characters_alone():
    """The bulk path hands the emoji package only a text's runs of non-ASCII characters (and a keycap's base):
    the same count as the whole text, on random mixes of emoji, their joiners, selectors and keycap parts."""
    import re

    import emoji

    from analytics.properties import EMOJI_RUN

    keys = sorted(emoji.EMOJI_DATA)
    pool = [*"ab1#* \n", "\u200d", "\ufe0f", "\u20e3", "é", "©", *keys[:40], *keys[-40:], *keys[::400]]
    rng = np.random.default_rng(5)
    texts = ["".join(rng.choice(pool, size=int(rng.integers(1, 25)))) for _ in range(1500)]
    for text in texts:
        assert emoji.emoji_count(" ".join(re.findall(EMOJI_RUN, text))) == emoji.emoji_count(text), text


def test_the_compiled_syllable_count_is_pyphens():
    """Liang's algorithm over pyphen's own patterns, compiled: the same count as pyphen for random letter strings
    (every pattern boundary case: short words, the two-letter margins, apostrophes, digits) and common words."""
    import string

    from analytics.properties import _HYPHENATOR
    from analytics.wordscan import syllable_counts

    rng = np.random.default_rng(3)
    letters = list(string.ascii_lowercase + "aeiouy'0")
    words = ["".join(rng.choice(letters, size=int(rng.integers(1, 16)))) for _ in range(20000)]
    words += ["a", "", "hyphenation", "readability", "supercalifragilisticexpialidocious", "don't", "it’s", "naïve"]
    words += ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "because", "everything", "comes", "wait"]
    expected = [len(_HYPHENATOR.positions(w)) + 1 for w in words]
    assert syllable_counts(words, _HYPHENATOR).tolist() == expected
