"""The `captionary` command, a front end like the app: each command resolves its Settings, opens the library,
calls one library function and prints. `indexer.cli:main` is the console script's entry point."""

from indexer.cli.commands import cli, main

__all__ = ["cli", "main"]
