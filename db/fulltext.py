"""Whoosh full-text index derived from the DB: schema, sync from the DB, query parsing and search."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np
from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh.analysis import (
    CharsetFilter,
    Filter,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
)
from whoosh.fields import ID, KEYWORD, NUMERIC, TEXT, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.index import LockError
from whoosh.qparser import AndGroup, MultifieldParser, plugins
from whoosh.support.charset import accent_map

from db.errors import QueryError
from db.ranking import positions_in

MAX_QUERY_LENGTH = 1000
MAX_EXPANSIONS = 2000  # words one wildcard may stand for
# Fields a person may name in a query (`caption:dog`, `file:beach`, `ext:png`).
USER_FIELDS = ("caption", "file", "ext", "tag")
DEFAULT_FIELDS = ("caption", "file")
INDEX_ID_FILE = "captionary-index-id"
# What the documents hold; a new value makes the next sync rebuild an older index.
# 2: file names whole (`img_043.jpg`) as well as split into words.
FORMAT_FILE = "captionary-format"
FORMAT = "2"
# Adjacent caption words as single terms ("citi street"): a quoted phrase becomes a term lookup.
CAPTION_PAIRS = "caption_pairs"
WRITER_LIMIT_MB = 16
SEARCHER_POOL = 4  # open searchers kept for reuse (one per concurrent search)


def text_analyzer():
    """Lower-case, stem (`dogs` finds `dog`) and fold accents (`creme` finds `crème`)."""
    return RegexTokenizer() | LowercaseFilter() | CharsetFilter(accent_map) | StopFilter() | StemFilter()


class WordPairs(Filter):
    """Adjacent words joined by a space ("citi street"); nothing for fewer than two words.

    Whoosh's own BiWordFilter does this but fails on a caption with no words left after stop words."""

    def __call__(self, tokens):
        previous = None
        for token in tokens:
            if token.stopped:
                continue
            text = token.text  # the tokenizer reuses one token object: keep the text before changing it
            if previous is not None:
                token.text = f"{previous} {text}"
                yield token
            previous = text


def pair_analyzer():
    """The caption's analysed words (as text_analyzer), joined in adjacent pairs: what a phrase is made of."""
    return text_analyzer() | WordPairs()


@lru_cache(maxsize=1)
def _query_pair_analyzer():
    return pair_analyzer()


def query_pairs(text: str) -> list[str]:
    """A plain query's adjacent words as the caption_pairs field holds them ("red circles" -> "red circl"):
    a caption holding them side by side ranks above one that merely holds them all."""
    if not is_plain(text):
        return []
    return list(dict.fromkeys(token.text for token in _query_pair_analyzer()(text)))


def make_schema() -> Schema:
    return Schema(
        id=ID(stored=True, unique=True),
        # The same id as a column: docnum -> file id for whole result sets without reading stored fields.
        fid=NUMERIC(int, bits=64, sortable=True, signed=False),
        caption=TEXT(analyzer=text_analyzer(), phrase=True),
        # Whoosh checks a phrase by reading word positions for every document holding all its words
        # (100 ms for "city street" at 100k photos); a pair is one posting list (1 ms).
        caption_pairs=TEXT(analyzer=pair_analyzer(), phrase=False),
        # Folder and file-name words, so `beach` finds holidays/beach_2019/img_001.jpg.
        file=TEXT(analyzer=text_analyzer(), phrase=True),
        # Every ancestor folder of the file, so a folder filter is one term lookup.
        folder=KEYWORD(commas=True),
        ext=ID(),
        tag=KEYWORD(commas=True, lowercase=True, scorable=True),
        # Days since 1970 of the date taken (EXIF), else of the file's mtime.
        day=NUMERIC(int, bits=32, sortable=True, signed=True),
    )


@dataclass(frozen=True)
class FulltextDoc:
    file_id: int
    caption: str
    path: str
    root: str
    ext: str
    day: int
    tags: str = ""  # comma-separated


@dataclass(frozen=True)
class Filters:
    folder: str | None = None
    exts: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None

    def is_empty(self) -> bool:
        return not (self.folder or self.exts or self.tags or self.date_from or self.date_to)


def document_fields(doc: FulltextDoc) -> dict:
    return {
        "id": str(doc.file_id),
        "fid": doc.file_id,
        "caption": doc.caption,
        CAPTION_PAIRS: doc.caption,
        "file": path_words(doc.path, doc.root),
        "folder": ancestor_folders(doc.path),
        "ext": doc.ext,
        "day": doc.day,
        "tag": doc.tags,
    }


_SPLIT_WORDS = re.compile(r"[^\W\d_]+|\d+")


def path_words(path: str, root: str) -> str:
    """Words of the folders under the root and of the file name, split at _ - . and digit boundaries,
    then the file name whole and without its extension, so `img_043` and `IMG_043.jpg` find IMG_043.jpg."""
    relative = path[len(root):] if path.startswith(root) else path
    name = os.path.basename(path)
    return " ".join([*_SPLIT_WORDS.findall(relative), name, os.path.splitext(name)[0]])


def ancestor_folders(path: str) -> str:
    parts = Path(path).parent.parts
    folders = [str(Path(*parts[: i + 1])) for i in range(len(parts))]
    return ",".join(folders)


# Whoosh reads `name:` as a field wherever a word starts, even after - . , (`x-folder:/tmp`), so any
# `name:` not inside a word is checked; only the documented fields are reachable from a query.
_FIELD_SYNTAX = re.compile(r"(?<![\w])([A-Za-z_]\w*):")
_OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "REQUIRE"}


def _validate(text: str) -> None:
    """Reject what Whoosh would silently misread, with a message that says how to fix it."""
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(f"Query is too long ({len(text)} characters; at most {MAX_QUERY_LENGTH})")
    if text.count('"') % 2:
        raise QueryError('Unbalanced quote in query: close the phrase with "')
    # A phrase stands in as one word, so `"red car" OR "old building"` has a word on each side of OR.
    outside_quotes = re.sub(r'"[^"]*"', ' "" ', text)
    depth = 0
    for char in outside_quotes:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            break
    if depth != 0:
        raise QueryError("Unbalanced parenthesis in query: every ( needs a matching )")
    for field in _FIELD_SYNTAX.findall(outside_quotes):
        if field.lower() not in USER_FIELDS:
            raise QueryError(
                f"Unknown field '{field}:' in query; use one of {', '.join(f + ':' for f in USER_FIELDS)}"
                " or put the text in quotes"
            )
    words = outside_quotes.replace("(", " ").replace(")", " ").split()
    if words and (words[-1] in _OPERATORS or words[0] in _OPERATORS - {"NOT"}):
        operator = words[-1] if words[-1] in _OPERATORS else words[0]
        raise QueryError(f"Operator {operator} needs a search word on each side (lower-case it to search for it)")
    for first, second in zip(words, words[1:]):
        # `red OR OR blue` was silently an AND; `NOT NOT red` a parser crash. "AND NOT" is fine.
        if first in _OPERATORS and second in _OPERATORS and not (second == "NOT" and first in ("AND", "OR")):
            raise QueryError(f"Operators {first} {second} in a row: put a search word between them")


def _check_fields(query: wq.Query) -> None:
    """Every part of the parsed query reads a documented field (or the word pairs derived from captions)."""
    fieldname = getattr(query, "fieldname", None)
    if fieldname is not None and fieldname not in USER_FIELDS:
        raise QueryError(f"Unknown field '{fieldname}:' in query; use one of "
                         f"{', '.join(f + ':' for f in USER_FIELDS)} or put the text in quotes")
    for child in query.children():
        _check_fields(child)


def make_parser(schema: Schema) -> MultifieldParser:
    parser = MultifieldParser(list(DEFAULT_FIELDS), schema, group=AndGroup)
    # Boosts and ranges make no sense for captions and only turn typos into surprises.
    parser.remove_plugin_class(plugins.BoostPlugin)
    parser.remove_plugin_class(plugins.RangePlugin)
    # `-red` means NOT red, as in every search engine people use (after `--` on the command line).
    parser.add_plugin(plugins.PlusMinusPlugin())
    return parser


def parse_query(text: str, schema: Schema | None = None) -> wq.Query | None:
    """Parse a user's query; None means "match everything" (an empty query)."""
    text = text.strip()
    if not text:
        return None
    _validate(text)
    try:
        parser = make_parser(schema or make_schema())
        query = parser.parse(text)
        if query is wq.NullQuery and re.search(r"(?:^|\s)-\w", text):
            query = parser.parse("* " + text)  # only exclusions (`-red`): every photo but those
    except Exception as error:  # Whoosh raises assorted types for odd input
        raise QueryError(f"Cannot parse query: {error}") from None
    _check_fields(query)
    return query


_SYNTAX = re.compile(r'[()"*?]|\b(?:AND|OR|NOT|ANDNOT|ANDMAYBE|REQUIRE)\b|\b[A-Za-z_]+:|(?:^|(?<=\s))[-+](?=\w)')


def is_plain(text: str) -> bool:
    """Only words: no operators, quotes, groups, wildcards or fields (those keep their boolean meaning)."""
    return not _SYNTAX.search(text)


def semantic_text(text: str) -> str:
    """The words of a query to embed: syntax and negated words removed ("dog NOT cat" -> "dog")."""
    without_negations = re.sub(r"\b(?:NOT|ANDNOT)\s+(\([^)]*\)|\"[^\"]*\"|\S+)|(?:^|(?<=\s))-\S+", " ", text)
    return " ".join(_SYNTAX.sub(" ", without_negations).split())


def query_terms(query: wq.Query | None) -> set[str]:
    """Analysed terms of a parsed query (for highlighting matched words)."""
    if query is None:
        return set()
    return {text.decode() if isinstance(text, bytes) else str(text)
            for field, text in query.iter_all_terms() if field in DEFAULT_FIELDS}


def with_word_pairs(query: wq.Query) -> wq.Query:
    """The same query with caption phrases answered from the word-pair field.

    A two-word phrase is exactly its pair (both come from the same analysed words, stop words
    dropped as the phrase query drops them); a longer one needs all its pairs and is then checked
    as a phrase, only on the few documents that hold them all."""
    if isinstance(query, wq.Phrase) and query.fieldname == "caption" and query.slop == 1 and len(query.words) > 1:
        words = query.words
        pairs = [wq.Term(CAPTION_PAIRS, f"{first} {second}") for first, second in zip(words, words[1:])]
        return pairs[0] if len(pairs) == 1 else wq.And([*pairs, query])
    return query.apply(with_word_pairs)


def _filter_query(filters: Filters) -> wq.Query | None:
    """Folder, type and tag filters as a Whoosh query; dates are filtered on the day column instead."""
    parts: list[wq.Query] = []
    if filters.folder:
        parts.append(wq.Term("folder", str(Path(filters.folder))))
    if filters.exts:
        parts.append(wq.Or([wq.Term("ext", ext.lower().lstrip(".")) for ext in filters.exts]))
    for tag in filters.tags:
        parts.append(wq.Term("tag", tag))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else wq.And(parts)


_UNKNOWN_DAY = -(2**31)  # for an id the index lacks: sorts last when newest first, and negates safely


def _bound_expansions(query: wq.Query, reader) -> None:
    """Refuse a wildcard that stands for too many words: `?????*` expanded to every word of a large
    library and took 8 s and 456 MB; over MAX_EXPANSIONS words it is a QueryError that says why."""
    if isinstance(query, wq.MultiTerm):
        expanded = sum(1 for _ in itertools.islice(query._btexts(reader), MAX_EXPANSIONS + 1))
        if expanded > MAX_EXPANSIONS:
            raise QueryError(f"'{query}' matches more than {MAX_EXPANSIONS} different words; "
                             "put more letters before the * or ?")
    for child in query.children():
        _bound_expansions(child, reader)


@dataclass(frozen=True)
class Columns:
    """Per-document arrays (index = Whoosh docnum) of one index generation."""

    day: np.ndarray
    fid: np.ndarray
    live: np.ndarray  # False for deleted documents, which keep their docnum until a merge

    @cached_property
    def _by_fid(self) -> tuple[np.ndarray, np.ndarray]:
        """Live documents' file ids, sorted, and their docnums."""
        live = np.flatnonzero(self.live)
        order = np.argsort(self.fid[live], kind="stable")
        return self.fid[live][order], live[order]

    def docnums_of(self, file_ids: np.ndarray) -> np.ndarray:
        """The docnum of each file id, -1 for ids the index does not hold."""
        fids, docnums = self._by_fid
        positions = positions_in(fids, file_ids)
        return np.where(positions >= 0, docnums[positions], -1)

    def days_of(self, file_ids: np.ndarray) -> np.ndarray:
        """The day column of each file id (ids not in the index sort last, newest first)."""
        docnums = self.docnums_of(file_ids)
        return np.where(docnums >= 0, self.day[np.maximum(docnums, 0)], _UNKNOWN_DAY)

    def date_mask(self, filters: Filters) -> np.ndarray:
        mask = self.live.copy()
        if filters.date_from:
            mask &= self.day >= day_number(filters.date_from)
        if filters.date_to:
            mask &= self.day <= day_number(filters.date_to)
        return mask


_EPOCH = date(1970, 1, 1).toordinal()


def day_number(value: date) -> int:
    return value.toordinal() - _EPOCH


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
        _bound_expansions(query, searcher.reader())
        # An index from before the word-pair field still answers phrases, Whoosh's slower way.
        return with_word_pairs(query) if CAPTION_PAIRS in searcher.schema else query

    def create(self) -> str:
        """Create an empty index (replacing whatever is there) and return its new identity."""
        self.close()
        if self.directory.exists():
            shutil.rmtree(self.directory)
        self.directory.mkdir(parents=True)
        self._index = whoosh_index.create_in(str(self.directory), self.schema)
        new_id = uuid.uuid4().hex
        (self.directory / FORMAT_FILE).write_text(FORMAT)
        (self.directory / INDEX_ID_FILE).write_text(new_id)
        self._opened_id = new_id
        return new_id

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

        Opening one costs ~12 ms at 100k photos, and Streamlit runs every rerun on a new thread, so
        searchers live in a small pool rather than per thread; they are never used by two threads at once."""
        with self._lock:
            searcher = self._idle_searchers.pop() if self._idle_searchers else None
        if searcher is not None and not searcher.up_to_date():
            # Not Searcher.refresh(): it reuses the reader of every segment whose id is unchanged, and a
            # reused reader keeps that segment's old deletions, so an updated document counted twice.
            searcher.close()
            searcher = None
        if searcher is None:
            searcher = self.index.searcher()
        try:
            yield searcher
        finally:
            with self._lock:
                keep = len(self._idle_searchers) < SEARCHER_POOL
                if keep:
                    self._idle_searchers.append(searcher)
            if not keep:
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
        (354 vs 296 MB after 10,000 photos, bench/throughput.py --sweep)."""
        storage = FileStorage(str(self.directory), supports_mmap=False)
        try:
            return storage.open_index(schema=self.schema).writer(timeout=timeout, limitmb=WRITER_LIMIT_MB)
        except LockError:
            return None

    @staticmethod
    def apply(writer, docs: Iterable[FulltextDoc], deleted_ids: Iterable[int]) -> None:
        for doc in docs:
            writer.update_document(**document_fields(doc))
        for file_id in deleted_ids:
            writer.delete_by_term("id", str(file_id))

    def all_ids(self) -> Iterator[int]:
        """Every document's id as stored: what `check` trusts, not the fid column searches use."""
        with self.searcher() as searcher:
            for fields in searcher.all_stored_fields():
                yield int(fields["id"])

    def columns(self, searcher) -> Columns:
        """The day, file id and liveness of every document, read once per index generation (shared by
        all threads: a generation never changes).

        With them a date range is an array comparison, and browsing by date an array sort, where
        Whoosh unions the posting lists of a numeric range's terms and sorts in Python: 180 ms for
        2010-2014 at 100k photos, against 160 ms once per change of the index to read the columns."""
        reader = searcher.reader()
        # Segment ids too: an index rebuilt by another process starts its generations again.
        generation = (reader.generation(),
                      tuple(leaf.segment().segment_id() for leaf, _ in reader.leaf_readers()))
        with self._lock:
            cached = self._columns
        if cached is None or cached[0] != generation:
            count = reader.doc_count_all()
            live = np.ones(count, dtype=bool)
            if reader.has_deletions():
                live[:] = False
                live[np.fromiter(reader.all_doc_ids(), dtype=np.int64)] = True
            columns = Columns(day=np.fromiter(reader.column_reader("day"), dtype=np.int64, count=count),
                              fid=np.fromiter(reader.column_reader("fid"), dtype=np.int64, count=count),
                              live=live)
            cached = (generation, columns)
            with self._lock:
                self._columns = cached
        return cached[1]

    def _candidates(self, searcher, query: wq.Query | None, filters: Filters) -> np.ndarray:
        """Docnums that the query (None: every document) and all the filters admit, unscored."""
        columns = self.columns(searcher)
        parts = [part for part in (query, _filter_query(filters)) if part is not None]
        if not parts:
            return np.flatnonzero(columns.date_mask(filters))
        matcher = parts[0] if len(parts) == 1 else wq.And(parts)
        docnums = np.fromiter(searcher.docs_for_query(matcher), dtype=np.int64)
        if filters.date_from or filters.date_to:
            docnums = docnums[columns.date_mask(filters)[docnums]]
        return docnums

    def matching_ids(self, query: wq.Query | None, filters: Filters = Filters()) -> set[int]:
        """Every file id the boolean query and filters admit (no scoring, no stored-field reads)."""
        return set(self.matching_fids(query, filters).tolist())

    def matching_fids(self, query: wq.Query | None, filters: Filters = Filters()) -> np.ndarray:
        """matching_ids as a sorted array, for masks over other per-file arrays."""
        with self.searcher() as searcher:
            query = self._executable(query, searcher) if query is not None else None
            return np.sort(self.columns(searcher).fid[self._candidates(searcher, query, filters)])

    def adjacency(self, text: str) -> dict[int, int]:
        """file id -> how many of the query's adjacent word pairs its caption holds side by side."""
        pairs = query_pairs(text)
        counts: dict[int, int] = {}
        with self.searcher() as searcher:
            if not pairs or CAPTION_PAIRS not in searcher.schema:
                return counts
            fids = self.columns(searcher).fid
            found = [fids[np.fromiter(searcher.docs_for_query(wq.Term(CAPTION_PAIRS, pair)), dtype=np.int64)]
                     for pair in pairs]
        ids, numbers = np.unique(np.concatenate(found), return_counts=True)
        return dict(zip(ids.tolist(), numbers.tolist()))

    def hold_some_words(self, text: str, file_ids: np.ndarray) -> np.ndarray:
        """Whether each file's caption or file name holds any word of a plain query.

        Each word's postings are stepped with skip_to over the few ids asked about: much cheaper than
        listing every document that holds a common word."""
        held = np.zeros(len(file_ids), dtype=bool)
        words = list(dict.fromkeys(token.text for token in _words_analyzer()(text)))
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

    def days_of(self, file_ids: np.ndarray) -> np.ndarray:
        """The date column (days since 1970 of the date taken, else the file's) of each file id."""
        with self.searcher() as searcher:
            return self.columns(searcher).days_of(file_ids)

    def search(
        self,
        text: str,
        filters: Filters = Filters(),
        sort: str = "relevance",
        offset: int = 0,
        limit: int = 20,
        count: bool = True,
    ) -> tuple[list[tuple[int, float]], int, set[str]]:
        """Return ([(file_id, score)], total hits, matched terms) for one page of results.

        count=False skips counting every match (the total is then only the page's length)."""
        query = parse_query(text, self.schema)
        if query is wq.NullQuery:
            return [], 0, set()
        terms = query_terms(query)
        try:
            with self.searcher() as searcher:
                if query is None:  # browsing: every photo the filters admit, by date
                    page, total = self._browse(searcher, filters, sort, offset, limit)
                    return page, total, terms
                matcher = self._executable(query, searcher)
                pairs = query_pairs(text) if CAPTION_PAIRS in searcher.schema else []
                if pairs:  # the words side by side score higher; the pairs never add a document
                    matcher = wq.AndMaybe(matcher, wq.Or([wq.Term(CAPTION_PAIRS, pair) for pair in pairs]))
                filter_query = _filter_query(filters)
                if filter_query is not None:
                    # Intersected lazily with the query (cost follows the query's matches), not Whoosh's
                    # filter=, which first lists every document the filter admits (all of them for ext:jpg).
                    matcher = wq.And([matcher, wq.ConstantScoreQuery(filter_query, 0.0)])
                options: dict[str, object] = {}
                if filters.date_from or filters.date_to:
                    options["filter"] = set(np.flatnonzero(self.columns(searcher).date_mask(filters)).tolist())
                by_date = sort in ("date", "date_asc")
                if by_date:
                    options.update(sortedby="day", reverse=sort != "date_asc")
                results = searcher.search(matcher, limit=offset + limit, **options)
                total = len(results) if count else results.scored_length()
                # With a sort order, Whoosh's "score" is the sort key: not a relevance to show.
                page = [(int(hit["id"]), 0.0 if by_date else float(hit.score or 0.0))
                        for hit in results[offset: offset + limit]]
        except QueryError:
            raise
        except Exception as error:
            raise QueryError(f"Cannot run query: {error}") from None
        return page, total, terms

    def _browse(self, searcher, filters: Filters, sort: str, offset: int,
                limit: int) -> tuple[list[tuple[int, float]], int]:
        columns = self.columns(searcher)
        docnums = self._candidates(searcher, None, filters)
        # Newest first unless asked otherwise; equal days keep docnum order (stable sort).
        keys = columns.day[docnums] if sort == "date_asc" else -columns.day[docnums]
        page = docnums[np.argsort(keys, kind="stable")[offset: offset + limit]]
        return [(int(file_id), 0.0) for file_id in columns.fid[page]], len(docnums)


@lru_cache(maxsize=1)
def _words_analyzer():
    return text_analyzer()  # built once: the app highlights 50 captions a page, and search checks words


def highlight(text: str, terms: set[str]) -> list[tuple[str, bool]]:
    """Split text into (segment, matched) pieces: a word matches when it analyses to a query term."""
    if not terms or not text:
        return [(text, False)]
    pieces: list[tuple[str, bool]] = []
    position = 0
    for token in _words_analyzer()(text, chars=True, removestops=False):
        if token.text in terms:
            if token.startchar > position:
                pieces.append((text[position:token.startchar], False))
            pieces.append((text[token.startchar:token.endchar], True))
            position = token.endchar
    if position < len(text):
        pieces.append((text[position:], False))
    return pieces
