"""The shape the house style asks for, checked rather than hoped for: small modules, short functions."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted(
    [
        *ROOT.glob("db/**/*.py"),
        *ROOT.glob("indexer/**/*.py"),
        ROOT / "search_app.py",
        ROOT / "search_assets.py",
        ROOT / "search_photo.py",
    ]
)
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def long_functions(path: Path) -> list[str]:
    """Functions over the limit, unless the comment line right above them says why they are long."""
    lines = path.read_text().splitlines()
    found = []
    for node in ast.walk(ast.parse("\n".join(lines))):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        length = node.end_lineno - node.lineno + 1
        first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
        above = lines[first - 2].strip() if first >= 2 else ""
        if length > MAX_FUNCTION_LINES and not (above.startswith("#") and "long" in above.lower()):
            found.append(f"{path.name}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_every_shipped_module_is_under_400_lines():
    sizes = {path.relative_to(ROOT).as_posix(): len(path.read_text().splitlines()) for path in SHIPPED}
    too_long = {name: lines for name, lines in sizes.items() if lines >= MAX_MODULE_LINES}
    assert not too_long  # a module this long does more than one job: split it by job


def test_no_shipped_function_is_over_60_lines_without_a_reason():
    assert [found for path in SHIPPED for found in long_functions(path)] == []


def test_the_checks_see_a_long_function(tmp_path):
    # protects the two tests above from passing because they look at nothing
    body = "\n".join(f"    x{i} = {i}" for i in range(61))
    sample = tmp_path / "sample.py"
    sample.write_text(f"def f():\n{body}\n\n\n# long: a table of values\ndef g():\n{body}\n")
    assert [line.split()[-3] for line in long_functions(sample)] == ["f"]
    assert len(SHIPPED) > 20
