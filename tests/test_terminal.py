"""Control characters in a library's text (issue #24, item 14): a file named `ESC]0;...BEL` or an IPTC title
`ESC[2J` reached the terminal through search, stats and export, retitling the window or clearing it. On a
terminal (a real pseudo-terminal here) they are escaped; piped, the data is kept; a CSV file keeps it less the
C0 controls but tab and newline."""

from __future__ import annotations

import csv
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from db.store import Store
from tests.conftest import FakeCaptioner
from tests.helpers import index_with
from tests.metadata_photos import add_iptc
from tests.photos import COLOURS, photo, save_jpeg

RETITLE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J"
CSI = "\x9b31m"  # the C1 form of ESC [ : some terminals obey it too

# One interpreter runs the commands, its stdout and stderr on the terminal given, as a person's shell would.
RUN_COMMANDS = """
import sys
from indexer.cli import cli
for arguments in {commands!r}:
    try:
        cli.main(arguments, prog_name="captionary")
    except SystemExit:
        pass
"""


@pytest.fixture
def hostile_library(tmp_path, data_dir) -> Path:
    root = tmp_path / "photos"
    save_jpeg(photo(colour=COLOURS[0]), root / f"{RETITLE}car.jpg")
    add_iptc(
        save_jpeg(photo(colour=COLOURS[1]), root / "party.jpg"),
        {(2, 5): f"{CLEAR}Party{CSI}".encode(), (2, 90): f"Z\x07rich{CLEAR}".encode()},
    )
    (root / f"{CLEAR}broken.jpg").write_bytes(b"not a photo")  # a failure stats lists
    with Store.open(data_dir) as store:
        index_with(store, [root], FakeCaptioner())
    return root


def run_commands(commands: list[list[str]], terminal: bool) -> str:
    code = RUN_COMMANDS.format(commands=commands)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent), "COLUMNS": "200"}
    if not terminal:
        return subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, check=True).stdout.decode()
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-c", code], stdout=follower, stderr=follower, env=env)
    os.close(follower)
    received = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the process ended: the terminal is closed
            break
        if not chunk:
            break
        received += chunk
    process.wait(timeout=60)
    os.close(leader)
    return received.decode("utf-8")


def test_a_terminal_sees_control_characters_escaped(hostile_library, data_dir):
    library = ["--data-dir", str(data_dir)]
    commands = [["search", "car", *library], ["search", "tag:dog", "--json", *library], ["stats", *library], ["export", *library]]
    shown = run_commands(commands, terminal=True)
    assert "car.jpg" in shown and "Party" in shown and "broken.jpg" in shown  # every command printed
    assert "\x1b" not in shown and "\x07" not in shown and "\x9b" not in shown
    assert "\\x1b]0;pwned\\x07car.jpg" in shown and "\\u009b" in shown  # escaped: legible, and valid JSON


def test_piped_output_keeps_the_data_and_a_csv_file_loses_only_c0_controls(hostile_library, data_dir, tmp_path):
    library = ["--data-dir", str(data_dir)]
    exported = tmp_path / "export.csv"
    piped = run_commands([["search", "tag:dog", "--json", *library], ["export", "--output", str(exported), *library]], False)
    row = json.loads(piped)[0]
    assert row["title"] == f"{CLEAR}Party{CSI}" and row["place"] == f"Z\x07rich{CLEAR}"  # JSON escapes C0 itself
    with open(exported, newline="", encoding="utf-8") as handle:
        rows = {row["path"]: row for row in csv.DictReader(handle)}
    party = rows[str(hostile_library / "party.jpg")]
    assert party["title"] == f"[2JParty{CSI}" and party["place"] == "Zrich[2J"  # C1 is data; C0 is gone
    assert str(hostile_library / "]0;pwnedcar.jpg") in rows
    # text keeps them too: click strips what looks like a colour code from what is not a terminal
    text = run_commands([["stats", *library]], False)
    assert str(hostile_library / f"{CLEAR}broken.jpg") in text


def test_direction_overrides_are_shown_as_codes_on_a_terminal_and_in_the_app(monkeypatch):
    from indexer.cli import terminal
    from search_assets import escape_markdown

    spoof = "\u202eRTL gnp.exe"  # shown as it is, it reads "exe.png LTR"
    monkeypatch.setattr(terminal, "on_terminal", lambda err=False: True)
    assert terminal.shown(spoof) == "\\u202eRTL gnp.exe"
    assert escape_markdown(spoof) == "\\\\u202eRTL gnp\\.exe"  # a backslash, escaped for Markdown, then the code
    monkeypatch.setattr(terminal, "on_terminal", lambda err=False: False)
    assert terminal.shown(spoof) == spoof  # piped: the data as it is
