"""Overview: the datasets in the store, their judges and verdicts, and pairs to read side by side."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics import reads
from analytics.pages import overview_content
from analytics.savedviews import delete_view, edit_view, list_views, move_view, presenting_link
from dashboard.db import page_start
from dashboard.share import meeting_document_button
from dashboard.widgets import by_key, pair_card, plain, presenting, show, url_number, view_params

con, dataset = page_start()

st.title("prefatlas")
st.caption("LLM preference datasets and the judges who labelled them.")

sections = by_key(overview_content(con, dataset, view_params("overview")))
show(
    sections["datasets"],
    column_config={"licence_note": st.column_config.TextColumn("licence note", width="medium")},
)
table = sections["datasets"].body

views = list_views()
if views:
    st.subheader("Agenda: the saved views")
    st.caption(
        "For a review meeting: each opens the exact view it was saved from; “present” steps through them in order "
        "in presentation mode (previous / next / exit)."
    )
    present, document = st.columns([1, 3])
    present.link_button("Present the agenda", presenting_link(views[0]), icon=":material/slideshow:")
    if not presenting():
        with document:
            meeting_document_button()
    agenda = pd.DataFrame(views).reindex(columns=["title", "note", "saved_by", "saved_at", "link"])
    agenda.insert(0, "#", range(1, len(views) + 1))
    agenda["present"] = [presenting_link(v) for v in views]
    st.dataframe(
        agenda,
        hide_index=True,
        column_config={
            "link": st.column_config.LinkColumn("link", display_text="open"),
            "present": st.column_config.LinkColumn("present", display_text="present from here"),
            "saved_by": st.column_config.TextColumn("saved by"),
        },
    )
    if not presenting():
        with st.expander("Edit the agenda"):
            by_id = {v["id"]: v for v in views}
            chosen = st.selectbox(
                "View",
                list(by_id),
                format_func=lambda i: f"{list(by_id).index(i) + 1}. {by_id[i]['title']}",
                key="agenda_view",
            )
            with st.form("edit_view", border=False):
                title = st.text_input("Title", by_id[chosen]["title"], max_chars=200)
                note = st.text_area("Note", by_id[chosen].get("note") or "", max_chars=2000)
                edited = st.form_submit_button("Save title and note")
            up, down, remove = st.columns(3)
            try:
                if edited:
                    edit_view(chosen, title, note)
                    st.rerun()
                if up.button("Move up", disabled=chosen == views[0]["id"], width="stretch"):
                    move_view(chosen, -1)
                    st.rerun()
                if down.button("Move down", disabled=chosen == views[-1]["id"], width="stretch"):
                    move_view(chosen, 1)
                    st.rerun()
                if remove.button("Delete", width="stretch"):
                    delete_view(chosen)
                    st.rerun()
            except ValueError as exc:
                st.error(plain(exc, 400))

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

show(sections.get("subsets"), heading=False)

show(
    sections["judges"],
    column_config={
        f"share_{v}": st.column_config.NumberColumn(f"{v}", format="percent") for v in ("A", "B", "tie", "unparsed")
    },
)
show(sections["verdicts"], heading=False)

sample = sections["sample"]
st.subheader(sample.heading)
url_number("Sample", "sample", 0, 0, 10_000)
st.caption(sample.note)
verdicts = reads.pair_judgments(con, sample.body["pair_id"].tolist())
for _, pair in sample.body.iterrows():
    pair_card(pair, verdicts)
