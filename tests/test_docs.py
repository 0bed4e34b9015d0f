"""The docs: a README a newcomer reads in five minutes, and docs/ pages that cannot drift from the code.

docs/cli.md's contract table is what other tools read: it must name every command, flag and JSON field the
code has (it drifted once: `index --embedder/--no-embeddings`, stats' `embedded`/`embedders`). The parts
generated from the code with cog (each command's --help, the model families) must match it, and every
relative link must lead somewhere."""

import json
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from indexer.cli import cli

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
CLI_DOC = (ROOT / "docs" / "cli.md").read_text()
MODELS_DOC = (ROOT / "docs" / "models.md").read_text()
PAGES = [ROOT / "README.md", ROOT / "ARCHITECTURE.md", *sorted((ROOT / "docs").glob("*.md"))]


def table_rows() -> dict[str, str]:
    """`captionary NAME ...` -> the whole row, for each row of the CLI table."""
    rows = {}
    section = CLI_DOC.split("\n## CLI contract\n", 1)[1].split("\n## ", 1)[0]
    for line in section.splitlines():
        found = re.match(r"\| `captionary ([a-z-]+)(.*?)` \|", line)
        if found:
            rows[found.group(1)] = line
    return rows


def documented_flags(row: str) -> set[str]:
    usage = row.split("` |")[0]
    return set(re.findall(r"--[a-z][a-z-]*", usage))


def code_flags(command: click.Command) -> set[str]:
    return {
        flag
        for parameter in command.params
        if isinstance(parameter, click.Option)
        for flag in parameter.opts + parameter.secondary_opts
        if flag.startswith("--") and flag != "--help"
    }


def test_every_command_and_flag_is_in_the_cli_table():
    rows = table_rows()
    assert set(rows) == set(cli.commands)  # no command missing, none documented that does not exist
    for name, command in cli.commands.items():
        assert documented_flags(rows[name]) == code_flags(command), name


def test_stats_json_fields_are_all_documented(data_dir):
    result = CliRunner().invoke(cli, ["stats", "--json", "--data-dir", str(data_dir)])
    assert result.exit_code != 0  # no library yet: the fields come from a real one below
    from db.store import Store

    with Store.open(data_dir):
        pass
    fields = json.loads(CliRunner().invoke(cli, ["stats", "--json", "--data-dir", str(data_dir)]).output)
    row = table_rows()["stats"]
    assert fields and all(f'"{field}"' in row for field in fields), [f for f in fields if f'"{f}"' not in row]


def test_the_table_parser_reads_the_table():
    # protects the tests above from comparing two empty sets
    assert {"index", "search", "stats"} <= set(table_rows())
    assert {"--data-dir", "--model", "--no-embeddings"} <= documented_flags(table_rows()["index"])


def test_the_model_guide_has_a_row_for_every_family_in_the_code():
    from indexer.models.families import FAMILIES

    guide = MODELS_DOC.split("\n## Choosing a caption model\n", 1)[1].split("\n## ", 1)[0]
    rows = {line.split(" | ")[0].strip("| "): line for line in guide.splitlines() if line.startswith("| ") and "`" in line}
    assert set(rows) == {family.name for family in FAMILIES}
    for family in FAMILIES:
        # the checkpoint, size, license and test coverage `captionary models` prints are the guide's
        row = rows[family.name]
        assert f"`{family.checkpoint}`" in row and f"| {family.size} |" in row and family.license in row
        assert row.rstrip(" |").endswith(family.tested.replace("no:", "**no**:"))


def test_the_generated_docs_match_the_code():
    # what `python -m cogapp --check docs/*.md` in .ci/run checks, so the README's test command catches it too
    cogapp = pytest.importorskip("cogapp")
    pages = [str(page) for page in sorted((ROOT / "docs").glob("*.md"))]
    assert cogapp.Cog().main(["cog", "--check", *pages]) == 0, "run: python -m cogapp -r docs/*.md"


def test_every_command_has_its_generated_help():
    for name in cli.commands:
        assert f"\n### captionary {name}\n\n```text\nUsage: captionary {name} " in CLI_DOC, name


def test_the_readme_reads_in_five_minutes():
    assert len(README.encode()) <= 12 * 1024
    # the test command .ci/run runs, and the install notes a newcomer needs
    assert "pip install -e '.[test]' && pytest" in README
    assert "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in README and "'.[jxl]'" in README


def test_the_readme_links_every_docs_page():
    for page in PAGES[1:]:
        assert f"]({page.relative_to(ROOT).as_posix()})" in README, page.name


def anchors(text: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    found = set()
    for heading in re.findall(r"^#+ (.+)$", re.sub(r"```.*?```", "", text, flags=re.S), flags=re.M):
        found.add(re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-"))
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_relative_link_leads_somewhere(page):
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name}: {target}"
        if anchor and linked.suffix == ".md":
            assert anchor in anchors(linked.read_text()), f"{page.name}: {target}"
