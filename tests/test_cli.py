"""The CLI contract through click's CliRunner: commands, flags, JSON fields, exit codes."""

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from db.errors import UsageError
from db.store import Store
from indexer import pipeline
from indexer.cli import cli
from tests.conftest import FakeCaptioner
from tests.photos import photo, save_jpeg


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def indexed_cli(runner, photo_tree, data_dir, monkeypatch):
    # The CLI's own code path, with the fake captioner instead of a model.
    monkeypatch.setattr(pipeline, "load_captioner", lambda options: FakeCaptioner(options.model or "fake-model"))
    result = runner.invoke(cli, ["index", str(photo_tree["root"]), "--data-dir", str(data_dir), "--model", "fake-model"])
    assert result.exit_code == 0, result.output
    return photo_tree, data_dir, result


def test_index_prints_one_line_summary_then_the_failed_files(indexed_cli):
    tree, _, result = indexed_cli
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("15 captioned, 0 unchanged, 1 reused, 4 failed, 0 removed in ")
    # which files failed and why, not only how many
    failed = [line for line in lines[1:] if line.startswith("  failed: ")]
    assert len(failed) == 4 and any(str(tree["bad"]["text"]) in line and "not an image" in line for line in failed)
    # the model line comes first, on stderr, so a slow first load never looks like a hang
    assert result.stderr.startswith("loading model fake-model")


def test_a_run_that_names_no_model_captions_as_the_library_did(runner, photo_tree, data_dir, monkeypatch):
    loaded = []

    def load(options):
        loaded.append((options.model, options.prompt))
        return FakeCaptioner(options.model)

    monkeypatch.setattr(pipeline, "load_captioner", load)
    monkeypatch.delenv("CAPTIONARY_MODEL", raising=False)
    index = ["index", str(photo_tree["root"]), "--data-dir", str(data_dir), "--no-embeddings", "--image-embedder", "none"]
    first = runner.invoke(cli, [*index, "--model", "/models/mine", "--prompt", "a photo of"])
    assert first.exit_code == 0, first.output
    save_jpeg(photo(noise=30, seed=70), photo_tree["root"] / "new.jpg")
    # A plain re-run (README: "re-run any time"): the library's model and prompt, not a download of the default,
    # and no hint to --recaption photos that were captioned just so (was: "15 captions are from another model")
    again = runner.invoke(cli, index)
    assert again.exit_code == 0, again.output
    assert loaded == [("/models/mine", "a photo of")] * 2 and "another model" not in again.stdout
    assert again.stdout.startswith("1 captioned")
    # A model named is the library's from then on
    save_jpeg(photo(noise=30, seed=71), photo_tree["root"] / "newer.jpg")
    assert runner.invoke(cli, [*index, "--model", "/models/other"]).exit_code == 0
    save_jpeg(photo(noise=30, seed=72), photo_tree["root"] / "newest.jpg")
    last = runner.invoke(cli, index)
    assert last.exit_code == 0 and loaded[-1] == ("/models/other", None), (loaded, last.output)


def test_index_lists_five_failures_unless_verbose(runner, photo_tree, data_dir, monkeypatch):
    monkeypatch.setattr(pipeline, "load_captioner", lambda options: FakeCaptioner(options.model or "fake-model"))
    for number in range(7):
        (photo_tree["root"] / f"broken{number}.jpg").write_bytes(b"not a photo")
    arguments = ["index", str(photo_tree["root"]), "--data-dir", str(data_dir), "--model", "fake-model"]
    lines = runner.invoke(cli, arguments).stdout.splitlines()
    assert sum(line.startswith("  failed: ") for line in lines) == 5 and any("6 more" in line for line in lines)
    for number in range(7):
        (photo_tree["root"] / f"broken{number}.jpg").write_bytes(b"still not a photo")
    lines = runner.invoke(cli, [*arguments, "--verbose"]).stdout.splitlines()
    # the 7 read again and the 4 of the tree that failed before and still fail: every failure stands until fixed
    assert sum(line.startswith("  failed: ") for line in lines) == 11


def test_search_json_shape(runner, indexed_cli):
    tree, data_dir, _ = indexed_cli
    result = runner.invoke(cli, ["search", "red car", "--data-dir", str(data_dir), "--json"])
    assert result.exit_code == 0
    hits = json.loads(result.output)
    assert [hit["path"] for hit in hits] == [str(tree["red"])]
    assert hits[0]["caption"] == "a red car parked on a city street"
    assert isinstance(hits[0]["score"], float) and hits[0]["path"].startswith("/")


def test_search_limit_and_human_output(runner, indexed_cli):
    _, data_dir, _ = indexed_cli
    result = runner.invoke(cli, ["search", "dog", "--data-dir", str(data_dir), "--limit", "2"])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 0 and len(lines) == 2
    # a person reads paths and captions; scores are for --json (issue #12: 0.033 means nothing to a person)
    path, caption = lines[0].split("  ", 1)
    assert path.startswith("/") and caption == "a dog running on the beach near the sea"


def test_query_starting_with_dash_after_double_dash(runner, indexed_cli):
    _, data_dir, _ = indexed_cli
    result = runner.invoke(cli, ["search", "--data-dir", str(data_dir), "--json", "--", "-car"])
    # `-car` reaches the search (not click's option parser) and means NOT car
    paths = [row["path"] for row in json.loads(result.output)]
    assert result.exit_code == 0 and paths and not any("city trip" in path for path in paths)


@pytest.mark.parametrize("query", ['"red car', "dog AND", "path:/etc/passwd", "(dog"])
def test_unparseable_query_exits_2_with_one_line(runner, indexed_cli, query):
    _, data_dir, _ = indexed_cli
    result = runner.invoke(cli, ["search", query, "--data-dir", str(data_dir)])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("Error: ")
    assert "Traceback" not in result.output


def test_empty_query_exits_2(runner, indexed_cli):
    _, data_dir, _ = indexed_cli
    result = runner.invoke(cli, ["search", "  ", "--data-dir", str(data_dir), "--json"])
    assert result.exit_code == 2 and "Empty query" in result.stderr and result.stdout == ""


def test_stats_json(runner, indexed_cli):
    tree, data_dir, _ = indexed_cli
    result = runner.invoke(cli, ["stats", "--data-dir", str(data_dir), "--json"])
    stats = json.loads(result.output)
    assert {"images": 16, "failed": 4, "duplicates": 1, "model": ["fake-model"]}.items() <= stats.items()
    assert stats["roots"] == [str(tree["root"])]


def test_stats_counts_the_edits_and_vectors_of_photos_in_the_library_not_of_those_removed(runner, indexed_cli):
    from sqlalchemy import update

    from db.models import Content

    tree, data_dir, _ = indexed_cli
    stats = ["stats", "--data-dir", str(data_dir), "--json"]
    assert runner.invoke(cli, ["set-caption", str(tree["red"]), "grandpa's car", "--data-dir", str(data_dir)]).exit_code == 0
    with Store.open_existing(data_dir) as store, store.sessions.begin() as session:  # vectors for every photo
        session.execute(
            update(Content).values(embedder="mini", embedding=b"\0" * 8, image_embedder="clip", image_embedding=b"\0" * 8)
        )
    before = json.loads(runner.invoke(cli, stats).stdout)
    assert before["edited"] == 1 and before["embedders"] == {"mini": before["images"] - before["duplicates"]}
    tree["red"].unlink()
    index = ["index", str(tree["root"]), "--data-dir", str(data_dir), "--model", "fake-model", "--no-embeddings"]
    assert runner.invoke(cli, [*index, "--image-embedder", "none"]).exit_code == 0
    after = json.loads(runner.invoke(cli, stats).stdout)
    # was: "1 edited" and one vector more than there are photos, from the removed photo's content kept for a while
    assert after["images"] == before["images"] - 1 and after["edited"] == 0
    distinct = after["images"] - after["duplicates"]
    assert after["embedders"] == {"mini": distinct} and after["image_embedders"] == {"clip": distinct}
    assert after["image_embedded"] == distinct


def test_stats_human_lists_failures(runner, indexed_cli):
    _, data_dir, _ = indexed_cli
    result = runner.invoke(cli, ["stats", "--data-dir", str(data_dir)])
    assert "failed:     4" in result.output and "empty file" in result.output
    assert "images:     16 (1 duplicate, 0 edited)" in result.output  # was: "1 duplicates"


def test_stats_marks_a_root_that_does_not_answer_and_does_not_wait_for_it(runner, indexed_cli, monkeypatch):
    import threading

    from indexer.cli import library

    tree, data_dir, _ = indexed_cli
    share_down = threading.Event()  # a look at a network share that is down waits until it is back
    real_isdir = os.path.isdir

    def isdir(path):
        if path == str(tree["root"]):
            share_down.wait(5)  # (5 s: so that a stats that waits fails this test, not hangs it)
        return real_isdir(path)

    monkeypatch.setattr(library.os.path, "isdir", isdir)
    monkeypatch.setattr(library, "ROOT_PROBE_SECONDS", 0.2)
    try:
        result = runner.invoke(cli, ["stats", "--data-dir", str(data_dir)])
    finally:
        share_down.set()
    # was: stats waited with it, for as long as the share was down
    assert result.exit_code == 0
    assert f"root:       {tree['root']}  (not answering after 0.2 s: a network share that is down?)" in result.output


def test_commands_on_missing_index_say_how_to_build_one(runner, tmp_path):
    for command in (["search", "dog"], ["stats"], ["check"]):
        result = runner.invoke(cli, [*command, "--data-dir", str(tmp_path / "none")])
        assert result.exit_code == 1
        assert "captionary index" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "none").exists()  # reading never creates a data dir


def test_data_dir_from_environment(runner, indexed_cli, monkeypatch):
    _, data_dir, _ = indexed_cli
    monkeypatch.setenv("CAPTIONARY_DATA_DIR", str(data_dir))
    result = runner.invoke(cli, ["stats", "--json"])
    assert json.loads(result.output)["images"] == 16


def test_check_and_rebuild_fulltext(runner, indexed_cli):
    tree, data_dir, _ = indexed_cli
    ok = runner.invoke(cli, ["check", "--data-dir", str(data_dir), "--json"])
    assert ok.exit_code == 0 and json.loads(ok.output)["ok"] is True
    tree["park"].unlink()
    bad = runner.invoke(cli, ["check", "--data-dir", str(data_dir), "--json"])
    assert bad.exit_code == 1 and json.loads(bad.output)["missing_on_disk"] == [str(tree["park"])]
    rebuilt = runner.invoke(cli, ["rebuild-fulltext", "--data-dir", str(data_dir)])
    assert rebuilt.exit_code == 0 and "16 images" in rebuilt.output


def test_forget_unknown_root_is_a_clear_error(runner, indexed_cli, tmp_path):
    _, data_dir, _ = indexed_cli
    result = runner.invoke(cli, ["forget", str(tmp_path / "elsewhere"), "--data-dir", str(data_dir)])
    assert result.exit_code == 1 and "not an indexed root" in result.stderr


def test_forget_of_an_empty_path_is_refused_not_read_as_the_current_folder(runner, indexed_cli, monkeypatch):
    tree, data_dir, _ = indexed_cli
    monkeypatch.chdir(tree["root"])  # the indexed root itself: "" must not name it
    result = runner.invoke(cli, ["forget", "", "--data-dir", str(data_dir)])
    assert result.exit_code == 2 and "empty path" in result.stderr and result.stderr.count("\n") == 1
    with Store.open(data_dir) as store:
        with pytest.raises(UsageError, match="empty path"):
            store.forget_root("")
    stats = runner.invoke(cli, ["stats", "--json", "--data-dir", str(data_dir)])
    assert json.loads(stats.output)["roots"] == [str(tree["root"])]


def test_set_caption_revert_goes_back_to_the_models_caption(runner, indexed_cli):
    tree, data_dir, _ = indexed_cli
    options = ["--data-dir", str(data_dir), "--embedder", "none"]
    assert runner.invoke(cli, ["set-caption", str(tree["red"]), "a green bicycle", *options]).exit_code == 0
    result = runner.invoke(cli, ["set-caption", str(tree["red"]), "--revert", *options])
    assert result.exit_code == 0 and result.output == f"{tree['red']}: a red car parked on a city street\n"
    with Store.open(data_dir) as store:
        record = store.image_by_path(str(tree["red"]))
        assert record.caption == "a red car parked on a city street" and not record.edited


def test_an_empty_caption_names_the_command_that_reverts_it(runner, indexed_cli):
    tree, data_dir, _ = indexed_cli
    result = runner.invoke(cli, ["set-caption", str(tree["red"]), " ", "--data-dir", str(data_dir), "--embedder", "none"])
    assert result.exit_code == 1 and "captionary set-caption PATH --revert" in result.stderr


@pytest.mark.parametrize("arguments", [["a green bicycle", "--revert"], []], ids=["both", "neither"])
def test_set_caption_takes_the_text_or_revert_never_both_nor_neither(runner, indexed_cli, arguments):
    tree, data_dir, _ = indexed_cli
    result = runner.invoke(cli, ["set-caption", str(tree["red"]), *arguments, "--data-dir", str(data_dir)])
    assert result.exit_code == 2 and "--revert" in result.stderr and result.stderr.count("\n") == 1
    with Store.open(data_dir) as store:
        assert not store.image_by_path(str(tree["red"])).edited


@pytest.mark.parametrize("command", [["forget", "ROOT"], ["reembed"]])
def test_forget_and_reembed_wait_for_no_index_run_they_would_race(runner, indexed_cli, command):
    from filelock import FileLock

    tree, data_dir, _ = indexed_cli
    arguments = [str(tree["root"]) if word == "ROOT" else word for word in command]
    stats = ["stats", "--json", "--data-dir", str(data_dir)]
    before = json.loads(runner.invoke(cli, stats).output)
    with FileLock(str(data_dir / "index.lock")):  # an index run of the same library, in another process
        result = runner.invoke(cli, [*arguments, "--data-dir", str(data_dir)])
    assert result.exit_code == 1 and "already running" in result.stderr and "Traceback" not in result.output
    assert json.loads(runner.invoke(cli, stats).output) == before  # reembed took no lock and ran


def test_caption_command_json_with_a_failure(runner, tiny_model, photo_tree):
    result = runner.invoke(
        cli,
        [
            "caption",
            str(photo_tree["red"]),
            str(photo_tree["bad"]["text"]),
            "http://127.0.0.1:9/x.jpg",
            "--model",
            str(tiny_model),
            "--json",
        ],
    )
    # one failed source -> exit 1, but every other image still gets its caption
    assert result.exit_code == 1
    items = json.loads(result.stdout)
    assert items[0]["image"] == str(photo_tree["red"]) and items[0]["caption"]
    assert items[1] == {"image": str(photo_tree["bad"]["text"]), "error": "not an image (unrecognised format)"}
    assert items[2]["error"].startswith("refused: 127.0.0.1")  # a loopback address is never fetched


def test_caption_fetches_urls(runner, tiny_model, photo_tree, monkeypatch):
    import http.server
    import threading

    from indexer import fetch

    monkeypatch.setattr(fetch, "is_public_address", lambda address: True)  # the test server is on loopback

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(photo_tree["red"].parent), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/IMG_0001.jpg"
        result = runner.invoke(cli, ["caption", url, "--model", str(tiny_model), "--json"])
    finally:
        server.shutdown()
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["caption"]


def test_bad_model_is_one_line_exit_1(runner, photo_tree, tmp_path):
    result = runner.invoke(cli, ["caption", str(photo_tree["red"]), "--model", str(tmp_path / "missing")])
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "no such folder" in result.stderr


def test_an_unexpected_database_error_is_sqlites_message_not_the_statement(runner, indexed_cli, monkeypatch):
    import sqlite3

    from sqlalchemy.exc import OperationalError

    _, data_dir, _ = indexed_cli
    from db.store import Store

    statement = "SELECT files.id FROM files WHERE " + " OR ".join(["files.folder = ?"] * 2000)

    def broken(self, *args, **kwargs):
        raise OperationalError(statement, ["/photos/2019"] * 2000, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(Store, "stats", broken)
    result = runner.invoke(cli, ["stats", "--data-dir", str(data_dir)])
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: OperationalError: database is locked (set CAPTIONARY_DEBUG=1 for a traceback)"

    def long_winded(self, *args, **kwargs):
        raise RuntimeError("x" * 5000)

    monkeypatch.setattr(Store, "stats", long_winded)
    shown = runner.invoke(cli, ["stats", "--data-dir", str(data_dir)]).stderr.strip()
    assert shown.startswith("Error: RuntimeError: xxx") and "x…" in shown and len(shown) < 400


def test_unexpected_errors_are_one_line_unless_debug(runner, indexed_cli, monkeypatch):
    _, data_dir, _ = indexed_cli
    from db.store import Store

    def broken(self, *args, **kwargs):
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(Store, "stats", broken)
    result = runner.invoke(cli, ["stats", "--data-dir", str(data_dir)])
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: RuntimeError: disk on fire second line (set CAPTIONARY_DEBUG=1 for a traceback)"
    for off in ("0", "false", "no", ""):
        monkeypatch.setenv("CAPTIONARY_DEBUG", off)
        assert runner.invoke(cli, ["stats", "--data-dir", str(data_dir)]).stderr == result.stderr, off
    monkeypatch.setenv("CAPTIONARY_DEBUG", "1")
    debugged = runner.invoke(cli, ["stats", "--data-dir", str(data_dir)])
    assert isinstance(debugged.exception, RuntimeError) and "Error:" not in debugged.stderr  # raised, for its traceback


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_output_to_a_full_disk_says_so_in_one_line(indexed_cli):
    _, data_dir, _ = indexed_cli
    with open("/dev/full", "w") as full:
        command = [sys.executable, "-m", "indexer", "stats", "--data-dir", str(data_dir)]
        result = subprocess.run(command, stdout=full, stderr=subprocess.PIPE, text=True)
    assert result.returncode == 1  # was: "Error: OSError: [Errno 28] No space left on device (set CAPTIONARY_DEBUG=1 ...)"
    assert result.stderr.strip() == "Error: No space left on the disk: free some space, then run the command again"


def test_indexing_the_librarys_own_folder_is_refused_as_bad_usage(runner, tmp_path):
    library = tmp_path / "photos" / ".library"
    (library / "thumbnails").mkdir(parents=True)
    for root in (library, library / "thumbnails"):
        result = runner.invoke(cli, ["index", str(root), "--data-dir", str(library)])
        assert result.exit_code == 2 and "the library's own folder" in result.stderr, result.output  # was: exit 0, a root
    with Store.open(library) as store:
        assert store.stats()["roots"] == []


def test_a_library_path_under_a_file_is_named_as_such_not_sent_to_index(runner, tmp_path):
    (tmp_path / "notes.txt").write_text("a file")
    result = runner.invoke(cli, ["stats", "--data-dir", str(tmp_path / "notes.txt" / "library")])
    assert result.exit_code == 1 and f"{tmp_path / 'notes.txt'} is a file" in result.stderr, result.output
    assert "captionary index" not in result.stderr  # was: advice to index there, which then failed


def test_a_root_not_mounted_among_others_is_skipped_with_a_warning_and_the_others_are_indexed(
    runner, photo_tree, data_dir, tmp_path, monkeypatch
):
    monkeypatch.setattr(pipeline, "load_captioner", lambda options: FakeCaptioner(options.model or "fake-model"))
    usb = tmp_path / "usb"
    save_jpeg(photo(seed=7), usb / "trip" / "IMG_7.jpg")
    index = ["index", "--data-dir", str(data_dir), "--model", "fake-model"]
    assert runner.invoke(cli, [*index, str(usb)]).exit_code == 0
    os.rename(usb, tmp_path / "unplugged")  # the disk is taken away
    result = runner.invoke(cli, [*index, str(photo_tree["root"]), str(usb)])
    # was: exit 2, "Directory '.../usb' does not exist", and nothing indexed
    assert result.stdout.startswith("15 captioned, 0 unchanged, 1 reused, 4 failed, 0 removed in "), result.output
    named = [line for line in result.stderr.splitlines() if str(usb) in line]
    assert len(named) == 1 and named[0].startswith(f"warning: {usb} is not found") and "skipped" in named[0], named
    assert result.exit_code == 1  # what was asked was not all done, as `caption` and `export-xmp` say of theirs
    stats = json.loads(runner.invoke(cli, ["stats", "--data-dir", str(data_dir), "--json"]).stdout)
    assert stats["images"] == 17 and stats["roots"] == sorted([str(photo_tree["root"]), str(usb)])  # its photo is kept
    alone = runner.invoke(cli, [*index, str(usb)])
    assert alone.exit_code == 2 and alone.stderr.count("\n") == 1 and "does not exist" in alone.stderr  # as before
    assert "captionary forget" in alone.stderr  # the way out, if it was moved rather than unplugged
