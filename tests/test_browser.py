"""One real-browser test: the Streamlit app in headless Chromium, driven by Playwright."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from db.store import Store
from indexer.pipeline import IndexOptions, index_roots, load_captioner

CHROMIUM = "/usr/bin/chromium"
REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def app_server(photo_tree, data_dir, tiny_model):
    with Store.open(data_dir) as store:
        index_roots(store, [photo_tree["root"]], IndexOptions(model=str(tiny_model)), load_captioner)
    port = free_port()
    env = {**os.environ, "CAPTIONARY_DATA_DIR": str(data_dir)}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(REPO / "search_app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise RuntimeError(f"streamlit did not start: {server.stdout.read().decode()[-2000:]}")
                time.sleep(0.5)
        yield url, photo_tree
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.mark.skipif(not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
                    reason="Debian's chromium is not installed (.ci/run installs it)")
def test_search_and_detail_in_a_real_browser(app_server):
    from playwright.sync_api import sync_playwright

    url, tree = app_server
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        search_box = page.get_by_label("Search your photos")
        search_box.wait_for(timeout=60_000)
        search_box.fill("holidays OR formats")
        search_box.press("Enter")
        page.get_by_text("12 photos").wait_for(timeout=30_000)
        images = page.locator("[data-testid='stMainBlockContainer'] img")
        images.first.wait_for(timeout=30_000)
        # the run is over when the browse grid (16) has been replaced by the 12 results
        page.wait_for_function(
            "() => { const imgs = [...document.querySelectorAll(\"[data-testid='stMainBlockContainer'] img\")];"
            " return imgs.length === 12 && imgs.every(img => img.complete && img.naturalWidth > 0); }",
            timeout=60_000)
        widths = images.evaluate_all("(imgs) => imgs.map(img => img.naturalWidth)")
        # every result thumbnail actually rendered, and none is the full photo
        assert len(widths) == 12 and all(0 < width <= 320 for width in widths), widths
        page.screenshot(path=str(ARTIFACTS / "app-search.png"), full_page=True)

        main = page.locator("[data-testid='stMainBlockContainer']")
        main.get_by_role("button", name="Open", exact=True).first.click()
        try:
            page.get_by_text("Back to results").wait_for(timeout=30_000)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "app-debug.png"), full_page=True)
            raise
        page.get_by_role("button", name="Save caption").wait_for(timeout=30_000)
        # the detail view shows one image (the grid is gone); wait until the browser has decoded it
        page.wait_for_function(
            "() => { const imgs = [...document.querySelectorAll(\"[data-testid='stMainBlockContainer'] img\")];"
            " return imgs.length === 1 && imgs[0].complete && imgs[0].naturalWidth > 0; }", timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "app-detail.png"), full_page=True)
        browser.close()
    assert (ARTIFACTS / "app-detail.png").stat().st_size > 10_000
