"""What a user waits for, end to end, at 10k / 100k / 1M pairs: `prefatlas ingest` (time, peak memory, store size),
then each page in a real browser (Debian chromium driven by Playwright) against `prefatlas serve`: the first load of
a page (caches cold), a control change on it, and a fresh session on the same view (a colleague opening a shared
link). Times run from the navigation or the click to the end of the page's script run (Streamlit's own
"notRunning" state). Also the dashboard process's peak memory, and a one-line Streamlit page for scale.

    PREFATLAS_MIRROR=../shared/data/raw .venv/bin/python benchmarks/pages.py --sizes 10000 100000

Data comes from benchmarks/generate.py (real texts from the mirror recombined; six judges). Prints a table.
"""

from __future__ import annotations

import argparse
import os
import resource
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

CHROMIUM = "/usr/bin/chromium"
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
    """(seconds, peak RSS in MB of the child) of a command run to completion."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) / 1024


def serve(store: Path, cache: Path, app: Path | None = None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(os.environ, PREFATLAS_CACHE=str(cache))
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


def wait_for_run(page, timeout_ms: int = 900_000) -> None:
    from playwright.sync_api import expect

    page.wait_for_timeout(100)
    app = page.get_by_test_id("stApp")
    expect(app).to_have_attribute("data-test-connection-state", "CONNECTED", timeout=timeout_ms)
    # the page's title is drawn by its script: before the first run starts the state also reads "notRunning"
    expect(page.get_by_test_id("stMain").get_by_test_id("stHeading").first).to_be_visible(timeout=timeout_ms)
    expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=timeout_ms)
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=timeout_ms)  # lazy widgets drawn


def open_page(browser, url: str) -> tuple[object, float]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    start = time.perf_counter()
    page.goto(url)
    wait_for_run(page)
    return page, time.perf_counter() - start - 0.1


def change_control(page, label: str, option: str | None) -> float | None:
    box = page.get_by_role("combobox", name=label, exact=True)
    spin = page.get_by_role("spinbutton", name=label, exact=True)
    start = time.perf_counter()
    if spin.count():
        spin.first.fill("7")
        spin.first.press("Enter")
    elif box.count():
        box.first.click()
        options = page.get_by_role("option")
        if option is not None:
            page.get_by_role("option", name=option).click()
        elif options.count() > 1:
            options.nth(1).click()
        else:
            return None
        start = time.perf_counter()  # from the choice, not the menu opening
    else:
        return None
    wait_for_run(page)
    return time.perf_counter() - start - 0.1


def measure_pages(url: str, dataset: str) -> list[dict]:
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"],
        )
        for name, path, (label, option) in PAGES:
            link = f"{url}/{path}?dataset={dataset}"
            page, first = open_page(browser, link)
            if name == "Map" and page.get_by_role("combobox", name="Map").count() == 0:
                rows.append({"page": name, "first": first, "change": None, "fresh": None, "note": "no map built"})
                page.context.close()
                continue
            change = change_control(page, label, option)
            page.context.close()
            fresh_page, fresh = open_page(browser, link)
            fresh_page.context.close()
            rows.append({"page": name, "first": first, "change": change, "fresh": fresh, "note": ""})
        browser.close()
    return rows


def one_line_page(tmp: Path) -> float:
    """A fresh session on a one-line Streamlit page: the floor any page's fresh session stands on."""
    from playwright.sync_api import sync_playwright

    app = tmp / "one_line.py"
    app.write_text("import streamlit as st\nst.write('hello')\n")
    proc, url = serve(tmp / "none.duckdb", tmp / "cache", app)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            open_page(browser, url)[0].context.close()
            times = []
            for _ in range(3):
                page, seconds = open_page(browser, url)
                times.append(seconds)
                page.context.close()
            browser.close()
        return min(times)
    finally:
        stop(proc)


def run_size(n: int, tmp: Path, mirror: Path | None) -> dict:
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
    proc, url = serve(store, cache)
    try:
        out["pages"] = measure_pages(url, "generated")
    finally:
        out["server_peak_mb"] = stop(proc)
    return out


def fmt(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    env = os.environ.get("PREFATLAS_MIRROR")
    mirror = Path(env) if env and Path(env).is_dir() else None
    with tempfile.TemporaryDirectory(prefix="prefatlas-bench-") as name:
        tmp = Path(name)
        floor = one_line_page(tmp)
        print(f"one-line Streamlit page, fresh session: {floor:.2f} s")
        for n in args.sizes:
            r = run_size(n, tmp, mirror)
            print(
                f"\n{n:,} pairs: ingest {r['ingest_s']:.1f} s ({r['ingest_pairs_per_s']:,.0f} pairs/s, peak "
                f"{r['ingest_peak_mb']:,.0f} MB), store {r['store_mb']:,.0f} MB, "
                f"dashboard peak {r['server_peak_mb']:,.0f} MB"
            )
            print(f"{'page':<12}{'first load s':>14}{'control change s':>18}{'fresh session s':>17}  note")
            for row in r["pages"]:
                print(
                    f"{row['page']:<12}{fmt(row['first']):>14}{fmt(row['change']):>18}{fmt(row['fresh']):>17}  "
                    f"{row['note']}"
                )
            sys.stdout.flush()


if __name__ == "__main__":
    main()
