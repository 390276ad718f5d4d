"""The sidebar's sharing block: the canonical link to what is on screen, a report of it, presentation mode, and
saving the view for a meeting's agenda."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from analytics.report import build_agenda_report, build_report, html_to_pdf
from analytics.savedviews import agenda_step, list_views, save_view
from analytics.viewstate import PAGES, PATH_TO_PAGE, LinkError, page_link, params_of, parse_link
from dashboard.access import visitor_name
from dashboard.db import StoreBusy, reading
from dashboard.export import export_button
from dashboard.widgets import VIEW_LINK, plain, presenting


def current_params(page: str) -> dict[str, object]:
    lists = {p.name for p in PAGES[page][1] if p.kind == "list"}
    return {k: (st.query_params.get_all(k) if k in lists else st.query_params.get(k)) for k in st.query_params}


def base_url(page_path: str) -> str:
    """The server's address with its URL prefix (st.context.url is the page's own address)."""
    url = (st.context.url or "").split("?")[0]
    if page_path and url.rstrip("/").endswith("/" + page_path):
        url = url.rstrip("/")[: -len(page_path)]
    return url if url.endswith("/") else url + "/"


def _base_path(base: str) -> str:
    return "/" + base.split("://", 1)[-1].split("/", 1)[-1] if "://" in base else "/"


def meeting_document_button() -> None:
    """A download of the whole agenda as one PDF (each saved view on its own pages, A4 landscape)."""
    base_path = _base_path(base_url("overview"))  # the Overview answers at / and at /overview

    def document() -> bytes:
        try:
            with reading(wait_s=30) as con:
                return html_to_pdf(build_agenda_report(con, list_views(), base_path))
        except StoreBusy:
            return b""

    st.download_button(
        "Meeting document (PDF)",
        data=document,
        file_name="prefatlas-meeting.pdf",
        mime="application/pdf",
        on_click="ignore",
        icon=":material/picture_as_pdf:",
        help="Every saved view in the agenda's order, each with its figures and tables (also: prefatlas report "
        "--agenda -o meeting.pdf)",
    )


def _report(link: str, base_path: str) -> str:
    try:
        with reading(wait_s=30) as con:  # a download runs outside the script run: its own lease on the store
            return build_report(con, link, base_path)
    except StoreBusy:
        return "<!doctype html><title>prefatlas</title><p>The store was being updated; download the report again.</p>"


def share_panel(page_path: str) -> Callable[[], None]:
    """Draw the block (before the page runs, so it is there even when a page stops early) and return what to call
    after the page: it redraws the link (and what uses it) when the page changed the URL during its run (a clicked
    cell, a search), so the sidebar always shows the view on screen."""
    page = PATH_TO_PAGE.get(page_path, "overview")
    base = base_url(page_path)

    def current() -> tuple[str, dict]:
        params = current_params(page)
        return page_link(page, params, base), params

    link, params = current()
    shown = {"link": link}  # the downloads (and the figures' exports) read it when clicked, after any redraw
    st.session_state[VIEW_LINK] = shown
    base_path = _base_path(base)
    with st.sidebar:
        st.divider()
        st.caption("Link to this view (copy with the button at its right)")
        link_slot = st.empty()
        link_slot.code(link, language=None, wrap_lines=True)
        name = f"prefatlas-{page}-{params.get('dataset', '')}"
        st.download_button(
            "Report (HTML)",
            data=lambda: _report(shown["link"], base_path),
            file_name=f"{name}.html",
            mime="text/html",
            on_click="ignore",
            icon=":material/article:",
        )
        st.download_button(
            "Report (PDF)",
            data=lambda: html_to_pdf(_report(shown["link"], base_path)),
            file_name=f"{name}.pdf",
            mime="application/pdf",
            on_click="ignore",
            icon=":material/picture_as_pdf:",
        )
        present_slot = st.empty()
        present_slot.link_button(
            "Presentation mode", page_link(page, {**params, "present": "true"}, base), icon=":material/slideshow:"
        )
        export_button(link, base_path, "The pairs this view shows (its filter, selection or region), through a recipe")
        with (
            st.popover("Save this view", icon=":material/bookmark_add:"),
            st.form("save_view", clear_on_submit=True, border=False),
        ):
            title = st.text_input("Title", max_chars=200)
            note = st.text_area("Note", max_chars=2000)
            signed_in = visitor_name()
            name = signed_in or st.text_input("Your name (optional)", max_chars=80)
            if st.form_submit_button("Save"):
                try:
                    save_view(title, note, link, name)
                    st.success("Saved: listed on the Overview page.")
                except ValueError as exc:
                    st.error(plain(exc, 400))

    def refresh(always: bool = False) -> None:
        now, now_params = current()
        if always or now != shown["link"]:
            shown["link"] = now
            link_slot.code(now, language=None, wrap_lines=True)
            present_slot.link_button(
                "Presentation mode",
                page_link(page, {**now_params, "present": "true"}, base),
                icon=":material/slideshow:",
            )

    st.session_state[_REFRESH] = refresh
    return refresh


_REFRESH = "_refresh_view_link"


def refresh_link() -> None:
    """Redraw the sidebar's link from inside a fragment (a map selection, a filter), whose reruns skip the frame that
    draws it. Drawn on every run of the fragment, full runs too: Streamlit lets a fragment rerun write to a container
    outside it only where it wrote in the last full run."""
    refresh = st.session_state.get(_REFRESH)
    if refresh is not None and not presenting():
        refresh(always=True)


def _go_to(view: dict, presenting: bool = True) -> None:
    """Open a saved view in this tab: a step of the agenda in presentation mode, or the view itself. Its page
    widgets forget their values first, so the view's link sets them (a step to the same page with other values
    would otherwise keep the last step's)."""
    try:  # read as every link is read (the server's URL prefix, the page's own parameters only)
        page, known = parse_link(view["link"], st.get_option("server.baseUrlPath") or "/")
    except LinkError as exc:
        st.error(plain(exc, 300))
        return
    params = {k: v if isinstance(v, list) else [str(v)] for k, v in known.items()}
    if presenting:
        params |= {"present": ["true"], "agenda": [view["id"]]}
    for name in params_of(page):
        st.session_state.pop(name, None)
    st.switch_page(f"views/{page}.py", query_params=params)


def agenda_bar() -> None:
    """In presentation mode: a way out, and on a step of the agenda (?agenda=ID) where we are, the view's title and
    note, and the previous and next views (in presentation mode too), all in this tab."""
    view_id = st.query_params.get("agenda")
    step = agenda_step(view_id) if view_id else None
    if step is None:
        if st.button("Exit presentation", icon=":material/close:"):
            del st.query_params["present"]
            st.rerun()
        return
    k, views = step
    view = views[k]
    back, where, forward, leave = st.columns([1, 6, 1, 1], vertical_alignment="center")
    with where:
        st.markdown(f"**{k + 1} / {len(views)} · {plain(view['title'])}**")
        if view.get("note"):
            st.caption(plain(view["note"], 600))
    if back.button("◀ Previous", disabled=k == 0, width="stretch"):
        _go_to(views[k - 1])
    if forward.button("Next ▶", disabled=k + 1 == len(views), width="stretch"):
        _go_to(views[k + 1])
    if leave.button("Exit", width="stretch"):
        _go_to(view, presenting=False)
