"""The sidebar's export action: the pairs behind the current view, through a curation recipe, as a training set.
The files are analytics.curation.export of the view's link: the same bytes `prefatlas export LINK` writes."""

from __future__ import annotations

import streamlit as st

from analytics import curation as C
from dashboard.db import StoreBusy, reading
from dashboard.widgets import plain

EXAMPLE = """reference = "auto"   # gold, "human majority", a judge's name, or "agreement" with judges = [...]

# steps, applied in order (delete the leading # to use one):
# [[steps]]
# step = "drop_judge_splits"
# min_judges = 2
#
# [[steps]]
# step = "balance_length"
"""


def export_button(link: str, base_path: str, label: str) -> None:
    """A sidebar button opening the export dialog for the view `link` shows."""
    if st.button("Export as a training set", icon=":material/dataset:", help=label, key="export_open"):
        _dialog(link, base_path)


@st.dialog("Export as a training set", width="large")
def _dialog(link: str, base_path: str) -> None:
    st.caption(
        "The pairs this view shows, as `prompt` / `chosen` / `rejected` rows with every judge's verdict. "
        f"Same file as `prefatlas export '{link}' --recipe recipe.toml -o pairs.parquet`."
    )
    text = st.text_area("Recipe (TOML)", value=EXAMPLE, height=220, key="export_recipe")
    with st.expander("Steps a recipe can use"):
        for name, kind in C.STEPS.items():
            defaults = ", ".join(f"{k} = {v!r}" for k, v in kind.params.items()) or "no parameters"
            st.markdown(f"- **{name}** ({plain(defaults)}): {plain(kind.doc)}")
    try:
        recipe = C.Recipe.from_toml(text)
        with reading(wait_s=30) as con:
            scope = C.scope_of_link(con, link, base_path)
            curated = C.curate(con, scope.dataset, recipe, scope.pair_ids)
            card = C.dataset_card(con, curated, scope, recipe)
            non_commercial = C.is_non_commercial(*C.licence_of(con, scope.dataset))
    except StoreBusy:
        st.warning("The store is being updated; try again in a moment.")
        return
    except (ValueError, LookupError) as exc:  # a recipe or a view the store cannot answer: say what is wrong
        st.error(plain(exc, 600))
        return
    st.markdown(
        f"**{curated.table.num_rows:,} pairs** from {plain(scope.description)}, chosen by {plain(curated.reference)}"
        + (f"; steps: {plain(', '.join(s.step for s in recipe.steps))}." if recipe.steps else "; no steps.")
    )
    if non_commercial:
        st.warning("The source's licence is non-commercial: the card says so; use the export for research only.")
    st.dataframe(C.steps_table(curated), hide_index=True, key="export_steps")
    st.dataframe(C.before_after(curated), hide_index=True, key="export_before_after")
    with st.expander("Pairs per category"):
        st.dataframe(C.per_category(curated), hide_index=True)
    # the files are written when a button is pressed (a large view's JSON Lines take a while), by the functions
    # `prefatlas export` writes with
    table, name = curated.table, f"prefatlas-{scope.dataset}-{C.export_name(curated)}"
    columns = st.columns(3)
    columns[0].download_button(
        "Parquet", lambda: C.parquet_bytes(table), f"{name}.parquet", "application/octet-stream", on_click="ignore"
    )
    columns[1].download_button(
        "JSONL", lambda: C.jsonl_bytes(table), f"{name}.jsonl", "application/jsonl", on_click="ignore"
    )
    columns[2].download_button("Dataset card", card, f"{name}.card.md", "text/markdown", on_click="ignore")
