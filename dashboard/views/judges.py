"""Judges: who agrees with whom, how biased each judge is, generator leaderboards, and the pairs behind each number."""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from analytics import judges as J
from analytics import reads
from analytics.figures import AGREEMENT_METRICS
from analytics.pages import PAIRS_PAGE_SIZE, judges_content
from analytics.verdicts import ACCURACY_CONVENTIONS
from dashboard.db import page_start
from dashboard.widgets import (
    by_key,
    is_new,
    judge_card_link,
    pair_card,
    plain,
    selected_points,
    selection_rows,
    show,
    url_number,
    url_selectbox,
    url_toggle,
    view_params,
)

PAGE_SIZE = PAIRS_PAGE_SIZE
GENERATOR_MARK = J.GENERATOR_MARK
ALL = "(all)"
AUTO = "(automatic)"

con, dataset = page_start()


@st.cache_data(show_spinner="Computing agreement, biases and bootstrap intervals…", max_entries=32)
def report(_con, version: str, dataset: str, subset: str | None, reference: str | None) -> dict:
    return J.judges_report(_con, dataset, reference, subset)


@st.cache_data(max_entries=64)
def decided_judges(_con, version: str, dataset: str) -> dict[str, str]:
    return reads.judge_kinds(_con, dataset, decided_only=True)


version = reads.dataset_version(con, dataset)
st.title("Judges")
st.caption(
    f"Dataset **{dataset}** · every figure carries n and a seeded 95% bootstrap interval · "
    "conventions at the bottom of the page"
)

subsets = [ALL, *reads.subsets_table(con, dataset)["subset"].tolist()]
kinds = decided_judges(con, version, dataset)  # a small query, once per dataset version: no judgments are loaded
references = [AUTO, *kinds]
if sum(k == "human" for k in kinds.values()) >= 2:
    references.insert(1, J.HUMAN_MAJORITY)
metrics = list(AGREEMENT_METRICS)

c1, c2, c3, c4 = st.columns(4)
with c1:
    named = [x for x in subsets if x not in (ALL, "(none)")]
    groups_of_subsets = J.subset_groups(named)
    subset_choice = (
        url_selectbox(
            "Subset",
            [ALL, *groups_of_subsets, *named],
            "subset",
            format_func=lambda s: (
                f"{s[:-2]} · {len(groups_of_subsets[s])} subsets pooled" if s in groups_of_subsets else s
            ),
            help="A group pools its subsets; the table then shows each subset and their unweighted mean too.",
        )
        if named
        else ALL
    )
with c2:
    ref_choice = url_selectbox(
        "Reference",
        references,
        "ref",
        help="Accuracy and self-preference are measured against it. Automatic: gold, else the "
        "human majority, else the human or crowd label.",
    )
with c3:
    own_convention = J.accuracy_convention(con, dataset)
    convention = url_selectbox(
        "Accuracy convention",
        list(ACCURACY_CONVENTIONS),
        "conv",
        default=own_convention,
        format_func=lambda c: ACCURACY_CONVENTIONS[c][1] + (" · this dataset's" if c == own_convention else ""),
        help="How a judge's verdicts count against the reference. The default is the one this dataset's upstream "
        "paper or code uses.",
    )
with c4:
    metric = url_selectbox("Agreement metric", metrics, "metric", format_func=lambda m: AGREEMENT_METRICS[m][1])
subset = None if subset_choice == ALL else subset_choice
reference = None if ref_choice == AUTO else ref_choice

try:
    rep = report(con, version, dataset, subset, reference)
except ValueError as exc:
    st.error(plain(exc, 400))
    st.stop()
judge_names = [j["judge"] for j in rep["judges"]]
st.caption(f"{rep['pairs']:,} pairs · reference: **{plain(rep['reference'] or 'none')}**")


def apply_clicks() -> None:
    """Clicks since the last run (a chart's or table's selection is in the session before it is drawn again) choose
    the pairs below; they are applied first, so the content computed next already lists them."""
    cells = [f"{a['judge_1']} ~ {a['judge_2']}" for a in rep["agreement"]]
    points = selected_points(st.session_state.get("agreement_chart"), "agreement_chart")
    if points:  # a heatmap cell: the pairs that judge pair decided differently
        j1, j2 = points[0].get("y"), points[0].get("x")
        picked = f"{j1} ~ {j2}" if f"{j1} ~ {j2}" in cells else f"{j2} ~ {j1}"
        if picked in cells:
            st.session_state["cell"] = picked
    rows = selection_rows("bias_table")
    if rows and is_new("bias_table", rows) and rows[0] < len(judge_names):  # a judge: its order flips
        st.session_state["cell"] = judge_names[rows[0]]
    points = selected_points(st.session_state.get("groups_chart"), "groups_chart")
    if points:  # a group × judge-pair cell: the pairs that judge pair split on within that group
        pair, group = (points[0].get("customdata") or [None, None])[:2]
        if pair:
            st.session_state["cell"], st.session_state["in"] = pair, group
    points = selected_points(st.session_state.get("ranks_chart"), "ranks_chart")
    if points and (points[0].get("customdata") or [None])[0]:  # a generator: its pairs, losses first
        st.session_state["cell"] = GENERATOR_MARK + points[0]["customdata"][0]


apply_clicks()
try:  # the page's content, as its report computes it from the link
    sections = by_key(judges_content(con, dataset, view_params("judges")))
except ValueError as exc:
    st.error(plain(exc, 400))
    st.stop()

# --- agreement heatmap ------------------------------------------------------------------------------------------
show(sections["agreement"], key="agreement_chart", on_select="rerun", selection_mode="points")

# --- bias table --------------------------------------------------------------------------------------------------
bias_section = sections["bias"]
st.subheader(plain(bias_section.heading))
url_toggle("Show the regression fits", "fits", False, help="Length and style coefficients, unparsed counts")
bias = bias_section.body.copy()
# each judge's card (the judge across every dataset of the store), a relative link: it keeps any base path
bias.insert(1, "card", [f"judge?{urlencode({'dataset': dataset, 'name': j})}" for j in bias["judge"]])
show(
    bias_section,
    heading=False,
    data=bias,
    key="bias_table",
    on_select="rerun",
    selection_mode="single-row",
    column_config={
        "judge": st.column_config.TextColumn(pinned=True),
        "card": st.column_config.LinkColumn("card", display_text="across datasets ↗", help="The judge card"),
    },
)
show(sections.get("subsets"), "small", column_config={"judge": st.column_config.TextColumn(pinned=True)})

# --- group disagreement ------------------------------------------------------------------------------------------
groups = rep["disagreement_by_group"]  # computed with the report, per group column
group_by = None
if "groups" in sections:
    st.subheader(plain(sections["groups"].heading))
    group_by = url_selectbox("Group by", list(groups), "group")
    if rep["reference"] in judge_names:
        url_toggle(f"Only judge pairs with the reference ({plain(rep['reference'])})", "with_ref", True)
    show(sections["groups"], heading=False, key="groups_chart", on_select="rerun", selection_mode="points")

# --- leaderboards ------------------------------------------------------------------------------------------------
board_judge = J.board_judge(rep, st.session_state.get("board", st.query_params.get("board")))
if board_judge:
    st.subheader(plain(sections["leaderboard"].heading))
    official = rep.get("official_judge")
    url_selectbox(
        "Judged by",
        list(rep["leaderboards"]),
        "board",
        default=official if official in rep["leaderboards"] else board_judge,
        format_func=lambda j: f"{j} · upstream's official evaluator" if j == official else j,
    )
    show(sections["leaderboard"], heading=False, key="ranks_chart", on_select="rerun", selection_mode="points")
    show(
        sections.get("leaderboard_values"),
        heading=False,
        column_config={"generator": st.column_config.TextColumn(pinned=True)},
    )

# --- the pairs behind a number -----------------------------------------------------------------------------------
st.subheader("The pairs behind a number")
board = sections.get("leaderboard_values")
ranked = list(board.body["generator"]) if board is not None else []


def cell_label(choice: str) -> str:
    if choice.startswith(GENERATOR_MARK):
        return f"{choice.removeprefix(GENERATOR_MARK)} · its pairs judged by {board_judge}"
    return choice


cell = url_selectbox(
    "Open",
    J.cell_choices(rep, ranked),
    "cell",
    aliases=J.cell_aliases(rep),  # either order of a judge pair opens it
    format_func=cell_label,
    help="A judge pair opens the pairs they decided differently; a single judge opens the pairs "
    "whose verdict changed when the order was swapped; a generator, its pairs the leaderboard's judge decided. "
    "Clicking a heatmap cell, a table row or a leaderboard point selects it too.",
)
listed = sections.get("pairs")
if cell != "(none)" and listed is not None:
    generator = cell.startswith(GENERATOR_MARK)
    for name in [] if generator else cell.split(" ~ "):
        judge_card_link(dataset, name)
    url_toggle("Only the pairs it lost" if generator else "Only disagreements", "only", True)
    if group_by:
        values = sorted({str(r["group"]) for r in groups[group_by]} - {"(none)"})
        url_selectbox(f"Within {plain(group_by)}", [ALL, *values], "in")
    total = listed.meta["total"]
    if total:
        url_number("Page", "page", 1, 1, max(1, -(-total // PAGE_SIZE)))
    compact = listed.body
    picked = show(
        listed,
        "small",
        data=compact.style.map(
            lambda v: "color: #c23030; font-weight: 600" if str(v).endswith(reads.WRONG) else "",
            subset=compact.columns[2:],
        ),
        key="pairs_table",
        on_select="rerun",
        selection_mode="single-row",
        column_config={"prompt": st.column_config.TextColumn(width="large", pinned=True)},
    )
    rows = list(picked.selection.rows) if picked is not None else []
    if rows and is_new("pairs_table", rows):
        st.query_params["open"] = compact.iloc[rows[0]]["pair"]
    opened = st.query_params.get("open", "")
    if opened in set(compact["pair"]):  # reads that pair only
        pair_card(reads.pairs_by_id(con, [opened]).iloc[0], reads.pair_judgments(con, [opened]))
    elif opened:
        st.caption("The pair in the link is not on this page of the list.")

with st.expander("Conventions"):
    for key, text in rep["conventions"].items():
        st.markdown(f"- **{key.replace('_', ' ')}**: {text}")
