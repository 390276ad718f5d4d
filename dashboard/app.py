"""prefatlas dashboard entrypoint: the frame shared by every page (config, dataset choice in the URL, navigation)."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

# `streamlit run dashboard/app.py` puts dashboard/ on sys.path, not the project root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics.overview import dataset_names
from dashboard.db import cursor

st.set_page_config(page_title="prefatlas", page_icon=":material/balance:", layout="wide")

con = cursor()
if con is None:
    st.stop()
names = dataset_names(con)
if not names:
    st.warning("The store holds no dataset yet. Run `prefatlas ingest` (see the README), then reload.")
    st.stop()

requested = st.query_params.get("dataset")
if requested is not None and requested not in names:
    st.warning(f"Dataset `{requested}` from the link is not in this store; showing `{names[0]}` instead.")
    del st.query_params["dataset"]
with st.sidebar:
    st.selectbox(
        "Dataset",
        names,
        key="dataset",
        bind="query-params",
        help="The dataset every page shows; it is part of the page's link.",
    )

pages = [st.Page("views/overview.py", title="Overview", icon=":material/table:", url_path="overview", default=True)]
st.navigation(pages).run()
