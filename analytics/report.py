"""Exports for meetings: figures as PNG / SVG (kaleido, driving Debian's chromium) or standalone HTML, and a report
of any view (a link) as one self-contained HTML file, or PDF through headless chromium. The page's "Report" button
and `prefatlas report URL` call the same build_report, so both give the same document."""

from __future__ import annotations

import html
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from analytics import reads
from analytics.pages import REGISTRY, Section
from analytics.viewstate import is_web_link, parse_link

EXPORT_WIDTH, EXPORT_HEIGHT, EXPORT_SCALE = 1200, 700, 2


def with_footer(fig: go.Figure, text: str) -> go.Figure:
    """A copy of the figure with a footer line (an exported figure says where it comes from: the view's link holds
    the dataset, subset and filters)."""
    if not text:
        return fig
    out = go.Figure(fig)
    bottom = (out.layout.margin.b if out.layout.margin.b is not None else 60) + 40
    out.add_annotation(
        text=html.escape(text),
        xref="paper",
        yref="paper",
        x=0,
        y=0,
        yshift=-bottom + 12,
        xanchor="left",
        yanchor="bottom",
        showarrow=False,
        font=dict(size=10, color="#52606d"),
    )
    return out.update_layout(margin=dict(b=bottom), height=(out.layout.height or EXPORT_HEIGHT) + 40)


def figure_image(fig: go.Figure, fmt: str = "png") -> bytes:
    """PNG or SVG bytes of a figure, drawn by kaleido with the system chromium (never a downloaded browser)."""
    height = fig.layout.height or EXPORT_HEIGHT
    return pio.to_image(fig, format=fmt, width=EXPORT_WIDTH, height=height, scale=EXPORT_SCALE if fmt == "png" else 1)


def figure_html(fig: go.Figure) -> str:
    """A standalone HTML file of the figure (plotly.js inlined: opens offline)."""
    return fig.to_html(include_plotlyjs=True, full_html=True)


def chromium() -> str | None:
    return (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    )


def html_to_pdf(document: str, timeout: int = 120) -> bytes:
    """Print an HTML document to PDF with headless chromium."""
    browser = chromium()
    if browser is None:
        raise RuntimeError("PDF export needs chromium (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(document, encoding="utf-8")
        pdf = Path(tmp) / "report.pdf"
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-pdf-header-footer",
                "--virtual-time-budget=10000",
                f"--print-to-pdf={pdf}",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=timeout,
        )
        return pdf.read_bytes()


def _table(frame: pd.DataFrame, limit: int = 60) -> str:
    """An HTML table; every cell escaped (dataset text may hold markup or scripts)."""
    frame = frame.head(limit)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape('' if pd.isna(v) else str(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _sections(con: duckdb.DuckDBPyConnection, page: str, params: dict) -> list[Section]:
    """The view's content: its page's, from the page registry (what the page draws)."""
    dataset = str(params["dataset"])
    if dataset not in reads.dataset_names(con):
        raise ValueError(f"the link's dataset '{dataset}' is not in this store")
    return REGISTRY[page].content(con, dataset, params)


PAPERS = ("A4", "Letter")


def _view_html(con: duckdb.DuckDBPyConnection, link: str, base_path: str, level: int = 1) -> tuple[str, str]:
    """(title, body HTML) of one view: its heading, when, dataset version, the link back, the filters, then every
    figure and table. Figures are drawn without plotly's toolbar (a printed page has nothing to click)."""
    page, params = parse_link(link, base_path)
    sections = _sections(con, page, params)
    dataset = str(params["dataset"])
    version = reads.dataset_version(con, dataset)
    filters = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(str(v))}</li>" for k, v in sorted(params.items()))
    parts = []
    for section in sections:
        item = section.body
        parts.append(f'<section class="item"><h{level + 1}>{html.escape(section.heading)}</h{level + 1}>')
        if isinstance(item, go.Figure):
            parts.append(item.to_html(full_html=False, include_plotlyjs=False, config={"displayModeBar": False}))
        elif isinstance(item, pd.DataFrame):
            parts.append(_table(item.drop(columns=[c for c in section.hidden if c in item.columns])))
        else:
            parts.append(f"<p>{html.escape(str(item))}</p>")
        if section.note:
            parts.append(f'<p class="meta">{html.escape(section.note)}</p>')
        parts.append("</section>")
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    # only a web link is clickable; a bare path (no server known) is shown as text
    back = f'<a href="{html.escape(link)}">open this view</a>' if is_web_link(link) else f"view {html.escape(link)}"
    title = f"prefatlas — {page}: {dataset}"
    body = (
        f"<h{level}>{html.escape(title)}</h{level}>\n"
        f'<p class="meta">Made {when} · dataset version <code>{html.escape(version)}</code> · {back}</p>\n'
        f'<ul class="meta">{filters}</ul>\n' + "".join(parts)
    )
    return title, body


def _document(title: str, body: str, paper: str = "A4", landscape: bool = True) -> str:
    """A self-contained HTML document (plotly.js inlined once: it opens offline) that prints well: the page size and
    orientation for chromium's PDF, and no table row, figure or heading split from what follows it."""
    if paper not in PAPERS:
        raise ValueError(f"paper must be one of {', '.join(PAPERS)}")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<script>{get_plotlyjs()}</script>
<style>
@page {{ size: {paper} {"landscape" if landscape else "portrait"}; margin: 12mm; }}
body {{ font-family: Inter, Helvetica, Arial, sans-serif; color: #1f2933; margin: 2rem auto; max-width: 1200px; }}
table {{ border-collapse: collapse; font-size: 12px; margin-bottom: 1.5rem; }}
th, td {{ border: 1px solid #e4e7eb; padding: 3px 6px; text-align: left; vertical-align: top; }}
th {{ background: #f5f7fa; }} .meta {{ color: #52606d; font-size: 13px; }}
@media print {{
  body {{ margin: 0; max-width: none; }}
  tr, .js-plotly-plot, .plotly-graph-div {{ break-inside: avoid; page-break-inside: avoid; }}
  thead {{ display: table-header-group; }}
  h1, h2, h3 {{ break-after: avoid; page-break-after: avoid; }}
  .view + .view {{ break-before: page; page-break-before: always; }}
  .modebar-container {{ display: none !important; }}
}}
</style></head><body>
{body}
</body></html>"""


def build_report(
    con: duckdb.DuckDBPyConnection, link: str, base_path: str = "/", paper: str = "A4", landscape: bool = True
) -> str:
    """One self-contained HTML document of the view a link shows: its figures and tables, the filters, the
    dataset version, the time, and the link back."""
    title, body = _view_html(con, link, base_path)
    return _document(title, f'<div class="view">{body}</div>', paper, landscape)


def build_agenda_report(
    con: duckdb.DuckDBPyConnection,
    views: list[dict],
    base_path: str = "/",
    paper: str = "A4",
    landscape: bool = True,
) -> str:
    """One document for a whole meeting: each saved view of the agenda in order, under its title and note, each
    starting a new printed page. A view this store cannot show (its dataset is gone) says so; the rest stand."""
    if not views:
        raise ValueError("the agenda is empty: save views from the dashboard first")
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    contents = "".join(f"<li>{html.escape(v['title'])}</li>" for v in views)
    blocks = [
        f'<div class="view"><h1>prefatlas — meeting agenda</h1><p class="meta">Made {when}</p><ol>{contents}</ol></div>'
    ]
    for k, view in enumerate(views, start=1):
        head = f"<h1>{k}. {html.escape(view['title'])}</h1>"
        if view.get("note"):
            head += f'<p class="note">{html.escape(view["note"])}</p>'
        try:
            _, body = _view_html(con, view["link"], base_path, level=2)
        except ValueError as exc:  # LinkError too: a view whose dataset or page is not here
            body = f'<p class="meta">This view cannot be shown from this store: {html.escape(str(exc))}</p>'
        blocks.append(f'<div class="view">{head}{body}</div>')
    return _document("prefatlas — meeting agenda", "\n".join(blocks), paper, landscape)
