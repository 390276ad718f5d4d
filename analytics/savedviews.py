"""Saved views: a title and a note attached to a link, in order: a meeting's agenda. The agenda belongs to its store:
one JSON list in a file beside the store's file (`prefatlas.duckdb` → `prefatlas.agenda.json`), replaced atomically,
and carried by `prefatlas export-store` / `import-store` with the datasets its views show. Not a table inside the
DuckDB file: the dashboard reads the store without a write lock (an ingest may run meanwhile), and a meeting's
edits must not close every session's connection. Each view has an id, so editing, moving or deleting one names it,
not a position another visitor may have changed meanwhile."""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from analytics.catalog import default_cache
from analytics.store import default_store_path
from analytics.viewstate import is_web_link

MAX_TITLE, MAX_NOTE, MAX_NAME = 200, 2000, 80
MAX_VIEWS = 500  # one team's agenda, not a place to store data: beyond this a save is refused with a message


def agenda_path(store: Path | None = None) -> Path:
    """The agenda file of a store (default: the store the dashboard and the CLI open)."""
    store = Path(store) if store is not None else default_store_path()
    return store.with_name(f"{store.stem}.agenda.json")


def _legacy_path() -> Path:
    return default_cache() / "saved_views.json"  # where agendas lived before they moved beside their store


def list_views(store: Path | None = None) -> list[dict]:
    """The saved views; entries that are not well formed, or whose link is not an http(s) link, are left out (the
    file may have been edited by hand)."""
    path = agenda_path(store)
    if not path.exists() and store is None and _legacy_path().exists():
        path = _legacy_path()  # read where an older prefatlas wrote it; the next change writes it beside the store
    try:
        views = json.loads(path.read_text(encoding="utf-8"))
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


def _write(views: list[dict], store: Path | None = None) -> None:
    path = agenda_path(store)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as tmp:
            json.dump(views, tmp, indent=1)
        os.replace(tmp.name, path)
    except OSError as exc:
        raise ValueError(f"the agenda could not be written beside the store ({path}): {exc.strerror or exc}") from None


def _position(views: list[dict], view_id: str) -> int:
    for k, view in enumerate(views):
        if view["id"] == view_id:
            return k
    raise ValueError("that saved view is gone (removed by someone else?); reload the page")


def edit_view(view_id: str, title: str, note: str, store: Path | None = None) -> dict:
    """Change a saved view's title and note (the link stays: it is what was saved)."""
    title = title.strip()[:MAX_TITLE]
    if not title:
        raise ValueError("a saved view needs a title")
    views = list_views(store)
    view = views[_position(views, view_id)]
    view["title"], view["note"] = title, note.strip()[:MAX_NOTE]
    _write(views, store)
    return view


def move_view(view_id: str, step: int, store: Path | None = None) -> int:
    """Move a saved view `step` places (negative: earlier) in the agenda, within its ends; its new position."""
    views = list_views(store)
    k = _position(views, view_id)
    to = min(max(k + step, 0), len(views) - 1)
    views.insert(to, views.pop(k))
    _write(views, store)
    return to


def delete_view(view_id: str, store: Path | None = None) -> None:
    views = list_views(store)
    views.pop(_position(views, view_id))
    _write(views, store)


def save_view(title: str, note: str, link: str, saved_by: str | None = None, store: Path | None = None) -> dict:
    """Add a view (title required; lengths and count capped) with who saved it and when, and return it."""
    title = title.strip()[:MAX_TITLE]
    if not title:
        raise ValueError("a saved view needs a title")
    if not is_web_link(link) or len(link) > 8000:
        raise ValueError("only http(s) links (up to 8000 characters) can be saved")
    views = list_views(store)
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
    _write([*views, view], store)
    return view


def presenting_link(view: dict) -> str:
    """A saved view's link in presentation mode, as a step of the agenda (present=true&agenda=ID): the dashboard then
    shows previous / next / exit around it."""
    parts = urlsplit(view["link"])
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ("present", "agenda")]
    return urlunsplit(parts._replace(query=urlencode([*query, ("present", "true"), ("agenda", view["id"])])))


def agenda_step(view_id: str, store: Path | None = None) -> tuple[int, list[dict]] | None:
    """(position of the view, the whole agenda) for a presentation's step; None when the view is gone."""
    views = list_views(store)
    try:
        return _position(views, view_id), views
    except ValueError:
        return None


def views_of_datasets(views: list[dict], datasets: list[str]) -> list[dict]:
    """The saved views whose link shows one of `datasets` (what an export of those datasets carries)."""
    wanted = set(datasets)
    return [v for v in views if dict(parse_qsl(urlsplit(v["link"]).query)).get("dataset") in wanted]


def merge_views(views: list[dict], store: Path | None = None) -> int:
    """Append saved views (an imported agenda) to a store's agenda, leaving out those it holds already (same id);
    how many were added."""
    present = list_views(store)
    known = {v["id"] for v in present}
    added = [v for v in views if isinstance(v, dict) and v.get("id") not in known and is_web_link(str(v.get("link")))]
    if added:
        _write([*present, *added][:MAX_VIEWS], store)
    return len(added)
