"""How a usage error prints: one line on stderr that names the fix, where Click prints a usage block."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import IO, Any

import click
from click.exceptions import MissingParameter, NoArgsIsHelpError, NoSuchOption


class OneLineUsageError(click.UsageError):
    """A usage error whose message already says what to do: exit code 2, one line."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"Error: {self.message}", file=file, err=file is None)


def one_line(error: click.UsageError, arguments: Sequence[str]) -> click.UsageError:
    """The error as one line with its fix; `arguments` are the command's own (the query among them)."""
    if isinstance(error, (OneLineUsageError, NoArgsIsHelpError)):
        return error  # the latter prints the help, which is what a bare `captionary` asks for
    message = " ".join(error.format_message().split())
    fix = _fix(error, message, arguments)
    if fix and not message.endswith((".", "?")):
        message += "."
    return OneLineUsageError(f"{message} {fix}".strip(), error.ctx)


def _fix(error: click.UsageError, message: str, arguments: Sequence[str]) -> str:
    context = error.ctx
    command = context.command_path if context is not None else "captionary"
    searching = context is not None and context.command.name == "search"
    if isinstance(error, NoSuchOption) and searching and not (error.option_name or "").startswith("--"):
        # -foo is read as the options -f -o -o: the query the person meant goes after --
        token = next((arg for arg in arguments if error.option_name and arg.startswith(error.option_name)), "-foo")
        return f"A query that starts with - goes after --: {command} -- {shlex.quote(token)}"
    if "Did you mean" in message:
        return ""
    if isinstance(error, NoSuchOption):
        return f"({command} --help lists the options)"
    if message.startswith("No such command"):
        return f"({command} --help lists the commands)"
    if "unexpected extra argument" in message and searching and "--" in arguments:
        before, after = arguments[: arguments.index("--")], arguments[arguments.index("--") + 1 :]
        first_option = next((i for i, arg in enumerate(after[1:], start=1) if arg.startswith("-")), None)
        if first_option is not None:  # everything after -- is the query's, options too
            query = " ".join(after[:first_option])  # the words up to the first option, one query as meant
            options = " ".join(shlex.quote(arg) for arg in [*before, *after[first_option:]])
            return f"Options go before --: {command} {options} -- {shlex.quote(query)}"
    if "unexpected extra argument" in message and searching:
        plain = not any(arg.startswith("-") for arg in arguments)  # else their words and options cannot be told apart
        example = shlex.quote(" ".join(arguments)) if plain else "'red car'"
        return f"Put a query of several words in quotes: {command} {example}"
    if isinstance(error, MissingParameter) or "unexpected extra argument" in message:
        return context.get_usage() if context is not None else ""
    if isinstance(error, click.BadParameter):
        return f"({command} --help says what each option takes)"
    return ""
