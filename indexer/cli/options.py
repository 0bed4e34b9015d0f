"""What the CLI's commands share: the common options, and opening the library that settings name."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from db.store import Store
from db.store import open_store as open_library
from indexer.models.families import FAMILIES, SPEEDS
from indexer.settings import DEFAULT_BATCH_SIZE, DEFAULT_IMAGE_EMBEDDER, DEFAULT_MODEL, NO_IMAGE_EMBEDDER, Settings


class FiniteFloatRange(click.FloatRange):
    """A FloatRange that also refuses nan, which every comparison lets through (`--threshold nan` grouped nothing)."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if math.isnan(number):
            self.fail(f"{value!r} is not a number", param, ctx)
        return number


data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the DB, search index and thumbnails live [default: $CAPTIONARY_DATA_DIR or the per-user data dir].",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
model_option = click.option(
    "--model",
    default=None,
    help=f"Hugging Face model id or local folder [default: $CAPTIONARY_MODEL or {DEFAULT_MODEL}].",
)
index_model_option = click.option(
    "--model",
    default=None,
    help="Hugging Face model id or local folder, remembered by the library [default: $CAPTIONARY_MODEL, else the "
    f"library's last (with its --prompt and --max-new-tokens), else {DEFAULT_MODEL}].",
)
batch_option = click.option(
    "--batch-size",
    type=click.IntRange(1, 4096),
    default=None,
    help="Images per model call [default: "
    + ", ".join(f"{size} on {device.upper()}" for device, size in DEFAULT_BATCH_SIZE.items())
    + "; halved if the GPU runs out of memory].",
)
device_option = click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), default="auto", show_default=True)
embedder_option = click.option(
    "--embedder",
    default=None,
    help="sentence-transformers model id or folder for semantic search "
    "[default: $CAPTIONARY_EMBEDDER or the packaged all-MiniLM-L6-v2].",
)


def open_data_dir(data_dir: Path | None, create: bool = False):
    """The library that --data-dir or $CAPTIONARY_DATA_DIR names (indexer/settings.py decides)."""
    return open_library(Settings.resolve(data_dir=data_dir).data_dir, create=create)


@contextmanager
def open_semantic_store(data_dir, embedder=None, queries=True) -> Iterator[Store]:
    """open_data_dir, able to embed queries and captions (the embedding model loads only if needed);
    queries=False for bulk work, which wants torch's batching."""
    from indexer.models.search_encoders import enable_embeddings, enable_image_search

    settings = Settings.resolve(data_dir=data_dir, embedder=embedder)
    with open_library(settings.data_dir) as store:
        enable_embeddings(store, settings.embedder, queries=queries)
        enable_image_search(store, settings.image_embedder, settings.image_embedder_named)
        yield store


image_embedder_option = click.option(
    "--image-embedder",
    default=None,
    metavar="ID|PATH|none",
    help="CLIP-family model for search by pixels, embedded from the same decode as the caption [default: "
    f"$CAPTIONARY_IMAGE_EMBEDDER or {DEFAULT_IMAGE_EMBEDDER}; {NO_IMAGE_EMBEDDER}: off].",
)
prompt_option = click.option(
    "--prompt",
    default=None,
    metavar="TEXT",
    help="What to ask a model that takes a prompt (Florence-2: a task such as <DETAILED_CAPTION>; PaliGemma: "
    "'caption en'; chat models: a question) [default: the model family's, see captionary models].",
)
max_new_tokens_option = click.option(
    "--max-new-tokens",
    type=click.IntRange(1, 1024),
    default=None,
    metavar="N",
    help="Longest caption in tokens [default: the model family's, from "
    f"{min(family.max_new_tokens for family in FAMILIES)} to {max(family.max_new_tokens for family in FAMILIES)} "
    "(captionary models lists them)].",
)
speed_option = click.option(
    "--speed",
    type=click.Choice(SPEEDS),
    default=None,
    help="exact: the family's beam search; fast: greedy decoding; int8: greedy decoding with int8 linear layers, "
    "CPU only, each photo's caption independent of its batch (docs/models.md: Speed on a CPU has the measured "
    "cost and agreement of each) [default: "
    + ", ".join(f"{family.cpu_speed} on a CPU for {family.name}" for family in FAMILIES if family.cpu_speed != "exact")
    + ", else exact].",
)
