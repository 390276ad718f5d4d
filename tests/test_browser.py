"""Real-browser checks (Playwright driving Debian's /usr/bin/chromium; no browser is ever downloaded): shared links
reopen the same view, controls write the URL, a lasso on the map changes the pair list, a figure exports to PNG,
hostile text stays text, hostile links inject nothing and no page asks anything of another host. Screenshots of every
page at 1440x900 go to a temporary folder; PREFATLAS_SCREENSHOTS=docs/screenshots refreshes the README's."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from analytics.adapters import judgebench, pandalm
from analytics.catalog import ingest_entry, load_catalog
from analytics.store import connect, write_batch

from conftest import ROOT, mirror_path
from fixtures import write_judgebench, write_pandalm

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed (apt-get install chromium)"),
]
HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
SHOTS_ENV = os.environ.get("PREFATLAS_SCREENSHOTS")
SERVED_STORES: dict[str, Path] = {}  # url -> the store that server reads
FITS_NEED_THE_MIRROR = "needs the mirror: the fixture PandaLM has too few decided pairs to fit a judge"
ATTACKER = "http://attacker.invalid"  # never reached: the browser tests abort every request off the test server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


DRAWN = 200  # map points the test server draws


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A store with real LLMBar and PandaLM (from the mirror when present, else a small fixture), a fixture
    'judgebench' whose texts are hostile HTML, and a map of the LLMBar prompts."""
    root = tmp_path_factory.mktemp("e2e")
    store = root / "store.duckdb"
    cache = root / "cache"
    con = connect(store)
    mirror = mirror_path()
    if mirror is not None:
        for name in ("llmbar", "pandalm"):
            ingest_entry(con, load_catalog()[name], mirror=mirror)
    else:
        write_batch(con, pandalm.load(write_pandalm(root / "pandalm")))
    jb = judgebench.load(write_judgebench(root / "judgebench"))
    jb.pairs.loc[:, "prompt"] = HOSTILE
    jb.pairs.loc[0, "response_a"] = HOSTILE
    jb.meta.title = f"![title]({ATTACKER}/title.png)"
    jb.meta.licence = f"[licence]({ATTACKER}/phish)"
    jb.pairs.loc[:, "category"] = f"![cat]({ATTACKER}/cat.png)"
    write_batch(con, jb)
    if mirror is not None:
        from analytics.embed import embed_dataset, load_model
        from analytics.maps import build_map

        os.environ["PREFATLAS_CACHE"] = str(cache)
        embed_dataset(con, "llmbar", model=load_model(), responses=False)
        build_map(con, "llmbar")
    con.close()
    port = free_port()
    # the map draws at most 200 of LLMBar's 757 prompts, as a million-point map draws a sample
    env = dict(os.environ, PREFATLAS_CACHE=str(cache), PREFATLAS_MAP_POINTS=str(DRAWN))
    proc = subprocess.Popen(
        [sys.executable, "-m", "analytics.cli", "serve", "--no-init", "--store", str(store), "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,  # its own process group: teardown can end everything it started
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
        SERVED_STORES[url] = store
        yield url, mirror is not None
    finally:
        proc.terminate()  # `prefatlas serve` is the Streamlit process itself (exec): SIGTERM ends it
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # anything of its group that outlived it
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is fine; a listener is not
            s.bind(("127.0.0.1", port))  # the port is free again: no server left behind


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)  # a loaded 2-core CI machine can take seconds per rerun
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            # rebind.test resolves to this machine, as an attacker's name does in DNS rebinding
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--host-resolver-rules=MAP rebind.test 127.0.0.1",
            ],
        )
        yield b
        b.close()


def wait_for_run(page) -> None:
    from playwright.sync_api import expect

    page.wait_for_timeout(155)
    app = page.get_by_test_id("stApp")
    expect(app).to_have_attribute("data-test-connection-state", "CONNECTED", timeout=30_000)
    expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=60_000)
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0)
    errors = page.get_by_test_id("stException")
    assert errors.count() == 0, errors.first.inner_text()[:2000]  # the traceback, when a run failed


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    """Where screenshots go: a temporary folder, so a test run changes no tracked file, unless asked to refresh."""
    return Path(SHOTS_ENV) if SHOTS_ENV else tmp_path_factory.mktemp("screenshots")


def shot(page, folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"))


def test_shared_link_opens_the_dataset_and_hostile_text_stays_text(server, browser):
    from playwright.sync_api import expect

    url, _ = server
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{url}/?dataset=judgebench")
    wait_for_run(page)
    expect(page.get_by_role("combobox", name="Dataset")).to_have_value("judgebench")
    expect(page.get_by_text(HOSTILE).first).to_be_visible()  # shown as characters
    assert page.evaluate("window.__pwned") is None  # and nothing of it ran
    assert page.locator("main img[src='x']").count() == 0
    assert dialogs == []


def test_changing_the_dataset_changes_the_url(server, browser, shots):
    from playwright.sync_api import expect

    url, _ = server
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{url}/?dataset=judgebench")
    wait_for_run(page)
    page.get_by_role("combobox", name="Dataset").click()
    page.get_by_role("option", name="pandalm").click()
    wait_for_run(page)
    expect(page).to_have_url(re.compile(r"dataset=pandalm"))
    expect(page.get_by_role("combobox", name="Dataset")).to_have_value("pandalm")
    shot(page, shots, "overview")


def test_every_page_opens_under_its_own_path(server, browser):
    """/overview (the Overview's own name, which its links once carried) opens the Overview like "/", with no
    "Page not found"; its sidebar link is the canonical one, and the menu lists each page once."""
    from playwright.sync_api import expect

    url, _ = server
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    for path in ("overview", "judges", "pairs"):
        page.goto(f"{url}/{path}?dataset=pandalm")
        wait_for_run(page)
        expect(page.get_by_text("Page not found")).to_have_count(0)
        expect(page).to_have_url(re.compile(rf"/{path}\?"))
    page.goto(f"{url}/overview?dataset=pandalm")
    wait_for_run(page)
    expect(page.get_by_test_id("stMain").get_by_text("Datasets in this store")).to_be_visible()
    link = page.get_by_test_id("stSidebar").get_by_test_id("stCode").inner_text()
    assert link.startswith(f"{url}/?") and "dataset=pandalm" in link
    menu = page.get_by_test_id("stSidebarNav").inner_text()
    assert menu.count("Overview") == 1


def test_judges_link_reopens_a_cell_and_controls_write_the_url(server, browser):
    from playwright.sync_api import expect

    url, _ = server
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{url}/judges?dataset=judgebench&cell=o1-mini%20(arena_hard)%20~%20gold")
    wait_for_run(page)
    expect(page.get_by_role("combobox", name="Open")).to_have_value("gold ~ o1-mini (arena_hard)")
    expect(page.get_by_text(re.compile(r"A row opens the pair\.$"))).to_be_visible()
    page.get_by_role("combobox", name="Agreement metric").click()
    page.get_by_role("option", name="Cohen's κ").click()
    wait_for_run(page)
    expect(page).to_have_url(re.compile(r"metric=kappa"))
    assert "dataset=judgebench" in page.url
    # the link shown in the sidebar is the canonical form of what is on screen
    link = page.get_by_test_id("stSidebar").get_by_test_id("stCode").inner_text()
    assert "metric=kappa" in link and "v=1" in link
    fresh = browser.new_page(viewport={"width": 1440, "height": 900})
    fresh.goto(link.strip())
    wait_for_run(fresh)
    expect(fresh.get_by_role("combobox", name="Agreement metric")).to_have_value("Cohen's κ")
    expect(fresh.get_by_role("combobox", name="Open")).to_have_value("gold ~ o1-mini (arena_hard)")
    # a real click on the first row of the compact pair table opens that pair side by side (and the link keeps it)
    grid = fresh.get_by_test_id("stDataFrame").last
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    fresh.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # the first row's marker, below the header
    wait_for_run(fresh)
    expect(fresh).to_have_url(re.compile(r"open="))
    expect(fresh.get_by_text("Response A").first).to_be_visible()


def heatmap_axes(page, chart_index: int) -> tuple[list[str], list[str]]:
    """(row labels top to bottom, column labels left to right) of a heatmap the page draws, from its plotly data."""
    plot = page.get_by_test_id("stPlotlyChart").nth(chart_index).locator(".js-plotly-plot").first
    y, x = plot.evaluate("g => [g.data[0].y, g.data[0].x]")
    return [str(v) for v in y], [str(v) for v in x]


def click_cell(page, chart_index: int, rows: int, columns: int, row: int, column: int) -> None:
    """A real mouse click at the centre of one cell of a heatmap (row 0 at the top) drawn by the page."""
    area = page.get_by_test_id("stPlotlyChart").nth(chart_index).locator(".nsewdrag").first
    area.scroll_into_view_if_needed()
    box = area.bounding_box()
    x = box["x"] + (column + 0.5) * box["width"] / columns
    y = box["y"] + (row + 0.5) * box["height"] / rows
    page.mouse.click(x, y)
    wait_for_run(page)


def test_a_click_on_a_heatmap_cell_opens_its_pairs_and_the_sidebar_link_follows(server, browser, shots):
    """Real clicks on a cell of the agreement heatmap and of the group heatmap open the pairs behind it; the URL and
    the sidebar's link follow at once, and the copied link reopens the same view in a fresh page."""
    from playwright.sync_api import expect

    url, _ = server
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.goto(f"{url}/judges?dataset=pandalm&group=model%20pair&with_ref=false")
    wait_for_run(page)
    judges = heatmap_axes(page, 0)[0]
    assert len(judges) >= 2
    click_cell(page, 0, len(judges), len(judges), 0, 1)  # first row, second column: two different judges
    expect(page).to_have_url(re.compile(r"cell="))  # the URL changes while the run is still drawing the page
    wait_for_run(page)
    expect(page.get_by_role("combobox", name="Open")).not_to_have_value("(none)")
    opened = page.get_by_role("combobox", name="Open").input_value()
    assert set(opened.split(" ~ ")) == {judges[0], judges[1]}
    expect(page.get_by_text(re.compile(r"^The pairs behind .+ \(\d[\d,]*; "))).to_be_visible()
    link = page.get_by_test_id("stSidebar").get_by_test_id("stCode").inner_text()
    assert "cell=" in link  # the sidebar link is the view after the click, not before it
    shot(page, shots, "judges-cell")
    # the group heatmap: rows are judge pairs, columns groups
    rows, columns = heatmap_axes(page, 1)
    click_cell(page, 1, len(rows), len(columns), 0, 0)
    expect(page).to_have_url(re.compile(r"in="))
    expect(page.get_by_role("combobox", name="Within model pair")).to_have_value(columns[0])
    link = page.get_by_test_id("stSidebar").get_by_test_id("stCode").inner_text()
    assert "in=" in link and "cell=" in link
    fresh = browser.new_page(viewport={"width": 1440, "height": 1000})
    fresh.goto(link.strip())
    wait_for_run(fresh)
    expect(fresh.get_by_role("combobox", name="Within model pair")).to_have_value(columns[0])
    expect(fresh.get_by_role("combobox", name="Open")).to_have_value(rows[0])


def test_a_click_on_a_bias_table_row_opens_that_judges_order_flips(server, browser, shots):
    """A real click on a row of the bias table (its row marker, as a person selects a row in the grid) opens the
    pairs behind that judge's position figures, and the link follows."""
    from playwright.sync_api import expect

    url, _ = server
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.goto(f"{url}/judges?dataset=pandalm")
    wait_for_run(page)
    grid = page.get_by_test_id("stDataFrame").first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    row_height = 35  # the grid's default row (and header) height
    page.mouse.click(box["x"] + 18, box["y"] + row_height + 1.5 * row_height)  # the second row's marker
    wait_for_run(page)
    expect(page).to_have_url(re.compile(r"cell="))  # the URL changes while the run is still drawing the page
    wait_for_run(page)
    expect(page.get_by_role("combobox", name="Open")).not_to_have_value("(none)")
    opened = page.get_by_role("combobox", name="Open").input_value()
    assert opened and " ~ " not in opened  # one judge: the pairs whose verdict changed with the order
    expect(page.get_by_text(re.compile(r"^The pairs behind .+ \(\d[\d,]*; "))).to_be_visible()
    link = page.get_by_test_id("stSidebar").get_by_test_id("stCode").inner_text()
    assert "cell=" in link
    shot(page, shots, "judges-bias-row")
    fresh = browser.new_page(viewport={"width": 1440, "height": 1000})
    fresh.goto(link.strip())  # the copied link reopens the same view
    wait_for_run(fresh)
    expect(fresh.get_by_role("combobox", name="Open")).to_have_value(opened)


def test_a_click_on_a_leaderboard_point_opens_that_generators_pairs(server, browser, shots):
    """A real click on a generator's point of the rank chart opens the pairs its judge decided, losses first; the
    link follows and reopens the same view."""
    from playwright.sync_api import expect

    url, _ = server
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.goto(f"{url}/judges?dataset=pandalm")
    wait_for_run(page)
    plot, area = chart_titled(page, "Ranks judged by")
    name, x, y = plot.evaluate(
        "g => [g.data[0].name, g._fullLayout.xaxis.l2p(0), g._fullLayout.yaxis.l2p(g.data[0].y[0])]"
    )
    box = area.bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)  # the first generator's point in the first ranking
    wait_for_run(page)
    expect(page).to_have_url(re.compile(r"cell=gen%3A|cell=gen:"))
    expect(page.get_by_role("combobox", name="Open")).to_have_value(re.compile(rf"^{re.escape(name)} · its pairs"))
    expect(page.get_by_text(re.compile(r"^The pairs behind .+ \(\d[\d,]*; "))).to_be_visible()
    shot(page, shots, "judges-leaderboard-click")
    link = page.get_by_test_id("stSidebar").get_by_test_id("stCode").inner_text()
    assert "cell=gen" in link
    fresh = browser.new_page(viewport={"width": 1440, "height": 1000})
    fresh.goto(link.strip())
    wait_for_run(fresh)
    expect(fresh.get_by_role("combobox", name="Open")).to_have_value(re.compile(rf"^{re.escape(name)} · its pairs"))


def test_a_click_on_a_judges_cell_in_the_dissection_overview_selects_that_judge(server, browser, shots):
    from playwright.sync_api import expect

    _, page = open_real(server, browser, "dissection?dataset=llmbar", FITS_NEED_THE_MIRROR)
    plot, area = chart_titled(page, "What every judge rewards")
    reference = page.get_by_role("combobox", name="Reference", exact=True).input_value()
    before = page.get_by_role("combobox", name="Judge", exact=True).input_value()
    judges = plot.evaluate("g => g.data[0].y")
    row = max(k for k, j in enumerate(judges) if j not in (reference, before))  # a judge not shown yet
    target = judges[row]
    x, y = plot.evaluate(f"g => [g._fullLayout.xaxis.l2p(0), g._fullLayout.yaxis.l2p({row})]")
    box = area.bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)  # that judge's cell of the first property
    wait_for_run(page)
    expect(page.get_by_role("combobox", name="Judge", exact=True)).to_have_value(target)
    expect(page).to_have_url(re.compile("judge="))
    shot(page, shots, "dissection-overview-click")


def test_the_agenda_steps_forward_and_back_in_presentation_mode(server, browser, shots, monkeypatch):
    """Real clicks on Next, Previous and Exit of a presented agenda, in the same tab."""
    from playwright.sync_api import expect

    from analytics.savedviews import list_views, presenting_link, save_view

    url, _ = server
    monkeypatch.setenv("PREFATLAS_STORE", str(SERVED_STORES[url]))  # the server's agenda, beside its store
    titles = ["Agenda step one", "Agenda step two", "Agenda step three"]
    paths = ("judges?dataset=pandalm", "?dataset=pandalm", "pairs?dataset=pandalm")
    for title, path in zip(titles, paths, strict=True):
        save_view(title, f"about {title}", f"{url}/{path}")
    views = list_views()
    first = next(k for k, v in enumerate(views) if v["title"] == titles[0])
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(presenting_link(views[first]))
    wait_for_run(page)
    expect(page.get_by_text(f"{first + 1} / {len(views)} · {titles[0]}")).to_be_visible()
    page.get_by_role("button", name="Next ▶").click()
    wait_for_run(page)
    expect(page.get_by_text(f"{first + 2} / {len(views)} · {titles[1]}")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"agenda={views[first + 1]['id']}"))
    page.get_by_role("button", name="Next ▶").click()
    wait_for_run(page)
    expect(page).to_have_url(re.compile(r"/pairs\?"))
    shot(page, shots, "agenda-step")
    page.get_by_role("button", name="◀ Previous").click()
    wait_for_run(page)
    expect(page.get_by_text(f"{first + 2} / {len(views)} · {titles[1]}")).to_be_visible()
    page.get_by_role("button", name="Exit", exact=True).click()
    wait_for_run(page)
    expect(page).not_to_have_url(re.compile("present=true"))
    expect(page.get_by_test_id("stSidebar")).to_be_visible()  # controls are back


def test_a_click_on_a_dissection_weight_lists_the_pairs_behind_it(server, browser, shots):
    from playwright.sync_api import expect

    _, page = open_real(server, browser, "dissection?dataset=llmbar", FITS_NEED_THE_MIRROR)
    plot, area = chart_titled(page, "What each judge rewards")
    judge, prop, x, y = plot.evaluate(
        "g => { const d = g.data[0], L = g._fullLayout;"
        " return [d.name.split(' (')[0], d.customdata[0], L.xaxis.l2p(d.x[0]), L.yaxis.l2p(d.y[0])]; }"
    )
    box = area.bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)  # the first judge's first weight
    wait_for_run(page)
    expect(page).to_have_url(re.compile("prop="))
    expect(page.get_by_text(f"The pairs behind {judge}'s weight on “{prop}”")).to_be_visible()
    shot(page, shots, "dissection-weight-click")


def test_screenshots_of_the_analysis_pages(server, browser, shots):
    url, real = server
    dataset = "llmbar" if real else "pandalm"
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    for name, path in (
        ("judges", f"judges?dataset={dataset}"),
        ("dissection", f"dissection?dataset={dataset}"),
        ("pairs", "pairs?dataset=pandalm&sort=most%20disputed"),
    ):
        page.goto(f"{url}/{path}")
        wait_for_run(page)
        shot(page, shots, name)


def test_export_downloads_a_png(server, browser):
    url, _ = server
    page = browser.new_page(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    page.goto(f"{url}/?dataset=pandalm")
    wait_for_run(page)
    page.get_by_text("Export figure").first.click()
    with page.expect_download(timeout=90_000) as download:
        page.get_by_role("button", name="PNG").first.click()
    path = download.value.path()
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_a_lasso_on_the_map_changes_the_pair_list(server, browser, shots):
    from playwright.sync_api import expect

    _, page = open_llmbar_map(server, browser)
    assert "sel=" not in page.url
    shot(page, shots, "map")
    caption = page.get_by_text(re.compile(r"Showing [\d,]+ of [\d,]+ points")).first.inner_text()
    assert int(re.search(r"Showing ([\d,]+) of", caption).group(1).replace(",", "")) <= DRAWN
    lasso(page)
    expect(page).to_have_url(re.compile(r"sel=[0-9a-f]{12}"))
    wait_for_run(page)
    expect(page.get_by_text(re.compile(r"^\d[\d,]* pairs of llmbar$"))).to_be_visible()
    # the summary beside the map follows the lasso: its items of the dataset, in the same run
    expect(page.get_by_text("The selection", exact=True)).to_be_visible()
    expect(page.get_by_test_id("stMetric").filter(has_text="llmbar")).to_be_visible()
    # the lasso takes every point inside it, drawn or not: more than the map draws in all
    selected = page.get_by_text(re.compile(r"\d+ points selected on the map")).first.inner_text()
    assert int(re.search(r"(\d+) points selected", selected).group(1)) > DRAWN
    selected_link = page.url
    fresh = browser.new_page(viewport={"width": 1440, "height": 900})
    fresh.goto(selected_link)
    wait_for_run(fresh)
    # .first: while a run replaces the page, the caption may stand twice for a moment (the old one and the new)
    expect(fresh.get_by_text(re.compile(r"points selected on the map")).first).to_be_visible()
    # clearing it stays cleared: the lasso the chart still holds is not taken again
    page.get_by_role("button", name="Clear the selection").click()
    wait_for_run(page)
    expect(page).not_to_have_url(re.compile(r"sel="))
    expect(page.get_by_text(re.compile(r"points selected on the map"))).to_have_count(0)


def choose(page, label: str, option: str) -> None:
    """Pick an option of a selectbox as a person does: open it, type to narrow a long list (drawn lazily), click the
    option. Tried again when the list did not open (a click that landed while the layout was still moving)."""
    from playwright.sync_api import Error, expect

    box = page.get_by_role("combobox", name=label)
    expect(box).to_be_visible()
    for attempt in range(3):
        box.click()
        try:
            expect(page.get_by_role("listbox")).to_be_visible(timeout=5_000)
            page.keyboard.type(option)
            page.get_by_role("option", name=option, exact=True).click(timeout=5_000)
            return
        except (AssertionError, Error):
            if attempt == 2:
                raise
            page.keyboard.press("Escape")


def test_the_maps_filters_cross_the_selection_without_rerunning_the_page(server, browser, shots):
    """Choosing a judge and its verdict in the map's filters (real clicks) highlights the items whose pairs they
    keep: the summary beside the map and the pairs below follow, the sidebar's link takes the filters, and the
    regions table below (outside the map's fragment) is not redrawn."""
    from playwright.sync_api import expect

    _, page = open_llmbar_map(server, browser)
    regions_table = page.get_by_test_id("stDataFrame").last
    regions_table.evaluate("e => e.setAttribute('data-before-filter', '1')")  # gone if the page were redrawn
    page.get_by_text("Filter by category, judge and verdict").click()
    choose(page, "Judge", "GPT-4")
    wait_for_run(page)
    choose(page, "Its verdict", "B")
    wait_for_run(page)
    expect(page).to_have_url(re.compile(r"judge=GPT-4.*verdict=B|verdict=B.*judge=GPT-4"))
    kept = page.get_by_text(re.compile(r"filters: [\d,]+ items kept")).first.inner_text()
    assert int(re.search(r"filters: ([\d,]+) items", kept).group(1).replace(",", "")) > 0
    expect(page.get_by_text("The selection", exact=True)).to_be_visible()
    expect(page.get_by_text(re.compile(r"^\d[\d,]* pairs of llmbar$"))).to_be_visible()
    link = page.get_by_test_id("stSidebar").get_by_test_id("stCode").inner_text()
    assert "judge=GPT-4" in link and "verdict=B" in link  # the sidebar's link follows the fragment's rerun
    expect(page.locator("[data-before-filter='1']")).to_have_count(1)  # the rest of the page stayed as it was
    shot(page, shots, "map-filters")


def open_real(server, browser, path: str, why: str) -> tuple[str, object]:
    """(server url, a page showing `path`); skips, saying `why`, when the server holds fixtures, not the mirror."""
    url, real = server
    if not real:
        pytest.skip(why)
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{url}/{path}")
    wait_for_run(page)
    return url, page


def chart_titled(page, title: str) -> tuple[object, object]:
    """(the chart whose title holds `title`, its plot area), scrolled into view: where a real click lands."""
    chart = page.get_by_test_id("stPlotlyChart").filter(has_text=title).first
    area = chart.locator(".nsewdrag").first
    area.scroll_into_view_if_needed()
    return chart.locator(".js-plotly-plot").first, area


def open_llmbar_map(server, browser) -> tuple[str, object]:
    """(server url, a page showing LLMBar's map): the map needs the mirror's embeddings."""
    return open_real(
        server,
        browser,
        "map?dataset=llmbar",
        "the map needs the real-data mirror (PREFATLAS_MIRROR) for its embeddings",
    )


def lasso(page) -> None:
    """Draw a lasso over the middle of the page's first plotly chart with the mouse, and wait for the rerun."""
    box = page.get_by_test_id("stPlotlyChart").first.locator(".nsewdrag").first.bounding_box()
    cx, cy, w, h = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, box["width"], box["height"]
    page.mouse.move(cx - 0.35 * w, cy - 0.35 * h)
    page.mouse.down()
    for x, y in (
        (cx + 0.35 * w, cy - 0.35 * h),
        (cx + 0.35 * w, cy + 0.35 * h),
        (cx - 0.35 * w, cy + 0.35 * h),
        (cx - 0.35 * w, cy - 0.34 * h),
    ):
        page.mouse.move(x, y, steps=8)
    page.mouse.up()
    wait_for_run(page)


def test_an_export_from_a_map_selection_is_the_file_the_cli_writes(server, browser, shots, monkeypatch):
    """Lasso on the map, open the export, give a recipe, download the Parquet file: it holds the selected pairs and
    equals, byte for byte, what `analytics.curation.export` (the CLI's path) makes of the same link."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from playwright.sync_api import expect

    from analytics import curation

    url, page = open_llmbar_map(server, browser)
    lasso(page)
    expect(page).to_have_url(re.compile(r"sel=[0-9a-f]{12}"))
    wait_for_run(page)
    link = page.url
    page.get_by_role("button", name="Export as a training set").click()
    dialog = page.get_by_role("dialog")
    recipe = 'reference = "gold"\n\n[[steps]]\nstep = "drop_inconsistent"\njudge = "GPT-4"\n'
    box = dialog.get_by_label("Recipe (TOML)")
    box.fill(recipe)
    box.press("Control+Enter")
    # the summary of this recipe's run (not the example recipe's, shown before): the buttons are then this run's
    summary = re.compile(r"pairs from the map's \d+ points selected on the map.*steps: drop_inconsistent")
    expect(dialog.get_by_text(summary)).to_be_visible(timeout=60_000)
    wait_for_run(page)
    shot(page, shots, "export")
    with page.expect_download(timeout=60_000) as download:
        dialog.get_by_role("button", name="Parquet").click()
    data = Path(download.value.path()).read_bytes()
    table = pq.read_table(pa.BufferReader(data))
    assert table.num_rows > 0 and set(table.column("dataset").to_pylist()) == {"llmbar"}
    monkeypatch.setenv("PREFATLAS_CACHE", str(SERVED_STORES[url].parent / "cache"))  # where the server saved the lasso
    con = connect(SERVED_STORES[url], read_only=True)
    try:
        scope = curation.scope_of_link(con, link)
        expected = curation.export(con, scope, curation.Recipe.from_toml(recipe), "parquet")
    finally:
        con.close()
    assert set(table.column("pair_id").to_pylist()) <= set(scope.pair_ids)
    assert data == expected.data


def test_hostile_links_and_fields_inject_nothing_and_nothing_is_fetched_elsewhere(server, browser):
    """Values from a link (parameters that fit no option) and from the dataset (title, licence, category) are shown as
    text: no image is fetched, no link made. Every request the pages make goes to the prefatlas server itself."""
    url, _ = server
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    elsewhere: list[str] = []

    def guard(route):
        if route.request.url.startswith(url) or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:  # aborted before it leaves the machine, and recorded
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    hostile = {
        "subset": f"![x]({ATTACKER}/pixel.png)",
        "ref": f"[click]({ATTACKER}/phish)",
        "metric": f"<img src={ATTACKER}/tag.png>",
        "group": ":red[fake] **bold**",
    }
    from urllib.parse import urlencode

    for path, params in (
        ("judges", {"dataset": "judgebench", **hostile}),
        ("", {"dataset": "judgebench", "sample": "![s](http://attacker.invalid/s.png)"}),
        ("dissection", {"dataset": "judgebench", "judges": f"![j]({ATTACKER}/j.png)", "g": f"[g]({ATTACKER})"}),
        ("pairs", {"dataset": "judgebench", "sort": f"![p]({ATTACKER}/p.png)"}),
    ):
        page.goto(f"{url}/{path}?{urlencode(params)}")
        wait_for_run(page)
        assert page.locator(f"img[src^='{ATTACKER}']").count() == 0, path
        links = page.locator(f"a[href^='{ATTACKER}']")
        assert links.count() == 0, (path, [links.nth(i).evaluate("e => e.outerHTML") for i in range(links.count())])
    page.goto(f"{url}/judges?{urlencode({'dataset': 'judgebench', 'subset': hostile['subset']})}")
    wait_for_run(page)
    notices = page.get_by_test_id("stAlert").all_inner_texts()
    shown = [n.replace("\u2060", "") for n in notices]
    assert any("![x](http://attacker.invalid/pixel.png)" in n for n in shown), notices  # shown, as characters
    assert elsewhere == []


def test_an_ingest_runs_while_the_dashboard_serves_and_shows_after_a_reload(server, browser, tmp_path):
    """The dashboard holds the store only during a page run, so `prefatlas ingest` writes while pages are open; the
    new dataset is listed after a reload."""
    from playwright.sync_api import expect

    url, _ = server
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{url}/judges?dataset=pandalm")
    wait_for_run(page)
    rows = [
        {"q": f"question {i}", "a": f"answer one {i}", "b": f"the second answer {i}", "label": "A" if i % 3 else "B"}
        for i in range(12)
    ]
    data = tmp_path / "fresh.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    mapping = tmp_path / "fresh.toml"
    mapping.write_text(
        'name = "fresh-study"\n[columns]\nprompt = "q"\nresponse_a = "a"\nresponse_b = "b"\n'
        '[[verdicts]]\njudge = "annotator"\ncolumn = "label"\nvalues = { A = "A", B = "B" }\n'
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "analytics.cli",
            "ingest",
            "--store",
            str(SERVED_STORES[url]),
            "--mapping",
            str(mapping),
            str(data),
            "--no-precompute",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, PREFATLAS_LOCK_WAIT="120"),
    )
    assert done.returncode == 0, done.stderr
    assert "fresh-study: ingested: 12 pairs" in done.stdout
    page.reload()
    wait_for_run(page)
    expect(page.get_by_role("combobox", name="Dataset")).to_have_value("pandalm")  # the view itself is unchanged
    page.get_by_role("combobox", name="Dataset").click()
    expect(page.get_by_role("option", name="fresh-study")).to_be_visible()
    page.get_by_role("option", name="fresh-study").click()
    wait_for_run(page)
    expect(page).to_have_url(re.compile(r"dataset=fresh-study"))


def test_a_page_reached_through_a_foreign_host_name_shows_nothing(server, browser):
    """DNS rebinding: a name the attacker controls resolves to the local server; the page must not show data."""
    from playwright.sync_api import expect

    url, _ = server
    port = url.rsplit(":", 1)[1]
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"http://rebind.test:{port}/?dataset=pandalm")
    expect(page.get_by_text("This server does not answer for the address used to reach it")).to_be_visible()
    expect(page.get_by_role("combobox", name="Dataset")).to_have_count(0)
    assert page.get_by_test_id("stDataFrame").count() == 0
    page.goto(f"http://localhost:{port}/?dataset=pandalm")  # the server's own names work
    wait_for_run(page)
    expect(page.get_by_role("combobox", name="Dataset")).to_have_value("pandalm")


def test_building_a_map_from_the_page_runs_in_the_background(server, browser):
    """The build button starts the embedding and layout in the server's background: the page shows its progress in
    place, another tab reads the store meanwhile, and the map appears when it is written."""
    from playwright.sync_api import expect

    url, page = open_real(
        server,
        browser,
        "map?dataset=pandalm",
        "needs the real PandaLM prompts (a map of the 3-pair fixture is refused as too small)",
    )
    page.get_by_role("button", name="Embed the prompts and build the map").click()
    expect(page.get_by_text("Building the map in the background")).to_be_visible(timeout=30_000)
    other = browser.new_page(viewport={"width": 1440, "height": 900})
    other.goto(f"{url}/judges?dataset=pandalm")  # another visitor, while the build runs
    wait_for_run(other)
    expect(other.get_by_role("combobox", name="Dataset")).to_have_value("pandalm")
    expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible(timeout=300_000)
    expect(page.get_by_text("Building the map in the background")).to_have_count(0)
