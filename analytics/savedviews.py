"""Saved views: a title and a note attached to a link, in order: a meeting's agenda. Kept beside the store's caches
(the dashboard opens the store read-only), one JSON list, replaced atomically. Each view has an id, so editing,
moving or deleting one names it, not a position another visitor may have changed meanwhile."""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from analytics.catalog import default_cache
from analytics.viewstate import is_web_link

MAX_TITLE, MAX_NOTE, MAX_NAME = 200, 2000, 80
MAX_VIEWS = 500  # one team's agenda, not a place to store data: beyond this a save is refused with a message


def _path() -> Path:
    return default_cache() / "saved_views.json"


def list_views() -> list[dict]:
    """The saved views; entries that are not well formed, or whose link is not an http(s) link, are left out (the
    file may have been edited by hand)."""
    try:
        views = json.loads(_path().read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return []
    if not isinstance(views, list):
        return []
    kept = [
        v
        for v in views
        if isinstance(v, dict) and isinstance(v.get("title"), str) and is_web_link(str(v.get("link", "")))
    ]
    for k, view in enumerate(kept):  # a file written before views had ids: a stable one from its content
        if not isinstance(view.get("id"), str):
            view["id"] = uuid.uuid5(uuid.NAMESPACE_URL, f"{k}|{view['title']}|{view['link']}").hex[:12]
    return kept


def _write(views: list[dict]) -> None:
    path = _path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as tmp:
        json.dump(views, tmp, indent=1)
    os.replace(tmp.name, path)


def _position(views: list[dict], view_id: str) -> int:
    for k, view in enumerate(views):
        if view["id"] == view_id:
            return k
    raise ValueError("that saved view is gone (removed by someone else?); reload the page")


def edit_view(view_id: str, title: str, note: str) -> dict:
    """Change a saved view's title and note (the link stays: it is what was saved)."""
    title = title.strip()[:MAX_TITLE]
    if not title:
        raise ValueError("a saved view needs a title")
    views = list_views()
    view = views[_position(views, view_id)]
    view["title"], view["note"] = title, note.strip()[:MAX_NOTE]
    _write(views)
    return view


def move_view(view_id: str, step: int) -> int:
    """Move a saved view `step` places (negative: earlier) in the agenda, within its ends; its new position."""
    views = list_views()
    k = _position(views, view_id)
    to = min(max(k + step, 0), len(views) - 1)
    views.insert(to, views.pop(k))
    _write(views)
    return to


def delete_view(view_id: str) -> None:
    views = list_views()
    views.pop(_position(views, view_id))
    _write(views)


def save_view(title: str, note: str, link: str, saved_by: str | None = None) -> dict:
    """Add a view (title required; lengths and count capped) with who saved it and when, and return it."""
    title = title.strip()[:MAX_TITLE]
    if not title:
        raise ValueError("a saved view needs a title")
    if not is_web_link(link) or len(link) > 8000:
        raise ValueError("only http(s) links (up to 8000 characters) can be saved")
    views = list_views()
    if len(views) >= MAX_VIEWS:
        raise ValueError(f"the agenda holds {MAX_VIEWS} saved views already; remove some before saving more")
    view = {
        "id": uuid.uuid4().hex[:12],
        "title": title,
        "note": note.strip()[:MAX_NOTE],
        "link": link,
        "saved_by": (saved_by or "").strip()[:MAX_NAME] or None,
        "saved_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    _write([*views, view])
    return view


def presenting_link(view: dict) -> str:
    """A saved view's link in presentation mode, as a step of the agenda (present=true&agenda=ID): the dashboard then
    shows previous / next / exit around it."""
    parts = urlsplit(view["link"])
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ("present", "agenda")]
    return urlunsplit(parts._replace(query=urlencode([*query, ("present", "true"), ("agenda", view["id"])])))


def agenda_step(view_id: str) -> tuple[int, list[dict]] | None:
    """(position of the view, the whole agenda) for a presentation's step; None when the view is gone."""
    views = list_views()
    try:
        return _position(views, view_id), views
    except ValueError:
        return None
