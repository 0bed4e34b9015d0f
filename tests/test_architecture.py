"""ARCHITECTURE.md names every module of db/, indexer/ and the app, and no module that is gone; a search, from
the CLI or the app, never imports the index run."""

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURE = (ROOT / "ARCHITECTURE.md").read_text()
APP_MODULES = ("search_app.py", "search_assets.py", "search_photo.py")


def modules() -> set[str]:
    found = {path.relative_to(ROOT).as_posix() for package in ("db", "indexer") for path in (ROOT / package).rglob("*.py")}
    return found | set(APP_MODULES)


def table_modules() -> set[str]:
    """The first cell of each row of the module tables: | `db/store.py` | ... |"""
    return set(re.findall(r"^\| `([\w/]+\.py)` \|", ARCHITECTURE, flags=re.M))


def test_every_module_has_a_row():
    assert sorted(modules() - table_modules()) == []


def test_no_row_for_a_module_that_is_gone():
    assert sorted(table_modules() - modules()) == []


def test_every_python_file_named_exists():
    named = set(re.findall(r"`((?:[\w]+/)*[\w]+\.py)`", ARCHITECTURE))
    assert named and sorted(path for path in named if not (ROOT / path).is_file()) == []


def test_the_readme_links_it():
    assert "](ARCHITECTURE.md)" in (ROOT / "README.md").read_text()


# The index run: walking roots, reading photos, the stages and their workers, the run's options and report.
INDEX_RUN = {
    "indexer.background_sync",
    "indexer.crawl",
    "indexer.feed",
    "indexer.metadata",
    "indexer.ocr_pass",
    "indexer.options",
    "indexer.pipeline",
    "indexer.reading",
    "indexer.reembed",
    "indexer.report",
    "indexer.stages",
    "indexer.workers",
}
LOADED = "; print(json.dumps(sorted(m for m in sys.modules if m.startswith('indexer'))))"
# the CLI's search command, and the app's way in: its cached_store, then a search as the search page runs it
CLI_SEARCH = (
    "import sys, json; from click.testing import CliRunner; from indexer.cli import cli; "
    "r = CliRunner().invoke(cli, ['search', 'a dog on the beach', '--data-dir', sys.argv[1], '--json']); "
    "assert r.exit_code == 0 and json.loads(r.stdout), r.output" + LOADED
)
APP_SEARCH = (
    "import sys, json; import search_app; "
    "page = search_app.cached_store(sys.argv[1]).search('a dog on the beach'); assert page.hits, page" + LOADED
)


def loaded_by(script: str, data_dir: Path) -> list[str]:
    run = subprocess.run([sys.executable, "-c", script, str(data_dir)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.splitlines()[-1])


def test_a_search_never_imports_the_index_run(tiny_clip, photo_tree, data_dir):
    from db.store import Store
    from indexer.options import IndexOptions
    from indexer.pipeline import index_roots
    from tests.conftest import FakeCaptioner

    options = IndexOptions(model="fake-model", embeddings=True, image_embedder=str(tiny_clip), threads=1)
    with Store.open(data_dir) as store:
        index_roots(store, [photo_tree["root"]], options, lambda _: FakeCaptioner())
    for script in (CLI_SEARCH, APP_SEARCH):
        loaded = loaded_by(script, data_dir)
        # the query was embedded (words and pixels, by the numpy encoders), and nothing of the run came with it
        assert {"indexer.models.search_encoders", "indexer.models.query_encoder", "indexer.models.clip_text"} <= set(loaded)
        assert sorted(set(loaded) & INDEX_RUN) == []


def imported(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside a function: `from indexer import pipeline` too."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def test_the_model_code_and_the_app_never_import_the_index_run():
    paths = [*(ROOT / "indexer" / "models").glob("*.py"), *(ROOT / name for name in APP_MODULES)]
    found = sorted(f"{path.relative_to(ROOT)}: {name}" for path in paths for name in imported(path) & INDEX_RUN)
    assert len(paths) > 10 and found == []
