"""The Streamlit app in headless Chromium, driven by Playwright, at 1400 px and at 800 px (a laptop in
split view): clickable thumbnails, keyboard navigation, nothing cut off, nothing that sends a user away.
Screenshots land in test-artifacts/ for a person to look at."""

import os
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from db.store import Store
from indexer.cli.console import streamlit_command
from indexer.options import IndexOptions
from indexer.pipeline import index_roots, load_captioner
from tests.metadata_photos import xmp_packet
from tests.photos import COLOURS, make_photo_tree, photo, save_jpeg

CHROMIUM = "/usr/bin/chromium"
REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
MAIN = "[data-testid='stMainBlockContainer']"

pytestmark = pytest.mark.slow

# Every button and widget label whose text is cut: wider than its own box where that box clips, or
# sticking out of an ancestor that clips (the match toggle was clipped by its column, not by itself).
# A closed sidebar's controls are off screen, not cut.
CUT_CONTROLS_JS = """
() => {
  const clips = (el) => ["hidden", "clip", "auto", "scroll"].includes(getComputedStyle(el).overflowX);
  const visible = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const cut = [];
  const controls = document.querySelectorAll('button, [data-testid="stWidgetLabel"]');
  for (const control of controls) {
    if (!visible(control) || control.closest('[data-testid="stSidebar"][data-collapsed="true"]')) continue;
    const name = (control.innerText || "").trim();
    if (!name) continue;
    for (const el of [control, ...control.querySelectorAll("*")]) {
      if (visible(el) && clips(el) && el.scrollWidth > el.clientWidth + 1) { cut.push(name + " (text)"); break; }
    }
    const box = control.getBoundingClientRect();
    for (let parent = control.parentElement; parent && parent !== document.body; parent = parent.parentElement) {
      if (!clips(parent)) continue;
      const outer = parent.getBoundingClientRect();
      if (box.right > outer.right + 1 || box.left < outer.left - 1) { cut.push(name + " (clipped)"); break; }
    }
  }
  return cut;
}
"""


def wait_for_photo(page, name: str, shown: bool) -> None:
    """Until the photo view's title is `name` (shown) or has moved off it (not shown)."""
    compare = "===" if shown else "!=="
    page.wait_for_function(
        '(name) => { const h = [...document.querySelectorAll("' + MAIN + ' h3")].pop();'
        f" return h && h.innerText.replace(/\\u200b/g, '') {compare} name; }}",
        arg=name,
        timeout=30_000,
    )


LONG_CAPTION = (
    "An older woman in a red jacket stands on a snowy ridge with a walking stick. Behind her, the Matterhorn rises "
    "above a valley of pine trees, and two hikers cross a wooden bridge below. The sky is clear and deep blue."
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# What a file or a person can put in a photo's text, each a web address: the app shows them as text only.
PLANTED = {
    "caption": "Found on https://evil.example/caption and at www.evil.example/more",
    "tag": "www.evil.example/tag",
    "title": "Visit https://evil.example/title",
    "place": "www.evil.example",
    "camera": "https://evil.example/camera",
    "text": "https://evil.example/ocr",
}
PURPLE = (128, 0, 128)  # the planted photo's colour, which the fake OCR engine recognises
OCR_LINES = ["OPENING HOURS", *(f"line {number} of the notice" for number in range(2, 21)), PLANTED["text"]]


class NoticeReader:
    """OCR that finds a 21-line notice in the planted photo and nothing elsewhere (the real engine is slow)."""

    engine_id = "fake-ocr"

    def read(self, image) -> str:
        pixel = image.convert("RGB").getpixel((image.width // 2, image.height // 2))
        return "\n".join(OCR_LINES) if all(abs(a - b) < 40 for a, b in zip(pixel, PURPLE)) else ""


def build_library(root: Path, data_dir: Path, model: Path) -> dict:
    """The test photo tree (16 photos), a namesake of IMG_0001.jpg in another folder and a photo whose every
    text is a web address, indexed with the tiny model: 18 photos."""
    tree = make_photo_tree(root)
    # One photo carries what Lightroom would leave: a sidecar with a title, a description, a keyword, a place
    # and a position, for the place filter, the map and the photo view's metadata.
    sidecar = xmp_packet(
        subjects=["Grandma"],
        title="Zermatt weekend",
        description="Grandma's first time on a mountain",
        city="Zermatt",
        country="Switzerland",
        latitude="46,1.2N",
        longitude="7,44.9E",
    )
    Path(f"{tree['red']}.xmp").write_bytes(sidecar)
    tree["namesake"] = save_jpeg(photo(colour=COLOURS[2]), root / "2022" / "city trip" / "IMG_0001.jpg")
    tree["planted"] = save_jpeg(
        photo(size=(1200, 800), colour=PURPLE), root / "2022" / "links" / "planted.jpg", camera=PLANTED["camera"]
    )
    Path(f"{tree['planted']}.xmp").write_bytes(xmp_packet(title=PLANTED["title"], city=PLANTED["place"]))
    with Store.open(data_dir) as store:
        options = IndexOptions(model=str(model), ocr=True)
        index_roots(store, [root], options, load_captioner, text_reader_factory=lambda _: NoticeReader())
        ids = {hit.image.path: hit.image.id for hit in store.search("*", limit=100).hits}
        # what a vision-language model writes: a paragraph, which the grid must not show whole
        store.set_caption(ids[str(tree["red"])], LONG_CAPTION)
        store.set_caption(ids[str(tree["planted"])], PLANTED["caption"])
        store.edit_tags(ids[str(tree["planted"])], add=[PLANTED["tag"]], remove=[])
    return tree


def start_server(data_dir: Path):
    """`streamlit run search_app.py` as `captionary app` starts it; (process, url) once it answers."""
    port = free_port()
    env = {**os.environ, "CAPTIONARY_DATA_DIR": str(data_dir)}
    command = [*streamlit_command(str(REPO / "search_app.py"), "127.0.0.1", port), "--server.headless", "true"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return server, url
        except OSError:
            if time.time() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError(f"streamlit did not start: {server.stdout.read().decode()[-2000:]}") from None
            time.sleep(0.5)


@pytest.fixture(scope="module")
def app_server(tmp_path_factory, tiny_model):
    # one library and one server for every test here: starting them is most of this file's time
    base = tmp_path_factory.mktemp("browser")
    tree = build_library(base / "photos", base / "data", tiny_model)
    server, url = start_server(base / "data")
    try:
        yield url, tree
    finally:
        server.terminate()
        server.wait(timeout=20)


def wait_for_images(page, count: int) -> None:
    """Until exactly `count` images are in the main area and the browser has decoded all of them."""
    page.wait_for_function(
        '(count) => { const imgs = [...document.querySelectorAll("' + MAIN + ' img")];'
        " return imgs.length === count && imgs.every(img => img.complete && img.naturalWidth > 0); }",
        arg=count,
        timeout=60_000,
    )


def detail_name(page) -> str:
    return page.locator(f"{MAIN} h3").last.inner_text().replace("\u200b", "")


# Every link on the page that goes somewhere else than a place on the page itself.
LINKS_AWAY_JS = """
() => [...document.querySelectorAll("a[href]")]
  .filter((a) => a.href.split("#")[0] !== location.href.split("#")[0])
  .map((a) => a.href)
"""
# The page's text, without the invisible joiners that keep web addresses from becoming links.
TEXT_JS = "() => document.body.innerText.replace(/[\\u2060\\u200b]/g, '')"


def box(page, selector: str) -> dict:
    return page.locator(selector).first.evaluate(
        "(el) => { const r = el.getBoundingClientRect(); return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; }"
    )


def overlaps(one: dict, other: dict) -> bool:
    return not (
        one["right"] <= other["left"]
        or other["right"] <= one["left"]
        or one["bottom"] <= other["top"]
        or other["bottom"] <= one["top"]
    )


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM) and not os.environ.get("CI"):
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


def open_app(browser, url: str, width: int):
    """A new page (a new Streamlit session) at this width, the search box ready; and the hosts it asks."""
    page = browser.new_page(viewport={"width": width, "height": 1000})
    hosts: set[str] = set()
    # (data: and blob: addresses, which name no host, are the page's own)
    page.on("request", lambda request: hosts.add(urllib.parse.urlsplit(request.url).hostname or "127.0.0.1"))
    page.goto(url)
    page.get_by_label("Search your photos").wait_for(timeout=60_000)
    return page, hosts


def search_for(page, query: str, count: int) -> None:
    search_box = page.get_by_label("Search your photos")
    search_box.fill(query)
    search_box.press("Enter")
    page.get_by_text(f"{count} photo{'s' if count != 1 else ''} ·").first.wait_for(timeout=30_000)
    wait_for_images(page, count)


@pytest.mark.parametrize("width", [1400, 800])
def test_the_app_in_a_real_browser(app_server, browser, width):
    url, tree = app_server
    page, hosts = open_app(browser, url, width)
    wait_for_images(page, 18)  # browsing: every photo, newest first
    # below 1000 px the sidebar starts closed: the filters would take a third of the window
    page.wait_for_function(
        "(open) => document.querySelector('[data-testid=stSidebar]').dataset.collapsed === String(!open)",
        arg=width >= 1000,
        timeout=10_000,
    )
    page.screenshot(path=str(ARTIFACTS / f"app-grid-{width}.png"), full_page=True)
    if width < 1000:  # the button that opens it does not cover the title
        assert not overlaps(box(page, "[data-testid='stExpandSidebarButton']"), box(page, f"{MAIN} h3"))
    # a private photo app: nothing that sends the user to a cloud service
    assert page.get_by_text("Deploy", exact=True).count() == 0
    assert page.evaluate(CUT_CONTROLS_JS) == [], "cut-off controls while browsing"
    # tiles of one size: every thumbnail is square and they line up in rows
    boxes = page.locator(f"{MAIN} img").evaluate_all(
        "(imgs) => imgs.map(img => { const r = img.getBoundingClientRect(); return [r.width, r.height, r.top]; })"
    )
    assert all(abs(w - h) <= 1 for w, h, _ in boxes), boxes
    columns = sum(1 for _, _, top in boxes if abs(top - boxes[0][2]) <= 1)
    assert columns == (5 if width == 1400 else 4), columns  # 800 px, the sidebar closed: 4 (2 beside it)

    search_for(page, "holidays OR formats", 12)
    widths = page.locator(f"{MAIN} img").evaluate_all("(imgs) => imgs.map(img => img.naturalWidth)")
    assert all(0 < width_ <= 320 for width_ in widths), widths  # thumbnails, never the full photo
    assert page.evaluate(CUT_CONTROLS_JS) == [], "cut-off controls on the results"
    page.screenshot(path=str(ARTIFACTS / f"app-search-{width}.png"), full_page=True)
    keyboard_ui_checks(page, width)
    planted_checks(page, width, tree)
    metadata_checks(page, width)  # last: it leaves a place filter on
    # the map's note names the only host the page asked for besides the app: the base map's tiles
    assert hosts - {"127.0.0.1"} <= {"basemaps.cartocdn.com"}, hosts

    page.get_by_text("Caption a photo", exact=True).click()
    page.get_by_role("button", name="Caption it").wait_for(timeout=30_000)
    # the search filters are not shown where they do not apply (Streamlit removes the old elements only
    # when the run ends, so wait for them to go rather than look at once)
    page.get_by_text("Filters", exact=True).wait_for(state="detached", timeout=30_000)
    assert page.evaluate(CUT_CONTROLS_JS) == [], "cut-off controls on the caption view"
    page.screenshot(path=str(ARTIFACTS / f"app-caption-{width}.png"), full_page=True)
    page.close()
    for view in ("grid", "search", "photo", "map", "metadata", "links", "caption"):
        assert (ARTIFACTS / f"app-{view}-{width}.png").stat().st_size > 10_000


def keyboard_ui_checks(page, width: int) -> None:
    """The thumbnail opens the photo; arrow keys step through the results, Escape goes back to the grid."""
    page.locator(f"{MAIN} img").nth(1).click()
    page.get_by_role("button", name="Save caption").wait_for(timeout=30_000)
    wait_for_images(page, 1)
    second = detail_name(page)
    assert page.evaluate(CUT_CONTROLS_JS) == [], "cut-off controls in the photo view"
    page.screenshot(path=str(ARTIFACTS / f"app-photo-{width}.png"), full_page=True)
    page.evaluate("() => document.activeElement && document.activeElement.blur()")  # no text field focused
    page.keyboard.press("ArrowLeft")
    wait_for_photo(page, second, shown=False)
    first = detail_name(page)
    page.keyboard.press("ArrowRight")
    wait_for_photo(page, second, shown=True)
    assert first != second
    page.keyboard.press("Escape")
    wait_for_images(page, 12)


def metadata_checks(page, width: int) -> None:
    """The file's keyword is a tag; the place filter offers the country; the map shows the photo and says
    where its tiles come from; the photo view shows the file's title, description and the whole caption."""
    search_for(page, "tag:grandma", 1)  # a field: matches only, no related photos
    # the tile shows the caption's first sentence, and marks that there is more
    page.get_by_text("An older woman in a red jacket stands on a snowy ridge with a walking stick. …").wait_for(timeout=30_000)
    assert page.get_by_text("two hikers cross a wooden bridge").count() == 0
    page.get_by_text("Map of 1 photo on this page with a position").click()
    page.locator("[data-testid='stDeckGlJsonChart']").wait_for(timeout=30_000)
    page.get_by_text("The base map is loaded from CARTO's servers (basemaps.cartocdn.com)").wait_for(timeout=30_000)
    if width < 1000:
        page.locator("[data-testid='stExpandSidebarButton']").click()  # the filters: one click away
        page.wait_for_function(  # until it has slid in
            "() => document.querySelector('[data-testid=stSidebar]').getBoundingClientRect().left >= 0", timeout=10_000
        )
        page.wait_for_timeout(300)
    places = page.locator("[data-testid='stSidebar'] [data-testid='stMultiSelect']").filter(has_text="Place")
    places.click()
    page.get_by_role("option", name="Switzerland (1)", exact=True).click()
    page.keyboard.press("Escape")
    page.get_by_role("listbox").wait_for(state="detached", timeout=30_000)  # the list closed: nothing overlays
    page.locator("[data-testid='stSidebar']").get_by_text("Switzerland (1)").wait_for(timeout=30_000)
    wait_for_images(page, 1)  # the filter keeps the photo taken there
    page.screenshot(path=str(ARTIFACTS / f"app-map-{width}.png"), full_page=True)
    page.locator(f"{MAIN} img").first.click()
    wait_for_photo(page, "Zermatt weekend", shown=True)  # the file's title names the photo
    page.get_by_text("Keywords from the file:").wait_for(timeout=30_000)
    page.get_by_text("Grandma's first time on a mountain").wait_for(timeout=30_000)
    page.get_by_text("Full caption").click()  # the rest of the caption, on demand
    details = page.get_by_test_id("stExpanderDetails").get_by_text("two hikers cross a wooden bridge")
    details.wait_for(timeout=30_000)
    wait_for_images(page, 1)  # the photo itself, beside its metadata
    page.wait_for_timeout(400)  # the expander's opening animation, so the screenshot shows its text
    page.screenshot(path=str(ARTIFACTS / f"app-metadata-{width}.png"), full_page=True)  # first: a failure leaves it
    assert page.evaluate(CUT_CONTROLS_JS) == [], "cut-off controls in a photo view with metadata"
    page.keyboard.press("Escape")
    wait_for_images(page, 1)


def planted_checks(page, width: int, tree: dict) -> None:
    """Same-named photos tell their folders; web addresses in every text are text, not links; the photo
    view lays out without overlap: beside the photo at 1400 px, under it at 800."""
    search_for(page, "links OR trip", 3)
    text = page.evaluate(TEXT_JS)
    assert "…/2019/city trip" in text and "…/2022/city trip" in text  # the two IMG_0001.jpg
    assert "…/links" not in text  # planted.jpg is the only one of its name
    tile = page.locator(f"{MAIN} [data-testid='stColumn']").filter(has_text="planted")
    tile.locator("img").click()
    page.get_by_role("button", name="Save caption").wait_for(timeout=30_000)
    wait_for_images(page, 1)
    page.get_by_text("18 more lines").click()  # the text read in the photo, unfolded
    page.get_by_test_id("stExpanderDetails").get_by_text("line 20 of the notice").wait_for(timeout=30_000)
    text = page.evaluate(TEXT_JS)
    for where, planted in PLANTED.items():
        assert planted in text, where  # shown, as text
    assert page.evaluate(LINKS_AWAY_JS) == []  # and nowhere a link
    # the details: after the photo's caption, then the text read in it, its first lines, the rest folded
    assert text.index("Taken:") < text.index("Text in the photo:") < text.index("18 more lines")
    assert "Camera: https://evil.example/camera" in text
    picture, details = (box(page, f".st-key-photo-view [data-testid='stColumn']:nth-child({n})") for n in (1, 2))
    if width < 1000:
        assert details["top"] >= picture["bottom"] - 1, (picture, details)  # under the photo
    else:
        assert details["left"] >= picture["right"] - 1, (picture, details)  # beside it
    # the path under the photo, whole, on one line with its copy button (Chromium would break it inside a name)
    path = page.locator(".st-key-photo-view [data-testid='stCode'] code")
    assert path.inner_text() == str(tree["planted"])
    assert path.evaluate("(el) => el.getClientRects().length === 1 && el.offsetHeight < 40")
    # the photo's fullscreen button lies inside the photo, clear of the Previous/Next row above it
    page.locator(".st-key-photo-view [data-testid='stImage']").hover()
    fullscreen = page.locator(".st-key-photo-view [data-testid='stElementToolbar'] button").first
    fullscreen.wait_for(timeout=10_000)
    button = box(page, ".st-key-photo-view [data-testid='stElementToolbar'] button")
    for name in ("‹ Previous", "Next ›", "← Back to results"):
        assert not overlaps(button, box(page, f"button:has-text('{name}')")), name
    assert button["top"] >= box(page, ".st-key-photo-view [data-testid='stImage'] img")["top"]
    page.set_viewport_size({"width": width, "height": 2200})  # the whole view (the app scrolls inside the page)
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / f"app-links-{width}.png"))
    page.set_viewport_size({"width": width, "height": 1000})
    assert page.evaluate(CUT_CONTROLS_JS) == [], "cut-off controls in the photo view with planted links"
    page.keyboard.press("Escape")
    wait_for_images(page, 3)


def test_saving_shows_what_was_saved_at_once(app_server, browser):
    url, tree = app_server
    page, _ = open_app(browser, url, 800)
    search_for(page, "file:rotated", 1)
    page.locator(f"{MAIN} img").first.click()
    page.get_by_role("button", name="Save caption").wait_for(timeout=30_000)
    assert page.get_by_role("button", name="Revert caption").count() == 0  # the model's caption
    page.get_by_role("textbox", name="Caption").fill("Grandpa's old Volvo in the snow")
    page.get_by_role("button", name="Save caption").click()
    page.get_by_text("Saved. Re-indexing will keep your caption.").wait_for(timeout=30_000)
    # in the same view as "Saved.": the new caption, who wrote it, and the way back
    main = page.locator(MAIN)
    main.locator("p").get_by_text("Grandpa's old Volvo in the snow", exact=True).wait_for(timeout=10_000)
    assert "Caption by: a person (edited)" in page.evaluate(TEXT_JS)
    page.get_by_role("button", name="Revert caption").wait_for(timeout=10_000)
    # the new caption's auto-tags, in the list and in the tags box
    assert "Tags: grandpa, snow, volvo" in page.evaluate(TEXT_JS)
    assert page.get_by_label("Tags (comma-separated)").input_value() == "grandpa, snow, volvo"
    page.screenshot(path=str(ARTIFACTS / "app-saved-caption-800.png"), full_page=True)
    page.get_by_label("Tags (comma-separated)").fill("Volvo, Old Cars")
    page.get_by_role("button", name="Save tags").click()
    page.get_by_text("Tags saved. Re-indexing will keep them.").wait_for(timeout=30_000)
    assert "Tags: old cars, volvo" in page.evaluate(TEXT_JS)
    assert page.get_by_label("Tags (comma-separated)").input_value() == "old cars, volvo"
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / "app-saved-tags-800.png"), full_page=True)
    page.close()


# A scanned print named the way people name them: 220 characters.
LONG_NAME = (
    "Grandma and Grandpa's 50th wedding anniversary at the lake house with all the cousins, aunts and uncles from "
    "Ohio and Michigan, scanned from the original Kodak prints by Uncle Bob in the spring of 2003 (parts 2 of 3).jpg"
)
# The lines under each tile's caption (its file name, and a namesake's folder): how many lines each takes,
# and whether it is cut with an ellipsis.
NAME_LINES_JS = """
() => [...document.querySelectorAll('[class*="st-key-grid-"] [data-testid="stCaptionContainer"] p')].map((p) => ({
  text: p.textContent.replace(/\\u200b/g, ""),
  lines: Math.round(p.getBoundingClientRect().height / parseFloat(getComputedStyle(p).lineHeight)),
  ellipsis: p.scrollHeight > p.clientHeight + 1 && getComputedStyle(p).webkitLineClamp !== "none",
}))
"""


@pytest.fixture(scope="module")
def family_server(tmp_path_factory):
    """More than a page of family photos: scans dated 1975, phone photos of 2021, a scan with a 220-character name."""
    from tests.conftest import FakeCaptioner
    from tests.helpers import index_with

    base = tmp_path_factory.mktemp("family")
    for number in range(30):
        save_jpeg(
            photo(colour=COLOURS[number % 4]), base / "photos" / "scans" / f"scan_{number:02}.jpg", taken="1975:07:14 10:00:00"
        )
    for number in range(25):
        save_jpeg(
            photo(colour=COLOURS[number % 4]), base / "photos" / "phone" / f"PXL_{number:02}.jpg", taken="2021:05:01 10:00:00"
        )
    # a portrait scan, as a phone takes them: its photo view must fit the window
    save_jpeg(photo(size=(600, 1500), colour=COLOURS[0]), base / "photos" / "scans" / LONG_NAME, taken="2021:05:02 10:00:00")
    with Store.open(base / "data") as store:
        index_with(store, [base / "photos"], FakeCaptioner())
    server, url = start_server(base / "data")
    try:
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)


def wait_for_run(page) -> None:
    """Until the app has drawn the whole page for the last change."""
    page.wait_for_function("() => document.querySelector('[data-test-script-state]').dataset.testScriptState === 'notRunning'")


def picked(page, end: str) -> str:
    """The day a date range's start or end shows, as YYYY-MM-DD."""
    parts = [f"{part}, Taken between {end} date" for part in ("year", "month", "day")]
    year, month, day = (int(page.get_by_role("spinbutton", name=part).get_attribute("aria-valuenow")) for part in parts)
    return f"{year:04}-{month:02}-{day:02}"


@pytest.mark.parametrize("width", [1400, 800])
def test_long_names_the_pager_and_the_date_filter(family_server, browser, width):
    page, _ = open_app(browser, family_server, width)
    wait_for_images(page, 50)  # the first page of 56, newest first: the long name first
    names = {name["text"]: name for name in page.evaluate(NAME_LINES_JS)}
    # cut on two lines with an ellipsis (was: on 9 lines, its tile twice as tall as the others)
    assert (names[LONG_NAME]["lines"], names[LONG_NAME]["ellipsis"]) == (2, True), names[LONG_NAME]
    assert max(name["lines"] for name in names.values()) <= 2
    page.screenshot(path=str(ARTIFACTS / f"app-long-name-{width}.png"))
    page.locator(f"{MAIN} img").first.click()  # the whole name is in the photo view
    wait_for_photo(page, LONG_NAME, shown=True)
    wait_for_images(page, 1)
    shown = box(page, ".st-key-photo-view [data-testid='stImage'] img")
    # the whole photo in the window (was 600 x 1500 at both widths, its lower half and the details off screen)
    page.screenshot(path=str(ARTIFACTS / f"app-portrait-{width}.png"))
    assert 0 <= shown["top"] and shown["bottom"] <= 1000 and shown["bottom"] - shown["top"] > 600, shown
    page.keyboard.press("Escape")
    wait_for_images(page, 50)

    # the pager spans the grid: Previous under its left edge, Next under its right edge
    page.locator(".st-key-page-next").scroll_into_view_if_needed()
    grid = box(page, f"{MAIN} [class*='st-key-grid-']")
    previous, following = box(page, ".st-key-page-prev button"), box(page, ".st-key-page-next button")
    assert abs(previous["left"] - grid["left"]) <= 2 and abs(following["right"] - grid["right"]) <= 2, (grid, following)
    page.screenshot(path=str(ARTIFACTS / f"app-pager-{width}.png"))

    if width < 1000:
        page.locator("[data-testid='stExpandSidebarButton']").click()
        page.wait_for_function(
            "() => document.querySelector('[data-testid=stSidebar]').getBoundingClientRect().left >= 0", timeout=10_000
        )
    page.locator("[data-testid='stSidebar']").get_by_text("Limit to dates").click()
    page.get_by_role("group", name="Taken between start date").wait_for(timeout=30_000)
    wait_for_run(page)
    # ticked, the range is the library's: from the 1975 scans to the 2021 photos, none hidden
    assert (picked(page, "start"), picked(page, "end")) == ("1975-07-14", "2021-05-02")
    page.get_by_text("56 photos ·").wait_for(timeout=30_000)
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / f"app-dates-{width}.png"))

    # two times joined are choices: a chip each, the second saying "or", none cut
    search_box = page.get_by_label("Search your photos")
    search_box.fill("july 1975 or may 2021")
    search_box.press("Enter")
    page.get_by_role("button", name="or taken in May 2021 ✕").wait_for(timeout=30_000)
    page.get_by_text("56 photos ·").wait_for(timeout=30_000)
    wait_for_run(page)
    assert page.evaluate(CUT_CONTROLS_JS) == [], "cut-off controls beside the readings"
    page.screenshot(path=str(ARTIFACTS / f"app-choices-{width}.png"))
    page.close()
