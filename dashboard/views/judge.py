"""Judge card: one judge (or a model family) across every dataset and subset of the store."""

from __future__ import annotations

import streamlit as st

from analytics import judgecard as C
from analytics.pages import judge_content
from dashboard.db import page_start
from dashboard.widgets import by_key, plain, show, url_selectbox, url_toggle, view_params

con, dataset = page_start()

st.title("Judge card")
by_family = url_toggle("Whole model family", "family", False, help="Every judge of one model family, side by side.")
names = C.families(con) if by_family else C.judge_names(con)
if names:
    url_selectbox("Family" if by_family else "Judge", names, "name")
try:
    with st.spinner("Reading the judge's figures in every dataset…"):
        sections = by_key(judge_content(con, dataset, view_params("judge")))
except ValueError as exc:
    st.error(plain(exc, 400))
    st.stop()
show(sections["card"], heading=False, key="card_chart")
show(sections.get("figures"), heading=False, column_config={"judge": st.column_config.TextColumn(pinned=True)})
