"""Where `export` and `export-xmp` write: through a link, into a FIFO, never among the photos unless asked,
with usage errors as usage errors."""

import os
import threading

import pytest
from click.testing import CliRunner

from db.errors import CaptionaryError
from db.store import Store
from indexer.cli import cli
from tests.conftest import FakeCaptioner
from tests.helpers import index_with


@pytest.fixture
def library(photo_tree, data_dir):
    with Store.open(data_dir) as store:
        index_with(store, [photo_tree["root"]], FakeCaptioner())
    return ["--data-dir", str(data_dir)]


def test_export_writes_through_a_link_and_leaves_it_a_link(library, tmp_path):
    real, link = tmp_path / "real.csv", tmp_path / "link.csv"
    real.write_text("keep\n")
    link.symlink_to(real)
    result = CliRunner().invoke(cli, ["export", "--output", str(link), *library])
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and real.read_text().startswith("path,caption,tags")


def test_export_into_a_fifo_writes_to_its_reader_and_leaves_the_fifo(library, tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    result = CliRunner().invoke(cli, ["export", "--output", str(fifo), *library])
    reader.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert received and received[0].startswith("path,caption,tags") and not fifo.is_file()


@pytest.mark.parametrize("output", ["missing/out.csv", ""])
def test_export_to_a_place_it_cannot_write_says_so_as_a_usage_error(library, tmp_path, output):
    result = CliRunner().invoke(cli, ["export", "--output", str(tmp_path / output) if output else "", *library])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "does not exist" in result.output or "name a file" in result.output


@pytest.mark.parametrize("arguments", [[], ["--sidecar-dir", "x", "--next-to-photos"]])
def test_export_xmp_without_one_place_to_write_is_a_usage_error(library, arguments):
    result = CliRunner().invoke(cli, ["export-xmp", *arguments, *library])
    assert result.exit_code == 2 and "Choose where sidecars go" in result.output


def test_a_sidecar_dir_among_the_photos_is_refused(photo_tree, data_dir):
    root = photo_tree["root"]
    with Store.open(data_dir) as store:
        index_with(store, [root], FakeCaptioner())
        before = sorted(path for path in root.rglob("*"))
        for among in (root.anchor, root, root / "2019"):  # "/" mirrors every photo's path onto itself
            with pytest.raises(CaptionaryError, match="would write among the photos"):
                store.export_xmp(sidecar_dir=among)
    assert sorted(path for path in root.rglob("*")) == before


def test_a_sidecar_whose_name_fits_is_written_whatever_the_length_of_a_temporary_name(tmp_path, data_dir):
    from tests.photos import photo, save_jpeg

    root = tmp_path / "photos"
    long = save_jpeg(photo(), root / ("x" * 240 + ".jpg"))  # its sidecar's name is 248 bytes: within 255
    with Store.open(data_dir) as store:
        index_with(store, [root], FakeCaptioner())
        report = store.export_xmp(sidecar_dir=tmp_path / "sidecars")
    assert report.failed == [] and (tmp_path / "sidecars" / (str(long).lstrip("/") + ".xmp")).is_file()
