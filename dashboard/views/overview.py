"""Overview: the datasets in the store, their judges and verdicts, and pairs to read side by side."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics import overview
from analytics.figures import verdict_distribution
from analytics.savedviews import list_views
from dashboard.db import page_start
from dashboard.widgets import chart, pair_card, plain, url_number

con, dataset = page_start()

st.title("prefatlas")
st.caption("LLM preference datasets and the judges who labelled them.")

st.subheader("Datasets in this store")
table = overview.datasets_table(con)
st.dataframe(
    table[
        [
            "dataset",
            "title",
            "pairs",
            "prompts",
            "judges",
            "judgments",
            "licence",
            "licence_note",
            "source",
            "version",
            "ingested_at",
        ]
    ],
    hide_index=True,
    column_config={"licence_note": st.column_config.TextColumn("licence note", width="medium")},
)

views = list_views()
if views:
    st.subheader("Saved views")
    st.caption("For a meeting's agenda: each opens the exact view it was saved from.")
    st.dataframe(
        pd.DataFrame(views).reindex(columns=["title", "note", "saved_by", "saved_at", "link"]),
        hide_index=True,
        column_config={
            "link": st.column_config.LinkColumn("link", display_text="open"),
            "saved_by": st.column_config.TextColumn("saved by"),
        },
    )

row = table[table["dataset"] == dataset].iloc[0]
st.header(plain(row["title"] or dataset))
st.caption(
    f"Licence: **{plain(row['licence'] or 'unknown')}**"
    + (f" — {plain(row['licence_note'], 400)}" if row["licence_note"] else "")
    + f" · source {plain(row['source'] or 'local file')} · version {plain(row['version'])}"
)
cols = st.columns(4)
cols[0].metric("Pairs", f"{row['pairs']:,}")
cols[1].metric("Prompts", f"{row['prompts']:,}")
cols[2].metric("Judges", f"{row['judges']:,}")
cols[3].metric("Judgments", f"{row['judgments']:,}")

subsets = overview.subsets_table(con, dataset)
if len(subsets) > 1:
    st.dataframe(subsets, hide_index=True)

st.subheader("Judges and their verdicts")
st.caption(
    "A and B are the pair's own responses, whatever order a judge saw them in; 'unparsed' = the judge "
    "answered but its verdict could not be read (never counted as a tie)."
)
judges = overview.judges_table(con, dataset)
st.dataframe(
    judges,
    hide_index=True,
    column_config={
        f"share_{v}": st.column_config.NumberColumn(f"{v}", format="percent") for v in ("A", "B", "tie", "unparsed")
    },
)
chart(verdict_distribution(overview.verdict_counts(con, dataset)), key="verdicts")

st.subheader("A sample of pairs")
seed = url_number(
    "Sample",
    "sample",
    0,
    0,
    10_000,
    help="Another number draws other pairs; the same number always draws the same ones.",
)
sample = overview.sample_pairs(con, dataset, n=5, seed=int(seed))
verdicts = overview.pair_judgments(con, sample["pair_id"].tolist())
for _, pair in sample.iterrows():
    pair_card(pair, verdicts)
