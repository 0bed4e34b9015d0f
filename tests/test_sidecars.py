"""Sidecars captionary writes (`export-xmp`) living beside a person's other tools (issue #24, items 8-10):
a later Lightroom edit wins over our copies, a FIFO or a link is never opened or replaced, and every
sidecar is written with the standard prefixes whatever an earlier one bound."""

from __future__ import annotations

import os
import re
import shutil
import stat
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from db.store import Store
from db.xmp import SidecarFields, sidecar_xml
from indexer.xmp import parse_xmp
from tests.conftest import FakeCaptioner
from tests.helpers import index_with, paths_found
from tests.metadata_photos import xmp_packet
from tests.photos import COLOURS, photo, save_jpeg

ODD_PREFIXES = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    b'<x2:xmpmeta xmlns:x2="adobe:ns:meta/" xmlns:x="urn:example:not-adobe">'
    b'<r:RDF xmlns:r="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<r:Description r:about="" xmlns:d="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
    b'xmlns:darktable="http://darktable.sf.net/" xmp:Rating="3" darktable:xmp_version="5" x:odd="kept">'
    b"<d:subject><r:Bag><r:li>Odd Prefix</r:li></r:Bag></d:subject>"
    b'<d:title><r:Alt><r:li xml:lang="x-default">Bound oddly</r:li></r:Alt></d:title>'
    b"</r:Description></r:RDF></x2:xmpmeta>\n"
    b'<?xpacket end="w"?>'
)


@pytest.fixture
def library(tmp_path, data_dir):
    """Lightroom's photo.xmp beside one photo, and three without a sidecar."""
    root = tmp_path / "photos"
    paths = {
        "odd": save_jpeg(photo(colour=COLOURS[0]), root / "2019" / "aa_odd.jpg"),
        "beach": save_jpeg(photo(colour=COLOURS[1]), root / "2019" / "beach.jpg"),
        "park": save_jpeg(photo(colour=COLOURS[2]), root / "2020" / "park.jpg"),
        "snow": save_jpeg(photo(colour=COLOURS[3]), root / "2020" / "snow.jpg"),
    }
    lightroom(root / "2019" / "beach.xmp", ["Holiday", "Sunset"], "Old title", "Grandma by the sea")
    with Store.open(data_dir) as store:
        index_with(store, [root], FakeCaptioner())
        yield store, root, {name: str(path) for name, path in paths.items()}


def lightroom(path: Path, keywords: list[str], title: str | None, description: str | None = None) -> None:
    """photo.xmp as Lightroom saves it, a second later than anything before (coarse mtime filesystems)."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_bytes(xmp_packet(subjects=keywords, title=title, description=description))
    later = max(path.stat().st_mtime_ns, before + 1_000_000_000)
    os.utime(path, ns=(later, later))


def ours(photo_path: str) -> Path:
    return Path(photo_path + ".xmp")


def reindex(store: Store, root: Path) -> None:
    index_with(store, [root], FakeCaptioner())


# -- 8. a person's later edit in another tool wins over captionary's copies ----------------------------


def test_a_keyword_removed_and_a_title_changed_in_lightroom_after_export_win(library):
    store, root, paths = library
    beach = store.image_by_path(paths["beach"])
    assert (beach.file_tags, beach.title) == (["holiday", "sunset"], "Old title")
    assert store.export_xmp(next_to_photos=True).failed == []
    reindex(store, root)  # our beach.jpg.xmp is read too: it changes nothing
    assert store.image_by_path(paths["beach"]).file_tags == ["holiday", "sunset"]

    lightroom(root / "2019" / "beach.xmp", ["Sunset"], "At dusk")  # the keyword and the description removed
    reindex(store, root)
    beach = store.image_by_path(paths["beach"])
    # was ["holiday", "sunset"], "Old title", "Grandma by the sea": our copies in beach.jpg.xmp won
    assert (beach.file_tags, beach.title, beach.description) == (["sunset"], "At dusk", None)
    assert paths_found(store, "tag:holiday") == set()

    store.export_xmp(next_to_photos=True)  # rewritten from the record: the copies follow the edit
    subject = parse_xmp(ours(paths["beach"]).read_bytes()).keywords
    assert "holiday" not in subject and "sunset" in subject
    reindex(store, root)
    assert store.image_by_path(paths["beach"]).file_tags == ["sunset"]
    assert store.export_xmp(next_to_photos=True).written == 0  # and stays so: nothing left to rewrite


def test_a_lightroom_edit_still_wins_when_export_runs_again_before_the_index(library):
    store, root, paths = library
    store.export_xmp(next_to_photos=True)
    lightroom(root / "2019" / "beach.xmp", ["Sunset"], "At dusk")
    store.export_xmp(next_to_photos=True)  # the record still says "holiday": so does this new copy
    reindex(store, root)
    beach = store.image_by_path(paths["beach"])
    assert (beach.file_tags, beach.title) == (["sunset"], "At dusk")


def test_what_another_tool_wrote_into_our_sidecar_survives_a_lightroom_edit(library):
    store, root, paths = library
    store.export_xmp(next_to_photos=True)
    sidecar = ours(paths["beach"])
    # digiKam adds a keyword to beach.jpg.xmp, keeping everything else in it
    sidecar.write_bytes(
        sidecar.read_bytes().replace(b"<rdf:li>sunset</rdf:li>", b"<rdf:li>sunset</rdf:li><rdf:li>Cat</rdf:li>", 1)
    )
    reindex(store, root)
    assert store.image_by_path(paths["beach"]).file_tags == ["cat", "holiday", "sunset"]
    store.export_xmp(next_to_photos=True)  # "cat" is now in the record, but it stays the sidecar's own
    lightroom(root / "2019" / "beach.xmp", ["Sunset"], "Old title")
    reindex(store, root)
    assert store.image_by_path(paths["beach"]).file_tags == ["cat", "sunset"]


def test_a_persons_tag_typed_here_travels_in_the_sidecar_even_past_a_newer_lightroom_file(library, tmp_path):
    store, root, paths = library
    store.edit_tags(store.image_by_path(paths["beach"]).id, add=["grandma"])
    store.export_xmp(next_to_photos=True)
    lightroom(root / "2019" / "beach.xmp", ["Holiday", "Sunset"], "Old title")  # touched later: our copies stale
    with Store.open(tmp_path / "elsewhere") as second:  # another library over the same folder
        index_with(second, [root], FakeCaptioner())
        assert second.image_by_path(paths["beach"]).file_tags == ["grandma", "holiday", "sunset"]


def test_a_sidecar_from_an_older_captionary_gives_way_to_a_newer_lightroom_edit(library):
    store, root, paths = library
    store.export_xmp(next_to_photos=True)
    sidecar = ours(paths["beach"])
    # as captionary wrote it before it listed its copies: no captionary:keywords/title/sources
    older = re.sub(
        rb"\s*<captionary:(keywords|paths|title|description|sources)>.*?</captionary:\1>", b"", sidecar.read_bytes(), flags=re.S
    )
    assert b"captionary:keywords" not in older and b'xmp:CreatorTool="captionary"' in older
    sidecar.write_bytes(older)
    reindex(store, root)
    assert store.image_by_path(paths["beach"]).file_tags == ["holiday", "sunset"]  # nothing newer yet
    lightroom(root / "2019" / "beach.xmp", ["Sunset"], "At dusk")
    reindex(store, root)
    assert (store.image_by_path(paths["beach"]).file_tags, store.image_by_path(paths["beach"]).title) == (["sunset"], "At dusk")
    store.export_xmp(next_to_photos=True)
    assert b"<rdf:li>holiday</rdf:li>" not in sidecar.read_bytes()


# -- 9. a sidecar path that is not a regular file is never opened for reading or replaced ---------------


def _export_in_a_thread(store: Store):
    done: list = []
    worker = threading.Thread(target=lambda: done.append(store.export_xmp(next_to_photos=True)), daemon=True)
    worker.start()
    worker.join(30)
    return worker, done


def test_export_leaves_a_fifo_sidecar_untouched_and_does_not_hang(library):
    store, root, paths = library
    fifo = ours(paths["park"])
    os.mkfifo(fifo)
    worker, done = _export_in_a_thread(store)
    try:
        assert not worker.is_alive(), "export-xmp hung on the FIFO"
    finally:
        if worker.is_alive():  # the old code blocks in open(): a writer that closes at once frees it
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            worker.join(10)
    report = done[0]
    assert report.failed == [(str(fifo), "not a regular file; left untouched")]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and report.written == 3  # the others were written


def test_export_never_follows_or_replaces_a_symlinked_sidecar(library, tmp_path):
    store, root, paths = library
    elsewhere = tmp_path / "elsewhere.xmp"
    elsewhere.write_bytes(xmp_packet(subjects=["private"]))
    before = elsewhere.read_bytes()
    ours(paths["park"]).symlink_to(elsewhere)
    ours(paths["snow"]).symlink_to(tmp_path / "nowhere.xmp")  # dangling: must not be created through it
    report = store.export_xmp(next_to_photos=True)
    failed = dict(report.failed)
    assert failed[str(ours(paths["park"]))] == "not a regular file (a symbolic link); left untouched"
    assert failed[str(ours(paths["snow"]))] == "not a regular file (a symbolic link); left untouched"
    assert ours(paths["park"]).is_symlink() and ours(paths["snow"]).is_symlink()  # was: replaced by files
    assert elsewhere.read_bytes() == before and not (tmp_path / "nowhere.xmp").exists()
    assert report.written == 2 and not list(root.rglob(".*.tmp"))


def test_a_folder_link_inside_the_sidecar_dir_never_leads_into_the_photos(library, tmp_path):
    store, root, paths = library
    sidecars = tmp_path / "sidecars"
    mirrored = sidecars / str(root / "2020").lstrip("/")
    mirrored.parent.mkdir(parents=True)
    mirrored.symlink_to(root / "2020")  # planted: the mirror of 2020/ is the photo folder itself
    report = store.export_xmp(sidecar_dir=sidecars)
    assert not ours(paths["park"]).exists() and not ours(paths["snow"]).exists()  # was: written beside the photos
    assert "leads to" in dict(report.failed)[str(mirrored / "park.jpg.xmp")] and report.written == 2


def test_the_cli_reports_a_sidecar_it_left_untouched(library):
    from click.testing import CliRunner

    from indexer.cli import cli

    store, root, paths = library
    ours(paths["park"]).symlink_to("/etc/hostname")
    result = CliRunner().invoke(cli, ["export-xmp", "--next-to-photos", "--data-dir", str(store.data_dir)])
    assert result.exit_code == 1
    assert f"warning: {ours(paths['park'])}: not a regular file (a symbolic link); left untouched" in result.stderr
    assert "3 sidecars written, 0 unchanged, 1 failed" in result.stdout


def test_an_existing_sidecar_too_large_or_too_deep_is_left_untouched(library):
    store, root, paths = library
    big, deep = ours(paths["park"]), ours(paths["snow"])
    big.write_bytes(b"<x:xmpmeta>" + b" " * (3 << 20) + b"</x:xmpmeta>")
    deep.write_bytes(
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        + b"<a>" * 100_000
        + b"</a>" * 100_000
        + b"</rdf:RDF></x:xmpmeta>"
    )
    before = big.read_bytes(), deep.read_bytes()
    failed = dict(store.export_xmp(next_to_photos=True).failed)  # was: RecursionError for the deep one
    assert "over 2097152 bytes" in failed[str(big)] and "nests over 64 levels" in failed[str(deep)]
    assert (big.read_bytes(), deep.read_bytes()) == before


# -- 10. the standard prefixes, whatever an existing sidecar bound -------------------------------------


def test_every_sidecar_is_written_with_standard_prefixes_and_reads_back_losslessly(library, tmp_path):
    store, root, paths = library
    # digiKam's sidecar binding odd prefixes, beside the first photo in path order: merged, then three more
    ours(paths["odd"]).write_bytes(ODD_PREFIXES)
    reindex(store, root)
    odd = store.image_by_path(paths["odd"])
    assert (odd.file_tags, odd.title) == (["odd prefix"], "Bound oddly")  # read whatever its prefixes
    before = {path: _record(store, path) for path in paths.values()}
    assert store.export_xmp(next_to_photos=True).written == 4  # the odd one first, then the three others
    for path in paths.values():
        text = ours(path).read_text()
        assert text.split("\n")[1].startswith("<x:xmpmeta ") and "<rdf:RDF>" in text, path  # was <x2:xmpmeta
        assert not re.search(r"</?(x2|r|d):", text), path
        ET.fromstring(text.split("\n", 1)[1].rsplit("<?xpacket", 1)[0])  # well-formed, every prefix bound
    merged = ours(paths["odd"]).read_text()
    # the odd sidecar's own properties are kept: a tool's own prefix, and another name for a URI whose
    # prefix (x) the standard one needs
    assert 'xmp:Rating="3"' in merged and 'darktable:xmp_version="5"' in merged
    assert re.search(r'xmlns:(ns\d+)="urn:example:not-adobe".*\1:odd="kept"', merged, re.S)
    reindex(store, root)  # the round trip: the same library reads its exported sidecars back ...
    assert {path: _record(store, path) for path in paths.values()} == before
    copy = tmp_path / "copy"  # ... and so does another one, given only the photos and those sidecars
    shutil.copytree(
        root,
        copy,
        ignore=lambda folder, names: [name for name in names if name.endswith(".xmp") and not name.endswith(".jpg.xmp")],
    )
    with Store.open(tmp_path / "second") as second:
        index_with(second, [copy], FakeCaptioner())
        again = {path: _record(second, str(copy / os.path.relpath(path, root))) for path in paths.values()}
    assert again == before


def _record(store: Store, path: str) -> tuple:
    record = store.image_by_path(path)
    return record.caption, sorted(record.tags), record.file_tags, record.title, record.description, record.place


def test_writing_a_sidecar_never_changes_how_the_next_one_is_written():
    odd = sidecar_xml(ODD_PREFIXES, SidecarFields("a caption", ["car"]))
    fresh = sidecar_xml(None, SidecarFields("a caption", ["car"]))
    assert b"<x2:" not in odd and fresh.split(b"\n")[1].startswith(b"<x:xmpmeta ")
    assert fresh == sidecar_xml(None, SidecarFields("a caption", ["car"]))
