"""Dissection: what each judge rewards (Preference Dissection weights with intervals), per group; judge similarity;
a per-pair explanation; and where a judge's preferences part from the reference's."""

from __future__ import annotations

import streamlit as st

from analytics import reads
from analytics.dissection import (
    OVERALL,
    PAIR_LISTS,
    Settings,
    design,
    dissect,
    group_names,
    judges_to_compare,
    reference_candidates,
)
from analytics.pages import dissection_choices, dissection_content
from dashboard.db import page_start
from dashboard.widgets import (
    by_key,
    judge_card_link,
    pair_card,
    plain,
    selected_points,
    show,
    url_multiselect,
    url_number,
    url_selectbox,
    url_toggle,
    view_params,
)

NO_GROUP = "(none)"

con, dataset = page_start()


@st.cache_resource(max_entries=2)  # shared by every session, never copied: large at a million pairs; read-only
def pair_design(_con, version: str, dataset: str, features: str):
    return design(_con, dataset, Settings(features=features))


@st.cache_data(show_spinner="Fitting the Bayesian logistic regressions…", max_entries=32)
def fits(_con, version: str, dataset: str, group: str | None, features: str) -> dict:
    # read from the result cache when computed before (an ingest computes the default); else fitted on the
    # design the server shares between sessions and with the comparison below
    return dissect(
        _con,
        dataset,
        group=group,
        settings=Settings(features=features),
        frames=lambda: pair_design(_con, version, dataset, features),
    )


version = reads.dataset_version(con, dataset)
st.title("Dissection")
st.caption(
    "What drives each judge's verdicts: a Bayesian logistic regression of its verdicts on property "
    "differences (Li et al., 2024). 100·σ(weight) = P(A preferred | A beats B on this property alone); "
    "50 = no effect. Bars are 95% posterior intervals."
)

group_options = [NO_GROUP, *group_names(con, dataset)]
c1, c2 = st.columns(2)
with c1:
    group_choice = url_selectbox(
        "Fit per", group_options, "group", help="A separate fit for each value of this column (and one over all pairs)."
    )
with c2:
    mode = url_selectbox(
        "Features",
        ["sign", "normalised"],
        "features",
        format_func=lambda m: {"sign": "sign of A − B (the paper)", "normalised": "normalised difference"}[m],
    )
group = None if group_choice == NO_GROUP else group_choice
try:
    result = fits(con, version, dataset, group, mode)
except ValueError as exc:
    st.error(plain(exc, 400))
    st.stop()

kinds = reads.judge_kinds(con, dataset)  # a small query, not the whole judgments table, on every rerun
choices = dissection_choices(result, kinds)
fitted_judges = choices["fitted"]
if not fitted_judges:
    st.info(f"No judge of {plain(dataset)} has {Settings().min_pairs} decided (non-tie) pairs: nothing to fit.")
    st.stop()
default_judges = choices["default_judges"]
url_multiselect("Judges", fitted_judges, "judges", default_judges)
groups_present = list(result["results"])
shown_group = url_selectbox("Group shown", groups_present, "g") if len(groups_present) > 1 else OVERALL


def apply_clicks() -> None:
    """Clicks since the last run, applied before the content is computed (it lists what they open)."""
    bar = selected_points(st.session_state.get("weights"), "weights")
    shown = [j for j in st.session_state.get("judges", default_judges) if j in result["results"][shown_group]]
    if bar:  # a judge's weight: the pairs behind it (and it goes in the link)
        curve, prop = bar[0].get("curve_number"), bar[0].get("customdata")
        if isinstance(curve, int) and 0 <= curve < len(shown) and isinstance(prop, str):
            st.query_params["wjudge"], st.query_params["prop"] = shown[curve], prop
    clicked = selected_points(st.session_state.get("weights_map"), "weights_map")
    if clicked:  # a judge's cell: that judge's comparison and pair explanation
        picked = (clicked[0].get("customdata") or [None])[0]
        if picked in fitted_judges:
            st.session_state["judge"] = picked


apply_clicks()
with st.spinner("Dissecting…"):
    sections = by_key(dissection_content(con, dataset, view_params("dissection")))
show(sections["weights"], heading=False, on_select="rerun", selection_mode="points")
with st.expander(sections["definitions"].heading):
    show(sections["definitions"], heading=False)

st.subheader(sections["heatmap"].heading)
c1, c2 = st.columns(2)
with c1:
    reference = url_selectbox("Reference", reference_candidates(fitted_judges, kinds), "ref")
with c2:
    url_toggle(
        "As the difference from the reference",
        "vs_ref",
        False,
        help="Each judge's weight minus the reference's: what it rewards beyond (red) or below (blue) it.",
    )
show(sections["heatmap"], heading=False, key="weights_map", on_select="rerun", selection_mode="points")

st.subheader(sections["similarity"].heading)
sim_groups = choices["similarity"]
if len(sim_groups) > 1:
    url_selectbox("Similarity for", sim_groups, "sim")
show(sections["similarity"], heading=False)

# --- attack surface ------------------------------------------------------------------------------------------------
st.subheader("What a judge rewards that the reference doesn't")
judge = url_selectbox(
    "Judge", judges_to_compare(fitted_judges, reference), "judge", help="Clicking a judge's cell above selects it too."
)
judge_card_link(dataset, judge)
show(sections.get("difference"), heading=False)

# --- the pairs behind a weight ----------------------------------------------------------------------------------
if "property_pairs" in sections:
    st.subheader(plain(sections["property_pairs"].heading))
    url_number("Page of pairs", "prop_page", 1, 1, 10_000)
    show(sections["property_pairs"], heading=False)

# --- per-pair explanation ------------------------------------------------------------------------------------------
explanation = sections["explanation"]
st.subheader(explanation.heading)
if "total" in explanation.meta:
    c1, c2 = st.columns([2, 1])
    lists = {k: v.replace("the reference", reference) for k, v in PAIR_LISTS.items()}
    with c1:
        url_selectbox("Pairs to explain", list(lists), "among", format_func=lists.get)
    total = explanation.meta["total"]
    with c2:
        url_number("Pair", "pair", 1, 1, max(total, 1), help=f"1 to {total:,}: {explanation.meta['among']}")
show(explanation, heading=False)  # the page's whole width
if "explained_pair" in sections:
    pair = sections["explained_pair"].body.iloc[0]
    pair_card(pair, reads.pair_judgments(con, [pair["pair_id"]]))

with st.expander("Conventions"):
    for key, text in result["conventions"].items():
        st.markdown(f"- **{key}**: {text}")
