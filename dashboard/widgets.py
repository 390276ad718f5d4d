"""Small render helpers shared by the pages. Texts from datasets are always shown as text, never as HTML."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analytics.pages import Section
from analytics.reads import verdict_table
from analytics.viewstate import link_params, params_of

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$=^&\"'])")
# GFM turns bare addresses into links after parsing, whatever was escaped: a word joiner (invisible) breaks them up
_AUTOLINK = re.compile(r"(?i)(?<=:)(?=//)|(?<=www)(?=\.)|(?<=@)")


def plain(value: object, limit: int = 200) -> str:
    """A value from a link, a file or a dataset made safe to put inside markdown: every character markdown,
    Streamlit's directives (`:red[…]`, `:material/…:`) or LaTeX (`$`) could read is backslash-escaped, line breaks
    become spaces, long values are cut (with an ellipsis), and addresses get an invisible word joiner so they are not
    made links: the value always shows as its literal text."""
    text = " ".join(str(value).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _AUTOLINK.sub("\u2060", text))


VIEW_LINK = "_view_link"  # session key of {"link": ...}: the link of the view on screen (dashboard.share keeps it)


def presenting() -> bool:
    """Presentation mode (?present=true): large type, no controls; the view is whatever the link says."""
    return st.query_params.get("present") == "true"


def chart(fig: Any, key: str, **kwargs: Any) -> Any:
    """A plotly figure as on screen (one template, theme off) with PNG / SVG / HTML exports drawn from the same
    figure; exports are made only when clicked."""
    from analytics.report import figure_html, figure_image, with_footer

    if presenting():  # a meeting's screen: the figure's own text as large as the page's (a copy: figures may be cached)
        fig = go.Figure(fig).update_layout(font=dict(size=20), title_font=dict(size=24))
    event = st.plotly_chart(fig, theme=None, key=key, **kwargs)
    if not presenting():
        view = st.session_state.get(VIEW_LINK, {})  # the share panel's: the link on screen when the export is made

        def labelled() -> go.Figure:
            return with_footer(fig, f"prefatlas · {view['link']}" if view.get("link") else "")

        exports = (
            ("PNG", "png", "image/png", lambda: figure_image(labelled(), "png")),
            ("SVG", "svg", "image/svg+xml", lambda: figure_image(labelled(), "svg")),
            ("HTML", "html", "text/html", lambda: figure_html(labelled())),
        )
        with st.popover("Export figure", icon=":material/download:"):
            for label, suffix, mime, make in exports:
                st.download_button(
                    label, data=make, file_name=f"{key}.{suffix}", mime=mime, on_click="ignore", key=f"{key}_{suffix}"
                )
    return event


def is_new(key: str, selection: Any) -> bool:
    """Whether a widget's selection differs from the one seen on the last call for `key` (and remember it): a
    chart or table keeps its selection across reruns, and a kept one must not undo what the user did since (a
    control changed, a selection cleared)."""
    seen = repr(selection)
    if st.session_state.get(f"_seen_{key}") == seen:
        return False
    st.session_state[f"_seen_{key}"] = seen
    return True


def selected_points(event: Any, key: str | None = None) -> list[dict]:
    """The points of a plotly chart's selection event (a click or a lasso), whichever shape Streamlit returns. With
    `key`, only a selection not seen before (is_new)."""
    if isinstance(event, dict):
        points = (event or {}).get("selection", {}).get("points", [])
    else:
        points = list(getattr(getattr(event, "selection", None), "points", []) or [])
    return points if key is None or is_new(key, points) else []


def _seed(key: str, default: Any, parse: Callable[[str], Any], label: str) -> None:
    """First run of a widget in this session: take its value from the URL, or the default with a visible notice
    when the URL's value is not valid."""
    if key in st.session_state:
        return
    raw = st.query_params.get(key)
    value = None if raw is None else parse(raw)
    if raw is not None and value is None:
        st.warning(f"{label} “{plain(raw)}” from the link is not available here; showing the default instead.")
    st.session_state[key] = default if value is None else value


def _write(key: str, default: Any, dump: Callable[[Any], str] = str, keep_default: bool = False) -> None:
    """Put the widget's value in the URL (defaults are left out, so equal views give equal links)."""
    value = st.session_state.get(key)
    if value is None or (value == default and not keep_default):
        if key in st.query_params:
            del st.query_params[key]
    elif st.query_params.get(key) != dump(value):
        st.query_params[key] = dump(value)


def url_selectbox(
    label: str,
    options: list[str],
    key: str,
    format_func: Callable[[Any], str] = str,
    aliases: dict[str, str] | None = None,
    default: str | None = None,
    keep_default: bool = False,
    **kwargs: Any,
) -> str:
    """A selectbox whose value lives in the URL under `key` (the default, first option unless given, is left out
    unless keep_default). `aliases` map other spellings of a value (e.g. a judge pair in the other order) to it."""
    default = options[0] if default is None else default

    def parse(raw: str) -> str | None:
        raw = (aliases or {}).get(raw, raw)
        return raw if raw in options else None

    _seed(key, default, parse, label)
    if st.session_state[key] not in options:  # options changed (another dataset): back to the default
        st.session_state[key] = default
    if presenting():
        _write(key, default, keep_default=keep_default)
        return st.session_state[key]
    value = st.selectbox(
        label,
        options,
        key=key,
        format_func=format_func,
        on_change=lambda: _write(key, default, keep_default=keep_default),
        **kwargs,
    )
    _write(key, default, keep_default=keep_default)
    return value


def url_multiselect(label: str, options: list[str], key: str, default: list[str], **kwargs: Any) -> list[str]:
    """A multiselect kept in the URL as repeated parameters (?key=a&key=b); the default set is left out."""
    if key not in st.session_state:
        raw = st.query_params.get_all(key)
        valid = [v for v in raw if v in options]
        if len(valid) < len(raw):
            bad = ", ".join(f"“{plain(v)}”" for v in raw if v not in options)
            st.warning(f"{label} {bad} from the link not available here; left out.")
        st.session_state[key] = valid or default
    else:
        st.session_state[key] = [v for v in st.session_state[key] if v in options] or default

    def write_back() -> None:
        chosen = st.session_state[key]
        if sorted(chosen) == sorted(default):
            if key in st.query_params:
                del st.query_params[key]
        elif st.query_params.get_all(key) != chosen:
            st.query_params[key] = chosen

    if presenting():
        write_back()
        return st.session_state[key]
    value = st.multiselect(label, options, key=key, on_change=write_back, **kwargs)
    write_back()
    return value


def url_toggle(label: str, key: str, default: bool, **kwargs: Any) -> bool:
    def parse(raw: str) -> bool | None:
        return {"true": True, "false": False}.get(raw.lower())

    _seed(key, default, parse, label)
    if presenting():
        _write(key, default, lambda v: str(v).lower())
        return st.session_state[key]
    value = st.toggle(label, key=key, on_change=lambda: _write(key, default, lambda v: str(v).lower()), **kwargs)
    _write(key, default, lambda v: str(v).lower())
    return value


def url_number(label: str, key: str, default: int, low: int, high: int, **kwargs: Any) -> int:
    def parse(raw: str) -> int | None:
        try:
            number = int(raw)
        except ValueError:
            return None
        return number if low <= number <= high else None

    _seed(key, default, parse, label)
    if not low <= st.session_state[key] <= high:
        st.session_state[key] = default
    if presenting():
        _write(key, default)
        return int(st.session_state[key])
    value = st.number_input(
        label, min_value=low, max_value=high, step=1, key=key, on_change=lambda: _write(key, default), **kwargs
    )
    _write(key, default)
    return int(value)


def context_turns(context: str) -> list[tuple[str, str]]:
    """(role, text) of the earlier turns: the JSON list of {role, content} the adapters write, or, for a context
    a mapping brought as plain text (or any other JSON), the whole of it as one turn."""
    try:
        turns = json.loads(context)
    except ValueError:
        return [("context", context)]
    if isinstance(turns, list) and all(isinstance(t, dict) for t in turns):
        return [(str(t.get("role", "?")), str(t.get("content", ""))) for t in turns]
    return [("context", context)]


def code_height(text: str, cap: int, chars_per_line: int = 90) -> int:
    """Pixels a wrapped text block needs (its lines, long ones counted as the lines they wrap to), up to `cap`:
    a one-line prompt of 400 characters is four lines, not one clipped line."""
    lines = sum(1 + len(line) // chars_per_line for line in (text or "").split("\n"))
    return min(cap, 24 + 22 * lines)


def pair_card(pair: pd.Series, verdicts: pd.DataFrame) -> None:
    """A pair side by side: the prompt (and earlier turns), both responses with their generators and lengths, and
    every judge's verdict in each order it was shown."""
    label = " · ".join(plain(x) for x in (pair["subset"], pair["category"]) if isinstance(x, str))
    with st.container(border=True):
        st.markdown(f"**Prompt** {('· ' + label) if label else ''}")
        if isinstance(pair["context"], str) and pair["context"]:
            with st.expander("Earlier turns"):
                for role, content in context_turns(pair["context"]):
                    st.text(f"{role}: {content}")
        st.code(pair["prompt"], language=None, wrap_lines=True, height=code_height(pair["prompt"], 200))
        left, right = st.columns(2)
        for side, col in (("a", left), ("b", right)):
            model = pair[f"model_{side}"]
            text = pair[f"response_{side}"]
            col.markdown(
                f"**Response {side.upper()}**"
                + (f" — {plain(model)}" if isinstance(model, str) else "")
                + (f" · {len(text):,} characters" if text else " · :orange[empty: the model answered nothing]")
            )
            col.code(text, language=None, wrap_lines=True, height=260 if text else 40)
        table = verdict_table(verdicts[verdicts["pair_id"] == pair["pair_id"]], pair["model_a"], pair["model_b"])
        st.dataframe(table, hide_index=True)
        st.caption(f"pair {plain(pair['pair_id'])} · {plain(pair['source_file'])} row {plain(pair['source_row'])}")


def judge_card_link(dataset: str, judge: str) -> None:
    """A link to a judge's card (the judge across every dataset of the store), in this tab."""
    st.page_link(
        "views/judge.py",
        label=f"{judge} across every dataset",
        icon=":material/badge:",
        query_params={"dataset": dataset, "name": judge},
    )


def view_params(page: str) -> dict[str, object]:
    """The view's parameters this run, as a link holds them: a control's value where this session has one (set by
    the control or a click before this run), else the URL's. The page's content is computed from them, as its
    report computes it from the link."""
    values: dict[str, object] = {"dataset": st.session_state.get("dataset")}
    for name, param in params_of(page).items():
        if name in st.session_state:
            values[name] = st.session_state[name]
        elif param.kind == "list" and st.query_params.get_all(name):
            values[name] = st.query_params.get_all(name)
        elif name in st.query_params:
            values[name] = st.query_params[name]
    return link_params(page, values)


def by_key(sections: list[Section]) -> dict[str, Section]:
    return {s.key: s for s in sections}


def selection_rows(key: str) -> list[int]:
    """The rows selected in a table's last selection event (in the session before the table is drawn again)."""
    event = st.session_state.get(key) or {}
    return list((event.get("selection") or {}).get("rows", [])) if isinstance(event, dict) else []


def show(section: Section | None, heading: bool | str = True, **kwargs: Any) -> Any:
    """Draw one section of a page's content as its report prints it: heading (a subheader; "small": bold text;
    False: none, the view titled it), body, note. A figure goes through chart() (exports, clicks: kwargs); a table
    through st.dataframe (`data=` a styled or widened copy of it; its hidden columns left out of view); a message as
    a notice, an exception as a warning. Returns the chart's or table's selection event."""
    if section is None:
        return None
    if heading == "small":
        st.markdown(f"**{plain(section.heading, 300)}**")
    elif heading:
        st.subheader(plain(section.heading, 300))
    event = None
    key = kwargs.pop("key", section.key)
    if isinstance(section.body, go.Figure):
        event = chart(section.body, key=key, **kwargs)
    elif isinstance(section.body, pd.DataFrame):
        data = kwargs.pop("data", section.body)
        columns = getattr(data, "data", data).columns  # a Styler holds its frame in .data
        kwargs.setdefault("hide_index", True)
        kwargs.setdefault("column_order", [c for c in columns if c not in section.hidden])
        event = st.dataframe(data, key=key, **kwargs)
    elif isinstance(section.body, Exception):
        st.warning(plain(section.body, 2000))
    else:
        st.info(plain(section.body, 2000))
    if section.note:
        st.caption(plain(section.note, 4000))
    return event
