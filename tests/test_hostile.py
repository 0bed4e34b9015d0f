"""Hostile files, hostile text, long-lived servers (issue #13): each test failed on the code before its fix."""

import csv
import http.server
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from db.errors import BusyError, DamagedCatalogError, QueryError
from db.export import write_csv, write_json
from db.models import Content, File
from db.sequence import next_seq
from db.store import Store
from indexer import fetch
from indexer.cli import cli
from indexer.imaging import ImageReadError
from tests.conftest import FakeCaptioner
from tests.helpers import index_with, paths_found
from tests.photos import photo, save_jpeg


@pytest.fixture
def store(photo_tree, data_dir):
    with Store.open(data_dir) as opened:
        index_with(opened, [photo_tree["root"]], FakeCaptioner())
        yield opened


def browse_total(store: Store) -> int:
    return store.search("", sort="date", mode="keyword").total


# -- 1. a long-lived store (the app) after edits -----------------------------------------------------


def test_long_lived_store_counts_each_photo_once_across_edits_and_deletions(store, photo_tree):
    before = browse_total(store)
    red = store.image_by_path(photo_tree["red"])
    for number in range(3):  # each edit replaces a document in a segment the open searcher already read
        store.edit_tags(red.id, add=[f"tag{number}"])
        store.set_caption(red.id, f"an old red car, take {number}")
    assert browse_total(store) == before  # was before + 6: refreshed readers kept the old deletions
    assert store.search("car", mode="keyword").total == 1
    photo_tree["red"].unlink()
    index_with(store, [photo_tree["root"]], FakeCaptioner())
    assert browse_total(store) == before - 1 and store.search("car", mode="keyword").total == 0


def test_long_lived_store_sees_another_process_index_run_once(store, photo_tree, data_dir, tiny_model):
    before = browse_total(store)
    save_jpeg(photo(colour=(30, 200, 30)), photo_tree["root"] / "new" / "fresh.jpg")
    save_jpeg(photo(colour=(240, 240, 240)), photo_tree["red"])  # edited bytes: its document is replaced
    subprocess.run(
        [
            sys.executable,
            "-m",
            "indexer",
            "index",
            str(photo_tree["root"]),
            "--data-dir",
            str(data_dir),
            "--model",
            str(tiny_model),
            "--no-embeddings",
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert browse_total(store) == before + 1


def test_app_after_saving_tags_shows_each_photo_once(store, data_dir, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.test_app import APP

    monkeypatch.setenv("CAPTIONARY_DATA_DIR", str(data_dir))
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    first = app.session_state["result_ids"]
    for number in range(3):
        file_id = app.session_state["result_ids"][0]
        app.button(key=f"open-{file_id}").click().run()
        app.text_input(key=f"tags-{file_id}-text").input(f"mine{number}")
        next(button for button in app.button if button.label == "Save tags").click().run()
        app.button(key="detail-back").click().run()
        assert not app.exception, app.exception  # was StreamlitDuplicateElementKey: key='open-N'
    ids = app.session_state["result_ids"]
    assert len(ids) == len(set(ids)) == len(first)


# -- 2, 3. the URL box: http(s) only, public addresses only, one deadline ------------------------------


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "/etc/passwd", "ftp://example.com/x.jpg", "file:///dev/zero", "gopher://x"]
)
def test_only_http_urls_are_fetched(url):
    with pytest.raises(ImageReadError, match="only http"):
        fetch.fetch_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x.jpg",
        "http://localhost/x.jpg",
        "http://10.0.0.1/x.jpg",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x.jpg",
        "http://0.0.0.0/x.jpg",
    ],
)
def test_private_and_loopback_addresses_are_refused(url):
    with pytest.raises(ImageReadError, match="is a private, loopback or link-local address"):
        fetch.fetch_url(url)


class _Server:
    """A local HTTP server on an address of our choosing, counting the requests it answered."""

    def __init__(self, address: str, handler) -> None:
        self.hits = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hits += 1
                handler(self)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer((address, 0), Handler)
        self.url = f"http://{address}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_a_redirect_to_an_internal_address_is_refused_before_it_is_followed(monkeypatch):
    internal = _Server("127.0.0.2", lambda request: request.send_error(500))

    def redirect(request):
        request.send_response(302)
        request.send_header("Location", internal.url + "/internal")
        request.end_headers()

    public = _Server("127.0.0.1", redirect)
    # The test's stand-in for a public server is 127.0.0.1; 127.0.0.2 plays the internal one.
    monkeypatch.setattr(fetch, "is_public_address", lambda address: address == "127.0.0.1")
    try:
        with pytest.raises(ImageReadError, match="refused: 127.0.0.2"):
            fetch.fetch_url(public.url + "/photo.jpg")
        assert public.hits == 1 and internal.hits == 0  # the internal address was never contacted
    finally:
        public.close()
        internal.close()


def test_a_slow_download_stops_at_the_deadline(monkeypatch):
    def trickle(request):
        request.send_response(200)
        request.send_header("Content-Type", "image/jpeg")
        request.end_headers()
        request.wfile.write(b"\xff" * 100)
        try:
            for _ in range(60):  # a byte a second: no single read ever times out
                time.sleep(1)
                request.wfile.write(b"\xff")
                request.wfile.flush()
        except OSError:
            pass

    server = _Server("127.0.0.1", trickle)
    monkeypatch.setattr(fetch, "is_public_address", lambda address: True)
    try:
        started = time.monotonic()
        with pytest.raises(ImageReadError, match="within 2 s"):
            fetch.fetch_url(server.url + "/slow.jpg", deadline_seconds=2)
        assert time.monotonic() - started < 10  # was: hung until killed
    finally:
        server.close()


# -- 4. impossible dates -----------------------------------------------------------------------------


def test_exif_year_one_is_an_unknown_date_and_date_sort_works(photo_tree, data_dir):
    save_jpeg(photo(colour=(30, 30, 220)), photo_tree["root"] / "clock" / "reset.jpg", taken="0001:01:01 00:00:00")
    with Store.open(data_dir) as store:
        index_with(store, [photo_tree["root"]], FakeCaptioner())
        assert store.image_by_path(photo_tree["root"] / "clock" / "reset.jpg").taken_at is None
        # a row stored by an older version keeps its year 1: shown and sorted as unknown, never a crash
        with store.sessions.begin() as session:
            session.execute(update(File).values(taken_at=datetime(1, 1, 1)))
        store.sync_fulltext(rebuild=True)
        assert store.search("", sort="date", mode="keyword").total > 0
        assert store.search("dog", sort="date_asc", mode="keyword").hits
        assert store.image_by_path(photo_tree["red"]).taken_at is None
        rows = list(store.export_rows())
        assert all(row.taken_at is None for row in rows)


# -- 5, 8. what export writes ------------------------------------------------------------------------


def test_control_characters_never_reach_a_sidecar_and_a_broken_own_sidecar_is_repaired(store, photo_tree, tmp_path):
    red = store.image_by_path(photo_tree["red"])
    store.set_caption(red.id, "a red\x01 car")
    assert store.image(red.id).caption == "a red car"  # stripped on the way in
    with store.sessions.begin() as session:  # as an older version stored it
        session.execute(
            update(Content).where(Content.id == session.get(File, red.id).content_id).values(user_caption="a red\x01 car")
        )
    report = store.export_xmp(tmp_path / "sidecars")
    sidecar = tmp_path / "sidecars" / (str(photo_tree["red"]).lstrip("/") + ".xmp")
    ET.fromstring(sidecar.read_bytes())  # well-formed: the character was replaced on the way out
    assert not report.failed
    # A sidecar an older captionary wrote with the raw character could never be updated again.
    sidecar.write_bytes(sidecar.read_bytes().replace(b"\xef\xbf\xbd", b"\x01").replace(b' xmp:CreatorTool="captionary"', b""))
    store.set_caption(red.id, "a fixed caption")
    report = store.export_xmp(tmp_path / "sidecars")
    assert not report.failed and b"a fixed caption" in sidecar.read_bytes()


@pytest.mark.parametrize(
    "foreign",
    [
        b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF><broken",
        # broken only by a control character, but another tool's: it holds a rating, and no description of ours
        b"<x:xmpmeta xmlns:x='adobe:ns:meta/' xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#' "
        b"xmlns:xmp='http://ns.adobe.com/xap/1.0/'><rdf:RDF><rdf:Description xmp:Rating='5'>\x01"
        b"</rdf:Description></rdf:RDF></x:xmpmeta>",
        b"<x:xmpmeta xmlns:x='adobe:ns:meta/' xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>"
        b"<rdf:RDF><rdf:Seq>\x01</rdf:Seq></rdf:RDF></x:xmpmeta>",
    ],
)
def test_someone_elses_broken_sidecar_is_still_left_untouched(store, photo_tree, tmp_path, foreign):
    sidecar = tmp_path / "sidecars" / (str(photo_tree["red"]).lstrip("/") + ".xmp")
    sidecar.parent.mkdir(parents=True)
    sidecar.write_bytes(foreign)
    report = store.export_xmp(tmp_path / "sidecars")
    assert any(path == str(sidecar) for path, _ in report.failed) and sidecar.read_bytes() == foreign


def test_csv_cells_that_look_like_formulas_are_quoted_json_stays_raw(store, photo_tree):
    red = store.image_by_path(photo_tree["red"])
    store.set_caption(red.id, "=cmd|' /C calc'!A0")
    store.edit_tags(red.id, add=["+SUM(1,2)"])
    out = io.StringIO()
    write_csv(store.export_rows(), out)
    row = next(row for row in csv.DictReader(io.StringIO(out.getvalue())) if row["path"] == str(photo_tree["red"]))
    assert row["caption"] == "'=cmd|' /C calc'!A0"
    assert row["tags"].startswith("'+sum(1 2);")  # "+" sorts first among the tags; the comma became a space
    out = io.StringIO()
    write_json(store.export_rows(), out)
    record = next(item for item in json.loads(out.getvalue()) if item["path"] == str(photo_tree["red"]))
    assert record["caption"] == "=cmd|' /C calc'!A0"


# -- 6, 13. files that are not what they say ----------------------------------------------------------


def test_a_huge_file_is_refused_unread(photo_tree, data_dir, monkeypatch):
    from indexer import imaging

    monkeypatch.setattr(imaging, "MAX_PHOTO_BYTES", 10_000)  # a 3 GB test file would be slow to write
    huge = photo_tree["root"] / "huge.jpg"
    huge.write_bytes(b"\xff\xd8" + os.urandom(20_000))
    with Store.open(data_dir) as store:
        index_with(store, [photo_tree["root"]], FakeCaptioner())
        assert ("huge.jpg", "too large (20002 bytes; limit 10000)") in [
            (Path(path).name, error) for path, error in store.failures()
        ]


def test_hashing_streams_the_file(photo_tree, data_dir, monkeypatch):
    import tracemalloc

    big = photo_tree["root"] / "big.jpg"
    big.write_bytes(b"\xff\xd8" + os.urandom(40_000_000))  # not an image, but read to hash it first
    with Store.open(data_dir) as store:
        tracemalloc.start()
        index_with(store, [photo_tree["root"]], FakeCaptioner(), workers=1)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < 20_000_000  # was: the whole 40 MB file in memory at once


def test_a_fifo_swapped_in_after_the_scan_cannot_hang_the_indexer(photo_tree, data_dir, monkeypatch):
    from indexer import imaging

    target = photo_tree["red"]
    original = imaging.open_regular

    def swap_then_open(path, follow_symlinks=False):
        if path == str(target) and not os.path.exists(str(target) + ".swapped"):
            Path(str(target) + ".swapped").touch()
            target.unlink()
            os.mkfifo(target)  # nobody ever writes into it: a blocking open() would wait forever
        return original(path, follow_symlinks)

    monkeypatch.setattr(imaging, "open_regular", swap_then_open)
    photo_tree["red"].touch()  # changed since any earlier scan
    with Store.open(data_dir) as store:
        done = threading.Event()
        worker = threading.Thread(
            target=lambda: (index_with(store, [photo_tree["root"]], FakeCaptioner()), done.set()), daemon=True
        )
        worker.start()
        assert done.wait(120), "the indexer hung on a FIFO"
        assert (str(target), "not a regular file") in store.failures()


# -- 7. file and person text in the app is text ------------------------------------------------------


def test_app_shows_file_and_person_text_as_text(photo_tree, data_dir, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.test_app import APP

    link_name = photo_tree["root"] / "[x](javascript:alert(1)).jpg"
    shutil.copy(photo_tree["red"], link_name)
    with Store.open(data_dir) as store:
        index_with(store, [photo_tree["root"]], FakeCaptioner())
        red = store.image_by_path(link_name)
        store.edit_tags(red.id, add=["![b](http://198.51.100.1/x.png)"])
        store.set_caption(red.id, "see http://198.51.100.1/page and www.example.com")
        with store.sessions.begin() as session:
            session.execute(update(File).values(camera="![c](http://198.51.100.1/y.png)"))
    monkeypatch.setenv("CAPTIONARY_DATA_DIR", str(data_dir))
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.text_input(key="query").input("javascript").run()
    app.button(key=f"open-{red.id}").click().run()
    texts = [element.value for element in [*app.markdown, *app.caption, *app.subheader, *app.success]]
    rendered = [text for text in texts if "198.51.100.1" in text or "javascript" in text or "example" in text]
    assert rendered
    for text in rendered:  # markdown links, images and autolinks need these unescaped
        assert "](" not in text and "![" not in text and "http://" not in text and "www.ex" not in text, text
    pills = app.sidebar.get("button_group")
    assert all("![" not in str(option) for group in pills for option in group.proto.options)


# -- 9. the data dir inside a photo root -------------------------------------------------------------


def test_a_data_dir_inside_the_photo_root_is_never_indexed(photo_tree):
    inside = photo_tree["root"] / "captionary-data"
    counts = []
    with Store.open(inside) as store:
        for _ in range(3):
            index_with(store, [photo_tree["root"]], FakeCaptioner())
            counts.append(store.stats()["images"])
    assert counts[0] == counts[1] == counts[2]  # was 16, 32, 48...: its own thumbnails, indexed
    assert not any("captionary-data" in path for path, _ in store.failures())


# -- 10, 11. queries ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "-folder:/tmp",
        "x-id:5",
        "a.folder:/tmp",
        "red,folder:/tmp",
        "x-path:/etc/passwd",
        "red OR OR blue",
        "NOT NOT red",
        "car AND AND red",
    ],
)
def test_hidden_fields_and_doubled_operators_are_refused_with_a_message(store, query):
    with pytest.raises(QueryError) as raised:
        store.search(query, mode="keyword")
    message = str(raised.value)
    assert "\n" not in message and ("field" in message or "Operator" in message), message


@pytest.mark.parametrize("query", ["after 9999-12-31", "before 0001-01-01", "after 9999-12", "since 9999"])
def test_a_date_past_the_ends_of_the_calendar_is_searched_not_called_damage(store, query):
    assert store.search(query).total == 0  # it used to say the search index was damaged (OverflowError)


def test_a_plain_reading_that_fails_searches_the_words_as_typed_and_calls_nothing_damaged(store, photo_tree, monkeypatch):
    import db.search

    def wrong(*arguments, **options):
        raise OverflowError("date value out of range")  # what "after 9999-12-31" raised

    monkeypatch.setattr(db.search, "understand", wrong)
    page = store.search("red car")  # it used to fail, told to rebuild an index that was fine
    assert str(photo_tree["red"]) in {hit.image.path for hit in page.hits} and page.understood.readings == ()


def test_a_query_with_a_byte_that_is_not_utf8_is_refused_in_one_line(store, data_dir):
    with pytest.raises(QueryError, match=r"byte that is not UTF-8 \(\\xe9\)"):
        store.search("caf\udce9")  # a Latin-1 terminal's é, as Python hands it on
    result = CliRunner().invoke(cli, ["search", "caf\udce9", "--data-dir", str(data_dir)])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "damaged" not in result.stderr


def test_plain_dates_cannot_carry_a_query_past_the_length_limit(store):
    with pytest.raises(QueryError, match="too long"):
        store.search(" ".join(["2019"] * 300))  # 1,499 characters that the plain reading would take out


def test_typed_text_with_a_byte_that_is_not_utf8_is_refused_not_cut(store, photo_tree, data_dir):
    red = str(photo_tree["red"])
    before = store.image_by_path(red)
    runner = CliRunner()
    caption = runner.invoke(cli, ["set-caption", red, "caf\udce9 au lait", "--data-dir", str(data_dir)])
    tagged = runner.invoke(cli, ["tag", red, "--add", "\udce9t\udce9", "--data-dir", str(data_dir)])
    for result in (caption, tagged):
        assert result.exit_code == 2 and "not UTF-8 (\\xe9)" in result.stderr and result.stderr.count("\n") == 1, result.stderr
    after = store.image_by_path(red)
    assert (after.caption, after.tags) == (before.caption, before.tags)


def test_a_leading_minus_means_not(store, photo_tree):
    everything = paths_found(store, "*")
    assert paths_found(store, "-car") == everything - {str(photo_tree["red"])}
    assert str(photo_tree["red"]) not in paths_found(store, "city -car")


def test_plus_and_minus_inside_a_group_beside_or_mean_what_they_mean_alone(store, photo_tree):
    def found(query):
        return paths_found(store, query)

    either = found("(dog -park) OR car")  # Whoosh refused it: "Cannot parse query: Minus"
    assert either == found("dog -park") | found("car") and {str(photo_tree["red"]), str(photo_tree["beach"])} <= either
    assert found('car OR (children -"red car")') == found("car") | found('children -"red car"')
    assert found("(dog +beach) OR (ball -children)") == found("dog beach") | found("ball -children") == found("dog beach")
    # a group of exclusions alone, as NOT says it (was "Cannot parse query: Minus")
    assert found("(-car -dog)") == found("(NOT car NOT dog)") == found("*") - found("car") - found("dog")


def test_a_hyphen_inside_a_word_is_no_minus(store, photo_tree):
    red = str(photo_tree["red"])
    store.set_caption(store.image_by_path(red).id, "a man in a t-shirt having an x-ray")
    assert paths_found(store, "t-shirt") == {red}  # was "t NOT shirt": every photo but this one
    assert paths_found(store, "x-ray man") == {red}
    assert red not in paths_found(store, "man -x-ray") and red not in paths_found(store, "(man -x-ray) OR dog")


def test_wildcards_that_stand_for_too_many_words_are_refused(store, monkeypatch):
    from db import query

    monkeypatch.setattr(query, "MAX_EXPANSIONS", 3)  # a library's vocabulary, in small
    with pytest.raises(QueryError, match="more than 3 different words"):
        store.search("?????*", mode="keyword")
    assert store.search("mount*", mode="keyword").total >= 1


@pytest.mark.parametrize("query", ["img_0001", "IMG_0001.jpg", "file:img_0001", "file:IMG_0001.jpg"])
def test_a_file_name_as_written_finds_the_file(store, photo_tree, query):
    assert str(photo_tree["red"]) in paths_found(store, query)


# -- 12. readers never wait on the writer ------------------------------------------------------------


def test_search_answers_and_edits_give_up_quickly_while_another_process_holds_the_write_lock(
    store, photo_tree, data_dir, monkeypatch
):
    from db import edits

    red = store.image_by_path(photo_tree["red"])
    with store.sessions.begin() as session:  # a committed change the full-text index has not seen yet
        session.execute(update(File).where(File.id == red.id).values(ft_seq=next_seq(session)))
    holder = sqlite3.connect(data_dir / "captionary.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # an index run in the middle of a commit
    holder.execute("UPDATE meta SET value = value WHERE key = 'seq'")
    monkeypatch.setattr(edits, "EDIT_WAIT_SECONDS", 0.5)
    try:
        started = time.monotonic()
        assert store.search("car", mode="keyword").total == 1  # from the index as it is
        assert time.monotonic() - started < 5  # was: 30 s, then "database is locked"
        with pytest.raises(BusyError, match="busy"):
            store.set_caption(red.id, "while locked")
    finally:
        holder.rollback()
        holder.close()
    assert store.set_caption(red.id, "after the lock").caption == "after the lock"


# -- smaller items ------------------------------------------------------------------------------------


def test_an_empty_root_is_not_taken_as_deleted_photos(photo_tree, data_dir, tmp_path):
    with Store.open(data_dir) as store:
        index_with(store, [photo_tree["root"]], FakeCaptioner())
        before = store.stats()["images"]
        hidden = tmp_path / "unmounted"
        photo_tree["root"].rename(hidden)
        photo_tree["root"].mkdir()  # what an unmounted mount point looks like
        report = index_with(store, [photo_tree["root"]], FakeCaptioner())
        assert store.stats()["images"] == before and report.removed == 0 and report.held_back
        report = index_with(store, [photo_tree["root"]], FakeCaptioner(), allow_removal=True)
        assert store.stats()["images"] == 0 and report.removed > 0


def test_cli_warns_when_most_of_a_root_is_gone(photo_tree, data_dir, tmp_path):
    with Store.open(data_dir) as store:
        index_with(store, [photo_tree["root"]], FakeCaptioner())
    shutil.rmtree(photo_tree["root"])
    photo_tree["root"].mkdir()
    result = CliRunner().invoke(
        cli, ["index", str(photo_tree["root"]), "--data-dir", str(data_dir), "--model", str(tmp_path / "never-loaded")]
    )
    assert result.exit_code == 0 and "--allow-removal" in result.stderr and "none were removed" in result.stderr


def test_a_read_only_catalog_can_still_be_searched(store, photo_tree, data_dir):
    store.close()
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    # root can write to any mode; an immutable folder is read-only even for root (a backup, a NAS share)
    made = subprocess.run(["chattr", "-R", "+i", str(data_dir)], capture_output=True)
    if made.returncode:
        pytest.skip(f"chattr +i is not supported here: {made.stderr.decode().strip()}")
    try:
        runner = CliRunner()
        searched = runner.invoke(cli, ["search", "car", "--data-dir", str(data_dir), "--mode", "keyword"])
        assert searched.exit_code == 0 and str(photo_tree["red"]) in searched.output, searched.output
        stats = runner.invoke(cli, ["stats", "--data-dir", str(data_dir), "--json"])
        assert stats.exit_code == 0 and json.loads(stats.output)["images"] > 0
    finally:
        subprocess.run(["chattr", "-R", "-i", str(data_dir)], check=True)


def _folder_not_writable(monkeypatch, folder):
    import db.schema

    real_access = os.access
    monkeypatch.setattr(
        db.schema.os,
        "access",
        lambda path, mode: False if mode == os.W_OK and str(path).startswith(str(folder)) else real_access(path, mode),
    )


def test_a_library_folder_that_cannot_be_written_is_named_not_called_damaged(photo_tree, tmp_path, monkeypatch):
    folder = tmp_path / "read-only"
    folder.mkdir()
    _folder_not_writable(monkeypatch, folder)  # root writes anything: os.access answers as for a person
    result = CliRunner().invoke(cli, ["index", str(photo_tree["root"]), "--data-dir", str(folder), "--model", "m"])
    assert result.exit_code == 1 and "damaged" not in result.output
    assert f"The library folder {folder} cannot be written (read-only?): choose another with --data-dir" in result.output


def test_a_read_only_library_refuses_an_index_run_with_its_reason_and_is_still_searched(store, photo_tree, data_dir, monkeypatch):
    store.close()
    (data_dir / "index.lock").unlink(missing_ok=True)
    _folder_not_writable(monkeypatch, data_dir)
    runner = CliRunner()
    indexed = runner.invoke(cli, ["index", str(photo_tree["root"]), "--data-dir", str(data_dir), "--model", "m"])
    assert indexed.exit_code == 1 and "Permission" not in indexed.output, indexed.output
    assert "can be searched but not changed: its folder is read-only" in indexed.output
    # refused before it writes a thing: where the folder really is read-only, the lock file is what failed
    assert not (data_dir / "index.lock").exists()
    rebuilt = runner.invoke(cli, ["rebuild-fulltext", "--data-dir", str(data_dir)])
    assert rebuilt.exit_code == 1 and "can be searched but not changed" in rebuilt.output, rebuilt.output  # was "damaged"
    searched = runner.invoke(cli, ["search", "car", "--data-dir", str(data_dir), "--mode", "keyword"])
    assert searched.exit_code == 0 and str(photo_tree["red"]) in searched.output


def test_a_damaged_or_empty_catalog_says_so(tmp_path):
    runner = CliRunner()
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "captionary.db").write_bytes(b"this is not a database" * 100)
    result = runner.invoke(cli, ["stats", "--data-dir", str(damaged)])
    assert result.exit_code == 1 and "is damaged" in result.stderr and "sqlalche.me" not in result.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "captionary.db").write_bytes(b"")
    for command in (["check"], ["stats"]):
        result = runner.invoke(cli, [*command, "--data-dir", str(empty)])
        assert result.exit_code == 1 and "empty (0 bytes)" in result.stderr
    with pytest.raises(DamagedCatalogError):
        Store.open(empty)
    assert (empty / "captionary.db").stat().st_size == 0  # not silently made into a new library


def test_search_into_a_closed_pipe_ends_quietly(store, data_dir):
    command = f"{sys.executable} -m indexer search '*' --limit 1000 --mode keyword --data-dir {data_dir} | head -c 1 > /dev/null"
    for _ in range(3):  # small outputs may fit in the pipe before head exits: more tries, more chances
        result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)
        assert "BrokenPipe" not in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_app_on_the_network_warns_and_names_its_own_address(monkeypatch, data_dir):
    import indexer.cli.commands

    calls = []
    monkeypatch.setattr(indexer.cli.commands, "run_streamlit", lambda command, env: calls.append(command))
    result = CliRunner().invoke(cli, ["app", "--host", "0.0.0.0", "--data-dir", str(data_dir)])
    assert "reachable from the network" in result.stderr
    command = calls[0]
    # Streamlit prints this address rather than looking up the machine's external IP on the internet
    assert command[command.index("--browser.serverAddress") + 1] == "0.0.0.0"
    assert command[command.index("--client.toolbarMode") + 1] == "minimal"
    # code changed under a running app (an upgrade in place) is not re-imported beside the library it holds
    assert command[command.index("--server.fileWatcherType") + 1] == "none"


def test_app_on_a_port_in_use_says_so_in_one_line(monkeypatch, data_dir):
    import socket

    import indexer.cli.commands

    calls = []
    monkeypatch.setattr(indexer.cli.commands, "run_streamlit", lambda command, env: calls.append(command))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        said = f"Error: port {port} is in use (another captionary app?): pick another with --port, or stop that one\n"
        # localhost as Streamlit binds it, IPv4, even where the system lists ::1 first
        for host in ("127.0.0.1", "localhost"):
            result = CliRunner().invoke(cli, ["app", "--port", str(port), "--host", host, "--data-dir", str(data_dir)])
            # was Streamlit's log line, "2026-12-07 12:39:06.995 Port 8620 is not available", from the server it started
            assert result.exit_code == 1 and calls == [] and result.stderr == said, result.output
    result = CliRunner().invoke(cli, ["app", "--host", "192.0.2.1", "--data-dir", str(data_dir)])  # not this machine's
    assert result.exit_code == 1 and calls == [] and result.stderr.startswith("Error: cannot listen at 192.0.2.1:8501: ")


def test_a_photo_replaced_by_a_link_is_not_shown_through_it(store, photo_tree, tmp_path):
    from indexer.imaging import check_indexed_file

    red = store.image_by_path(photo_tree["red"])
    check_indexed_file(red.path, red.size)
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the app")
    photo_tree["red"].unlink()
    photo_tree["red"].symlink_to(secret)
    with pytest.raises(ImageReadError, match="replaced by a link"):
        check_indexed_file(red.path, red.size)


def test_https_is_verified_against_the_name_even_though_the_connection_goes_to_the_checked_address(tmp_path, monkeypatch):
    import ssl

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    key, certificate = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(certificate),
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ],
        check=True,
        capture_output=True,
    )
    server = _Server("127.0.0.1", lambda request: request.send_error(404))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    server.server.socket = context.wrap_socket(server.server.socket, server_side=True)
    monkeypatch.setattr(fetch, "is_public_address", lambda address: True)
    try:
        # a certificate nobody vouches for is refused: TLS is checked, not switched off by the pinning
        with pytest.raises(ImageReadError, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
            fetch.fetch_url(
                server.url.replace("http://", "https://").replace("127.0.0.1", "localhost") + "/x.jpg", deadline_seconds=5
            )
    finally:
        server.close()


def test_a_library_deleted_while_it_is_indexed_is_not_reported_as_indexed(photo_tree, tmp_path):
    from db.errors import CaptionaryError

    data_dir = tmp_path / "library"

    class DeletingCaptioner(FakeCaptioner):
        def caption(self, images):
            if not self.batches:
                data_dir.rename(tmp_path / "moved")  # a person moving (or deleting) the library's folder mid-run
            return super().caption(images)

    with Store.open(data_dir) as store, pytest.raises(CaptionaryError, match="was deleted or moved while this command ran"):
        index_with(store, [photo_tree["root"]], DeletingCaptioner(), batch_size=4)  # was: a summary of success, exit 0
    assert not data_dir.exists()  # nothing made again where the library was


def test_ctrl_c_while_the_command_is_still_importing_says_aborted_in_one_line(data_dir):
    """The second of imports before click's own handler is in place: Ctrl-C there is answered as click answers it."""
    interrupted_import = (
        "import builtins, sys\n"
        "real = builtins.__import__\n"
        "def importing(name, *args, **kwargs):\n"
        "    if name == 'sqlalchemy':\n"
        "        raise KeyboardInterrupt\n"
        "    return real(name, *args, **kwargs)\n"
        "builtins.__import__ = importing\n"
        "sys.argv = ['captionary', 'stats', '--data-dir', sys.argv[1]]\n"
        "from indexer.cli import main\n"
        "main()\n"
    )
    run = subprocess.run([sys.executable, "-c", interrupted_import, str(data_dir)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and run.stderr.strip() == "Aborted!", run.stderr
