"""Plotly figures, drawn with one template so the screen and exported files look the same."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

TEMPLATE = "prefatlas"
VERDICT_COLORS = {"A": "#3b6ea8", "B": "#d9822b", "tie": "#9aa5b1", "unparsed": "#c23030"}

pio.templates[TEMPLATE] = go.layout.Template(
    layout=go.Layout(
        font=dict(family="Inter, Helvetica, Arial, sans-serif", size=13, color="#1f2933"),
        paper_bgcolor="white",
        plot_bgcolor="white",
        colorway=["#3b6ea8", "#d9822b", "#2f9e72", "#c23030", "#7d5ba6", "#8c6d46", "#d45d9e", "#6b7785"],
        xaxis=dict(gridcolor="#e4e7eb", zerolinecolor="#cbd2d9"),
        yaxis=dict(gridcolor="#e4e7eb", zerolinecolor="#cbd2d9"),
        margin=dict(l=10, r=10, t=40, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
    )
)


def verdict_distribution(counts: pd.DataFrame, title: str = "Verdicts per judge") -> go.Figure:
    """Horizontal stacked bars: share of A / B / tie / unparsed for each judge (counts in the hover)."""
    totals = counts.groupby("judge")["n"].transform("sum")
    data = counts.assign(share=counts["n"] / totals)
    fig = go.Figure()
    for verdict, color in VERDICT_COLORS.items():
        part = data[data["verdict"] == verdict]
        if part.empty:
            continue
        fig.add_bar(
            y=part["judge"],
            x=part["share"],
            name=verdict,
            orientation="h",
            marker_color=color,
            customdata=part[["n"]],
            hovertemplate="%{y}: %{x:.1%} (%{customdata[0]} judgments)<extra>" + verdict + "</extra>",
        )
    fig.update_layout(
        template=TEMPLATE,
        barmode="stack",
        title=title,
        xaxis_tickformat=".0%",
        height=120 + 28 * counts["judge"].nunique(),
        yaxis=dict(autorange="reversed", automargin=True, ticksuffix="  "),
    )
    return fig


AGREEMENT_METRICS = {
    "agreement": ("agreement_with_ties", "Agreement (ties count)", True),
    "agreement_no_ties": ("agreement_without_ties", "Agreement without ties (MT-Bench)", True),
    "kappa": ("cohen_kappa", "Cohen's κ", False),
}


def agreement_heatmap(agreements: list[dict], judges: list[str], metric: str = "agreement") -> go.Figure:
    """Symmetric judge x judge heatmap of one agreement metric; each cell shows the value and n, and carries the
    two judge names as customdata (so a click can open the pairs behind it)."""
    key, title, percent = AGREEMENT_METRICS[metric]
    index = {j: i for i, j in enumerate(judges)}
    size = len(judges)
    z = [[None] * size for _ in range(size)]
    text = [[""] * size for _ in range(size)]
    custom = [[[judges[r], judges[c], "", ""] for c in range(size)] for r in range(size)]
    for a in agreements:
        est = a[key]
        r, c = index[a["judge_1"]], index[a["judge_2"]]
        value = est["value"]
        label = "–" if value is None else (f"{value:.0%}" if percent else f"{value:.2f}")
        interval = (
            ""
            if est["low"] is None
            else (f"[{est['low']:.0%}, {est['high']:.0%}]" if percent else f"[{est['low']:.2f}, {est['high']:.2f}]")
        )
        for rr, cc in ((r, c), (c, r)):
            z[rr][cc] = value
            text[rr][cc] = f"{label}<br>n={est['n']}"
            custom[rr][cc] = [judges[rr], judges[cc], interval, str(est["n"])]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=judges,
            y=judges,
            text=text,
            texttemplate="%{text}",
            customdata=custom,
            colorscale="Blues",
            zmin=0 if percent else -0.2,
            zmax=1,
            hovertemplate="%{customdata[0]} ~ %{customdata[1]}<br>" + title + ": %{z:.3f} %{customdata[2]}"
            "<br>n=%{customdata[3]}<extra></extra>",
            colorbar=dict(title=dict(text="")),
        )
    )
    fig.update_layout(
        template=TEMPLATE,
        title=title,
        height=160 + 46 * size,
        xaxis=dict(tickangle=-30, automargin=True),
        yaxis=dict(autorange="reversed", automargin=True),
    )
    return fig


def group_heatmap(records: list[dict], title: str) -> go.Figure:
    """Judge-pair x group heatmap of disagreement rates (rows: judge pairs, columns: groups; n in each cell)."""
    if not records:
        return go.Figure().update_layout(template=TEMPLATE, title=f"{title}: nothing to show")
    import pandas as pd

    frame = pd.DataFrame(records)
    frame["judge pair"] = frame["judge_1"] + " ~ " + frame["judge_2"]
    rate = frame.pivot(index="judge pair", columns="group", values="disagreement")
    n = frame.pivot(index="judge pair", columns="group", values="n").reindex_like(rate)
    text = [
        [("" if pd.isna(v) else f"{v:.0%}<br>n={int(k)}") for v, k in zip(rv, kv, strict=True)]
        for rv, kv in zip(rate.to_numpy(), n.to_numpy(), strict=True)
    ]
    fig = go.Figure(
        go.Heatmap(
            z=rate.to_numpy(),
            x=[str(g) for g in rate.columns],
            y=list(rate.index),
            text=text,
            texttemplate="%{text}" if rate.size <= 300 else None,
            colorscale="Oranges",
            zmin=0,
            zmax=1,
            customdata=n.to_numpy(),
            hovertemplate="%{y}<br>%{x}<br>disagreement %{z:.1%} (n=%{customdata})<extra></extra>",
        )
    )
    fig.update_layout(
        template=TEMPLATE,
        title=title,
        height=180 + 34 * len(rate.index),
        margin=dict(t=110),
        xaxis=dict(tickangle=-30, automargin=True, side="top"),
        yaxis=dict(automargin=True, autorange="reversed"),
    )
    return fig


def leaderboard_figure(rows: list[dict], title: str, percent: bool = True) -> go.Figure:
    """Dots with 95% interval whiskers, best first."""
    rows = sorted((r for r in rows if r["value"] is not None), key=lambda r: r["value"])
    scale = 100 if percent else 1
    fig = go.Figure(
        go.Scatter(
            x=[r["value"] * scale for r in rows],
            y=[r["name"] for r in rows],
            mode="markers",
            error_x=dict(
                type="data",
                symmetric=False,
                array=[(r["high"] - r["value"]) * scale if r["high"] is not None else 0 for r in rows],
                arrayminus=[(r["value"] - r["low"]) * scale if r["low"] is not None else 0 for r in rows],
            ),
            customdata=[r["n"] for r in rows],
            hovertemplate="%{y}: %{x:.1f} (n=%{customdata})<extra></extra>",
        )
    )
    fig.update_layout(template=TEMPLATE, title=title, height=140 + 26 * len(rows), yaxis=dict(automargin=True))
    return fig
