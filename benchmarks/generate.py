"""A large, realistic preference dataset for benchmarks: real prompts and responses from the mirror recombined and
perturbed, six generators, six categories, a human label and five LLM judges with realistic agreement, position and
length bias, ties and unparsed answers, each pair shown in a random order. Writes a Parquet file and the mapping that
reads it (`prefatlas ingest --mapping generated.toml generated.parquet`). Usage:

    PREFATLAS_MIRROR=../shared/data/raw .venv/bin/python benchmarks/generate.py --pairs 100000 -o /tmp/gen

Without a mirror the texts are drawn from a small built-in vocabulary (the numbers are then less realistic).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
GENERATORS = ("gpt-4", "claude-2", "llama-2-70b-chat", "mistral-7b-instruct", "vicuna-13b", "alpaca-7b")
QUALITY = np.array([1.2, 1.0, 0.5, 0.3, 0.1, -0.4])  # latent quality of each generator
CATEGORIES = ("coding", "writing", "math", "advice", "trivia", "roleplay")
# name, noise (logit scale), position bonus for the first shown, length bonus per log-ratio, tie rate, unparsed rate
JUDGES = (
    ("gpt-4-judge", 0.6, 0.15, 0.3, 0.04, 0.002),
    ("claude-judge", 0.8, 0.35, 0.2, 0.08, 0.004),
    ("llama-judge", 1.4, 0.7, 0.6, 0.10, 0.02),
    ("mistral-judge", 1.2, -0.4, 0.8, 0.06, 0.01),
    ("reward-model", 0.9, 0.0, 1.0, 0.0, 0.0),
)
HUMAN_TIE_RATE = 0.12


def _mirror_texts(mirror: Path) -> tuple[list[str], list[str]]:
    """(prompts, responses) of the mirror's default datasets, read through the catalog's adapters."""
    sys.path.insert(0, str(ROOT))
    from analytics.adapters import load_folder
    from analytics.catalog import load_catalog

    prompts: list[str] = []
    responses: list[str] = []
    for name, entry in load_catalog().items():
        folder = mirror / entry.mirror_dir
        if not folder.is_dir():
            continue
        try:
            batch = load_folder(entry.adapter, folder, name)
        except Exception as exc:
            print(f"generate: skipping {name}: {exc}", file=sys.stderr)
            continue
        prompts += batch.pairs["prompt"].astype(str).tolist()
        responses += batch.pairs["response_a"].astype(str).tolist() + batch.pairs["response_b"].astype(str).tolist()
    return sorted(set(prompts)), sorted({r for r in responses if r.strip()})


def _vocabulary_texts(rng: np.random.Generator) -> tuple[list[str], list[str]]:
    words = np.array(
        [
            "the",
            "a",
            "model",
            "answer",
            "question",
            "data",
            "python",
            "list",
            "function",
            "result",
            "value",
            "because",
            "however",
            "example",
            "step",
            "first",
            "second",
            "finally",
            "code",
            "error",
            "test",
            "users",
            "people",
            "time",
            "make",
            "good",
            "best",
            "simple",
            "clear",
            "sorry",
            "might",
        ]
    )
    prompts = [" ".join(rng.choice(words, rng.integers(5, 30))) + "?" for _ in range(2000)]
    responses = [" ".join(rng.choice(words, rng.integers(20, 300))) + "." for _ in range(5000)]
    return prompts, responses


_EXTRAS = (
    "\n\n- First, check the input.\n- Then run it again.",
    "\n\n**Note:** this depends on your setup.",
    " I hope this helps!",
    " However, it might depend on the context.",
    "\n\n```python\nprint('hello')\n```",
    " Sorry, I cannot be certain about this.",
    "\n\n## Summary\nIn short, yes.",
    " See https://example.org/docs for details.",
)


def _perturb(texts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each response cut to 20–300 words at random and given one of a few typical additions, so that a million
    pairs are a million distinct texts with varied length and style."""
    out = []
    budgets = rng.integers(20, 301, len(texts))
    extras = rng.integers(0, len(_EXTRAS) + 3, len(texts))  # some get nothing added
    for text, budget, extra in zip(texts, budgets, extras, strict=True):
        words = text.split(" ")
        cut = " ".join(words[: int(budget)])
        out.append(cut + (_EXTRAS[extra] if extra < len(_EXTRAS) else ""))
    return np.array(out, dtype=object)


def generate(n: int, out_dir: Path, mirror: Path | None = None, seed: int = 0) -> tuple[Path, Path]:
    """Write `generated.parquet` (n pairs) and `generated.toml` (its mapping) into out_dir; return both paths."""
    rng = np.random.default_rng(seed)
    prompts, responses = _mirror_texts(mirror) if mirror else _vocabulary_texts(rng)
    prompts_arr, responses_arr = np.array(prompts, dtype=object), np.array(responses, dtype=object)
    # prompts repeat (several pairs per prompt, as in real data); each pair gets its own suffix so rows stay distinct
    prompt_idx = rng.integers(0, len(prompts_arr), n)
    gen_a = rng.integers(0, len(GENERATORS), n)
    gen_b = (gen_a + rng.integers(1, len(GENERATORS), n)) % len(GENERATORS)
    text_a = _perturb(responses_arr[rng.integers(0, len(responses_arr), n)], rng)
    text_b = _perturb(responses_arr[rng.integers(0, len(responses_arr), n)], rng)
    len_a = np.array([len(t) for t in text_a], dtype=float)
    len_b = np.array([len(t) for t in text_b], dtype=float)
    log_ratio = np.log1p(len_a) - np.log1p(len_b)
    truth = QUALITY[gen_a] - QUALITY[gen_b] + rng.normal(0, 1.0, n)  # latent P(A better) on the logit scale
    shown_ab = rng.random(n) < 0.5
    frame = pd.DataFrame(
        {
            "id": np.arange(n),
            "prompt": prompts_arr[prompt_idx],
            "response_a": text_a,
            "response_b": text_b,
            "model_a": np.array(GENERATORS)[gen_a],
            "model_b": np.array(GENERATORS)[gen_b],
            "category": np.array(CATEGORIES)[rng.integers(0, len(CATEGORIES), n)],
            "order": np.where(shown_ab, "AB", "BA"),
        }
    )
    human = np.where(truth + rng.normal(0, 0.8, n) > 0, "a", "b").astype(object)
    human[rng.random(n) < HUMAN_TIE_RATE] = "tie"
    frame["human"] = human
    for name, noise, position, length, tie_rate, unparsed_rate in JUDGES:
        first_is_a = np.where(shown_ab, 1.0, -1.0)
        logit = truth + position * first_is_a + length * log_ratio + rng.normal(0, noise, n)
        verdict = np.where(logit > 0, "a", "b").astype(object)
        verdict[rng.random(n) < tie_rate] = "tie"
        verdict[rng.random(n) < unparsed_rate] = "???"
        frame[name] = verdict
    out_dir.mkdir(parents=True, exist_ok=True)
    data = out_dir / "generated.parquet"
    frame.to_parquet(data, index=False, row_group_size=50_000)
    mapping = out_dir / "generated.toml"
    lines = [
        'name = "generated"',
        'title = "Generated benchmark data (real texts recombined)"',
        'licence = "mixed; see the mirror\'s sources"',
        'format = "parquet"',
        "",
        "[columns]",
        'id = "id"',
        'prompt = "prompt"',
        'response_a = "response_a"',
        'response_b = "response_b"',
        'model_a = "model_a"',
        'model_b = "model_b"',
        'category = "category"',
        'order = "order"',
        "",
        "[order_values]",
        'AB = "AB"',
        'BA = "BA"',
        "",
        "[[verdicts]]",
        'judge = "human"',
        'kind = "human"',
        'column = "human"',
        'values = { a = "A", b = "B", tie = "tie" }',
    ]
    for name, *_ in JUDGES:
        kind = "reward_model" if name == "reward-model" else "llm"
        lines += [
            "",
            "[[verdicts]]",
            f'judge = "{name}"',
            f'kind = "{kind}"',
            f'column = "{name}"',
            'values = { a = "A", b = "B", tie = "tie" }',
            'unknown = "unparsed"',
        ]
    mapping.write_text("\n".join(lines) + "\n")
    return data, mapping


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=100_000)
    parser.add_argument("-o", "--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    env = os.environ.get("PREFATLAS_MIRROR")
    mirror = Path(env) if env and Path(env).is_dir() else None
    data, mapping = generate(args.pairs, args.out, mirror, args.seed)
    print(f"{args.pairs:,} pairs: {data} ({data.stat().st_size / 1e6:.1f} MB), mapping {mapping}")


if __name__ == "__main__":
    main()
