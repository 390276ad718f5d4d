"""Map: a WebGL UMAP map of the dataset with named clusters, under-represented regions ranked with intervals, and
selections (lasso, box, region, search, similar items) that open the pairs behind them."""

from __future__ import annotations

import time

import duckdb
import pandas as pd
import streamlit as st

from analytics import judges as J
from analytics import maps as M
from analytics import reads
from analytics.dissection import OVERALL, Settings, dissect
from analytics.explorer import ANY_JUDGE, VERDICT_FILTERS, PairFilters, filter_options, is_filtering, matching_ids
from analytics.figures import dissection_figure, map_figure
from analytics.pages import map_filters, regions_section
from analytics.selections import is_among, load_selection, save_selection
from analytics.stats import format_estimate
from dashboard.builds import default_maps_build, map_build, start_map_build
from dashboard.db import StoreBusy, page_start, reading
from dashboard.runlog import timed_run
from dashboard.share import refresh_link
from dashboard.widgets import (
    chart,
    is_new,
    pair_card,
    plain,
    show,
    url_multiselect,
    url_number,
    url_selectbox,
    url_toggle,
    view_params,
)

PAGE_SIZE = 10
LARGE_SELECTION = 20_000  # pairs
COLORS = M.MAP_COLORS

con, dataset = page_start()


@st.fragment(run_every=1.5)
def build_status(dataset: str, rendered_at: float) -> None:
    """The build's progress, refreshed in place; the page reruns as a whole once the map is written."""
    defaults = default_maps_build()
    for finished in (map_build(dataset), defaults):
        if finished is not None and finished.get("finished", 0) > rendered_at:
            st.rerun()  # a build wrote its maps since this page looked: the whole page, with its map
    job = map_build(dataset)
    if job is not None and job["state"] == "done":
        job = None  # done before this page looked, and still no map here (built into another store): offer it
    if job is None and defaults is not None and defaults["state"] == "running":
        job = {**defaults, "step": f"the default maps — {defaults['step']}"}  # this dataset's map is among them
    if job is None or job["state"] == "failed":
        if job is not None:
            st.error(f"The map could not be built: {plain(job['error'], 300)}")
        if not st.button("Embed the prompts and build the map", icon=":material/scatter_plot:"):
            return
        start_map_build(dataset)
        job = map_build(dataset)
    share = job["done"] / job["total"] if job["total"] else 0.0
    detail = f": {job['done']:,} of {job['total']:,}" if job["total"] else ""
    st.progress(share, text=f"Building the map in the background: {job['step']}{detail}")
    st.caption("Other pages and sessions keep working meanwhile; this page shows the map when it is written.")


st.title("Map")
maps = M.list_maps(con, dataset)
if maps.empty:
    st.info(
        f"No map of **{plain(dataset)}** yet. Build one here (embedding its prompts takes about a minute per "
        "thousand on a CPU), or from the command line: `prefatlas embed --dataset NAME --prompts-only` then "
        "`prefatlas map --dataset NAME`."
    )
    build_status(dataset, time.time())
    st.stop()

by_label = M.map_choices(con, dataset, maps)
choice = url_selectbox("Map", list(by_label), "map")
map_id = by_label[choice]
info = maps.set_index("map_id").loc[map_id]
reference = info["reference"] if isinstance(info["reference"], str) else None


@st.cache_resource(max_entries=4, show_spinner="Reading the map…")  # shared, never copied; read-only
def load(_con, map_id: str, version: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    # every point's position and layers (no texts, no neighbour lists: ~100 MB at a million points); the layers
    # and regions are computed once per dataset version and read from the result cache after
    return M.map_view(_con, map_id)


@st.cache_resource(max_entries=4, show_spinner=False)  # shared, never copied (60,000 rows with texts); read-only
def drawn(_con, map_id: str, version: str) -> pd.DataFrame:
    return M.drawn_points(_con, load(_con, map_id, version)[0], info["space"])


@st.cache_data(max_entries=16, show_spinner="Comparing the judges on the selection…")
def selection_judges(_con, version: str, map_id: str, scope: str, _pair_ids: list[str]) -> dict[str, pd.DataFrame]:
    """The judges on the selected pairs, from one read of their verdicts: each judge's accuracy inside against the
    whole dataset (beside the map), each two judges' agreement and κ (below it). `scope` names the selection (a
    hundred thousand ids would take Streamlit a second to hash on every rerun)."""
    verdicts = J.load_verdicts(_con, dataset, pair_ids=_pair_ids, details=False)
    wide = verdicts.wide
    agreement = pd.DataFrame(
        [
            {"judges": f"{a.judge_1} ~ {a.judge_2}", "agreement": a.with_ties.fmt(True), "Cohen's κ": a.kappa.fmt()}
            for a in (J.agreement_matrix(wide, boot=200, codes=verdicts.codes) if wide.shape[1] >= 2 else [])
        ]
    )
    return {"agreement": agreement, "within": J.accuracy_within(_con, dataset, _pair_ids, verdicts=verdicts)}


@st.cache_data(max_entries=16, show_spinner=False)
def summarise(_con, version: str, map_id: str, scope: str, _selected: set[str]) -> dict:
    return M.selection_summary(_con, load(_con, map_id, version)[0], _selected, info["space"])


@st.cache_data(max_entries=32, show_spinner=False)
def search(_con, map_id: str, version: str, text: str) -> set[str]:
    return M.search_items(_con, map_id, info["space"], text)


version = reads.dataset_version(con, dataset)
points, regions = load(con, map_id, version)
options = filter_options(con, dataset)


@st.cache_data(max_entries=32, show_spinner=False)
def filtered(_con, version: str, dataset: str, space: str, filters: PairFilters) -> set[str]:
    """The map items whose pairs the filters keep (prompts on a prompts map, pairs on a pairs map)."""
    return matching_ids(_con, dataset, filters, of=M.ITEM_OF[space])


def filter_controls(options: dict) -> None:
    """The verdict / judge / category controls (in the link, as on the Pairs page): the map highlights the items
    whose pairs they keep, and the summary and pairs follow."""
    with st.expander("Filter by category, judge and verdict", expanded=bool(st.query_params.get("judge"))):
        c1, c2, c3 = st.columns(3)
        with c1:
            if options["categories"]:
                url_multiselect("Category", options["categories"], "category", [])
        with c2:
            url_selectbox("Judge", [ANY_JUDGE, *options["judges"]], "judge")
            url_selectbox("Its verdict", list(VERDICT_FILTERS), "verdict", help="A / B in the pair's frame")
        with c3:
            url_toggle("Only pairs the judges disagree on", "split", False)


@st.fragment
def explore() -> None:
    """Controls, map, the summary beside it and the selection's pairs: a change here (colour, filter, search,
    lasso) reruns this part of the page only. Its own cursor: a rerun of it holds no page run's lease."""
    try:
        with timed_run("map (its map and selection)"), reading(wait_s=30) as con:
            _explore(con)
    except StoreBusy:
        st.info("The store is being updated; this part of the page follows once it is done.")
        return
    refresh_link()  # the sidebar's link follows the selection or filter just made


def _explore(con: duckdb.DuckDBPyConnection) -> None:
    color_options = [c for c in COLORS if reference is not None or c not in M.REFERENCE_COLORS]
    controls = st.columns(3)
    with controls[0]:
        color = url_selectbox("Colour by", color_options, "color", format_func=COLORS.get)
    filter_controls(options)
    filters = map_filters(view_params("map"))

    # --- selection state: a lasso / box (saved under a short id), a region, a search, the filters ---------------------
    def take_new_selection() -> None:
        """A lasso, box or click made on the map since the last run becomes the link's selection at once, in this
        run: the chart's state is read before the chart is drawn (a second run would send the whole figure again).
        A lasso or box selects every point inside it, drawn or not; a click, the points clicked. A selection the
        chart merely keeps from earlier is not taken again (it would undo "Clear the selection")."""
        state = st.session_state.get("map_chart")
        drawn_selection = state["selection"] if state and "selection" in state else None
        if not drawn_selection or not is_new("map_chart", drawn_selection):
            return
        picked = M.items_in_shapes(points, drawn_selection)
        picked = M.row_ids_from_selection(drawn_selection) if picked is None else picked
        if picked:
            st.query_params["sel"] = save_selection(picked, {"map": map_id})

    take_new_selection()
    selection = load_selection(st.query_params.get("sel", ""))
    if st.query_params.get("sel") and selection is None:
        st.warning("The selection in the link is not available here; showing the whole map.")
        del st.query_params["sel"]
    region_names = (
        ["(none)", *[f"{r.cluster}: {r.name}" for r in regions.itertuples()]] if not regions.empty else ["(none)"]
    )
    with controls[1]:
        region = url_selectbox(
            "Region", region_names, "region", help="Open a region's pairs (also from the table below)."
        )
    with controls[2]:
        query = st.text_input("Search prompts", value=st.query_params.get("q", ""), key="q_input", max_chars=200)
    if query != st.query_params.get("q", ""):
        if query:
            st.query_params["q"] = query
        elif "q" in st.query_params:
            del st.query_params["q"]

    selected, reason = M.selected_items(
        points,
        selection["items"] if selection is not None else None,
        region,
        search(con, map_id, version, query) if query else None,
        query,
        filtered(con, version, dataset, info["space"], filters) if is_filtering(filters) else None,
    )

    # --- the map -----------------------------------------------------------------------------------------------------
    shown = drawn(con, map_id, version)
    fig = map_figure(shown, color, COLORS[color], regions, selected, f"{dataset}: {choice}")
    in_dataset = points["source"] == "dataset"
    pair_ids: list[str] = []
    if selected is not None:
        items = points.loc[in_dataset & is_among(points["item_id"], selected), "item_id"].tolist()
        pair_ids = M.pairs_of_items(con, dataset, info["space"], items)
    scope = f"{st.query_params.get('sel', '')}|{region}|{query}|{filters}"
    map_column, summary_column = st.columns([3, 2]) if selected is not None else (st.container(), None)
    with map_column:
        chart(fig, key="map_chart", on_select="rerun", selection_mode=("points", "box", "lasso"))
        if len(shown) < len(points):
            st.caption(f"Showing {len(shown):,} of {len(points):,} points (sparse areas kept); counts use all points.")
        if selection is not None and st.button("Clear the selection"):
            del st.query_params["sel"]
            st.rerun()
    if summary_column is not None:
        with summary_column:  # follows the selection in the same run: it is taken before the map is drawn
            st.markdown("**The selection**")
            st.caption(plain(reason, 400))
            summary = summarise(con, version, map_id, scope, selected)
            counts = st.columns(2 if reference else 1)
            counts[0].metric(plain(dataset), f"{summary['n_data']:,}", help="dataset items in the selection")
            if reference:
                counts[1].metric(
                    plain(reference), f"{summary['n_reference']:,}", help="reference items in the selection"
                )
                st.markdown(
                    f"Density ratio ρ = **{summary['ratio']:.2f}** [{summary['ratio_low']:.2f}, "
                    f"{summary['ratio_high']:.2f}] · **{summary['coverage']}**",
                    help=M.COVERAGE_VERDICTS[summary["coverage"]],
                )
            if pair_ids:
                within = selection_judges(con, version, map_id, scope, pair_ids)["within"]
                if not within.empty:
                    st.dataframe(
                        pd.DataFrame(
                            {
                                "judge": within["judge"],
                                "accuracy here": [format_estimate(e) for e in within["within"]],
                                "whole dataset": [format_estimate(e) for e in within["whole"]],
                                "apart": ["yes" if d else "" for d in within["differs"]],
                            }
                        ),
                        hide_index=True,
                    )
                    st.caption("Against the dataset's reference, under its convention; 'apart': the intervals part.")
            for text in summary["top"]:
                st.text(text[:160] + ("…" if len(text) > 160 else ""))

    # --- the pairs behind the selection ------------------------------------------------------------------------------
    if selected is not None:
        st.subheader("In the selection")  # what it is (the reason) is said beside the map
        st.caption(f"{len(pair_ids):,} pairs of {plain(dataset)}")
        if pair_ids:
            agree = selection_judges(con, version, map_id, scope, pair_ids)["agreement"]
            if not agree.empty:
                st.dataframe(agree, hide_index=True)
            if len(pair_ids) >= Settings().min_pairs:
                with st.expander(f"What the judges reward in these {len(pair_ids):,} pairs (dissection)"):
                    # small selections are fitted at once; a large one (seconds per judge) when asked
                    if len(pair_ids) <= LARGE_SELECTION or st.toggle("Fit the dissection of these pairs"):
                        fitted = dissect(con, dataset, pair_ids=pair_ids)["results"][OVERALL]
                        chart(
                            dissection_figure(dict(list(fitted.items())[:4]), "Dissection of the selection"),
                            key="selection_dissection",
                        )
            pages = max(1, -(-len(pair_ids) // PAGE_SIZE))
            page = url_number("Page", "page", 1, 1, pages)
            shown_ids = pair_ids[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
            texts = reads.pairs_by_id(con, shown_ids)
            verdicts = reads.pair_judgments(con, shown_ids)
            for _, pair in texts.iterrows():
                pair_card(pair, verdicts)


explore()

# --- regions ---------------------------------------------------------------------------------------------------------
listed = regions_section(regions, dataset, reference)  # as the page's report prints it
body = listed.body if isinstance(listed.body, pd.DataFrame) else pd.DataFrame()
floats = body.select_dtypes("float").columns
picked_rows = show(
    listed,
    key="regions_table",
    on_select="rerun",
    selection_mode="single-row",
    column_config={c: st.column_config.NumberColumn(format="%.2f") for c in floats},
)
if not regions.empty:
    rows = picked_rows.selection.rows if picked_rows is not None else []
    if rows:
        wanted = f"{regions.iloc[rows[0]]['cluster']}: {regions.iloc[rows[0]]['name']}"
        if st.session_state.get("region") != wanted:
            st.session_state["region"] = wanted
            st.rerun()
    with st.expander("Each region's most typical prompt (medoid)"):
        for r in regions.head(15).itertuples():
            st.markdown(f"**{plain(r.name)}**")
            st.text(str(r.medoid)[:500])

# --- similar items ---------------------------------------------------------------------------------------------------
st.subheader("Similar prompts" if info["space"] == "prompts" else "Similar pairs")
data_points = points.loc[points["source"] == "dataset", ["item_id"]].reset_index(drop=True)
k = url_number(
    "Item",
    "item",
    1,
    1,
    len(data_points),
    help="Pick an item by number; its nearest neighbours in embedding space are listed.",
)
neighbours = M.neighbours_of(con, map_id, info["space"], data_points.at[k - 1, "item_id"])
st.text(str(neighbours["text"].iloc[0] if len(neighbours) else "")[:600])
neighbours = neighbours.head(10)
neighbours["text"] = neighbours["text"].fillna("").str.slice(0, 200)
st.dataframe(neighbours[["cosine distance", "source", "cluster_name", "text"]], hide_index=True)
