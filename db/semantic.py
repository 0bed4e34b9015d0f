"""Caption vectors in one in-memory matrix: a query's cosine similarity with every caption."""

from __future__ import annotations

import threading

import numpy as np
from sqlalchemy import select

from db.models import Content, File, Meta
from db.ranking import positions_in

# Stored as float16 in the DB (768 bytes a caption: no loss that changes a ranking); held as float32 in
# memory, because converting float16 on every query costs more than the dot product itself
# (measured: 67 ms vs ~15 ms for 100k x 384). 100k captions = 154 MB; 1M = 1.5 GB.
STORAGE_DTYPE = np.float16
MEMORY_DTYPE = np.float32


def to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=STORAGE_DTYPE).tobytes()


class VectorIndex:
    """Embeddings of every searchable path for one embedder, reloaded when the DB's change counter moves."""

    def __init__(self, embedder_id: str) -> None:
        self.embedder_id = embedder_id
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
            rows = session.execute(
                select(File.id, Content.embedding).join(Content, File.content_id == Content.id)
                .where(Content.embedder == self.embedder_id, Content.embedding.is_not(None))
                .order_by(File.id)).all()
            self.file_ids = np.fromiter((file_id for file_id, _ in rows), dtype=np.int64, count=len(rows))
            blob = b"".join(embedding for _, embedding in rows)
            dimension = len(rows[0][1]) // np.dtype(STORAGE_DTYPE).itemsize if rows else 0
            self.matrix = np.frombuffer(blob, dtype=STORAGE_DTYPE).reshape(len(rows), dimension).astype(
                MEMORY_DTYPE) if rows else np.zeros((0, 0), dtype=MEMORY_DTYPE)
            self._loaded_seq = seq

    def __len__(self) -> int:
        return len(self.file_ids)

    @property
    def nbytes(self) -> int:
        return self.matrix.nbytes + self.file_ids.nbytes

    def scores(self, query: np.ndarray) -> np.ndarray:
        """Cosine similarity of the query with every row (rows and query are unit length)."""
        return self.matrix @ np.asarray(query, dtype=MEMORY_DTYPE).reshape(-1)  # one matrix-vector product

    def mask_of(self, file_ids: np.ndarray) -> np.ndarray:
        """A row mask holding the given file ids (rows are in file id order, so this is a binary search)."""
        mask = np.zeros(len(self.file_ids), dtype=bool)
        positions = positions_in(self.file_ids, file_ids)
        mask[positions[positions >= 0]] = True
        return mask
