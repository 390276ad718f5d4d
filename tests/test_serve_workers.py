"""`prefatlas serve --workers 2`: two dashboard processes behind one address. Sessions are spread across them, a
browser stays with its process (its downloads come from there), the Host check holds at the proxy, and stopping
the server stops every process it started."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from analytics.adapters import pandalm
from analytics.store import connect, write_batch

from conftest import ROOT
from fixtures import write_pandalm

sys.path.insert(0, str(ROOT / "benchmarks"))
from sessions import free_port, one_session  # the benchmark's Streamlit-protocol client

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("workers")
    con = connect(root / "s.duckdb")
    write_batch(con, pandalm.load(write_pandalm(root / "p")))
    con.close()
    port = free_port()
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "analytics.cli", "serve", "--no-init", "--store", str(root / "s.duckdb")),
            *("--port", str(port), "--workers", "2"),
        ],
        cwd=ROOT,
        env=dict(os.environ, PREFATLAS_CACHE=str(root / "cache")),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the test can check nothing of it is left
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            if proc.poll() is not None:
                raise RuntimeError(proc.stdout.read().decode(errors="replace"))
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        yield url, port, proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(20)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_requests_are_spread_and_a_browser_stays_with_its_process(served):
    url, _, _ = served
    workers = set()
    for _ in range(4):
        with urllib.request.urlopen(f"{url}/_stcore/health") as answer:
            workers.add(answer.headers.get_all("Set-Cookie")[-1].split(";")[0])
    assert workers == {"prefatlas_worker=0", "prefatlas_worker=1"}  # new visitors go to each in turn
    request = urllib.request.Request(f"{url}/_stcore/health", headers={"Cookie": "prefatlas_worker=1"})
    with urllib.request.urlopen(request) as answer:
        assert answer.read() == b"ok"
        assert not any("prefatlas_worker" in c for c in answer.headers.get_all("Set-Cookie") or [])  # kept


def test_sessions_run_through_the_proxy(served):
    """Streamlit's own protocol over the relayed websocket: every session's script runs to its end."""
    _, port, _ = served

    async def several() -> list:
        views = ["judges?dataset=pandalm", "overview?dataset=pandalm"]
        return await asyncio.gather(*(one_session(port, views[i % 2]) for i in range(6)), return_exceptions=True)

    results = asyncio.run(several())
    assert all(isinstance(r, float) for r in results), results


def test_the_host_check_holds_at_the_proxy(served):
    url, _, _ = served
    request = urllib.request.Request(f"{url}/_stcore/health", headers={"Host": "rebound.example"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert refused.value.code == 421


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed (apt-get install chromium)")
def test_a_browser_uses_the_page_and_downloads_its_report_through_the_proxy(served):
    """Real clicks: a control changes the view, and the report download (a file the session's own process serves)
    arrives."""
    from playwright.sync_api import expect, sync_playwright

    url, _, _ = served
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM))
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(f"{url}/judges?dataset=pandalm")
            app = page.get_by_test_id("stApp")
            expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=60_000)
            expect(page.get_by_role("heading", name="Judges").first).to_be_visible()
            page.get_by_role("combobox", name="Agreement metric").click()
            page.get_by_role("option", name="Cohen's κ").click()
            page.wait_for_timeout(300)
            expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=60_000)
            assert "metric=kappa" in page.url
            assert page.get_by_test_id("stException").count() == 0
            with page.expect_download() as download:
                page.get_by_test_id("stSidebar").get_by_role("button", name="Report (HTML)").click()
            text = Path(download.value.path()).read_text(encoding="utf-8")
            assert "prefatlas — judges: pandalm" in text and "metric=kappa" in text
        finally:
            browser.close()


def test_stopping_the_server_stops_every_process_it_started(served):
    url, _, proc = served
    os.killpg(proc.pid, 0)  # alive
    proc.send_signal(signal.SIGTERM)  # as a service manager stops it: the proxy alone is told
    proc.wait(30)
    for _ in range(40):
        if not _group_alive(proc.pid):
            break
        time.sleep(0.25)
    assert not _group_alive(proc.pid)  # neither dashboard process outlived it
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
