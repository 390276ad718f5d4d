"""The page registry: one home per page. Each page's URL path, title, icon, parameters (with their defaults) and its
content — the figures and tables its view shows, recomputed from a link's parameters — live here, once.

The dashboard builds its navigation from this registry (dashboard/app.py runs `views/<name>.py` for each page);
links are built and read against its parameters (analytics.viewstate); a report of a view is that page's content
(analytics.report); the tests walk it. Adding a page: an entry here with its content function, and its view.
Content functions import what they compute with lazily, so reading the registry (every link does) stays light.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pandas as pd

Section = tuple[str, object]  # (heading, a plotly figure or a table)


@dataclass(frozen=True)
class Param:
    name: str
    default: object = None  # None: the page's first option (data-dependent)
    kind: str = "str"  # str | int | bool | list
    keep: bool = False  # kept in links even at its default


@dataclass(frozen=True)
class Page:
    name: str  # also its view: dashboard/views/<name>.py
    path: str  # its URL path ("" for the page served at "/")
    title: str
    icon: str
    params: tuple[Param, ...]
    content: Callable[[duckdb.DuckDBPyConnection, str, dict], list[Section]]


def _chosen(params: dict, key: str, default: str) -> str | None:
    """A parameter's value, None where the link holds the page's 'all' / 'automatic' default."""
    value = params.get(key)
    return None if value in (None, default) else str(value)


def overview_content(con: duckdb.DuckDBPyConnection, dataset: str, params: dict) -> list[Section]:
    from analytics import figures, reads

    return [
        ("Datasets", reads.datasets_table(con).drop(columns=["licence_note"])),
        ("Judges", reads.judges_table(con, dataset)),
        ("Verdicts per judge", figures.verdict_distribution(reads.verdict_counts(con, dataset))),
    ]


def judges_content(con: duckdb.DuckDBPyConnection, dataset: str, params: dict) -> list[Section]:
    from analytics import figures
    from analytics import judges as J

    rep = J.judges_report(con, dataset, _chosen(params, "ref", "(automatic)"), _chosen(params, "subset", "(all)"))
    names = [j["judge"] for j in rep["judges"]]
    convention = params.get("conv") if params.get("conv") in J.ACCURACY_CONVENTIONS else None
    out: list[Section] = [
        ("Agreement", figures.agreement_heatmap(rep["agreement"], names, str(params.get("metric", "agreement")))),
        ("Biases per judge", J.bias_table(rep, convention)),
    ]
    by_subset = J.subset_accuracy_table(rep, convention)
    if not by_subset.empty:
        out.append(("Accuracy in each subset", by_subset))
    boards = rep.get("leaderboards") or {}
    judge = params.get("board") if params.get("board") in boards else rep.get("official_judge")
    judge = judge or next(iter(boards), None)
    table = J.leaderboard_table(boards[judge]) if judge else pd.DataFrame()
    if not table.empty:
        title = f"Leaderboard judged by {judge}"
        out.append(
            (
                title,
                figures.leaderboard_ranks(
                    table, J.RANKINGS, f"{title}: raw → LC → style-controlled", J.RANKING_CONVENTIONS
                ),
            )
        )
        out.append((f"{title}: values", J.leaderboard_display(table)))
    group = params.get("group")
    if group and group in rep["disagreement_by_group"]:
        heatmap = figures.group_heatmap(rep["disagreement_by_group"][group], f"Disagreement by {group}")
        out.append((f"Disagreement by {group}", heatmap))
    cell = str(params.get("cell") or "(none)")
    if cell != "(none)":  # the pairs behind the chosen number, as the page lists them (its first page)
        from analytics import reads

        within = params.get("in") if params.get("in") not in (None, "(all)") else None
        only = str(params.get("only", "true")) != "false"
        subset = _chosen(params, "subset", "(all)")
        ids, studied = J.pairs_of_cell(con, dataset, cell, judge, subset, group, within, only)
        shown = ids[:10]
        texts, judgments = reads.pairs_by_id(con, shown), reads.pair_judgments(con, shown)
        table = reads.pairs_summary(texts, judgments, rep["reference"], studied).drop(columns="pair")
        out.append((f"The pairs behind {cell} ({len(ids):,}; the first {len(shown)})", table))
    return out


def dissection_content(con: duckdb.DuckDBPyConnection, dataset: str, params: dict) -> list[Section]:
    from analytics import figures
    from analytics.dissection import MEAN_OVER_GROUPS, OVERALL, Settings, dissect

    group = _chosen(params, "group", "(none)")
    result = dissect(con, dataset, group=group, settings=Settings(features=str(params.get("features", "sign"))))
    shown = str(params.get("g", OVERALL))
    fits = result["results"].get(shown, result["results"][OVERALL])
    chosen = params.get("judges") or list(fits)[:3]
    reference = params.get("ref") if params.get("ref") in fits else None
    versus = str(params.get("vs_ref", "false")) == "true" and reference is not None
    every = f"Beyond {reference}" if versus else "What every judge rewards"
    similarity = result["similarity"].get(MEAN_OVER_GROUPS, result["similarity"][OVERALL])
    return [
        (
            "What each judge rewards",
            figures.dissection_figure({j: fits[j] for j in chosen if j in fits}, f"What each judge rewards — {shown}"),
        ),
        ("All judges at once", figures.weights_heatmap(fits, f"{every} — {shown}", reference if versus else None)),
        ("Judge similarity", figures.similarity_heatmap(similarity, "Judge similarity")),
    ]


def map_content(con: duckdb.DuckDBPyConnection, dataset: str, params: dict) -> list[Section]:
    from analytics import figures
    from analytics import maps as M

    maps = M.list_maps(con, dataset)
    choices = M.map_choices(con, dataset, maps)
    if not choices:
        raise ValueError(f"no map of {dataset} in this store")
    map_id = choices.get(str(params.get("map")), next(iter(choices.values())))
    points, regions = M.map_view(con, map_id)
    color = str(params.get("color", "cluster"))
    color = color if color in points.columns or color in ("cluster", "gap") else "cluster"
    info = maps.set_index("map_id").loc[map_id]
    fig = figures.map_figure(M.drawn_points(con, points, info["space"]), color, color, regions, None, dataset)
    keep = [c for c in M.region_columns(isinstance(info["reference"], str)) if c in regions]
    return [("Map", fig), ("Regions", regions[keep].round(3))]


def pairs_content(con: duckdb.DuckDBPyConnection, dataset: str, params: dict) -> list[Section]:
    from analytics.explorer import PairFilters, find_pairs

    found = find_pairs(con, dataset, PairFilters.from_params(params), limit=60)
    return [("Pairs", found.drop(columns=["matches"]))]


def judge_content(con: duckdb.DuckDBPyConnection, dataset: str, params: dict) -> list[Section]:
    from analytics import figures
    from analytics import judgecard as C

    by_family = str(params.get("family", "false")) == "true"
    names = C.families(con) if by_family else C.judge_names(con)
    name = str(params["name"]) if params.get("name") else (names[0] if names else "")
    card = C.judge_card(con, name, by_family)
    title = f"{name} across datasets"
    return [(title, figures.judge_card_figure(card["rows"], C.METRICS, title)), ("Figures", C.card_table(card))]


REGISTRY: dict[str, Page] = {
    page.name: page
    for page in (
        Page("overview", "", "Overview", ":material/table:", (Param("sample", 0, "int"),), overview_content),
        Page(
            "judges",
            "judges",
            "Judges",
            ":material/gavel:",
            (
                Param("subset", "(all)"),
                Param("ref", "(automatic)"),
                Param("conv"),  # accuracy convention; default: the dataset's upstream one
                Param("metric", "agreement"),
                Param("group"),
                Param("with_ref", True, "bool"),
                Param("fits", False, "bool"),
                Param("board"),
                Param("cell", "(none)"),
                Param("only", True, "bool"),
                Param("in", "(all)"),
                Param("page", 1, "int"),
                Param("open", ""),  # the pair opened from the compact table
            ),
            judges_content,
        ),
        Page(
            "dissection",
            "dissection",
            "Dissection",
            ":material/biotech:",
            (
                Param("group", "(none)"),
                Param("features", "sign"),
                Param("judges", None, "list"),
                Param("g", "All pairs"),
                Param("sim"),
                Param("ref"),
                Param("vs_ref", False, "bool"),
                Param("judge"),
                Param("among", "all"),  # which of the judge's pairs the explanation walks through
                Param("pair", 1, "int"),
                Param("wjudge"),  # a clicked weight: its judge and property, whose pairs are listed
                Param("prop"),
                Param("prop_page", 1, "int"),
            ),
            dissection_content,
        ),
        Page(
            "map",
            "map",
            "Map",
            ":material/scatter_plot:",
            (
                Param("map"),
                Param("color", "cluster"),
                Param("region", "(none)"),
                Param("q", ""),
                Param("sel", ""),
                Param("page", 1, "int"),
                Param("item", 1, "int"),
            ),
            map_content,
        ),
        Page(
            "pairs",
            "pairs",
            "Pairs",
            ":material/compare_arrows:",
            (
                Param("category", None, "list"),
                Param("generator", None, "list"),
                Param("judge"),
                Param("verdict", "any"),
                Param("split", False, "bool"),
                Param("min_len", 0, "int"),
                Param("max_len", 0, "int"),
                Param("prop"),
                Param("prop_min", ""),
                Param("q", ""),
                Param("sort", "source order"),
                Param("page", 1, "int"),
                Param("open", ""),
            ),
            pairs_content,
        ),
        Page(
            "judge",
            "judge",
            "Judge card",
            ":material/badge:",
            (Param("name"), Param("family", False, "bool")),
            judge_content,
        ),
    )
}
DEFAULT_PAGE = "overview"  # served at "/"; also answers at its own name, /overview
