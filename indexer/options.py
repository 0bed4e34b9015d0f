"""What an index run is asked to do (IndexOptions): the run's input, settled by the CLI from flags and Settings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from indexer.models.families import CaptionSettings
from indexer.settings import DEFAULT_EMBEDDER, DEFAULT_MODEL, Settings


@dataclass(frozen=True)
class IndexOptions:
    model: str = DEFAULT_MODEL
    prompt: str | None = None  # None: the model family's default (indexer/models/families.py)
    max_new_tokens: int | None = None  # None: the family's default
    batch_size: int | None = None  # None: indexer/settings.py's default for the device
    device: str = "auto"
    workers: int | None = None  # None: indexer/stages.py default_split
    threads: int | None = None
    excludes: Sequence[str] = ()
    follow_symlinks: bool = False
    allow_removal: bool = False  # remove files even when most of a root is gone (else held back)
    recaption: bool = False
    thumbnails: bool = True
    embeddings: bool = True  # embed captions for semantic search, in the same batches
    embedder: str = DEFAULT_EMBEDDER
    image_embedder: str | None = None  # a CLIP-family model for search by pixels; None: none
    image_embedder_required: bool = False  # named by the person: failing to load it stops the run
    ocr: bool | None = None  # read text in photos; None: as the library was last told (index --ocr / --no-ocr)
    speed: str | None = None  # indexer/models/families.py SPEEDS; None: the family's measured cpu_speed on a CPU, else exact
    ray: str | None = None  # read and caption on a Ray cluster: 'local', 'auto' or an address (indexer/ray_run.py)
    # The command's Settings, resolved once and handed to the models (where they load from, offline or not);
    # None: resolved from the environment where a model loads (tests, the bench).
    settings: Settings | None = None

    def caption_source(self, speed: str) -> str:
        """What each caption of this run records as its source: the model, and any non-default settings."""
        return CaptionSettings(self.model, self.prompt, self.max_new_tokens, speed).key

    def as_library_captions(self, library_source: str | None) -> IndexOptions:
        """A run that names no model (no --model, no $CAPTIONARY_MODEL) captions as the library's last captioning run
        did, with its prompt and length where no flag gives them: a plain re-run after `index --model X` is not a
        download of the default model, nor new photos captioned by another model than the rest."""
        if self.settings is None or self.settings.model_named or library_source is None:
            return self
        library = CaptionSettings.from_key(library_source)
        prompt = self.prompt if self.prompt is not None else library.prompt
        return replace(self, model=library.model_id, prompt=prompt, max_new_tokens=self.max_new_tokens or library.max_new_tokens)
