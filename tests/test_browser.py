"""A few real-browser checks (Playwright driving Debian's /usr/bin/chromium; no browser is ever downloaded)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from analytics.adapters import judgebench, pandalm
from analytics.store import connect, write_batch

from conftest import ROOT
from fixtures import write_judgebench, write_pandalm

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed (apt-get install chromium)"),
]
HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    store = root / "store.duckdb"
    con = connect(store)
    write_batch(con, pandalm.load(write_pandalm(root / "pandalm")))
    jb = judgebench.load(write_judgebench(root / "judgebench"))
    jb.pairs.loc[:, "prompt"] = HOSTILE
    jb.pairs.loc[0, "response_a"] = HOSTILE
    write_batch(con, jb)
    con.close()
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "analytics.cli", "serve", "--no-init", "--store", str(store), "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {proc.stdout.read().decode(errors='replace')}")
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError("server did not answer /_stcore/health in 60 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        yield b
        b.close()


def wait_for_run(page) -> None:
    from playwright.sync_api import expect

    page.wait_for_timeout(155)
    app = page.get_by_test_id("stApp")
    expect(app).to_have_attribute("data-test-connection-state", "CONNECTED", timeout=30_000)
    expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=30_000)
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_shared_link_opens_the_dataset_and_hostile_text_stays_text(server, browser, tmp_path):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1440, "height": 900})
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{server}/?dataset=judgebench")
    wait_for_run(page)
    expect(page.get_by_role("combobox", name="Dataset")).to_have_value("judgebench")
    expect(page.get_by_text(HOSTILE).first).to_be_visible()  # shown as characters
    assert page.evaluate("window.__pwned") is None  # and nothing of it ran
    assert page.locator("main img[src='x']").count() == 0
    assert dialogs == []
    page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)
    if shots := os.environ.get("PREFATLAS_SCREENSHOTS"):
        page.screenshot(path=str(Path(shots) / "overview.png"))


def test_changing_the_dataset_changes_the_url(server, browser):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{server}/?dataset=judgebench")
    wait_for_run(page)
    page.get_by_role("combobox", name="Dataset").click()
    page.get_by_role("option", name="pandalm").click()
    wait_for_run(page)
    expect(page).to_have_url(f"{server}/?dataset=pandalm")
    expect(page.get_by_role("combobox", name="Dataset")).to_have_value("pandalm")
    expect(page.get_by_test_id("stMetricValue").first).to_have_text("3")  # pandalm fixture: 3 pairs


def test_judges_link_reopens_a_cell_and_controls_write_the_url(server, browser, tmp_path):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{server}/judges?dataset=judgebench&cell=o1-mini%20(arena_hard)%20~%20gold")
    wait_for_run(page)
    expect(page.get_by_role("combobox", name="Open")).to_have_value("gold ~ o1-mini (arena_hard)")
    expect(page.get_by_text("pairs", exact=False).first).to_be_visible()
    assert page.get_by_text("Response A").count() >= 1
    page.get_by_role("combobox", name="Agreement metric").click()
    page.get_by_role("option", name="Cohen's κ").click()
    wait_for_run(page)
    expect(page).to_have_url(re.compile(r"metric=kappa"))
    assert "dataset=judgebench" in page.url
    if shots := os.environ.get("PREFATLAS_SCREENSHOTS"):
        page.screenshot(path=str(Path(shots) / "judges.png"))
