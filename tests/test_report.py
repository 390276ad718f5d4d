"""Reports and exports built from a link, without a browser session."""

from __future__ import annotations

import html
import re
import shutil

import pandas as pd
import plotly.graph_objects as go
import pytest

from analytics import cli
from analytics.adapters import alpaca_eval, judgebench, pandalm
from analytics.pages import REGISTRY
from analytics.report import build_report, figure_html, html_to_pdf
from analytics.store import connect, write_batch

from fixtures import write_alpaca_eval, write_judgebench, write_pandalm

HOSTILE = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("rep")
    con = connect(root / "s.duckdb")
    write_batch(con, pandalm.load(write_pandalm(root / "p")))
    jb = judgebench.load(write_judgebench(root / "j"))
    jb.judges.loc[jb.judges["name"] == "gold", "protocol"] = HOSTILE
    write_batch(con, jb)
    write_batch(con, alpaca_eval.load(write_alpaca_eval(root / "a", leaderboard=True)))
    con.close()
    return root / "s.duckdb"


@pytest.mark.parametrize(
    "link",
    [
        "http://h/?dataset=pandalm",
        "http://h/judges?dataset=judgebench&metric=kappa",
        "http://h/dissection?dataset=pandalm",
        "http://h/pairs?dataset=pandalm&q=short",
    ],
)
def test_report_of_each_page(store, link, tmp_path, monkeypatch):
    monkeypatch.setenv("PREFATLAS_CACHE", str(tmp_path))
    con = connect(store, read_only=True)
    document = build_report(con, link)
    assert document.startswith("<!doctype html>") and document.count("<script>") >= 1
    assert f'href="{link.replace("&", "&amp;")}"' in document  # the link back
    assert "dataset version" in document
    assert HOSTILE not in document  # dataset text is escaped
    if "dissection" in link:  # the fixture's judges decided too few pairs: the report says so, as the page does
        assert "nothing to fit" in document
    elif "judges" in link or link.endswith("pandalm"):
        assert 'class="plotly-graph-div"' in document


def test_a_judges_report_holds_the_leaderboard_and_the_subset_table(store, tmp_path, monkeypatch):
    monkeypatch.setenv("PREFATLAS_CACHE", str(tmp_path))
    con = connect(store, read_only=True)
    document = build_report(con, "http://h/judges?dataset=alpaca_eval")
    assert "Leaderboard judged by weighted_alpaca_eval_gpt4_turbo" in document  # the official evaluator by default
    assert "published LC (%)" in document and "45.0" in document
    document = build_report(con, "http://h/judges?dataset=alpaca_eval&board=alpaca_eval_gpt4_turbo_fn")
    assert "Leaderboard judged by alpaca_eval_gpt4_turbo_fn" in document


def test_report_command_writes_html_and_rejects_bad_links(store, tmp_path, capsys):
    out = tmp_path / "r.html"
    code = cli.main(["report", "--store", str(store), "http://h/judges?dataset=pandalm", "-o", str(out)])
    assert code == 0 and out.stat().st_size > 100_000
    code = cli.main(["report", "--store", str(store), "http://h/judges?dataset=nope", "-o", str(out)])
    assert code == 2 and "not in this store" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium not installed")
def test_pdf_and_png_exports(store):
    import plotly.graph_objects as go

    from analytics.report import figure_image

    pdf = html_to_pdf("<html><body><h1>hello</h1></body></html>")
    assert pdf.startswith(b"%PDF")
    fig = go.Figure(go.Bar(x=[1, 2], y=[3, 4]))
    assert figure_image(fig, "png").startswith(b"\x89PNG")
    assert b"<svg" in figure_image(fig, "svg")[:200]
    assert "plotly" in figure_html(fig)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium not installed")
@pytest.mark.parametrize(
    ("paper", "portrait", "size"), [("A4", False, (842, 595)), ("Letter", False, (792, 612)), ("A4", True, (595, 842))]
)
def test_a_printed_report_takes_the_paper_and_orientation_asked_and_no_toolbars(store, tmp_path, paper, portrait, size):
    import re

    out = tmp_path / "r.pdf"
    args = ["report", "--store", str(store), "http://h/judges?dataset=pandalm", "-o", str(out), "--paper", paper]
    assert cli.main(args + (["--portrait"] if portrait else [])) == 0
    boxes = {
        tuple(round(float(v)) for v in box.split()[2:])
        for box in re.findall(rb"/MediaBox\s*\[([^\]]*)\]", out.read_bytes())
    }
    assert boxes == {size}  # every page, landscape unless asked otherwise
    con = connect(store, read_only=True)
    document = build_report(con, "http://h/judges?dataset=pandalm")
    assert '"displayModeBar": false' in document  # no toolbar icons on paper
    assert "tr, .js-plotly-plot" in document and "break-inside: avoid" in document  # rows never split


def test_one_document_for_the_whole_agenda(store, tmp_path, monkeypatch, capsys):
    from analytics.savedviews import save_view

    monkeypatch.setenv("PREFATLAS_CACHE", str(tmp_path))
    out = tmp_path / "meeting.html"
    assert cli.main(["report", "--store", str(store), "--agenda", "-o", str(out)]) == 2
    assert "agenda is empty" in capsys.readouterr().err
    save_view("Who agrees", "start here", "http://h/judges?dataset=pandalm&metric=kappa", store=store)
    save_view("Gone", "", "http://h/judges?dataset=not-here", store=store)  # the agenda beside the --store
    save_view("The pairs", "", "http://h/pairs?dataset=pandalm", store=store)
    assert cli.main(["report", "--store", str(store), "--agenda", "-o", str(out)]) == 0
    document = out.read_text()
    assert document.index("1. Who agrees") < document.index("2. Gone") < document.index("3. The pairs")
    assert "start here" in document and "cannot be shown from this store" in document
    assert document.count('<div class="view">') == 4  # the contents, then one per view (each starts a page)
    assert cli.main(["report", "--store", str(store), "--agenda", "http://h/?dataset=pandalm", "-o", str(out)]) == 2


def test_an_exported_figure_names_the_view_it_comes_from():
    import plotly.graph_objects as go

    from analytics.report import with_footer

    fig = go.Figure(go.Bar(x=[1], y=[2])).update_layout(height=400)
    labelled = with_footer(fig, "prefatlas · http://h/judges?dataset=x&metric=kappa")
    assert labelled.layout.annotations[0].text.endswith("metric=kappa")
    assert labelled.layout.height == 440 and fig.layout.height == 400  # the screen's figure is left as it was
    assert with_footer(fig, "") is fig


@pytest.mark.parametrize("page", list(REGISTRY))
def test_every_pages_content_is_in_its_report(store, page, tmp_path, monkeypatch):
    """Walks the page registry: a view's report holds every figure and table its page's content gives."""
    monkeypatch.setenv("PREFATLAS_CACHE", str(tmp_path))
    con = connect(store, read_only=True)
    link = f"http://h/{REGISTRY[page].path}?dataset=pandalm"
    if page == "map":  # the fixture store has no map: the report says so instead of failing silently
        with pytest.raises(ValueError, match="no map"):
            build_report(con, link)
        return
    sections = REGISTRY[page].content(con, "pandalm", {"dataset": "pandalm"})
    assert sections
    document = build_report(con, link)
    for section in sections:
        assert f">{html.escape(section.heading)}</h2>" in document
        assert html.escape(section.note) in document
    figures = sum(isinstance(s.body, go.Figure) for s in sections)
    tables = sum(isinstance(s.body, pd.DataFrame) for s in sections)
    assert document.count('class="plotly-graph-div"') == figures
    assert document.count("<table>") == tables


def test_a_judges_report_holds_the_pairs_behind_the_chosen_number(store, tmp_path, monkeypatch):
    monkeypatch.setenv("PREFATLAS_CACHE", str(tmp_path))
    con = connect(store, read_only=True)
    document = build_report(con, "http://h/judges?dataset=alpaca_eval&cell=gen:tiny-model&only=false")
    assert "The pairs behind gen:tiny-model (4; the first 4)" in document
    document = build_report(con, "http://h/judges?dataset=judgebench&cell=gold+~+rm/x&only=false")
    heading = re.search(r"The pairs behind gold ~ rm/x \((\d+); the first (\d+)\)", document)
    assert heading and int(heading.group(2)) == min(10, int(heading.group(1))) > 0
