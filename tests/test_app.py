"""The Streamlit app through streamlit.testing's AppTest: empty state, search, filters, paging, detail, edits."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from db.store import Store
from tests.conftest import FakeCaptioner
from tests.helpers import index_with
from tests.photos import COLOURS, photo, save_jpeg

APP = str(Path(__file__).resolve().parent.parent / "search_app.py")


def start_app(data_dir, monkeypatch) -> AppTest:
    monkeypatch.setenv("CAPTIONARY_DATA_DIR", str(data_dir))
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    assert not app.exception, app.exception
    return app


def search(app: AppTest, query: str) -> AppTest:
    app.text_input(key="query").input(query).run()
    assert not app.exception, app.exception
    return app


def unescape(markdown: str) -> str:
    """Markdown escapes, the zero-width break points the grid puts in file names and the word joiners that
    keep web addresses from becoming links, removed."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u200b", "").replace("\u2060", "")


def shown_names(app: AppTest) -> list[str]:
    """File names under the thumbnails, in grid order (without the folder a namesake adds on a second line)."""
    names = [unescape(element.value).split("\n\n")[0] for element in app.caption]
    return [
        name
        for name in names
        if name.lower().endswith((".jpg", ".jpeg", ".png", ".heic", ".webp", ".gif", ".bmp", ".tif", ".tiff"))
    ]


def caption_view(app: AppTest) -> AppTest:
    app.segmented_control(key="view").set_value("Caption a photo").run()
    assert not app.exception, app.exception
    return app


def metadata(app: AppTest) -> str:
    """The detail view's metadata list, unescaped, and the full path shown under it."""
    listed = next(unescape(element.value) for element in app.markdown if "**Taken:**" in element.value)
    return listed + "\n" + app.code[0].value


def result_count(app: AppTest) -> str:
    return next(element.value for element in app.caption if " ms" in element.value)


@pytest.fixture
def indexed(photo_tree, data_dir):
    with Store.open(data_dir) as store:
        index_with(store, [photo_tree["root"]], FakeCaptioner())
    return photo_tree, data_dir


def test_empty_state_shows_the_command_to_build_an_index(tmp_path, monkeypatch):
    app = start_app(tmp_path / "nothing-here", monkeypatch)
    assert "no photo index here yet" in app.info[0].value
    assert f"captionary index ~/Pictures --data-dir {tmp_path / 'nothing-here'}" in app.code[0].value


def test_search_shows_thumbnails_captions_and_count(indexed, monkeypatch):
    tree, data_dir = indexed
    app = search(start_app(data_dir, monkeypatch), "red car")
    assert shown_names(app) == ["IMG_0001.jpg"]
    assert result_count(app).startswith("1 photo ·")
    # matched words are highlighted in the caption
    assert any("**red**" in element.value and "**car**" in element.value for element in app.markdown)
    # the grid shows the cached thumbnail, never the photo itself
    assert len(app.image) == 1


def test_no_results_says_so(indexed, monkeypatch):
    _, data_dir = indexed
    app = search(start_app(data_dir, monkeypatch), "spaceship")
    assert "No photos match" in app.info[0].value and shown_names(app) == []


def test_malformed_query_is_a_friendly_warning(indexed, monkeypatch):
    _, data_dir = indexed
    for query in ['"red car', "path:/etc/passwd", "dog AND"]:
        app = search(start_app(data_dir, monkeypatch), query)
        assert app.warning and "Can't search for that" in app.warning[0].value
        assert not app.exception and shown_names(app) == []


def test_empty_query_browses_everything(indexed, monkeypatch):
    _, data_dir = indexed
    app = start_app(data_dir, monkeypatch)
    assert result_count(app).startswith("16 photos")


def test_folder_filter(indexed, monkeypatch):
    tree, data_dir = indexed
    app = start_app(data_dir, monkeypatch)
    app.selectbox(key="folder").select(str(tree["beach"].parent)).run()
    assert shown_names(app) == ["img_001.jpg"]


def test_file_type_filter(indexed, monkeypatch):
    _, data_dir = indexed
    app = start_app(data_dir, monkeypatch)
    # one entry per format, by name: "JPEG" once for .jpg and .jpeg (they were two entries)
    assert app.multiselect(key="exts").options == ["BMP", "GIF", "HEIC", "JPEG", "PNG", "TIFF", "WebP"]
    app.multiselect(key="exts").select("PNG").run()
    names = shown_names(app)
    assert names and all(name.endswith(".png") for name in names)
    app.multiselect(key="exts").unselect("PNG").select("JPEG").run()
    assert {name.rsplit(".", 1)[1] for name in shown_names(app)} == {"jpg", "JPEG"}


def test_date_filter(indexed, monkeypatch):
    from datetime import date

    _, data_dir = indexed
    app = start_app(data_dir, monkeypatch)
    app.checkbox(key="use_dates").check().run()
    app.date_input(key="dates").set_value((date(2019, 8, 1), date(2019, 8, 31))).run()
    assert shown_names(app) == ["img_001.jpg"]


def test_limiting_to_dates_keeps_every_photo_until_the_range_is_narrowed(tmp_path, data_dir, monkeypatch):
    from datetime import date, datetime

    root = tmp_path / "family"
    save_jpeg(photo(colour=COLOURS[0]), root / "daguerreotype.jpg", taken="1850:03:02 10:00:00")
    save_jpeg(photo(colour=COLOURS[1]), root / "scan_1975.jpg", taken="1975:07:14 10:00:00")
    save_jpeg(photo(colour=COLOURS[2]), root / "phone_2021.jpg", taken="2021:05:01 10:00:00")
    ahead = save_jpeg(photo(colour=COLOURS[3]), root / "clock_ahead.jpg")  # no date taken; the file says 2099
    os.utime(ahead, (datetime(2099, 6, 1, 12).timestamp(),) * 2)
    with Store.open(data_dir) as store:
        index_with(store, [root], FakeCaptioner())
    app = start_app(data_dir, monkeypatch)
    app.checkbox(key="use_dates").check().run()
    # the range spans the library: no photo is hidden by ticking the box (was: 2000 to today, nothing before 1990)
    picker = app.date_input(key="dates")
    assert picker.value == (date(1850, 3, 2), date(2099, 6, 1))
    assert (picker.min, picker.max) == (date(1850, 3, 2), date(2099, 6, 1))
    assert len(shown_names(app)) == 4
    picker.set_value((date(1970, 1, 1), date(1979, 12, 31))).run()
    assert shown_names(app) == ["scan_1975.jpg"]


def test_the_date_filter_logs_no_warning_on_the_runs_after_it_is_ticked(indexed, monkeypatch):
    from streamlit.elements.lib import policies

    _, data_dir = indexed
    warned = []
    monkeypatch.setattr(policies, "_shown_default_value_warning", False)  # once a process: as a fresh server
    monkeypatch.setattr(policies._LOGGER, "warning", lambda message, *args, **kwargs: warned.append(message % args))
    app = start_app(data_dir, monkeypatch)
    app.checkbox(key="use_dates").check().run()
    app.radio(key="browse-sort").set_value("Oldest first").run()
    # was: 'The widget with key "dates" was created with a default value but also had its value set via the
    # Session State API', with a stack, in the server's log on every run: a service's journal that reads as a crash
    assert warned == [] and app.date_input(key="dates").value
    assert len(shown_names(app)) > 1


def test_limiting_to_dates_in_a_library_without_photos_shows_none(tmp_path, data_dir, monkeypatch):
    (tmp_path / "empty").mkdir()
    with Store.open(data_dir) as store:
        index_with(store, [tmp_path / "empty"], FakeCaptioner())
    app = start_app(data_dir, monkeypatch)
    app.checkbox(key="use_dates").check().run()
    assert not app.exception and shown_names(app) == []


def test_sort_by_date(indexed, monkeypatch):
    _, data_dir = indexed
    app = search(start_app(data_dir, monkeypatch), "car OR beach")
    app.radio(key="sort").set_value("Oldest first").run()
    # the two EXIF-dated 2019 photos: June before August
    assert shown_names(app)[:2] == ["IMG_0001.jpg", "img_001.jpg"]


def fifty_seven_dogs(root: Path, data_dir: Path) -> None:
    for i in range(57):
        save_jpeg(photo(colour=COLOURS[1], size=(40 + i, 30)), root / f"dog_{i:03}.jpg")
    with Store.open(data_dir) as store:
        index_with(store, [root], FakeCaptioner())


def test_paging(tmp_path, data_dir, monkeypatch):
    fifty_seven_dogs(tmp_path / "many", data_dir)
    app = search(start_app(data_dir, monkeypatch), "dog")
    assert len(shown_names(app)) == 50 and result_count(app).startswith("57 photos")
    app.button(key="page-next").click().run()
    assert len(shown_names(app)) == 7
    assert any("Page 2 of 2" in element.value for element in app.markdown)
    # a new query starts again at page one
    search(app, "dog beach")
    assert len(shown_names(app)) == 50


def test_a_page_the_library_no_longer_reaches_shows_its_last_page(tmp_path, data_dir, monkeypatch):
    root = tmp_path / "many"
    fifty_seven_dogs(root, data_dir)
    app = search(start_app(data_dir, monkeypatch), "dog")
    app.button(key="page-next").click().run()
    for path in sorted(root.iterdir())[:20]:  # photos deleted, then an index run while the app shows page 2
        path.unlink()
    with Store.open(data_dir) as store:
        index_with(store, [root], FakeCaptioner())
    app.run()
    assert len(shown_names(app)) == 37 and result_count(app).startswith("37 photos")  # was: "No photos match"


def test_detail_view_and_neighbours(indexed, monkeypatch):
    tree, data_dir = indexed
    app = search(start_app(data_dir, monkeypatch), "holidays OR city")
    first, second = shown_names(app)[:2]
    first_id = app.session_state["result_ids"][0]
    app.button(key=f"open-{first_id}").click().run()
    assert unescape(app.subheader[0].value) == first
    assert "Pixel 4" in metadata(app) or "unknown" in metadata(app)
    app.button(key="detail-next").click().run()
    assert unescape(app.subheader[0].value) == second
    app.button(key="detail-back").click().run()
    assert shown_names(app)[:2] == [first, second]


def test_detail_shows_metadata(indexed, monkeypatch):
    tree, data_dir = indexed
    app = search(start_app(data_dir, monkeypatch), "red car")
    app.button(key=f"open-{app.session_state['result_ids'][0]}").click().run()
    text = metadata(app)
    assert str(tree["red"]) in text and "64 × 48" in text and "Pixel 4" in text and "2019-06-01" in text
    assert "fake-model" in text


def test_a_photo_changed_since_it_was_indexed_is_shown_with_a_word_that_its_details_are_old(indexed, monkeypatch):
    tree, data_dir = indexed
    app = search(start_app(data_dir, monkeypatch), "red car")
    save_jpeg(photo(colour=COLOURS[2], size=(30, 90)), tree["red"])  # another picture under the same name
    app.button(key=f"open-{app.session_state['result_ids'][0]}").click().run()
    assert any("changed since it was indexed" in element.value for element in app.info)  # was: no word of it


def test_a_photo_gone_with_its_thumbnail_keeps_a_square_in_the_grid(indexed, monkeypatch):
    tree, data_dir = indexed
    with Store.open(data_dir) as store:
        store.thumbnail(store.image_by_path(tree["red"]).content_hash).unlink(missing_ok=True)
    tree["red"].unlink()
    app = search(start_app(data_dir, monkeypatch), "red car")
    assert [element.value for element in app.caption if "unavailable" in element.value] == ["(photo unavailable)"]
    assert len(app.get("image")) == 1  # was: the caption alone, and the tile's text level with the others' pictures


def test_edit_caption_is_searchable_and_survives_reindex(indexed, monkeypatch):
    tree, data_dir = indexed
    app = search(start_app(data_dir, monkeypatch), "red car")
    file_id = app.session_state["result_ids"][0]
    app.button(key=f"open-{file_id}").click().run()
    app.text_area(key=f"caption-{file_id}").input("Grandpa's old Volvo")  # sent with the form's submit
    submit = next(button for button in app.button if button.label == "Save caption")
    submit.click().run()
    assert app.success and "Re-indexing will keep" in app.success[0].value
    with Store.open(data_dir) as store:
        index_with(store, [tree["root"]], FakeCaptioner("another-model"), recaption=True)
        assert [hit.image.path for hit in store.search("volvo").hits] == [str(tree["red"])]
    app.button(key="detail-back").click().run()
    search(app, "volvo")
    assert shown_names(app) == ["IMG_0001.jpg"]


def test_caption_tab_without_input_asks_for_one(indexed, monkeypatch):
    _, data_dir = indexed
    app = caption_view(start_app(data_dir, monkeypatch))
    app.button(key="caption-go").click().run()
    assert any("Upload a photo or paste a URL" in element.value for element in app.warning)


def test_caption_tab_with_missing_model_says_why(indexed, monkeypatch, tmp_path):
    tree, data_dir = indexed
    monkeypatch.setenv("CAPTIONARY_MODEL", str(tmp_path / "no-model"))
    app = caption_view(start_app(data_dir, monkeypatch))
    app.text_input(key="caption-url").input("http://127.0.0.1:9/x.jpg").run()
    app.button(key="caption-go").click().run()
    assert app.error and "Cannot load model" in app.error[0].value


def test_unknown_id_in_session_cannot_show_anything(indexed, monkeypatch):
    # The app reads photos only by DB id; an id that is not in the DB shows nothing but a notice.
    _, data_dir = indexed
    app = start_app(data_dir, monkeypatch)
    app.session_state["selected"] = 999_999
    app.run()
    assert "no longer in the index" in app.warning[0].value and not app.image


def test_match_mode_toggle_with_embeddings(photo_tree, data_dir, monkeypatch):
    with Store.open(data_dir) as store:
        from indexer.models.search_encoders import enable_embeddings

        enable_embeddings(store)
        index_with(store, [photo_tree["root"]], FakeCaptioner(), embeddings=True)
    app = search(start_app(data_dir, monkeypatch), "automobile")
    # hybrid by default: "automobile" finds the red car by meaning, shown as related (no word matches)
    assert shown_names(app)[0] == "IMG_0001.jpg"
    assert re.match(r"\d+ related photos? · ", result_count(app)) and app.subheader[0].value == "Related"
    app.segmented_control(key="mode").set_value("keyword").run()
    assert shown_names(app) == [] and "No photos match" in app.info[0].value


def test_searching_logs_no_warning_about_widget_state(photo_tree, data_dir, monkeypatch, caplog):
    with Store.open(data_dir) as store:
        from indexer.models.search_encoders import enable_embeddings

        enable_embeddings(store)
        index_with(store, [photo_tree["root"]], FakeCaptioner(), embeddings=True)
    with caplog.at_level("WARNING", logger="streamlit"):
        app = search(start_app(data_dir, monkeypatch), "car")
        search(app, "dog")
    assert app.segmented_control(key="mode").value == "hybrid"
    assert not [record.getMessage() for record in caplog.records if "Session State" in record.getMessage()]


def test_caption_tab_uses_the_model_that_captioned_the_library(photo_tree, data_dir, monkeypatch):
    from db.errors import ModelLoadError
    from indexer.models import captioner

    with Store.open(data_dir) as store:
        index_with(store, [photo_tree["root"]], FakeCaptioner("/models/the-library-model"))
    asked = []

    class RecordingCaptioner:
        def __init__(self, model_id=None, **kwargs):
            asked.append(model_id)
            raise ModelLoadError(f"Cannot load model '{model_id}' (offline)")

    monkeypatch.setattr(captioner, "Captioner", RecordingCaptioner)
    app = caption_view(start_app(data_dir, monkeypatch))
    app.text_input(key="caption-url").input("https://example.com/x.jpg").run()
    app.button(key="caption-go").click().run()
    # the library's model, not the default one; and the error says how to choose another
    assert asked == ["/models/the-library-model"]
    assert "captionary app --model" in app.error[0].value


def test_the_search_survives_a_visit_to_the_caption_view(indexed, monkeypatch):
    _, data_dir = indexed
    app = search(start_app(data_dir, monkeypatch), "red car")
    app.checkbox(key="use_dates").check().run()
    caption_view(app)
    app.segmented_control(key="view").set_value("Search").run()
    # the query, its results and the filters are as they were (with tabs they were never dropped)
    assert app.text_input(key="query").value == "red car" and shown_names(app) == ["IMG_0001.jpg"]
    assert app.checkbox(key="use_dates").value


def test_a_long_caption_shows_its_first_sentence_and_the_rest_on_demand(indexed, monkeypatch):
    tree, data_dir = indexed
    paragraph = "A red car stands in a narrow street. Behind it, a bakery with a striped awning and two cyclists."
    with Store.open(data_dir) as store:
        store.set_caption(store.search("red car").hits[0].image.id, paragraph)
    app = search(start_app(data_dir, monkeypatch), "bakery")
    tiles = [unescape(element.value) for element in app.markdown if "narrow street" in unescape(element.value)]
    # the grid tile: the first sentence and a mark that there is more, not a column of text
    assert tiles == ["A red car stands in a narrow street. …"]
    app.button(key=f"open-{app.session_state['result_ids'][0]}").click().run()
    expander = next(element for element in app.expander if element.label == "Full caption")
    assert any("striped awning" in unescape(element.value) for element in expander.markdown)


def test_a_caption_that_never_ends_a_sentence_is_cut_in_its_tile(indexed, monkeypatch):
    tree, data_dir = indexed
    endless = "a red car " + "and another red car " * 150  # 3,000 characters, no full stop
    with Store.open(data_dir) as store:
        store.set_caption(store.search("red car").hits[0].image.id, endless)
    app = search(start_app(data_dir, monkeypatch), "another")
    tiles = [unescape(element.value).replace("**", "") for element in app.markdown]  # the query's words in bold
    tiles = [tile for tile in tiles if tile.startswith("a red car and another")]
    assert len(tiles) == 1 and len(tiles[0]) <= 140 and tiles[0].endswith("…")  # was: all 3,000 characters


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serving(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def port_taken(port: int) -> bool:
    """Whether a new server could not listen on the port (as Streamlit listens: SO_REUSEADDR)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            probe.listen()
        except OSError:
            return True
        return False


@pytest.mark.slow
def test_stopping_the_app_by_its_process_id_stops_the_server(data_dir):
    # As a service manager stops it: a signal to the process it started, `captionary app`, and to no other.
    # One app for each signal, started together (each start takes seconds).
    env = {**os.environ, "STREAMLIT_SERVER_HEADLESS": "true"}
    apps = {}
    try:
        for stop in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            port = free_port()
            command = [sys.executable, "-m", "indexer", "app", "--port", str(port), "--data-dir", str(data_dir)]
            # its own process group, so that whatever it leaves behind can be found (and cleaned up) below
            apps[stop] = (
                port,
                subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True),
            )
        deadline = time.monotonic() + 90
        for port, app in apps.values():
            while not serving(port):  # (binding to see would race the server for the port)
                assert app.poll() is None and time.monotonic() < deadline, app.stderr.read().decode()[-2000:]
                time.sleep(0.2)
        for stop, (port, app) in apps.items():
            app.send_signal(stop)
            app.wait(timeout=30)
            assert not serving(port) and not port_taken(port), (
                f"after {stop.name} a server still listens on {port}: the next start fails"
            )
            with pytest.raises(ProcessLookupError):  # nothing of the app is left running
                os.killpg(app.pid, 0)
    finally:
        for _, app in apps.values():
            try:
                os.killpg(app.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            app.wait()


def open_photo(app: AppTest, file_id: int) -> AppTest:
    app.button(key=f"open-{file_id}").click().run()
    assert not app.exception, app.exception
    return app


def test_saving_a_caption_and_tags_shows_them_at_once(indexed, monkeypatch):
    tree, data_dir = indexed
    app = search(start_app(data_dir, monkeypatch), "red car")
    file_id = app.session_state["result_ids"][0]
    open_photo(app, file_id)
    app.text_area(key=f"caption-{file_id}").input("Grandpa's old Volvo")
    next(button for button in app.button if button.label == "Save caption").click().run()
    # the same run that says "Saved." shows the saved caption, who wrote it, and the way back
    assert "Saved." in app.success[0].value
    assert any(unescape(element.value) == "Grandpa's old Volvo" for element in app.markdown)
    assert "Caption by: a person (edited)" in metadata(app).replace("**", "")
    assert any(button.label == "Revert caption" for button in app.button)
    # the new caption's words are the photo's auto-tags now: the tags box says so too
    with Store.open_existing(data_dir) as store:
        stored = store.image(file_id).tags
    assert "volvo" in stored and app.text_input(key=f"tags-{file_id}-text").value == ", ".join(stored)

    app.text_input(key=f"tags-{file_id}-text").input("Old Cars, grandpa")
    next(button for button in app.button if button.label == "Save tags").click().run()
    assert "Tags: grandpa, old cars" in metadata(app).replace("**", "")  # as stored: lower case, in order
    assert app.text_input(key=f"tags-{file_id}-text").value == "grandpa, old cars"
    # a tag too long to keep is refused in one line, not stored cut (was: cut to 40 characters, and "Tags saved.")
    app.text_input(key=f"tags-{file_id}-text").input("grandpa, old cars, " + "w" * 120)
    next(button for button in app.button if button.label == "Save tags").click().run()
    assert "at most 100 characters" in app.error[0].value and "Tags: grandpa, old cars" in metadata(app).replace("**", "")

    app.button(key=f"revert-{file_id}").click().run()
    # the model's caption is back, in the view and in the field, and there is nothing left to revert
    assert app.text_area(key=f"caption-{file_id}").value == "a red car parked on a city street"
    assert "Caption by: fake-model" in metadata(app).replace("**", "")
    assert not any(button.label == "Revert caption" for button in app.button)


def test_same_named_photos_show_the_folder_that_tells_them_apart(tmp_path, data_dir, monkeypatch):
    root = tmp_path / "photos"
    for folder in ("2019/city trip", "2022/city trip", "scans"):
        save_jpeg(photo(colour=COLOURS[0]), root / folder / "IMG_0001.jpg")
    save_jpeg(photo(colour=COLOURS[0]), root / "2022" / "city trip" / "IMG_0002.jpg")
    with Store.open(data_dir) as store:
        index_with(store, [root], FakeCaptioner())
    app = search(start_app(data_dir, monkeypatch), "car")
    tiles = sorted(text for text in (unescape(element.value) for element in app.caption) if "IMG_" in text)
    assert tiles == [
        "IMG_0001.jpg\n\n…/2019/city trip",
        "IMG_0001.jpg\n\n…/2022/city trip",
        "IMG_0001.jpg\n\n…/scans",
        "IMG_0002.jpg",  # named once: no folder
    ]


def test_the_folder_shown_is_the_shortest_end_that_differs():
    from search_assets import distinguishing_folders

    assert distinguishing_folders(["/p/a/IMG.jpg", "/p/b/x/IMG.jpg", "/q/b/x/IMG.jpg", "/x/IMG.jpg", "/p/a/other.jpg"]) == {
        "/p/a/IMG.jpg": "…/a",
        "/p/b/x/IMG.jpg": "…/p/b/x",  # b/x is in /q too
        "/q/b/x/IMG.jpg": "…/q/b/x",
        "/x/IMG.jpg": "/x",  # the whole folder: every shorter end is another's too
    }


def test_a_photo_without_a_camera_has_no_camera_row(indexed, monkeypatch):
    tree, data_dir = indexed
    app = search(start_app(data_dir, monkeypatch), "beach")
    open_photo(app, app.session_state["result_ids"][0])
    assert "Taken:" in metadata(app) and "Camera" not in metadata(app)


class NoticeReader:
    engine_id = "fake-ocr"

    def read(self, image) -> str:
        return "\n".join(["OPENING HOURS", *(f"line {number}" for number in range(2, 22))])


def test_text_in_a_photo_comes_after_its_details_folded_after_three_lines(photo_tree, data_dir, monkeypatch):
    with Store.open(data_dir) as store:
        index_with(store, [photo_tree["root"]], FakeCaptioner(), ocr=True, text_reader_factory=lambda _: NoticeReader())
    app = search(start_app(data_dir, monkeypatch), "red car")
    open_photo(app, app.session_state["result_ids"][0])
    texts = [unescape(element.value) for element in app.markdown]
    details = next(index for index, text in enumerate(texts) if "Taken:" in text)
    shown = next(index for index, text in enumerate(texts) if text.startswith("**Text in the photo:**"))
    assert shown > details
    assert texts[shown].splitlines()[1:] == ["OPENING HOURS  ", "line 2  ", "line 3"]
    folded = next(element for element in app.expander if element.label == "18 more lines")
    assert unescape(folded.markdown[0].value).splitlines()[0] == "line 4  "
    assert unescape(folded.markdown[0].value).endswith("line 21")


def test_a_web_address_in_a_text_is_kept_from_becoming_a_link():
    from search_assets import WORD_JOINER, escape_markdown

    shown = escape_markdown("see https://evil.example, WWW.evil.example or me@evil.example")
    # each pattern GFM links (scheme://, www., name@host) is broken by an invisible joiner
    for planted in ("https\\:" + WORD_JOINER + "\\/\\/", "WWW" + WORD_JOINER + "\\.", "me\\@" + WORD_JOINER + "evil"):
        assert planted in shown, shown
    assert unescape(shown) == "see https://evil.example, WWW.evil.example or me@evil.example"


def test_a_reading_of_the_query_is_a_chip_that_can_be_removed(indexed, monkeypatch):
    _, data_dir = indexed
    app = search(start_app(data_dir, monkeypatch), "june 2019")
    assert shown_names(app) == ["IMG_0001.jpg"]  # taken 2019-06-01
    chip = next(button for button in app.button if button.label.startswith("taken in June 2019"))
    chip.click().run()
    assert not app.exception, app.exception
    assert "No photos match" in app.info[0].value  # the words as typed: no caption says june
    assert not [button for button in app.button if button.label.startswith("taken in")]


def test_a_reading_that_is_another_choice_is_a_chip_that_says_or(indexed, monkeypatch):
    _, data_dir = indexed
    app = search(start_app(data_dir, monkeypatch), "june 2019 or june 2020")
    assert shown_names(app) == ["IMG_0001.jpg"]  # taken 2019-06-01 (was: none, both months required)
    chips = [button.label for button in app.button if "taken in June" in button.label]
    assert chips == ["taken in June 2019 ✕", "or taken in June 2020 ✕"]
    app = search(app, "2019 or 2019")  # two readings of the same words: was a duplicate-key error
    assert not app.exception, app.exception


def test_a_date_no_photo_was_taken_in_shows_no_photo(indexed, monkeypatch):
    _, data_dir = indexed
    app = search(start_app(data_dir, monkeypatch), "dog date:2001")
    assert result_count(app).startswith("0 photos") and shown_names(app) == []


def tag_choices(app: AppTest) -> list[str]:
    """The sidebar's tags as shown: "dog (3)"."""
    (tags,) = [group for group in app.sidebar.get("button_group") if group.proto.label == "Tags"]
    return [unescape(option.content) for option in tags.proto.options]


def test_the_tags_offered_are_those_of_the_photos_found_with_their_counts(indexed, monkeypatch):
    tree, data_dir = indexed
    with Store.open_existing(data_dir) as store:
        dogs = [hit.image.id for hit in store.search("dog", limit=100).hits]
        for file_id in dogs[:3]:
            store.edit_tags(file_id, add=["rex"])
        store.edit_tags(dogs[0], add=["grandma"])
        store.edit_tags(store.image_by_path(tree["red"]).id, add=["grandma"])
        library = [f"{tag} ({count})" for tag, count in store.facets(30).tags]
    app = start_app(data_dir, monkeypatch)
    assert tag_choices(app) == library  # browsing the whole library: its own counts
    assert library[:5] == ["beach (10)", "dog (10)", "sea (10)", "ball (3)", "child (3)"] and "grandma (2)" in library
    search(app, "dog")
    assert tag_choices(app) == ["beach (10)", "dog (10)", "sea (10)", "rex (3)", "grandma (1)"]
    # choosing one narrows the search; it stays offered, and the others are counted among the photos left
    app.sidebar.get("button_group")[0].set_value(["rex"]).run()
    assert result_count(app).startswith("3 photos")
    assert tag_choices(app) == ["rex (3)", "beach (3)", "dog (3)", "sea (3)", "grandma (1)"]
    # a search that finds nothing still offers the chosen tag, to unchoose it
    search(app, "zebra")
    assert tag_choices(app) == ["rex (0)"]
    # and a photo opened from the results keeps the results' tags beside it
    search(app, "dog")
    open_photo(app, dogs[0])
    assert tag_choices(app) == ["rex (3)", "beach (3)", "dog (3)", "sea (3)", "grandma (1)"]
