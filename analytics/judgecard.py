"""A judge card: one judge (or every judge of a model family) across every dataset and subset of the store.

Each row is one judge on one scope (a whole dataset, or one of its subsets): accuracy against that scope's reference
under the dataset's own convention, swap consistency, P(first shown wins), P(longer preferred) and the
self-preference (DBG) score, each with n and its interval. The figures are those of analytics.judges.judges_report
for the same scope (read from its cache when computed before), so the card and the Judges page never disagree.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from analytics.judges import ACCURACY_CONVENTIONS, headline_accuracy, judges_report
from analytics.stats import format_estimate

MAX_SUBSETS = 12  # a dataset with more subsets is shown whole only (each subset is a report of its own)
ALL = "(all)"
METRICS = {  # column -> (label, percent?)
    "accuracy": ("accuracy vs reference", True),
    "swap_consistency": ("swap consistency", True),
    "p_first_shown_wins": ("P(first shown wins)", True),
    "p_longer_preferred": ("P(longer preferred)", True),
    "self_preference": ("self-preference (DBG)", True),
}


def judges_of(con: duckdb.DuckDBPyConnection, name: str, by_family: bool = False) -> list[str]:
    """The judges a card covers: the judge of that name, or (by_family) every judge whose model family is `name`
    (case-insensitive)."""
    if by_family:
        rows = con.execute("SELECT name FROM judges WHERE lower(family) = lower($n) ORDER BY name", {"n": name})
    else:
        rows = con.execute("SELECT name FROM judges WHERE name = $n", {"n": name})
    return [r[0] for r in rows.fetchall()]


def judge_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute("SELECT name FROM judges ORDER BY name").fetchall()]


def store_stamp(con: duckdb.DuckDBPyConnection) -> str:
    """Changes whenever any dataset does: a card spans them all, so a cached card is keyed by it."""
    return str(con.execute("SELECT list(name || ':' || version ORDER BY name) FROM datasets").fetchone()[0])


def families(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Model families with at least one judge, for the card's family choice."""
    return [
        r[0] for r in con.execute("SELECT DISTINCT family FROM judges WHERE family IS NOT NULL ORDER BY 1").fetchall()
    ]


def _scopes(con: duckdb.DuckDBPyConnection, dataset: str) -> list[str | None]:
    subsets = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT subset FROM pairs WHERE dataset = $d AND subset IS NOT NULL ORDER BY 1", {"d": dataset}
        ).fetchall()
    ]
    return [None] + (subsets if 1 < len(subsets) <= MAX_SUBSETS else [])


def judge_card(con: duckdb.DuckDBPyConnection, name: str, by_family: bool = False) -> dict:
    """The card's rows (plain data, what `prefatlas judge NAME --json` prints): for each covered judge, each dataset
    it judged and each of that dataset's subsets, the figures named in METRICS as estimates (value, low, high, n)
    and the accuracy convention they follow."""
    members = judges_of(con, name, by_family)
    if not members:
        raise ValueError(f"no judge {'of the family ' if by_family else ''}'{name}' in this store")
    datasets = con.execute(
        """SELECT DISTINCT x.dataset, j.name FROM judgments x JOIN judges j USING (judge_id)
           WHERE j.name IN (SELECT unnest($m)) ORDER BY 1, 2""",
        {"m": members},
    ).fetchall()
    rows = []
    for dataset, judge in datasets:
        for subset in _scopes(con, dataset):
            # the whole dataset's report is the Judges page's (precomputed at ingest); a subset's skips leaderboards
            report = judges_report(con, dataset, subset=subset, leaderboards=subset is None)
            entry = next((j for j in report["judges"] if j["judge"] == judge), None)
            if entry is None:  # the judge has no judgment in this subset
                continue
            accuracy, convention = headline_accuracy(entry, report["accuracy_convention"])
            position, selfp = entry["position"], entry["self_preference"]
            rows.append(
                {
                    "judge": judge,
                    "dataset": dataset,
                    "subset": subset or ALL,
                    "reference": report["reference"],
                    "pairs": entry["pairs"],
                    "convention": convention if accuracy else None,
                    "convention_label": ACCURACY_CONVENTIONS[convention][1] if accuracy else None,
                    "accuracy": accuracy,
                    "swap_consistency": position.get("swap_consistency"),
                    "p_first_shown_wins": position.get("p_first_shown_wins"),
                    "p_longer_preferred": entry["length"].get("p_longer_preferred"),
                    "self_preference": selfp.get("dbg"),
                }
            )
    return {"name": name, "by_family": by_family, "judges": members, "rows": rows}


def card_table(card: dict) -> pd.DataFrame:
    """The card as the page and the CLI show it: one row per judge × dataset × subset, 'value [low, high] (n)'."""
    rows = []
    for r in card["rows"]:
        row = {"judge": r["judge"], "dataset": r["dataset"], "subset": r["subset"], "reference": r["reference"] or "–"}
        for key, (label, percent) in METRICS.items():
            row[label] = format_estimate(r[key], percent)
        row["accuracy convention"] = ACCURACY_CONVENTIONS[r["convention"]][1] if r["convention"] else "–"
        rows.append(row)
    return pd.DataFrame(rows)
