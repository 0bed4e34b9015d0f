"""The Whoosh index in the data dir, derived from the catalog: create, write, and search it."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh.filedb.filestore import FileStorage
from whoosh.index import LockError

from db import documents, query_masks
from db.documents import CAPTION_PAIRS, DEFAULT_FIELDS, FORMAT, FulltextDoc, document_fields, make_schema
from db.errors import CaptionaryError, DamagedIndexError, DiskFullError, QueryError, disk_full
from db.filters import filter_query, words_query
from db.fulltext_swap import building_beside, swapped_in, sweep_leftovers, writer_lock
from db.index_columns import Columns
from db.query import ParsedQuery, bound_expansions, negations_as_exclusions, with_word_pairs
from db.types import Filters, Sort

# Whoosh pickles the schema into the index, analyzers and all: indexes written before the full-text code
# was split name this module for the word-pair filter, and must still open without a rebuild.
WordPairs = documents.WordPairs

INDEX_ID_FILE = "captionary-index-id"


# Holds db/documents.py's FORMAT of the documents written; another value makes the next sync rebuild.
FORMAT_FILE = "captionary-format"
ADMITTED_KEPT = 8  # filters whose documents are kept as masks (a byte a document each: 100 KB at 100,000 photos)


WRITER_LIMIT_MB = 16


SEARCHER_POOL = 4  # open searchers kept for reuse (one per concurrent search)


class FulltextIndex:
    """The Whoosh index in the data dir; a disposable cache of the DB that can always be rebuilt."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.schema = make_schema()
        self._index: whoosh_index.Index | None = None
        self._opened_id: str | None = None  # the identity of the index self._index reads
        self._format_checked: tuple[str | None, bool] = ("", False)  # (identity, whether it is current)
        self._lock = threading.Lock()
        self._idle_searchers: list = []
        self._columns: tuple[tuple, Columns] | None = None  # (index generation, its columns)
        self._admitted_for: Columns | None = None  # the generation (its columns) the filters' masks are of
        self._admitted_masks: dict[str, np.ndarray] = {}

    def index_id(self) -> str | None:
        """Identity of the on-disk index; a new one means the DB must resend every document."""
        marker_id = self._marker_id()
        if marker_id is None:
            return None
        if self._index is not None and marker_id != self._opened_id:
            self.close()  # another process rebuilt it: searchers and columns describe the old one
        if self._index is None:
            try:
                self._index = whoosh_index.open_dir(str(self.directory))
            except Exception:
                return None  # unreadable (e.g. killed mid-creation): treat as missing
            self._opened_id = marker_id
        return marker_id

    def is_current(self) -> bool:
        """Whether the on-disk index is this version's (an older one is rebuilt by the next sync).

        Read once per opened index, not on every search: an index changes format only when rebuilt,
        and a rebuild gives it a new identity (or, in this process, closes it first)."""
        index = self.index
        if self._format_checked[0] != self._opened_id:
            try:
                written_format = (self.directory / FORMAT_FILE).read_text().strip()
            except OSError:
                written_format = ""
            self._format_checked = (self._opened_id, CAPTION_PAIRS in index.schema and written_format == FORMAT)
        return self._format_checked[1]

    @staticmethod
    def _executable(query: wq.Query, searcher) -> wq.Query:
        bound_expansions(query, searcher.reader())
        # An index from before the word-pair field still answers phrases, Whoosh's slower way.
        query = negations_as_exclusions(query)
        return with_word_pairs(query) if CAPTION_PAIRS in searcher.schema else query

    def rebuild(self, fill: Callable[[Any], None], adopt: Callable[[str], None], wait: float) -> str:
        """A new index holding what `fill` writes, put in place of the old one in one step once `adopt` has noted its
        identity (db/fulltext_swap.py). Searches answer from the old index meanwhile, and a rebuild that fails
        leaves it as it was. BusyError while another process writes to the old one for longer than `wait`."""
        self.close()
        new_id = uuid.uuid4().hex
        # Rebuilds one at a time first, then the index that is current once this one's turn has come.
        with building_beside(self.directory, wait) as building, writer_lock(self.directory, wait):
            with self.damage_named():
                writer = FileStorage(str(building), supports_mmap=False).create_index(self.schema).writer(limitmb=WRITER_LIMIT_MB)
            try:
                fill(writer)
                self.commit(writer)
            except BaseException:
                writer.cancel()
                raise
            with self.damage_named():
                (building / FORMAT_FILE).write_text(FORMAT)
                (building / INDEX_ID_FILE).write_text(new_id)
                with swapped_in(building, self.directory):
                    adopt(new_id)
        self.close()
        return new_id

    def sweep(self) -> None:
        sweep_leftovers(self.directory)

    @contextmanager
    def damage_named(self) -> Iterator[None]:
        """Whatever reading or writing the index raises, but a query's own error, means the index is damaged
        (garbage in a segment fails in any of dozens of ways); a full disk is said as such."""
        try:
            yield
        except (CaptionaryError, LockError):
            raise
        except Exception as error:
            if disk_full(error, self.directory.parent):
                raise DiskFullError(
                    f"The disk holding the search index at {self.directory} is full ({error}): free some space, "
                    "then run the command again"
                ) from error
            raise DamagedIndexError(self.directory, error) from error

    def close(self) -> None:
        self._format_checked = ("", False)  # an index opened again is checked again
        with self._lock:
            idle, self._idle_searchers, self._columns = self._idle_searchers, [], None
        for searcher in idle:
            searcher.close()
        if self._index is not None:
            self._index.close()
            self._index = None

    @contextmanager
    def searcher(self):
        """A searcher kept open while the index is unchanged, lent to one caller at a time.

        Opening one is not free on a large index, and Streamlit runs every rerun on a new thread, so
        searchers live in a small pool rather than per thread; they are never used by two threads at once."""
        with self._lock:
            searcher = self._idle_searchers.pop() if self._idle_searchers else None
        if searcher is not None and not searcher.up_to_date():
            # Not Searcher.refresh(): it reuses the reader of every segment whose id is unchanged, and a
            # reused reader keeps that segment's old deletions, so an updated document counted twice.
            searcher.close()
            searcher = None
        whole = False  # a searcher that failed part-way may be reading a damaged segment: not lent again
        try:
            with self.damage_named():
                if searcher is None:
                    searcher = self.index.searcher()
                yield searcher
            whole = True
        finally:
            with self._lock:
                keep = whole and len(self._idle_searchers) < SEARCHER_POOL
                if keep:
                    self._idle_searchers.append(searcher)
            if not keep and searcher is not None:
                searcher.close()

    @property
    def index(self) -> whoosh_index.Index:
        if self._index is None:
            self._opened_id = self._marker_id()
            self._index = whoosh_index.open_dir(str(self.directory))
        return self._index

    def _marker_id(self) -> str | None:
        try:
            return (self.directory / INDEX_ID_FILE).read_text().strip()
        except OSError:
            return None

    def writer(self, timeout: float):
        """Whoosh's writer holds an OS file lock, released even if the process is killed.

        Each writer gets its own index object over plain file reads (no mmap), dropped after its
        commit, and limitmb caps the postings it buffers (merges included) before spilling to disk:
        with a shared memory-mapped index object, the indexer's RSS grew with every commit
        (docs/performance.md: bench/throughput.py --sweep)."""
        storage = FileStorage(str(self.directory), supports_mmap=False)
        try:
            with self.damage_named():
                return storage.open_index(schema=self.schema).writer(timeout=timeout, limitmb=WRITER_LIMIT_MB)
        except LockError:
            return None

    def apply(self, writer, docs: Iterable[FulltextDoc], deleted_ids: Iterable[int]) -> None:
        for doc in docs:  # read from the catalog: its errors are its own
            with self.damage_named():
                writer.update_document(**document_fields(doc))
        with self.damage_named():
            for file_id in deleted_ids:
                writer.delete_by_term("id", str(file_id))

    def commit(self, writer) -> None:
        with self.damage_named():  # a commit merges segments: it reads the old ones
            writer.commit()

    def all_ids(self) -> Iterator[int]:
        """Every document's id as stored: what `check` trusts, not the fid column searches use."""
        with self.searcher() as searcher:
            for fields in searcher.all_stored_fields():
                yield int(fields["id"])

    def columns(self, searcher) -> Columns:
        """The day, file id and liveness of every document, read once per index generation (shared by
        all threads: a generation never changes).

        With them a date range is an array comparison, and browsing by date an array sort, where
        Whoosh unions the posting lists of a numeric range's terms and sorts in Python on every query; the
        columns are read once per change of the index (bench/search_latency.py times date-range queries)."""
        reader = searcher.reader()
        # Segment ids too: an index rebuilt by another process starts its generations again.
        generation = (reader.generation(), tuple(leaf.segment().segment_id() for leaf, _ in reader.leaf_readers()))
        with self._lock:
            cached = self._columns
        if cached is None or cached[0] != generation:
            count = reader.doc_count_all()
            live = np.ones(count, dtype=bool)
            if reader.has_deletions():
                live[:] = False
                live[np.fromiter(reader.all_doc_ids(), dtype=np.int64)] = True
            columns = Columns(
                day=np.fromiter(reader.column_reader("day"), dtype=np.int64, count=count),
                fid=np.fromiter(reader.column_reader("fid"), dtype=np.int64, count=count),
                live=live,
                moment=np.fromiter(reader.column_reader("moment"), dtype=np.int64, count=count),
            )
            cached = (generation, columns)
            with self._lock:
                self._columns = cached
        return cached[1]

    def _date_mask(self, searcher, filters: Filters) -> np.ndarray:
        """The documents the filters' dates admit (a holiday's days, or its words where the library holds them)."""
        columns = self.columns(searcher)

        def holding(words: str) -> np.ndarray:
            held = np.zeros(len(columns.day), dtype=bool)
            held[np.fromiter(searcher.docs_for_query(words_query(words)), dtype=np.int64)] = True
            return held

        return columns.date_mask(filters, holding)

    def _candidates(self, searcher, query: wq.Query | None, filters: Filters) -> np.ndarray:
        """Docnums that the query (None: every document) and all the filters admit, unscored."""
        narrowing = filter_query(filters)
        if query is None and narrowing is None:
            return np.flatnonzero(self._date_mask(searcher, filters))
        if query is None:
            docnums = np.flatnonzero(self._admitted(searcher, narrowing))
        else:
            docnums = np.flatnonzero(query_masks.admitted(searcher, query, self.columns(searcher).live))
            if narrowing is not None:
                docnums = docnums[self._admitted(searcher, narrowing)[docnums]]
        if filters.has_dates():
            docnums = docnums[self._date_mask(searcher, filters)[docnums]]
        return docnums

    def _admitted(self, searcher, narrowing: wq.Query) -> np.ndarray:
        """Which documents a filter admits, kept for the index generation: paging, and the counts of each page,
        ask again for the same folder or file type, and intersecting the query with it in Whoosh stepped
        through every document it admits (all of them for ext:jpg)."""
        generation = self.columns(searcher)  # a new object for each generation of the index
        key = repr(narrowing)
        with self._lock:
            if self._admitted_for is not generation:
                self._admitted_for, self._admitted_masks = generation, {}
            mask = self._admitted_masks.get(key)
        if mask is None:
            mask = query_masks.admitted(searcher, narrowing, generation.live)
            with self._lock:
                if len(self._admitted_masks) >= ADMITTED_KEPT:
                    self._admitted_masks.pop(next(iter(self._admitted_masks)))
                self._admitted_masks[key] = mask
        return mask

    def matching_fids(self, query: wq.Query | None, filters: Filters = Filters()) -> np.ndarray:
        """Every file id the boolean query and filters admit (no scoring, no stored-field reads), sorted, for
        masks over other per-file arrays."""
        with self.searcher() as searcher:
            query = self._executable(query, searcher) if query is not None else None
            return np.sort(self.columns(searcher).fid[self._candidates(searcher, query, filters)])

    def adjacency(self, pairs: Sequence[str]) -> dict[int, int]:
        """file id -> how many of the query's adjacent word pairs (ParsedQuery.pairs) its caption holds side by side."""
        counts: dict[int, int] = {}
        with self.searcher() as searcher:
            if not pairs or CAPTION_PAIRS not in searcher.schema:
                return counts
            fids = self.columns(searcher).fid
            found = [fids[np.fromiter(searcher.docs_for_query(wq.Term(CAPTION_PAIRS, pair)), dtype=np.int64)] for pair in pairs]
        ids, numbers = np.unique(np.concatenate(found), return_counts=True)
        return dict(zip(ids.tolist(), numbers.tolist()))

    def hold_some_words(self, words: Sequence[str], file_ids: np.ndarray) -> np.ndarray:
        """Whether each file's caption or file name holds any of a plain query's words (ParsedQuery.analysed).

        Each word's postings are stepped with skip_to over the few ids asked about: much cheaper than
        listing every document that holds a common word."""
        held = np.zeros(len(file_ids), dtype=bool)
        if not words or not len(file_ids):
            return held
        with self.searcher() as searcher:
            docnums = self.columns(searcher).docnums_of(file_ids)
            order = [int(i) for i in np.argsort(docnums) if docnums[i] >= 0]
            reader = searcher.reader()
            for field in DEFAULT_FIELDS:
                for word in words:
                    if (field, word) not in reader:
                        continue
                    matcher = wq.Term(field, word).matcher(searcher)
                    for i in order:
                        if not matcher.is_active():
                            break
                        if held[i]:
                            continue
                        if matcher.id() < docnums[i]:
                            matcher.skip_to(int(docnums[i]))
                        held[i] = matcher.is_active() and matcher.id() == docnums[i]
        return held

    def moments_of(self, file_ids: np.ndarray) -> np.ndarray:
        """Seconds since 1970 of each file id's date and time taken (else its file's): what date order sorts by."""
        with self.searcher() as searcher:
            return self.columns(searcher).moments_of(file_ids)

    def search(
        self, parsed: ParsedQuery, filters: Filters = Filters(), offset: int = 0, limit: int = 20, sort: Sort | None = None
    ) -> tuple[list[tuple[int, float]], np.ndarray, set[str]]:
        """One page of results as [(file_id, score)], in the parsed query's order unless `sort` names another; the
        file ids of every match, sorted; the matched terms.

        Every match is listed, not counted by Whoosh: its count leaves out the matches its optimisations
        skipped once they could no longer reach the page (`snow OR mountain` in a folder: half of them)."""
        query, terms, sort = parsed.query, parsed.terms, parsed.sort if sort is None else sort
        none = np.zeros(0, dtype=np.int64)
        if query is wq.NullQuery:
            return [], none, set()
        try:
            with self.searcher() as searcher:
                columns = self.columns(searcher)
                matcher = self._executable(query, searcher) if query is not None else None
                docnums = self._candidates(searcher, matcher, filters)
                matches = np.sort(columns.fid[docnums])
                if matcher is None or query_masks.scores_nothing(matcher) or sort is not Sort.RELEVANCE:
                    # browsing, `-dog` (every match ranks the same) or a date order: the matches by date
                    shown = columns.date_order(docnums, newest_first=sort is not Sort.DATE_ASC)[offset : offset + limit]
                    return [(int(file_id), 0.0) for file_id in columns.fid[shown]], matches, terms
                if not len(matches):  # Whoosh reads filter=set() as no filter at all
                    return [], none, terms
                pairs = parsed.pairs if CAPTION_PAIRS in searcher.schema else ()
                if pairs:  # the words side by side score higher; the pairs never add a document
                    matcher = wq.AndMaybe(matcher, wq.Or([wq.Term(CAPTION_PAIRS, pair) for pair in pairs]))
                options: dict[str, object] = {}
                if not filters.is_empty():
                    # The matches the filters admit, already listed: Whoosh checks each match it scores against
                    # them, where its own filter= would list every document a filter admits (all for ext:jpg).
                    options["filter"] = set(docnums.tolist())
                results = searcher.search(matcher, limit=offset + limit, **options)
                page = [(int(hit["id"]), float(hit.score or 0.0)) for hit in results[offset : offset + limit]]
        except (QueryError, DamagedIndexError):
            raise
        except Exception as error:
            raise DamagedIndexError(self.directory, error) from error
        return page, matches, terms
