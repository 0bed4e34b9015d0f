"""ARCHITECTURE.md names every module of db/, indexer/ and the app, and no module that is gone."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURE = (ROOT / "ARCHITECTURE.md").read_text()
APP_MODULES = ("search_app.py", "search_assets.py", "search_photo.py")


def modules() -> set[str]:
    found = {path.relative_to(ROOT).as_posix() for package in ("db", "indexer") for path in (ROOT / package).glob("*.py")}
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
