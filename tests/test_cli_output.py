"""What `captionary` puts on the screen (issue #24, items 23, 25 and 26): a summary line that adds up, usage
errors in one line that names the fix, a progress bar that shares its line with nothing."""

import io
import sys
import time

import pytest
from click.testing import CliRunner

from db.store import Store
from indexer.cli import cli, console
from indexer.options import IndexOptions
from indexer.pipeline import index_roots
from indexer.report import IndexReport
from tests.conftest import FakeCaptioner
from tests.helpers import index_with
from tests.photos import COLOURS, photo, save_jpeg

# -- 23. the summary line -----------------------------------------------------------------------------


def test_files_that_failed_before_count_as_failed_on_every_run_until_fixed(photo_tree, data_dir):
    with Store.open(data_dir) as store:
        first = index_with(store, [photo_tree["root"]], FakeCaptioner())
        assert (first.captioned, first.reused, first.failed) == (15, 1, 4)
        again = index_with(store, [photo_tree["root"]], FakeCaptioner())
        # was: "0 captioned, 20 unchanged, 0 reused, 0 failed" while stats said 4 failed
        assert again.summary().startswith("0 captioned, 16 unchanged, 0 reused, 4 failed, 0 removed in ")
        assert again.failed == store.stats()["failed"] == len(again.failures) == 4
        assert {path for path, _ in again.failures} == {path for path, _ in store.failures()}
        save_jpeg(photo(colour=COLOURS[2], noise=10, seed=7), photo_tree["bad"]["truncated"])  # fixed
        fixed = index_with(store, [photo_tree["root"]], FakeCaptioner())
        assert (fixed.captioned, fixed.unchanged, fixed.failed) == (1, 16, 3) and store.stats()["failed"] == 3


def test_the_rate_is_over_captioned_photos_only():
    reused_only = IndexReport(reused=1, seconds=0.5)
    assert "images/s" not in reused_only.summary()  # was: "2.0 images/s" for one photo nobody captioned
    mixed = IndexReport(captioned=10, reused=90, failed=5, seconds=5.0)
    assert "(2.0 images/s;" in mixed.summary()
    # and over the time after the models loaded: one photo added to a library said 0.1 images/s, its 15 s of loading
    one_added = IndexReport(captioned=1, unchanged=500, seconds=15.4, load_seconds=15.3)
    assert "(10.0 images/s;" in one_added.summary() and " in 15.4s" in one_added.summary()


def test_a_run_measures_the_loading_of_its_models(photo_tree, data_dir):
    def slow_to_load(options):
        time.sleep(1.0)
        return FakeCaptioner()

    options = IndexOptions(model=FakeCaptioner().model_id, embeddings=False, image_embedder=None)
    with Store.open(data_dir) as store:
        report = index_roots(store, [photo_tree["root"]], options, slow_to_load)
    assert 1.0 <= report.load_seconds < report.seconds
    assert report.images_per_second == report.captioned / (report.seconds - report.load_seconds)


class SlowTextReader:
    engine_id = "slow-ocr"

    def read(self, image) -> str:
        time.sleep(0.2)
        return "exit"


def test_ocr_and_decode_seconds_are_within_the_run(tmp_path, data_dir):
    root = tmp_path / "photos"
    for number in range(12):
        save_jpeg(photo(colour=COLOURS[number % 5], seed=number, noise=10), root / f"{number}.jpg")
    with Store.open(data_dir) as store:
        report = index_with(store, [root], FakeCaptioner(), ocr=True, workers=4, text_reader_factory=lambda _: SlowTextReader())
    assert report.ocr_read == 12
    # Four workers read side by side: their seconds summed were twice the run's ("OCR 2.4s" in a 1.2 s run).
    assert 0.2 * 12 / 4 <= report.ocr_seconds <= report.seconds
    assert report.decode_seconds <= report.seconds


# -- 25. usage errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arguments, fix",
    [
        (["search", "-foo"], "A query that starts with - goes after --: captionary search -- -foo"),
        (["search", "--limit", "3", "-dog"], "captionary search -- -dog"),
        (["search", "--", "-dog", "--limit", "3"], "Options go before --: captionary search --limit 3 -- -dog"),
        (["search", "--", "red", "car", "--limit", "5"], "Options go before --: captionary search --limit 5 -- 'red car'"),
        (["search", "--lmit", "3", "x"], "Did you mean '--limit'?"),
        (["search"], "Missing argument 'QUERY'. Usage: captionary search [OPTIONS] QUERY"),
        (["search", "red", "car"], "argument (car). Put a query of several words in quotes: captionary search 'red car'"),
        (["search", "red", "sports", "car"], "captionary search 'red sports car'"),
        (["search", "x", "--limit", "abc"], "(captionary search --help says what each option takes)"),
        (["stats", "--jsn"], "Did you mean '--json'?"),
        (["stats", "-q"], "(captionary stats --help lists the options)"),
        (["serch", "x"], "Did you mean 'search'?"),
        (["frobnicate"], "(captionary --help lists the commands)"),
        (["--bogus"], "(captionary --help lists the options)"),
    ],
)
def test_a_usage_error_is_one_line_that_names_the_fix(arguments, fix):
    result = CliRunner().invoke(cli, arguments, prog_name="captionary")
    assert result.exit_code == 2 and result.stdout == ""
    # was Click's four lines: "Usage: ...", "Try '... --help' for help.", "", "Error: No such option '-f'."
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: "), result.stderr
    assert fix in result.stderr


def test_a_bare_command_still_shows_the_help():
    result = CliRunner().invoke(cli, [], prog_name="captionary")
    assert "Commands:" in result.output


# -- 26. the progress bar -----------------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("scan_bar_delay", [None, 0.0])  # the shipped delay; a scan slow enough to show its bar
def test_the_progress_bar_is_drawn_after_the_model_loads_on_a_line_of_its_own(photo_tree, data_dir, monkeypatch, scan_bar_delay):
    if scan_bar_delay is not None:
        monkeypatch.setattr(console, "SCAN_BAR_DELAY", scan_bar_delay, raising=False)
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    progress = console.TqdmProgress()
    with Store.open(data_dir) as store:
        options = IndexOptions(model="fake-model", embeddings=False, image_embedder=None)
        index_roots(store, [photo_tree["root"]], options, lambda _: FakeCaptioner(), progress=progress)
    progress.close()
    screen = terminal.getvalue()
    loading = screen.index("loading model fake-model")
    # was: "captioning:   0%|          | 0/20 [00:00<?, ? images/s]loading model fake-model…"
    assert "captioning" not in screen[:loading] and screen[loading - 1 : loading] in ("", "\n", "\r")
    assert "captioning" in screen[loading:] and "20/20" in screen
    assert "scanning: 0 files" not in screen and " 0 files" not in screen  # was: a flash of "scanning: 0 files"
    if scan_bar_delay is None:
        assert "scanning" not in screen  # a scan this quick shows no bar at all


def test_photos_moved_since_the_last_run_are_counted_on_a_bar_of_their_own(photo_tree, data_dir, monkeypatch):
    monkeypatch.setattr(console, "SCAN_BAR_DELAY", 0.0, raising=False)
    options = IndexOptions(model="fake-model", embeddings=False, image_embedder=None)
    with Store.open(data_dir) as store:
        index_roots(store, [photo_tree["root"]], options, lambda _: FakeCaptioner())
        photo_tree["red"].rename(photo_tree["red"].with_name("renamed.jpg"))
        photo_tree["park"].rename(photo_tree["park"].with_name("park again.jpg"))
        terminal = Terminal()
        monkeypatch.setattr(sys, "stderr", terminal)
        progress = console.TqdmProgress()
        index_roots(store, [photo_tree["root"]], options, lambda _: FakeCaptioner(), progress=progress)
        progress.close()
    screen = terminal.getvalue()
    # was: the scan's bar counting them again, "scanning: 22 files" for a tree of 20
    assert "already captioned: 2 files" in screen and "scanning: 22" not in screen and "loading model" not in screen


def test_a_command_whose_output_is_closed_says_so_and_fails(tmp_path):
    import subprocess

    with Store.open(tmp_path / "data"):
        pass
    closed = subprocess.run(
        ["sh", "-c", f'"{sys.executable}" -m indexer stats --data-dir "{tmp_path / "data"}" >&-'], capture_output=True, text=True
    )
    # as `ls >&-` fails: a script whose output goes nowhere must not read success
    assert closed.returncode == 2
    assert closed.stderr == "captionary: standard output is closed; send it to a file or to /dev/null\n"
