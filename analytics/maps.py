"""Maps of a dataset: UMAP layout, clusters with names, and under-represented regions, all computed in embedding
space and stored, so pages only read them (../shared/guides/maps.md gives the methods and their costs).

A map is built over *items*: the distinct prompts of a dataset (space 'prompts'), or its pairs placed by their
preference direction, embedding(preferred) - embedding(other) by the reference verdict (space 'preference').
With a reference dataset the map is joint: both datasets' items, each marked with its source.

Under-representation (point level, against a reference): among an item's K nearest neighbours in the pooled
embeddings, m are from the dataset; the density ratio is ((m + 1/2) / (K - m + 1/2)) * (n_ref / n_data) and the
p-value P[Binomial(K, n_data / (n_data + n_ref)) <= m]. Region level: the dataset share theta of a cluster has a
Jeffreys Beta(a + 1/2, b + 1/2) posterior; the ratio rho = theta / (1 - theta) * (n_ref / n_data) with its 95%
interval. A cluster is under-represented when rho's upper bound < 0.5 with >= 20 reference items, a coverage gap when
it has reference items (>= 20) and no dataset item. Without a reference: rarity d_k(x) / median of d_k over x's
neighbours (LOF-style), in embedding space, never density on the 2-D map (UMAP inverts it).
"""

from __future__ import annotations

import json
import os
import pickle
import re
import warnings
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from analytics import judges as J
from analytics.cache import cached, cached_frame
from analytics.catalog import default_cache
from analytics.embed import EmbedSettings, load_vectors, text_id
from analytics.ids import content_id
from analytics.selections import is_among
from analytics.store import StoreAccess, arrow_rows, has_table, transaction

SPACES = ("prompts", "preference")

_DDL = """
CREATE TABLE IF NOT EXISTS maps (map_id VARCHAR PRIMARY KEY, dataset VARCHAR NOT NULL, reference VARCHAR,
    space VARCHAR NOT NULL, model_key VARCHAR NOT NULL, settings VARCHAR, created_at TIMESTAMP, n_items INTEGER);
CREATE TABLE IF NOT EXISTS map_points (map_id VARCHAR NOT NULL, item_id VARCHAR NOT NULL, source VARCHAR NOT NULL,
    x DOUBLE, y DOUBLE, cluster INTEGER, knn_ids VARCHAR[], knn_dists FLOAT[], rarity DOUBLE, neighbours_data INTEGER,
    density_ratio DOUBLE, p_value DOUBLE, PRIMARY KEY (map_id, item_id, source));
CREATE TABLE IF NOT EXISTS map_clusters (map_id VARCHAR NOT NULL, cluster INTEGER NOT NULL, name VARCHAR,
    keywords VARCHAR, medoid VARCHAR, n_data INTEGER, n_reference INTEGER, PRIMARY KEY (map_id, cluster));
"""


@dataclass(frozen=True)
class MapSettings:
    n_neighbors: int = 15
    min_dist: float = 0.1
    k: int = 30  # neighbours for density ratios and rarity
    cluster_dims: int = 5
    min_cluster_size: int = 0  # 0: max(10, n / 60)
    seed: int | None = 0  # a seed makes the layout reproducible (and about 2x slower)


DEFAULT_EMBED = EmbedSettings()
DEFAULT_MAP = MapSettings()


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(_DDL)


def has_maps(con: duckdb.DuckDBPyConnection) -> bool:
    return has_table(con, "maps")


# ---------------------------------------------------------------------------------------------------------------
# items and vectors


def prompt_items(con: duckdb.DuckDBPyConnection, dataset: str) -> pd.DataFrame:
    """item_id (prompt_id), text, and the text_id its embedding is stored under."""
    frame = con.execute(
        "SELECT DISTINCT q.prompt_id AS item_id, q.text FROM pairs p JOIN prompts q USING (prompt_id) "
        "WHERE p.dataset = $d ORDER BY 1",
        {"d": dataset},
    ).df()
    return frame.assign(text_id=[text_id(t) for t in frame["text"]])


def preference_vectors(
    con: duckdb.DuckDBPyConnection, dataset: str, settings: EmbedSettings, reference: str | None = None
) -> tuple[pd.DataFrame, np.ndarray]:
    """Per decided pair: unit vector along embedding(preferred) - embedding(other), by the reference verdict."""
    verdicts = J.load_verdicts(con, dataset, lengths=False)
    wide = verdicts.wide
    _, ref = J.reference_verdicts(wide, verdicts.kinds(), reference)
    if ref is None:
        ref = J.majority(wide)
    decided = ref[ref.isin(["A", "B"])]
    texts = (
        con.execute(
            """SELECT p.pair_id AS item_id, q.text, ra.text AS a, rb.text AS b
           FROM pairs p JOIN prompts q USING (prompt_id)
           JOIN responses ra ON ra.response_id = p.response_a_id JOIN responses rb ON rb.response_id = p.response_b_id
           WHERE list_contains($ids, p.pair_id)""",
            {"ids": list(decided.index)},
        )
        .df()
        .set_index("item_id")
    )
    texts = texts.reindex(decided.index).rename_axis("item_id").reset_index()
    va = load_vectors(con, [text_id(t) for t in texts["a"]], settings)
    vb = load_vectors(con, [text_id(t) for t in texts["b"]], settings)
    sign = np.where(decided.to_numpy() == "A", 1.0, -1.0)[:, None]
    direction = (va - vb) * sign
    norms = np.linalg.norm(direction, axis=1, keepdims=True)
    keep = norms[:, 0] > 1e-6  # identical responses have no direction
    items = texts.loc[keep, ["item_id", "text"]].reset_index(drop=True)
    return items, (direction[keep] / norms[keep]).astype(np.float32)


# ---------------------------------------------------------------------------------------------------------------
# statistics in embedding space (pure functions of vectors: tested on generated data)


def knn(vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and cosine distances of each point's k nearest other points (exact for up to 20k points, NN-descent
    above)."""
    n = len(vectors)
    k = min(k, n - 1)
    if n <= 20_000:
        idx = np.empty((n, k), dtype=np.int64)
        dist = np.empty((n, k), dtype=np.float32)
        for start in range(0, n, 2048):
            sims = vectors[start : start + 2048] @ vectors.T
            rows = np.arange(sims.shape[0])
            sims[rows, start + rows] = -np.inf  # not its own neighbour
            part = np.argpartition(-sims, k, axis=1)[:, :k]
            order = np.argsort(-np.take_along_axis(sims, part, 1), axis=1)
            idx[start : start + 2048] = np.take_along_axis(part, order, 1)
            dist[start : start + 2048] = 1 - np.take_along_axis(sims, idx[start : start + 2048], 1)
        return idx, np.clip(dist, 0, 2)
    from pynndescent import NNDescent

    index = NNDescent(vectors, metric="cosine", n_neighbors=k + 1, random_state=0)
    idx, dist = index.neighbor_graph
    return idx[:, 1:], dist[:, 1:].astype(np.float32)


def density_ratio(neighbour_idx: np.ndarray, is_data: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per point: (dataset neighbours m, ratio p_data / p_ref, p-value of so few dataset neighbours)."""
    k = neighbour_idx.shape[1]
    n_data, n_ref = int(is_data.sum()), int((~is_data).sum())
    from scipy.stats import binom  # scipy.stats takes 0.8 s to import: only where a map's regions are computed

    m = is_data[neighbour_idx].sum(axis=1)
    ratio = (m + 0.5) / (k - m + 0.5) * (n_ref / max(n_data, 1))
    p_value = binom.cdf(m, k, n_data / (n_data + n_ref))
    return m, ratio, p_value


def rarity(neighbour_idx: np.ndarray, neighbour_dist: np.ndarray) -> np.ndarray:
    """d_k(x) / median of d_k over x's neighbours: > 1 where x sits in sparser space than its neighbours."""
    dk = neighbour_dist[:, -1].astype(float)
    med = np.median(dk[neighbour_idx], axis=1)
    return dk / np.maximum(med, 1e-9)


def jeffreys_ratio(a: int, b: int, n_data: int, n_ref: int) -> tuple[float, float, float]:
    """Cluster ratio rho = theta / (1 - theta) * (n_ref / n_data), theta ~ Beta(a + 1/2, b + 1/2): (point, low,
    high) with the 95% interval."""

    from scipy.stats import beta

    def to_ratio(theta: float) -> float:
        return theta / max(1 - theta, 1e-12) * (n_ref / max(n_data, 1))

    posterior = beta(a + 0.5, b + 0.5)
    return to_ratio((a + 0.5) / (a + b + 1)), to_ratio(posterior.ppf(0.025)), to_ratio(posterior.ppf(0.975))


def jeffreys_interval(successes: int, n: int) -> tuple[float, float, float]:
    from scipy.stats import beta

    if n == 0:
        return float("nan"), float("nan"), float("nan")
    posterior = beta(successes + 0.5, n - successes + 0.5)
    return successes / n, float(posterior.ppf(0.025)), float(posterior.ppf(0.975))


def smoothed_rate(values: np.ndarray, neighbour_idx: np.ndarray, alpha: float = 10.0) -> np.ndarray:
    """kNN-smoothed local rate of a 0/1 label, shrunk toward the global rate (alpha pseudo-neighbours); NaN labels
    are left out."""
    known = ~np.isnan(values)
    overall = float(np.nanmean(values)) if known.any() else 0.0
    filled = np.where(known, values, 0.0)
    total = filled[neighbour_idx].sum(axis=1)
    count = known[neighbour_idx].sum(axis=1)
    return (total + alpha * overall) / (count + alpha)


# words prompts use whatever they ask about: never a cluster's name (on top of scikit-learn's English stop words)
PROMPT_FILLER = frozenset(
    (  # noqa: SIM905
        "able answer ask asked based best better blah come did does doing don example explain following "
        "generate give given going good got help hey hi hello just know let like ll look make mean need okay ok "
        "please provide question questions really say sure tell thank thanks thing things think try ve want "
        "way ways write yes"
    ).split()
)


def _readable_terms(ranked: list[tuple[str, float]], top: int) -> list[str]:
    """The best terms (term, weight; best first) for a name: a phrase stands for the words it holds ('chicken soup'
    rather than 'chicken' and 'soup'), taking a word's place when it weighs at least half as much."""
    chosen: list[tuple[str, float]] = []
    for term, weight in ranked:
        words = set(term.split())
        overlapping = [k for k, (c, _) in enumerate(chosen) if words & set(c.split())]
        if not overlapping:
            if len(chosen) < top:
                chosen.append((term, weight))
            continue
        k = overlapping[0]
        if len(words) > len(chosen[k][0].split()) and weight >= 0.5 * chosen[k][1]:
            chosen[k] = (term, weight)  # the phrase replaces its word, in the word's place
            chosen = [c for j, c in enumerate(chosen) if j == k or not (words & set(c[0].split()))]
    return [term for term, _ in chosen]


def cluster_names(texts: pd.Series, clusters: np.ndarray, vectors: np.ndarray, top: int = 3) -> pd.DataFrame:
    """Per cluster: c-TF-IDF keywords (Grootendorst 2022: tf per cluster x log(1 + A / f_t)) over words and word
    pairs, stop words and prompt filler left out, a phrase preferred to its words; and the medoid text."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    labels = sorted(c for c in set(clusters.tolist()) if c >= 0)
    rows = []
    keywords: dict[int, list[str]] = {c: [] for c in labels}
    if labels:
        try:
            # vocabulary: words and bigrams in at least two prompts; counts summed per cluster
            vectorizer = CountVectorizer(
                stop_words=sorted(ENGLISH_STOP_WORDS | PROMPT_FILLER),
                ngram_range=(1, 2),
                min_df=2,
                max_features=50_000,
                token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b",
            )
            per_text = vectorizer.fit_transform(texts.fillna("").tolist())
            terms = np.array(vectorizer.get_feature_names_out())
            counts = np.vstack([np.asarray(per_text[clusters == c].sum(axis=0)).ravel() for c in labels])
            tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
            avg_words = counts.sum() / len(labels)
            weights = tf * np.log1p(avg_words / np.maximum(counts.sum(axis=0), 1))
            for row, c in enumerate(labels):
                best = np.argsort(-weights[row], kind="stable")[: 6 * top]
                ranked = [(str(terms[i]), float(weights[row][i])) for i in best if weights[row][i] > 0]
                keywords[c] = _readable_terms(ranked, top)
        except ValueError:  # no word occurs in two prompts
            pass
    for c in labels:
        members = np.flatnonzero(clusters == c)
        centroid = vectors[members].mean(axis=0)
        medoid = members[np.argmax(vectors[members] @ centroid)]
        name = ", ".join(keywords[c]) if keywords[c] else f"cluster {c}"
        rows.append({"cluster": c, "name": name, "keywords": json.dumps(keywords[c]), "medoid": texts.iloc[medoid]})
    return pd.DataFrame(rows, columns=["cluster", "name", "keywords", "medoid"])


# ---------------------------------------------------------------------------------------------------------------
# building a map


def _umap(vectors: np.ndarray, idx: np.ndarray, dist: np.ndarray, components: int, settings: MapSettings):
    import umap

    k = min(settings.n_neighbors, idx.shape[1])
    # precomputed kNN must include the point itself first, as umap-learn's own graph does
    self_idx = np.arange(len(vectors))[:, None]
    knn_idx = np.hstack([self_idx, idx[:, : k - 1]])
    knn_dist = np.hstack([np.zeros((len(vectors), 1), dtype=np.float32), dist[:, : k - 1]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_jobs overridden by random_state" and friends
        reducer = umap.UMAP(
            n_neighbors=k,
            n_components=components,
            metric="cosine",
            min_dist=settings.min_dist if components == 2 else 0.0,
            random_state=settings.seed,
            precomputed_knn=(knn_idx, knn_dist, None) if len(vectors) > 4096 else (None, None, None),
        )
        layout = reducer.fit_transform(vectors)
    return reducer, layout


def map_id_for(
    dataset: str,
    reference: str | None,
    space: str,
    embed_settings: EmbedSettings = DEFAULT_EMBED,
    settings: MapSettings = DEFAULT_MAP,
) -> str:
    """The id a map of these inputs has (maps are content-addressed: rebuilding replaces the same id)."""
    return content_id("map", dataset, reference, space, embed_settings.key, json.dumps(asdict(settings)))


def build_map(
    con: duckdb.DuckDBPyConnection | StoreAccess,
    dataset: str,
    reference: str | None = None,
    space: str = "prompts",
    embed_settings: EmbedSettings = DEFAULT_EMBED,
    settings: MapSettings = DEFAULT_MAP,
    progress=None,
) -> str:
    """Compute and store a map (replacing an earlier one with the same inputs); return its id. Given a
    StoreAccess, the store is open only to read the vectors and to write the result, not during the layout."""
    if space not in SPACES:
        raise ValueError(f"space must be one of {', '.join(SPACES)}")
    access = con if isinstance(con, StoreAccess) else StoreAccess(con)
    say = progress or (lambda _msg: None)
    parts = []
    with access.read() as reader:
        for source, name in (("dataset", dataset), ("reference", reference)):
            if name is None:
                continue
            if space == "prompts":
                items = prompt_items(reader, name)
                vectors = load_vectors(reader, items["text_id"], embed_settings)
            else:
                items, vectors = preference_vectors(reader, name, embed_settings)
            parts.append((items.assign(source=source), vectors))
    items = pd.concat([p[0] for p in parts], ignore_index=True)
    vectors = np.vstack([p[1] for p in parts])
    if len(items) < 10:
        raise ValueError(f"{dataset}: {len(items)} items are too few for a map")
    is_data = (items["source"] == "dataset").to_numpy()
    say(f"{len(items):,} items: nearest neighbours")
    idx, dist = knn(vectors, settings.k)
    say("UMAP layout (2-D)")
    reducer, xy = _umap(vectors, idx, dist, 2, settings)
    say("clusters (HDBSCAN on a 5-D UMAP)")
    _, low_dim = _umap(vectors, idx, dist, settings.cluster_dims, settings)
    from sklearn.cluster import HDBSCAN

    size = settings.min_cluster_size or max(10, len(items) // 60)
    clusters = HDBSCAN(min_cluster_size=size, min_samples=min(size, 10), copy=True).fit_predict(low_dim)
    if np.bincount(clusters[clusters >= 0]).max(initial=0) > 0.5 * len(clusters):
        # one cluster swallowed most of the map ("excess of mass" picked the root): take the leaves instead
        clusters = HDBSCAN(
            min_cluster_size=size, min_samples=min(size, 10), cluster_selection_method="leaf", copy=True
        ).fit_predict(low_dim)
    names = cluster_names(items["text"], clusters, vectors)
    points = items[["item_id", "source"]].assign(x=xy[:, 0], y=xy[:, 1], cluster=clusters, rarity=rarity(idx, dist))
    ids = items["item_id"].to_numpy()
    points["knn_ids"] = [list(ids[row]) for row in idx]
    points["knn_dists"] = [list(map(float, row)) for row in dist]
    if reference is not None:
        m, ratio, p_value = density_ratio(idx, is_data)
        points = points.assign(neighbours_data=m, density_ratio=ratio, p_value=p_value)
    else:
        points = points.assign(neighbours_data=None, density_ratio=None, p_value=None)
    counts = pd.DataFrame({"cluster": clusters, "data": is_data}).groupby("cluster")["data"].agg(["sum", "count"])
    names = names.assign(
        n_data=names["cluster"].map(counts["sum"]).astype(int),
        n_reference=names["cluster"].map(counts["count"] - counts["sum"]).astype(int),
    )
    map_id = map_id_for(dataset, reference, space, embed_settings, settings)
    say("writing the map")
    with access.write() as writer:
        ensure_tables(writer)
        _write_map(writer, map_id, dataset, reference, space, embed_settings, settings, len(items), points, names)
    _save_reducer(map_id, reducer)
    say("regions")
    with access.read() as reader:
        regions(reader, map_id)  # and the dataset's layers: the page's first visitor reads them from the cache
    return map_id


def _write_map(
    con: duckdb.DuckDBPyConnection,
    map_id: str,
    dataset: str,
    reference: str | None,
    space: str,
    embed_settings: EmbedSettings,
    settings: MapSettings,
    n_items: int,
    points: pd.DataFrame,
    names: pd.DataFrame,
) -> None:
    with transaction(con):
        for table in ("map_points", "map_clusters", "maps"):
            con.execute(f"DELETE FROM {table} WHERE map_id = $m", {"m": map_id})
        con.execute(
            "INSERT INTO maps VALUES ($m, $d, $r, $s, $k, $p, $t, $n)",
            {
                "m": map_id,
                "d": dataset,
                "r": reference,
                "s": space,
                "k": embed_settings.key,
                "p": json.dumps({**asdict(settings), "model": embed_settings.model}),
                "t": datetime.now(UTC).replace(tzinfo=None),
                "n": n_items,
            },
        )
        frame = points.assign(map_id=map_id)[
            [
                "map_id",
                "item_id",
                "source",
                "x",
                "y",
                "cluster",
                "knn_ids",
                "knn_dists",
                "rarity",
                "neighbours_data",
                "density_ratio",
                "p_value",
            ]
        ]
        con.register("_points", frame)
        con.execute("INSERT INTO map_points SELECT * FROM _points")
        con.unregister("_points")
        con.register(
            "_clusters",
            names.assign(map_id=map_id)[["map_id", "cluster", "name", "keywords", "medoid", "n_data", "n_reference"]],
        )
        con.execute("INSERT INTO map_clusters SELECT * FROM _clusters")
        con.unregister("_clusters")


def _reducer_path(map_id: str):
    return default_cache() / "umap" / f"{map_id}.pkl"


def _save_reducer(map_id: str, reducer) -> None:
    path = _reducer_path(map_id)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            pickle.dump(reducer, f)
        os.replace(tmp, path)
    except (OSError, pickle.PicklingError):
        pass  # placing new points then needs the map to be rebuilt


def place(map_id: str, vectors: np.ndarray) -> np.ndarray:
    """Place new vectors on a stored map with UMAP's transform (the map itself does not move)."""
    path = _reducer_path(map_id)
    if not path.is_file():
        raise LookupError(f"map {map_id} has no stored UMAP model here; rebuild it with `prefatlas map`")
    with open(path, "rb") as f:
        reducer = pickle.load(f)
    return reducer.transform(vectors)


# ---------------------------------------------------------------------------------------------------------------
# reading maps and regions


def list_maps(con: duckdb.DuckDBPyConnection, dataset: str | None = None) -> pd.DataFrame:
    if not has_maps(con):
        return pd.DataFrame(columns=["map_id", "dataset", "reference", "space", "n_items", "created_at"])
    return con.execute(
        "SELECT map_id, dataset, reference, space, n_items, created_at FROM maps "
        "WHERE $d IS NULL OR dataset = $d ORDER BY dataset, reference NULLS FIRST, space",
        {"d": dataset},
    ).df()


def map_choices(con: duckdb.DuckDBPyConnection, dataset: str, maps: pd.DataFrame | None = None) -> dict[str, str]:
    """A dataset's maps as the Map page names them (its `map` link parameter) -> map id, in the page's order: the
    first is the page's default. `maps`: list_maps(con, dataset) when the caller holds it."""
    maps = list_maps(con, dataset) if maps is None else maps
    return {
        row.space + (f" vs {row.reference} (reference)" if isinstance(row.reference, str) else ""): row.map_id
        for row in maps.itertuples()
    }


def pairs_of_items(con: duckdb.DuckDBPyConnection, dataset: str, space: str, items: list[str]) -> list[str]:
    """The pairs behind map items: the items themselves on a pairs map, the pairs of those prompts on a prompts map."""
    if space != "prompts":
        return list(items)
    rows = con.execute(  # a semi-join on the ids (list_contains per row would be quadratic in a large selection)
        "SELECT pair_id FROM pairs WHERE dataset = $d AND prompt_id IN (SELECT unnest($ids)) ORDER BY pair_id",
        {"d": dataset, "ids": list(items)},
    ).fetchall()
    return [r[0] for r in rows]


# The text shown for a map item: its prompt (a prompts map's items are prompts, a pairs map's items are pairs)
_ITEM_TEXTS = {
    "prompts": "SELECT prompt_id AS item_id, text FROM prompts",
    "preference": "SELECT p.pair_id AS item_id, q.text FROM pairs p JOIN prompts q USING (prompt_id)",
}
MAX_SHOWN = 60_000  # points drawn at most: a plotly WebGL scatter stays quick to send and to draw


def max_shown() -> int:
    """Points the Map page draws at most: PREFATLAS_MAP_POINTS, else MAX_SHOWN (a server for weak browsers may
    draw fewer; a lasso still selects every point inside it)."""
    value = os.environ.get("PREFATLAS_MAP_POINTS", "")
    return int(value) if value.isdigit() and int(value) > 0 else MAX_SHOWN


def map_layout(con: duckdb.DuckDBPyConnection, map_id: str, layers: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every point of a map without its text or neighbour lists (item_id, source, x, y, cluster, cluster_name,
    rarity, density_ratio), and the columns of `layers` (pair_layers) joined on item_id, in DuckDB: what the page
    holds for a million points, about 200 MB."""
    layers = layers if layers is not None else pd.DataFrame({"item_id": pd.Series([], dtype=object)})
    frame = arrow_rows(  # through Arrow: a million strings never become Python objects
        con,
        """SELECT p.item_id, p.source, p.x, p.y, p.cluster, coalesce(c.name, 'unclustered') AS cluster_name,
                  p.rarity, p.density_ratio, l.* EXCLUDE (item_id)
           FROM map_points p LEFT JOIN map_clusters c ON c.map_id = p.map_id AND c.cluster = p.cluster
           LEFT JOIN _layers l ON l.item_id = p.item_id
           WHERE p.map_id = $m ORDER BY p.rowid  -- the order the build wrote (cheaper than sorting the ids)
        """,
        {"m": map_id},
        {"_layers": layers},
    )
    return frame.to_pandas()


def map_view(con: duckdb.DuckDBPyConnection, map_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(every point with its layers, the regions): what the Map page and its report show, and cache."""
    row = con.execute("SELECT dataset, space FROM maps WHERE map_id = $m", {"m": map_id}).fetchone()
    if row is None:
        raise LookupError(f"no map '{map_id}' in the store")
    layers = pair_layers(con, row[0], row[1])
    return map_layout(con, map_id, layers), regions(con, map_id, layers)


def drawn_points(con: duckdb.DuckDBPyConnection, points: pd.DataFrame, space: str) -> pd.DataFrame:
    """The points to draw (all, or a sample keeping sparse areas) with their prompts for the hover."""
    shown = sample_for_display(points)
    return shown.assign(text=shown["item_id"].map(item_texts(con, space, shown["item_id"].tolist())))


def item_texts(con: duckdb.DuckDBPyConnection, space: str, item_ids: list[str]) -> pd.Series:
    """item id -> its prompt, for the given items (those drawn, those listed)."""
    frame = con.execute(
        f"SELECT item_id, text FROM ({_ITEM_TEXTS[space]}) WHERE item_id IN (SELECT unnest($ids))",
        {"ids": list(item_ids)},
    ).df()
    return frame.drop_duplicates("item_id").set_index("item_id")["text"]


def search_items(con: duckdb.DuckDBPyConnection, map_id: str, space: str, text: str) -> set[str]:
    """The map's items whose prompt holds `text` (case-insensitive, taken literally), searched in DuckDB."""
    rows = con.execute(
        f"""SELECT t.item_id FROM ({_ITEM_TEXTS[space]}) t
            WHERE t.item_id IN (SELECT item_id FROM map_points WHERE map_id = $m)
              AND regexp_matches(t.text, $q, 'i')""",
        {"m": map_id, "q": re.escape(text)},
    ).fetchall()
    return {r[0] for r in rows}


def neighbours_of(con: duckdb.DuckDBPyConnection, map_id: str, space: str, item_id: str) -> pd.DataFrame:
    """An item's stored nearest neighbours (itself first), nearest first: item_id, cosine distance, source,
    cluster_name and text."""
    frame = con.execute(
        """SELECT n.item_id, n.distance AS "cosine distance", p.source, coalesce(c.name, 'unclustered') AS cluster_name
           FROM (SELECT unnest(knn_ids) AS item_id, unnest(knn_dists) AS distance,
                        generate_subscripts(knn_ids, 1) AS rank
                 FROM map_points WHERE map_id = $m AND item_id = $i AND source = 'dataset') n
           LEFT JOIN map_points p ON p.map_id = $m AND p.item_id = n.item_id
           LEFT JOIN map_clusters c ON c.map_id = $m AND c.cluster = p.cluster
           QUALIFY row_number() OVER (PARTITION BY n.rank ORDER BY p.source) = 1
           ORDER BY n.rank""",
        {"m": map_id, "i": item_id},
    ).df()
    texts = item_texts(con, space, frame["item_id"].tolist())
    return frame.assign(text=frame["item_id"].map(texts))


def items_in_shapes(layout: pd.DataFrame, selection: dict | None) -> list[str] | None:
    """The items inside a plotly selection's lasso and box shapes (their union), among every point of the map,
    drawn or not: at a million points the page draws a sample, and a lasso selects what lies inside it.
    None when the selection has no shape (a click on points)."""
    import shapely

    shapes = []
    for box in (selection or {}).get("box", []):
        (x0, x1), (y0, y1) = sorted(box.get("x", [0, 0])), sorted(box.get("y", [0, 0]))
        shapes.append(shapely.box(x0, y0, x1, y1))
    for lasso in (selection or {}).get("lasso", []):
        xs, ys = lasso.get("x", []), lasso.get("y", [])
        if len(xs) >= 3 and len(xs) == len(ys):
            shapes.append(shapely.make_valid(shapely.Polygon(np.column_stack([xs, ys]))))
    if not shapes:
        return None
    area = shapely.union_all(shapes)
    shapely.prepare(area)
    inside = shapely.contains_xy(area, layout["x"].to_numpy(), layout["y"].to_numpy())
    return layout.loc[inside, "item_id"].tolist()


def map_points(con: duckdb.DuckDBPyConnection, map_id: str) -> pd.DataFrame:
    """Every stored column of a map's points with their cluster name and text (map_layout is what the page reads)."""
    info = con.execute("SELECT dataset, reference, space FROM maps WHERE map_id = $m", {"m": map_id}).fetchone()
    if info is None:
        raise LookupError(f"no map {map_id}")
    points = con.execute(
        """SELECT p.*, c.name AS cluster_name FROM map_points p
           LEFT JOIN map_clusters c ON c.map_id = p.map_id AND c.cluster = p.cluster WHERE p.map_id = $m""",
        {"m": map_id},
    ).df()
    points["cluster_name"] = points["cluster_name"].fillna("unclustered")
    if info[2] == "prompts":
        text = con.execute(
            "SELECT prompt_id AS item_id, text FROM prompts WHERE prompt_id IN "
            "(SELECT item_id FROM map_points WHERE map_id = $m)",
            {"m": map_id},
        ).df()
    else:
        text = con.execute(
            """SELECT p.pair_id AS item_id, q.text FROM pairs p JOIN prompts q USING (prompt_id)
                              WHERE p.pair_id IN (SELECT item_id FROM map_points WHERE map_id = $m)""",
            {"m": map_id},
        ).df()
    return points.merge(text, on="item_id", how="left")


def pair_layers(con: duckdb.DuckDBPyConnection, dataset: str, space: str) -> pd.DataFrame:
    """Per map item of the dataset: pairs, judge disagreement share, A-win share (reference verdict), mean length,
    generators. Computed once per dataset version and space, then read back from the result cache (Parquet)."""
    from analytics.reads import dataset_version

    key = ("map layers", dataset, dataset_version(con, dataset), space)
    return cached_frame(key, lambda: _pair_layers(con, dataset, space))


def _generator_labels(pairs: pd.DataFrame) -> pd.Categorical:
    """'A vs B' per pair ('?' for an unknown generator), one label per distinct combination, not per pair."""
    code_a, code_b, names = J.generator_codes(pairs)
    width = len(names) + 1
    combos, inverse = np.unique((code_a + 1) * width + (code_b + 1), return_inverse=True)
    name = np.array(["?", *map(str, names)], dtype=object)
    labels = [f"{name[c // width]} vs {name[c % width]}" for c in combos]
    return pd.Categorical.from_codes(inverse.ravel(), categories=pd.Index(labels, dtype=object))


def _pair_layers(con: duckdb.DuckDBPyConnection, dataset: str, space: str) -> pd.DataFrame:
    verdicts = J.load_verdicts(con, dataset)
    pairs, codes = verdicts.pairs, verdicts.codes
    _, ref = J.reference_verdicts(verdicts.wide, verdicts.kinds(), None)
    if ref is None:
        ref = J.majority(verdicts.wide)
    # "judges split": at least two judges gave a verdict (a tie counts) and not all the same (NaN with fewer)
    known = ~np.isnan(codes)
    lowest = np.where(known, codes, np.inf).min(axis=1, initial=np.inf)
    highest = np.where(known, codes, -np.inf).max(axis=1, initial=-np.inf)
    split = np.where(known.sum(axis=1) >= 2, (highest != lowest).astype(float), np.nan)
    frame = pd.DataFrame(
        {
            "judges_disagree": split,
            "a_wins": ref.map({"A": 1.0, "B": 0.0}).to_numpy(dtype=float),
            "verdict": ref.to_numpy(dtype=object),
            "length": ((pairs["len_a"] + pairs["len_b"]) / 2).to_numpy(dtype=float),
            "generators": _generator_labels(pairs),
        },
        index=pairs.index,
    )
    if space == "prompts":
        prompt_of = con.execute("SELECT pair_id, prompt_id FROM pairs WHERE dataset = $d", {"d": dataset}).df()
        frame = frame.join(prompt_of.set_index("pair_id"))
        agg = frame.groupby("prompt_id", observed=True).agg(
            pairs=("length", "size"),
            judges_disagree=("judges_disagree", "mean"),
            a_wins=("a_wins", "mean"),
            length=("length", "mean"),
            generators=("generators", "first"),
        )
        # the most common reference verdict per prompt, vectorised (a per-group mode is slow at 100k prompts)
        counts = frame.dropna(subset=["verdict"]).groupby(["prompt_id", "verdict"]).size().reset_index(name="n")
        top = (
            counts.sort_values(["prompt_id", "n", "verdict"], ascending=[True, False, True])
            .drop_duplicates("prompt_id")
            .set_index("prompt_id")["verdict"]
        )
        agg["verdict"] = top.reindex(agg.index)
        return agg.rename_axis("item_id").reset_index()
    return frame.assign(pairs=1).rename_axis("item_id").reset_index()


def region_columns(with_reference: bool) -> list[str]:
    """The columns of a regions table worth showing (page and report)."""
    ranking = ["coverage", "ratio", "ratio_low", "ratio_high", "n_reference"] if with_reference else ["rarity_median"]
    return [
        "cluster",
        "name",
        "n_data",
        *ranking,
        "disagreement",
        "disagreement_low",
        "disagreement_high",
        "a_wins",
        "a_wins_low",
        "a_wins_high",
        "likely_flips",
    ]


def _flips(con: duckdb.DuckDBPyConnection, map_id: str, layers: pd.DataFrame, alpha: float = 10.0) -> pd.Series:
    """Per dataset item of a map: a likely label flip, i.e. its judge disagreement (0/1) stands more than 0.5 above
    or below the kNN-smoothed rate of its neighbourhood (smoothed_rate's rule: unknown rates left out, alpha
    pseudo-neighbours at the map's overall rate; a neighbour that is not a dataset item stands for the item
    itself). In DuckDB over the stored neighbour lists: a million items' 30 neighbours never become Python
    objects. `layers`: pair_layers (item_id, judges_disagree)."""
    values = pa.Table.from_pandas(  # NaN becomes NULL (an unknown rate)
        layers[["item_id", "judges_disagree"]].rename(columns={"judges_disagree": "value"}), preserve_index=False
    )
    # Each CTE below is read once (DuckDB materialises a CTE read twice: thirty million (item, neighbour) rows of
    # text ids took 5.9 GB that way at a million items, and failed under a reader's 512 MB cap), and the sums are
    # grouped by the row's number, not its text id (grouping by the text failed under a 300 MB cap, this passes).
    items = """SELECT p.rowid AS pos, p.item_id, p.knn_ids, l.value
               FROM map_points p LEFT JOIN _layer_values l USING (item_id)
               WHERE p.map_id = $m AND p.source = 'dataset'"""
    flags = arrow_rows(
        con,
        f"""WITH around AS (
                SELECT o.pos, sum(coalesce(seen, 0)) AS total, count(seen) AS known
                FROM (SELECT o.pos, CASE WHEN n.item_id IS NULL THEN o.own ELSE n.value END AS seen
                      FROM (SELECT pos, value AS own, unnest(knn_ids) AS neighbour FROM ({items})) o
                      LEFT JOIN (SELECT item_id, value FROM ({items})) n ON n.item_id = o.neighbour) o
                GROUP BY o.pos)
            SELECT i.item_id,
                   abs(coalesce(i.value, 0) - (coalesce(a.total, 0) + $alpha * overall.rate)
                       / (coalesce(a.known, 0) + $alpha)) > 0.5 AS flip
            FROM ({items}) i LEFT JOIN around a USING (pos)
            CROSS JOIN (SELECT coalesce(avg(value), 0) AS rate FROM ({items})) overall""",
        {"m": map_id, "alpha": alpha},
        {"_layer_values": values},
    ).to_pandas()
    return pd.Series(flags["flip"].to_numpy(dtype=bool), index=flags["item_id"].to_numpy())


def likely_flips(con: duckdb.DuckDBPyConnection, map_id: str) -> pd.Series:
    """Item id -> likely label flip (the rule regions() counts per cluster), for a stored map's dataset items."""
    row = con.execute("SELECT dataset, space FROM maps WHERE map_id = $m", {"m": map_id}).fetchone()
    if row is None:
        raise LookupError(f"no map '{map_id}' in the store")
    return _flips(con, map_id, pair_layers(con, row[0], row[1]))


REGIONS_FORMAT = 2  # part of the regions' cache key: bump when their columns or order change


def regions(con: duckdb.DuckDBPyConnection, map_id: str, layers: pd.DataFrame | None = None) -> pd.DataFrame:
    """Clusters ranked by under-representation (against the reference) or rarity (without one), each with its
    interval and the preference-aware layers of its dataset items. Computed once per map (as built) and dataset
    version, then read from the result cache. `layers`: the dataset's pair_layers when the caller holds them."""
    from analytics.reads import dataset_version

    row = con.execute(
        "SELECT dataset, reference, space, created_at::VARCHAR FROM maps WHERE map_id = $m", {"m": map_id}
    ).fetchone()
    if row is None:
        raise LookupError(f"no map '{map_id}' in the store")
    dataset, reference, space, built = row
    key = ("regions", REGIONS_FORMAT, map_id, built, dataset_version(con, dataset))
    rows = cached(key, lambda: _regions(con, map_id, dataset, reference, space, layers).to_dict("records"))
    return pd.DataFrame(rows)


COVERAGE_VERDICTS = {
    "missing": "the reference has prompts here (≥ 20) and the dataset (almost) none: ρ's upper bound < 0.2",
    "thin": "fewer dataset prompts than the reference's share predicts: ρ's whole interval below 1",
    "covered": "as common as in the reference, or more (ρ's interval reaches 1)",
}


def coverage_verdict(n_data: int, n_reference: int, ratio_high: float) -> str:
    """A region's coverage in plain words (COVERAGE_VERDICTS), from its counts and the density ratio's upper bound."""
    if n_reference >= 20 and (n_data == 0 or ratio_high < 0.2):
        return "missing"
    if ratio_high < 1:
        return "thin"
    return "covered"


def _regions(
    con: duckdb.DuckDBPyConnection,
    map_id: str,
    dataset: str,
    reference: str | None,
    space: str,
    layers: pd.DataFrame | None,
) -> pd.DataFrame:
    points = con.execute(
        "SELECT item_id, source, cluster, rarity FROM map_points WHERE map_id = $m", {"m": map_id}
    ).df()
    clusters = con.execute("SELECT * FROM map_clusters WHERE map_id = $m", {"m": map_id}).df()
    layers = layers if layers is not None else pair_layers(con, dataset, space)
    flips = _flips(con, map_id, layers)
    layers = layers.set_index("item_id")
    data_points = points[points["source"] == "dataset"]
    data_points = data_points.assign(flip=flips.reindex(data_points["item_id"]).fillna(False).to_numpy(dtype=bool))
    n_data = int((points["source"] == "dataset").sum())
    n_ref = int((points["source"] == "reference").sum())
    rows = []
    for _, c in clusters.iterrows():
        members = data_points[data_points["cluster"] == c["cluster"]]
        lay = layers.reindex(members["item_id"])
        disagree = lay["judges_disagree"].dropna()
        wins = lay["a_wins"].dropna()
        row = {
            "cluster": int(c["cluster"]),
            "name": c["name"],
            "medoid": c["medoid"],
            "n_data": int(c["n_data"]),
            "n_reference": int(c["n_reference"]),
        }
        if reference is not None:
            rho, low, high = jeffreys_ratio(int(c["n_data"]), int(c["n_reference"]), n_data, n_ref)
            row.update(
                ratio=rho,
                ratio_low=low,
                ratio_high=high,
                coverage_gap=bool(c["n_data"] == 0 and c["n_reference"] >= 20),
                under_represented=bool(high < 0.5 and c["n_reference"] >= 20),
                missing_mass=c["n_reference"] / max(n_ref, 1) - c["n_data"] / max(n_data, 1),
                coverage=coverage_verdict(int(c["n_data"]), int(c["n_reference"]), high),
            )
        all_members = points[points["cluster"] == c["cluster"]]
        row["rarity_median"] = float(all_members["rarity"].median())
        for name, series in (("disagreement", disagree), ("a_wins", wins)):
            est, lo, hi = jeffreys_interval(round(series.sum()), len(series)) if len(series) else (np.nan,) * 3
            row.update({name: est, f"{name}_low": lo, f"{name}_high": hi, f"{name}_n": len(series)})
        row["likely_flips"] = int(members["flip"].sum())
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    if reference is not None:  # the least covered first: by verdict, then by how far below parity it may be
        order = frame["coverage"].map({"missing": 0, "thin": 1, "covered": 2})
        frame = frame.assign(_order=order).sort_values(
            ["_order", "ratio_high", "missing_mass"], ascending=[True, True, False]
        )
        frame = frame.drop(columns="_order")
    else:
        frame = frame.sort_values("rarity_median", ascending=False)
    return frame.reset_index(drop=True)


def selection_summary(
    con: duckdb.DuckDBPyConnection, points: pd.DataFrame, selected: set[str], space: str, top: int = 5
) -> dict:
    """What a selection on a map holds: its dataset and reference items, the density ratio of the two with its
    Jeffreys interval and coverage verdict (as a region's, when the map has a reference), and the `top` dataset
    prompts nearest the selection's centre on the map."""
    inside = np.asarray(is_among(points["item_id"], selected), dtype=bool)
    is_data = (points["source"] == "dataset").to_numpy()
    n_data, n_ref = int(is_data.sum()), int((~is_data).sum())
    a, b = int((inside & is_data).sum()), int((inside & ~is_data).sum())
    out: dict = {"n_data": a, "n_reference": b, "share_of_data": a / max(n_data, 1)}
    if n_ref:
        rho, low, high = jeffreys_ratio(a, b, n_data, n_ref)
        out |= {"ratio": rho, "ratio_low": low, "ratio_high": high, "coverage": coverage_verdict(a, b, high)}
    chosen = points.loc[inside & is_data, ["item_id", "x", "y"]]
    if len(chosen):
        centre = chosen[["x", "y"]].to_numpy().mean(axis=0)
        nearest = chosen.iloc[np.argsort(((chosen[["x", "y"]].to_numpy() - centre) ** 2).sum(axis=1))[:top]]
        texts = item_texts(con, space, nearest["item_id"].tolist())
        out["top"] = [str(texts.get(i, "")) for i in nearest["item_id"]]
    else:
        out["top"] = []
    return out


REFERENCE_COLORS = ("density_ratio", "gap", "source")  # colourings that need a reference dataset
ITEM_OF = {"prompts": "prompt", "preference": "pair"}  # what a map's items are, by its embedding space
MAP_COLORS = {  # what a map can be coloured by, as the page names it
    "cluster": "cluster",
    "rarity": "rarity (k-distance vs neighbours)",
    "density_ratio": "density ratio vs reference",
    "gap": "under-represented / coverage gap",
    "judges_disagree": "judges split",
    "verdict": "reference verdict",
    "generators": "generators",
    "length": "mean response length",
    "source": "dataset / reference",
}


def selected_items(
    points: pd.DataFrame,
    drawn: list[str] | None = None,
    region: str = "(none)",
    search_hits: set[str] | None = None,
    search: str = "",
    kept: set[str] | None = None,
) -> tuple[set[str] | None, str]:
    """(the items a map view selects, what selects them in words): the items drawn around (a lasso or box), else a
    region's ("CLUSTER: name"), crossed with a search's hits and the filters' kept items. None: no selection."""
    selected: set[str] | None = None
    reasons = []
    if drawn is not None:
        selected = set(drawn)
        reasons.append(f"{len(drawn)} points selected on the map")
    elif region not in ("", "(none)"):
        cluster = region.split(":")[0]
        if cluster.lstrip("-").isdigit():
            selected = set(points.loc[points["cluster"] == int(cluster), "item_id"])
            reasons.append(f"region {region}")
    for hits, words in ((search_hits, f"search “{search}”"), (kept, "filters")):
        if hits is not None:
            selected = hits if selected is None else selected & hits
            reasons.append(f"{words}: {len(hits):,} {'items kept' if words == 'filters' else 'matches'}")
    return selected, " · ".join(reasons)


def sample_for_display(points: pd.DataFrame, max_points: int | None = None, seed: int = 0) -> pd.DataFrame:
    """All points when there are few; above max_points at most max_points of them, chosen so that sparse areas stay
    visible: each point is kept with a probability that falls with the size of its cluster (Embedding Atlas's rule,
    with cluster size as the density), and the rarest points (top 5% rarity) first, as many as half the budget."""
    max_points = max_points or max_shown()
    if len(points) <= max_points:
        return points
    size = points.groupby("cluster")["item_id"].transform("size").to_numpy(dtype=float)
    size[points["cluster"].to_numpy() < 0] = 1.0  # noise points are sparse by definition
    weight = 2.0 / (1.0 + 5.0 * size / size.max())
    rng = np.random.default_rng(seed)
    rarity = points["rarity"].to_numpy(dtype=float)
    rare = np.flatnonzero(rarity >= np.nanpercentile(rarity, 95))
    if len(rare) > max_points // 2:  # the rarest of them
        rare = rare[np.argsort(rarity[rare], kind="stable")[len(rare) - max_points // 2 :]]
    keep = np.zeros(len(points), dtype=bool)
    keep[rare] = True
    budget = max_points - len(rare)
    rest = np.flatnonzero(~keep)
    keep_p = np.minimum(1.0, weight[rest] * budget / weight[rest].sum())
    chosen = rest[rng.random(len(rest)) < keep_p]
    if len(chosen) > budget:  # the draw overshot its expected size
        chosen = rng.choice(chosen, size=budget, replace=False)
    keep[chosen] = True
    return points[keep]


def row_ids_from_selection(selection: dict | None) -> list[str]:
    """Item ids of a plotly selection event: customdata arrives as a list ([id, ...]) or, for a single typed
    column, as a dict ({'0': id}); point indices are never used (they are per trace)."""
    out = []
    for point in (selection or {}).get("points", []):
        data = point.get("customdata")
        if isinstance(data, dict):
            data = [data[k] for k in sorted(data, key=lambda k: int(k))]
        if isinstance(data, list | tuple) and data:
            out.append(str(data[0]))
        elif isinstance(data, str):
            out.append(data)
    return list(dict.fromkeys(out))
