"""AlpacaEval annotations (tatsu-lab/alpaca_eval ``results/<model>/<evaluator>/annotations.json``).

Pair = (instruction, output_1 by generator_1 = the baseline, output_2 by generator_2). Files of several evaluators
over the same texts become one pair with several judges. ``preference``: 1 -> A (baseline), 2 -> B, 1.5 or 0 -> tie
(1.5 is also used for identical outputs), null -> unparsed; a weighted evaluator's value p in [1, 2] is stored as
``prob_b = p - 1`` with verdict A if p < 1.5, B if p > 1.5, tie at 1.5. Discrete values also get prob_b (1 -> 0,
2 -> 1, draws -> 0.5) so that AlpacaEval's win rate is mean(prob_b). The order shown to the judge was randomised
upstream and not recorded, so shown_order is NULL.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import pandas as pd

from analytics.adapters.base import (
    BatchBuilder,
    IngestError,
    files_version,
    find,
    logical_name,
    open_bytes,
    read_records,
    require,
)
from analytics.families import model_family
from analytics.store import PUBLISHED_COLUMNS, DatasetMeta, IngestBatch

# evaluator config -> judge model (from alpaca_eval's evaluators_configs)
EVALUATOR_MODELS = {
    "alpaca_eval_gpt4_turbo_fn": "gpt-4-1106-preview",
    "alpaca_eval_cot_gpt4_turbo_fn": "gpt-4-1106-preview",
    "weighted_alpaca_eval_gpt4_turbo": "gpt-4-1106-preview",
    "alpaca_eval_gpt4": "gpt-4",
    "alpaca_eval_gpt4_fn": "gpt-4",
    "bedrock_claude": "claude-v1",
    "claude": "claude-v1",
}
BASELINE_SUBSETS = {"gpt4_1106_preview": "AlpacaEval 2", "text_davinci_003": "AlpacaEval 1"}
# evaluator -> the leaderboard upstream publishes with it (win rates and, for AlpacaEval 2, LC win rates, in %)
LEADERBOARDS = {
    "weighted_alpaca_eval_gpt4_turbo": "src/alpaca_eval/leaderboards/data_AlpacaEval_2/"
    "weighted_alpaca_eval_gpt4_turbo_leaderboard.csv",
    "alpaca_eval_gpt4": "src/alpaca_eval/leaderboards/data_AlpacaEval/alpaca_eval_gpt4_leaderboard.csv",
}
# leaderboard column -> (metric, its standard error's column)
LEADERBOARD_METRICS = {
    "win_rate": ("raw_win_rate", "standard_error"),
    "length_controlled_winrate": ("lc_win_rate", "lc_standard_error"),
}


def preference_to_verdict(value: object) -> tuple[str, float | None]:
    """(verdict, prob_b) for an AlpacaEval ``preference`` value."""
    if value is None or isinstance(value, bool):
        return "unparsed", None
    try:
        p = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "unparsed", None
    if math.isnan(p):
        return "unparsed", None
    if p == 0:
        return "tie", 0.5
    if not 1 <= p <= 2:
        return "unparsed", None
    verdict = "A" if p < 1.5 else "B" if p > 1.5 else "tie"
    return verdict, p - 1


def load(root: Path, name: str = "alpaca_eval") -> IngestBatch:
    root = Path(root)
    files = find(root, "results/*/*/annotations.json")
    if not files:
        raise IngestError(f"no AlpacaEval results/*/*/annotations.json[.gz] under {root}")
    bb = BatchBuilder()
    pair_of_key: dict[tuple, int] = {}
    for path in files:
        label = logical_name(path, root)
        evaluator = path.parent.name
        model = EVALUATOR_MODELS.get(evaluator)
        judge = bb.judge(evaluator, "llm", model=model, family=model_family(model), protocol="AlpacaEval annotator")
        for i, row in enumerate(read_records(path, label), start=1):
            bb.rows_read += 1
            fields = [str(require(row, f, label, i)) for f in ("instruction", "output_1", "output_2")]
            g1, g2 = row.get("generator_1"), row.get("generator_2")
            key = (*fields, g1, g2)
            k = pair_of_key.get(key)
            if k is None:
                k = bb.pair(
                    subset=BASELINE_SUBSETS.get(str(g1), f"baseline {g1}"),
                    category=row.get("dataset"),
                    prompt=fields[0],
                    response_a=fields[1],
                    response_b=fields[2],
                    model_a=g1,
                    model_b=g2,
                    source_file=label,
                    source_row=i,
                )
                pair_of_key[key] = k
            raw = row.get("preference")
            verdict, prob_b = preference_to_verdict(raw)
            rationale = row.get("raw_completion")
            if isinstance(rationale, dict):
                rationale = rationale.get("concise_explanation")
            bb.judgment(
                k,
                judge,
                verdict,
                verdict_raw=raw,
                prob_b=prob_b,
                rationale=rationale if isinstance(rationale, str) else None,
                source_file=label,
                source_row=i,
            )
    generators = {str(p["model_a"]) for p in bb.pairs} | {str(p["model_b"]) for p in bb.pairs}
    boards = [b for b in (find(root, rel) for rel in LEADERBOARDS.values()) if b]
    published = published_figures(root, generators)
    read = files + [b[0] for b in boards]
    meta = DatasetMeta(
        name=name, version=files_version(read), adapter="alpaca_eval", files=[logical_name(p, root) for p in read]
    )
    batch = bb.build(meta)
    batch.published = published
    return batch


def published_figures(root: Path, generators: set[str]) -> pd.DataFrame:
    """The leaderboards' win rates (as shares) of the generators in the data, for each evaluator whose
    leaderboard is under root; an absent or unreadable leaderboard gives nothing (it is only shown beside ours)."""
    rows = []
    for judge, rel in LEADERBOARDS.items():
        found = find(root, rel)
        if not found:
            continue
        label = logical_name(found[0], root)
        try:
            board = pd.read_csv(io.BytesIO(open_bytes(found[0])), index_col=0)
        except (ValueError, OSError) as exc:
            raise IngestError(f"unreadable leaderboard ({exc})", file=label) from None
        for column, (metric, se_column) in LEADERBOARD_METRICS.items():
            if column not in board:
                continue
            for generator, value in board[column].items():
                if str(generator) in generators and pd.notna(value):
                    se = board.at[generator, se_column] if se_column in board else None
                    rows.append(
                        {
                            "judge": judge,
                            "generator": str(generator),
                            "metric": metric,
                            "value": float(value) / 100,
                            "standard_error": None if se is None or pd.isna(se) else float(se) / 100,
                            "source": label,
                        }
                    )
    return pd.DataFrame(rows, columns=PUBLISHED_COLUMNS)
