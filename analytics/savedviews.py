"""Saved views: a title and a note attached to a link, for a meeting's agenda. Kept beside the store's caches (the
dashboard opens the store read-only), one JSON list, replaced atomically."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

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
    return [
        v
        for v in views
        if isinstance(v, dict) and isinstance(v.get("title"), str) and is_web_link(str(v.get("link", "")))
    ]


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
        "title": title,
        "note": note.strip()[:MAX_NOTE],
        "link": link,
        "saved_by": (saved_by or "").strip()[:MAX_NAME] or None,
        "saved_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    views = [*views, view]
    path = _path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as tmp:
        json.dump(views, tmp, indent=1)
    os.replace(tmp.name, path)
    return view
