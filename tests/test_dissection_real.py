"""Dissection on the real mirror: every judge with >= 50 decided pairs is fitted, and its length weight agrees in
sign with its length bias from the judge analytics (or both are indistinguishable from zero)."""

from __future__ import annotations

import pytest

from analytics import judges as J
from analytics.catalog import ingest_entry, load_catalog
from analytics.dissection import OVERALL, dissect
from analytics.properties import LENGTH_PROPERTY
from analytics.store import connect

pytestmark = pytest.mark.mirror


@pytest.fixture(scope="module")
def con(mirror, tmp_path_factory):
    path = tmp_path_factory.mktemp("dissect") / "store.duckdb"
    writer = connect(path)
    for name in ("llmbar", "pandalm", "judgebench"):
        ingest_entry(writer, load_catalog()[name], mirror=mirror)
    writer.close()
    reader = connect(path, read_only=True)
    yield reader
    reader.close()


@pytest.mark.parametrize("dataset", ["llmbar", "pandalm", "judgebench"])
def test_length_weight_agrees_with_length_bias(con, dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("PREFATLAS_CACHE", str(tmp_path))
    fits = dissect(con, dataset)["results"][OVERALL]
    report = J.judges_report(con, dataset, boot=100, leaderboards=False)
    checked = 0
    for entry in report["judges"]:
        decided = int((J.load_verdicts(con, dataset).wide[entry["judge"]].isin(["A", "B"])).sum())
        if decided < 50:
            continue
        assert entry["judge"] in fits, entry["judge"]  # every judge with >= 50 verdicts is dissected
        weight = fits[entry["judge"]]["weights"][LENGTH_PROPERTY]
        coef = entry["length"]["length_coefficient"]
        both_unclear = weight["low"] < 0 < weight["high"] and coef["low"] < 0 < coef["high"]
        assert both_unclear or (weight["mean"] > 0) == (coef["value"] > 0), (entry["judge"], weight, coef)
        checked += 1
    assert checked >= 5
