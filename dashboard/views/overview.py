"""Overview: the datasets in the store, their judges and verdicts, and pairs to read side by side."""

from __future__ import annotations

import json

import streamlit as st

from analytics import overview
from analytics.figures import verdict_distribution
from dashboard.db import cursor

con = cursor()
dataset = st.session_state.get("dataset")
if con is None or dataset is None:
    st.stop()

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

row = table[table["dataset"] == dataset].iloc[0]
st.header(f"{row['title'] or dataset}")
st.caption(
    f"Licence: **{row['licence'] or 'unknown'}**"
    + (f" — {row['licence_note']}" if row["licence_note"] else "")
    + f" · source {row['source'] or 'local file'} · version `{row['version']}`"
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
st.plotly_chart(verdict_distribution(overview.verdict_counts(con, dataset)), theme=None, key="verdicts")

st.subheader("A sample of pairs")
seed = st.number_input(
    "Sample",
    min_value=0,
    max_value=10_000,
    step=1,
    key="sample",
    bind="query-params",
    help="Another number draws other pairs; the same number always draws the same ones.",
)
sample = overview.sample_pairs(con, dataset, n=5, seed=int(seed))
verdicts = overview.pair_judgments(con, sample["pair_id"].tolist())
for _, pair in sample.iterrows():
    label = " · ".join(str(x) for x in (pair["subset"], pair["category"]) if x is not None and x == x)
    with st.container(border=True):
        st.markdown(f"**Prompt** {('· ' + label) if label else ''}")
        if pair["context"]:
            with st.expander("Earlier turns"):
                for turn in json.loads(pair["context"]):
                    st.text(f"{turn.get('role', '?')}: {turn.get('content', '')}")
        st.code(pair["prompt"], language=None, wrap_lines=True)
        left, right = st.columns(2)
        for side, col in (("a", left), ("b", right)):
            model = pair[f"model_{side}"]
            col.markdown(f"**Response {side.upper()}**" + (f" — {model}" if model else ""))
            col.code(pair[f"response_{side}"], language=None, wrap_lines=True, height=260)
        mine = verdicts[verdicts["pair_id"] == pair["pair_id"]]
        shown = mine.assign(
            preferred=mine["verdict"].map(lambda v, p=pair: overview.verdict_label(v, p["model_a"], p["model_b"])),
            order=mine["shown_order"].map({"AB": "A shown first", "BA": "B shown first"}).fillna("unknown"),
        )[["judge", "kind", "preferred", "order", "verdict_raw"]]
        st.dataframe(shown, hide_index=True)
        st.caption(f"pair `{pair['pair_id']}` · {pair['source_file']} row {pair['source_row']}")
