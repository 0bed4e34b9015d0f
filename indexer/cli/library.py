"""The CLI's library commands: stats, check and repair, a person's edits, tags, exports, re-embedding."""

from __future__ import annotations

import os
import shlex
import sys
import threading
import time
from pathlib import Path

import click

from db.store import DUPLICATE_THRESHOLD, MAX_TAG_LENGTH, Store
from indexer.cli.options import (
    FiniteFloatRange,
    data_dir_option,
    embedder_option,
    image_embedder_option,
    json_option,
    open_data_dir,
    open_semantic_store,
)
from indexer.cli.terminal import TerminalWriter, json_text, on_terminal, shown
from indexer.settings import Settings

ROOT_PROBE_SECONDS = 2.0


@click.command()
@data_dir_option
@json_option
def stats(data_dir, as_json) -> None:
    """Counts of indexed and failed photos, models used, roots."""
    with open_data_dir(data_dir) as store:
        numbers = store.stats()
        failures = store.failures() if not as_json else []
        problems = store.metadata_problems() if not as_json else []
        skipped = store.skipped_files() if not as_json else []
    if as_json:
        click.echo(json_text(numbers))
        return
    copies = f"{numbers['duplicates']} duplicate{'s' * (numbers['duplicates'] != 1)}"
    click.echo(f"images:     {numbers['images']} ({copies}, {numbers['edited']} edited)")
    click.echo(f"failed:     {numbers['failed']}")
    if numbers["formats"]:
        click.echo("formats:    " + ", ".join(f"{name} {count}" for name, count in numbers["formats"].items()))
    if numbers["skipped"]:
        click.echo("skipped:    " + shown(", ".join(f"{count} {label}" for label, count in numbers["skipped_kinds"].items())))
    click.echo(
        f"metadata:   {numbers['dated']} dated by EXIF, {numbers['placed']} with a place, "
        f"{numbers['file_keywords']} with file keywords, {numbers['described']} with a title or description"
    )
    if numbers["text_read"]:
        click.echo(f"text:       {numbers['with_text']} with text, of {numbers['text_read']} photos read (index --ocr)")
    for model_id, count in numbers["models"].items():
        click.echo(f"model:      {shown(model_id)} ({count})")
    found = _folders_found(numbers["roots"])
    for root in numbers["roots"]:
        note = "" if found[root] else _not_found(root) if found[root] is False else _not_answering()
        click.echo(f"root:       {shown(root)}" + note)
    click.echo(f"data dir:   {shown(numbers['data_dir'])}")
    for path, error in failures[:20]:
        click.echo(f"  failed: {shown(path)}: {shown(error)}")
    if len(failures) > 20:
        click.echo(f"  ... and {len(failures) - 20} more")
    for path, problem in problems[:20]:
        click.echo(f"  metadata not read: {shown(path)}: {shown(problem)}")  # the photo itself is indexed
    if len(problems) > 20:
        click.echo(f"  ... and {len(problems) - 20} more")
    for row in skipped:  # every one: what the library holds that captionary does not read
        click.echo(f"  skipped: {shown(row['path'])} ({row['kind']})")


def _folders_found(roots: list[str]) -> dict[str, bool | None]:
    """Whether each root's folder is there, None where no answer came within ROOT_PROBE_SECONDS: a look at a network
    share that is down can wait for minutes, and stats should not wait with it."""
    answers: dict[str, bool] = {}
    threads = [
        threading.Thread(target=lambda root=root: answers.update({root: os.path.isdir(root)}), daemon=True) for root in roots
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + ROOT_PROBE_SECONDS
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return {root: answers.get(root) for root in roots}


def _not_answering() -> str:
    return f"  (not answering after {ROOT_PROBE_SECONDS:g} s: a network share that is down?)"


def _not_found(root: str) -> str:
    """A root whose folder is not there: a disk taken away keeps its photos; a move is settled by `forget`."""
    return f"  (not found: a disk not mounted? if it was moved or renamed: captionary forget {shown(shlex.quote(root))})"


@click.command("rebuild-fulltext")
@data_dir_option
def rebuild_fulltext(data_dir) -> None:
    """Rebuild the search index from the DB (the DB is the source of truth)."""
    with open_data_dir(data_dir) as store:
        store.sync_fulltext(rebuild=True)
        count = store.stats()["images"]
    click.echo(f"rebuilt the search index: {count} images")


@click.command()
@data_dir_option
@json_option
def check(data_dir, as_json) -> None:
    """Check the catalog's pages (SQLite quick_check), then report disagreement between the DB and the search index,
    and indexed files missing on disk."""
    with open_data_dir(data_dir) as store:
        report = store.check()
    if as_json:
        click.echo(
            json_text(
                {
                    "ok": report.ok,
                    "fulltext_lag": report.fulltext_lag,
                    "missing_in_fulltext": report.missing_in_fulltext,
                    "stale_in_fulltext": report.stale_in_fulltext,
                    "missing_on_disk": report.missing_on_disk,
                    "fulltext_damaged": report.fulltext_damaged,
                }
            )
        )
    else:
        click.echo(
            f"search index: {len(report.missing_in_fulltext)} missing, {len(report.stale_in_fulltext)} stale, "
            f"{report.fulltext_lag} changes behind"
        )
        if report.fulltext_damaged:
            click.echo(shown(report.fulltext_damaged))
        click.echo(f"missing on disk: {len(report.missing_on_disk)}")
        for path in report.missing_on_disk[:20]:
            click.echo(f"  {shown(path)}")
        if report.fulltext_damaged or report.out_of_step:
            click.echo("fix the search index with: captionary rebuild-fulltext")
        elif report.missing_in_fulltext or report.stale_in_fulltext or report.fulltext_lag:
            # a run that was stopped before its last sync: nothing to rebuild (docs/reindexing.md)
            click.echo("the search index is behind the catalog: the next search or index run catches it up")
        if report.missing_on_disk:
            click.echo("remove missing files with: captionary index ROOT (or captionary forget ROOT)")
    if not report.ok:
        sys.exit(1)


@click.command()
@click.argument("root", type=click.Path())
@data_dir_option
def forget(root, data_dir) -> None:
    """Remove ROOT and everything under it that no other indexed root holds from the index (the photos are not
    touched)."""
    with open_data_dir(data_dir) as store:
        removed = store.forget_root(root)
    click.echo(f"forgot {shown(root)}: {removed} files removed from the index")


@click.command("set-caption")
@click.argument("path", type=click.Path())
@click.argument("text", required=False)
@click.option("--revert", is_flag=True, help="Go back to the model's caption (instead of TEXT).")
@data_dir_option
@embedder_option
def set_caption(path, text, revert, data_dir, embedder) -> None:
    """Set a person's caption for the indexed photo at PATH (kept by re-indexing, re-embedded at once), or
    with --revert go back to the model's."""
    if (text is None) != revert:
        raise click.UsageError(
            "Give the caption or --revert, one of them: captionary set-caption PATH TEXT, or captionary set-caption PATH --revert"
        )
    with open_semantic_store(data_dir, embedder) as store:
        # None is the app's Revert too: the person's caption goes, the model's shows again
        record = store.set_caption(store.image_by_path(path).id, None if revert else text)
    click.echo(f"{shown(record.path)}: {shown(record.caption)}")


@click.command()
@data_dir_option
@embedder_option
@click.option("--images", is_flag=True, help="Embed the photos' pixels instead: decodes them, never re-captions.")
@image_embedder_option
def reembed(data_dir, embedder, images, image_embedder) -> None:
    """Compute caption embeddings that are missing or from another embedder (no image is read); with --images,
    the image vectors for search by pixels."""
    if images:
        _reembed_images(data_dir, image_embedder)
        return
    with open_semantic_store(data_dir, embedder, queries=False) as store:
        done = store.reembed_captions()
        total = store.stats()["embedded"]
    click.echo(f"embedded {done} captions with {shown(store.embedder_id)}; {total} captions have embeddings")


@click.command()
@data_dir_option
@json_option
@click.option("--limit", type=click.IntRange(1, 1_000_000), default=None, help="Only the N most used tags.")
def tags(data_dir, as_json, limit) -> None:
    """List tags with the number of photos carrying them, most used first."""
    with open_data_dir(data_dir) as store:
        counts = store.tag_counts(limit)
    if as_json:
        click.echo(json_text([{"tag": tag, "count": count} for tag, count in counts]))
        return
    for tag, count in counts:
        click.echo(f"{count:8}  {shown(tag)}")


@click.command()
@click.argument("path", type=click.Path())
@click.option("--add", multiple=True, metavar="TAG", help=f"Add a tag, at most {MAX_TAG_LENGTH} characters (repeatable).")
@click.option("--remove", multiple=True, metavar="TAG", help="Remove a tag; re-indexing will not bring it back.")
@data_dir_option
@json_option
def tag(path, add, remove, data_dir, as_json) -> None:
    """Edit the tags of the indexed photo at PATH."""
    with open_data_dir(data_dir) as store:
        record = store.edit_tags(store.image_by_path(path).id, add, remove)
    if as_json:
        click.echo(json_text({"path": record.path, "tags": record.tags}))
    else:
        click.echo(f"{shown(record.path)}: {shown(', '.join(record.tags)) or '(no tags)'}")


@click.command()
@click.option("--format", "file_format", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write to FILE instead of standard output."
)
@data_dir_option
def export(file_format, output, data_dir) -> None:
    """Export one row per image (streamed), with the columns path, caption, tags (;-separated in CSV), model,
    taken_at, edited (true or false), title, description, place (the file's own), text (read in the photo),
    camera and rating (the file's stars)."""
    with open_data_dir(data_dir) as store:
        if output is None:
            store.export(TerminalWriter(sys.stdout) if on_terminal() else sys.stdout, file_format)
            return
        count = _export_to(store, output, file_format)
    click.echo(f"exported {count} images to {shown(output, err=True)}", err=True)


def _export_to(store: Store, output: Path, file_format: str) -> int:
    if not output.name or output.is_dir():
        raise click.UsageError(f"--output {output}: name a file to write")
    if not output.resolve().parent.is_dir():
        raise click.UsageError(f"--output {output}: the folder {output.resolve().parent} does not exist")
    return store.export_file(output, file_format)


@click.command("export-xmp")
@click.option(
    "--sidecar-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write sidecars under DIR, mirroring the photos' absolute paths.",
)
@click.option("--next-to-photos", is_flag=True, help="Write photo.jpg.xmp beside each photo (opt-in).")
@data_dir_option
def export_xmp(sidecar_dir, next_to_photos, data_dir) -> None:
    """Write XMP sidecars (dc:description = caption, dc:subject = tags); existing ones are merged."""
    if (sidecar_dir is None) == (not next_to_photos):
        raise click.UsageError(
            "Choose where sidecars go: --sidecar-dir DIR, or --next-to-photos to write photo.jpg.xmp beside each photo"
        )
    with open_data_dir(data_dir) as store:
        report = store.export_xmp(sidecar_dir, next_to_photos)
    for path, error in report.failed:
        click.echo(f"warning: {shown(path, err=True)}: {shown(error, err=True)}", err=True)
    click.echo(f"{report.written} sidecars written, {report.unchanged} unchanged, {len(report.failed)} failed")
    if report.failed:
        sys.exit(1)


def _reembed_images(data_dir: Path | None, image_embedder: str | None) -> None:
    from indexer.options import IndexOptions
    from indexer.reembed import reembed_images

    settings = Settings.resolve(data_dir=data_dir, image_embedder=image_embedder)
    with open_data_dir(data_dir) as store:
        # the model the library was given (index or reembed --image-embedder), as index uses it
        chosen = store.catalog.image_embedder_setting(settings.image_embedder, settings.image_embedder_named)
        if chosen is None:
            raise click.UsageError(
                "--images needs an image embedder, and this library's are off (--image-embedder none); "
                "name one: --image-embedder ID|PATH"
            )
        report = reembed_images(store, IndexOptions(image_embedder=chosen, image_embedder_required=True))
        if settings.image_embedder_named:
            store.catalog.remember_image_embedder(chosen)
        total = store.stats()["image_embedded"]
    for path, reason in report.failures[:20]:
        click.echo(f"  failed: {shown(path, err=True)}: {shown(reason, err=True)}", err=True)
    click.echo(
        f"embedded {report.embedded} photos with {shown(chosen)} in {report.seconds:.1f}s; {total} photos have image vectors"
    )


@click.command()
@click.argument("source")
@data_dir_option
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@json_option
def similar(source, data_dir, limit, as_json) -> None:
    """Photos that look like SOURCE: an indexed photo (its stored vector), another image file, or an http(s) URL."""
    from db.errors import NotIndexedError
    from indexer.sources import embed_picture

    with open_semantic_store(data_dir) as store:
        vector, exclude = None, None
        if "://" not in source and os.path.exists(source):
            try:
                vector, exclude = store.stored_vector(source), store.image_by_path(source).path
            except NotIndexedError:
                pass  # a photo from elsewhere: embedded below like a URL
        if vector is None:
            vector = embed_picture(store, source)
        found = store.similar_to(vector, limit, exclude)
    if as_json:
        rows = [{"path": record.path, "similarity": round(score, 4), "caption": record.caption} for record, score in found]
        click.echo(json_text(rows))
        return
    for record, score in found:
        click.echo(f"{shown(record.path)}  {score:.3f}")


@click.command()
@data_dir_option
@click.option(
    "--threshold",
    type=FiniteFloatRange(0.0, 1.0),
    default=None,
    help=f"Cosine similarity of image vectors at or above which photos group [default: {DUPLICATE_THRESHOLD}].",
)
@json_option
def duplicates(data_dir, threshold, as_json) -> None:
    """Groups of near-identical photos (bursts, resized or re-encoded copies, small edits), by their pixels."""
    with open_semantic_store(data_dir) as store:
        groups = store.duplicate_groups(threshold)
    if as_json:
        click.echo(json_text([{"paths": g.paths, "similarity": round(g.similarity, 4)} for g in groups]))
        return
    for group in groups:
        click.echo(f"{len(group.paths)} photos, similarity >= {group.similarity:.3f}")
        for path in group.paths:
            click.echo(f"  {shown(path)}")


LIBRARY_COMMANDS = [
    similar,
    duplicates,
    stats,
    rebuild_fulltext,
    check,
    forget,
    set_caption,
    reembed,
    tags,
    tag,
    export,
    export_xmp,
]
