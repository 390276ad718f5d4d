"""Judge card: one judge (or a model family) across every dataset and subset of the store."""

from __future__ import annotations

import streamlit as st

from analytics import judgecard as C
from analytics.figures import judge_card_figure
from dashboard.db import page_start
from dashboard.widgets import chart, plain, url_selectbox, url_toggle

con, dataset = page_start()


@st.cache_data(show_spinner="Reading the judge's figures in every dataset…", max_entries=32)
def card(_con, stamp: str, name: str, by_family: bool) -> dict:
    return C.judge_card(_con, name, by_family)


st.title("Judge card")
by_family = url_toggle("Whole model family", "family", False, help="Every judge of one model family, side by side.")
names = C.families(con) if by_family else C.judge_names(con)
if not names:
    st.info("No judge in this store.")
    st.stop()
name = url_selectbox("Family" if by_family else "Judge", names, "name")
try:
    result = card(con, C.store_stamp(con), name, by_family)
except ValueError as exc:
    st.error(plain(exc, 400))
    st.stop()
table = C.card_table(result)
if table.empty:
    st.info(f"{plain(name)} decided no pair in this store.")
    st.stop()
st.caption(
    f"**{plain(name)}**{' (' + ', '.join(map(plain, result['judges'])) + ')' if by_family else ''} in "
    f"{table['dataset'].nunique()} datasets · accuracy against each dataset's reference under that dataset's own "
    "convention · every figure with n and a seeded 95% bootstrap interval, as on the Judges page"
)
chart(judge_card_figure(result["rows"], C.METRICS, f"{name} across datasets"), key="card_chart")
st.dataframe(table, hide_index=True, column_config={"judge": st.column_config.TextColumn(pinned=True)})
