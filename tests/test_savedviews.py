"""The agenda of saved views: ids, edits, moves, deletion, presentation links, files from before ids."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from analytics import savedviews as S


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFATLAS_CACHE", str(tmp_path))
    return tmp_path


def test_views_keep_their_id_through_edits_and_moves():
    for title in ("a", "b", "c"):
        S.save_view(title, "", f"http://h/judges?dataset=x&t={title}")
    ids = [v["id"] for v in S.list_views()]
    assert len(set(ids)) == 3
    S.edit_view(ids[1], "  b2 ", "a note")
    assert S.move_view(ids[1], 5) == 2  # beyond the end: the last place
    assert [(v["title"], v["id"]) for v in S.list_views()] == [("a", ids[0]), ("c", ids[2]), ("b2", ids[1])]
    assert S.move_view(ids[1], -1) == 1
    S.delete_view(ids[0])
    assert [v["title"] for v in S.list_views()] == ["b2", "c"]
    with pytest.raises(ValueError, match="gone"):
        S.edit_view(ids[0], "x", "")
    with pytest.raises(ValueError, match="needs a title"):
        S.edit_view(ids[1], "   ", "")


def test_a_file_from_before_ids_gets_stable_ones(cache):
    (cache / "saved_views.json").write_text(json.dumps([{"title": "old", "link": "http://h/?dataset=x"}]))
    first, again = S.list_views()[0]["id"], S.list_views()[0]["id"]
    assert first == again
    S.edit_view(first, "old, edited", "")  # the id a page showed still names the view
    assert S.list_views()[0] == {"title": "old, edited", "link": "http://h/?dataset=x", "note": "", "id": first}


def test_a_presentation_step_link_keeps_the_view_and_names_its_place():
    view = S.save_view("v", "", "http://h/p/judges?dataset=x&present=false&metric=kappa")
    link = urlsplit(S.presenting_link(view))
    assert link.path == "/p/judges"
    assert parse_qs(link.query) == {"dataset": ["x"], "metric": ["kappa"], "present": ["true"], "agenda": [view["id"]]}
    assert S.agenda_step(view["id"]) == (0, S.list_views())
    assert S.agenda_step("nope") is None
