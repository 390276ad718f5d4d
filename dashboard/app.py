"""prefatlas dashboard entrypoint: the frame shared by every page (config, dataset choice in the URL, navigation)."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

# `streamlit run dashboard/app.py` puts dashboard/ on sys.path, not the project root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics.overview import dataset_names
from dashboard.db import cursor
from dashboard.widgets import url_selectbox

st.set_page_config(page_title="prefatlas", page_icon=":material/balance:", layout="wide")

con = cursor()
if con is None:
    st.stop()
names = dataset_names(con)
if not names:
    st.warning("The store holds no dataset yet. Run `prefatlas ingest` (see the README), then reload.")
    st.stop()

with st.sidebar:
    # always in the link: the first dataset of one store is not the first of another
    url_selectbox(
        "Dataset",
        names,
        "dataset",
        keep_default=True,
        help="The dataset every page shows; it is part of the page's link.",
    )

pages = [
    st.Page("views/overview.py", title="Overview", icon=":material/table:", url_path="overview", default=True),
    st.Page("views/judges.py", title="Judges", icon=":material/gavel:", url_path="judges"),
    st.Page("views/dissection.py", title="Dissection", icon=":material/biotech:", url_path="dissection"),
    st.Page("views/map.py", title="Map", icon=":material/scatter_plot:", url_path="map"),
]
st.navigation(pages).run()
