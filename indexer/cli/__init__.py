"""The `captionary` command, a front end like the app: each command resolves its Settings, opens the library,
calls one library function and prints. `indexer.cli:main` is the console script's entry point.

Importing this package loads nothing else: a reader process that spawn starts re-runs the console script, whose
`from indexer.cli import main` must not bring click, SQLAlchemy and the models into every reader."""

from __future__ import annotations

import sys
from typing import Any


def main() -> None:
    try:
        from indexer.cli.commands import main as run

        run()
    except KeyboardInterrupt:  # in the second of imports before click's own handler is in place, as click says it
        sys.stderr.write("Aborted!\n")
        raise SystemExit(1) from None


def __getattr__(name: str) -> Any:
    if name == "cli":
        from indexer.cli.commands import cli

        return cli
    raise AttributeError(f"module 'indexer.cli' has no attribute {name!r}")


__all__ = ["cli", "main"]
