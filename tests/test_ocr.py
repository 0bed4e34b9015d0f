"""Text in photos: read at index time with the PP-OCRv6 models rapidocr ships (no download), only where the
detector finds text, searchable as `text:` and by default, remembered by the library, never re-captioning."""

from __future__ import annotations

import json
import shutil
import signal

import pytest
from click.testing import CliRunner

from db.store import Store
from indexer.cli import cli
from indexer.models.ocr import TextReader
from tests.conftest import FakeCaptioner
from tests.helpers import index_with, paths_found
from tests.text_photos import TEXT_PHOTOS, write_text_photos


@pytest.fixture(scope="module")
def reader() -> TextReader:
    return TextReader(threads=1)  # the real engine, shared: loading it is the slow part; two test workers share two cores


@pytest.fixture
def texts(tmp_path, data_dir, reader):
    paths = write_text_photos(tmp_path / "photos")
    reader.detections = reader.recognitions = 0
    captioner = FakeCaptioner()
    with Store.open(data_dir) as store:
        report = index_with(store, [tmp_path / "photos"], captioner, ocr=True, text_reader_factory=lambda _: reader)
        yield store, {name: str(path) for name, path in paths.items()}, report, captioner, tmp_path / "photos"


def test_words_in_photos_are_found_by_text_and_by_a_plain_search(texts):
    store, paths, report, *_ = texts
    for name in ("sign", "angled", "night", "screenshot"):
        for word in TEXT_PHOTOS[name]:
            assert paths[name] in paths_found(store, f"text:{word}"), (name, word)
    assert paths_found(store, "bakery") == {paths["sign"]}  # a word on a sign is a match, by default
    assert paths_found(store, '"budget review"') == {paths["screenshot"]}  # phrases work too
    assert report.ocr_read == 7 and report.ocr_with_text >= 4
    assert store.image_by_path(paths["landscape"]).text == ""  # read, and none there


def test_the_detector_skips_recognition_where_there_is_no_text(texts, reader):
    store, paths, *_ = texts
    # every photo was looked at, only those with a text area were recognised (the textless two were not)
    assert (reader.detections, reader.recognitions) == (7, 5)
    assert store.image_by_path(paths["shapes"]).text == "" and store.image_by_path(paths["landscape"]).text == ""


def test_text_is_in_json_rows_and_stats(texts, data_dir):
    rows = json.loads(CliRunner().invoke(cli, ["search", "text:exit", "--json", "--data-dir", str(data_dir)]).output)
    assert [row["text"].lower() for row in rows] == ["exit"]
    store, *_ = texts
    assert store.stats()["text_read"] == 7 and store.stats()["with_text"] >= 4


def test_ocr_added_later_reads_existing_photos_once_without_recaptioning(tmp_path, data_dir, reader):
    root = tmp_path / "photos"
    write_text_photos(root, ["sign", "shapes"])
    captioner = FakeCaptioner()
    with Store.open(data_dir) as store:
        index_with(store, [root], captioner)  # no OCR: the library never asked for it
        assert paths_found(store, "bakery") == set() and store.stats()["text_read"] == 0
        captioned = sum(captioner.batches)
        report = index_with(store, [root], captioner, ocr=True, text_reader_factory=lambda _: reader)
        assert sum(captioner.batches) == captioned  # the photos were read, not captioned again
        assert report.ocr_read == 2 and paths_found(store, "bakery") == {str(root / "sign.jpg")}
        write_text_photos(root, ["night"])
        later = index_with(store, [root], captioner, text_reader_factory=lambda _: reader)  # no flag: remembered
        assert later.ocr_read == 1 and paths_found(store, "exit") == {str(root / "night.jpg")}
        write_text_photos(root / "more", ["screenshot"])
        off = index_with(store, [root], captioner, ocr=False, text_reader_factory=lambda _: reader)
        assert off.ocr_read == 0 and paths_found(store, "budget") == set()  # --no-ocr: off, and remembered


def texts_by_path(data_dir) -> dict[str, str | None]:
    with Store.open_existing(data_dir) as store:
        return {hit.image.path: hit.image.text for hit in store.search("*", limit=1000).hits}


@pytest.mark.slow
def test_a_kill_while_reading_text_then_a_rerun_equals_a_clean_run(tmp_path, tiny_model):
    from tests.helpers import captionary_here
    from tests.test_end_to_end import captionary

    root = tmp_path / "photos"
    write_text_photos(root)  # 7 photos: the killed run's text pass commits 4, then 3
    common = ("--model", tiny_model, "--no-embeddings", "--image-embedder", "none", "--no-thumbnails")
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    captionary_here("index", root, "--data-dir", clean, *common)  # without OCR first, so the text pass does the reading
    shutil.copytree(clean, killed)
    captionary_here("index", root, "--data-dir", clean, "--ocr", *common)
    in_fours = {"CRASHING_OCR_BATCH": "4"}
    stopped = captionary("index", root, "--data-dir", killed, "--ocr", *common, env=in_fours, stop=("kill", "ocr:2"), check=False)
    assert stopped.returncode == -signal.SIGKILL, stopped.stderr
    partial = texts_by_path(killed)
    assert sum(text is not None for text in partial.values()) == 4  # the first batch committed, the second lost
    resumed = captionary_here("index", root, "--data-dir", killed, *common)  # OCR remembered from the killed run
    assert "3 photos" in resumed.stdout  # only what the kill lost is read again
    assert texts_by_path(killed) == texts_by_path(clean)


def test_paging_contents_without_text_does_not_stop_at_a_page_of_orphans(tmp_path, data_dir):
    root = tmp_path / "photos"
    paths = write_text_photos(root, ["sign", "night"])  # night.jpg is indexed first: the lower content id
    with Store.open(data_dir) as store:
        index_with(store, [root], FakeCaptioner())
        paths["night"].unlink()
        index_with(store, [root], FakeCaptioner())  # its content is an orphan now, kept for 30 days
        # a page of one: the orphan must not fill it (an empty page ends the text pass and reembed --images)
        assert store.catalog.without_text(0, 1) == [(_content_id(store, paths["sign"]), str(paths["sign"]))]


def _content_id(store, path) -> int:
    from sqlalchemy import select

    from db.models import File

    with store.sessions() as session:
        return session.scalar(select(File.content_id).where(File.path == str(path)))
