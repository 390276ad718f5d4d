"""Model families, used to match a judge with the generators it may favour (self-preference)."""

from __future__ import annotations

import re

# First match wins; patterns are matched against the lower-cased model name.
_FAMILIES: list[tuple[str, str]] = [
    (r"gpt-?4|gpt4", "gpt-4"),
    (r"gpt-?3\.5|chatgpt|text[-_]davinci", "gpt-3.5"),
    (r"\bo1|o1-mini|o3", "openai-o"),
    (r"claude|anthropic", "claude"),
    (r"gemini|palm|bison", "google"),
    (r"llama|vicuna|alpaca", "llama"),
    (r"mistral|mixtral", "mistral"),
    (r"falcon", "falcon"),
    (r"pandalm", "pandalm"),
    (r"cohere|command", "cohere"),
    (r"phi-", "phi"),
    (r"internlm", "internlm"),
    (r"gemma", "gemma"),
    (r"bloom", "bloom"),
    (r"pythia", "pythia"),
    (r"opt-", "opt"),
    (r"cerebras", "cerebras"),
]


def model_family(model: str | None) -> str | None:
    """Family of a model name ('gpt-4-1106-preview' -> 'gpt-4'), or None when unknown."""
    if not model:
        return None
    name = model.lower()
    for pattern, family in _FAMILIES:
        if re.search(pattern, name):
            return family
    return None
