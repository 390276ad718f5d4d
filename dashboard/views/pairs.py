"""Pairs: read the data itself. Filter by category, generator, a judge's verdict, judge disagreement, length, a
property value and text; sort; page; open a pair to see it side by side with every verdict, its properties and the
most similar pairs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics import reads
from analytics.explorer import ANY_JUDGE, NO_PROP, SORTS, VERDICT_FILTERS, filter_options
from analytics.pages import PAIRS_PER_PAGE, pairs_content
from dashboard.db import page_start
from dashboard.widgets import (
    by_key,
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
    float(new_prop_min or 0)  # only to say so: the content reads the filter from the link and leaves a bad one off
except ValueError:
    st.warning(f"“{plain(new_prop_min)}” is not a number: the property filter is off.")

sections = by_key(pairs_content(con, dataset, view_params("pairs")))
listed = sections["pairs"]
st.caption(plain(listed.heading))
if listed.body.empty:
    st.stop()
if "page" in st.session_state:  # past the end: the content fell back to the first page
    st.session_state["page"] = listed.meta["page"]
url_number("Page", "page", 1, 1, max(1, -(-listed.meta["total"] // PAIRS_PER_PAGE)))
picked = show(listed, heading=False, key="pairs_table", on_select="rerun", selection_mode="single-row")
chosen = picked.selection.rows if picked is not None else []
if chosen and is_new("pairs_table", chosen):
    st.query_params["open"] = listed.body.iloc[chosen[0]]["pair_id"]
    st.rerun()  # the content reads the opened pair

if "pair" in sections:
    opened = sections["pair"]
    if not isinstance(opened.body, pd.DataFrame):
        st.warning(plain(opened.body, 300))
    else:
        st.subheader(opened.heading)
        pair = opened.body.iloc[0]
        pair_card(pair, reads.pair_judgments(con, [pair["pair_id"]]))
        with st.expander(sections["properties"].heading):
            show(sections["properties"], heading=False, hide_index=False)
        with st.expander(sections["similar"].heading):
            show(sections["similar"], heading=False)
