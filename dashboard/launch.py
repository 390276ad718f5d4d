"""`python -m dashboard.launch run dashboard/app.py …`: Streamlit's own command line (what `python -m streamlit`
runs), after importing the modules every page needs. Without it the first page a server shows waits for those
imports (pandas, plotly, the analytics modules: ~1.5 s on two cores) while its visitor looks at a spinner.

They are imported before the server starts, not beside it: a module half-imported on one thread is visible to
another (plotly checks for pandas in sys.modules and found it partially initialized: one start in three failed)."""

from __future__ import annotations

import importlib
import runpy
import sys

# dashboard/app.py's own imports (a test keeps them here), then what the pages import
PRELOAD = (
    "analytics.pages",
    "analytics.reads",
    "analytics.viewstate",
    "dashboard.access",
    "dashboard.builds",
    "dashboard.db",
    "dashboard.runlog",
    "dashboard.share",
    "dashboard.widgets",
    "analytics.figures",
    "analytics.explorer",
    "analytics.judges",
    "analytics.dissection",
    "analytics.maps",
    "plotly.graph_objects",
)


def preload() -> None:
    importlib.import_module("streamlit")  # first, as a page run has it: its plotly theme imports plotly itself
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # a page run that needs the module reports the error itself
            return


def main() -> None:
    preload()
    sys.argv[0] = "streamlit"
    runpy.run_module("streamlit", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
