"""What photos already carry: IPTC/XMP keywords, titles, descriptions and places, embedded or in sidecars
(`photo.xmp` and `photo.jpg.xmp`), read at index time and kept in step without re-captioning."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess

import pytest
from click.testing import CliRunner

from db.store import Store
from indexer import reading
from indexer.cli import cli
from tests.conftest import FakeCaptioner
from tests.helpers import index_with, paths_found
from tests.metadata_photos import add_iptc, xmp_packet
from tests.old_catalogs import as_schema_5
from tests.photos import COLOURS, photo, save_jpeg

UTF8 = b"\x1b%G"


@pytest.fixture
def archive(tmp_path):
    """A tree as Lightroom, digiKam and darktable leave it."""
    root = tmp_path / "photos"
    paths = {
        # IPTC written by an older tool, declared UTF-8
        "iptc": add_iptc(
            save_jpeg(photo(colour=COLOURS[0]), root / "2019" / "party.jpg", taken="2019:07:14 18:00:00"),
            {(1, 90): UTF8, (2, 25): [b"Grandma", "Zürich".encode()], (2, 120): b"Her eightieth birthday", (2, 5): b"Party"},
        ),
        # IPTC with no charset, written in Latin-1
        "latin1": add_iptc(
            save_jpeg(photo(colour=COLOURS[1]), root / "2019" / "lake.jpg"), {(2, 25): ["Genève".encode("cp1252")]}
        ),
        "lightroom": root / "2020" / "beach.jpg",
        "darktable": save_jpeg(photo(colour=COLOURS[3]), root / "2020" / "snow.jpg"),
        "plain": save_jpeg(photo(colour=COLOURS[4]), root / "2020" / "lunch.jpg"),
    }
    photo(colour=COLOURS[2]).save(
        paths["lightroom"], xmp=xmp_packet(subjects=["Beach"], hierarchy=["People|Family|Grandma"], title="Summer at the coast")
    )
    # Lightroom's convention beside a JPEG: photo.xmp; darktable's and digiKam's: photo.jpg.xmp
    (root / "2020" / "beach.xmp").write_bytes(xmp_packet(description="Grandma walking by the sea", rating=5))
    (root / "2020" / "snow.jpg.xmp").write_bytes(
        xmp_packet(digikam=["Places/Alps/Matterhorn"], city="Zermatt", country="Switzerland")
    )
    (root / "2020" / "orphan.xmp").write_bytes(xmp_packet(subjects=["nobody"]))  # a sidecar without a photo
    return root, {name: str(path) for name, path in paths.items()}


@pytest.fixture
def indexed(archive, data_dir):
    root, paths = archive
    captioner = FakeCaptioner()
    with Store.open(data_dir) as store:
        report = index_with(store, [root], captioner)
        yield store, paths, root, captioner, report


def file_tags(store, path):
    return store.image_by_path(path).file_tags


def test_iptc_keywords_caption_and_title_are_read_in_their_charset(indexed):
    store, paths, *_ = indexed
    party = store.image_by_path(paths["iptc"])
    assert party.file_tags == ["grandma", "zürich"]  # keywords as tags, normalised like a person's
    assert (party.title, party.description) == ("Party", "Her eightieth birthday")
    assert party.caption == "a red car parked on a city street"  # the model's caption stays the caption
    # undeclared Latin-1 is not mojibake ("GenÃ¨ve") and not an error
    assert file_tags(store, paths["latin1"]) == ["genève"]


def test_embedded_xmp_and_a_lightroom_hierarchy_give_the_leaf_and_keep_the_path(indexed, data_dir):
    store, paths, *_ = indexed
    beach = store.image_by_path(paths["lightroom"])
    assert beach.file_tags == ["beach", "grandma"]
    assert (beach.title, beach.description, beach.rating) == ("Summer at the coast", "Grandma walking by the sea", 5)
    exported = {row.path: row for row in store_rows(store)}
    assert exported[paths["lightroom"]].keyword_paths == ["People|Family|Grandma"]  # the path is kept


def store_rows(store):
    return list(store.export_rows())


def test_a_digikam_sidecar_and_a_typed_place_are_read(indexed):
    store, paths, *_ = indexed
    snow = store.image_by_path(paths["darktable"])
    assert snow.file_tags == ["matterhorn"] and snow.place == "Zermatt, Switzerland"


def test_file_keywords_and_descriptions_are_found_by_plain_words_and_fields(indexed):
    store, paths, *_ = indexed
    assert paths_found(store, "tag:grandma") == {paths["iptc"], paths["lightroom"]}
    assert paths_found(store, "grandma") == {paths["iptc"], paths["lightroom"]}  # a person's word, by default
    assert paths_found(store, "eightieth") == {paths["iptc"]}  # description words
    assert paths_found(store, "description:coast") == {paths["lightroom"]}  # the title is part of it
    assert paths_found(store, "matterhorn") == {paths["darktable"]}
    assert paths_found(store, "alps") == {paths["darktable"]}  # the hierarchy's words find it too
    assert paths_found(store, "zermatt") == {paths["darktable"]}  # a typed place is a place


def test_a_sidecar_without_a_photo_is_not_an_image(indexed):
    store, paths, root, _, report = indexed
    assert report.failed == 0 and store.stats()["images"] == 5
    assert paths_found(store, "nobody") == set()


def test_a_sidecar_edited_added_or_deleted_is_seen_without_recaptioning(indexed):
    store, paths, root, captioner, _ = indexed
    captioned_before = sum(captioner.batches)
    sidecar = root / "2020" / "snow.jpg.xmp"
    sidecar.write_bytes(xmp_packet(digikam=["Places/Alps/Matterhorn", "Sport/Skiing"]))
    (root / "2020" / "lunch.jpg.xmp").write_bytes(xmp_packet(subjects=["picnic"]))  # added
    (root / "2020" / "beach.xmp").unlink()  # deleted
    report = index_with(store, [root], captioner)
    assert sum(captioner.batches) == captioned_before  # no photo was captioned again
    assert (report.captioned, report.metadata_read) == (0, 3)
    assert file_tags(store, paths["darktable"]) == ["matterhorn", "skiing"]
    assert paths_found(store, "skiing") == {paths["darktable"]}  # the full-text index followed
    assert file_tags(store, paths["plain"]) == ["picnic"]
    beach = store.image_by_path(paths["lightroom"])
    assert beach.description is None and beach.file_tags == ["beach", "grandma"]  # the embedded ones remain
    assert index_with(store, [root], captioner).metadata_read == 0  # nothing changed: nothing read


def test_a_metadata_only_read_never_hashes_the_photo(indexed, monkeypatch):
    store, paths, root, captioner, _ = indexed
    hashed = []
    real = reading.read_regular_photo
    monkeypatch.setattr(reading, "read_regular_photo", lambda path, *args: hashed.append(path) or real(path, *args))
    (root / "2020" / "snow.jpg.xmp").write_bytes(xmp_packet(subjects=["avalanche"]))
    assert index_with(store, [root], captioner).metadata_read == 1
    assert hashed == []  # a sidecar edit on a 1M-photo library reads headers, not 1M photos


def test_a_photo_moved_with_its_sidecar_keeps_its_caption_and_keywords(indexed):
    store, paths, root, captioner, _ = indexed
    captioned_before = sum(captioner.batches)
    target = root / "moved"
    target.mkdir()
    os.rename(paths["darktable"], target / "snow.jpg")
    os.rename(root / "2020" / "snow.jpg.xmp", target / "snow.jpg.xmp")
    report = index_with(store, [root], captioner)
    assert sum(captioner.batches) == captioned_before and report.reused == 1
    moved = store.image_by_path(target / "snow.jpg")
    assert moved.caption == "a snowy mountain under a blue sky" and moved.file_tags == ["matterhorn"]


def test_auto_tags_never_remove_file_keywords_and_a_persons_removal_wins(indexed):
    store, paths, root, captioner, _ = indexed
    party = store.image_by_path(paths["iptc"])
    assert {"car", "grandma"} <= set(party.tags)
    store.set_caption(party.id, "a cake on a table")  # auto-tags follow the new caption ...
    party = store.image_by_path(paths["iptc"])
    assert "car" not in party.tags and party.file_tags == ["grandma", "zürich"]  # ... the file's stay
    store.edit_tags(party.id, remove=["zürich"])
    (root / "2019" / "party.jpg.xmp").write_bytes(xmp_packet(subjects=["Zürich", "Cake"]))  # the file says it again
    index_with(store, [root], captioner)
    party = store.image_by_path(paths["iptc"])
    assert "zürich" not in party.tags and "cake" in party.file_tags  # removed here stays removed


def test_xmp_export_then_reimport_loses_nothing(indexed, tmp_path, data_dir):
    store, paths, root, captioner, _ = indexed
    party = store.image_by_path(paths["iptc"])
    store.edit_tags(party.id, add=["family"])
    before = {path: _described(store.image_by_path(path)) for path in paths.values()}
    assert store.export_xmp(sidecar_dir=tmp_path / "sidecars").written == 5
    # The same photos elsewhere, with only the exported sidecars beside them (photo.jpg.xmp)
    copy = tmp_path / "copy"
    for path in paths.values():
        target = copy / os.path.relpath(path, root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        shutil.copyfile(tmp_path / "sidecars" / (path.lstrip("/") + ".xmp"), str(target) + ".xmp")
    with Store.open(tmp_path / "second") as second:
        index_with(second, [copy], FakeCaptioner())
        after = {path: _described(second.image_by_path(copy / os.path.relpath(path, root))) for path in paths.values()}
    for path, (title, description, place, kept_tags) in before.items():
        again = after[path]
        assert again[:3] == (title, description, place), path  # not the caption in place of a description
        assert set(kept_tags) <= set(again[3]), path  # file keywords and a person's tags come back as keywords
        assert not set(again[3]) & {"car", "dog", "street", "city"} - set(kept_tags), path  # auto-tags stay auto


def _described(record):
    person_tags = [tag for tag in record.tags if tag in record.file_tags or tag == "family"]
    return record.title, record.description, record.place, person_tags


def test_stats_count_keywords_descriptions_and_places(indexed, data_dir):
    store, *_ = indexed
    numbers = store.stats()
    assert (numbers["file_keywords"], numbers["described"], numbers["placed"], numbers["dated"]) == (4, 2, 1, 1)
    result = CliRunner().invoke(cli, ["stats", "--data-dir", str(data_dir)])
    assert "4 with file keywords" in result.output


def test_search_json_rows_carry_title_and_description(indexed, data_dir):
    result = CliRunner().invoke(cli, ["search", "tag:grandma", "--json", "--data-dir", str(data_dir)])
    rows = {row["title"]: row for row in json.loads(result.output)}
    assert rows["Party"]["description"] == "Her eightieth birthday" and "Summer at the coast" in rows


def test_a_schema_3_library_reads_its_metadata_once_without_recaptioning(indexed, data_dir):
    store, paths, root, captioner, _ = indexed
    store.close()
    as_schema_5(data_dir)
    with sqlite3.connect(data_dir / "captionary.db") as connection:  # as captionary 0.3 left it
        for table, columns in SCHEMA_4_COLUMNS.items():
            for column in columns:
                connection.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        connection.execute("DELETE FROM tags WHERE source = 'file'")
        connection.execute("UPDATE meta SET value='3' WHERE key='schema_version'")
    captioned_before = sum(captioner.batches)
    with Store.open(data_dir) as upgraded:
        assert upgraded.stats()["file_keywords"] == 0
        report = index_with(upgraded, [root], captioner)
        assert (report.metadata_read, sum(captioner.batches) - captioned_before) == (5, 0)  # read, never captioned
        assert upgraded.image_by_path(paths["lightroom"]).file_tags == ["beach", "grandma"]
        assert paths_found(upgraded, "grandma") == {paths["iptc"], paths["lightroom"]}
        assert index_with(upgraded, [root], captioner).metadata_read == 0  # once


SCHEMA_4_COLUMNS = {
    "contents": ("lens", "title", "description", "rating", "keyword_paths"),
    "files": ("sidecars", "metadata_problem"),
    "pending": ("sidecars", "metadata_only"),
}


@pytest.mark.skipif(
    not shutil.which("exiftool") and not os.environ.get("CI"),
    reason="Debian's libimage-exiftool-perl is not installed (.ci/run installs it)",
)
def test_metadata_written_by_exiftool_is_read(tmp_path, data_dir):
    photo_path = save_jpeg(photo(colour=COLOURS[0]), tmp_path / "photos" / "tool.jpg")
    subprocess.run(
        [
            "exiftool", "-q", "-overwrite_original", "-codedcharacterset=utf8", "-IPTC:Keywords=Grandpa",
            "-XMP-lr:HierarchicalSubject=People|Family|Grandpa", "-XMP-dc:Title=Workshop", "-IPTC:City=Kyōto",
            str(photo_path),
        ],
        check=True,
    )  # fmt: skip
    with Store.open(data_dir) as store:
        index_with(store, [tmp_path / "photos"], FakeCaptioner())
        record = store.image_by_path(photo_path)
    assert (record.file_tags, record.title, record.place) == (["grandpa"], "Workshop", "Kyōto")


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/">'
    b"<dc:subject><rdf:Bag><rdf:li>&c;</rdf:li></rdf:Bag></dc:subject></rdf:Description></rdf:RDF></x:xmpmeta>"
)
EXTERNAL_FILE = (
    b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/">'
    b"<dc:subject><rdf:Bag><rdf:li>&e;</rdf:li></rdf:Bag></dc:subject></rdf:Description></rdf:RDF></x:xmpmeta>"
)


def test_hostile_metadata_is_recorded_with_its_reason_and_the_photos_are_indexed(tmp_path, data_dir):
    root = tmp_path / "photos"
    sidecars = {
        "truncated": xmp_packet(subjects=["kept"])[:150],
        "notxml": b"\x00\x01 this is not XML at all",
        "laughs": BILLION_LAUGHS,
        "external": EXTERNAL_FILE,
        "huge": b"<x:xmpmeta>" + b"<a>" * (17 << 20) + b"</x:xmpmeta>",  # 50 MB of nested tags
        "deep": b'<x:xmpmeta xmlns:x="adobe:ns:meta/">' + b"<a>" * 250_000 + b"</a>" * 250_000 + b"</x:xmpmeta>",
        "nonsense": xmp_packet(latitude="95,0.0N", longitude="10,0.0E", created="0000:00:00", rating=7),
        "future": xmp_packet(created="2099-01-01", latitude="0,0.0N", longitude="0,0.0E"),
    }
    for number, (name, content) in enumerate(sidecars.items()):
        save_jpeg(photo(colour=COLOURS[number % 5]), root / f"{name}.jpg")
        (root / f"{name}.jpg.xmp").write_bytes(content)
    # IPTC with a dataset longer than the block, and embedded XMP that is not XML
    add_iptc(save_jpeg(photo(), root / "iptc.jpg"), {(2, 25): [b"ok"], (2, 120): b"\xff\xfe\x00garbage \x9d\x81"})
    photo().save(root / "embedded.jpg", xmp=b"<x:xmpmeta><broken")
    with Store.open(data_dir) as store:
        report = index_with(store, [root], FakeCaptioner())
        problems = dict(store.metadata_problems())
        records = {name: store.image_by_path(root / f"{name}.jpg") for name in [*sidecars, "iptc", "embedded"]}
    assert report.failed == 0 and len(records) == 10  # every photo is indexed
    reasons = {name: problems.get(str(root / f"{name}.jpg"), "") for name in records}
    assert "not valid XML" in reasons["truncated"] and "no x:xmpmeta" in reasons["notxml"]
    assert "DOCTYPE" in reasons["laughs"] and "DOCTYPE" in reasons["external"]  # refused, never expanded
    assert "too large" in reasons["huge"]
    assert "embedded XMP is not valid XML" in reasons["embedded"]
    assert all("root:" not in " ".join(record.tags) and "haha" not in " ".join(record.tags) for record in records.values())
    # out-of-range positions, 0,0, year 0 and 2099 are ignored, a rating of 7 is no rating
    for name in ("nonsense", "future"):
        assert (records[name].latitude, records[name].taken_at, records[name].rating) == (None, None, None)
    assert records["iptc"].file_tags == ["ok"] and reasons["iptc"] == ""
    assert records["deep"].file_tags == [] and reasons["deep"] == ""  # a deep but harmless packet is just empty
    result = CliRunner().invoke(cli, ["stats", "--data-dir", str(data_dir)])
    assert result.exit_code == 0 and "metadata not read:" in result.output and "Traceback" not in result.output


def test_the_place_filter_offers_countries_and_places_and_selects_by_them(indexed):
    from db.types import Filters

    store, paths, *_ = indexed
    assert dict(store.facets().places) == {"Switzerland": 1, "Zermatt, Switzerland": 1}
    for place in ("Switzerland", "Zermatt, Switzerland"):
        found = store.search("", Filters(places=(place,)), limit=50)
        assert {hit.image.path for hit in found.hits} == {paths["darktable"]}, place
    assert store.search("", Filters(places=("Japan",)), limit=50).hits == []


def test_a_file_keyword_that_is_also_an_auto_tag_goes_back_to_auto_when_the_file_drops_it(indexed):
    store, paths, root, captioner, _ = indexed
    sidecar = root / "2020" / "snow.jpg.xmp"
    sidecar.write_bytes(xmp_packet(subjects=["Mountain"]))  # the caption "a snowy mountain..." gives it too
    index_with(store, [root], captioner)
    assert store.image_by_path(paths["darktable"]).file_tags == ["mountain"]
    sidecar.unlink()
    index_with(store, [root], captioner)
    snow = store.image_by_path(paths["darktable"])
    assert snow.file_tags == [] and "mountain" in snow.tags  # still a tag: the caption's


def test_a_run_with_only_sidecar_edits_never_loads_the_model(indexed):
    from indexer.options import IndexOptions
    from indexer.pipeline import index_roots

    store, paths, root, *_ = indexed

    def no_model(_options):
        raise AssertionError("the captioning model was loaded for a sidecar edit")  # seconds, for nothing

    (root / "2020" / "snow.jpg.xmp").write_bytes(xmp_packet(subjects=["glacier"]))
    report = index_roots(store, [root], IndexOptions(model="fake-model", embeddings=False), no_model)
    assert report.metadata_read == 1 and store.image_by_path(paths["darktable"]).file_tags == ["glacier"]


def test_sidecars_are_matched_whatever_their_case_and_layered_over_the_file(tmp_path, data_dir):
    root = tmp_path / "photos"
    # Embedded XMP says one thing; IMG.xmp (Lightroom, upper-case photo, lower-case .xmp) another; IMG.JPG.XMP
    # (digiKam) a third. The more specific sidecar wins a field both set, a sidecar wins over the file, and
    # keywords are the union of all three.
    kyoto = {1: "N", 2: (35.0, 0.0, 41.8), 3: "E", 4: (135.0, 46.0, 5.2)}
    save_jpeg(photo(colour=COLOURS[0]), root / "IMG.JPG", gps=kyoto)
    photo(colour=COLOURS[0]).save(
        root / "IMG.JPG", exif=_gps_exif(kyoto), xmp=xmp_packet(subjects=["inside"], title="From the file")
    )
    (root / "IMG.xmp").write_bytes(xmp_packet(subjects=["lightroom"], title="From photo.xmp", description="Lightroom's"))
    (root / "IMG.JPG.XMP").write_bytes(xmp_packet(subjects=["digikam"], title="From photo.jpg.xmp", city="Uji", country="Japan"))
    with Store.open(data_dir) as store:
        index_with(store, [root], FakeCaptioner())
        record = store.image_by_path(root / "IMG.JPG")
    assert record.file_tags == ["digikam", "inside", "lightroom"]
    assert (record.title, record.description) == ("From photo.jpg.xmp", "Lightroom's")
    # the place typed in a sidecar wins over the name of the GPS position (Kyoto), which is still kept
    assert record.place == "Uji, Japan" and record.latitude == pytest.approx(35.0116, abs=1e-3)


def _gps_exif(gps: dict) -> bytes:
    from PIL import Image

    exif = Image.Exif()
    exif.get_ifd(0x8825).update(gps)
    return exif.tobytes()


def test_iso_dates_in_exif_and_utf16_sidecars_are_read(tmp_path, data_dir):
    from datetime import datetime

    root = tmp_path / "photos"
    iso = save_jpeg(photo(colour=COLOURS[0]), root / "iso.jpg", taken="2019-07-14T10:00:00")  # as some programs write
    spaced = save_jpeg(photo(colour=COLOURS[1]), root / "spaced.jpg", taken="2018-03-02 09:30:00")
    wide = save_jpeg(photo(colour=COLOURS[2]), root / "wide.jpg")
    packet = xmp_packet(subjects=["lighthouse"]).decode()
    (root / "wide.xmp").write_bytes(packet.encode("utf-16"))  # with its byte-order mark, as XMP allows
    with Store.open(data_dir) as store:
        index_with(store, [root], FakeCaptioner())
        assert store.image_by_path(iso).taken_at == datetime(2019, 7, 14, 10, 0)
        assert store.image_by_path(spaced).taken_at == datetime(2018, 3, 2, 9, 30)
        assert store.image_by_path(wide).file_tags == ["lighthouse"]
        assert str(wide) not in dict(store.metadata_problems())


def test_removing_a_keyword_from_one_photo_leaves_it_on_every_other(indexed):
    store, paths, *_ = indexed
    assert "grandma" in file_tags(store, paths["iptc"]) and "grandma" in file_tags(store, paths["lightroom"])
    store.edit_tags(store.image_by_path(paths["iptc"]).id, remove=["grandma"])
    store.sync_fulltext(rebuild=True)  # every entry rewritten from the catalog, as a rename or a sidecar edit does
    assert paths_found(store, "tag:grandma") == {paths["lightroom"]}
    exported = {row.path: row.tags for row in store.export_rows()}
    assert "grandma" in exported[paths["lightroom"]] and "grandma" not in exported[paths["iptc"]]
