"""Auto-tags, a person's tag edits, tag search, `tags`/`tag` commands, CSV/JSON export and XMP sidecars."""

import csv
import io
import json
import os
import re
import shutil
import subprocess
import tracemalloc
import xml.etree.ElementTree as ET
from collections import Counter

import pytest
from click.testing import CliRunner

from db.errors import CaptionaryError
from db.export import write_json
from db.records import normalize_tag
from db.store import Store
from db.tags import auto_tags
from db.types import Filters
from db.xmp import SidecarFields, sidecar_xml
from indexer.cli import cli
from tests.conftest import FakeCaptioner, tree_snapshot
from tests.helpers import index_with, paths_found
from tests.synthetic import insert_synthetic

DC = "{http://purl.org/dc/elements/1.1/}"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"


@pytest.mark.parametrize(
    "caption, tags",
    [
        ("a man riding a wave on top of a surfboard", ["man", "wave", "surfboard"]),  # verbs and fillers out
        ("two dogs playing with a frisbee in the grass", ["dog", "frisbee", "grass"]),  # plural -> singular
        ("a group of people standing around a red bus", ["person", "red", "bus"]),  # people -> person, colour kept
        ("children and mice near the geese", ["child", "mouse", "goose"]),  # irregular plurals
        ("A Woman's BLACK cat, sleeping on the couch!", ["woman", "black", "cat", "couch"]),  # case, punctuation
        ("a dog and another dog and dogs", ["dog"]),  # duplicates removed
        ("crème brûlée on a table", ["crème", "brûlée", "table"]),  # unicode kept whole
        ("the of and a an in on", []),  # nothing but stop words
        ("an old building next to a bus stop", ["building", "bus", "stop"]),  # -ing noun kept, "bus" not "bu"
    ],
)
def test_auto_tags_normalise_captions(caption, tags):
    assert auto_tags(caption) == tags


def test_normalize_user_tag():
    assert normalize_tag("  New   York, ") == "new york"
    assert normalize_tag("Ünïcode") == "ünïcode"
    assert normalize_tag("Rock;Roll") == "rock roll"  # ";" separates tags in the CSV export


def test_csv_tags_split_back_into_the_tags_json_lists(store, photo_tree, tmp_path):
    red = store.image_by_path(photo_tree["red"])
    store.edit_tags(red.id, add=["Rock;Roll", "b&w"])
    runner = CliRunner()
    tables = {}
    for kind in ("csv", "json"):
        out = tmp_path / f"out.{kind}"
        result = runner.invoke(cli, ["export", "--format", kind, "--output", str(out), "--data-dir", str(store.data_dir)])
        assert result.exit_code == 0, result.output
        tables[kind] = out
    row = next(row for row in csv.DictReader(tables["csv"].open(encoding="utf-8")) if row["path"] == str(photo_tree["red"]))
    record = next(record for record in json.loads(tables["json"].read_text()) if record["path"] == str(photo_tree["red"]))
    assert row["tags"].split(";") == record["tags"] and "rock roll" in record["tags"]


@pytest.fixture
def store(photo_tree, data_dir):
    with Store.open(data_dir) as opened:
        index_with(opened, [photo_tree["root"]], FakeCaptioner())
        yield opened


def test_every_captioned_image_gets_auto_tags(store, photo_tree):
    assert store.image_by_path(photo_tree["red"]).tags == ["car", "city", "red", "street"]
    counts = dict(store.tag_counts())
    # counted per photo path: byte-identical duplicates count twice, as they show twice in search
    with_dog = [hit for hit in store.search("*", limit=100).hits if "dog" in hit.image.caption]
    assert counts["dog"] == len(with_dog) >= 2
    assert list(counts.values()) == sorted(counts.values(), reverse=True)


def test_tag_search_matches_tags_and_words_still_match_captions(store, photo_tree):
    assert paths_found(store, "tag:red") == {str(photo_tree["red"])}
    assert paths_found(store, "tag:cars") == set()  # tags are exact keywords, not stemmed text
    assert str(photo_tree["red"]) in paths_found(store, "parked")  # a caption word that is not a tag


def test_user_tags_survive_reindex_and_removed_auto_tags_stay_removed(store, photo_tree):
    red = store.image_by_path(photo_tree["red"])
    store.edit_tags(red.id, add=["Volvo", "grandpa"], remove=["street"])
    assert store.image(red.id).tags == ["car", "city", "grandpa", "red", "volvo"]
    assert paths_found(store, "tag:volvo") == {str(photo_tree["red"])}
    index_with(store, [photo_tree["root"]], FakeCaptioner("other-model"), recaption=True)
    assert store.image(red.id).tags == ["car", "city", "grandpa", "red", "volvo"]
    assert paths_found(store, "tag:street") == set()


def test_auto_tags_follow_a_person_caption(store, photo_tree):
    red = store.image_by_path(photo_tree["red"])
    store.edit_tags(red.id, add=["family"])
    store.set_caption(red.id, "my bicycle by the lake")
    assert store.image(red.id).tags == ["bicycle", "family", "lake"]


def carried_most(hits, limit: int) -> list[tuple[str, int]]:
    """The tags these photos carry, counted from each photo's own tags: most first, ties by name."""
    counts = Counter(tag for hit in hits for tag in hit.image.tags)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]


def test_a_search_gives_the_tags_its_photos_carry_most(store, photo_tree):
    dogs = store.search("dog", limit=1000, tags=4)
    assert dogs.total == len(dogs.hits) >= 2
    assert dogs.tags == carried_most(dogs.hits, 4) and ("dog", dogs.total) in dogs.tags
    # browsing with a filter: the folder's photos; with none, every photo, as the library's own counts say
    folder = str(photo_tree["red"].parent)
    browsed = store.search("", Filters(folder=folder), limit=1000, tags=50)
    assert browsed.tags == carried_most(browsed.hits, 50) and 0 < browsed.total < store.search("", limit=1000).total
    everything = carried_most(store.search("", limit=1000).hits, 50)  # counted from each photo's own tags
    assert store.search("", limit=1, tags=50).tags == store.tag_counts(50) == store.facets(50).tags == everything
    assert store.search("zebra", tags=4).tags == [] and store.search("dog").tags == []  # none found; none asked for


def test_the_tags_of_a_search_follow_an_edit_at_once(store, photo_tree):
    red = store.image_by_path(photo_tree["red"])
    assert ("volvo", 1) not in store.search("car", tags=10).tags
    store.edit_tags(red.id, add=["volvo"], remove=["street"])
    after = store.search("car", limit=1000, tags=10)
    assert ("volvo", 1) in after.tags and after.tags == carried_most(after.hits, 10)


def test_tags_cli(store, photo_tree):
    runner = CliRunner()
    data_dir = str(store.data_dir)
    listed = runner.invoke(cli, ["tags", "--data-dir", data_dir, "--json", "--limit", "3"])
    rows = json.loads(listed.output)
    assert listed.exit_code == 0 and len(rows) == 3 and set(rows[0]) == {"tag", "count"}
    assert rows[0]["count"] >= rows[1]["count"] >= rows[2]["count"]
    edited = runner.invoke(
        cli, ["tag", str(photo_tree["red"]), "--add", "Volvo", "--remove", "city", "--data-dir", data_dir, "--json"]
    )
    assert edited.exit_code == 0 and json.loads(edited.output)["tags"] == ["car", "red", "street", "volvo"]
    missing = runner.invoke(cli, ["tag", "/nowhere/x.jpg", "--add", "a", "--data-dir", data_dir])
    assert missing.exit_code == 1 and "not indexed" in missing.stderr


def test_a_long_tag_is_kept_whole_and_one_too_long_or_empty_is_refused_not_cut(store, photo_tree):
    runner = CliRunner()
    tag = ["tag", str(photo_tree["red"]), "--data-dir", str(store.data_dir), "--json"]
    long = "Holiday in the Westfjords with the extended family 2022"  # was: cut to its first 40 characters
    edited = runner.invoke(cli, [*tag, "--add", long])
    assert edited.exit_code == 0 and long.lower() in json.loads(edited.output)["tags"]
    assert store.search(f'tag:"{long.lower()}"').hits
    before = store.image_by_path(photo_tree["red"]).tags
    for refused, said in (("x" * 101, "at most 100 characters"), ("", "cannot be empty"), (" , ", "cannot be empty")):
        result = runner.invoke(cli, [*tag, "--add", refused, "--add", "kept"])
        assert result.exit_code == 2 and said in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert store.image_by_path(photo_tree["red"]).tags == before  # nothing of a refused edit is saved


def test_editing_a_photo_that_failed_or_waits_for_its_caption_says_which(store, photo_tree, tmp_path):
    from db.models import Pending

    runner = CliRunner()
    failed = runner.invoke(cli, ["set-caption", str(photo_tree["bad"]["text"]), "x", "--data-dir", str(store.data_dir)])
    assert failed.exit_code == 1 and "could not be read when it was indexed (not an image" in failed.stderr, failed.output
    waiting = tmp_path / "new.jpg"
    with store.sessions.begin() as session:  # what a running index's scan leaves for its readers
        session.add(Pending(path=str(waiting), root=str(tmp_path), size=1, mtime_ns=1))
    pending = runner.invoke(cli, ["tag", str(waiting), "--add", "a", "--data-dir", str(store.data_dir)])
    assert pending.exit_code == 1 and "is not captioned yet: an index run found it" in pending.stderr  # was: "not indexed"


def test_set_caption_cli(store, photo_tree):
    runner = CliRunner()
    result = runner.invoke(cli, ["set-caption", str(photo_tree["red"]), "Grandpa's Volvo", "--data-dir", str(store.data_dir)])
    assert result.exit_code == 0 and paths_found(store, "volvo") == {str(photo_tree["red"])}
    missing = runner.invoke(cli, ["set-caption", "/nowhere.jpg", "x", "--data-dir", str(store.data_dir)])
    assert missing.exit_code == 1 and "not indexed" in missing.stderr


def test_export_csv_and_json(store, photo_tree, tmp_path):
    runner = CliRunner()
    out_csv, out_json = tmp_path / "out.csv", tmp_path / "out.json"
    assert (
        runner.invoke(cli, ["export", "--format", "csv", "--output", str(out_csv), "--data-dir", str(store.data_dir)]).exit_code
        == 0
    )
    assert (
        runner.invoke(cli, ["export", "--format", "json", "--output", str(out_json), "--data-dir", str(store.data_dir)]).exit_code
        == 0
    )
    rows = list(csv.DictReader(out_csv.open(encoding="utf-8")))
    records = json.loads(out_json.read_text(encoding="utf-8"))
    assert len(rows) == len(records) == 16
    red_row = next(row for row in rows if row["path"] == str(photo_tree["red"]))
    assert red_row["caption"] == "a red car parked on a city street"
    assert red_row["tags"] == "car;city;red;street" and red_row["taken_at"] == "2019-06-01T12:00:00"
    red_record = next(record for record in records if record["path"] == str(photo_tree["red"]))
    assert red_record["tags"] == ["car", "city", "red", "street"] and red_record["model"] == "fake-model"


def test_export_help_names_every_column_and_csv_says_true_or_false(store, photo_tree, tmp_path):
    from db.export import FIELDS

    shown = " ".join(CliRunner().invoke(cli, ["export", "--help"]).output.split())
    assert [name for name in FIELDS if not re.search(rf"\b{name}\b", shown)] == []
    store.set_caption(store.image_by_path(photo_tree["red"]).id, "Grandpa's Volvo")
    out = tmp_path / "out.csv"
    CliRunner().invoke(cli, ["export", "--output", str(out), "--data-dir", str(store.data_dir)])
    edited = {row["path"]: row["edited"] for row in csv.DictReader(out.open(encoding="utf-8"))}
    assert edited.pop(str(photo_tree["red"])) == "true" and set(edited.values()) == {"false"}


def test_large_export_streams_with_bounded_memory(data_dir):
    with Store.open(data_dir) as store:
        insert_synthetic(store, 20_000)
        tracemalloc.start()
        count = write_json(store.export_rows(), _Discard())
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert count == 20_000
    # the rows held in a list peak at 23 MB traced; streaming keeps the peak to a chunk's worth (1.8 MB)
    assert peak < 8 * 1024 * 1024, peak


class _Discard(io.StringIO):
    def write(self, text):  # count nothing, keep nothing: measure the exporter, not the buffer
        return len(text)


def test_xmp_sidecar_round_trip_and_merge():
    created = sidecar_xml(None, SidecarFields("a dog & a cat <3", ["dog", "cat"]))
    root = ET.fromstring(created.split(b"\n", 1)[1].rsplit(b"<?xpacket", 1)[0])
    description = root.find(f"{RDF}RDF/{RDF}Description")
    assert description.find(f"{DC}description/{RDF}Alt/{RDF}li").text == "a dog & a cat <3"
    assert [li.text for li in description.findall(f"{DC}subject/{RDF}Bag/{RDF}li")] == ["dog", "cat"]
    existing = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-'
        b'ns#"><rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:dc="http://purl.'
        b'org/dc/elements/1.1/" xmp:Rating="4"><dc:subject><rdf:Bag><rdf:li>old</rdf:li></rdf:Bag>'
        b"</dc:subject><dc:creator><rdf:Seq><rdf:li>Ann</rdf:li></rdf:Seq></dc:creator></rdf:Description>"
        b"</rdf:RDF></x:xmpmeta>"
    )
    merged = sidecar_xml(existing, SidecarFields("new caption", ["new"], auto_tags=["new"]))
    # captionary's properties written, everything else kept (rating, creator), original prefixes kept;
    # a keyword another tool wrote is kept too: an export never loses a person's keyword
    assert b'xmp:Rating="4"' in merged and b"<rdf:li>Ann</rdf:li>" in merged
    assert b"<rdf:li>old</rdf:li>" in merged and b"<rdf:li>new</rdf:li>" in merged
    # exported again after the caption changed: the auto-tag captionary wrote before goes, the person's stays
    again = sidecar_xml(merged, SidecarFields("newer caption", ["newer"], auto_tags=["newer"]))
    assert b"<rdf:li>new</rdf:li>" not in again and b"<rdf:li>old</rdf:li>" in again and b"<rdf:li>newer</rdf:li>" in again
    with pytest.raises(CaptionaryError, match="not valid XML"):
        sidecar_xml(b"<broken", SidecarFields("x", []))


def test_export_xmp_needs_an_explicit_destination(store, photo_tree):
    before = tree_snapshot(photo_tree["root"])
    with pytest.raises(CaptionaryError, match="--next-to-photos"):
        store.export_xmp()
    result = CliRunner().invoke(cli, ["export-xmp", "--data-dir", str(store.data_dir)])
    assert result.exit_code == 2  # a missing choice is bad usage (docs/cli.md: exit codes)
    assert "--next-to-photos" in result.output and "Traceback" not in result.output
    assert tree_snapshot(photo_tree["root"]) == before  # nothing written next to the photos


def test_export_xmp_to_sidecar_dir_writes_once(store, photo_tree, tmp_path):
    sidecars = tmp_path / "sidecars"
    before = tree_snapshot(photo_tree["root"])
    first = store.export_xmp(sidecar_dir=sidecars)
    assert (first.written, first.unchanged) == (16, 0)
    target = sidecars / (str(photo_tree["red"]).lstrip("/") + ".xmp")
    assert target.exists() and tree_snapshot(photo_tree["root"]) == before
    mtime = target.stat().st_mtime_ns
    second = store.export_xmp(sidecar_dir=sidecars)
    assert (second.written, second.unchanged) == (0, 16) and target.stat().st_mtime_ns == mtime
    store.edit_tags(store.image_by_path(photo_tree["red"]).id, add=["volvo"])
    assert store.export_xmp(sidecar_dir=sidecars).written == 1


def test_export_xmp_next_to_photos_merges_existing_sidecar(store, photo_tree):
    existing = photo_tree["red"].with_name(photo_tree["red"].name + ".xmp")
    existing.write_bytes(
        sidecar_xml(None, SidecarFields("old", ["old"], auto_tags=["old"])).replace(
            b'rdf:about=""', b'rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="5"'
        )
    )
    result = CliRunner().invoke(cli, ["export-xmp", "--next-to-photos", "--data-dir", str(store.data_dir)])
    assert result.exit_code == 0 and "16 sidecars written" in result.output
    text = existing.read_text()
    assert 'xmp:Rating="5"' in text and "a red car parked" in text and "<rdf:li>old</rdf:li>" not in text


@pytest.mark.skipif(
    not shutil.which("exiftool") and not os.environ.get("CI"),
    reason="Debian's libimage-exiftool-perl is not installed (.ci/run installs it)",
)
def test_exiftool_reads_our_sidecar(store, photo_tree, tmp_path):
    store.export_xmp(sidecar_dir=tmp_path)
    sidecar = tmp_path / (str(photo_tree["red"]).lstrip("/") + ".xmp")
    output = subprocess.run(
        ["exiftool", "-json", "-XMP:Subject", "-XMP:Description", str(sidecar)], capture_output=True, text=True, check=True
    ).stdout
    read = json.loads(output)[0]
    assert read["Description"] == "a red car parked on a city street"
    assert read["Subject"] == ["car", "city", "red", "street"]


def test_an_existing_sidecar_with_entities_is_left_untouched_never_expanded():
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b"<rdf:Description>&b;</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    # the standard library's parser would expand &b; (and a billion laughs with it); the merge refuses instead
    with pytest.raises(CaptionaryError, match="not valid XML.*DOCTYPE"):
        sidecar_xml(laughs, SidecarFields("a caption", ["tag"]))
