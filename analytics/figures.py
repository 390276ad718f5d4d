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
