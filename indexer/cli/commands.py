"""The `captionary` command: each command opens the store, calls one library function, prints."""

from __future__ import annotations

import errno
import os
import shlex
import sys

import click

from db.errors import FREE_SPACE, CaptionaryError
from db.store import open_store as open_library
from db.types import MODES, Filters
from indexer.cli.console import TqdmProgress, listen_problem, print_search_page, run_streamlit, streamlit_command
from indexer.cli.library import LIBRARY_COMMANDS
from indexer.cli.options import (
    batch_option,
    data_dir_option,
    device_option,
    embedder_option,
    image_embedder_option,
    index_model_option,
    json_option,
    max_new_tokens_option,
    model_option,
    open_semantic_store,
    prompt_option,
    speed_option,
)
from indexer.cli.terminal import json_text, shown
from indexer.cli.usage_errors import OneLineUsageError, one_line
from indexer.settings import Settings

FAILURES_SHOWN = 5  # failed files listed under the summary line of `index`


class QueryUsageError(click.ClickException):
    """A query that cannot be parsed: one line on stderr, exit code 2."""

    exit_code = 2


MESSAGE_LIMIT = 300  # characters of an unexpected error's message: one line, not the data it was about


class CaptionaryGroup(click.Group):
    """Turns library and usage errors into one-line messages; CAPTIONARY_DEBUG=1 shows tracebacks instead."""

    def make_context(self, info_name, args, parent=None, **extra) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as error:
            raise one_line(error, args) from None

    def invoke(self, ctx: click.Context):
        arguments = list(ctx.args)  # the command's own, before Click consumes them
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            raise one_line(error, arguments) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except CaptionaryError as error:
            if Settings.resolve().debug:
                raise
            exception = QueryUsageError if error.exit_code == 2 else click.ClickException
            raise exception(shown(" ".join(str(error).split()), err=True)) from None
        except KeyboardInterrupt:
            raise click.Abort() from None
        except BrokenPipeError:
            raise  # the reader of our output left (`| head`): click ends quietly, as Unix tools do
        except Exception as error:
            if Settings.resolve().debug:
                raise
            # Writing the output (stdout on a full disk): the command's own files name the disk where they are written.
            if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
                written = f" writing {shown(str(error.filename), err=True)}" if error.filename else ""
                raise click.ClickException(f"No space left on the disk{written}: {FREE_SPACE}") from None
            error = getattr(error, "orig", None) or error  # SQLAlchemy's wraps SQLite's with the statement, kilobytes long
            message = shown(" ".join(str(error).split()), err=True) or type(error).__name__
            if len(message) > MESSAGE_LIMIT:
                message = message[:MESSAGE_LIMIT] + "…"
            raise click.ClickException(f"{type(error).__name__}: {message} (set CAPTIONARY_DEBUG=1 for a traceback)") from None


# color: click.echo would otherwise strip what looks like a colour code (ESC [ 2 J) from a piped line, and print a
# file name that does not exist; captionary prints no colour, and escapes control characters on a terminal itself.
@click.group(cls=CaptionaryGroup, context_settings={"help_option_names": ["-h", "--help"], "color": True})
@click.version_option(package_name="captionary")
def cli() -> None:
    """Caption a photo library with an image-to-text model and search it by what is in the photos."""


@cli.command()
# Not exists=True: a root that is not found is skipped while others are there (a disk not mounted: _missing_roots).
@click.argument("roots", nargs=-1, required=True, type=click.Path(file_okay=False))
@data_dir_option
@index_model_option
@prompt_option
@max_new_tokens_option
@speed_option
@batch_option
@device_option
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Reader processes that hash, decode, read metadata and make thumbnails [default: on a CPU, as many as "
    "what decoding costs beside the model earns; on a GPU, the cores less one].",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 256),
    default=None,
    help="Torch CPU threads [default: on a CPU, as many as what the model costs beside decoding earns].",
)
@click.option(
    "--exclude",
    "excludes",
    multiple=True,
    metavar="GLOB",
    help="Skip paths matching GLOB (name, path under the root, or absolute path); repeatable.",
)
@click.option(
    "--follow-symlinks",
    is_flag=True,
    help="Follow symbolic links, also to files and folders outside the roots (loops are detected).",
)
@click.option(
    "--recaption",
    is_flag=True,
    help="Re-caption photos captioned by another model or with another --prompt/--max-new-tokens (a person's captions are kept).",
)
@click.option("--no-thumbnails", is_flag=True, help="Do not cache thumbnails for the app.")
@embedder_option
@click.option("--no-embeddings", is_flag=True, help="Skip caption embeddings (keyword search only).")
@image_embedder_option
@click.option(
    "--ocr/--no-ocr",
    default=None,
    help="Read the text in photos (signs, receipts, screenshots), remembered by the library until --no-ocr "
    "[default: as the library was last told; off for a new one].",
)
@click.option("--verbose", "-v", is_flag=True, help="List every failed and skipped file under the summary (else the first 5).")
@click.option(
    "--allow-removal",
    is_flag=True,
    help="Remove photos that are gone even when most of a root is (else they are kept: an unmounted disk).",
)
@click.option(
    "--ray",
    metavar="[ADDRESS]",
    is_flag=False,
    flag_value="local",
    default=None,
    help="Read and caption on a Ray cluster: auto, or the head's HOST:PORT or ray://HOST:PORT [no ADDRESS: a Ray "
    "started here]. Every machine must see the photos at the same path; --device and --speed name what the workers "
    "use (docs/cluster.md).",
)
def index(roots, data_dir, model, embedder, image_embedder, no_thumbnails, no_embeddings, verbose, **flags) -> None:
    """Crawl ROOTS, caption every new or changed photo, and update the search index."""
    from indexer.options import IndexOptions
    from indexer.pipeline import index_roots

    settings = Settings.resolve(data_dir=data_dir, model=model, embedder=embedder, image_embedder=image_embedder)
    if not any(os.path.exists(root) for root in roots):
        raise OneLineUsageError(_not_found(roots[0], settings))  # exit 2, as when click checked it
    # flags: prompt, max_new_tokens, speed, batch_size, device, workers, threads, excludes, follow_symlinks, recaption,
    # ocr, allow_removal, ray
    options = IndexOptions(
        model=settings.model,
        embedder=settings.embedder,
        image_embedder=settings.image_embedder,
        image_embedder_required=settings.image_embedder_named,
        thumbnails=not no_thumbnails,
        embeddings=not no_embeddings,
        settings=settings,
        **flags,
    )
    progress = TqdmProgress()
    with open_library(settings.data_dir, create=True) as store:
        try:
            report = index_roots(store, roots, options, progress=progress)
        finally:
            progress.close()
    _print_index_report(report, verbose)
    if report.missing_roots:
        sys.exit(1)  # the others were indexed; as `caption` and `export-xmp` do when some of what they were given failed


def _not_found(root: str, settings: Settings) -> str:
    named = f"Directory '{shown(root, err=True)}' does not exist"
    absolute = os.path.abspath(root)
    try:
        with open_library(settings.data_dir) as store:
            known = set(store.roots())  # kept as real paths: the link or folder above ROOT may be gone too
    except CaptionaryError:
        return named  # no library yet: a first run's typo
    if absolute not in known and os.path.realpath(absolute) not in known:  # a typo, or a root whose move was settled
        return f"{named}, and is no root of this library (captionary stats lists them)"
    quoted = shown(shlex.quote(root), err=True)
    return (
        f"{named}. If its disk is not mounted, mount it; if it was moved or renamed, index it where it is now "
        f"(captionary forget {quoted} drops its old paths)"
    )


def _print_index_report(report, verbose: bool) -> None:
    for warning in report.warnings:
        click.echo(f"warning: {shown(warning, err=True)}", err=True)
    for root in report.missing_roots:
        click.echo(
            f"warning: {shown(root, err=True)} is not found (a disk not mounted?): skipped, and none of its photos is removed",
            err=True,
        )
    for root, found, total in report.maybe_moved:
        click.echo(
            f"warning: {shown(root, err=True)} is not found, and {found} of its {total} photos were found again in this "
            f"run: if it was moved or renamed, drop its old paths with: captionary forget {shown(shlex.quote(root), err=True)}"
            " (a disk that is not mounted needs nothing: its photos stay indexed)",
            err=True,
        )
    for folder, reason in report.unreadable_folders:
        click.echo(f"warning: {shown(folder, err=True)}: {reason}", err=True)
    for root, gone, known in report.held_back:
        click.echo(
            f"warning: {gone} of {known} photos under {shown(root, err=True)} are gone (an unmounted disk?); none were "
            "removed. If they were deleted on purpose: captionary index --allow-removal",
            err=True,
        )
    click.echo(shown(report.summary()))  # it names the extensions of skipped files
    every = "(--verbose, or captionary stats, lists all)"
    _list_first(report.failures, verbose, "  failed: {}: {}", f"more {every}")
    _list_first(report.metadata_problems, verbose, "  metadata not read: {}: {}", "more metadata problems (captionary stats)")
    _list_first(report.skipped, verbose, "  skipped: {} ({})", f"more skipped {every}")


def _list_first(rows: list[tuple[str, str]], verbose: bool, line: str, more: str) -> None:
    """The first FAILURES_SHOWN (path, reason) rows under the summary (all with --verbose), then how many more."""
    listed = rows if verbose else rows[:FAILURES_SHOWN]
    for path, reason in listed:
        click.echo(line.format(shown(path), shown(reason)))
    if len(rows) > len(listed):
        click.echo(f"  ... and {len(rows) - len(listed)} {more}")


@cli.command("search")
@click.argument("query")
@data_dir_option
@click.option("--limit", type=click.IntRange(1, 100_000), default=20, show_default=True)
@click.option(
    "--mode",
    type=click.Choice(["auto", *MODES]),
    default="auto",
    show_default=True,
    help="auto: hybrid when captions have embeddings, else keyword; visual: by pixels alone.",
)
@embedder_option
@json_option
def search_command(query, data_dir, limit, mode, embedder, as_json) -> None:
    """Find photos whose caption, tags or folder/file names match QUERY, then photos related by meaning.

    Words are ANDed; "quoted phrases", OR, NOT, (groups) and prefix* work.
    Put a query that starts with - after --: captionary search -- -foo
    """
    if not query.strip():
        raise QueryUsageError("Empty query: give some words to search for (or * for every photo)")
    with open_semantic_store(data_dir, embedder) as store:
        page = store.search(query, Filters(), limit=limit, mode=mode)
    print_search_page(page, as_json)


@cli.command()
@click.argument("images", nargs=-1, required=True)
@model_option
@prompt_option
@max_new_tokens_option
@speed_option
@batch_option
@device_option
@json_option
def caption(images, model, prompt, max_new_tokens, speed, batch_size, device, as_json) -> None:
    """Caption image files or http(s) URLs and print the captions; nothing is stored."""
    from indexer.models.captioner import Captioner
    from indexer.sources import caption_sources

    settings = Settings.resolve(model=model)
    captioner = Captioner(
        settings.model, device=device, settings=settings, prompt=prompt, max_new_tokens=max_new_tokens, speed=speed
    )
    results = caption_sources(list(images), captioner, batch_size)
    if as_json:
        click.echo(
            json_text(
                [
                    {"image": r.image, "caption": r.caption} if r.error is None else {"image": r.image, "error": r.error}
                    for r in results
                ]
            )
        )
    else:
        for result in results:
            if result.error is None:
                click.echo(f"{shown(result.image)}: {shown(result.caption)}")
            else:
                click.echo(f"{shown(result.image, err=True)}: error: {shown(result.error, err=True)}", err=True)
    if any(result.error for result in results):
        sys.exit(1)


@cli.command()
@data_dir_option
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: the whole network).")
@click.option(
    "--model",
    default=None,
    help="Model for the Caption view [default: $CAPTIONARY_MODEL, else the model that captioned the library].",
)
def app(data_dir, port, host, model) -> None:
    """Open the search app in the browser (streamlit run search_app.py)."""
    import importlib.util

    spec = importlib.util.find_spec("search_app")
    if spec is None or spec.origin is None:
        raise click.ClickException("search_app.py is not installed; reinstall captionary: pip install -e .")
    env = dict(os.environ)  # the app resolves its own Settings from these
    if data_dir is not None:
        env["CAPTIONARY_DATA_DIR"] = str(Settings.resolve(data_dir=data_dir).data_dir)
    if model is not None:
        env["CAPTIONARY_MODEL"] = model
    problem = listen_problem(host, port)
    if problem:
        raise click.ClickException(problem)
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(
            f"warning: the app will be reachable from the network at {host}:{port}, with forms that edit "
            "captions and tags and no password; use it only on a network you trust",
            err=True,
        )
    run_streamlit(streamlit_command(spec.origin, host, port), env)


@cli.command()
@json_option
def models(as_json) -> None:
    """The caption model families, one recommended checkpoint each, and which are in the local Hugging Face cache."""
    from dataclasses import asdict

    from indexer.models.families import FAMILIES, cached_caption_models

    cached = cached_caption_models()
    rows = [
        {
            key: value
            for key, value in asdict(family).items()
            if key in ("name", "checkpoint", "size", "license", "good_for", "tested")
        }
        | {"prompt": family.default_prompt, "max_new_tokens": family.max_new_tokens, "cached": family.checkpoint in cached}
        for family in FAMILIES
    ]
    others = {model_id: name for model_id, name in cached.items() if model_id not in {row["checkpoint"] for row in rows}}
    if as_json:
        click.echo(json_text({"families": rows, "other_cached": others}))
        return
    for row in rows:
        mark = "cached" if row["cached"] else "      "
        click.echo(f"{mark}  {row['name']:<11} {row['checkpoint']:<40} {row['size']:>5}  {row['license']}")
        click.echo(f"        {'':<11} {row['good_for']}; tested: {row['tested']}")
    for model_id, name in sorted(others.items()):
        click.echo(f"cached  {shown(name):<11} {shown(model_id)}")
    click.echo("Use one with: captionary index PATH --model CHECKPOINT (docs/models.md: Choosing a caption model)")


for _command in LIBRARY_COMMANDS:
    cli.add_command(_command)


def main() -> None:
    if sys.stdout is None:  # started with its output closed (`captionary stats >&-`): what it prints would be lost
        if sys.stderr is not None:
            sys.stderr.write("captionary: standard output is closed; send it to a file or to /dev/null\n")
        raise SystemExit(2)
    cli(prog_name="captionary")
