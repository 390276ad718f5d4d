"""The one link builder: canonical form, URL prefixes, and reading links back."""

from __future__ import annotations

import pytest

from analytics.viewstate import VERSION, LinkError, canonical_query, page_link, parse_link


def test_canonical_form_sorts_drops_defaults_and_versions():
    query = canonical_query(
        "judges",
        {
            "metric": "agreement",
            "cell": "b ~ a",
            "dataset": "llmbar",
            "only": "true",
            "subset": "(all)",
            "unknown": "x",
            "page": "1",
        },
    )
    assert query == [("cell", "b ~ a"), ("dataset", "llmbar"), ("v", VERSION)]
    assert canonical_query("judges", {"metric": "kappa", "dataset": "d"}) == [
        ("dataset", "d"),
        ("metric", "kappa"),
        ("v", VERSION),
    ]


def test_lists_are_repeated_and_sorted():
    query = canonical_query("dissection", {"dataset": "d", "judges": ["z", "a"]})
    assert query == [("dataset", "d"), ("judges", "a"), ("judges", "z"), ("v", VERSION)]


def test_equal_views_give_equal_links():
    a = page_link("map", {"dataset": "d", "color": "rarity", "q": "cats"}, "http://h/")
    b = page_link("map", {"q": "cats", "color": "rarity", "dataset": "d", "page": 1}, "http://h/")
    assert a == b


@pytest.mark.parametrize("base", ["http://host:8501/", "http://host:8501/prefs/", "/", "/prefs"])
def test_links_work_behind_a_url_prefix(base):
    link = page_link("judges", {"dataset": "llmbar", "metric": "kappa"}, base)
    prefix = "/" + base.split("://")[-1].split("/", 1)[-1].strip("/") if "://" in base else base.rstrip("/")
    assert link.startswith(base.rstrip("/") + "/judges?")
    page, params = parse_link(link, prefix if prefix != "/" else "/")
    assert page == "judges" and params == {"dataset": "llmbar", "metric": "kappa"}


def test_overview_is_served_at_the_root():
    link = page_link("overview", {"dataset": "d", "sample": 3}, "http://h/")
    assert link == f"http://h/?dataset=d&sample=3&v={VERSION}"
    assert parse_link(link) == ("overview", {"dataset": "d", "sample": "3"})
    assert parse_link("http://h/overview?dataset=d&sample=3") == ("overview", {"dataset": "d", "sample": "3"})


def test_bad_links():
    with pytest.raises(LinkError, match="not a prefatlas page"):
        parse_link("http://h/admin?dataset=d")
    with pytest.raises(LinkError, match="names no dataset"):
        parse_link("http://h/judges?metric=kappa")
