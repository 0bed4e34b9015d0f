"""What the CLI prints of a library's text (file and folder names, captions, titles, places, reasons): written
as UTF-8 (a byte of a name that is not UTF-8 shown as U+FFFD), and on a terminal with its control characters
escaped, so that a file named `ESC]0;...BEL` cannot retitle the window, nor an IPTC title `ESC[2J` clear it.
Piped or written to a file, the text is left as it is (JSON escapes the C0 controls itself)."""

from __future__ import annotations

import json
import re
import sys
from typing import Any, TextIO

from db.store import DIRECTION_CONTROLS, display_text

# C0 controls (ESC, BEL, CR, even tab and newline: in a name they would fake a line), DEL and C1 (CSI U+009B).
_CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f{DIRECTION_CONTROLS}]")
_C1 = re.compile("[\x7f-\x9f]")  # what json.dumps and the CSV writer leave as they are


def on_terminal(err: bool = False) -> bool:
    stream = sys.stderr if err else sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


def shown(text: object, err: bool = False) -> str:
    """Library text fit for stdout (err: stderr): escaped as \\x1b on a terminal."""
    text = display_text(str(text))
    return _CONTROL.sub(_escaped, text) if on_terminal(err) else text


def _escaped(found: re.Match[str]) -> str:
    code = ord(found[0])
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


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
