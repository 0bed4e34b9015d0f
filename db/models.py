"""SQLAlchemy 2.x models: the schema of captionary's SQLite database."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import ColumnElement, ForeignKey, Index, Integer, LargeBinary, ScalarSelect, String, Text, func, select
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from db.columns import Nanoseconds, PathText

SCHEMA_VERSION = 8
# The first photograph was taken in 1826; a camera clock reset to 0001:01:01 or set to 2099 says nothing.


def utcnow() -> datetime:
    """Row time stamps: naive UTC, as SQLite stores them."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Meta(Base):
    """Key/value settings: schema version and the change counters that keep full text in sync."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String, primary_key=True)
    value: Mapped[str] = mapped_column(String)


class Content(Base):
    """One distinct picture, identified by a hash of its bytes.

    What is made from the pixels lives here (captions, a person's caption and tags, text read, vectors), not
    on the path, so a moved, renamed or duplicated file reuses the work already done for its bytes. What a
    file says about itself (EXIF, IPTC, its sidecars) is the File's: a copy without the sidecar says less.
    """

    __tablename__ = "contents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hash: Mapped[str] = mapped_column(String, unique=True)
    width: Mapped[int]
    height: Mapped[int]
    format: Mapped[str]
    # Text read in the pixels (OCR), one line per text line, "" when there is none, and the engine that read
    # it; NULL until read (a library indexes with OCR only once asked: index --ocr). Schema 5.
    ocr_text: Mapped[str | None] = mapped_column(Text)
    ocr_engine: Mapped[str | None] = mapped_column(index=True)
    # What the model wrote; re-indexing may replace it (new model with --recaption).
    caption: Mapped[str] = mapped_column(Text)
    model: Mapped[str]
    captioned_at: Mapped[datetime]
    # What a person wrote; re-indexing never touches it, and it wins over `caption`.
    user_caption: Mapped[str | None] = mapped_column(Text)
    edited_at: Mapped[datetime | None]
    # Sentence embedding of the caption shown (float16, unit length) and the model that made it;
    # NULL until computed, and reset whenever that caption changes.
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    embedder: Mapped[str | None] = mapped_column(index=True)
    # Image embedding of the pixels (float16, unit length) from a CLIP-family model, and that model's id;
    # NULL until computed. Schema 2.
    image_embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    image_embedder: Mapped[str | None] = mapped_column(index=True)
    # When the last path with these bytes went away. Kept for a grace period, so a photo moved to
    # another root (indexed in a later run) or restored from a backup is not captioned again.
    orphaned_at: Mapped[datetime | None] = mapped_column(index=True)

    files: Mapped[list[File]] = relationship(back_populates="content")
    tags: Mapped[list[Tag]] = relationship(cascade="all, delete-orphan", passive_deletes=True)

    @hybrid_property
    def effective_caption(self) -> str:
        """The caption shown, searched, embedded and exported: a person's wins over the model's.
        The one home of that rule, in Python and (below) in SQL."""
        return self.user_caption if self.user_caption is not None else self.caption

    @effective_caption.inplace.expression
    @classmethod
    def _effective_caption_sql(cls) -> ColumnElement[str]:
        return func.coalesce(cls.user_caption, cls.caption)

    @property
    def removed_tags(self) -> set[str]:
        return {tag.tag for tag in self.tags if tag.source == "hidden"}


class Tag(Base):
    """A keyword on a content: `auto` (from the caption), `user` (a person's, typed here), or `hidden` (a tag
    a person removed, remembered so that re-indexing does not bring it back, and hiding a file's keyword too).
    A file's own keywords are FileKeywords."""

    __tablename__ = "tags"
    content_id: Mapped[int] = mapped_column(ForeignKey("contents.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String, primary_key=True, index=True)
    source: Mapped[str]


def tags_sql(*sources: str) -> ScalarSelect[str]:
    """A content's tags of these sources, comma-joined, for a query that reads many rows."""
    return select(func.group_concat(Tag.tag, ",")).where(Tag.content_id == Content.id, Tag.source.in_(sources)).scalar_subquery()


def file_keywords_sql() -> ScalarSelect[str]:
    """A file's keywords that a person has not removed (on its content), comma-joined."""
    # Correlated to the outer query's file explicitly: two levels down, SQLAlchemy would add `files` to this FROM,
    # and a keyword removed from one photo would count as removed from every photo.
    removed = select(Tag.tag).where(Tag.content_id == File.content_id, Tag.source == "hidden").correlate(File)
    return (
        select(func.group_concat(FileKeyword.tag, ","))
        .where(FileKeyword.file_id == File.id, FileKeyword.tag.not_in(removed))
        .scalar_subquery()
    )


def joined_tags(*joined: str | None) -> list[str]:
    """Comma-joined tag lists (tags_sql, file_keywords_sql) as one sorted list: a word in both counts once."""
    return sorted({tag for part in joined if part for tag in part.split(",")})


class File(Base):
    """One path on disk: an image that was indexed, or one that failed (with the reason)."""

    __tablename__ = "files"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Paths and names as the disk has them, whatever their encoding (db/columns.py).
    path: Mapped[str] = mapped_column(PathText, unique=True)
    root: Mapped[str] = mapped_column(PathText, index=True)
    folder: Mapped[str] = mapped_column(PathText, index=True)
    name: Mapped[str] = mapped_column(PathText)
    ext: Mapped[str]
    size: Mapped[int]
    mtime_ns: Mapped[int] = mapped_column(Nanoseconds)
    content_id: Mapped[int | None] = mapped_column(ForeignKey("contents.id"), index=True)
    error: Mapped[str | None] = mapped_column(PathText)  # a reason may quote a file name
    indexed_at: Mapped[datetime]
    # Id of the last index run that saw this path on disk (mark-and-sweep).
    seen_run: Mapped[int] = mapped_column(Integer, default=0)
    # Change sequence of the last edit that the full-text index must reflect.
    ft_seq: Mapped[int] = mapped_column(Integer, default=0, index=True)
    # The sidecars read with the photo ("name\tsize\tmtime_ns" lines; "" for none). A sidecar added,
    # edited or deleted changes what the scan sees, and its metadata is read again without re-captioning.
    # NULL: metadata never read (a photo indexed before schema 4). Schema 4.
    sidecars: Mapped[str | None] = mapped_column(PathText)
    # why some metadata could not be read ("photo.xmp: not valid XML")
    metadata_problem: Mapped[str | None] = mapped_column(PathText)
    # What the file and its sidecars say (EXIF, IPTC, XMP), read at index time, never written back unless asked
    # (export-xmp); its keywords are FileKeywords. On the content before schema 6.
    taken_at: Mapped[datetime | None]
    # What is known of taken_at's time zone: "+02:00", "Z" (UTC), NULL (local time, zone unknown). Schema 7.
    taken_zone: Mapped[str | None]
    camera: Mapped[str | None]
    lens: Mapped[str | None]
    # Where it was taken (EXIF GPS) and the place's name, "Kyoto, Japan": typed in the file, else from the position.
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    place: Mapped[str | None]
    title: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[int | None]
    keyword_paths: Mapped[str | None] = mapped_column(Text)  # Lightroom/digiKam hierarchies, one per line

    content: Mapped[Content | None] = relationship(back_populates="files")
    keywords: Mapped[list[FileKeyword]] = relationship(cascade="all, delete-orphan", passive_deletes=True)

    @property
    def file_tags(self) -> list[str]:
        """The file's keywords that a person has not removed."""
        removed = self.content.removed_tags if self.content is not None else set()
        return sorted(keyword.tag for keyword in self.keywords if keyword.tag not in removed)

    @property
    def visible_tags(self) -> list[str]:
        """Its content's tags (from the caption, and a person's) and its own keywords, less those removed."""
        own = [tag.tag for tag in self.content.tags if tag.source in ("auto", "user")] if self.content is not None else []
        return sorted({*own, *self.file_tags})


class FileKeyword(Base):
    """A keyword in a file's IPTC/XMP or its sidecar: a tag of that file (not of its byte-identical copies)."""

    __tablename__ = "file_keywords"
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String, primary_key=True, index=True)


class FulltextDelete(Base):
    """A file removed from the DB whose full-text document has not been deleted yet."""

    __tablename__ = "fulltext_deletes"
    file_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, index=True)


class Pending(Base):
    """Work found by the scan of the current run: files to hash, decode and maybe caption."""

    __tablename__ = "pending"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(PathText, unique=True)
    root: Mapped[str] = mapped_column(PathText)
    size: Mapped[int]
    mtime_ns: Mapped[int] = mapped_column(Nanoseconds)
    sidecars: Mapped[str] = mapped_column(PathText, default="")
    # The photo's bytes are unchanged: only its metadata (sidecars) is read again, nothing is hashed.
    metadata_only: Mapped[bool] = mapped_column(default=False)


class SkippedFile(Base):
    """A file in a photo folder that captionary does not read (a video, a PSD), seen by the last scan of its
    root: named in the index summary and in `stats`, never silently left out. Schema 7."""

    __tablename__ = "skipped_files"
    path: Mapped[str] = mapped_column(PathText, primary_key=True)  # any name, as files.path (db/columns.py)
    root: Mapped[str] = mapped_column(PathText, index=True)
    kind: Mapped[str]  # "video", "not a photo type" (db/formats.py)


class Root(Base):
    """A folder the user asked to index."""

    __tablename__ = "roots"
    path: Mapped[str] = mapped_column(PathText, primary_key=True)
    added_at: Mapped[datetime]
    last_indexed_at: Mapped[datetime | None]
    # "st_dev:st_ino" of the folder when last indexed: a folder renamed or moved on its disk keeps both, so a root
    # that is gone can be told renamed from unplugged (indexer/missing_roots.py). NULL: not indexed since schema 8.
    identity: Mapped[str | None]


Index("ix_files_root_seen", File.root, File.seen_run)
