"""What the CLI prints of a library's text (file and folder names, captions, titles, places, reasons): written
as UTF-8 (a byte of a name that is not UTF-8 shown as U+FFFD), and on a terminal with its control characters
escaped, so that a file named `ESC]0;...BEL` cannot retitle the window, nor an IPTC title `ESC[2J` clear it.
Piped or written to a file, the text is left as it is (JSON escapes the C0 controls itself)."""

from __future__ import annotations

import json
import re
import sys
from typing import Any, TextIO

from db.store import display_text, visible_direction_controls

# C0 controls (ESC, BEL, CR, even tab and newline: in a name they would fake a line), DEL and C1 (CSI U+009B).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_C1 = re.compile("[\x7f-\x9f]")  # what json.dumps and the CSV writer leave as they are


def on_terminal(err: bool = False) -> bool:
    stream = sys.stderr if err else sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


def shown(text: object, err: bool = False) -> str:
    """Library text fit for stdout (err: stderr): escaped as \\x1b on a terminal."""
    text = display_text(str(text))
    if not on_terminal(err):
        return text
    return _CONTROL.sub(lambda found: f"\\x{ord(found[0]):02x}", visible_direction_controls(text))


def json_text(value: Any) -> str:
    """JSON for stdout: valid UTF-8, and on a terminal with DEL and C1 controls escaped too (as \\u009b)."""
    text = display_text(json.dumps(value, ensure_ascii=False))
    return _escape_c1(text) if on_terminal() else text


def _escape_c1(text: str) -> str:
    return _C1.sub(lambda found: f"\\u{ord(found[0]):04x}", text)


class TerminalWriter:
    """A stream for an export printed to a terminal: the CSV and JSON writers remove or escape the C0 controls;
    this escapes DEL and the C1 controls they leave."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        return self.stream.write(_escape_c1(text))
