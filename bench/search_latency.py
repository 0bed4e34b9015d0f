"""Search latency at 100,000 indexed photos (keyword, hybrid, the app), vector memory, and thumbnails.

    python bench/search_latency.py        # builds a synthetic 100k-photo index once into bench/.cache

The index is synthetic (COCO-style captions, 2,000 folders, dates over 20 years) because captioning
100k real photos takes hours here; search cost depends on the index, not on the pixels. Reports
server-side times: Store.search for the first page (p50/p95 over many queries, with and without
filters), a whole run of the Streamlit script through AppTest (query -> rendered grid of 50), and
serving 50 cached thumbnails vs decoding them from the photos.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.photoset import CACHE, realistic_photo  # noqa: E402

NO_RANK = ["*", "-dog", "NOT dog", "-beach -night"]  # every match ranks the same: listed by date, as browsing
EXCLUSIONS = ["dog NOT beach", "beach NOT (dog OR cat)", "snow -mountain", "people NOT (street OR city) NOT night"]
QUERIES = [
    "dog",
    "beach",
    "red car",
    '"city street"',
    "children playing",
    "snow OR mountain",
    "surf*",
    "dog NOT beach",
    "woman sitting park",
    "plate food table",
    "horse field",
    "night",
    "bicycle street",
    "giraffe",
    "boat lake",
    "cat living room",
    "people",
    "elephant grass",
    "train",
    "bird flying sky",
]


def build_index(count: int, embedder) -> Path:
    from sqlalchemy import select, update

    from db.models import Content
    from db.semantic import to_blob
    from db.sequence import next_seq
    from db.store import Store
    from tests.synthetic import insert_synthetic

    data_dir = CACHE / f"search-index-{count}"
    if (data_dir / ".complete").exists():
        return data_dir
    started = time.perf_counter()
    with Store.open(data_dir) as store:
        insert_synthetic(store, count)
        print(f"built DB with {count} photos in {time.perf_counter() - started:.1f}s", flush=True)
        started = time.perf_counter()
        store.sync_fulltext()
        print(f"built the Whoosh index from the DB in {time.perf_counter() - started:.1f}s", flush=True)
        # Synthetic captions repeat (3,360 distinct), so embed each distinct one once and share it.
        with store.sessions() as session:
            captions = sorted(set(session.scalars(select(Content.caption))))
        started = time.perf_counter()
        vectors = dict(zip(captions, embedder.encode(captions)))
        seconds = time.perf_counter() - started
        print(
            f"embedded {len(captions)} distinct captions in {seconds:.1f}s = {len(captions) / seconds:.0f} "
            f"captions/s (1 torch thread)",
            flush=True,
        )
        with store.sessions.begin() as session:
            for caption, vector in vectors.items():
                session.execute(
                    update(Content)
                    .where(Content.caption == caption)
                    .values(embedding=to_blob(vector), embedder=embedder.model_id)
                )
            next_seq(session)
    (data_dir / ".complete").write_text("ok")
    return data_dir


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def time_searches(store, label: str, queries, filters, sort="relevance", repeat: int = 3, mode="keyword") -> None:
    timings, totals = [], []
    for _ in range(repeat):
        for query in queries:
            started = time.perf_counter()
            page = store.search(query, filters, sort, limit=50, mode=mode)
            timings.append((time.perf_counter() - started) * 1000)
            totals.append(page.total)
    print(
        f"{label:44} p50 {statistics.median(timings):6.1f} ms   p95 {percentile(timings, 0.95):6.1f} ms   "
        f"max {max(timings):6.1f} ms   (median hits {int(statistics.median(totals))})"
    )


def time_thumbnails(store, hits) -> None:
    """50 thumbnails from the cache vs made from 12 MP photos: what a page costs with and without it."""
    from db.records import thumbnail_path
    from indexer.imaging import open_photo
    from indexer.thumbnails import ensure_thumbnail, save_thumbnail

    photos_dir = CACHE / "app-thumbnail-photos"
    photos_dir.mkdir(parents=True, exist_ok=True)
    sources = []
    for number in range(5):  # five distinct 12 MP photos stand in for the originals
        target = photos_dir / f"p{number}.jpg"
        if not target.exists():
            realistic_photo((4000, 3000), number).save(target, quality=90)
        sources.append(str(target))
    started = time.perf_counter()
    for index, hit in enumerate(hits):
        save_thumbnail(open_photo(sources[index % 5], 320).image, thumbnail_path(store.thumbnail_dir, hit.image.content_hash))
    made = time.perf_counter() - started
    started = time.perf_counter()
    sizes = 0
    for index, hit in enumerate(hits):
        cached = ensure_thumbnail(thumbnail_path(store.thumbnail_dir, hit.image.content_hash), sources[index % 5])
        sizes += len(cached.read_bytes())
    served = time.perf_counter() - started
    print(
        f"page of {len(hits)} thumbnails: made from 12 MP photos {made * 1000:.0f} ms; "
        f"served from the cache {served * 1000:.1f} ms ({sizes / len(hits) / 1000:.0f} kB each, not the "
        f"{os.path.getsize(sources[0]) / 1e6:.1f} MB photo)"
    )


def time_app(data_dir: Path, queries) -> None:
    from streamlit.testing.v1 import AppTest

    os.environ["CAPTIONARY_DATA_DIR"] = str(data_dir)
    app = AppTest.from_file(str(ROOT / "search_app.py"), default_timeout=120)
    app.run()
    app.text_input(key="query").input("warm up").run()  # the server loads MiniLM once, on its first query
    timings = []
    for query in queries:
        started = time.perf_counter()
        app.text_input(key="query").input(query).run()
        timings.append((time.perf_counter() - started) * 1000)
        assert not app.exception, app.exception
    print(
        f"{'whole app run, hybrid (query -> grid of 50)':44} p50 {statistics.median(timings):6.1f} ms   "
        f"p95 {percentile(timings, 0.95):6.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.parse_args()

    import torch

    from db.store import Store
    from db.types import Filters
    from indexer.models.caption_embedder import DEFAULT_EMBEDDER, Embedder, embedder_location
    from indexer.models.query_encoder import NumpyQueryEncoder

    torch.set_num_threads(1)
    embedder = Embedder(DEFAULT_EMBEDDER, threads=1)
    data_dir = build_index(args.count, embedder)
    # Searches embed the query as the CLI and the app do: with the numpy encoder, not torch.
    query_encoder = NumpyQueryEncoder(DEFAULT_EMBEDDER, embedder_location(DEFAULT_EMBEDDER))
    with Store.open_existing(data_dir) as store:
        store.use_embedder(DEFAULT_EMBEDDER, lambda: query_encoder)
        started = time.perf_counter()
        if not store.fulltext.is_current():  # a cache from an older version: rebuilt as `index` would
            store.sync_fulltext()
            print(f"rebuilt the Whoosh index for this version in {time.perf_counter() - started:.1f}s")
        store.search("warm up", limit=1, mode="hybrid")
        vectors = store.vectors()
        print(f"{args.count} photos indexed; first page = 50 results; {os.cpu_count()} cores, 1 torch thread")
        print(
            f"caption vectors in memory: {len(vectors)} x {vectors.matrix.shape[1]} {vectors.matrix.dtype} = "
            f"{vectors.nbytes / 1e6:.0f} MB (stored in the DB as float16: {vectors.matrix.size * 2 / 1e6:.0f} MB)"
        )
        time_searches(store, "keyword, relevance", QUERIES, Filters())
        time_searches(store, "keyword + folder filter", QUERIES, Filters(folder="/photos/2015"))
        time_searches(
            store,
            "keyword + date range + type, newest first",
            QUERIES,
            Filters(exts=("jpg",), date_from=date(2010, 1, 1), date_to=date(2014, 12, 31)),
            "date",
        )
        time_searches(store, "browse everything, newest first (empty query)", [""], Filters(), "date", repeat=10)
        time_searches(store, "no word to rank by (*, -dog, NOT dog, -a -b)", NO_RANK, Filters())
        time_searches(store, "words NOT words, + type", EXCLUSIONS, Filters(exts=("jpg",)))
        time_searches(store, "hybrid (query embedding + BM25 + RRF)", QUERIES, Filters(), mode="hybrid")
        time_searches(store, "semantic", QUERIES, Filters(), mode="semantic")
        time_searches(store, "hybrid + folder filter", QUERIES, Filters(folder="/photos/2015"), mode="hybrid")
        for label, encoder in (("numpy", query_encoder), ("torch", embedder)):
            started = time.perf_counter()
            for query in QUERIES:
                encoder.encode([query])
            print(
                f"{'  of which: embedding one query, ' + label:44} "
                f"{(time.perf_counter() - started) / len(QUERIES) * 1000:6.1f} ms"
            )
        time_thumbnails(store, store.search("dog", limit=50, mode="keyword").hits)
    time_app(data_dir, QUERIES[:10])


if __name__ == "__main__":
    main()
