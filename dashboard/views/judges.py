"""Judges: who agrees with whom, how biased each judge is, generator leaderboards, and the pairs behind each number."""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from analytics import judges as J
from analytics import reads
from analytics.figures import AGREEMENT_METRICS, agreement_heatmap, group_heatmap, leaderboard_ranks
from analytics.stats import format_estimate
from analytics.verdicts import ACCURACY_CONVENTIONS
from dashboard.db import page_start
from dashboard.widgets import (
    chart,
    is_new,
    judge_card_link,
    pair_card,
    plain,
    selected_points,
    url_number,
    url_selectbox,
    url_toggle,
)

PAGE_SIZE = 10
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


fmt = format_estimate


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

# --- agreement heatmap ------------------------------------------------------------------------------------------
st.subheader("Who agrees with whom")
if len(judge_names) < 2:
    st.info("This dataset has a single judge: there is no agreement to show.")
else:
    event = chart(
        agreement_heatmap(rep["agreement"], judge_names, metric),
        key="agreement_chart",
        on_select="rerun",
        selection_mode="points",
    )
    cells = [f"{a['judge_1']} ~ {a['judge_2']}" for a in rep["agreement"]]
    points = selected_points(event, "agreement_chart")
    if points:  # a click on a cell opens its pairs below (and puts it in the link)
        point = points[0]
        j1, j2 = point.get("y"), point.get("x")
        picked = f"{j1} ~ {j2}" if f"{j1} ~ {j2}" in cells else f"{j2} ~ {j1}"
        if picked in cells:
            st.session_state["cell"] = picked
    ga = rep["all_judges"]
    st.caption(
        "All judges together: Fleiss' κ "
        + fmt(ga["fleiss_kappa"], False)
        + " · Krippendorff's α nominal "
        + fmt(ga["krippendorff_alpha_nominal"], False)
        + " · ordinal "
        + fmt(ga["krippendorff_alpha_ordinal"], False)
    )

# --- bias table --------------------------------------------------------------------------------------------------
st.subheader("How each judge is biased")
bias = J.bias_table(rep, convention)
# each judge's card (the judge across every dataset of the store), a relative link: it keeps any base path
bias.insert(1, "card", [f"judge?{urlencode({'dataset': dataset, 'name': j})}" for j in bias["judge"]])
show_fits = url_toggle("Show the regression fits", "fits", False, help="Length and style coefficients, unparsed counts")
selected = st.dataframe(
    bias,
    hide_index=True,
    key="bias_table",
    on_select="rerun",
    selection_mode="single-row",
    column_order=[c for c in bias.columns if show_fits or c not in J.FOLDED],
    column_config={
        "judge": st.column_config.TextColumn(pinned=True),
        "card": st.column_config.LinkColumn("card", display_text="across datasets ↗", help="The judge card"),
    },
)
st.caption(
    "Position: swap consistency and where inconsistent verdicts go, P(first shown wins). Length: P(longer "
    "preferred). "
    + (
        "Length fit: the logistic coefficient of the normalised length difference; style fit: the judge's verdicts "
        "regressed on Chatbot Arena's style features (z-scored) — not the leaderboard's Bradley–Terry style "
        f"coefficients, a joint model. A fit on fewer than {J.MIN_FIT_PAIRS} decided pairs, or with an interval "
        f"wider than {J.MAX_FIT_WIDTH:g}, is marked not estimable. "
        if show_fits
        else ""
    )
    + "Click a row to open the pairs whose verdict flipped with the order."
)
sel_rows = list(selected.selection.rows) if selected is not None else []
if sel_rows and is_new("bias_table", sel_rows):  # a new row click, not a kept selection
    st.session_state["cell"] = bias.iloc[sel_rows[0]]["judge"]

by_subset = J.subset_accuracy_table(rep, convention)
if not by_subset.empty:
    st.markdown(f"**Accuracy in each subset** ({ACCURACY_CONVENTIONS[convention][1]})")
    st.dataframe(by_subset, hide_index=True, column_config={"judge": st.column_config.TextColumn(pinned=True)})
    st.caption(
        f"{J.SUBSET_MEAN_COLUMN}: the unweighted mean of the subsets' accuracies, as papers average them "
        "(interval: each subset resampled within itself); pooled: every pair of the group counted once."
    )

# --- group disagreement ------------------------------------------------------------------------------------------
groups = rep["disagreement_by_group"]  # computed with the report, per group column
if groups and len(judge_names) >= 2:
    st.subheader("Where judges disagree")
    group_by = url_selectbox("Group by", list(groups), "group")
    records = groups[group_by]
    if rep["reference"] in judge_names and url_toggle(
        f"Only judge pairs with the reference ({plain(rep['reference'])})", "with_ref", True
    ):
        records = [r for r in records if rep["reference"] in (r["judge_1"], r["judge_2"])]
    group_event = chart(
        group_heatmap(records, f"Disagreement by {group_by} × judge pair"),
        key="groups_chart",
        on_select="rerun",
        selection_mode="points",
    )
    clicked = selected_points(group_event, "groups_chart")
    if clicked:  # a click on a cell opens the pairs that judge pair split on within that group
        pair, group = (clicked[0].get("customdata") or [None, None])[:2]
        if pair:
            st.session_state["cell"], st.session_state["in"] = pair, group
else:
    group_by = None

# --- leaderboards ------------------------------------------------------------------------------------------------
boards = rep.get("leaderboards") or {}
ranked: list[str] = []  # the shown leaderboard's generators: a click on one opens its pairs below
board_judge = None
if boards:
    st.subheader("Generator leaderboards")
    board_judges = list(boards)
    official = rep.get("official_judge")
    board_judge = url_selectbox(
        "Judged by",
        board_judges,
        "board",
        default=official or board_judges[0],
        format_func=lambda j: f"{j} · upstream's official evaluator" if j == official else j,
    )
    board = boards[board_judge]
    table = J.leaderboard_table(board)
    if table.empty:
        st.info(f"{plain(board_judge)} compared no two generators here.")
    else:
        ranked = list(table["generator"])
        ranks_event = chart(
            leaderboard_ranks(
                table, J.RANKINGS, f"Ranks judged by {board_judge}: raw → LC → style-controlled", J.RANKING_CONVENTIONS
            ),
            key="ranks_chart",
            on_select="rerun",
            selection_mode="points",
        )
        clicked = selected_points(ranks_event, "ranks_chart")
        if clicked and (clicked[0].get("customdata") or [None])[0] in ranked:
            st.session_state["cell"] = GENERATOR_MARK + clicked[0]["customdata"][0]
        st.dataframe(
            J.leaderboard_display(table),
            hide_index=True,
            column_config={"generator": st.column_config.TextColumn(pinned=True)},
        )
        notes = []
        if board.get("baseline"):
            notes.append(
                f"Baseline **{plain(board['baseline'])}** (in every pair this judge decided) is left out of the "
                "ranking."
            )
        if table["lc_minus_published"].notna().any():
            worst = table.loc[table["lc_minus_published"].abs().idxmax()]
            notes.append(
                f"Published values: upstream's leaderboard for this evaluator; our LC differs from it by at most "
                f"{abs(worst['lc_minus_published']):.1f} points ({plain(worst['generator'])}); the LC convention "
                "below says why."
            )
        style = (board.get("bradley_terry_style") or {}).get("style_coefficients", {})
        if style:
            notes.append(
                "Style coefficients of the BT fit (z-scored features): "
                + ", ".join(f"{plain(k)} {fmt(v, False)}" for k, v in style.items())
            )
        for note in notes:
            st.caption(note)

# --- the pairs behind a number -----------------------------------------------------------------------------------
st.subheader("The pairs behind a number")
cells = [f"{a['judge_1']} ~ {a['judge_2']}" for a in rep["agreement"]]
choices = ["(none)", *cells, *judge_names, *(GENERATOR_MARK + g for g in ranked)]
reversed_cells = {f"{c.partition(' ~ ')[2]} ~ {c.partition(' ~ ')[0]}": c for c in cells}  # either order opens it


def cell_label(choice: str) -> str:
    if choice.startswith(GENERATOR_MARK):
        return f"{choice.removeprefix(GENERATOR_MARK)} · its pairs judged by {board_judge}"
    return choice


cell = url_selectbox(
    "Open",
    choices,
    "cell",
    aliases=reversed_cells,
    format_func=cell_label,
    help="A judge pair opens the pairs they decided differently; a single judge opens the pairs "
    "whose verdict changed when the order was swapped; a generator, its pairs the leaderboard's judge decided. "
    "Clicking a heatmap cell, a table row or a leaderboard point selects it too.",
)
if cell != "(none)":
    generator = cell.removeprefix(GENERATOR_MARK) if cell.startswith(GENERATOR_MARK) else None
    for name in [] if generator else cell.split(" ~ "):
        judge_card_link(dataset, name)
    only = url_toggle("Only the pairs it lost" if generator else "Only disagreements", "only", True)
    group_values = [ALL]
    if group_by:
        group_values += sorted({str(r["group"]) for r in groups[group_by]} - {"(none)"})
    in_group = url_selectbox(f"Within {plain(group_by)}", group_values, "in") if group_by else ALL
    ids, studied = J.pairs_of_cell(
        con, dataset, cell, board_judge, subset, group_by, None if in_group == ALL else in_group, only
    )
    pages = max(1, -(-len(ids) // PAGE_SIZE))
    st.caption(f"{len(ids):,} pairs")
    if ids:
        page = url_number("Page", "page", 1, 1, pages)
        shown = ids[(int(page) - 1) * PAGE_SIZE : int(page) * PAGE_SIZE]
        texts = reads.pairs_by_id(con, shown)
        verdicts = reads.pair_judgments(con, shown)
        compact = reads.pairs_summary(texts, verdicts, rep["reference"], studied)
        picked = st.dataframe(
            compact.style.map(
                lambda v: "color: #c23030; font-weight: 600" if str(v).endswith(reads.WRONG) else "",
                subset=compact.columns[2:],
            ),
            hide_index=True,
            key="pairs_table",
            on_select="rerun",
            selection_mode="single-row",
            column_order=[c for c in compact.columns if c != "pair"],
            column_config={"prompt": st.column_config.TextColumn(width="large", pinned=True)},
        )
        st.caption(
            f"Each judge's verdict over its runs; {reads.FLIPPED.strip()} preferred different responses in its two "
            f"orders; {reads.WRONG.strip()} not the reference's ({plain(rep['reference'] or 'none')}). Click a row "
            "to read the pair."
        )
        rows = list(picked.selection.rows) if picked is not None else []
        if rows and is_new("pairs_table", rows):
            st.query_params["open"] = compact.iloc[rows[0]]["pair"]
        opened = st.query_params.get("open", "")
        if opened in set(compact["pair"]):
            pair_card(texts[texts["pair_id"] == opened].iloc[0], verdicts)
        elif opened:
            st.caption("The pair in the link is not on this page of the list.")

with st.expander("Conventions"):
    for key, text in rep["conventions"].items():
        st.markdown(f"- **{key.replace('_', ' ')}**: {text}")
