"""Indexing: decide what is new, changed or gone, feed decoded batches to the captioner, commit."""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol, TypeVar

from filelock import FileLock, Timeout
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.orm import selectinload

from db.errors import CaptionaryError, IndexLockedError, ModelLoadError
from db.models import Content, File, Meta, Pending, Root, Tag
from db.store import Store, thumbnail_path, utcnow
from indexer.caption import CaptionModel, resolve_model_id
from indexer.crawl import crawl, extension, is_excluded_below, normalize_root
from indexer.imaging import (
    MAX_PHOTO_BYTES,
    THUMBNAIL_SIDE,
    ImageReadError,
    PhotoInfo,
    open_photo,
    open_regular,
    read_and_hash,
    save_thumbnail,
)

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

T = TypeVar("T")
R = TypeVar("R")

LOCK_NAME = "index.lock"
SCAN_COMMIT_EVERY = 2000  # files marked seen per scan transaction
FULLTEXT_SYNC_SECONDS = 2.0  # search sees new captions within about this long
PREFETCH_BATCHES = 3  # keep this many batches decoded ahead of the model


class Progress(Protocol):
    def scanned(self, files: int) -> None: ...
    def loading(self, model_id: str) -> None: ...
    def start(self, total: int) -> None: ...
    def advance(self, count: int) -> None: ...


class NoProgress:
    def scanned(self, files: int) -> None:
        pass

    def loading(self, model_id: str) -> None:
        pass

    def start(self, total: int) -> None:
        pass

    def advance(self, count: int) -> None:
        pass


@dataclass
class IndexOptions:
    model: str | None = None
    batch_size: int | None = None
    device: str = "auto"
    workers: int | None = None
    threads: int | None = None
    excludes: Sequence[str] = ()
    follow_symlinks: bool = False
    allow_removal: bool = False  # remove files even when most of a root is gone (else held back)
    recaption: bool = False
    thumbnails: bool = True
    embeddings: bool = True  # embed captions for semantic search, in the same batches
    embedder: str | None = None


@dataclass
class IndexReport:
    captioned: int = 0
    unchanged: int = 0
    reused: int = 0  # moved, renamed, duplicated or touched files: no model call
    failed: int = 0
    removed: int = 0
    other_model: int = 0
    seconds: float = 0.0
    decode_seconds: float = 0.0
    model_seconds: float = 0.0
    store_seconds: float = 0.0
    embedded: int = 0
    embed_seconds: float = 0.0
    unreadable_folders: list[str] = field(default_factory=list)
    held_back: list[tuple[str, int, int]] = field(default_factory=list)  # (root, gone, known): not removed
    failures: list[tuple[str, str]] = field(default_factory=list)  # (path, reason) of this run's failures

    @property
    def processed(self) -> int:
        return self.captioned + self.reused + self.failed

    @property
    def images_per_second(self) -> float:
        return self.processed / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        line = (f"{self.captioned} captioned, {self.unchanged} unchanged, {self.reused} reused, "
                f"{self.failed} failed, {self.removed} removed in {self.seconds:.1f}s")
        if self.processed:
            line += (f" ({self.images_per_second:.1f} images/s; decode {self.decode_seconds:.1f}s, "
                     f"model {self.model_seconds:.1f}s, store {self.store_seconds:.1f}s, "
                     f"embed {self.embed_seconds:.1f}s)")
        if self.other_model:
            line += f"; {self.other_model} captions are from another model (--recaption to redo them)"
        return line


@dataclass
class Prepared:
    """A pending file after a worker read it: reusable by hash, decoded for the model, or failed."""

    path: str
    root: str
    size: int
    mtime_ns: int
    content_hash: str = ""  # "" until a worker has hashed the bytes
    image: Image.Image | None = None
    info: PhotoInfo | None = None
    error: str | None = None
    vanished: bool = False
    caption: str | None = None
    decode_seconds: float = 0.0


def default_split(device: str, cores: int | None = None) -> tuple[int, int]:
    """(decode workers, torch threads): on a CPU they share the cores, so neither gets all of them."""
    cores = cores or os.cpu_count() or 1
    if device == "cpu":
        workers = max(1, min(4, cores // 2))
        return workers, max(1, cores - workers)
    return max(2, min(8, cores)), max(1, min(4, cores))


def ordered_prefetch(function: Callable[[T], R], items: Iterable[T], pool: ThreadPoolExecutor,
                     ahead: int) -> Iterator[R]:
    """Map in a thread pool, yielding in input order with at most `ahead` items in flight.

    The bound is what keeps memory flat: decoded photos never pile up faster than the
    model consumes them, however large the collection.
    """
    window: deque[Future[R]] = deque()
    for item in items:
        window.append(pool.submit(function, item))
        if len(window) >= ahead:
            yield window.popleft().result()
    while window:
        yield window.popleft().result()


class Indexer:
    """One index run over some roots; `run()` does it all under the data dir's writer lock."""

    def __init__(self, store: Store, roots: Sequence[str | Path], options: IndexOptions,
                 captioner_factory: Callable[[IndexOptions], CaptionModel],
                 progress: Progress | None = None) -> None:
        self.store = store
        self.roots = [normalize_root(root) for root in roots]
        self.options = options
        self.model_id = resolve_model_id(options.model)
        self.captioner_factory = captioner_factory
        self.progress = progress or NoProgress()
        self.report = IndexReport()
        self._captioner: CaptionModel | None = None
        self._local = threading.local()

    # -- entry point ---------------------------------------------------------------------------

    def run(self) -> IndexReport:
        for root in self.roots:
            if not os.path.isdir(root):
                raise CaptionaryError(f"{root} is not a folder (is the disk mounted?); nothing was changed")
        lock = FileLock(str(self.store.data_dir / LOCK_NAME))
        try:
            # An OS-level lock: released by the kernel even when the indexer is killed with -9.
            lock.acquire(timeout=0)
        except Timeout:
            raise IndexLockedError(
                f"Another 'captionary index' is already running on {self.store.data_dir}; "
                "wait for it to finish (search keeps working meanwhile)") from None
        started = time.perf_counter()
        try:
            # A previous run may have been killed after committing rows but before Whoosh saw them.
            self.store.sync_fulltext()
            run_id = self._begin_run()
            for root in self.roots:
                self._scan_root(root, run_id)
            if self.options.recaption:
                self._queue_recaptions()
            try:
                self._process_pending(run_id)
            except ModelLoadError:
                self._forget_roots_never_indexed()
                raise
            self._embed()  # leftovers: a new embedder, or a run killed before it embedded
            with self.store.sessions.begin() as session:
                self.store.collect_orphan_contents(session)
                for root in self.roots:
                    known = session.get(Root, root)
                    if known is not None:  # added by _begin_run; `forget` from another process may drop it
                        known.last_indexed_at = utcnow()
            self.store.sync_fulltext()
            self.report.other_model = self._count_other_model()
        finally:
            self.report.seconds = time.perf_counter() - started
            lock.release()
        return self.report

    def _forget_roots_never_indexed(self) -> None:
        """A first run that could not load its model leaves no empty root behind in `stats`."""
        with self.store.sessions.begin() as session:
            for root in self.roots:
                known = session.get(Root, root)
                has_files = session.scalar(select(File.id).where(File.root == root).limit(1)) is not None
                if known is not None and known.last_indexed_at is None and not has_files:
                    session.delete(known)
            session.execute(delete(Pending))

    def _begin_run(self) -> int:
        with self.store.sessions.begin() as session:
            previous = session.get(Meta, "run")
            run_id = int(previous.value) + 1 if previous is not None else 1
            session.merge(Meta(key="run", value=str(run_id)))
            for root in self.roots:
                if session.get(Root, root) is None:
                    session.add(Root(path=root, added_at=utcnow(), last_indexed_at=None))
            # Pending work is recomputed from the disk on every run; a killed run's list is stale.
            session.execute(delete(Pending))
        return run_id

    # -- scan: stat every file, compare with the DB, mark what is seen, queue what changed ----

    def _scan_root(self, root: str, run_id: int) -> None:
        unreadable: list[str] = []

        def remember_error(path: str, error: OSError) -> None:
            if os.path.isdir(path) or path not in unreadable:
                unreadable.append(path)

        session = self.store.sessions()
        try:
            session.begin()
            since_commit = 0
            for folder, records in crawl(root, self.options.excludes, self.options.follow_symlinks, remember_error,
                                         skip=[self.store.data_dir]):
                known = {
                    path: (file_id, size, mtime_ns)
                    for file_id, path, size, mtime_ns in session.execute(
                        select(File.id, File.path, File.size, File.mtime_ns).where(File.folder == folder))
                }
                seen_ids: list[int] = []
                new_pending: list[dict] = []
                for record in records:
                    existing = known.get(record.path)
                    if existing is not None:
                        seen_ids.append(existing[0])
                        if (existing[1], existing[2]) == (record.size, record.mtime_ns):
                            self.report.unchanged += 1  # a stat, nothing more
                            continue
                    new_pending.append({"path": record.path, "root": root, "size": record.size,
                                        "mtime_ns": record.mtime_ns})
                if seen_ids:
                    session.execute(update(File).where(File.id.in_(seen_ids)).values(seen_run=run_id))
                if new_pending:
                    session.execute(insert(Pending).prefix_with("OR IGNORE"), new_pending)
                since_commit += len(records)
                self.progress.scanned(len(records))
                self.store.checkpoint("scan")
                if since_commit >= SCAN_COMMIT_EVERY:
                    session.commit()
                    session.begin()
                    since_commit = 0
            session.commit()
            self.report.unreadable_folders.extend(unreadable)
            self._sweep(session, root, run_id, unreadable)
        finally:
            session.close()

    def _sweep(self, session, root: str, run_id: int, unreadable: Sequence[str]) -> None:
        """Delete rows under this root that the scan did not see: those files are gone."""
        with session.begin():
            candidates = session.execute(
                select(File.id, File.path).where(
                    File.path.startswith(root.rstrip(os.sep) + os.sep, autoescape=True), File.seen_run != run_id))
            # A folder we could not read is not evidence that its photos are gone.
            protected = tuple(folder.rstrip(os.sep) + os.sep for folder in unreadable)
            gone_paths = [(file_id, path) for file_id, path in candidates
                          if not (protected and path.startswith(protected))]
            gone = [file_id for file_id, _ in gone_paths]
            # Files the person excluded are removed as asked; only the others can mean an unmounted disk.
            vanished = sum(not is_excluded_below(path, root, self.options.excludes) for _, path in gone_paths)
            known = session.scalar(select(func.count()).select_from(File).where(File.root == root)) or 0
            if vanished and vanished > known * MASS_REMOVAL_SHARE and not self.options.allow_removal:
                # An unmounted disk is an empty folder: losing most of a root is held back until asked for.
                self.report.held_back.append((root, vanished, known))
                return
            if gone:
                self.store.delete_files(session, self.store.next_seq(session), gone)
            self.report.removed += len(gone)

    def _queue_recaptions(self) -> None:
        """One file per content whose automatic caption came from another model (never a person's)."""
        with self.store.sessions.begin() as session:
            first_file = (
                select(func.min(File.id)).join(Content, File.content_id == Content.id)
                .where(Content.model != self.model_id, Content.user_caption.is_(None))
                .group_by(Content.id)
            )
            rows = session.execute(select(File.path, File.root, File.size, File.mtime_ns).where(File.id.in_(first_file)))
            values = [{"path": p, "root": r, "size": s, "mtime_ns": m} for p, r, s, m in rows]
            if values:
                session.execute(insert(Pending).prefix_with("OR IGNORE"), values)

    def _count_other_model(self) -> int:
        with self.store.sessions() as session:
            return session.scalar(
                select(func.count()).select_from(File).join(Content, File.content_id == Content.id)
                .where(Content.model != self.model_id, Content.user_caption.is_(None))) or 0

    # -- process: hash and decode in workers, caption in batches, commit --------------------------

    def _pending(self) -> Iterator[Pending]:
        """Stream the queue in id order without holding a cursor open across commits."""
        last_id = 0
        while True:
            with self.store.sessions() as session:
                chunk = list(session.scalars(select(Pending).where(Pending.id > last_id).order_by(Pending.id).limit(500)))
            if not chunk:
                return
            yield from chunk
            last_id = chunk[-1].id

    def _captioner_ready(self) -> CaptionModel:
        # The model loads only once there is something to caption: an unchanged tree never pays for it.
        if self._captioner is None:
            self.progress.loading(self.model_id)
            self._captioner = self.captioner_factory(self.options)
        return self._captioner

    def _process_pending(self, run_id: int) -> None:
        with self.store.sessions() as session:
            total = session.scalar(select(func.count()).select_from(Pending)) or 0
        self.progress.start(total)
        if not total:
            return
        captioner = self._captioner_ready()
        batch_size = self.options.batch_size or 8
        workers = self.options.workers or default_split(getattr(captioner, "device", "cpu"))[0]
        self._min_side = max(captioner.input_side, THUMBNAIL_SIDE if self.options.thumbnails else 0)
        to_model: list[Prepared] = []
        to_write: list[Prepared] = []
        # Byte-identical files met while their twin waits for the model: captioned once, written after it.
        followers: dict[str, list[Prepared]] = {}
        window = batch_size * PREFETCH_BATCHES
        # Hashes captioned lately: a worker may have looked them up just before their commit.
        recent: OrderedDict[str, None] = OrderedDict()
        last_sync = time.perf_counter()

        def caption_waiting() -> None:
            for item in self._caption(captioner, to_model):
                to_write.append(item)
                to_write.extend(followers.pop(item.content_hash, []))
                recent[item.content_hash] = None
            while len(recent) > 4 * window:
                recent.popitem(last=False)
            to_model.clear()

        # Decode runs in worker threads (Pillow and hashlib release the GIL) a few batches ahead of
        # the model, so the model does not wait on the disk; the window bounds memory.
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="decode") as pool:
            for prepared in ordered_prefetch(self._prepare, self._pending(), pool, window):
                self.report.decode_seconds += prepared.decode_seconds
                if prepared.image is None:
                    to_write.append(prepared)
                elif prepared.content_hash in recent:
                    prepared.image = None  # its twin is captioned and written (or queued) already
                    to_write.append(prepared)
                elif prepared.content_hash in followers:
                    prepared.image = None
                    followers[prepared.content_hash].append(prepared)
                else:
                    followers[prepared.content_hash] = []
                    to_model.append(prepared)
                if len(to_model) >= batch_size:
                    caption_waiting()
                if len(to_write) >= batch_size:
                    written = self._write(to_write, run_id)
                    to_write.clear()
                    self._embed(written)  # the captions just written, in one batch
                    if time.perf_counter() - last_sync >= FULLTEXT_SYNC_SECONDS:
                        self._sync()
                        last_sync = time.perf_counter()
            caption_waiting()
            if to_write:
                self._embed(self._write(to_write, run_id))

    def _embed(self, content_ids: Sequence[int] | None = None) -> None:
        """Embed the given contents' captions, or (None) every caption without a current embedding.

        During a run only the batch just written is named: looking for "any caption without an
        embedding" scans the whole contents table (50 ms at 100k photos), once per batch."""
        if self.options.embeddings and (content_ids is None or content_ids):
            started = time.perf_counter()
            self.report.embedded += self.store.embed_pending(content_ids=content_ids)
            self.report.embed_seconds += time.perf_counter() - started

    def _sync(self) -> None:
        started = time.perf_counter()
        self.store.sync_fulltext()
        self.report.store_seconds += time.perf_counter() - started

    def _content_lookup(self, content_hash: str) -> tuple[str, bool] | None:
        """(model, edited by a person) for a known content, from a worker thread's own connection."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self.store.engine.connect()
        row = connection.execute(
            text("SELECT model, user_caption IS NOT NULL FROM contents WHERE hash = :hash"),
            {"hash": content_hash}).first()
        connection.rollback()  # end the read transaction so the WAL can be checkpointed
        return (row[0], bool(row[1])) if row else None

    def _prepare(self, pending: Pending) -> Prepared:
        started = time.perf_counter()
        item = Prepared(pending.path, pending.root, pending.size, pending.mtime_ns)
        try:
            with open_regular(pending.path, self.options.follow_symlinks) as (handle, stat):
                # Record the stat of the bytes we actually read, so a file written meanwhile is redone next time.
                item.size, item.mtime_ns = stat.st_size, stat.st_mtime_ns
                if stat.st_size > MAX_PHOTO_BYTES:
                    raise ImageReadError(f"too large ({stat.st_size} bytes; limit {MAX_PHOTO_BYTES})")
                item.content_hash, source = read_and_hash(handle, stat.st_size)
                known = self._content_lookup(item.content_hash)
                needs_caption = known is None or (
                    self.options.recaption and not known[1] and known[0] != self.model_id)
                if needs_caption:
                    self._decode(item, source)
        except FileNotFoundError:
            item.vanished = True  # deleted since the scan; the next run's sweep settles it
        except ImageReadError as error:
            item.error = str(error)
            item.image = None
        except OSError as error:
            item.error = f"cannot read: {error.strerror or error}"
        item.decode_seconds = time.perf_counter() - started
        return item

    def _decode(self, item: Prepared, source: bytes | BinaryIO) -> None:
        """Decode once for the model and the app's thumbnail (the same decode makes both)."""
        decoded = open_photo(source, self._min_side)
        item.info = decoded.info
        item.image = decoded.image
        if self.options.thumbnails:
            target = thumbnail_path(self.store.thumbnail_dir, item.content_hash)
            if not target.exists():
                try:
                    save_thumbnail(item.image, target)
                except OSError:
                    pass  # a thumbnail is a cache; the app makes it on first view instead
        assert self._captioner is not None  # loaded before any file is prepared
        item.image = _reduce_for_model(item.image, self._captioner.input_side)

    def _caption(self, captioner: CaptionModel, batch: list[Prepared]) -> list[Prepared]:
        if not batch:
            return []
        started = time.perf_counter()
        images = [item.image for item in batch if item.image is not None]
        assert len(images) == len(batch)  # only decoded items are sent to the model
        captions = captioner.caption(images)
        self.report.model_seconds += time.perf_counter() - started
        for item, caption in zip(batch, captions):
            item.caption = caption
            item.image = None  # free the pixels as soon as the model is done with them
        self.store.checkpoint("caption")
        return batch

    def _write(self, batch: list[Prepared], run_id: int) -> list[int]:
        """Commit one batch atomically (a crash loses at most the batch in flight); returns the ids of
        the contents whose caption it wrote."""
        started = time.perf_counter()
        now = utcnow()
        with self.store.sessions.begin() as session:
            seq = self.store.next_seq(session)
            captioned: list[Content] = []  # new contents, and contents re-captioned by this model
            # Two lookups for the whole batch, not two per photo.
            paths = [item.path for item in batch]
            files = {file.path: file for file in session.scalars(
                select(File).options(selectinload(File.content).selectinload(Content.tags))
                .where(File.path.in_(paths)))}
            hashes = {item.content_hash for item in batch if item.error is None and not item.vanished}
            contents = {content.hash: content for content in session.scalars(
                select(Content).where(Content.hash.in_(hashes)))}
            for item in batch:
                if item.vanished:
                    continue  # deleted since the scan; the next run's sweep settles it
                file = files.get(item.path)
                previous_content = file.content if file is not None else None
                content = None
                if item.error is None:
                    content = contents.get(item.content_hash)
                    if content is None:
                        assert item.info is not None  # bytes no content has yet were decoded in this run
                        content = Content(
                            hash=item.content_hash, width=item.info.width, height=item.info.height,
                            format=item.info.format, taken_at=item.info.taken_at, camera=item.info.camera,
                            caption=item.caption, model=self.model_id, captioned_at=now)
                        # A person's caption follows the path when the photo's bytes are edited.
                        if previous_content is not None and previous_content.user_caption is not None:
                            content.user_caption = previous_content.user_caption
                            content.edited_at = previous_content.edited_at
                        if previous_content is not None:  # and so do their tag edits
                            content.tags = [Tag(tag=tag.tag, source=tag.source)
                                            for tag in previous_content.tags if tag.source != "auto"]
                        self.store.set_auto_tags(content)
                        session.add(content)
                        contents[content.hash] = content  # a twin later in this batch reuses it
                        captioned.append(content)
                        self.report.captioned += 1
                    elif item.caption is not None and content.model != self.model_id and content.user_caption is None:
                        content.caption, content.model, content.captioned_at = item.caption, self.model_id, now
                        content.embedding = None
                        self.store.set_auto_tags(content)
                        captioned.append(content)
                        self.report.captioned += 1
                    else:
                        self.report.reused += 1
                else:
                    self.report.failed += 1
                    self.report.failures.append((item.path, item.error or "unreadable"))
                if file is None:
                    file = files[item.path] = File(path=item.path)
                    session.add(file)
                file.root = item.root
                file.folder = os.path.dirname(item.path)
                file.name = os.path.basename(item.path)
                file.ext = extension(item.path)
                file.size = item.size
                file.mtime_ns = item.mtime_ns
                file.content = content
                file.error = item.error
                file.indexed_at = now
                file.seen_run = run_id
                file.ft_seq = seq
            session.execute(delete(Pending).where(Pending.path.in_(paths)))
            session.flush()
            written = [content.id for content in captioned]
            # Other paths with a re-captioned content show the new caption too.
            self.store.mark_files_changed(session, seq, content_ids=written)
            self.store.checkpoint("commit")
        self.report.store_seconds += time.perf_counter() - started
        self.progress.advance(len(batch))
        return written


MASS_REMOVAL_SHARE = 0.5  # a run that would remove more than this share of a root's photos removes none


def _reduce_for_model(image: Image.Image, side: int) -> Image.Image:
    """Shrink so the shorter side is about `side`; the processor's own resize is then cheap."""
    from PIL import Image as PILImage

    shorter = min(image.size)
    if shorter <= side * 1.5:
        return image
    scale = side / shorter
    return image.resize((max(side, round(image.width * scale)), max(side, round(image.height * scale))),
                        PILImage.Resampling.BILINEAR)


def index_roots(store: Store, roots: Sequence[str | Path], options: IndexOptions,
                captioner_factory: Callable[[IndexOptions], CaptionModel] | None = None,
                progress: Progress | None = None) -> IndexReport:
    """Index the roots into the store: the one function the CLI and the app call."""
    if options.embeddings and store.embedder_id is None:
        # Captions are embedded where they are captioned: on the GPU when there is one.
        enable_embeddings(store, options.embedder, options.threads, options.device)
    return Indexer(store, roots, options, captioner_factory or load_captioner, progress).run()


def enable_embeddings(store: Store, embedder: str | None = None, threads: int | None = None,
                      device: str = "cpu", queries: bool = False) -> None:
    """Let the store embed captions and answer semantic queries; the model loads on first need.

    queries=True is for front ends that embed one text at a time (a search, an edited caption): a
    BERT sentence model such as the default then runs in numpy, and torch is never imported."""
    from indexer.caption import embedder_location, resolve_embedder_id

    embedder_id = resolve_embedder_id(embedder)

    def load():
        from indexer import query_encoder

        location = embedder_location(embedder_id)
        if queries and query_encoder.supports(location):
            return query_encoder.NumpyQueryEncoder(embedder_id, location)
        from indexer.caption import Embedder

        return Embedder(embedder_id, device=device, threads=threads)

    store.use_embedder(embedder_id, load)


def load_captioner(options: IndexOptions) -> CaptionModel:
    """Load the configured model with a deliberate split of the cores between torch and decoding."""
    from indexer.caption import DEFAULT_BATCH_SIZE, Captioner, pick_device

    device = pick_device(options.device)
    workers, threads = default_split(device)
    options.workers = options.workers or workers
    options.batch_size = options.batch_size or DEFAULT_BATCH_SIZE[device]
    return Captioner(options.model, device=device, threads=options.threads or threads)


# -- captioning files and URLs without storing anything (`captionary caption`) -----------------------


@dataclass(frozen=True)
class CaptionResult:
    image: str
    caption: str | None = None
    error: str | None = None


def caption_sources(sources: Sequence[str], captioner: CaptionModel, batch_size: int = 8,
                    fetch: Callable[[str], bytes] | None = None) -> list[CaptionResult]:
    """Caption files or http(s) URLs in batches; a source that fails gets its error, the rest go on."""
    from indexer.fetch import fetch_url

    fetch = fetch or fetch_url
    results: dict[int, CaptionResult] = {}
    batch: list[tuple[int, Image.Image]] = []

    def flush() -> None:
        captions = captioner.caption([image for _, image in batch])
        for (position, _), caption in zip(batch, captions):
            results[position] = CaptionResult(sources[position], caption=caption)
        batch.clear()

    for position, source in enumerate(sources):
        try:
            if source.startswith(("http://", "https://")):
                data: bytes | str = fetch(source)
            else:
                data = source
                if not os.path.isfile(source):
                    raise ImageReadError("no such file")
            batch.append((position, open_photo(data, captioner.input_side).image))
        except ImageReadError as error:
            results[position] = CaptionResult(source, error=str(error))
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return [results[position] for position in range(len(sources))]
