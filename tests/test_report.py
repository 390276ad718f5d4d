"""Reports and exports built from a link, without a browser session."""

from __future__ import annotations

import shutil

import pytest

from analytics import cli
from analytics.adapters import alpaca_eval, judgebench, pandalm
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
    if "judges" in link or link.endswith("pandalm"):
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
