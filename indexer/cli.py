"""The `captionary` command: each command opens the store, calls one library function, prints."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from db.errors import CaptionaryError
from db.fulltext import Filters
from db.store import Store
from db.store import open_store as open_library
from indexer.console import TqdmProgress, print_search_page, streamlit_command
from indexer.settings import DEFAULT_BATCH_SIZE, Settings

FAILURES_SHOWN = 5  # failed files listed under the summary line of `index`


class QueryUsageError(click.ClickException):
    """A query that cannot be parsed: one line on stderr, exit code 2."""

    exit_code = 2


class CaptionaryGroup(click.Group):
    """Turns library errors into one-line messages; CAPTIONARY_DEBUG=1 shows tracebacks instead."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except CaptionaryError as error:
            if Settings.resolve().debug:
                raise
            exception = QueryUsageError if error.exit_code == 2 else click.ClickException
            raise exception(" ".join(str(error).split())) from None
        except KeyboardInterrupt:
            raise click.Abort() from None
        except BrokenPipeError:
            raise  # the reader of our output left (`| head`): click ends quietly, as Unix tools do
        except Exception as error:
            if Settings.resolve().debug:
                raise
            message = " ".join(str(error).split()) or type(error).__name__
            raise click.ClickException(
                f"{type(error).__name__}: {message} (set CAPTIONARY_DEBUG=1 for a traceback)") from None


data_dir_option = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Where the DB, search index and thumbnails live [default: $CAPTIONARY_DATA_DIR or the per-user data dir].")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
model_option = click.option(
    "--model", default=None, help="Hugging Face model id or local folder [default: $CAPTIONARY_MODEL or "
    "nlpconnect/vit-gpt2-image-captioning].")
batch_option = click.option("--batch-size", type=click.IntRange(1, 4096), default=None,
                            help="Images per model call [default: "
                            + ", ".join(f"{size} on {device.upper()}" for device, size in DEFAULT_BATCH_SIZE.items())
                            + "; halved if the GPU runs out of memory].")
device_option = click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), default="auto",
                             show_default=True)
embedder_option = click.option(
    "--embedder", default=None, help="sentence-transformers model id or folder for semantic search "
    "[default: $CAPTIONARY_EMBEDDER or the packaged all-MiniLM-L6-v2].")


def open_store(data_dir: Path | None, create: bool = False):
    """The library that --data-dir or $CAPTIONARY_DATA_DIR names (indexer/settings.py decides)."""
    return open_library(Settings.resolve(data_dir=data_dir).data_dir, create=create)


@contextmanager
def open_semantic_store(data_dir, embedder=None, queries=True) -> Iterator[Store]:
    """open_store, able to embed queries and captions (the embedding model loads only if needed);
    queries=False for bulk work, which wants torch's batching."""
    from indexer.pipeline import enable_embeddings

    settings = Settings.resolve(data_dir=data_dir, embedder=embedder)
    with open_library(settings.data_dir) as store:
        enable_embeddings(store, settings.embedder, queries=queries)
        yield store


@click.group(cls=CaptionaryGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="captionary")
def cli() -> None:
    """Caption a photo library with an image-to-text model and search it by what is in the photos."""


@cli.command()
@click.argument("roots", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@data_dir_option
@model_option
@batch_option
@device_option
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Decode threads [default: half the cores on CPU, up to 8 on a GPU].")
@click.option("--threads", type=click.IntRange(1, 256), default=None,
              help="Torch CPU threads [default: the cores the decode workers leave].")
@click.option("--exclude", "excludes", multiple=True, metavar="GLOB",
              help="Skip paths matching GLOB (name, path under the root, or absolute path); repeatable.")
@click.option("--follow-symlinks", is_flag=True, help="Follow symbolic links (loops are detected).")
@click.option("--recaption", is_flag=True,
              help="Re-caption photos captioned by another model (a person's captions are kept).")
@click.option("--no-thumbnails", is_flag=True, help="Do not cache thumbnails for the app.")
@embedder_option
@click.option("--no-embeddings", is_flag=True, help="Skip caption embeddings (keyword search only).")
@click.option("--verbose", "-v", is_flag=True, help="List every failed file under the summary (else the first 5).")
@click.option("--allow-removal", is_flag=True,
              help="Remove photos that are gone even when most of a root is (else they are kept: an unmounted disk).")
def index(roots, data_dir, model, batch_size, device, workers, threads, excludes, follow_symlinks,
          recaption, no_thumbnails, embedder, no_embeddings, verbose, allow_removal) -> None:
    """Crawl ROOTS, caption every new or changed photo, and update the search index."""
    from indexer.pipeline import index_roots
    from indexer.report import IndexOptions

    settings = Settings.resolve(data_dir=data_dir, model=model, embedder=embedder)
    options = IndexOptions(model=settings.model, batch_size=batch_size, device=device, workers=workers,
                           threads=threads, excludes=excludes, follow_symlinks=follow_symlinks, recaption=recaption,
                           thumbnails=not no_thumbnails, embeddings=not no_embeddings, embedder=settings.embedder,
                           allow_removal=allow_removal)
    progress = TqdmProgress()
    with open_library(settings.data_dir, create=True) as store:
        try:
            report = index_roots(store, roots, options, progress=progress)
        finally:
            progress.close()
    for folder in report.unreadable_folders:
        click.echo(f"warning: could not read {folder}", err=True)
    for root, gone, known in report.held_back:
        click.echo(f"warning: {gone} of {known} photos under {root} are gone (an unmounted disk?); none were "
                   "removed. If they were deleted on purpose: captionary index --allow-removal", err=True)
    click.echo(report.summary())
    shown = report.failures if verbose else report.failures[:FAILURES_SHOWN]
    for path, reason in shown:
        click.echo(f"  failed: {path}: {reason}")
    if len(report.failures) > len(shown):
        click.echo(f"  ... and {len(report.failures) - len(shown)} more (--verbose, or captionary stats, lists all)")


@cli.command()
@click.argument("query")
@data_dir_option
@click.option("--limit", type=click.IntRange(1, 100_000), default=20, show_default=True)
@click.option("--mode", type=click.Choice(["auto", "keyword", "semantic", "hybrid"]), default="auto",
              show_default=True, help="auto: hybrid when captions have embeddings, else keyword.")
@embedder_option
@json_option
def search(query, data_dir, limit, mode, embedder, as_json) -> None:
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
@batch_option
@device_option
@json_option
def caption(images, model, batch_size, device, as_json) -> None:
    """Caption image files or http(s) URLs and print the captions; nothing is stored."""
    from indexer.caption import Captioner
    from indexer.settings import batch_size_for
    from indexer.sources import caption_sources

    settings = Settings.resolve(model=model)
    captioner = Captioner(settings.model, device=device, settings=settings)
    results = caption_sources(list(images), captioner, batch_size_for(captioner.device, batch_size))
    if as_json:
        click.echo(json.dumps([
            {"image": r.image, "caption": r.caption} if r.error is None else {"image": r.image, "error": r.error}
            for r in results], ensure_ascii=False))
    else:
        for result in results:
            if result.error is None:
                click.echo(f"{result.image}: {result.caption}")
            else:
                click.echo(f"{result.image}: error: {result.error}", err=True)
    if any(result.error for result in results):
        sys.exit(1)


@cli.command()
@data_dir_option
@json_option
def stats(data_dir, as_json) -> None:
    """Counts of indexed and failed photos, models used, roots."""
    with open_store(data_dir) as store:
        numbers = store.stats()
        failures = store.failures() if not as_json else []
    if as_json:
        click.echo(json.dumps(numbers, ensure_ascii=False))
        return
    click.echo(f"images:     {numbers['images']} ({numbers['duplicates']} duplicates, {numbers['edited']} edited)")
    click.echo(f"failed:     {numbers['failed']}")
    for model_id, count in numbers["models"].items():
        click.echo(f"model:      {model_id} ({count})")
    for root in numbers["roots"]:
        click.echo(f"root:       {root}")
    click.echo(f"data dir:   {numbers['data_dir']}")
    for path, error in failures[:20]:
        click.echo(f"  failed: {path}: {error}")
    if len(failures) > 20:
        click.echo(f"  ... and {len(failures) - 20} more")


@cli.command("rebuild-fulltext")
@data_dir_option
def rebuild_fulltext(data_dir) -> None:
    """Rebuild the search index from the DB (the DB is the source of truth)."""
    with open_store(data_dir) as store:
        store.sync_fulltext(rebuild=True)
        count = store.stats()["images"]
    click.echo(f"rebuilt the search index: {count} images")


@cli.command()
@data_dir_option
@json_option
def check(data_dir, as_json) -> None:
    """Report disagreement between the DB and the search index, and indexed files missing on disk."""
    with open_store(data_dir) as store:
        report = store.check()
    if as_json:
        click.echo(json.dumps({"ok": report.ok, "fulltext_lag": report.fulltext_lag,
                               "missing_in_fulltext": report.missing_in_fulltext,
                               "stale_in_fulltext": report.stale_in_fulltext,
                               "missing_on_disk": report.missing_on_disk}))
    else:
        click.echo(f"search index: {len(report.missing_in_fulltext)} missing, {len(report.stale_in_fulltext)} stale, "
                   f"{report.fulltext_lag} changes behind")
        click.echo(f"missing on disk: {len(report.missing_on_disk)}")
        for path in report.missing_on_disk[:20]:
            click.echo(f"  {path}")
        if report.missing_in_fulltext or report.stale_in_fulltext or report.fulltext_lag:
            click.echo("fix the search index with: captionary rebuild-fulltext")
        if report.missing_on_disk:
            click.echo("remove missing files with: captionary index ROOT (or captionary forget ROOT)")
    if not report.ok:
        sys.exit(1)


@cli.command()
@click.argument("root", type=click.Path())
@data_dir_option
def forget(root, data_dir) -> None:
    """Remove ROOT and everything under it from the index (the photos are not touched)."""
    with open_store(data_dir) as store:
        removed = store.forget_root(root)
    click.echo(f"forgot {root}: {removed} files removed from the index")


@cli.command("set-caption")
@click.argument("path", type=click.Path())
@click.argument("text")
@data_dir_option
@embedder_option
def set_caption(path, text, data_dir, embedder) -> None:
    """Set a person's caption for the indexed photo at PATH (kept by re-indexing, re-embedded at once)."""
    with open_semantic_store(data_dir, embedder) as store:
        record = store.set_caption(store.image_by_path(path).id, text)
    click.echo(f"{record.path}: {record.caption}")


@cli.command()
@data_dir_option
@embedder_option
def reembed(data_dir, embedder) -> None:
    """Compute caption embeddings that are missing or from another embedder (no image is read)."""
    with open_semantic_store(data_dir, embedder, queries=False) as store:
        done = store.embed_pending()
        total = store.stats()["embedded"]
    click.echo(f"embedded {done} captions with {store.embedder_id}; {total} captions have embeddings")


@cli.command()
@data_dir_option
@json_option
@click.option("--limit", type=click.IntRange(1, 1_000_000), default=None, help="Only the N most used tags.")
def tags(data_dir, as_json, limit) -> None:
    """List tags with the number of photos carrying them, most used first."""
    with open_store(data_dir) as store:
        counts = store.tag_counts(limit)
    if as_json:
        click.echo(json.dumps([{"tag": tag, "count": count} for tag, count in counts], ensure_ascii=False))
        return
    for tag, count in counts:
        click.echo(f"{count:8}  {tag}")


@cli.command()
@click.argument("path", type=click.Path())
@click.option("--add", multiple=True, metavar="TAG", help="Add a tag (repeatable).")
@click.option("--remove", multiple=True, metavar="TAG", help="Remove a tag; re-indexing will not bring it back.")
@data_dir_option
@json_option
def tag(path, add, remove, data_dir, as_json) -> None:
    """Edit the tags of the indexed photo at PATH."""
    with open_store(data_dir) as store:
        record = store.edit_tags(store.image_by_path(path).id, add, remove)
    if as_json:
        click.echo(json.dumps({"path": record.path, "tags": record.tags}, ensure_ascii=False))
    else:
        click.echo(f"{record.path}: {', '.join(record.tags) or '(no tags)'}")


@cli.command()
@click.option("--format", "file_format", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to FILE instead of standard output.")
@data_dir_option
def export(file_format, output, data_dir) -> None:
    """Export one row per image: path, caption, tags, model, date taken (streamed)."""
    from db.export import export_rows, write_csv, write_json

    writer = write_csv if file_format == "csv" else write_json
    with open_store(data_dir) as store:
        if output is None:
            writer(export_rows(store), sys.stdout)
            return
        temporary = output.with_name(f".{output.name}.tmp")
        with open(temporary, "w", encoding="utf-8", newline="") as handle:
            count = writer(export_rows(store), handle)
        os.replace(temporary, output)
    click.echo(f"exported {count} images to {output}", err=True)


@cli.command("export-xmp")
@click.option("--sidecar-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write sidecars under DIR, mirroring the photos' absolute paths.")
@click.option("--next-to-photos", is_flag=True, help="Write photo.jpg.xmp beside each photo (opt-in).")
@data_dir_option
def export_xmp(sidecar_dir, next_to_photos, data_dir) -> None:
    """Write XMP sidecars (dc:description = caption, dc:subject = tags); existing ones are merged."""
    from db.export import export_xmp as write_sidecars

    with open_store(data_dir) as store:
        report = write_sidecars(store, sidecar_dir, next_to_photos)
    for path, error in report.failed:
        click.echo(f"warning: {path}: {error}", err=True)
    click.echo(f"{report.written} sidecars written, {report.unchanged} unchanged, {len(report.failed)} failed")
    if report.failed:
        sys.exit(1)


@cli.command()
@data_dir_option
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: the whole network).")
@click.option("--model", default=None, help="Model for the Caption view [default: $CAPTIONARY_MODEL, else the model "
              "that captioned the library].")
def app(data_dir, port, host, model) -> None:
    """Open the search app in the browser (streamlit run search_app.py)."""
    import importlib.util
    import subprocess

    spec = importlib.util.find_spec("search_app")
    if spec is None or spec.origin is None:
        raise click.ClickException("search_app.py is not installed; reinstall captionary: pip install -e .")
    env = dict(os.environ)  # the app resolves its own Settings from these
    if data_dir is not None:
        env["CAPTIONARY_DATA_DIR"] = str(Path(data_dir).expanduser().resolve())
    if model is not None:
        env["CAPTIONARY_MODEL"] = model
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"warning: the app will be reachable from the network at {host}:{port}, with forms that edit "
                   "captions and tags and no password; use it only on a network you trust", err=True)
    sys.exit(subprocess.call(streamlit_command(spec.origin, host, port), env=env))


def main() -> None:
    cli(prog_name="captionary")
