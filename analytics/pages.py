"""The page registry: one home per page. Each page's URL path, title, icon, parameters (with their defaults) and its
content — the figures and tables its view shows, recomputed from a link's parameters — live here, once.

The dashboard builds its navigation from this registry (dashboard/app.py runs `views/<name>.py` for each page);
links are built and read against its parameters (analytics.viewstate); a report of a view is that page's content
(analytics.report); the tests walk it. Adding a page: an entry here with its content function, and its view.
Content functions import what they compute with lazily, so reading the registry (every link does) stays light.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

if TYPE_CHECKING:
    from analytics.dissection import Settings
    from analytics.explorer import PairFilters


@dataclass(frozen=True)
class Section:
    """One figure, table or message of a page, as its view shows it and its report prints it."""

    key: str  # how the view finds it to draw it with its controls (clicks, selections)
    heading: str
    body: object  # a plotly figure, a table, a message (str) or a warning (an exception: what the link asked is wrong)
    note: str = ""  # plain text under it: what the numbers count
    hidden: tuple[str, ...] = ()  # table columns a view uses (a row's id) but neither shows nor prints
    meta: dict = field(default_factory=dict)  # what a view needs for its controls around it (e.g. a list's length)


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


DATASET_COLUMNS = [
    *("dataset", "title", "pairs", "prompts", "judges", "judgments"),
    *("licence", "licence_note", "source", "version", "ingested_at"),
]
VERDICTS_NOTE = (
    "A and B are the pair's own responses, whatever order a judge saw them in; 'unparsed' = the judge answered but "
    "its verdict could not be read (never counted as a tie)."
)
SAMPLE_SIZE = 5


def overview_content(con: duckdb.DuckDBPyConnection, dataset: str, params: dict) -> list[Section]:
    from analytics import figures, reads

    out = [Section("datasets", "Datasets in this store", reads.datasets_table(con)[DATASET_COLUMNS])]
    subsets = reads.subsets_table(con, dataset)
    if len(subsets) > 1:
        out.append(Section("subsets", "Subsets", subsets))
    out += [
        Section("judges", "Judges and their verdicts", reads.judges_table(con, dataset), VERDICTS_NOTE),
        Section("verdicts", "Verdicts per judge", figures.verdict_distribution(reads.verdict_counts(con, dataset))),
    ]
    seed = _number(params, "sample", 0, low=0)
    sample = reads.sample_pairs(con, dataset, n=SAMPLE_SIZE, seed=seed)
    note = "Another sample number draws other pairs; the same number always draws the same ones."
    hidden = tuple(c for c in sample if c not in reads.PAIR_TEXT)
    out.append(Section("sample", "A sample of pairs", sample, note, hidden))
    return out


def _flag(params: dict, key: str, default: bool) -> bool:
    value = params.get(key)
    return default if value is None else str(value).lower() in ("true", "1")


def _number(params: dict, key: str, default: int, low: int = 1) -> int:
    try:
        return max(low, int(str(params.get(key, default))))
    except ValueError:
        return default


PAIRS_PAGE_SIZE = 10  # the pairs behind a number, a page at a time


def judges_content(con: duckdb.DuckDBPyConnection, dataset: str, params: dict) -> list[Section]:
    from analytics import figures, reads
    from analytics import judges as J

    rep = J.judges_report(con, dataset, _chosen(params, "ref", "(automatic)"), _chosen(params, "subset", "(all)"))
    names = [j["judge"] for j in rep["judges"]]
    convention = params.get("conv") if params.get("conv") in J.ACCURACY_CONVENTIONS else None
    out: list[Section] = []
    if len(names) < 2:
        out.append(Section("agreement", "Who agrees with whom", "This dataset has a single judge: no agreement."))
    else:
        metric = str(params.get("metric", "agreement"))
        metric = metric if metric in figures.AGREEMENT_METRICS else "agreement"
        heatmap = figures.agreement_heatmap(rep["agreement"], names, metric)
        out.append(Section("agreement", "Who agrees with whom", heatmap, J.all_judges_note(rep)))
    fits = _flag(params, "fits", False)
    bias = J.bias_table(rep, convention)
    bias = bias if fits else bias.drop(columns=[c for c in J.FOLDED if c in bias.columns])
    out.append(Section("bias", "How each judge is biased", bias, J.bias_note(fits)))
    by_subset = J.subset_accuracy_table(rep, convention)
    if not by_subset.empty:
        shown = J.ACCURACY_CONVENTIONS[convention or rep.get("accuracy_convention", "combined")][1]
        out.append(Section("subsets", f"Accuracy in each subset ({shown})", by_subset, J.SUBSET_NOTE))
    groups = rep["disagreement_by_group"]
    group = params.get("group") if params.get("group") in groups else next(iter(groups), None)
    if group and len(names) >= 2:
        records = groups[group]
        if rep["reference"] in names and _flag(params, "with_ref", True):
            records = [r for r in records if rep["reference"] in (r["judge_1"], r["judge_2"])]
        title = f"Disagreement by {group} × judge pair"
        out.append(Section("groups", "Where judges disagree", figures.group_heatmap(records, title)))
    else:
        group = None
    board_judge = J.board_judge(rep, params.get("board"))
    table = J.leaderboard_table(rep["leaderboards"][board_judge]) if board_judge else pd.DataFrame()
    if board_judge and table.empty:
        out.append(Section("leaderboard", "Generator leaderboards", f"{board_judge} compared no two generators here."))
    elif board_judge:
        title = f"Ranks judged by {board_judge}: raw → LC → style-controlled"
        ranks = figures.leaderboard_ranks(table, J.RANKINGS, title, J.RANKING_CONVENTIONS)
        out.append(Section("leaderboard", "Generator leaderboards", ranks))
        notes = J.leaderboard_notes(rep["leaderboards"][board_judge], table)
        display = J.leaderboard_display(table)
        out.append(Section("leaderboard_values", f"Leaderboard judged by {board_judge}", display, notes))
    cell = str(params.get("cell") or "(none)")
    cell = J.cell_aliases(rep).get(cell, cell)
    # the pairs behind the chosen number
    if cell != "(none)" and cell in J.cell_choices(rep, list(table.get("generator", []))):
        within = params.get("in") if params.get("in") not in (None, "(all)") else None
        subset = _chosen(params, "subset", "(all)")
        only = _flag(params, "only", True)
        ids, studied = J.pairs_of_cell(con, dataset, cell, board_judge, subset, group, within, only)
        page = min(_number(params, "page", 1), max(1, -(-len(ids) // PAIRS_PAGE_SIZE)))
        shown = ids[(page - 1) * PAIRS_PAGE_SIZE : page * PAIRS_PAGE_SIZE]
        texts, judgments = reads.pairs_by_id(con, shown), reads.pair_judgments(con, shown)
        compact = reads.pairs_summary(texts, judgments, rep["reference"], studied)
        first = (page - 1) * PAIRS_PAGE_SIZE
        which = f"the first {len(shown)}" if page == 1 else f"{first + 1}–{first + len(shown)}"
        heading = f"The pairs behind {cell} ({len(ids):,}; {which})"
        note = reads.pairs_summary_note(rep["reference"])
        out.append(Section("pairs", heading, compact, note, ("pair",), {"total": len(ids), "page": page}))
    return out


DISSECTION_PAGE_SIZE = 10  # the pairs behind a weight, a page at a time
KIND_ORDER = {"gold": 0, "human": 1, "crowd": 2}  # the reference first, then the judges to compare with it


def dissection_choices(result: dict, kinds: dict[str, str]) -> dict[str, list[str]]:
    """What a dissection offers to show, as the page's controls and its content both read it: the fitted judges,
    the three shown by default (reference labels first) and the similarity groups (the paper's Overall first)."""
    from analytics.dissection import MEAN_OVER_GROUPS

    fitted = sorted({j for res in result["results"].values() for j in res})
    return {
        "fitted": fitted,
        "default_judges": sorted(fitted, key=lambda j: (KIND_ORDER.get(kinds.get(j), 9), j))[:3],
        "similarity": sorted(result["similarity"], key=lambda g: g != MEAN_OVER_GROUPS),
    }


def _one_of(value: object, options: list[str], default: str | None = None) -> str:
    """A link's choice among options, else the default (the first option unless given), as the page's control."""
    return str(value) if value in options else (default if default is not None else options[0])


def dissection_content(con: duckdb.DuckDBPyConnection, dataset: str, params: dict) -> list[Section]:
    from analytics import dissection as D
    from analytics import figures, reads

    group = _chosen(params, "group", "(none)")
    mode = _one_of(params.get("features"), ["sign", "normalised"])
    settings = D.Settings(features=mode)
    result = D.dissect(con, dataset, group=group, settings=settings)
    kinds = reads.judge_kinds(con, dataset)
    choices = dissection_choices(result, kinds)
    fitted = choices["fitted"]
    if not fitted:
        message = f"No judge of {dataset} has {settings.min_pairs} decided (non-tie) pairs: nothing to fit."
        return [Section("weights", "What each judge rewards", message)]
    chosen = [j for j in params.get("judges") or [] if j in fitted] or choices["default_judges"]
    shown = _one_of(params.get("g"), list(result["results"]))
    fits = result["results"][shown]
    low_ess = [f"{j} ({fit['ess']:.0f})" for j, fit in fits.items() if fit["ess"] < 100]
    note = "Few effective samples (intervals less precise): " + ", ".join(low_ess) if low_ess else ""
    title = f"What each judge rewards — {shown}"
    out = [
        Section(
            "weights",
            "What each judge rewards",
            figures.dissection_figure({j: fits[j] for j in chosen if j in fits}, title),
            note,
        ),
        Section(
            "definitions",
            "Property definitions",
            pd.DataFrame([{"property": n, "definition": text} for n, text in result["definitions"].items()]),
        ),
    ]
    reference = _one_of(params.get("ref"), D.reference_candidates(fitted, kinds))
    versus = _flag(params, "vs_ref", False)
    every = f"Beyond {reference}" if versus else "What every judge rewards"
    title = f"{every} — {shown} (100·σ(w) − 50; * interval excludes 0)"
    heatmap = figures.weights_heatmap(fits, title, reference if versus else None)
    out.append(Section("heatmap", "All judges at once", heatmap))
    sim = _one_of(params.get("sim"), choices["similarity"])
    title = f"Pearson r of the weight vectors — {sim}"
    out.append(Section("similarity", "Judge similarity", figures.similarity_heatmap(result["similarity"][sim], title)))

    judge = _one_of(params.get("judge"), D.judges_to_compare(fitted, reference))
    heading = "What a judge rewards that the reference doesn't"
    if judge != reference:
        diff = D.difference_from_reference(con, dataset, judge, reference, shown, settings)
        if diff.empty:
            out.append(Section("difference", heading, "One of the two judges has too few decided pairs here."))
        else:
            note = (
                "Properties whose interval excludes 0 are where the judge can be steered differently from the "
                "reference: its attack surface for preference manipulation."
            )
            figure = figures.difference_figure(diff.head(10), judge, reference)
            out.append(Section("difference", heading, figure, note, meta={"judge": judge}))
    prop, weighed = str(params.get("prop") or ""), str(params.get("wjudge") or "")
    if prop and weighed in fitted:
        page = _number(params, "prop_page", 1)
        heading = f"The pairs behind {weighed}'s weight on “{prop}”"
        try:
            size = DISSECTION_PAGE_SIZE
            ids, total, towards = D.pairs_on_property(con, dataset, weighed, prop, size, (page - 1) * size)
        except ValueError as exc:
            out.append(Section("property_pairs", heading, exc))  # a warning: the link asked for what is not there
        else:
            note = (
                f"{total:,} pairs {weighed} decided whose responses differ on {prop}; it preferred the one with more "
                f"in {towards:,} ({towards / max(total, 1):.0%}). Those first, then the others."
            )
            table = reads.pairs_summary(
                reads.pairs_by_id(con, ids), reads.pair_judgments(con, ids), reference, [weighed]
            )
            out.append(Section("property_pairs", heading, table if ids else "No such pair.", note, ("pair",)))
    out += _explanation(con, dataset, params, result, judge, reference, settings)
    return out


def _explanation(
    con: duckdb.DuckDBPyConnection,
    dataset: str,
    params: dict,
    result: dict,
    judge: str,
    reference: str,
    settings: Settings,
) -> list[Section]:
    """One of the judge's decided pairs, property by property: the waterfall of weight × feature, and the pair."""
    from analytics import dissection as D
    from analytics import figures, reads

    heading = "Why this verdict? One pair, property by property"
    overall = result["results"][D.OVERALL].get(judge, {})
    if not (overall.get("weights") and overall.get("n")):
        return [Section("explanation", heading, f"{judge} has no fitted weights over all pairs.")]
    among = _one_of(params.get("among"), list(D.PAIR_LISTS))
    which = D.PAIR_LISTS[among].replace("the reference", reference)
    number = _number(params, "pair", 1)

    def decided(k: int) -> tuple | None:  # a scan of the judge's verdicts: once per dataset version (every rerun asks)
        from analytics.cache import cached
        from analytics.reads import dataset_version

        key = ("decided_pair", dataset, dataset_version(con, dataset), judge, k, among, reference)
        found = cached(key, lambda: D.decided_pair(con, dataset, judge, k, among, reference))
        return tuple(found) if found is not None else None

    found = decided(number)
    if found is None and number > 1:  # past the end of the list: its first pair
        number, found = 1, decided(1)
    if found is None:
        return [Section("explanation", heading, f"No pair of {judge} {which}.", meta={"total": 0, "among": which})]
    pair_id, verdict, total, ref_verdict = found
    table = D.contributions(overall["weights"], D.features_of_pair(con, pair_id, settings))
    texts = reads.pairs_by_id(con, [pair_id])
    model_a, model_b = texts.iloc[0]["model_a"], texts.iloc[0]["model_b"]
    mark = ""
    if ref_verdict is not None and judge != reference:
        right = "right" if ref_verdict == verdict else "wrong"
        mark = f" — {right}: {reference} preferred {reads.verdict_label(ref_verdict, model_a, model_b)}"
    title = f"{judge} preferred {reads.verdict_label(verdict, model_a, model_b)}{mark}"
    meta = {"total": total, "among": which, "number": number}
    hidden = tuple(c for c in texts if c not in reads.PAIR_TEXT)
    return [
        Section("explanation", heading, figures.waterfall_figure(table, title), meta=meta),
        Section("explained_pair", f"Pair {number:,} of {total:,} {which}", texts, hidden=hidden),
    ]


def regions_section(regions: pd.DataFrame, dataset: str, reference: str | None) -> Section:
    """The map's ranked regions, as the Map page lists them and its report prints them."""
    from analytics import maps as M

    if regions.empty:
        return Section("regions", "Rare regions", "No clusters on this map.")
    if reference:
        heading = "Under-represented regions"
        note = (
            f"Density of {dataset} relative to {reference} per cluster, in embedding space: ratio ρ = "
            "θ/(1−θ)·(n_ref/n_data) with θ's Jeffreys interval (1 = as common as in the reference). Coverage gaps "
            "(no dataset item, ≥ 20 reference items) first, then under-represented (upper bound < 0.5), then by "
            "missing mass."
        )
    else:
        heading = "Rare regions"
        note = (
            "No reference chosen: clusters ranked by median rarity (k-distance over the neighbours' median, in "
            "embedding space; > 1 is sparser than its surroundings)."
        )
    columns = [c for c in M.region_columns(reference is not None) if c in regions]
    table = regions[columns].rename(columns={"judges_disagree": "judges split", "a_wins": "A wins"})
    return Section("regions", heading, table, note)


def map_content(con: duckdb.DuckDBPyConnection, dataset: str, params: dict) -> list[Section]:
    from analytics import figures
    from analytics import maps as M
    from analytics.explorer import is_filtering, matching_ids
    from analytics.selections import load_selection

    maps = M.list_maps(con, dataset)
    choices = M.map_choices(con, dataset, maps)
    if not choices:
        raise ValueError(f"no map of {dataset} in this store")
    label = _one_of(params.get("map"), list(choices))
    map_id = choices[label]
    points, regions = M.map_view(con, map_id)
    info = maps.set_index("map_id").loc[map_id]
    reference = info["reference"] if isinstance(info["reference"], str) else None
    color = _one_of(params.get("color"), [c for c in M.MAP_COLORS if reference or c not in M.REFERENCE_COLORS])
    drawn = load_selection(str(params.get("sel") or ""))
    query = str(params.get("q") or "")
    filters = map_filters(params)
    selected, reason = M.selected_items(
        points,
        drawn["items"] if drawn else None,
        str(params.get("region") or "(none)"),
        M.search_items(con, map_id, info["space"], query) if query else None,
        query,
        matching_ids(con, dataset, filters, M.ITEM_OF[info["space"]]) if is_filtering(filters) else None,
    )
    shown = M.drawn_points(con, points, info["space"])
    fig = figures.map_figure(shown, color, M.MAP_COLORS[color], regions, selected, f"{dataset}: {label}")
    out = [Section("map", "Map", fig, f"Selected: {reason}" if reason else "")]
    if selected is not None:
        out.append(Section("selection", "The selection", selection_table(con, points, selected, info, dataset)))
    out.append(regions_section(regions, dataset, reference))
    return out


def map_filters(params: dict) -> PairFilters:
    """The map's category / judge / verdict filters from its parameters (as on the Pairs page)."""
    from analytics.explorer import PairFilters

    wanted = {k: params[k] for k in ("category", "judge", "verdict", "split") if k in params}
    return PairFilters.from_params(wanted)


def selection_table(
    con: duckdb.DuckDBPyConnection, points: pd.DataFrame, selected: set[str], info: pd.Series, dataset: str
) -> pd.DataFrame:
    """A map selection's summary as a table: its items of the dataset and of the reference, the density ratio with
    its interval and coverage verdict, and the prompts nearest its centre."""
    from analytics import maps as M

    summary = M.selection_summary(con, points, selected, info["space"])
    rows = [{"figure": f"items of {dataset}", "value": f"{summary['n_data']:,}"}]
    if "ratio" in summary:
        rows += [
            {"figure": f"items of {info['reference']}", "value": f"{summary['n_reference']:,}"},
            {
                "figure": "density ratio ρ",
                "value": f"{summary['ratio']:.2f} [{summary['ratio_low']:.2f}, {summary['ratio_high']:.2f}] · "
                f"{summary['coverage']}",
            },
        ]
    rows += [{"figure": f"prompt {k}", "value": text[:200]} for k, text in enumerate(summary["top"], start=1)]
    return pd.DataFrame(rows)


PAIRS_PER_PAGE = 20  # the Pairs page's list
PAIR_COLUMNS = ["prompt", "category", "subset", "model_a", "model_b", "len_a", "len_b", "distinct_verdicts"]


def pairs_content(con: duckdb.DuckDBPyConnection, dataset: str, params: dict) -> list[Section]:
    from analytics import reads
    from analytics.explorer import PairFilters, count_of, find_pairs, pair_properties, similar_prompts

    filters = PairFilters.from_params(params)
    page = _number(params, "page", 1)
    rows = find_pairs(con, dataset, filters, limit=PAIRS_PER_PAGE, offset=(page - 1) * PAIRS_PER_PAGE)
    if rows.empty and page > 1:  # past the end (a shorter result or a hand-edited link): the first page
        page, rows = 1, find_pairs(con, dataset, filters, limit=PAIRS_PER_PAGE)
    total = count_of(rows)
    shown = rows[[*PAIR_COLUMNS, "pair_id"]].dropna(axis=1, how="all")
    meta = {"total": total, "page": page}
    out = [Section("pairs", f"{total:,} pairs match", shown, hidden=("pair_id",), meta=meta)]
    opened = str(params.get("open") or "")
    if opened:  # that pair only is read
        pair = reads.pairs_by_id(con, [opened])
        if pair.empty or pd.isna(pair.iloc[0]["prompt"]):
            out.append(Section("pair", "The pair", "The pair in the link is not in this dataset."))
            return out
        out.append(Section("pair", "The pair", pair, hidden=tuple(c for c in pair if c not in reads.PAIR_TEXT)))
        row = pair.iloc[0]
        verdicts = reads.verdict_table(reads.pair_judgments(con, [opened]), row["model_a"], row["model_b"])
        out.append(Section("verdicts", "Every verdict on it", verdicts))
        out.append(Section("properties", "Properties of the two responses", pair_properties(con, opened).round(3)))
        try:
            similar = similar_prompts(con, dataset, pair.iloc[0]["prompt"])
        except LookupError as exc:
            similar = str(exc)
        out.append(Section("similar", "Similar pairs (nearest prompts in embedding space)", similar))
    return out


def judge_content(con: duckdb.DuckDBPyConnection, dataset: str, params: dict) -> list[Section]:
    from analytics import figures
    from analytics import judgecard as C

    by_family = _flag(params, "family", False)
    names = C.families(con) if by_family else C.judge_names(con)
    if not names:
        return [Section("card", "Judge card", "No judge in this store.")]
    name = str(params["name"]) if params.get("name") in names else names[0]
    card = C.judge_card(con, name, by_family)
    table = C.card_table(card)
    if table.empty:
        return [Section("card", f"{name} across datasets", f"{name} decided no pair in this store.")]
    members = f" ({', '.join(card['judges'])})" if by_family else ""
    note = (
        f"{name}{members} in {table['dataset'].nunique()} datasets · accuracy against each dataset's reference "
        "under that dataset's own convention · every figure with n and a seeded 95% bootstrap interval, as on the "
        "Judges page"
    )
    title = f"{name} across datasets"
    return [
        Section("card", title, figures.judge_card_figure(card["rows"], C.METRICS, title), note),
        Section("figures", "Figures", table),
    ]


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
                Param("category", None, "list"),  # filters the map highlights (as on the Pairs page)
                Param("judge"),
                Param("verdict", "any"),
                Param("split", False, "bool"),
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
