"""Plotly figures, drawn with one template so the screen and exported files look the same."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from analytics.selections import is_among

TEMPLATE = "prefatlas"
VERDICT_COLORS = {"A": "#3b6ea8", "B": "#d9822b", "tie": "#9aa5b1", "unparsed": "#c23030"}
GAP_COLORS = {"missing": "#c23030", "thin": "#d9822b", "covered": "#9aa5b1"}  # analytics.maps.coverage_verdict
UNCLUSTERED = "#b8c0c8"


def _distinct_palette() -> list[str]:
    """Plotly's Dark24, Light24 and Alphabet without repeats: 74 colours, so the clusters of a map (a few dozen)
    never share one (the template's eight would repeat from the ninth)."""
    import plotly.colors

    out: list[str] = []
    for name in ("Dark24", "Light24", "Alphabet"):
        out += [c for c in getattr(plotly.colors.qualitative, name) if c.upper() not in {o.upper() for o in out}]
    return out


CATEGORY_PALETTE = _distinct_palette()

pio.templates[TEMPLATE] = go.layout.Template(
    layout=go.Layout(
        font=dict(family="Inter, Helvetica, Arial, sans-serif", size=13, color="#1f2933"),
        paper_bgcolor="white",
        plot_bgcolor="white",
        colorway=["#3b6ea8", "#d9822b", "#2f9e72", "#c23030", "#7d5ba6", "#8c6d46", "#d45d9e", "#6b7785"],
        xaxis=dict(gridcolor="#e4e7eb", zerolinecolor="#cbd2d9"),
        yaxis=dict(gridcolor="#e4e7eb", zerolinecolor="#cbd2d9"),
        margin=dict(l=10, r=10, t=90, b=10),
        title=dict(x=0, xanchor="left", y=0.985, yanchor="top"),
        legend=dict(orientation="h", yanchor="bottom", y=1.01, x=0),
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


def click_targets(x: list, y: list, customdata: list, size: int = 28) -> go.Scatter:
    """Invisible square markers at the centres of heatmap cells: plotly heatmaps send no selection event, markers
    do, so a click on a cell reaches the page (with the cell's customdata). No hover label of their own: the
    heatmap's shows."""
    return go.Scatter(
        x=x,
        y=y,
        customdata=customdata,
        mode="markers",
        marker=dict(symbol="square", size=size, color="rgba(0,0,0,0)"),
        hoverinfo="none",
        showlegend=False,
        name="cells",
    )


def clickable(
    fig: go.Figure, z: list, x: list, y: list, custom: list, title: str, height: int, tickangle: int = -30
) -> go.Figure:
    """A heatmap (z[row][column] over x columns and y rows) with click targets over its filled cells, rows top to
    bottom: a click on a cell sends the page that cell's customdata."""
    cells = [(r, c) for r in range(len(y)) for c in range(len(x)) if z[r][c] is not None]
    fig.add_trace(click_targets([x[c] for _, c in cells], [y[r] for r, _ in cells], [custom[r][c] for r, c in cells]))
    return fig.update_layout(
        template=TEMPLATE,
        title=title,
        height=height,
        xaxis=dict(tickangle=tickangle, automargin=True),
        yaxis=dict(autorange="reversed", automargin=True),
    )


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
    return clickable(fig, z, judges, judges, custom, title, height=160 + 46 * size)


def group_heatmap(records: list[dict], title: str) -> go.Figure:
    """Judge-pair x group heatmap of disagreement rates (rows: judge pairs, columns: groups; n in each cell)."""
    if not records:
        return go.Figure().update_layout(template=TEMPLATE, title=f"{title}: nothing to show")
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
    cells = [(pair, str(group)) for pair in rate.index for group in rate.columns if pd.notna(rate.at[pair, group])]
    fig.add_trace(click_targets([g for _, g in cells], [p for p, _ in cells], [[p, g] for p, g in cells], size=22))
    fig.update_layout(
        template=TEMPLATE,
        title=title,
        height=180 + 34 * len(rate.index),
        margin=dict(t=110),
        xaxis=dict(tickangle=-30, automargin=True, side="top"),
        yaxis=dict(automargin=True, autorange="reversed"),
    )
    return fig


def leaderboard_ranks(
    table: pd.DataFrame, rankings: dict[str, tuple], title: str, conventions: dict[str, str] | None = None
) -> go.Figure:
    """Rank-change (slope) chart of a leaderboard (analytics.judges.leaderboard_table): one line per generator
    across the rankings (raw, LC, style-controlled), rank 1 on top; hover gives each value with its interval and
    what the ranking counts (`conventions`). A generator's points carry its name (customdata), so a click names it."""
    conventions = conventions or {}
    shown = [k for k in rankings if table[f"{k}_value"].notna().any()]
    labels = [rankings[k][0] for k in shown]
    fig = go.Figure()
    for i, row in enumerate(table.itertuples(index=False)):
        ranks = [getattr(row, f"{k}_rank") for k in shown]
        hover = [
            f"{row.generator}<br>{rankings[k][0]}: #{int(getattr(row, f'{k}_rank'))} · "
            f"{getattr(row, f'{k}_value'):.1f} [{getattr(row, f'{k}_low'):.1f}, {getattr(row, f'{k}_high'):.1f}]"
            + (f"<br>{conventions[k]}" if k in conventions else "")
            if pd.notna(getattr(row, f"{k}_rank"))
            else f"{row.generator}: –"
            for k in shown
        ]
        fig.add_scatter(
            x=labels,
            y=ranks,
            mode="lines+markers+text",
            text=[""] * (len(shown) - 1) + [f"  {row.generator}"],
            textposition="middle right",
            name=str(row.generator),
            line=dict(color=CATEGORY_PALETTE[i % len(CATEGORY_PALETTE)]),
            marker=dict(size=11),
            customdata=[[row.generator, k] for k in shown],
            hovertext=hover,
            hoverinfo="text",
        )
    fig.update_layout(
        template=TEMPLATE,
        title=title,
        showlegend=False,
        height=160 + 30 * len(table),
        # a fixed range, rank 1 on top; automargin keeps the axis title clear of the tick labels
        yaxis=dict(
            range=[len(table) + 0.5, 0.5], title=dict(text="rank (1 = best)", standoff=12), dtick=1, automargin=True
        ),
        xaxis=dict(range=[-0.3, len(shown) - 0.2]),
        margin=dict(r=180),
    )
    return fig


def judge_card_figure(rows: list[dict], metrics: dict[str, tuple[str, bool]], title: str) -> go.Figure:
    """A judge card's rows (analytics.judgecard) as dots with 95% whiskers, one panel per metric, one line per
    judge × dataset × subset (sharing the vertical axis); a panel's 50 % is dashed (chance, or no position or length
    preference)."""
    from plotly.subplots import make_subplots

    shown = [k for k in metrics if any(r[k] for r in rows)]
    labels = [f"{r['judge']} · {r['dataset']} · {r['subset']}" for r in rows]
    fig = make_subplots(
        rows=1, cols=max(1, len(shown)), shared_yaxes=True, subplot_titles=[metrics[k][0] for k in shown]
    )
    for col, key in enumerate(shown, start=1):
        kept = [(label, r) for label, r in zip(labels, rows, strict=True) if r[key] and r[key]["value"] is not None]
        points = [(label, r[key]) for label, r in kept]
        # the accuracy's hover names the convention it was counted under (each dataset's own)
        conventions = [
            f" · {r['convention_label']}" if key == "accuracy" and r.get("convention_label") else "" for _, r in kept
        ]
        scale = 100 if metrics[key][1] else 1
        fig.add_scatter(
            x=[e["value"] * scale for _, e in points],
            y=[label for label, _ in points],
            mode="markers",
            marker=dict(size=9, color=CATEGORY_PALETTE[col - 1]),
            error_x=dict(
                type="data",
                symmetric=False,
                array=[((e["high"] if e["high"] is not None else e["value"]) - e["value"]) * scale for _, e in points],
                arrayminus=[
                    (e["value"] - (e["low"] if e["low"] is not None else e["value"])) * scale for _, e in points
                ],
            ),
            customdata=[[e["n"], convention] for (_, e), convention in zip(points, conventions, strict=True)],
            hovertemplate="%{y}: %{x:.1f} (n=%{customdata[0]})%{customdata[1]}<extra></extra>",
            row=1,
            col=col,
        )
        if key != "self_preference":
            fig.add_vline(x=50, line_dash="dot", line_color="#9aa5b1", row=1, col=col)
    fig.update_layout(
        template=TEMPLATE,
        title=title,
        showlegend=False,
        height=160 + 24 * len(rows),
        yaxis=dict(automargin=True, autorange="reversed", categoryorder="array", categoryarray=labels),
    )
    return fig


def dissection_figure(fits: dict[str, dict], title: str) -> go.Figure:
    """Per property (x), each judge's 100*sigmoid(weight) with its 95% interval; dashed line at 50 (no effect).
    Properties sorted by the first judge's weight."""
    fig = go.Figure()
    if not fits:
        return fig.update_layout(template=TEMPLATE, title=f"{title}: no judge with enough decided pairs")
    first = next(iter(fits.values()))["weights"]
    order = sorted(first, key=lambda f: -first[f]["p"])
    order += sorted({f for fit in fits.values() for f in fit["weights"]} - set(order))
    position = {f: i for i, f in enumerate(order)}
    width = 0.6 / max(len(fits), 1)  # judges side by side within each property, so whiskers do not overlap
    for k, (judge, fit) in enumerate(fits.items()):
        w = fit["weights"]
        names = [f for f in order if f in w]
        fig.add_scatter(
            x=[position[f] + (k - (len(fits) - 1) / 2) * width for f in names],
            y=[100 * w[f]["p"] for f in names],
            customdata=names,
            mode="markers",
            name=f"{judge} (n={fit['n']})",
            error_y=dict(
                type="data",
                symmetric=False,
                array=[100 * (w[f]["p_high"] - w[f]["p"]) for f in names],
                arrayminus=[100 * (w[f]["p"] - w[f]["p_low"]) for f in names],
            ),
            hovertemplate="%{customdata}: %{y:.1f}%<extra>" + judge + "</extra>",
        )
    fig.update_xaxes(tickmode="array", tickvals=list(range(len(order))), ticktext=order)
    fig.add_hline(y=50, line_dash="dash", line_color="#c23030")
    fig.update_layout(
        template=TEMPLATE,
        title=title,
        height=480,
        yaxis=dict(title="P(A preferred) %", automargin=True),
        xaxis=dict(tickangle=-35, automargin=True),
    )
    return fig


def weights_heatmap(fits: dict[str, dict], title: str, reference: str | None = None) -> go.Figure:
    """Judges (rows) × properties (columns) of Preference Dissection weights, all judges at once: each cell is
    100·σ(weight) − 50 (points above or below no effect), '*' where the 95% interval excludes 0. With `reference`,
    each judge's weight minus the reference's instead (interval: the two posteriors' normal approximations taken as
    independent). Cells carry [judge, property] so a click names them. Properties sorted by the mean |weight|."""
    judges = [j for j in fits if j != reference] if reference else list(fits)
    if not judges:
        return go.Figure().update_layout(template=TEMPLATE, title=f"{title}: no judge to show")
    names = sorted(
        {f for j in judges for f in fits[j]["weights"]},
        key=lambda f: -sum(abs(fits[j]["weights"].get(f, {}).get("mean", 0.0)) for j in judges),
    )
    z, text, custom = [], [], []
    for judge in judges:
        z_row, text_row, custom_row = [], [], []
        for name in names:
            w = fits[judge]["weights"].get(name)
            r = fits[reference]["weights"].get(name) if reference else None
            if w is None or (reference and r is None):
                z_row.append(None), text_row.append(""), custom_row.append([judge, name, ""])
                continue
            if reference:
                value = w["mean"] - r["mean"]
                se = math.hypot((w["high"] - w["low"]) / 3.92, (r["high"] - r["low"]) / 3.92)
                low, high = value - 1.96 * se, value + 1.96 * se
                shown = 100 * (1 / (1 + math.exp(-value)) - 0.5)
            else:
                value, low, high = w["mean"], w["low"], w["high"]
                shown = 100 * w["p"] - 50
            excludes = low > 0 or high < 0
            z_row.append(shown)
            text_row.append(f"{shown:+.0f}{'*' if excludes else ''}")
            custom_row.append([judge, name, f"[{low:+.2f}, {high:+.2f}]"])
        z.append(z_row), text.append(text_row), custom.append(custom_row)
    limit = max([abs(v) for row in z for v in row if v is not None] + [1.0])
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=names,
            y=judges,
            text=text,
            texttemplate="%{text}",
            customdata=custom,
            colorscale="RdBu",
            zmid=0,
            zmin=-limit,
            zmax=limit,
            hovertemplate="%{customdata[0]} · %{customdata[1]}: %{z:+.1f} points (weight interval "
            "%{customdata[2]})<extra></extra>",
            colorbar=dict(title=dict(text="vs reference" if reference else "100·σ(w) − 50")),
        )
    )
    return clickable(fig, z, names, judges, custom, title, height=200 + 40 * len(judges), tickangle=-35)


def similarity_heatmap(matrix: dict[str, dict[str, float]], title: str) -> go.Figure:
    judges = list(matrix)
    z = [[matrix[a].get(b) for b in judges] for a in judges]
    text = [["" if v is None or v != v else f"{v:.2f}" for v in row] for row in z]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=judges,
            y=judges,
            text=text,
            texttemplate="%{text}",
            colorscale="RdBu",
            zmin=-1,
            zmax=1,
            hovertemplate="%{y} ~ %{x}: r = %{z:.2f}<extra></extra>",
        )
    )
    fig.update_layout(
        template=TEMPLATE,
        title=title,
        height=160 + 46 * len(judges),
        xaxis=dict(tickangle=-30, automargin=True),
        yaxis=dict(autorange="reversed", automargin=True),
    )
    return fig


def waterfall_figure(contributions: pd.DataFrame, title: str) -> go.Figure:
    """Each property's contribution (weight x feature) to the logit of P(A preferred), and their total."""
    rows = contributions.sort_values("contribution", key=abs, ascending=False)
    fig = go.Figure(
        go.Waterfall(
            orientation="h",
            y=[*rows["property"], "total (logit)"],
            x=[*rows["contribution"], None],
            measure=["relative"] * len(rows) + ["total"],
            connector=dict(line=dict(color="#cbd2d9")),
            increasing=dict(marker=dict(color=VERDICT_COLORS["A"])),
            decreasing=dict(marker=dict(color=VERDICT_COLORS["B"])),
            hovertemplate="%{y}: %{x:+.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        template=TEMPLATE,
        title=title,
        height=220 + 30 * (len(rows) + 1),
        yaxis=dict(autorange="reversed", automargin=True),
        xaxis_title="toward A (+) / toward B (−)",
    )
    return fig


def difference_figure(frame: pd.DataFrame, judge: str, reference: str) -> go.Figure:
    """Posterior difference of weights (judge - reference) with 95% intervals, largest first."""
    rows = frame.iloc[::-1]
    fig = go.Figure(
        go.Scatter(
            x=rows["difference"],
            y=rows["property"],
            mode="markers",
            error_x=dict(
                type="data",
                symmetric=False,
                array=rows["high"] - rows["difference"],
                arrayminus=rows["difference"] - rows["low"],
            ),
            hovertemplate="%{y}: %{x:+.3f}<extra></extra>",
        )
    )
    fig.add_vline(x=0, line_dash="dash", line_color="#c23030")
    fig.update_layout(
        template=TEMPLATE,
        title=f"What {judge} rewards beyond {reference} (weight difference)",
        height=160 + 26 * len(rows),
        yaxis=dict(automargin=True),
    )
    return fig


def map_figure(
    shown: pd.DataFrame,
    color: str,
    color_label: str,
    regions: pd.DataFrame,
    selected: set[str] | None,
    title: str,
) -> go.Figure:
    """The map as WebGL points (shown: the points to draw, all of a small map, a sample of a large one). Hover text
    is the prompt with angle brackets replaced, so dataset text is never read as markup."""
    hover = shown["text"].fillna("").str.slice(0, 160).str.replace("<", "‹").str.replace(">", "›")  # text, never markup
    fig = go.Figure()
    if color in ("cluster", "verdict", "generators", "source", "gap"):
        if color == "gap" and not regions.empty:
            verdicts = regions.set_index("cluster")["coverage"] if "coverage" in regions else pd.Series(dtype=object)
            key = shown["cluster"].map(verdicts).fillna("covered").astype(str)
        elif color == "cluster":
            key = shown["cluster_name"]
        else:
            key = shown[color].astype(object).fillna("–").astype(str)
        values = sorted(key.unique(), key=lambda v: (v == "unclustered", v))
        fixed = {"verdict": VERDICT_COLORS, "gap": GAP_COLORS}.get(color, {})
        palette = iter(CATEGORY_PALETTE * (1 + len(values) // len(CATEGORY_PALETTE)))
        for value in values:
            part = key == value
            shade = fixed.get(value) or (UNCLUSTERED if value == "unclustered" else next(palette))
            fig.add_scattergl(
                x=shown.loc[part, "x"],
                y=shown.loc[part, "y"],
                mode="markers",
                name=str(value)[:40],
                customdata=shown.loc[part, ["item_id"]].to_numpy(),
                text=hover[part],
                hovertemplate="%{text}<extra>" + str(value)[:40].replace("<", "‹") + "</extra>",
                marker=dict(size=5, color=shade, opacity=0.75 if value != "unclustered" else 0.3),
            )
    else:
        values = shown[color].astype(float) if color != "density_ratio" else shown["density_ratio"].clip(upper=4)
        fig.add_scattergl(
            x=shown["x"],
            y=shown["y"],
            mode="markers",
            customdata=shown[["item_id"]].to_numpy(),
            text=hover,
            hovertemplate="%{text}<br>" + color_label + ": %{marker.color:.2f}<extra></extra>",
            marker=dict(
                size=5,
                color=values,
                colorscale="Viridis",
                showscale=True,
                colorbar=dict(title=dict(text=color_label.replace("<", "‹")[:40], side="right")),
            ),
        )
    if selected is not None:
        sel = shown[is_among(shown["item_id"], selected)]
        fig.add_scattergl(
            x=sel["x"],
            y=sel["y"],
            mode="markers",
            name="selection",
            hoverinfo="skip",
            marker=dict(size=9, color="rgba(0,0,0,0)", line=dict(color="#c23030", width=1.5)),
        )
    # label positions from the drawn points (a million points' medians cost a second, a sample's the same place)
    named = shown[shown["cluster"] >= 0].groupby(["cluster", "cluster_name"])[["x", "y"]].median().reset_index()
    labels = [  # set at once: add_annotation copies every earlier one (quadratic in the clusters)
        dict(
            x=row.x,
            y=row.y,
            text=row.cluster_name.replace("<", "‹")[:30],
            showarrow=False,
            font=dict(size=11, color="#1f2933"),
            bgcolor="rgba(255,255,255,0.6)",
        )
        for row in named.itertuples()
    ]
    fig.update_layout(
        annotations=labels,
        template=TEMPLATE,
        height=640,
        dragmode="lasso",
        title=title,
        xaxis=dict(visible=False),
        yaxis=dict(visible=False),
        legend=dict(itemsizing="constant", orientation="v", x=1.01, y=1, yanchor="top"),
    )
    return fig
