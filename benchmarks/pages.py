"""What a user waits for, end to end, at 10k / 100k / 1M pairs: `prefatlas ingest` (time, peak memory, store size),
then each page in a real browser (Debian chromium driven by Playwright) against `prefatlas serve`: the first load of
a page (caches cold), a control change on it, and a fresh session on the same view (a colleague opening a shared
link). Three times for each: the server's (the script runs the action caused, as the dashboard logs them with
PREFATLAS_RUN_LOG: what the issue's targets count), then from the navigation or the click to the end of the page's
script run as the browser sees it (Streamlit's own "notRunning" state), and to the page fully drawn. Also the
dashboard process's peak memory, and a one-line Streamlit page for scale.

    PREFATLAS_MIRROR=../shared/data/raw .venv/bin/python benchmarks/pages.py --sizes 10000 100000

Data comes from benchmarks/generate.py (real texts from the mirror recombined; six judges). Prints a table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from generate import generate  # noqa: E402
from procmem import run_measured  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
# Pause before a control change or a lasso: the browser and the server share this machine's two cores, and a
# change made while the browser still draws the page's figures measured the drawing as much as the server.
SETTLE_MS = 3000
PREFATLAS = [sys.executable, "-m", "analytics.cli"]
# (page, path, the control a user changes: (role name, option label) of a selectbox, or None)
PAGES = (
    ("Overview", "", ("Sample", None)),
    ("Judges", "judges", ("Agreement metric", "Cohen's κ")),
    ("Dissection", "dissection", ("Features", "normalised difference")),
    ("Pairs", "pairs", ("Sort", "longest first")),
    ("Map", "map", ("Colour by", None)),
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed_command(args: list[str], env: dict) -> tuple[float, float]:
    """(seconds, peak memory in MB of its largest process: the command or its properties process) of a command run
    to completion (benchmarks/procmem.py: wait4's figure would carry this process's own, a million generated pairs)."""
    start = time.perf_counter()
    done, memory = run_measured(args, env=env, cwd=ROOT)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return seconds, memory.largest_mb


class RunLog:
    """The dashboard's log of script runs (dashboard/runlog.py): the server seconds of the runs since `mark()`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def mark(self) -> None:
        self.offset = self.path.stat().st_size if self.path.exists() else 0

    def server_seconds(self) -> float:
        if not self.path.exists():
            return float("nan")
        with self.path.open("rb") as log:
            log.seek(self.offset)
            runs = [json.loads(line) for line in log.read().decode().splitlines() if line.strip()]
        return sum(run["seconds"] for run in runs) if runs else float("nan")


def serve(
    store: Path, cache: Path, app: Path | None = None, run_log: Path | None = None
) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(os.environ, PREFATLAS_CACHE=str(cache))
    if run_log is not None:
        env["PREFATLAS_RUN_LOG"] = str(run_log)
    if app is None:
        args = [*PREFATLAS, "serve", "--no-init", "--store", str(store), "--port", str(port)]
    else:
        args = [sys.executable, "-m", "streamlit", "run", str(app), f"--server.port={port}", "--server.headless=true"]
    proc = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.25)
    proc.kill()
    raise RuntimeError("server did not start")


def stop(proc: subprocess.Popen) -> float:
    """Stop the server; its peak resident memory in MB (read before it exits)."""
    peak = 0.0
    try:
        for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    except OSError:
        pass
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    return peak


def wait_for_run(page, start: float, timeout_ms: int = 900_000) -> tuple[float, float]:
    """(seconds until the script run ended, seconds until the page was fully drawn), both from `start`. The first
    is the server's share (Streamlit's "notRunning" after the page's title appeared: before a run starts the state
    reads "notRunning" too); the second adds the browser drawing lazily loaded widgets (no skeleton left)."""
    from playwright.sync_api import expect

    page.wait_for_timeout(50)
    app = page.get_by_test_id("stApp")
    expect(app).to_have_attribute("data-test-connection-state", "CONNECTED", timeout=timeout_ms)
    expect(page.get_by_test_id("stMain").get_by_test_id("stHeading").first).to_be_visible(timeout=timeout_ms)
    expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=timeout_ms)
    ran = time.perf_counter() - start
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=timeout_ms)
    return ran, time.perf_counter() - start


def times_since(page, start: float, log: RunLog | None) -> tuple[float, ...]:
    """wait_for_run's two times, after the server's (the runs logged since log.mark()) when there is a log."""
    ran = wait_for_run(page, start)
    return ran if log is None else (log.server_seconds(), *ran)


def open_page(context, url: str, log: RunLog | None = None) -> tuple[object, tuple[float, ...]]:
    page = context.new_page()
    if log is not None:
        log.mark()
    start = time.perf_counter()
    page.goto(url)
    return page, times_since(page, start, log)


def change_control(page, label: str, option: str | None, log: RunLog) -> tuple[float, float, float] | None:
    box = page.get_by_role("combobox", name=label, exact=True)
    spin = page.get_by_role("spinbutton", name=label, exact=True)
    if spin.count():
        spin.first.fill("7")
        log.mark()
        start = time.perf_counter()
        spin.first.press("Enter")
    elif box.count():
        box.first.click()
        choice = page.get_by_role("option", name=option) if option else page.get_by_role("option").nth(1)
        if option is None and page.get_by_role("option").count() < 2:
            return None
        log.mark()
        start = time.perf_counter()  # from the choice, not the menu opening
        choice.click()
    else:
        return None
    # the rerun starts within a moment of the click; wait for it to begin before waiting for its end
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with contextlib.suppress(PlaywrightTimeout):  # a run so short it ended before we looked
        page.locator("[data-testid=stApp][data-test-script-state=running]").wait_for(timeout=2000)
    return times_since(page, start, log)


def lasso(page, log: RunLog) -> tuple[float, float, float]:
    """A lasso over the middle of the map with the mouse; timed from the release to the end of the rerun that
    shows the selection."""
    from playwright.sync_api import expect

    box = page.get_by_test_id("stPlotlyChart").first.locator(".nsewdrag").first.bounding_box()
    cx, cy, w, h = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, box["width"], box["height"]
    page.mouse.move(cx - 0.3 * w, cy - 0.3 * h)
    page.mouse.down()
    for x, y in ((cx + 0.3 * w, cy - 0.3 * h), (cx + 0.3 * w, cy + 0.3 * h), (cx - 0.3 * w, cy + 0.3 * h)):
        page.mouse.move(x, y, steps=6)
    page.mouse.move(cx - 0.3 * w, cy - 0.29 * h, steps=6)
    log.mark()
    start = time.perf_counter()
    page.mouse.up()
    import re

    expect(page.get_by_text(re.compile(r"points selected on the map"))).to_be_visible(timeout=900_000)
    return times_since(page, start, log)


def measure_pages(url: str, dataset: str, pages: list[str], log: RunLog) -> list[dict]:
    """Per page: first load (a new browser: nothing cached, server caches cold), a control change, and a fresh
    session (a new tab of a browser that has used prefatlas before: a colleague opening a shared link)."""
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"],
        )
        for name, path, (label, option) in PAGES:
            if name not in pages:
                continue
            link = f"{url}/{path}?dataset={dataset}"
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            page, first = open_page(context, link, log)
            if name == "Map" and page.get_by_role("combobox", name="Map").count() == 0:
                rows.append({"page": name, "first": first, "change": None, "fresh": None, "note": "no map built"})
                context.close()
                continue
            page.wait_for_timeout(SETTLE_MS)  # a person reads the page before changing it; the browser settles
            change = change_control(page, label, option, log)
            note = ""
            if name == "Map":
                page.wait_for_timeout(SETTLE_MS)
                selected = lasso(page, log)
                note = f"lasso: {fmt(selected)} s"
            page.close()
            fresh_page, fresh = open_page(context, link, log)
            fresh_page.close()
            context.close()
            rows.append({"page": name, "first": first, "change": change, "fresh": fresh, "note": note})
        browser.close()
    return rows


def one_line_page(tmp: Path) -> tuple[float, float]:
    """A fresh session (new tab, warm browser) on a one-line Streamlit page: the floor any page stands on."""
    from playwright.sync_api import sync_playwright

    app = tmp / "one_line.py"
    app.write_text("import streamlit as st\nst.title('hello')\n")
    proc, url = serve(tmp / "none.duckdb", tmp / "cache", app)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            context = browser.new_context()
            open_page(context, url)[0].close()
            times = []
            for _ in range(3):
                page, seconds = open_page(context, url)
                times.append(seconds)
                page.close()
            browser.close()
        return min(times)
    finally:
        stop(proc)


def run_size(n: int, tmp: Path, mirror: Path | None, pages: list[str]) -> dict:
    folder = tmp / f"n{n}"
    data, mapping = generate(n, folder, mirror)
    store, cache = folder / "store.duckdb", folder / "cache"
    env = dict(os.environ, PREFATLAS_CACHE=str(cache))
    ingest_s, ingest_mb = timed_command(
        [*PREFATLAS, "ingest", "--store", str(store), "--mapping", str(mapping), str(data)], env
    )
    out = {
        "pairs": n,
        "ingest_s": ingest_s,
        "ingest_pairs_per_s": n / ingest_s,
        "ingest_peak_mb": ingest_mb,
        "store_mb": store.stat().st_size / 1e6,
    }
    return out | measure_server(store, cache, pages)


def run_store(store: Path, tmp: Path, pages: list[str]) -> dict:
    """The pages on a store ingested before (a generated dataset of any size), the views an ingest precomputes
    computed anew into an empty cache: iterating on a page without ingesting a million pairs again."""
    cache = tmp / "cache"
    env = dict(os.environ, PREFATLAS_CACHE=str(cache))
    code = (
        "import sys; from analytics import catalog, store; "
        "con = store.connect(sys.argv[1], read_only=True); catalog.precompute_views(con, 'generated')"
    )
    seconds, peak = timed_command([sys.executable, "-c", code, str(store)], env)
    import duckdb

    with duckdb.connect(str(store), read_only=True) as con:
        n = con.execute("SELECT count(*) FROM pairs WHERE dataset = 'generated'").fetchone()[0]
    print(f"{store}: the views an ingest precomputes, {seconds:.1f} s, peak {peak:,.0f} MB")
    out = {"pairs": n, "ingest_s": float("nan"), "ingest_pairs_per_s": float("nan"), "ingest_peak_mb": float("nan")}
    return out | {"store_mb": store.stat().st_size / 1e6} | measure_server(store, cache, pages)


def measure_server(store: Path, cache: Path, pages: list[str]) -> dict:
    log = RunLog(cache.parent / "runs.jsonl")
    proc, url = serve(store, cache, run_log=log.path)
    out = {}
    try:
        out["pages"] = measure_pages(url, "generated", pages, log)
    finally:
        out["server_peak_mb"] = stop(proc)
    return out


def fmt(times: tuple[float, ...] | None) -> str:
    return "–" if times is None else " / ".join(f"{t:.2f}" for t in times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--store", type=Path, help="measure the pages on this store instead (dataset 'generated')")
    parser.add_argument("--pages", nargs="+", default=[p[0] for p in PAGES], choices=[p[0] for p in PAGES])
    args = parser.parse_args()
    env = os.environ.get("PREFATLAS_MIRROR")
    mirror = Path(env) if env and Path(env).is_dir() else None
    with tempfile.TemporaryDirectory(prefix="prefatlas-bench-") as name:
        tmp = Path(name)
        floor = one_line_page(tmp)
        print(f"one-line Streamlit page, fresh session: {fmt(floor)} s (script ended / drawn)")
        for n in [None] if args.store else args.sizes:
            r = run_store(args.store, tmp, args.pages) if args.store else run_size(n, tmp, mirror, args.pages)
            n = r["pairs"]
            print(
                f"\n{n:,} pairs: ingest {r['ingest_s']:.1f} s ({r['ingest_pairs_per_s']:,.0f} pairs/s, peak "
                f"{r['ingest_peak_mb']:,.0f} MB), store {r['store_mb']:,.0f} MB, "
                f"dashboard peak {r['server_peak_mb']:,.0f} MB"
            )
            print("seconds: server (its script runs) / script run ended in the browser / page drawn")
            print(f"{'page':<12}{'first load':>22}{'control change':>22}{'fresh session':>22}  note")
            for row in r["pages"]:
                print(
                    f"{row['page']:<12}{fmt(row['first']):>22}{fmt(row['change']):>22}{fmt(row['fresh']):>22}  "
                    f"{row['note']}"
                )
            sys.stdout.flush()


if __name__ == "__main__":
    main()
