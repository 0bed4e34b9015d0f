"""Long captions (a vision-language model's paragraph) stay searchable by every sentence and readable:
embedded in chunks, one line in the CLI's text output, whole in JSON, first sentence first in the app."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from db.semantic import CHUNK_WORDS, caption_chunks, embed_texts
from db.store import Store
from indexer.cli import cli
from indexer.models.caption_text import clean_caption, first_sentence, one_line
from tests.conftest import FakeCaptioner
from tests.helpers import index_with

COLOURS = ["red", "blue", "green"]
FILLER = " ".join(["The light falls softly across the wide and quiet scene."] * 25)  # 250 words
PARAGRAPH = f"A red car stands in the street. {FILLER} A blue boat floats on the water."


class WindowedEmbedder:
    """Like a sentence embedder, it reads only the first WINDOW words of a text: colour words as axes."""

    WINDOW = 200

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts):
        self.calls.append(list(texts))
        vectors = np.full((len(texts), len(COLOURS) + 1), 1e-3, dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split()[: self.WINDOW]:
                if word.strip(".") in COLOURS:
                    vectors[row, COLOURS.index(word.strip("."))] += 1
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_a_paragraph_is_embedded_in_chunks_so_its_last_sentence_counts():
    embedder = WindowedEmbedder()
    whole = embedder.encode([PARAGRAPH])[0]
    chunked = embed_texts(embedder, [PARAGRAPH])[0]
    # read whole, the window loses the blue boat of the last sentence; read in chunks, it is there
    assert whole[COLOURS.index("blue")] < 0.01 and chunked[COLOURS.index("blue")] > 0.3
    assert abs(float(np.linalg.norm(chunked)) - 1) < 1e-5  # still a unit vector for the dot products
    chunks = caption_chunks(PARAGRAPH)
    # every chunk fits the window, and no word is dropped on the way
    assert all(len(chunk.split()) <= CHUNK_WORDS for chunk in chunks)
    assert " ".join(chunks).split() == PARAGRAPH.split()


def test_short_captions_are_embedded_as_before_in_one_call():
    embedder = WindowedEmbedder()
    texts = ["a red car", "a blue boat on the sea"]
    assert np.array_equal(embed_texts(embedder, texts), WindowedEmbedder().encode(texts))
    assert embedder.calls == [texts]


def test_one_sentence_longer_than_the_window_is_cut_not_dropped():
    sentence = " ".join(f"w{number}" for number in range(CHUNK_WORDS * 2 + 5))
    chunks = caption_chunks(sentence)
    assert [len(chunk.split()) for chunk in chunks] == [CHUNK_WORDS, CHUNK_WORDS, 5]


def test_short_forms_of_a_long_caption():
    assert first_sentence(PARAGRAPH) == "A red car stands in the street."
    assert first_sentence("a dog on a beach") == "a dog on a beach"  # a COCO caption is its own first sentence
    line = one_line(PARAGRAPH)
    assert len(line) <= 110 and line.endswith("…") and "\n" not in line
    assert one_line("a dog on a beach") == "a dog on a beach"


def test_cleaning_and_the_repeat_block_leave_every_evaluation_caption_as_it_was():
    from tests.eval.heldout import wedding_library
    from tests.eval.libraries import libraries

    captions = sorted({caption for library in [*libraries(), wedding_library()] for caption in library.captions})
    assert len(captions) > 900
    # what a good captioner writes comes through cleaning unchanged: libraries hold thousands of these
    assert [caption for caption in captions if clean_caption(caption) != caption] == []
    # and none repeats a 3-word sequence, which is all vit-gpt2's no_repeat_ngram_size=3 forbids
    trigrams = [[tuple(caption.lower().split()[i : i + 3]) for i in range(len(caption.split()) - 2)] for caption in captions]
    assert all(len(grams) == len(set(grams)) for grams in trigrams)


def test_cli_prints_a_long_caption_on_one_line_and_json_keeps_it_whole(photo_tree, data_dir):
    with Store.open(data_dir) as store:
        index_with(store, [photo_tree["root"]], FakeCaptioner())
        file_id = store.search("red car").hits[0].image.id
        store.set_caption(file_id, PARAGRAPH)
    runner = CliRunner()
    text = runner.invoke(cli, ["search", "boat", "--data-dir", str(data_dir)])
    path, caption = text.stdout.splitlines()[0].split("  ", 1)
    assert caption == one_line(PARAGRAPH) and caption.startswith("A red car stands")
    rows = json.loads(runner.invoke(cli, ["search", "boat", "--data-dir", str(data_dir), "--json"]).stdout)
    assert rows[0]["caption"] == PARAGRAPH  # a tool reading JSON gets every word


def test_every_chunk_fits_the_default_embedders_window():
    from pathlib import Path

    from tokenizers import Tokenizer

    from indexer.models.caption_embedder import DEFAULT_EMBEDDER, embedder_location

    tokenizer = Tokenizer.from_file(str(Path(embedder_location(DEFAULT_EMBEDDER)) / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    prose = " ".join(
        ["An older woman in a red jacket stands on a snowy ridge with a walking stick, near weathered fence-posts."] * 40
    )
    chunks = caption_chunks(prose)
    # MiniLM reads 256 word pieces, [CLS] and [SEP] included: a chunk past that would lose its end
    assert len(chunks) > 1 and max(len(tokenizer.encode(chunk).ids) for chunk in chunks) <= 256
