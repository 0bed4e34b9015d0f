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


def test_the_model_code_and_the_app_never_import_the_index_run():
    paths = [*(ROOT / "indexer" / "models").glob("*.py"), *(ROOT / name for name in APP_MODULES)]
    known = set(project_files())
    found = sorted(f"{path.relative_to(ROOT)}: {name}" for path in paths for name in imported(path, known) & INDEX_RUN)
    assert len(paths) > 10 and found == []


# -- the structure drawn from the imports ---------------------------------------------------------

PACKAGES = ("db", "indexer")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_files() -> dict[str, Path]:
    """Every module of db/ and indexer/ (packages within them too) and the app, by module name."""
    files = [path for package in PACKAGES for path in (ROOT / package).rglob("*.py")] + [ROOT / name for name in APP_MODULES]
    return {module_name(path): path for path in files}


def imported(path: Path, known: set[str]) -> set[str]:
    """The project modules a file imports: every import anywhere in it (a function's, TYPE_CHECKING's too)."""
    found: set[str] = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # a relative import
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]  # `from db import store` is db.store
        else:
            continue
        for name in names:
            while name and name not in known:  # `import db.store.x` reaches db.store
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found - {module_name(path)}


def import_graph() -> dict[str, set[str]]:
    files = project_files()
    return {name: imported(path, set(files)) for name, path in files.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def a_cycle(graph: dict[str, set[str]], members: list[str]) -> list[str]:
    """One path around a circle, to print: from its first module back to it, within the component."""
    inside, start = set(members), members[0]
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for child in sorted(graph[node] & inside):
            if child == start:
                return paths[node] + [start]
            if child not in paths:
                paths[child] = paths[node] + [child]
                queue.append(child)
    return members


def test_the_circle_finder_finds_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert circles(graph) == [["a", "b", "c"]] and a_cycle(graph, ["a", "b", "c"]) == ["a", "b", "c", "a"]


def test_no_import_circle():
    graph = import_graph()
    found = circles(graph)
    assert not found, "import circles:\n" + "\n".join(" -> ".join(a_cycle(graph, members)) for members in found)


# The front ends reach db/ through the facade, the values it answers with and the error family only.
FRONT_END_DB_MODULES = {"db.store", "db.types", "db.errors"}


def front_end_files() -> list[Path]:
    """The app's modules and the CLI's, wherever the CLI lives: indexer/cli*.py and indexer/console.py, or a
    package named cli (indexer/cli/ or cli/ at the top)."""
    found = [ROOT / name for name in APP_MODULES]
    found += sorted((ROOT / "indexer").glob("cli*.py")) + sorted((ROOT / "indexer").glob("console.py"))
    for package in (ROOT / "indexer" / "cli", ROOT / "cli"):
        if package.is_dir():
            found += sorted(package.rglob("*.py"))
    return found


def test_front_ends_import_only_the_facade_and_its_types_from_db():
    known = set(project_files())
    files = front_end_files()
    assert any("cli" in path.name or "cli" in path.parts for path in files)  # the CLI was found
    reached = {
        path.relative_to(ROOT).as_posix(): sorted(
            name for name in imported(path, known) if name.split(".")[0] == "db" and name not in FRONT_END_DB_MODULES
        )
        for path in files
    }
    assert {path: names for path, names in reached.items() if names} == {}


def test_a_reader_process_imports_neither_the_catalog_nor_the_cli():
    """What a spawned reader loads: the console script's `from indexer.cli import main` (spawn re-runs it) and the
    reader stage it is handed. SQLAlchemy, Whoosh, click and torch stay in the parent (db/records.py)."""
    script = (
        "import sys, json; from indexer.cli import main; import indexer.workers, indexer.reading; "
        "print(json.dumps(sorted(m for m in ('sqlalchemy', 'whoosh', 'click', 'torch', 'transformers') if m in sys.modules)))"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == []
