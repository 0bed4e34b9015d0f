"""The README's CLI table is the contract other tools read: it must name every command, flag and JSON field
the code has (it drifted once: `index --embedder/--no-embeddings`, stats' `embedded`/`embedders`)."""

import json
import re
from pathlib import Path

import click
from click.testing import CliRunner

from indexer.cli import cli

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def table_rows() -> dict[str, str]:
    """`captionary NAME ...` -> the whole row, for each row of the CLI table."""
    rows = {}
    section = README.split("\n## CLI contract\n", 1)[1].split("\n## ", 1)[0]
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


def test_every_command_and_flag_is_in_the_readme_table():
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
    from indexer.families import FAMILIES

    guide = README.split("\n## Choosing a caption model\n", 1)[1].split("\n## ", 1)[0]
    rows = {line.split(" | ")[0].strip("| "): line for line in guide.splitlines() if line.startswith("| ") and "`" in line}
    assert set(rows) == {family.name for family in FAMILIES}
    for family in FAMILIES:
        # the checkpoint, size, license and test coverage `captionary models` prints are the README's
        row = rows[family.name]
        assert f"`{family.checkpoint}`" in row and f"| {family.size} |" in row and family.license in row
        assert row.rstrip(" |").endswith(family.tested.replace("no:", "**no**:"))
