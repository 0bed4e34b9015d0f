"""Caption vectors: embedding captions in batches, and one in-memory matrix for a query's similarity with each."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
from sqlalchemy import ColumnElement, bindparam, select, update

from db.models import Content, File, Meta
from db.ranking import positions_in
from db.schema import Sessions
from db.sequence import next_seq


class EmbedderLike(Protocol):
    """A model a front end hands db/ (db/ imports no torch): texts -> unit vectors."""

    model_id: str

    def encode(self, texts: Sequence[str]): ...


# Stored as float16 in the DB (768 bytes a caption: no loss that changes a ranking) and held as float16 in
# memory too: SimSIMD's dot products read float16 directly with SIMD (differing from float32 by under 1e-4),
# where numpy would have to convert the whole matrix on every query. Half the memory of float32, at the
# same speed (bench/pixels.py --scale measures both).
STORAGE_DTYPE = np.float16
MEMORY_DTYPE = np.float16


# Sentence embedders read a window (all-MiniLM-L6-v2: 256 word pieces) and drop the rest. A caption longer
# than CHUNK_WORDS (about 175 of MiniLM's word pieces, docs/models.md) is embedded in runs of whole sentences, and its vector
# is their mean: a paragraph's last sentence still counts.
CHUNK_WORDS = 150
# A sentence ends at . ! or ? before a capital, a digit or a quote: "e.g. a dog" stays one sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def sentences(text: str) -> list[str]:
    """The text's sentences (one for a COCO-style caption); the one splitter for chunks and displays."""
    return _SENTENCE_END.split(text.strip())


def caption_chunks(text: str, limit: int = CHUNK_WORDS) -> list[str]:
    """The text in runs of whole sentences of at most `limit` words (a longer sentence is cut at `limit`)."""
    pieces: list[list[str]] = [[]]
    for sentence in sentences(text):
        words = sentence.split()
        while len(words) > limit:  # one sentence past the window: cut it, nothing is dropped
            pieces.append(words[:limit])
            words = words[limit:]
        if len(pieces[-1]) + len(words) > limit:
            pieces.append([])
        pieces[-1].extend(words)
    return [" ".join(piece) for piece in pieces if piece] or [text]


def embed_texts(embedder: EmbedderLike, texts: Sequence[str]) -> np.ndarray:
    """One unit vector per text, a long one averaged over its chunks; all chunks go to the model in one call."""
    chunked = [caption_chunks(text) for text in texts]
    if all(len(chunks) == 1 for chunks in chunked):
        return embedder.encode(list(texts))
    flat = embedder.encode([chunk for chunks in chunked for chunk in chunks])
    vectors, start = [], 0
    for chunks in chunked:
        mean = flat[start : start + len(chunks)].mean(axis=0)
        vectors.append(mean / (np.linalg.norm(mean) or 1.0))
        start += len(chunks)
    return np.asarray(vectors, dtype=np.float32)


def to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=STORAGE_DTYPE).tobytes()


def dot_products(queries: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """queries (q x d) . matrix (n x d) as float32 (q x n), for float16 unit rows: their cosines, within [-1, 1]
    (rounded to float16, a unit row's product with itself can come out a hair above 1)."""
    import simsimd

    if not len(matrix) or not len(queries):
        return np.zeros((len(queries), len(matrix)), dtype=np.float32)
    products = np.asarray(simsimd.cdist(queries, matrix, metric="dot"), dtype=np.float32)
    return np.clip(products, -1.0, 1.0, out=products)


class VectorIndex:
    """Embeddings of every searchable path for one embedder, reloaded when the DB's change counter moves:
    of captions, or (images=True) of the pixels."""

    def __init__(self, embedder_id: str, images: bool = False) -> None:
        self.embedder_id = embedder_id
        self.images = images
        self.file_ids = np.zeros(0, dtype=np.int64)
        self.matrix = np.zeros((0, 0), dtype=MEMORY_DTYPE)
        self._loaded_seq: int | None = None
        self._lock = threading.Lock()

    def refresh(self, sessions) -> None:
        with self._lock, sessions() as session:
            row = session.get(Meta, "seq")
            seq = int(row.value) if row else 0
            if seq == self._loaded_seq:
                return
            vector, embedder = (
                (Content.image_embedding, Content.image_embedder) if self.images else (Content.embedding, Content.embedder)
            )
            statement = (
                select(File.id, vector)
                .join(Content, File.content_id == Content.id)
                .where(embedder == self.embedder_id, vector.is_not(None))
                .order_by(File.id)
            )
            # Through the driver's cursor: SQLAlchemy's per-row objects cost more than the read itself at 100k rows.
            compiled = statement.compile(session.get_bind())
            cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
            rows = cursor.execute(str(compiled), tuple(compiled.params[name] for name in compiled.positiontup or ())).fetchall()
            self.file_ids = np.fromiter((file_id for file_id, _ in rows), dtype=np.int64, count=len(rows))
            blob = b"".join(embedding for _, embedding in rows)
            dimension = len(rows[0][1]) // np.dtype(STORAGE_DTYPE).itemsize if rows else 0
            self.matrix = (
                np.frombuffer(blob, dtype=STORAGE_DTYPE).reshape(len(rows), dimension).astype(MEMORY_DTYPE, copy=True)
                if rows
                else np.zeros((0, 0), dtype=MEMORY_DTYPE)
            )
            self._loaded_seq = seq

    def __len__(self) -> int:
        return len(self.file_ids)

    @property
    def nbytes(self) -> int:
        return self.matrix.nbytes + self.file_ids.nbytes

    def scores(self, query: np.ndarray) -> np.ndarray:
        """Cosine similarity of the query with every row (rows and query are unit length)."""
        return dot_products(np.asarray(query, dtype=MEMORY_DTYPE).reshape(1, -1), self.matrix).reshape(-1)

    def mask_of(self, file_ids: np.ndarray) -> np.ndarray:
        """A row mask holding the given file ids (rows are in file id order, so this is a binary search)."""
        mask = np.zeros(len(self.file_ids), dtype=bool)
        positions = positions_in(self.file_ids, file_ids)
        mask[positions[positions >= 0]] = True
        return mask


def _needs_embedding(embedder_id: str, content_ids: Sequence[int] | None = None) -> ColumnElement[bool]:
    needed = Content.embedding.is_(None) | Content.embedder.is_(None) | (Content.embedder != embedder_id)
    return needed if content_ids is None else needed & Content.id.in_(list(content_ids))


def embed_pending(
    sessions: Sessions,
    embedder_id: str,
    load: Callable[[], EmbedderLike],
    checkpoint: Callable[[str], None],
    batch_size: int = 256,
    content_ids: Sequence[int] | None = None,
) -> int:
    """Embed every caption (or those of `content_ids`) that has no embedding from `embedder_id`; captions
    only, no image is read. Each batch commits, so a crash loses at most one batch. The model loads (`load()`)
    only once there is a caption to embed."""
    table = Content.__table__
    contents = table.c
    # One statement per batch, and only where the caption is still the one embedded (a person may
    # have edited it meanwhile).
    store_vector = (
        update(table)  # type: ignore[arg-type]  # a Table; the stubs say FromClause
        .where(
            contents.id == bindparam("content_id"),
            contents.caption.is_not_distinct_from(bindparam("embedded_caption")),
            contents.user_caption.is_not_distinct_from(bindparam("embedded_user")),
        )
        .values(embedding=bindparam("vector"), embedder=embedder_id)
    )
    done = 0
    while True:
        with sessions() as session:
            batch = session.execute(
                select(Content.id, Content.caption, Content.user_caption, Content.effective_caption)
                .where(_needs_embedding(embedder_id, content_ids))
                .limit(batch_size)
            ).all()
        if not batch:
            return done
        vectors = embed_texts(load(), [shown for _, _, _, shown in batch])
        checkpoint("embed")
        with sessions.begin() as session:
            session.execute(
                store_vector,
                [
                    {"content_id": content_id, "embedded_caption": caption, "embedded_user": user, "vector": to_blob(vector)}
                    for (content_id, caption, user, _), vector in zip(batch, vectors)
                ],
            )
            next_seq(session)  # the vector index reloads on a new sequence
        done += len(batch)
