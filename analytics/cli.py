"""The `prefatlas` console script."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import duckdb

from analytics import catalog, store
from analytics.adapters import ADAPTERS, load_folder
from analytics.adapters.base import IngestError
from analytics.viewstate import LOCAL_HOSTS

T = TypeVar("T")
DASHBOARD_APP = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        type=Path,
        default=None,
        help="DuckDB store file (env PREFATLAS_STORE; default data/store/prefatlas.duckdb)",
    )
    parser.add_argument(
        "--mirror", type=Path, default=None, help="local mirror of the catalog's upstream files (env PREFATLAS_MIRROR)"
    )
    parser.add_argument("--cache", type=Path, default=None, help="download cache (env PREFATLAS_CACHE)")


def _store_path(args: argparse.Namespace) -> Path:
    return args.store or store.default_store_path()


def _lock_wait() -> float:
    return float(os.environ.get("PREFATLAS_LOCK_WAIT", store.LOCK_WAIT_S))


def _open(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """The store, waiting (PREFATLAS_LOCK_WAIT seconds, default 300) while another process holds it: a dashboard
    frees it between page runs, so an ingest proceeds while the team has the dashboard open."""
    return store.connect(path, read_only=read_only, wait_s=_lock_wait(), on_wait=_log)


def _read_store(args: argparse.Namespace, compute: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    """compute(read-only store); what the store cannot answer (an unknown dataset, judge, link) becomes a clear
    error message with exit status 2."""
    con = _open(_store_path(args), read_only=True)
    try:
        return compute(con)
    except (ValueError, LookupError) as exc:  # LinkError is a ValueError
        raise IngestError(str(exc)) from exc
    finally:
        con.close()


def cmd_catalog(args: argparse.Namespace) -> int:
    entries = catalog.load_catalog()
    rows = [
        {
            "name": e.name,
            "title": e.title,
            "adapter": e.adapter,
            "licence": e.licence,
            "upstream": f"{e.upstream} @ {e.commit}",
            "files": len(e.files),
        }
        for e in entries.values()
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            print(f"{r['name']:<24} {r['licence']:<14} {r['upstream']}  ({r['files']} files, adapter {r['adapter']})")
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    entries = catalog.load_catalog()
    for name in args.names or [n for n, e in entries.items() if e.default]:
        if name not in entries:
            raise IngestError(f"'{name}' is not in the catalog; choose from {', '.join(entries)}")
        print(catalog.fetch(entries[name], args.mirror, args.cache, progress=_log))
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from analytics.adapters import huggingface, mapping

    con = _open(_store_path(args))
    summaries = []
    try:
        when_stored = "replace" if args.replace or args.force else "append" if args.append else "refuse"
        m = mapping.load_mapping(args.mapping) if args.mapping else None
        if args.add_verdicts or (m is not None and m.join is not None):
            if m is None or not args.target:
                raise IngestError(
                    "adding a judge's verdicts reads its files with a mapping that has a [join] table: "
                    "prefatlas ingest --add-verdicts --dataset D --mapping judge.toml FILE ..."
                )
            batch = mapping.load_verdicts(_expand_globs(args.target), m, args.dataset or args.name)
            summaries.append(store.add_judgments(con, batch))
        elif args.hf:
            batch = huggingface.load(
                args.hf, m, args.cache or catalog.default_cache(), args.config, args.split, args.name
            )
            summaries.append(store.write_batch(con, batch, force=args.force, when_stored=when_stored))
        elif m is not None:
            if not args.target:
                raise IngestError("give the data file to read with the mapping: prefatlas ingest --mapping M FILE")
            # several files (shards, or a glob) are one dataset: read in pieces, one transaction
            batches = mapping.load_files(_expand_globs(args.target), m)
            if args.name:
                batches = (_renamed(b, args.name) for b in batches)
            summaries.append(store.write_batches(con, batches, force=args.force, when_stored=when_stored))
        elif args.adapter:
            if len(args.target) != 1:
                raise IngestError("--adapter reads one folder laid out as upstream: prefatlas ingest --adapter A DIR")
            batch = load_folder(args.adapter, Path(args.target[0]), args.name)
            summaries.append(store.write_batch(con, batch, force=args.force, when_stored=when_stored))
        else:
            entries = catalog.load_catalog()
            names = args.target or [n for n, e in entries.items() if e.default]
            for name in names:
                if name not in entries:
                    raise IngestError(
                        f"'{name}' is not in the catalog ({', '.join(entries)}); for your own files use "
                        "--mapping, for a folder in an upstream layout --adapter"
                    )
                summaries.append(
                    catalog.ingest_entry(
                        con, entries[name], args.mirror, args.cache, args.force, _log, args.allow_partial
                    )
                )
        for s in summaries:
            if s.status == "unchanged":  # a write computes them; an older store's unchanged dataset may lack them
                catalog.ensure_properties(con, s.dataset)
        if not args.no_precompute:
            with store.memory_for(con, "read"):  # the views only read: a reader's cap, as their commands have
                for s in summaries:
                    catalog.precompute_views(con, s.dataset, progress=_log)
    finally:
        con.close()
    for s in summaries:
        print(s.as_text())
    return 0


def _expand_globs(targets: list[str]) -> list[Path]:
    """The files named, with a quoted pattern ('data/part-*.jsonl') expanded in sorted order; a pattern that
    matches nothing is an error rather than an empty dataset."""
    paths: list[Path] = []
    for target in targets:
        if any(c in target for c in "*?["):
            found = (
                sorted(Path().glob(target))
                if not Path(target).is_absolute()
                else sorted(Path(target).parent.glob(Path(target).name))
            )
            if not found:
                raise IngestError(f"no file matches {target!r}")
            paths += found
        else:
            paths.append(Path(target))
    return paths


def _renamed(batch: store.IngestBatch, name: str) -> store.IngestBatch:
    batch.meta.name = name
    return batch


def cmd_export_store(args: argparse.Namespace) -> int:
    from analytics.exchange import export_store

    con = _open(_store_path(args), read_only=True)
    try:
        counts = export_store(con, args.output, args.dataset, args.embeddings)
    finally:
        con.close()
    print(", ".join(f"{t}: {n:,}" for t, n in counts.items()) + f" rows written to {args.output}")
    return 0


def cmd_import_store(args: argparse.Namespace) -> int:
    from analytics.exchange import import_store

    con = _open(_store_path(args))
    try:
        names = import_store(con, args.folder, args.replace)
        for name in names:
            catalog.ensure_properties(con, name)  # files from another pipeline may lack the builtin properties
    finally:
        con.close()
    print(f"imported: {', '.join(names)}")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    con = _open(_store_path(args), read_only=True)
    try:
        stats = store.store_stats(con)
    finally:
        con.close()
    if args.json:
        print(json.dumps(stats, indent=2))
    else:
        for name, s in stats.items():
            print(
                f"{name:<24} {s['pairs']:>7} pairs {s['prompts']:>6} prompts {s['responses']:>7} responses "
                f"{s['judges']:>3} judges {s['judgments']:>8} judgments"
            )
    return 0


def cmd_judges(args: argparse.Namespace) -> int:
    from analytics.judges import ACCURACY_CONVENTIONS, GROUP_MARK, headline_accuracy, judges_report

    if args.subset_group:
        if args.subset:
            raise SystemExit("prefatlas judges: give --subset or --subset-group, not both")
        args.subset = args.subset_group.rstrip("/*") + GROUP_MARK
    report = _read_store(
        args,
        lambda con: judges_report(
            con,
            args.dataset,
            args.reference,
            args.subset,
            boot=args.boot,
            seed=args.seed,
            leaderboards=not args.no_leaderboards,
        ),
    )
    if args.json:
        print(json.dumps(report, indent=2, default=str))
        return 0
    from analytics.stats import format_estimate as fmt

    convention = args.convention or report["accuracy_convention"]
    print(
        f"{report['dataset']}{' / ' + report['subset'] if report['subset'] else ''}: {report['pairs']} pairs; "
        f"reference: {report['reference'] or 'none'}; accuracy: {ACCURACY_CONVENTIONS[convention][1]}"
    )
    print("\nper judge: accuracy vs reference | swap consistency | P(first shown wins) | P(longer preferred)")
    for j in report["judges"]:
        print(
            f"  {j['judge']:<40} {fmt(headline_accuracy(j, convention)[0]):<28} "
            f"{fmt(j['position'].get('swap_consistency')):<28} "
            f"{fmt(j['position']['p_first_shown_wins']):<28} {fmt(j['length']['p_longer_preferred'])}"
        )
    if any("subset_mean" in j for j in report["judges"]):
        print("\nper judge and subset (accuracy; then the unweighted mean over the subsets)")
        for j in report["judges"]:
            if "by_subset" in j:
                cells = [f"{s}: {fmt(headline_accuracy(v, convention)[0])}" for s, v in j["by_subset"].items()]
                mean = fmt(headline_accuracy(j["subset_mean"], convention)[0])
                print(f"  {j['judge']:<40} " + " | ".join(cells) + f" | mean {mean}")
    print("\nagreement (with ties | without ties | Cohen's kappa)")
    for a in report["agreement"]:
        print(
            f"  {a['judge_1']} ~ {a['judge_2']}: {fmt(a['agreement_with_ties'])} | "
            f"{fmt(a['agreement_without_ties'])} | {fmt(a['cohen_kappa'], percent=False)}"
        )
    print("\nall judges: " + ", ".join(f"{k} {fmt(v, percent=False)}" for k, v in report["all_judges"].items()))
    print("\nconventions (--json prints everything, with these):")
    for k, v in report["conventions"].items():
        print(f"  {k}: {v}")
    return 0


def cmd_judge(args: argparse.Namespace) -> int:
    from analytics.judgecard import card_table, judge_card

    card = _read_store(args, lambda con: judge_card(con, args.name, args.family))
    if args.json:
        print(json.dumps(card, indent=2, default=str))
        return 0
    table = card_table(card)
    print(f"{args.name}{' (family: ' + ', '.join(card['judges']) + ')' if args.family else ''}: {len(table)} rows")
    print(table.to_string(index=False) if not table.empty else "no decided pair in this store")
    return 0


def cmd_dissect(args: argparse.Namespace) -> int:
    from analytics.dissection import Settings, dissect

    settings = Settings(
        prior_scale=args.prior_scale,
        features=args.features,
        samples=args.samples,
        seed=args.seed,
        min_pairs=args.min_pairs,
    )
    result = _read_store(
        args, lambda con: dissect(con, args.dataset, args.judge or None, args.group, settings, args.subset)
    )
    if args.json:
        print(json.dumps(result, indent=2, default=str))
        return 0
    for group, fits in result["results"].items():
        print(f"\n[{group}]  100*sigmoid(weight) = P(A preferred | A beats B on this property alone), 95% interval")
        for judge, fit in fits.items():
            print(f"  {judge} (n={fit['n']}, ess={fit['ess']})")
            ranked = sorted(fit["weights"].items(), key=lambda kv: -abs(kv[1]["mean"]))
            for name, w in ranked:
                print(f"    {name:<26} {100 * w['p']:5.1f}  [{100 * w['p_low']:5.1f}, {100 * w['p_high']:5.1f}]")
    return 0


def cmd_properties(args: argparse.Namespace) -> int:
    from analytics.properties import store_properties

    con = _open(_store_path(args))
    try:
        names = [args.dataset] if args.dataset else [r[0] for r in con.execute("SELECT name FROM datasets").fetchall()]
        for name in names:
            print(f"{name}: {store_properties(con, name)} property values stored")
    finally:
        con.close()
    return 0


def _progress_bar(label: str):
    """A tqdm bar on stderr, updated through (done, total) callbacks."""
    from tqdm import tqdm

    bar = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc=label, unit="text", file=sys.stderr)
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    return update


def _access(args: argparse.Namespace) -> store.ShortConnections:
    """Short connections for long computations: the store is open only to read inputs and to write results."""
    return store.ShortConnections(_store_path(args), _lock_wait(), _log)


def cmd_embed(args: argparse.Namespace) -> int:
    from analytics.embed import EmbedSettings, embed_dataset, load_model, pick_device

    settings = EmbedSettings(model=args.model, max_seq_length=args.max_seq_length, batch_size=args.batch_size)
    access = _access(args)
    with access.read() as con:
        names = [args.dataset] if args.dataset else [r[0] for r in con.execute("SELECT name FROM datasets").fetchall()]
    device = args.device or pick_device()
    model = None
    for name in names:
        if model is None and args.engine == "local":
            _log(f"loading {settings.model} on {device}")
            model = load_model(settings, device)
        if args.engine == "ray":
            from analytics.embed import dataset_texts
            from analytics.embed_ray import embed_texts_ray

            with access.read() as con:
                texts = dataset_texts(con, name, responses=not args.prompts_only)
            total = len(texts)
            computed = embed_texts_ray(access, texts, settings, args.address, args.actors, progress=_log)
            print(f"{name}: {total} texts, {computed} embedded now, {total - computed} already stored")
            continue
        total, computed = embed_dataset(
            access, name, settings, model, _progress_bar(name), responses=not args.prompts_only
        )
        print(f"{name}: {total} texts, {computed} embedded now, {total - computed} already stored")
    return 0


def cmd_map(args: argparse.Namespace) -> int:
    from analytics.embed import EmbedSettings
    from analytics.maps import MapSettings, build_map

    try:
        map_id = build_map(
            _access(args),
            args.dataset,
            args.reference,
            args.space,
            EmbedSettings(model=args.model),
            MapSettings(seed=args.seed, k=args.k),
            progress=_log,
        )
    except (LookupError, ValueError) as exc:
        raise IngestError(str(exc)) from exc
    print(f"map {map_id}: {args.dataset}{' vs ' + args.reference if args.reference else ''} ({args.space})")
    return 0


def cmd_regions(args: argparse.Namespace) -> int:
    from analytics.maps import list_maps, regions

    con = _open(_store_path(args), read_only=True)
    try:
        maps = list_maps(con, args.dataset)
        maps = maps[
            (maps["space"] == args.space)
            & (maps["reference"].isna() if args.reference is None else maps["reference"] == args.reference)
        ]
        if maps.empty:
            raise IngestError(
                f"no {args.space} map of {args.dataset}"
                f"{' with reference ' + args.reference if args.reference else ''}: run `prefatlas map`"
            )
        table = regions(con, maps.iloc[0]["map_id"])
    finally:
        con.close()
    if args.json:
        print(
            json.dumps(
                {
                    "dataset": args.dataset,
                    "reference": args.reference,
                    "map_id": maps.iloc[0]["map_id"],
                    "regions": table.to_dict("records"),
                },
                indent=2,
                default=str,
            )
        )
    else:
        print(table.drop(columns=["medoid"]).to_string())
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from analytics.report import build_agenda_report, build_report, html_to_pdf
    from analytics.savedviews import list_views

    if bool(args.url) == bool(args.agenda):
        raise IngestError("give a link copied from the dashboard, or --agenda for the saved views, not both")
    layout = {"paper": args.paper, "landscape": not args.portrait}
    if args.agenda:
        views = list_views(_store_path(args))
        document = _read_store(args, lambda con: build_agenda_report(con, views, args.base_path, **layout))
    else:
        document = _read_store(args, lambda con: build_report(con, args.url, args.base_path, **layout))
    out = Path(args.output)
    if out.suffix.lower() == ".pdf":
        out.write_bytes(html_to_pdf(document))
    else:
        out.write_text(document, encoding="utf-8")
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from analytics import curation

    out = Path(args.output)
    fmt = "jsonl" if out.suffix.lower() in (".jsonl", ".json") else "parquet"
    try:
        recipe = curation.Recipe.from_toml(Path(args.recipe).read_text(encoding="utf-8")) if args.recipe else None
    except OSError as exc:
        raise IngestError(f"cannot read the recipe: {exc}") from exc
    recipe = recipe or curation.Recipe()
    if args.reference:
        recipe = curation.Recipe(args.reference, tuple(args.judge or ()), recipe.steps)
    if not args.link and not args.dataset:
        raise IngestError("name the view: a link copied from the dashboard, or --dataset")

    def build(con: duckdb.DuckDBPyConnection) -> curation.Export:
        if args.link:
            scope = curation.scope_of_link(con, args.link)
        else:
            scope = curation.Scope(args.dataset, None, "every pair of the dataset")
        return curation.export(con, scope, recipe, fmt)

    result = _read_store(args, build)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(result.data)
    card = out.with_name(out.stem + ".card.md")
    card.write_text(result.card, encoding="utf-8")
    for step in result.curated.steps:
        _log(f"{step['step']}: {step['before']:,} -> {step['after']:,} pairs ({step['dropped']:,} dropped)")
    if result.non_commercial:
        _log("warning: the source's licence is non-commercial; the card says so")
    print(f"wrote {out} ({result.curated.table.num_rows:,} pairs, {len(result.data):,} bytes) and {card}")
    return 0


def ensure_default_store(path: Path, mirror: Path | None, cache: Path | None, maps: bool = True) -> None:
    """Build the default store on first run: every catalog dataset the mirror or network provides, and (with
    `maps`) their embeddings and maps; `prefatlas serve` leaves those to the dashboard's background."""
    con = _open(path)
    try:
        have = {r[0] for r in con.execute("SELECT name FROM datasets").fetchall()}
        wanted = {n for n, e in catalog.load_catalog().items() if e.default}
        if not wanted <= have:
            _log(f"building the default store at {path} (first run)")
            summaries, failures = catalog.ingest_defaults(con, mirror, cache, progress=_log)
            for s in summaries:
                _log(s.as_text())
            for f in failures:
                _log(f"not available: {f}")
            if not summaries and not have:
                raise IngestError("no catalog dataset could be fetched; set PREFATLAS_MIRROR or go online")
    finally:
        con.close()
    if maps:  # a store from before maps existed gets them now; a no-op when all are there
        catalog.build_default_maps(store.ShortConnections(path, on_wait=_log), progress=_log)


def cmd_serve(args: argparse.Namespace) -> int:
    path = _store_path(args)
    env = dict(os.environ, PREFATLAS_STORE=str(path))
    if not args.no_init:
        # the data first; the dashboard answers then, and builds the default maps in its background
        ensure_default_store(path, args.mirror, args.cache, maps=False)
        env["PREFATLAS_DEFAULT_MAPS"] = "1"
    hosts = [h for h in (args.allowed_host or []) if h]
    if not hosts and args.host in ("127.0.0.1", "localhost", "::1"):
        hosts = list(LOCAL_HOSTS)  # a local server answers for local names only (no DNS rebinding)
    if hosts:
        env["PREFATLAS_ALLOWED_HOSTS"] = ",".join(hosts)
    else:
        _log("prefatlas: any Host header is accepted; --allowed-host NAME limits the names this server answers for")
    if args.token_file:
        try:
            env["PREFATLAS_TOKEN"] = Path(args.token_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise IngestError(f"cannot read the token file {args.token_file}: {exc}") from None
        if len(env["PREFATLAS_TOKEN"]) < 12:
            raise IngestError("the access token must be at least 12 characters")
    command = [
        sys.executable,
        "-m",
        "dashboard.launch",  # Streamlit's command line, the pages' imports loaded while the server starts
        "run",
        str(DASHBOARD_APP),
        f"--server.address={args.host}",
        f"--server.port={args.port}",
        "--server.headless=true",
        "--browser.gatherUsageStats=false",
    ]
    if args.base_url_path:
        command.append(f"--server.baseUrlPath={args.base_url_path}")
    _log(f"prefatlas: serving {path} at http://{args.host}:{args.port}/{args.base_url_path or ''}")
    if getattr(args, "workers", 1) > 1:
        return _serve_workers(args, command, env, hosts)
    # become the Streamlit process (no child left behind when a service manager sends SIGTERM); run from the
    # checkout so .streamlit/config.toml is read
    sys.stdout.flush()
    sys.stderr.flush()
    os.chdir(DASHBOARD_APP.parents[1])
    os.execve(sys.executable, command, env)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve_workers(args: argparse.Namespace, command: list[str], env: dict, hosts: list[str]) -> int:
    """Several dashboard processes on local ports, and the proxy (dashboard/proxy.py) at the address asked for. Only
    the first builds the default maps (one writer); the Host check moves to the proxy, the one that sees it."""
    import asyncio
    import secrets
    import signal
    import subprocess
    import time
    import urllib.request

    from analytics.viewstate import host_allowed
    from dashboard import proxy

    if args.workers > 16:
        raise IngestError("--workers: at most 16")
    ports = [_free_port() for _ in range(args.workers)]
    secret = secrets.token_hex(16)  # one cookie secret: a browser's XSRF cookie is good for every process
    base = [c for c in command if not c.startswith(("--server.address=", "--server.port="))]
    children = []
    for k, port in enumerate(ports):
        child_env = dict(env, PREFATLAS_ALLOWED_HOSTS=",".join(LOCAL_HOSTS), STREAMLIT_SERVER_COOKIE_SECRET=secret)
        if k:
            child_env.pop("PREFATLAS_DEFAULT_MAPS", None)
        extra = ["--server.address=127.0.0.1", f"--server.port={port}"]
        children.append(subprocess.Popen([*base, *extra], env=child_env, cwd=DASHBOARD_APP.parents[1]))
    prefix = f"/{args.base_url_path.strip('/')}" if args.base_url_path.strip("/") else ""

    def stop(*_: object) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()

    try:
        for port in ports:  # the proxy answers once every process does
            for _ in range(240):
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}{prefix}/_stcore/health", timeout=1):
                        break
                except OSError:
                    time.sleep(0.25)
        check = (lambda host: host_allowed(host, hosts)) if hosts else (lambda host: True)
        signal.signal(signal.SIGTERM, lambda *_: (stop(), sys.exit(0)))
        asyncio.run(proxy.run(ports, args.host, args.port, check))
    finally:
        stop()
        for child in children:
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    path = _store_path(args)
    if args.rebuild and path.exists():
        path.unlink()
    ensure_default_store(path, args.mirror, args.cache)
    if args.no_serve:
        return cmd_stats(argparse.Namespace(store=path, json=False))
    return cmd_serve(args)


def build_parser() -> argparse.ArgumentParser:
    from analytics.verdicts import ACCURACY_CONVENTIONS

    parser = argparse.ArgumentParser(prog="prefatlas", description="Explore LLM preference datasets and their judges.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("catalog", help="list the public datasets prefatlas knows")
    _common(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_catalog)

    p = sub.add_parser("fetch", help="download catalog datasets (or find them in the mirror)")
    _common(p)
    p.add_argument("names", nargs="*", help="catalog names (default: all default datasets)")
    p.set_defaults(func=cmd_fetch)

    p = sub.add_parser("ingest", help="ingest catalog datasets, an upstream folder, a mapped file or an HF dataset")
    _common(p)
    p.add_argument("target", nargs="*", help="catalog names; or a folder with --adapter; or data files with --mapping")
    p.add_argument("--adapter", choices=sorted(ADAPTERS), help="read TARGET, a folder laid out as that upstream")
    p.add_argument("--mapping", type=Path, help="mapping file (TOML/JSON) for CSV/JSONL/Parquet files")
    p.add_argument(
        "--no-precompute",
        action="store_true",
        help="skip computing the Judges and Dissection pages' default views now (they are then computed when first "
        "opened)",
    )
    p.add_argument("--hf", metavar="DATASET_ID", help="a Hugging Face dataset id (needs the network)")
    p.add_argument("--config", help="HF dataset config")
    p.add_argument("--split", help="HF dataset split")
    p.add_argument("--name", help="dataset name in the store (overrides the default/mapping name)")
    p.add_argument("--force", action="store_true", help="rewrite even if this version is already stored")
    p.add_argument(
        "--allow-partial",
        action="store_true",
        help="ingest a catalog dataset whose files hold far fewer pairs than its commit has",
    )
    stored = p.add_mutually_exclusive_group()
    stored.add_argument("--replace", action="store_true", help="replace a dataset of that name already stored")
    stored.add_argument("--append", action="store_true", help="add these files to a dataset of that name (shards)")
    p.add_argument(
        "--add-verdicts",
        action="store_true",
        help="add a judge's verdicts to a stored dataset (the mapping's [join] says how rows find their pairs)",
    )
    p.add_argument("--dataset", help="with --add-verdicts: the dataset in the store (default: the mapping's)")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("stats", help="per-dataset counts")
    _common(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("judges", help="judge agreement, accuracy, biases and leaderboards of a dataset")
    _common(p)
    p.add_argument("--dataset", required=True)
    p.add_argument("--reference", help="reference judge name, or 'human majority' (default: gold, else humans)")
    p.add_argument("--subset", help="restrict to one subset (or a group: 'LLMBar/Adversarial/*')")
    p.add_argument(
        "--subset-group",
        help="pool the subsets under a prefix (e.g. LLMBar/Adversarial): pooled, per subset, and their mean",
    )
    p.add_argument(
        "--convention",
        choices=list(ACCURACY_CONVENTIONS),
        help="accuracy convention of the printed table (default: the dataset's upstream one; --json has them all)",
    )
    p.add_argument("--boot", type=int, default=1000, help="bootstrap resamples for intervals (default 1000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-leaderboards", action="store_true", help="skip generator leaderboards (faster)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_judges)

    p = sub.add_parser("judge", help="a judge card: one judge (or model family) across every dataset and subset")
    _common(p)
    p.add_argument("name", help="judge name (or, with --family, a model family such as gpt-4)")
    p.add_argument("--family", action="store_true", help="every judge of the model family NAME")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_judge)

    p = sub.add_parser("dissect", help="Preference Dissection: what each judge rewards, per group, with intervals")
    _common(p)
    p.add_argument("--dataset", required=True)
    p.add_argument("--judge", action="append", help="a judge to fit (repeat; default: every judge)")
    p.add_argument("--group", help="categorical column to fit per value: subset, category, model pair, ...")
    p.add_argument("--subset", help="restrict to one subset")
    p.add_argument("--features", choices=["sign", "normalised"], default="sign")
    p.add_argument("--prior-scale", type=float, default=0.1, help="Laplace prior scale b (default 0.1, the paper's)")
    p.add_argument("--samples", type=int, default=3000)
    p.add_argument("--min-pairs", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_dissect)

    p = sub.add_parser("embed", help="embed the prompts and responses of datasets (cached by text and model)")
    _common(p)
    p.add_argument("--dataset", help="one dataset (default: all)")
    p.add_argument("--model", default="all-MiniLM-L6-v2", help="sentence-transformers name or path")
    p.add_argument("--max-seq-length", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--device", choices=["cuda", "mps", "cpu"], help="default: CUDA, then MPS, then CPU")
    p.add_argument("--prompts-only", action="store_true", help="skip the responses")
    p.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="ray: a Ray Data job (pip install -e '.[ray]'), on a local Ray or the cluster at --address",
    )
    p.add_argument("--address", help="with --engine ray: the cluster, e.g. ray://head:10001 (default: a local Ray)")
    p.add_argument("--actors", type=int, default=1, help="with --engine ray: encoder actors (one GPU each on GPUs)")
    p.set_defaults(func=cmd_embed)

    p = sub.add_parser("map", help="compute and store a UMAP map, clusters and under-represented regions")
    _common(p)
    p.add_argument("--dataset", required=True)
    p.add_argument("--reference", help="a reference dataset: the map is joint and regions compare the two")
    p.add_argument("--space", choices=["prompts", "preference"], default="prompts")
    p.add_argument("--model", default="all-MiniLM-L6-v2")
    p.add_argument("--k", type=int, default=30, help="neighbours for density ratios and rarity")
    p.add_argument("--seed", type=int, default=0, help="layout seed (reproducible)")
    p.set_defaults(func=cmd_map)

    p = sub.add_parser("regions", help="under-represented regions of a stored map")
    _common(p)
    p.add_argument("--dataset", required=True)
    p.add_argument("--reference")
    p.add_argument("--space", choices=["prompts", "preference"], default="prompts")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_regions)

    p = sub.add_parser("report", help="a self-contained HTML (or PDF) report of the view a link shows")
    _common(p)
    p.add_argument("url", nargs="?", help="a link copied from the dashboard")
    p.add_argument(
        "--agenda", action="store_true", help="one document for the meeting: every saved view, in the agenda's order"
    )
    p.add_argument("-o", "--output", required=True, help="file.html, or file.pdf (needs chromium)")
    p.add_argument("--paper", choices=["A4", "Letter"], default="A4", help="PDF page size (default A4)")
    p.add_argument("--portrait", action="store_true", help="portrait pages (default landscape)")
    p.add_argument("--base-path", default="/", help="the server's URL prefix, if it has one")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "export", help="the pairs behind a view, through a curation recipe, as a training set (Parquet or JSONL)"
    )
    _common(p)
    p.add_argument("link", nargs="?", help="a link copied from the dashboard (the pairs that view shows)")
    p.add_argument("--dataset", help="every pair of this dataset (instead of a link)")
    p.add_argument("--recipe", help="a recipe TOML file (reference and steps; see analytics/curation.py)")
    p.add_argument(
        "--reference", help="who decides the chosen side: gold, 'human majority', a judge, agreement (with --judge)"
    )
    p.add_argument("--judge", action="append", help="a judge of an agreement reference (repeat)")
    p.add_argument("-o", "--output", required=True, help="file.parquet or file.jsonl; the card goes beside it")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("export-store", help="write datasets of the store as Parquet files (one per table)")
    _common(p)
    p.add_argument("-o", "--output", type=Path, required=True, help="folder to write")
    p.add_argument("--dataset", action="append", help="a dataset to export (repeat; default: all)")
    p.add_argument("--embeddings", action="store_true", help="the stored embeddings too")
    p.set_defaults(func=cmd_export_store)

    p = sub.add_parser("import-store", help="read a folder of Parquet files written by export-store")
    _common(p)
    p.add_argument("folder", type=Path)
    p.add_argument("--replace", action="store_true", help="replace datasets of the same names")
    p.set_defaults(func=cmd_import_store)

    p = sub.add_parser("properties", help="compute and store the response properties of datasets")
    _common(p)
    p.add_argument("--dataset", help="one dataset (default: all)")
    p.set_defaults(func=cmd_properties)

    for name, func, text in (
        ("serve", cmd_serve, "start the dashboard"),
        ("demo", cmd_demo, "build the default store from the catalog, then serve it"),
    ):
        p = sub.add_parser(name, help=text)
        _common(p)
        p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
        p.add_argument("--port", type=int, default=8501)
        p.add_argument("--base-url-path", default="", help="serve under this URL prefix")
        p.add_argument(
            "--allowed-host",
            action="append",
            metavar="NAME",
            help="a host name this server answers for (repeat; '.example.org' allows its subdomains). Default: "
            "local names when bound to 127.0.0.1, any name otherwise",
        )
        p.add_argument(
            "--token-file",
            type=Path,
            help="require this shared access token (the file's text) before anything is shown (or env "
            "PREFATLAS_TOKEN); with [auth] in .streamlit/secrets.toml, Streamlit's OIDC sign-in is used instead",
        )
        p.add_argument("--no-init", action="store_true", help="do not build the default store on first run")
        p.add_argument(
            "--workers",
            type=int,
            default=1,
            help="dashboard processes behind the one address (default 1): sessions run in parallel across them; "
            "each browser stays with one process",
        )
        if name == "demo":
            p.add_argument("--rebuild", action="store_true", help="delete the store first")
            p.add_argument("--no-serve", action="store_true", help="build the store and print its counts only")
        p.set_defaults(func=func)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "cache", None) is not None:
        # one place: every cache (downloads, fits, maps, saved views), here and in a served dashboard, follows it
        os.environ["PREFATLAS_CACHE"] = str(args.cache.expanduser().resolve())
    try:
        return args.func(args)
    except BrokenPipeError:
        # output piped into `head` and the like: the reader has what it wanted; say nothing more
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (IngestError, catalog.FetchError, FileNotFoundError, ValueError) as exc:  # what the input got wrong
        print(f"prefatlas: error: {exc}", file=sys.stderr)
        return 2
    except duckdb.IOException as exc:
        print(
            f"prefatlas: error: cannot open the store ({exc}). Is it open for writing in another process?",
            file=sys.stderr,
        )
        return 2
    except RuntimeError as exc:
        print(f"prefatlas: error: {exc}", file=sys.stderr)
        return 2
    except duckdb.Error as exc:  # e.g. out of memory or disk during a write: the transaction was rolled back
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"prefatlas: error: the store was left as it was: {first_line}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
