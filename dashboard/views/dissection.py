"""Dissection: what each judge rewards (Preference Dissection weights with intervals), per group; judge similarity;
a per-pair explanation; and where a judge's preferences part from the reference's."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics import reads
from analytics.dissection import (
    MEAN_OVER_GROUPS,
    OVERALL,
    PAIR_LISTS,
    Settings,
    contributions,
    decided_pair,
    design,
    difference_from_reference,
    dissect,
    features_of_pair,
    group_names,
    judges_to_compare,
    pairs_on_property,
    reference_candidates,
)
from analytics.figures import (
    difference_figure,
    dissection_figure,
    similarity_heatmap,
    waterfall_figure,
    weights_heatmap,
)
from dashboard.db import page_start
from dashboard.widgets import (
    chart,
    judge_card_link,
    pair_card,
    plain,
    selected_points,
    url_multiselect,
    url_number,
    url_selectbox,
    url_toggle,
)

NO_GROUP = "(none)"
PAGE_SIZE = 10

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


@st.cache_data(max_entries=32)
def attack_surface(_con, version: str, dataset: str, judge: str, reference: str, group: str, features: str):
    # read from the result cache when computed before (an ingest computes the default one); else fitted on the
    # design the server shares between sessions
    return difference_from_reference(
        _con,
        dataset,
        judge,
        reference,
        group,
        Settings(features=features),
        frames=lambda: pair_design(_con, version, dataset, features),
    )


@st.cache_data(max_entries=64)
def explained_pair(_con, version: str, dataset: str, judge: str, number: int, features: str, among: str, ref: str):
    found = decided_pair(_con, dataset, judge, number, among, ref)
    return None if found is None else (*found, features_of_pair(_con, found[0], Settings(features=features)))


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

fitted_judges = sorted({j for res in result["results"].values() for j in res})
if not fitted_judges:
    st.info(f"No judge of {plain(dataset)} has {Settings().min_pairs} decided (non-tie) pairs: nothing to fit.")
    st.stop()
kinds = reads.judge_kinds(con, dataset)  # a small query, not the whole judgments table, on every rerun
kind_order = {"gold": 0, "human": 1, "crowd": 2}  # the reference first, then the judges to compare with it
default_judges = sorted(fitted_judges, key=lambda j: (kind_order.get(kinds.get(j), 9), j))[:3]
chosen = url_multiselect("Judges", fitted_judges, "judges", default_judges)
groups_present = list(result["results"])
shown_group = url_selectbox("Group shown", groups_present, "g") if len(groups_present) > 1 else OVERALL

shown_fits = {j: result["results"][shown_group][j] for j in chosen if j in result["results"][shown_group]}
weights_event = chart(
    dissection_figure(shown_fits, f"What each judge rewards — {shown_group}"),
    key="weights",
    on_select="rerun",
    selection_mode="points",
)
bar = selected_points(weights_event, "weights")
if bar:  # a click on a judge's weight opens the pairs behind it below (and puts it in the link)
    curve, prop = bar[0].get("curve_number"), bar[0].get("customdata")
    if isinstance(curve, int) and 0 <= curve < len(shown_fits) and isinstance(prop, str):
        st.query_params["wjudge"], st.query_params["prop"] = list(shown_fits)[curve], prop
low_ess = [f"{plain(j)} ({fit['ess']:.0f})" for j, fit in result["results"][shown_group].items() if fit["ess"] < 100]
if low_ess:
    st.caption("Few effective samples (intervals less precise): " + ", ".join(low_ess))

with st.expander("Property definitions"):
    st.dataframe(
        pd.DataFrame([{"property": n, "definition": text} for n, text in result["definitions"].items()]),
        hide_index=True,
    )

st.subheader("All judges at once")
c1, c2 = st.columns(2)
with c1:
    reference = url_selectbox("Reference", reference_candidates(fitted_judges, kinds), "ref")
with c2:
    versus = url_toggle(
        "As the difference from the reference",
        "vs_ref",
        False,
        help="Each judge's weight minus the reference's: what it rewards beyond (red) or below (blue) it.",
    )
weights_event = chart(
    weights_heatmap(
        result["results"][shown_group],
        f"{'Beyond ' + reference if versus else 'What every judge rewards'} — {shown_group} "
        "(100·σ(w) − 50; * interval excludes 0)",
        reference if versus else None,
    ),
    key="weights_map",
    on_select="rerun",
    selection_mode="points",
)
clicked = selected_points(weights_event, "weights_map")
if clicked:  # a click on a judge's cell opens that judge's comparison and pair explanation below
    picked = (clicked[0].get("customdata") or [None])[0]
    if picked in judges_to_compare(fitted_judges, reference):
        st.session_state["judge"] = picked

st.subheader("Judge similarity")
sim_groups = sorted(result["similarity"], key=lambda g: g != MEAN_OVER_GROUPS)  # the paper's Overall first
sim_group = url_selectbox("Similarity for", sim_groups, "sim") if len(sim_groups) > 1 else sim_groups[0]
chart(
    similarity_heatmap(result["similarity"][sim_group], f"Pearson r of the weight vectors — {sim_group}"),
    key="similarity",
)

# --- attack surface ------------------------------------------------------------------------------------------------
st.subheader("What a judge rewards that the reference doesn't")
judge = url_selectbox(
    "Judge", judges_to_compare(fitted_judges, reference), "judge", help="Clicking a judge's cell above selects it too."
)
judge_card_link(dataset, judge)
if judge != reference:
    diff = attack_surface(con, version, dataset, judge, reference, shown_group, mode)
    if diff.empty:
        st.info("One of the two judges has too few decided pairs in this group.")
    else:
        chart(difference_figure(diff.head(10), judge, reference), key="difference")
        st.caption(
            "Properties whose interval excludes 0 are where the judge can be steered differently from the "
            "reference: its attack surface for preference manipulation."
        )

# --- the pairs behind a weight ----------------------------------------------------------------------------------
prop, weighed = st.query_params.get("prop", ""), st.query_params.get("wjudge", "")
if prop and weighed in fitted_judges:
    st.subheader(f"The pairs behind {weighed}'s weight on “{prop}”")
    try:
        number = url_number("Page of pairs", "prop_page", 1, 1, 10_000)
        ids, total, towards = pairs_on_property(con, dataset, weighed, prop, PAGE_SIZE, (number - 1) * PAGE_SIZE)
    except ValueError as exc:
        st.warning(plain(exc, 300))
        ids, total, towards = [], 0, 0
    if total:
        st.caption(
            f"{total:,} pairs {plain(weighed)} decided whose responses differ on {plain(prop)}; it preferred the one "
            f"with more in {towards:,} ({towards / total:.0%}). Those first, then the others."
        )
        texts = reads.pairs_by_id(con, ids)
        st.dataframe(
            reads.pairs_summary(texts, reads.pair_judgments(con, ids), reference, [weighed]),
            hide_index=True,
            column_order=None,
        )
    elif not ids:
        st.caption("No such pair.")

# --- per-pair explanation ------------------------------------------------------------------------------------------
st.subheader("Why this verdict? One pair, property by property")
overall_fit = result["results"][OVERALL].get(judge, {})
weights, n_decided = overall_fit.get("weights"), overall_fit.get("n", 0)
explained = None
if weights and n_decided:
    lists = {k: v.replace("the reference", reference) for k, v in PAIR_LISTS.items()}
    c1, c2 = st.columns([2, 1])
    with c1:
        among = url_selectbox("Pairs to explain", list(lists), "among", format_func=lists.get)
    first = explained_pair(con, version, dataset, judge, 1, mode, among, reference)
    total = first[2] if first else 0
    with c2:
        k = url_number("Pair", "pair", 1, 1, max(total, 1), help=f"1 to {total:,}: {lists[among]}")
    explained = explained_pair(con, version, dataset, judge, k, mode, among, reference) if total else None
    if not total:
        st.info(f"No pair of {plain(judge)} {plain(lists[among])}.")
if explained is not None:
    pair_id, verdict, _, ref_verdict, pair_features = explained
    table = contributions(weights, pair_features)
    texts = reads.pairs_by_id(con, [pair_id])
    model_a, model_b = texts.iloc[0]["model_a"], texts.iloc[0]["model_b"]
    said = reads.verdict_label(verdict, model_a, model_b)
    if ref_verdict is None or judge == reference:
        mark = ""
    else:
        right = "right" if ref_verdict == verdict else "wrong"
        mark = f" — {right}: {reference} preferred {reads.verdict_label(ref_verdict, model_a, model_b)}"
    chart(waterfall_figure(table, f"{judge} preferred {said}{mark}"), key="waterfall")  # the page's whole width
    pair_card(texts.iloc[0], reads.pair_judgments(con, [pair_id]))
elif not (weights and n_decided):
    st.info(f"{plain(judge)} has no fitted weights over all pairs.")

with st.expander("Conventions"):
    for key, text in result["conventions"].items():
        st.markdown(f"- **{key}**: {text}")
