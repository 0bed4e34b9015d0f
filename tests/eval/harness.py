"""Measure search quality on the evaluation set: precision@10 and recall@50 per mode and query kind."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from pathlib import Path

from sqlalchemy import insert

from db.models import Content, File, Root
from db.store import Store, utcnow
from tests.eval.captions import QUERIES, all_captions, relevant_captions

MODES = ("keyword", "semantic", "hybrid")


def build_eval_store(data_dir: Path, embedder_id: str, load_embedder) -> Store:
    """One photo per evaluation caption (no pixels), captions embedded, full text synced."""
    store = Store.open(data_dir)
    store.use_embedder(embedder_id, load_embedder)
    now = utcnow()
    with store.sessions.begin() as session:
        seq = store.next_seq(session)
        session.add(Root(path="/eval", added_at=now, last_indexed_at=now))
        captions = all_captions()
        session.execute(insert(Content), [
            {"id": i + 1, "hash": hashlib.sha256(caption.encode()).hexdigest(), "width": 640, "height": 480,
             "format": "JPEG", "caption": caption, "model": "eval", "captioned_at": now}
            for i, caption in enumerate(captions)])
        session.execute(insert(File), [
            {"id": i + 1, "path": f"/eval/photo_{i:04}.jpg", "root": "/eval", "folder": "/eval",
             "name": f"photo_{i:04}.jpg", "ext": "jpg", "size": 1000, "mtime_ns": 0, "content_id": i + 1,
             "indexed_at": now, "seen_run": 1, "ft_seq": seq} for i in range(len(captions))])
    store.embed_pending()
    store.sync_fulltext()
    return store


def evaluate(store: Store) -> dict[str, dict[str, dict[str, float]]]:
    """{mode: {kind: {"P@10": mean, "R@50": mean}}} over the evaluation queries, plus kind "all"."""
    sums: dict[str, dict[str, dict[str, list[float]]]] = {
        mode: defaultdict(lambda: {"P@10": [], "R@50": []}) for mode in MODES}
    for query, (kind, _) in QUERIES.items():
        relevant = relevant_captions(query)
        for mode in MODES:
            found = [hit.image.caption for hit in store.search(query, limit=50, mode=mode).hits]
            precision = sum(caption in relevant for caption in found[:10]) / 10
            recall = sum(caption in relevant for caption in found[:50]) / len(relevant)
            for bucket in (kind, "all"):
                sums[mode][bucket]["P@10"].append(precision)
                sums[mode][bucket]["R@50"].append(recall)
    return {mode: {kind: {metric: sum(values) / len(values) for metric, values in metrics.items()}
                   for kind, metrics in kinds.items()} for mode, kinds in sums.items()}


def format_table(results) -> str:
    kinds = ("synonym", "paraphrase", "keyword", "all")
    lines = ["| mode | " + " | ".join(f"{kind} P@10 | {kind} R@50" for kind in kinds) + " |",
             "|---" * (1 + 2 * len(kinds)) + "|"]
    for mode, by_kind in results.items():
        cells = " | ".join(f"{by_kind[kind]['P@10']:.2f} | {by_kind[kind]['R@50']:.2f}" for kind in kinds)
        lines.append(f"| {mode} | {cells} |")
    return "\n".join(lines)
