"""Photos that look alike, by their image vectors: "more like this" for one photo, and groups of near-duplicates
(bursts, resized or re-encoded copies, small edits) across the library."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select

from db.embedders import Embedders
from db.models import Content, File
from db.ranking import top_rows
from db.reads import image_by_path, images
from db.schema import Sessions
from db.semantic import STORAGE_DTYPE, dot_products
from db.types import Group, ImageRecord

# Cosine at or above which two photos count as near-duplicates. PROVISIONAL, like ranking.PIXEL_FLOOR: CLIP
# puts a resized or re-encoded copy above 0.95 and a burst shot of the same scene a little lower; not measured
# here (no CLIP weights on this machine). --threshold overrides it.
DUPLICATE_THRESHOLD = 0.95
PAIR_CHUNK = 1024  # rows compared with the whole library per matrix product: memory stays ~chunk x library


def _need_vectors(embedders: Embedders) -> None:
    if not embedders.has_image_embeddings():
        raise embedders.no_image_vectors("No image vectors in this library yet")


def stored_vector(sessions: Sessions, embedders: Embedders, path: str) -> np.ndarray | None:
    """The image vector of an indexed photo from the library's image embedder, or None if it has none."""
    record = image_by_path(sessions, path)
    with sessions() as session:
        blob = session.scalar(
            select(Content.image_embedding)
            .join(File, File.content_id == Content.id)
            .where(File.id == record.id, Content.image_embedder == embedders.image_embedder_id)
        )
    return None if blob is None else np.frombuffer(blob, dtype=STORAGE_DTYPE).astype(np.float32)


def similar_to(
    sessions: Sessions, embedders: Embedders, vector: np.ndarray, limit: int = 20, exclude: str | None = None
) -> list[tuple[ImageRecord, float]]:
    """The photos whose pixels are most like `vector`, best first (the photo itself left out)."""
    _need_vectors(embedders)
    vectors = embedders.image_vectors()
    scores = vectors.scores(vector)
    order = top_rows(scores, np.ones(len(scores), dtype=bool), limit + 1)  # a partial sort, not the whole library
    records = images(sessions, [int(file_id) for file_id in vectors.file_ids[order]])
    found = [
        (records[int(file_id)], float(scores[row]))
        for row, file_id in zip(order, vectors.file_ids[order])
        if int(file_id) in records and records[int(file_id)].path != exclude
    ]
    return found[:limit]


def duplicate_groups(sessions: Sessions, embedders: Embedders, threshold: float | None = None) -> list[Group]:
    """Groups of photos whose image vectors are at least `threshold` alike (byte-identical copies share one
    vector, so they are always together; None: DUPLICATE_THRESHOLD). Every pair is compared, a chunk of rows at a time."""
    threshold = DUPLICATE_THRESHOLD if threshold is None else threshold
    _need_vectors(embedders)
    vectors = embedders.image_vectors()
    matrix, file_ids = vectors.matrix, vectors.file_ids
    parent = list(range(len(file_ids)))
    weakest: dict[int, float] = {}

    def root(row: int) -> int:
        while parent[row] != row:
            parent[row] = parent[parent[row]]
            row = parent[row]
        return row

    for start in range(0, len(file_ids), PAIR_CHUNK):
        block = dot_products(matrix[start : start + PAIR_CHUNK], matrix)
        for offset, other in zip(*np.nonzero(block >= threshold)):
            row = start + int(offset)
            if int(other) <= row:
                continue  # each pair once, and never a photo with itself
            a, b = root(row), root(int(other))
            similarity = float(block[offset, other])
            low = min(weakest.get(a, 1.0), weakest.get(b, 1.0), similarity)
            if a != b:
                parent[b] = a
            weakest[a] = low
    members: dict[int, list[int]] = {}
    for row in range(len(file_ids)):
        members.setdefault(root(row), []).append(int(file_ids[row]))
    records = images(sessions, [file_id for rows in members.values() if len(rows) > 1 for file_id in rows])
    groups = [
        Group(sorted(records[i].path for i in rows if i in records), weakest.get(key, 1.0))
        for key, rows in members.items()
        if len(rows) > 1
    ]
    return sorted((group for group in groups if len(group.paths) > 1), key=lambda group: group.paths[0])
