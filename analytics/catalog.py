"""The dataset catalog (data/catalog.toml): fetch each public dataset from a mirror or upstream, then ingest it."""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import tempfile
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from analytics.adapters import ADAPTERS
from analytics.adapters.base import IngestError
from analytics.store import IngestSummary, write_batch
from analytics.verdicts import ACCURACY_CONVENTIONS

REPO_ROOT = Path(__file__).resolve().parents[1]
CATALOG_PATH = REPO_ROOT / "data" / "catalog.toml"
DOWNLOAD_TIMEOUT_S = 30


class FetchError(RuntimeError):
    """A catalog file is neither in the mirror nor downloadable."""


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    title: str
    adapter: str
    licence: str
    upstream: str
    commit: str
    raw_base: str
    mirror_dir: str
    files: tuple[str, ...]
    default: bool = True
    licence_note: str | None = None
    pairs: int | None = None  # how many pairs the catalog's commit holds: far fewer means a truncated file
    accuracy_convention: str = "combined"  # how upstream scores a judge against the reference (judges.CONVENTIONS)
    official_judge: str | None = None  # the evaluator upstream ranks its generator leaderboard with


def load_catalog(path: Path = CATALOG_PATH) -> dict[str, CatalogEntry]:
    raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    entries = {}
    for d in raw.get("dataset", []):
        entry = CatalogEntry(
            name=d["name"],
            title=d["title"],
            adapter=d["adapter"],
            licence=d["licence"],
            upstream=d["upstream"],
            commit=d["commit"],
            raw_base=d["raw_base"],
            mirror_dir=d["mirror_dir"],
            files=tuple(d["files"]),
            default=d.get("default", True),
            licence_note=d.get("licence_note"),
            pairs=d.get("pairs"),
            accuracy_convention=d.get("accuracy_convention", "combined"),
            official_judge=d.get("official_judge"),
        )
        if entry.adapter not in ADAPTERS:
            raise ValueError(f"catalog {path}: dataset {entry.name} names unknown adapter {entry.adapter}")
        if entry.accuracy_convention not in ACCURACY_CONVENTIONS:
            raise ValueError(
                f"catalog {path}: dataset {entry.name} names unknown accuracy_convention {entry.accuracy_convention}; "
                f"one of {', '.join(ACCURACY_CONVENTIONS)}"
            )
        entries[entry.name] = entry
    return entries


def entry_of_dataset(con: duckdb.DuckDBPyConnection, dataset: str) -> CatalogEntry | None:
    """The catalog entry a stored dataset came from: by its name, else by its adapter (an upstream folder ingested
    under another name); None for a dataset read through a mapping or from Hugging Face."""
    entries = load_catalog()
    if dataset in entries:
        return entries[dataset]
    row = con.execute("SELECT adapter FROM datasets WHERE name = $d", {"d": dataset}).fetchone()
    return next((e for e in entries.values() if row and e.adapter == row[0]), None)


def default_plan(path: Path = CATALOG_PATH) -> dict:
    """The [defaults] of the catalog: which responses to embed and which extra maps to build."""
    return tomllib.loads(Path(path).read_text(encoding="utf-8")).get("defaults", {})


def default_mirror() -> Path | None:
    env = os.environ.get("PREFATLAS_MIRROR")
    return Path(env).expanduser() if env else None


def default_cache() -> Path:
    env = os.environ.get("PREFATLAS_CACHE")
    return Path(env).expanduser() if env else REPO_ROOT / "data" / "cache"


def _in_mirror(mirror: Path, entry: CatalogEntry, rel: str) -> Path | None:
    base = mirror / entry.mirror_dir / rel
    for candidate in (base, base.with_name(base.name + ".gz")):
        if candidate.is_file():
            return candidate
    return None


def _download(url: str, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        with (
            urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as resp,
            tempfile.NamedTemporaryFile(dir=dest.parent, delete=False) as tmp,
        ):
            shutil.copyfileobj(resp, tmp)
        os.replace(tmp.name, dest)  # atomic: a broken download never looks like a cached file
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise FetchError(
            f"could not download {url} ({getattr(exc, 'reason', exc)}). Offline? Point --mirror or PREFATLAS_MIRROR "
            "at a local copy laid out as <mirror>/<mirror_dir>/<upstream path>."
        ) from exc


def _digest(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def fetch(
    entry: CatalogEntry,
    mirror: Path | None = None,
    cache: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """A local folder with the entry's upstream layout: the mirror's folder when it has every file, else the cache
    (files missing there are downloaded)."""
    mirror = mirror if mirror is not None else default_mirror()
    if mirror is not None:
        if not Path(mirror).is_dir():
            raise FetchError(f"mirror folder {mirror} does not exist")
        missing = [rel for rel in entry.files if _in_mirror(Path(mirror), entry, rel) is None]
        if not missing:
            return Path(mirror) / entry.mirror_dir
        if progress:
            progress(f"{entry.name}: {len(missing)} files not in mirror {mirror}; downloading them")
    cache = cache or default_cache()
    root = cache / entry.mirror_dir
    for rel in entry.files:
        local = _in_mirror(Path(mirror), entry, rel) if mirror is not None else None
        dest = root / rel
        if local is not None:  # the mirror's current file wins over an older copy in the cache
            copy = dest.with_name(local.name)
            if not copy.is_file() or _digest(copy) != _digest(local):
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(local, copy)
            other = dest if copy != dest else dest.with_name(dest.name + ".gz")
            other.unlink(missing_ok=True)  # never two copies of one file, one of them stale
            continue
        if dest.is_file() or (dest.with_name(dest.name + ".gz")).is_file():
            continue
        url = entry.raw_base + urllib.parse.quote(rel)
        if progress:
            progress(f"downloading {url}")
        _download(url, dest)
    return root


def ingest_entry(
    con: duckdb.DuckDBPyConnection,
    entry: CatalogEntry,
    mirror: Path | None = None,
    cache: Path | None = None,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
    allow_partial: bool = False,
) -> IngestSummary:
    root = fetch(entry, mirror, cache, progress)
    batch = ADAPTERS[entry.adapter](root, name=entry.name)
    meta = batch.meta
    meta.title, meta.licence, meta.licence_note = entry.title, entry.licence, entry.licence_note
    meta.source = f"{entry.upstream} @ {entry.commit}"
    found = len(batch.pairs)
    if found == 0 or (entry.pairs and found < entry.pairs // 2 and not allow_partial):
        # a file that parses but holds nothing (or a fraction) must not replace the dataset silently
        raise IngestError(
            f"{entry.name}: the files hold {found} pairs, the catalog's commit {entry.commit} holds "
            f"{entry.pairs or 'more'}: a truncated or emptied file in {root}? The store is unchanged"
            + ("" if found == 0 else "; --allow-partial ingests it anyway")
        )
    return write_batch(con, batch, force=force)


def ensure_properties(con: duckdb.DuckDBPyConnection, dataset: str) -> None:
    """Store the builtin response properties of a dataset unless they are there (so pages read, not compute): an
    ingest writes them with the pairs; a dataset left unchanged may come from a store written before it did."""
    from analytics.properties import PROPERTIES_SOURCE, store_properties

    missing = con.execute(
        """SELECT count(*) FROM pairs p WHERE p.dataset = $d AND p.response_a_id NOT IN
           (SELECT response_id FROM builtin_properties WHERE source = $s)""",
        {"d": dataset, "s": PROPERTIES_SOURCE},
    ).fetchone()[0]
    if missing:
        store_properties(con, dataset)


def precompute_views(
    con: duckdb.DuckDBPyConnection, dataset: str, progress: Callable[[str], None] | None = None
) -> None:
    """Compute the Overview's summaries, the Judges and Dissection pages' default views and the layers and regions
    of its maps of a dataset into the result cache (keyed by the dataset's version), so the first visitor reads
    them instead of waiting for them."""
    from analytics import maps as M
    from analytics import reads
    from analytics.dissection import (
        OVERALL,
        Settings,
        default_comparison,
        designs,
        difference_from_reference,
        dissect,
        group_names,
    )
    from analytics.explorer import PRESORTED, filter_options, presorted_ids
    from analytics.judges import judges_report
    from analytics.pages import dissection_content

    start = time.perf_counter()
    reads.datasets_table(con)
    reads.judges_table(con, dataset)
    reads.verdict_counts(con, dataset)
    for decided_only in (False, True):  # the Judges and Dissection pages' judge lists
        reads.judge_kinds(con, dataset, decided_only)
    filter_options(con, dataset)  # the Pairs and Map pages' filters
    for sort in PRESORTED:  # the Pairs page's sorts that read every pair
        presorted_ids(con, dataset, sort)
    try:
        judges_report(con, dataset)
        group_names(con, dataset)
        # the Dissection page's view in both feature modes (its one switch that refits every judge), from one design
        modes = ("sign", "normalised")
        both = functools.cache(lambda: designs(con, dataset, modes))  # read only if a view is not cached yet
        frames = lambda mode: both()[mode]  # noqa: E731
        for mode in modes:
            settings = Settings(features=mode)
            fitted = sorted(
                dissect(con, dataset, settings=settings, frames=lambda m=mode: frames(m))["results"][OVERALL]
            )
            if len(fitted) > 1:  # its comparison with the reference, as it first shows it
                reference, judge = default_comparison(fitted, reads.judge_kinds(con, dataset))
                difference_from_reference(
                    con, dataset, judge, reference, settings=settings, frames=lambda m=mode: frames(m)
                )
        both.cache_clear()  # the maps' layers below need none of it
        try:  # the rest of the Dissection page's first view: the pair its explanation opens with (a scan, ~1 s at 1M)
            dissection_content(con, dataset, {})
        except Exception as exc:  # an optimisation only: the page computes it again and reports what went wrong
            if progress:
                progress(f"{dataset}: the Dissection page's first view was not precomputed ({exc})")
        for map_id in M.list_maps(con, dataset)["map_id"]:  # a new version of a mapped dataset: its layers
            M.regions(con, map_id)
    except ValueError as exc:  # a dataset without judgments or decided pairs has no such views
        if progress:
            progress(f"{dataset}: no precomputed views ({exc})")
        return
    if progress:
        progress(f"{dataset}: Judges and Dissection views computed in {time.perf_counter() - start:.1f} s")


def ingest_defaults(
    con: duckdb.DuckDBPyConnection,
    mirror: Path | None = None,
    cache: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[list[IngestSummary], list[str]]:
    """Ingest every default catalog dataset the mirror or network provides; return summaries and what failed."""
    summaries, failures = [], []
    for entry in load_catalog().values():
        if not entry.default:
            continue
        try:
            summaries.append(ingest_entry(con, entry, mirror, cache, progress=progress))
            if summaries[-1].status == "unchanged":
                ensure_properties(con, entry.name)
        except (FetchError, IngestError) as exc:
            failures.append(f"{entry.name}: {exc}")
    return summaries, failures


def missing_default_maps(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """The default store's maps (one per dataset, plus the catalog's [defaults] maps) not built yet."""
    from analytics.maps import list_maps, map_id_for

    plan = default_plan()
    names = [r[0] for r in con.execute("SELECT name FROM datasets ORDER BY name").fetchall()]
    jobs = [{"dataset": n, "space": "prompts"} for n in names]
    jobs += [j for j in plan.get("maps", []) if j["dataset"] in names and j.get("reference", names[0]) in names]
    have = set(list_maps(con)["map_id"])
    return [j for j in jobs if map_id_for(j["dataset"], j.get("reference"), j.get("space", "prompts")) not in have]


def build_default_maps(access, progress: Callable[[str], None]) -> list[str]:
    """Embeddings and maps of the default store: each missing one is made, in short store steps (`access`, a
    StoreAccess), so readers keep reading; an interrupted build resumes where it stopped (embeddings are committed
    per chunk, maps one by one). Returns what failed; the dashboard is useful without maps."""
    from analytics.embed import embed_dataset
    from analytics.maps import build_map

    with access.read() as con:
        jobs = missing_default_maps(con)
    if not jobs:
        return []
    plan = default_plan()
    progress("embedding prompts (and some responses) with all-MiniLM-L6-v2 for the maps (once; cached in the store)")
    try:
        for name in sorted({j["dataset"] for j in jobs} | {j["reference"] for j in jobs if j.get("reference")}):
            embed_dataset(
                access,
                name,
                progress=lambda done, total, name=name: progress(f"embedding {name}: {done:,} of {total:,} texts"),
                responses=name in plan.get("embed_responses", []),
            )
    except Exception as exc:  # the dashboard is still useful without maps
        message = f"embeddings not computed ({type(exc).__name__}: {exc}); run `prefatlas embed` and `prefatlas map`"
        progress(message)
        return [message]
    failures = []
    for job in jobs:
        label = f"{job['dataset']}{' vs ' + job['reference'] if job.get('reference') else ''} ({job['space']})"
        progress(f"map: {label}")
        try:
            build_map(access, job["dataset"], job.get("reference"), job.get("space", "prompts"), progress=progress)
        except Exception as exc:  # one map failing leaves the others
            failures.append(f"map {label} not built ({type(exc).__name__}: {exc}); `prefatlas map` can retry it")
            progress(failures[-1])
    return failures
