"""Values that come from a link, a file or a dataset are shown as text and never become links, images or code:
markdown escaping, web-only links in reports and saved views, dataset names, the CLI's cache and pipes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from analytics import cli
from analytics.adapters import pandalm
from analytics.adapters.base import IngestError
from analytics.adapters.mapping import parse_mapping
from analytics.report import build_report
from analytics.savedviews import list_views, save_view
from analytics.store import check_dataset_name, connect, write_batch
from analytics.viewstate import LinkError, is_web_link, parse_link
from dashboard.widgets import plain

from conftest import ROOT
from fixtures import write_pandalm


@pytest.mark.parametrize(
    "value",
    [
        "![x](http://attacker.invalid/p.png)",
        "[click](http://attacker.invalid/phish)",
        ":red[fake] :material/warning: $x^2$ **bold** `code`",
        "<img src=x onerror=alert(1)>",
        "http://attacker.invalid/x www.attacker.invalid",
    ],
)
def test_plain_escapes_every_markdown_character(value):
    escaped = plain(value)
    # each special character is preceded by a backslash, so the markdown reads back the literal characters
    for i, ch in enumerate(escaped):
        if ch in "![]()`*_:$<>." and (i == 0 or escaped[i - 1] != "\\"):
            pytest.fail(f"unescaped {ch!r} at {i} in {escaped!r}")
    assert escaped.replace("\\", "").replace("\u2060", "") == value
    assert "://" not in escaped.replace("\\", "") and "www." not in escaped.replace("\\", "")  # no bare address


def test_plain_folds_lines_and_cuts_long_values():
    assert plain("a\n\n# b") == "a \\# b"
    long = plain("x" * 5000, limit=50)
    assert len(long) == 50 and long.endswith("…")


@pytest.mark.parametrize(
    ("link", "web"),
    [
        ("http://h/judges?dataset=x", True),
        ("https://lab.example.org/prefs/map?dataset=x", True),
        ("javascript://x/judges?dataset=x%0aalert(1)", False),
        ("JavaScript:alert(1)", False),
        ("data:text/html,<b>x</b>", False),
        ("/judges?dataset=x", False),
        ('http://h/judges?dataset=x"><script>', False),
    ],
)
def test_only_absolute_http_links_are_web_links(link, web):
    assert is_web_link(link) is web


def test_parse_link_refuses_other_schemes_but_reads_paths():
    with pytest.raises(LinkError, match="only http"):
        parse_link("javascript://x/judges?dataset=x%0aalert(1)")
    assert parse_link("/judges?dataset=x") == ("judges", {"dataset": "x"})


def test_report_links_back_only_to_web_links(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFATLAS_CACHE", str(tmp_path))
    con = connect(tmp_path / "s.duckdb")
    write_batch(con, pandalm.load(write_pandalm(tmp_path / "p")))
    document = build_report(con, "/judges?dataset=pandalm")
    con.close()
    assert "<a href" not in document.split("</h1>", 1)[1].split("</p>", 1)[0]  # a bare path is shown, not linked
    out = tmp_path / "r.html"
    code = cli.main(
        ["report", "--store", str(tmp_path / "s.duckdb"), "javascript://x/judges?dataset=pandalm", "-o", str(out)]
    )
    assert code == 2 and not out.exists()


@pytest.mark.parametrize("name", ["../../x", "x" * 81, "a\x00b", "o'brien", "", " lead", ".hidden", "a b", "a..b"])
def test_bad_dataset_names_are_refused(name):
    with pytest.raises(ValueError, match="not valid"):
        check_dataset_name(name)
    if name.strip() != name:
        return  # a mapping's name is read stripped
    raw = {"name": name or "?", "columns": {"prompt": "q", "response_a": "a", "response_b": "b"}}
    with pytest.raises(IngestError, match="name"):
        parse_mapping(raw)


@pytest.mark.parametrize("name", ["llmbar", "hh-rlhf-harmless-base", "alpaca_eval", "Study.v2", "x"])
def test_good_dataset_names_pass(name):
    assert check_dataset_name(name) == name


def test_saved_views_hold_only_web_links(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFATLAS_STORE", str(tmp_path / "s.duckdb"))
    with pytest.raises(ValueError, match="http"):
        save_view("t", "", "javascript:alert(1)")
    save_view("ok", "", "http://h/?dataset=x&v=1")
    agenda = tmp_path / "s.agenda.json"  # edited by hand: a link of another scheme and a stray value are left out
    agenda.write_text(agenda.read_text().replace("]", ', {"title": "bad", "link": "javascript:x"}, 5]'))
    assert [v["title"] for v in list_views()] == ["ok"]


def test_cli_honours_cache_and_survives_a_closed_pipe(tmp_path):
    """`--cache` reaches every cache; output into a reader that stops early ends quietly."""
    code = (
        "import os, sys; from analytics import cli; "
        "sys.exit(cli.main(['catalog', '--cache', sys.argv[1]]) or (os.environ['PREFATLAS_CACHE'] != sys.argv[1]))"
    )
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    pipe = subprocess.run(
        f"{sys.executable} -m analytics.cli catalog | head -c 10",
        shell=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert "Traceback" not in pipe.stderr and "BrokenPipe" not in pipe.stderr, pipe.stderr


@pytest.mark.parametrize(
    ("context", "turns"),
    [
        (
            '[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]',
            [("user", "hi"), ("assistant", "yo")],
        ),
        ("plain earlier text, not JSON", [("context", "plain earlier text, not JSON")]),
        ('{"a": 1}', [("context", '{"a": 1}')]),
        ("[1, 2]", [("context", "[1, 2]")]),
    ],
)
def test_context_in_any_form_is_shown_not_crashed_on(context, turns):
    from dashboard.widgets import context_turns

    assert context_turns(context) == turns


def test_stats_list_no_subset_for_a_dataset_without_subsets(tmp_path):
    from analytics.store import store_stats

    con = connect(tmp_path / "s.duckdb")
    write_batch(con, pandalm.load(write_pandalm(tmp_path / "p")))
    assert store_stats(con)["pandalm"]["subsets"] == {}
    con.close()
