"""The Streamlit app in headless Chromium, driven by Playwright, at 1400 px and at 800 px (a laptop in
split view): clickable thumbnails, keyboard navigation, nothing cut off, nothing that sends a user away.
Screenshots land in test-artifacts/ for a person to look at."""

import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from db.store import Store
from indexer.cli import streamlit_command
from indexer.pipeline import index_roots, load_captioner
from indexer.report import IndexOptions
from tests.metadata_photos import xmp_packet

CHROMIUM = "/usr/bin/chromium"
REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
MAIN = "[data-testid='stMainBlockContainer']"

pytestmark = pytest.mark.slow

# Every button and widget label whose text is cut: wider than its own box where that box clips, or
# sticking out of an ancestor that clips (the match toggle was clipped by its column, not by itself).
CUT_CONTROLS_JS = """
() => {
  const clips = (el) => ["hidden", "clip", "auto", "scroll"].includes(getComputedStyle(el).overflowX);
  const visible = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const cut = [];
  const controls = document.querySelectorAll('button, [data-testid="stWidgetLabel"]');
  for (const control of controls) {
    if (!visible(control)) continue;
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


@pytest.fixture
def app_server(photo_tree, data_dir, tiny_model):
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
    Path(f"{photo_tree['red']}.xmp").write_bytes(sidecar)
    with Store.open(data_dir) as store:
        index_roots(store, [photo_tree["root"]], IndexOptions(model=str(tiny_model)), load_captioner)
        # what a vision-language model writes: a paragraph, which the grid must not show whole
        red = next(hit.image.id for hit in store.search("*", limit=100).hits if hit.image.path == str(photo_tree["red"]))
        store.set_caption(red, LONG_CAPTION)
    port = free_port()
    env = {**os.environ, "CAPTIONARY_DATA_DIR": str(data_dir)}
    command = [*streamlit_command(str(REPO / "search_app.py"), "127.0.0.1", port), "--server.headless", "true"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise RuntimeError(f"streamlit did not start: {server.stdout.read().decode()[-2000:]}") from None
                time.sleep(0.5)
        yield url, photo_tree
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


@pytest.mark.skipif(
    not os.path.exists(CHROMIUM) and not os.environ.get("CI"), reason="Debian's chromium is not installed (.ci/run installs it)"
)
@pytest.mark.parametrize("width", [1400, 800])
def test_the_app_in_a_real_browser(app_server, width):
    from playwright.sync_api import sync_playwright

    url, tree = app_server
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
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
        page = browser.new_page(viewport={"width": width, "height": 1000})
        page.goto(url)
        search_box = page.get_by_label("Search your photos")
        search_box.wait_for(timeout=60_000)
        wait_for_images(page, 16)  # browsing: every photo, newest first
        page.screenshot(path=str(ARTIFACTS / f"app-grid-{width}.png"), full_page=True)
        # a private photo app: nothing that sends the user to a cloud service
        assert page.get_by_text("Deploy", exact=True).count() == 0
        assert page.evaluate(CUT_CONTROLS_JS) == [], "cut-off controls while browsing"
        # tiles of one size: every thumbnail is square and they line up in rows
        boxes = page.locator(f"{MAIN} img").evaluate_all(
            "(imgs) => imgs.map(img => { const r = img.getBoundingClientRect(); return [r.width, r.height, r.top]; })"
        )
        assert all(abs(w - h) <= 1 for w, h, _ in boxes), boxes
        columns = sum(1 for _, _, top in boxes if abs(top - boxes[0][2]) <= 1)
        assert columns == (5 if width == 1400 else 2), columns

        search_box.fill("holidays OR formats")
        search_box.press("Enter")
        page.get_by_text("12 photos").wait_for(timeout=30_000)
        wait_for_images(page, 12)
        widths = page.locator(f"{MAIN} img").evaluate_all("(imgs) => imgs.map(img => img.naturalWidth)")
        assert all(0 < width_ <= 320 for width_ in widths), widths  # thumbnails, never the full photo
        assert page.evaluate(CUT_CONTROLS_JS) == [], "cut-off controls on the results"
        page.screenshot(path=str(ARTIFACTS / f"app-search-{width}.png"), full_page=True)

        # the thumbnail itself opens the photo
        page.locator(f"{MAIN} img").nth(1).click()
        page.get_by_role("button", name="Save caption").wait_for(timeout=30_000)
        wait_for_images(page, 1)
        second = detail_name(page)
        assert page.evaluate(CUT_CONTROLS_JS) == [], "cut-off controls in the photo view"
        page.screenshot(path=str(ARTIFACTS / f"app-photo-{width}.png"), full_page=True)
        # arrow keys step through the results, Escape goes back to the grid
        page.evaluate("() => document.activeElement && document.activeElement.blur()")  # no text field focused
        page.keyboard.press("ArrowLeft")
        wait_for_photo(page, second, shown=False)
        first = detail_name(page)
        page.keyboard.press("ArrowRight")
        wait_for_photo(page, second, shown=True)
        assert first != second
        page.keyboard.press("Escape")
        wait_for_images(page, 12)

        # the file's keyword is a tag; the place filter offers the country; the map shows the photo
        search_box.fill("tag:grandma")  # a field: matches only, no related photos
        search_box.press("Enter")
        page.get_by_text("1 photo").first.wait_for(timeout=30_000)
        wait_for_images(page, 1)
        # the tile shows the caption's first sentence, and marks that there is more
        page.get_by_text("An older woman in a red jacket stands on a snowy ridge with a walking stick. …").wait_for(
            timeout=30_000
        )
        assert page.get_by_text("two hikers cross a wooden bridge").count() == 0
        page.get_by_text("Map of 1 photo on this page with a position").click()
        page.locator("[data-testid='stDeckGlJsonChart']").wait_for(timeout=30_000)
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

        page.get_by_text("Caption a photo", exact=True).click()
        page.get_by_role("button", name="Caption it").wait_for(timeout=30_000)
        # the search filters are not shown where they do not apply (Streamlit removes the old elements only
        # when the run ends, so wait for them to go rather than look at once)
        page.get_by_text("Filters", exact=True).wait_for(state="detached", timeout=30_000)
        assert page.evaluate(CUT_CONTROLS_JS) == [], "cut-off controls on the caption view"
        page.screenshot(path=str(ARTIFACTS / f"app-caption-{width}.png"), full_page=True)
        browser.close()
    for view in ("grid", "search", "photo", "map", "metadata", "caption"):
        assert (ARTIFACTS / f"app-{view}-{width}.png").stat().st_size > 10_000
