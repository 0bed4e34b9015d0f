"""Captioning files and URLs without storing anything: `captionary caption` and the app's Caption view."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from db.errors import CaptionaryError
from db.store import Store
from indexer.imaging import ImageReadError, open_photo, read_named_photo
from indexer.models.captioner import CaptionModel
from indexer.settings import batch_size_for

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image


@dataclass(frozen=True)
class CaptionResult:
    image: str
    caption: str | None = None
    error: str | None = None
    picture: Image.Image | None = None  # the decoded photo, when the caller asked to show it


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def caption_sources(
    sources: Sequence[str | bytes],
    captioner: CaptionModel,
    batch_size: int | None = None,
    fetch: Callable[[str], bytes] | None = None,
    names: Sequence[str] | None = None,
    keep_pictures: bool = False,
) -> list[CaptionResult]:
    """Caption files, http(s) URLs or uploaded bytes in batches; a source that fails gets its error, the rest
    go on. `names` labels the results (an upload's file name), else the source itself."""
    from indexer.fetch import fetch_url

    fetch = fetch or fetch_url
    batch_size = batch_size_for(getattr(captioner, "device", "cpu"), batch_size)
    labels = list(names) if names is not None else [str(source) for source in sources]
    results: dict[int, CaptionResult] = {}
    batch: list[tuple[int, Image.Image]] = []

    def flush() -> None:
        captions = captioner.caption([image for _, image in batch])
        for (position, image), caption in zip(batch, captions):
            results[position] = CaptionResult(labels[position], caption=caption, picture=image if keep_pictures else None)
        batch.clear()

    for position, source in enumerate(sources):
        try:
            data: bytes | str = source
            if isinstance(source, str) and is_url(source):
                data = fetch(source)
            elif isinstance(source, str):
                data = read_named_photo(source)
            batch.append((position, open_photo(data, captioner.input_side, name=labels[position]).image))
        except ImageReadError as error:
            results[position] = CaptionResult(labels[position], error=str(error))
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return [results[position] for position in range(len(sources))]


def embed_picture(store: Store, source: str) -> np.ndarray:
    """The image vector of a file or an http(s) URL, from the model that made the library's image vectors."""
    from indexer.fetch import fetch_url
    from indexer.models.image_embedder import ImageEmbedder

    if store.image_embedder_id is None:
        raise store.embedders.no_image_vectors("No image vectors in this library yet")
    try:
        data = fetch_url(source) if is_url(source) else read_named_photo(source)
        picture = open_photo(data, 0, name=source).image
    except ImageReadError as error:
        raise CaptionaryError(f"Cannot read {source}: {error}") from None
    return ImageEmbedder(store.image_embedder_id).embed_images([picture])[0]
