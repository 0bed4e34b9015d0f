"""A person's edits: captions and tags. Re-indexing never overwrites them (db/catalog.py keeps them)."""

from __future__ import annotations

from collections.abc import Sequence

from db.embedders import Embedders
from db.errors import CaptionaryError, NotIndexedError, UsageError
from db.models import File, Tag, utcnow
from db.reads import image
from db.records import MAX_TAG_LENGTH, normalize_tag, printable, undecodable
from db.schema import Sessions, writing
from db.sequence import mark_files_changed, next_seq
from db.sync import FulltextSync
from db.tags import retag
from db.types import ImageRecord

EDIT_WAIT_SECONDS = 5.0  # how long an edit waits for an index run's write lock before saying so


def set_caption(sessions: Sessions, fulltext: FulltextSync, embedders: Embedders, file_id: int, text: str | None) -> ImageRecord:
    """Save a person's caption (None reverts to the model's); re-indexing never overwrites it."""
    if text is not None:
        _refuse_undecodable("The caption", text)
        text = " ".join(printable(text).split())
        if not text:
            raise CaptionaryError(
                "A caption cannot be empty; to go back to the model's caption, revert it "
                "(the app's Revert caption, or: captionary set-caption PATH --revert)"
            )
    with writing(sessions, EDIT_WAIT_SECONDS) as session:
        file = session.get(File, file_id)
        if file is None or file.content is None:
            raise NotIndexedError(f"No indexed image with id {file_id}")
        seq = next_seq(session)
        content = file.content
        content.user_caption = text
        content.edited_at = utcnow() if text is not None else None
        retag(content)  # auto-tags follow the caption a person sees
        content.embedding = None  # and so does the embedding
        mark_files_changed(session, seq, content_ids=[content.id])
    fulltext.show_edit()
    if embedders.has_embeddings():  # semantic search is in use: this caption's vector changes now
        embedders.embed_pending(content_ids=[content.id])
    return image(sessions, file_id)


def edit_tags(
    sessions: Sessions, fulltext: FulltextSync, file_id: int, add: Sequence[str] = (), remove: Sequence[str] = ()
) -> ImageRecord:
    """A person's tag edit: added tags are theirs; removed ones stay removed through re-indexing."""
    for name in (*add, *remove):
        _refuse_undecodable(f"The tag {name!r}", name)
    for name in add:  # refused, not cut: a tag stored cut is found by none of the words typed after its cut
        if not normalize_tag(name):
            raise UsageError("A tag cannot be empty")
        if len(typed := " ".join(name.split())) > MAX_TAG_LENGTH:
            raise UsageError(f"A tag is at most {MAX_TAG_LENGTH} characters; '{typed[:30]}…' has {len(typed)}: shorten it")
    with writing(sessions, EDIT_WAIT_SECONDS) as session:
        file = session.get(File, file_id)
        if file is None or file.content is None:
            raise NotIndexedError(f"No indexed image with id {file_id}")
        current = {tag.tag: tag for tag in file.content.tags}
        own = {keyword.tag for keyword in file.keywords}
        for source, names in (("user", add), ("hidden", remove)):
            for name in filter(None, map(normalize_tag, names)):
                if name in current:
                    current[name].source = source
                elif source == "user" or name in own:  # removing the file's keyword hides it (on the content)
                    current[name] = Tag(tag=name, source=source)
                    file.content.tags.append(current[name])
        mark_files_changed(session, next_seq(session), content_ids=[file.content.id])
    fulltext.show_edit()
    return image(sessions, file_id)


def _refuse_undecodable(what: str, text: str) -> None:
    refused = undecodable(what, text)
    if refused is not None:
        raise UsageError(refused)
