"""prefatlas dashboard entrypoint: the frame shared by every page (config, dataset choice in the URL, navigation)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import streamlit as st

# `streamlit run dashboard/app.py` puts dashboard/ on sys.path, not the project root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics.pages import DEFAULT_PAGE, REGISTRY
from analytics.reads import dataset_names
from analytics.viewstate import VERSION
from dashboard.access import gate
from dashboard.builds import start_default_maps
from dashboard.db import lease
from dashboard.runlog import timed_run
from dashboard.share import agenda_bar, share_panel
from dashboard.widgets import presenting, url_selectbox

st.set_page_config(page_title="prefatlas", page_icon="⚖️", layout="wide")
gate()  # the address it was reached by, and the sign-in a team instance asks for
if os.environ.get("PREFATLAS_DEFAULT_MAPS") == "1":
    start_default_maps()  # once per process: a first run's maps build while the dashboard already answers

# the store is open only while this run needs it (ingest can write between runs); the run's time goes to a
# benchmark's log where one is asked for
with timed_run() as run, lease() as con:
    if con is None:
        st.stop()
    names = dataset_names(con)
    if not names:
        st.warning("The store holds no dataset yet. Run `prefatlas ingest` (see the README), then reload.")
        st.stop()

    if presenting():
        # presentation mode: large type, no sidebar, no toolbar; everything the view needs is in the link
        st.html(
            "<style>[data-testid='stSidebar'], [data-testid='stSidebarCollapsedControl'], header, "
            "[data-testid='stPopover'] {display: none !important;} html {font-size: 21px;} "
            ".block-container {max-width: 100% !important; padding-top: 1rem;}</style>"
        )
    link_version = st.query_params.get("v")
    if link_version is not None and link_version != VERSION:
        st.warning(
            f"This link was made by another prefatlas (view version {link_version}, this one reads "
            f"{VERSION}); parameters it does not know are ignored."
        )

    with st.sidebar:
        # always in the link: the first dataset of one store is not the first of another
        url_selectbox(
            "Dataset",
            names,
            "dataset",
            keep_default=True,
            help="The dataset every page shows; it is part of the page's link.",
        )

    pages = [  # from the page registry; the default page answers at "/" whatever its url_path (this one only
        # reserves a name nobody links to), and its own name, "/overview", opens it through a hidden alias
        st.Page(
            f"views/{p.name}.py",
            title=p.title,
            icon=p.icon,
            url_path=p.path or "home",
            default=p.name == DEFAULT_PAGE,
        )
        for p in REGISTRY.values()
    ]
    home = REGISTRY[DEFAULT_PAGE]
    pages.append(
        st.Page(f"views/{home.name}.py", title=home.title, icon=home.icon, url_path=home.name, visibility="hidden")
    )
    page = st.navigation(pages)
    run["page"] = page.url_path or ""
    if presenting():
        agenda_bar()  # a way out, and on a step of the saved agenda: previous / next
    refresh_link = share_panel(page.url_path or "") if not presenting() else None
    page.run()
    if refresh_link is not None:
        refresh_link()  # the page may have written the URL during its run (a clicked cell): the link follows
