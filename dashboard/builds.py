"""Builds started from a page (embedding a dataset's prompts and laying out its map) run in a background thread of
the server: the page that started them, and every other session, keep reading the store meanwhile, since the
build opens it only to read its inputs and to write each result (DashboardAccess). One build per dataset."""

from __future__ import annotations

import threading
import time
import traceback

from analytics.catalog import build_default_maps
from analytics.embed import embed_dataset
from analytics.maps import build_map
from dashboard.db import DashboardAccess

DEFAULT_MAPS = "(default maps)"  # the job that builds the default store's maps after `prefatlas serve` starts

_jobs: dict[str, dict] = {}
_lock = threading.Lock()


def map_build(dataset: str) -> dict | None:
    """The dataset's latest build: state ('running', 'done', 'failed'), step, done / total, started, error."""
    job = _jobs.get(dataset)
    return dict(job) if job else None


def _new_job(step: str) -> dict:
    return {"state": "running", "step": step, "done": 0, "total": 0, "started": time.time(), "error": None}


def start_map_build(dataset: str) -> bool:
    """Start embedding the dataset's prompts and building its map; False when a build of it is running."""
    with _lock:
        job = _jobs.get(dataset)
        if job is not None and job["state"] == "running":
            return False
        _jobs[dataset] = _new_job("loading the embedding model")
    threading.Thread(target=_run, args=(dataset,), daemon=True, name=f"prefatlas-map-{dataset}").start()
    return True


def _run(dataset: str) -> None:
    job = _jobs[dataset]
    access = DashboardAccess()
    try:
        embed_dataset(
            access,
            dataset,
            progress=lambda done, total: job.update(step="embedding prompts", done=done, total=total),
            responses=False,
        )
        job.update(step="UMAP layout, clusters and regions", done=0, total=0)
        build_map(access, dataset, progress=lambda message: job.update(step=message))
        job.update(state="done", step="done", finished=time.time())
    except Exception as exc:  # shown on the page; the traceback goes to the server's log
        traceback.print_exc()
        job.update(state="failed", error=str(exc).splitlines()[0][:300])


def default_maps_build() -> dict | None:
    return map_build(DEFAULT_MAPS)


def start_default_maps() -> bool:
    """Once per server process: build the default store's missing embeddings and maps in the background (a
    `prefatlas serve` first run answers as soon as the data is in; a stopped build resumes at the next start)."""
    with _lock:
        if DEFAULT_MAPS in _jobs:
            return False
        _jobs[DEFAULT_MAPS] = _new_job("starting")
    threading.Thread(target=_run_defaults, daemon=True, name="prefatlas-default-maps").start()
    return True


def _run_defaults() -> None:
    job = _jobs[DEFAULT_MAPS]
    try:
        failures = build_default_maps(DashboardAccess(), progress=lambda message: job.update(step=message))
        job.update(state="done", step="done", error="; ".join(failures) or None, finished=time.time())
    except Exception as exc:
        traceback.print_exc()
        job.update(state="failed", error=str(exc).splitlines()[0][:300])
