"""Who may see a served instance: Host names, the shared access token, and bounded, attributed saved views."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from analytics import savedviews
from analytics.adapters import pandalm
from analytics.savedviews import list_views, save_view
from analytics.store import connect, write_batch
from analytics.viewstate import LOCAL_HOSTS, host_allowed

from conftest import ROOT
from fixtures import write_pandalm

APP = str(ROOT / "dashboard" / "app.py")


@pytest.mark.parametrize(
    ("host", "allowed", "ok"),
    [
        ("127.0.0.1:8501", list(LOCAL_HOSTS), True),
        ("localhost:8501", list(LOCAL_HOSTS), True),
        ("[::1]:8501", list(LOCAL_HOSTS), True),
        ("attacker.example:8501", list(LOCAL_HOSTS), False),  # DNS rebinding: a foreign name resolving to us
        ("127.0.0.1.attacker.example", list(LOCAL_HOSTS), False),
        ("team.example.org", [".example.org"], True),
        ("example.org", [".example.org"], True),
        ("example.org.evil", [".example.org"], False),
        ("anything", [], True),  # the operator allowed every name
        (None, list(LOCAL_HOSTS), True),  # not a browser request
    ],
)
def test_host_names_a_server_answers_for(host, allowed, ok):
    assert host_allowed(host, allowed) is ok


@pytest.fixture
def served(tmp_path, monkeypatch):
    con = connect(tmp_path / "s.duckdb")
    write_batch(con, pandalm.load(write_pandalm(tmp_path / "p")))
    con.close()
    monkeypatch.setenv("PREFATLAS_STORE", str(tmp_path / "s.duckdb"))
    return tmp_path


def test_a_token_is_asked_before_anything_is_shown(served, monkeypatch):
    monkeypatch.setenv("PREFATLAS_TOKEN", "correct horse battery")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Access token"]
    assert not at.dataframe and not at.selectbox, "no data before the token"
    at.text_input[0].input("wrong guess")  # a form's values are sent with its button
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["That is not the access token."]
    assert not at.dataframe
    at.text_input[0].input("correct horse battery")
    at.button[0].click().run()
    assert not at.exception
    assert at.selectbox and at.selectbox[0].value == "pandalm"
    assert at.dataframe, "the Overview shows once signed in"


def test_without_a_token_the_page_opens(served, monkeypatch):
    monkeypatch.delenv("PREFATLAS_TOKEN", raising=False)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception and at.selectbox[0].value == "pandalm"


def test_serve_refuses_a_short_token(tmp_path, capsys):
    from analytics import cli

    (tmp_path / "token").write_text("short\n")
    code = cli.main(
        ["serve", "--no-init", "--store", str(tmp_path / "s.duckdb"), "--token-file", str(tmp_path / "token")]
    )
    assert code == 2 and "at least 12 characters" in capsys.readouterr().err


def test_saved_views_are_attributed_and_bounded(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFATLAS_STORE", str(tmp_path / "s.duckdb"))
    monkeypatch.setattr(savedviews, "MAX_VIEWS", 3)
    save_view("one", "", "http://h/?dataset=x&v=1", saved_by="Ana")
    save_view("two", "", "http://h/?dataset=x&v=1")
    save_view("three", "", "http://h/?dataset=x&v=1", saved_by="  " + "B" * 200)
    assert [(v["title"], v["saved_by"]) for v in list_views()] == [("one", "Ana"), ("two", None), ("three", "B" * 80)]
    with pytest.raises(ValueError, match="holds 3 saved views already"):
        save_view("four", "", "http://h/?dataset=x&v=1")
    with pytest.raises(ValueError, match="8000"):
        save_view("long", "", "http://h/?q=" + "x" * 9000)
