"""Pairs: read the data itself. Filter by category, generator, a judge's verdict, judge disagreement, length, a
property value and text; sort; page; open a pair to see it side by side with every verdict, its properties and the
most similar pairs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics import reads
from analytics.explorer import (
    SORTS,
    VERDICT_FILTERS,
    PairFilters,
    count_of,
    filter_options,
    find_pairs,
    pair_properties,
    similar_prompts,
)
from dashboard.db import page_start
from dashboard.widgets import pair_card, plain, url_multiselect, url_number, url_selectbox, url_toggle

PAGE_SIZE = 20
ANY_JUDGE = "(any judge)"
NO_PROP = "(none)"

con, dataset = page_start()

st.title("Pairs")
options = filter_options(con, dataset)
c1, c2, c3 = st.columns(3)
with c1:
    categories = url_multiselect("Category", options["categories"], "category", []) if options["categories"] else []
    generators = url_multiselect("Generator", options["generators"], "generator", []) if options["generators"] else []
with c2:
    judge = url_selectbox("Judge", [ANY_JUDGE, *options["judges"]], "judge")
    verdict = url_selectbox(
        "Verdict of that judge", list(VERDICT_FILTERS), "verdict", help="A / B in the pair's own frame"
    )
    split = url_toggle("Only pairs the judges disagree on", "split", False)
with c3:
    min_len = url_number("Longer response at least (characters)", "min_len", 0, 0, 1_000_000)
    max_len = url_number("… and at most (0: no limit)", "max_len", 0, 0, 1_000_000)
    prop = url_selectbox("Property", [NO_PROP, *options["properties"]], "prop")
prop_min_text = st.query_params.get("prop_min", "")
query = st.query_params.get("q", "")
c4, c5, c6 = st.columns(3)
with c4:
    new_query = st.text_input("Text in prompt or responses", value=query, max_chars=200)
with c5:
    new_prop_min = st.text_input(
        "Property at least (either response)", value=prop_min_text, max_chars=20, disabled=prop == NO_PROP
    )
with c6:
    sort = url_selectbox("Sort", list(SORTS), "sort")
for key, value, old in (("q", new_query, query), ("prop_min", new_prop_min, prop_min_text)):
    if value != old:
        if value:
            st.query_params[key] = value
        elif key in st.query_params:
            del st.query_params[key]
try:
    prop_min = float(new_prop_min) if new_prop_min.strip() else None
except ValueError:
    st.warning(f"“{plain(new_prop_min)}” is not a number: the property filter is off.")
    prop_min = None

filters = PairFilters(
    categories=categories,
    generators=generators,
    judge=None if judge == ANY_JUDGE else judge,
    verdict=verdict,
    split=split,
    min_len=min_len,
    max_len=max_len,
    prop=None if prop == NO_PROP else prop,
    prop_min=prop_min,
    text=new_query,
    sort=sort,
)
# one page of rows from DuckDB (with the total); the page number is read first, then checked against the total
wanted_page = st.session_state.get("page") or st.query_params.get("page", "1")
wanted_page = int(wanted_page) if str(wanted_page).isdigit() and int(wanted_page) >= 1 else 1
rows = find_pairs(con, dataset, filters, limit=PAGE_SIZE, offset=(wanted_page - 1) * PAGE_SIZE)
total = count_of(rows)
if rows.empty and wanted_page > 1:  # past the end (a shorter result or a hand-edited link): the first page
    rows = find_pairs(con, dataset, filters, limit=PAGE_SIZE)
    total = count_of(rows)
    if "page" in st.session_state:
        st.session_state["page"] = 1
st.caption(f"{total:,} pairs match")
if rows.empty:
    st.stop()
pages = max(1, -(-total // PAGE_SIZE))
page = url_number("Page", "page", 1, 1, pages)
if page != wanted_page:
    rows = find_pairs(con, dataset, filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
picked = st.dataframe(
    rows[
        ["prompt", "category", "subset", "model_a", "model_b", "len_a", "len_b", "distinct_verdicts", "pair_id"]
    ].dropna(axis=1, how="all"),
    hide_index=True,
    key="pairs_table",
    on_select="rerun",
    selection_mode="single-row",
)
chosen = picked.selection.rows if picked is not None else []
if chosen:
    st.query_params["open"] = rows.iloc[chosen[0]]["pair_id"]

open_id = st.query_params.get("open", "")
if open_id:
    pair = reads.pairs_by_id(con, [open_id])
    if pair.empty or pair.iloc[0]["prompt"] is None or pd.isna(pair.iloc[0]["prompt"]):
        st.warning("The pair in the link is not in this dataset.")
    else:
        st.subheader("The pair")
        pair_card(pair.iloc[0], reads.pair_judgments(con, [open_id]))
        with st.expander("Properties of the two responses"):
            st.dataframe(pair_properties(con, open_id).round(3))
        with st.expander("Similar pairs (nearest prompts in embedding space)"):
            try:
                st.dataframe(similar_prompts(con, dataset, pair.iloc[0]["prompt"]), hide_index=True)
            except LookupError as exc:
                st.info(plain(exc, 400))
