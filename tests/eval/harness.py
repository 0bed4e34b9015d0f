"""Measure search quality on evaluation libraries: set precision and recall, P@10, R-precision, average precision."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import datetime
from pathlib import Path

from sqlalchemy import insert

from db.models import Content, File, FileKeyword, Root, utcnow
from db.sequence import next_seq
from db.store import Store
from db.tags import retag
from indexer.models.search_encoders import enable_embeddings
from tests.eval.libraries import Library, varied_library

MODES = ("keyword", "semantic", "hybrid")
METRICS = ("precision", "recall", "P@10", "R-prec", "AP")
RESULT_LIMIT = 1000  # every evaluation library is smaller: the whole result set is judged


def build_library_store(data_dir: Path, library: Library, embedder_id: str, load_embedder) -> Store:
    """One photo per caption (no pixels), captions tagged and embedded, full text synced."""
    store = Store.open(data_dir)
    store.use_embedder(embedder_id, load_embedder)
    now = utcnow()
    root = f"/{library.name}"
    with store.sessions.begin() as session:
        seq = next_seq(session)
        session.add(Root(path=root, added_at=now, last_indexed_at=now))
        session.execute(
            insert(Content),
            [
                {
                    "id": i + 1,
                    "hash": hashlib.sha256(caption.encode()).hexdigest(),
                    "width": 640,
                    "height": 480,
                    "format": "JPEG",
                    "caption": caption,
                    "model": "eval",
                    "captioned_at": now,
                }
                for i, caption in enumerate(library.captions)
            ],
        )
        session.execute(
            insert(File),
            [
                {
                    "id": i + 1,
                    "path": f"{root}/photo_{i:04}.jpg",
                    "root": root,
                    "folder": root,
                    "name": f"photo_{i:04}.jpg",
                    "ext": "jpg",
                    "size": 1000,
                    "mtime_ns": 0,
                    "content_id": i + 1,
                    "indexed_at": now,
                    "seen_run": 1,
                    "ft_seq": seq,
                }
                for i in range(len(library.captions))
            ],
        )
        for content in session.query(Content):
            retag(content)
        for file_id, photo in enumerate(getattr(library, "photos", []), start=1):  # when, where, who: the file's own
            file = session.get(File, file_id)
            assert file is not None and file.content is not None and file.content.caption == photo.caption
            file.taken_at = datetime(photo.taken.year, photo.taken.month, photo.taken.day, 12)
            file.place = photo.place
            file.keywords.extend(FileKeyword(tag=keyword) for keyword in photo.keywords)
    store.embed_pending()
    # Queries are then embedded as `captionary search` and the app embed them (in numpy, a text at a time), not
    # by the torch model that embedded the captions: the ranking judged is the one people get
    enable_embeddings(store, embedder_id, queries=True)
    store.sync_fulltext()
    return store


def build_eval_store(data_dir: Path, embedder_id: str, load_embedder) -> Store:
    return build_library_store(data_dir, varied_library(), embedder_id, load_embedder)


def judge(found: list[str], relevant: frozenset[str]) -> dict[str, float]:
    """Metrics of one ranked result list against the relevant captions. A query about nothing in the
    library (no relevant caption) scores 1 when it returns nothing, else 0."""
    if not relevant:
        empty = float(not found)
        return {"precision": empty, "recall": 1.0, "P@10": empty, "R-prec": empty, "AP": empty}
    hits = [caption in relevant for caption in found]
    precisions_at_hits = [sum(hits[: rank + 1]) / (rank + 1) for rank, hit in enumerate(hits) if hit]
    return {
        "precision": sum(hits) / len(hits) if hits else 0.0,
        "recall": sum(hits) / len(relevant),
        "P@10": sum(hits[:10]) / min(10, len(relevant)),
        "R-prec": sum(hits[: len(relevant)]) / len(relevant),
        "AP": sum(precisions_at_hits) / len(relevant),
    }


def evaluate_library(store: Store, library: Library, modes=MODES) -> dict[str, dict[str, dict[str, float]]]:
    """{mode: {query kind or "all": {metric: mean}}}."""
    sums: dict[str, dict[str, dict[str, list[float]]]] = {mode: defaultdict(lambda: defaultdict(list)) for mode in modes}
    for query, (kind, relevant) in library.queries.items():
        for mode in modes:
            found = [hit.image.caption for hit in store.search(query, limit=RESULT_LIMIT, mode=mode).hits]
            for metric, value in judge(found, relevant).items():
                for bucket in (kind, "all"):
                    sums[mode][bucket][metric].append(value)
    return {
        mode: {kind: {metric: sum(values) / len(values) for metric, values in metrics.items()} for kind, metrics in kinds.items()}
        for mode, kinds in sums.items()
    }


def evaluate(store: Store) -> dict[str, dict[str, dict[str, float]]]:
    return evaluate_library(store, varied_library())


def format_table(library: str, results) -> str:
    lines = [f"| library | kind | mode | {' | '.join(METRICS)} |", "|---" * (3 + len(METRICS)) + "|"]
    kinds = sorted({kind for by_kind in results.values() for kind in by_kind}, key=lambda k: (k == "all", k))
    for kind in kinds:
        for mode, by_kind in results.items():
            cells = " | ".join(f"{by_kind[kind][metric]:.2f}" for metric in METRICS)
            lines.append(f"| {library} | {kind} | {mode} | {cells} |")
    return "\n".join(lines)
