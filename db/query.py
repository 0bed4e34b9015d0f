"""The query language: validating and parsing what a person typed (once per search: ParsedQuery), its words for
meaning search and highlighting, and the bounds that keep a query cheap."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from dataclasses import field as default
from functools import lru_cache

from whoosh import query as wq
from whoosh.fields import Schema
from whoosh.qparser import AndGroup, MultifieldParser, plugins

from db.documents import CAPTION_PAIRS, DEFAULT_FIELDS, USER_FIELDS, make_schema, pair_analyzer, text_analyzer
from db.errors import QueryError
from db.formats import extensions_of, format_name
from db.query_dates import DATE_TERM, DatePlugin, is_day_range
from db.records import undecodable
from db.types import Sort
from db.words import normalized, written_without_spaces

MAX_QUERY_LENGTH = 1000


MAX_EXPANSIONS = 2000  # words one wildcard may stand for


@lru_cache(maxsize=1)
def _query_pair_analyzer():
    return pair_analyzer()


def query_pairs(text: str) -> list[str]:
    """A plain query's adjacent words as the caption_pairs field holds them ("red circles" -> "red circl"):
    a caption holding them side by side ranks above one that merely holds them all."""
    if not is_plain(text):
        return []
    return list(dict.fromkeys(token.text for token in _query_pair_analyzer()(text)))


# Whoosh reads `name:` as a field wherever a word starts, even after - . , (`x-folder:/tmp`), so any
# `name:` not inside a word is checked; only the documented fields are reachable from a query.
_FIELD_SYNTAX = re.compile(r"(?<![\w])([A-Za-z_]\w*):")


_OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "REQUIRE"}


# What a person may write before a colon: the indexed fields, and date: (db/query_dates.py).
FIELD_LIST = ", ".join(field + ":" for field in (*USER_FIELDS, "date"))


# A question's mark after the last word ("any photos of the beach?", "beach?", "rome 2019?", "rome ?"): a wildcard
# there would stand for one more letter, which no one means after a whole word or a year. After another digit or
# inside a word it stays one ("IMG_00?", "colou?r").
_QUESTION_MARK = re.compile(r"(?:(?<=[^\W\d_])|(?<=\s)|(?<=(?<![\w-])\d{4}))\?+\s*$")


def without_question_mark(text: str) -> str:
    return _QUESTION_MARK.sub("", text)


# What phones and word processors type for `"` and `-`: “smart quotes”, and a dash for `--` or pasted before a word.
_CURLY_QUOTES = re.compile("[\u201c\u201d\u201e\u201f]")
_DASH_BEFORE_WORD = re.compile('(?:^|(?<=[\\s(]))(?:[\u2013\u2014\u2212]|--)(?=[^\\W\\d_]|[("])')  # "2018 –2020": a range


def as_meant(text: str) -> str:
    """The query as its marks mean it: “red car” a phrase, `dog —cat` (a phone's `--`) without cats, `Tag:xmas`
    (a phone's capital) the field: they were loose words, a dog with a cat, and no field at all. Curly quotes only
    in pairs: `12” pizza` is inches."""
    if len(_CURLY_QUOTES.findall(text)) % 2 == 0:
        text = _CURLY_QUOTES.sub('"', text)
    text = _DASH_BEFORE_WORD.sub("-", text)
    known = {*USER_FIELDS, "date"}
    return _FIELD_SYNTAX.sub(lambda found: found[0].lower() if found[1].lower() in known else found[0], text)


def refuse_unreadable(text: str) -> None:
    """What no reading of a query can mend, refused before any: too long, or bytes that are not UTF-8."""
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(f"Query is too long ({len(text)} characters; at most {MAX_QUERY_LENGTH})")
    refused = undecodable("The query", text)
    if refused is not None:
        raise QueryError(refused)


def _validate(text: str) -> None:
    """Reject what Whoosh would silently misread, with a message that says how to fix it."""
    refuse_unreadable(text)
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
        if field.lower() not in (*USER_FIELDS, "date"):
            raise QueryError(f"Unknown field '{field}:' in query; use one of {FIELD_LIST} or put the text in quotes")
    _refuse_empty_fields(text)
    words = outside_quotes.replace("(", " ").replace(")", " ").split()
    if words and (words[-1] in _OPERATORS or words[0] in _OPERATORS - {"NOT"}):
        operator = words[-1] if words[-1] in _OPERATORS else words[0]
        needs = "a search word after it" if operator == "NOT" else "a search word on each side"
        raise QueryError(f"Operator {operator} needs {needs} (lower-case it to search for it)")
    for first, second in zip(words, words[1:]):
        # `red OR OR blue` was silently an AND; `NOT NOT red` a parser crash. "AND NOT" is fine.
        if first in _OPERATORS and second in _OPERATORS and not (second == "NOT" and first in ("AND", "OR")):
            raise QueryError(f"Operators {first} {second} in a row: put a search word between them")


# A field followed by nothing, a space, a ) or an empty phrase: Whoosh read `tag:` as the word "tag", which
# matched nothing in silence. date: says which forms it takes itself (db/query_dates.py).
_EMPTY_FIELD = re.compile(r'(?<![\w])(?!date:)([A-Za-z_]\w*):(?=$|[\s)]|""(?!"))', re.IGNORECASE)


def _refuse_empty_fields(text: str) -> None:
    # A phrase's words are no fields: each phrase stands in as "x", an empty one as "".
    masked = re.sub(r'"[^"]*"', lambda phrase: '"x"' if len(phrase[0]) > 2 else '""', text)
    empty = _EMPTY_FIELD.search(masked)
    if empty is not None:
        field = empty[1]
        raise QueryError(f"{field}: has no value; write {field}:WORD, or put the text in quotes")


def _extensions_as_indexed(query: wq.Query) -> wq.Query:
    """`ext:.PNG` as the index holds extensions, `png` (db/rows.py): the dot and capitals matched nothing. And
    `ext:jpg` as every extension of its format (.jpg, .jpeg, .jpe), as the app's type filter picks "JPEG": a
    camera's .JPG and a phone's .jpeg are one kind of photo, and `ext:jpeg` found no .jpg."""
    if getattr(query, "fieldname", None) == "ext" and isinstance(getattr(query, "text", None), str):
        query.text = query.text.lstrip(".").lower()
        if not query.text:  # `ext:.` or `ext:""""`: an extension of nothing
            raise QueryError("ext: has no value; write ext:WORD (ext:jpg, ext:heic)")
        extensions = extensions_of([format_name(query.text)]) if isinstance(query, wq.Term) else ()
        return wq.Or([wq.Term("ext", ext) for ext in extensions]) if len(extensions) > 1 else query
    return query.apply(_extensions_as_indexed)


def _check_fields(query: wq.Query) -> None:
    """Every part of the parsed query reads a documented field, or one a plain word searches (the word pairs
    derived from captions, the keywords)."""
    fieldname = getattr(query, "fieldname", None)
    known = fieldname in USER_FIELDS or fieldname in DEFAULT_FIELDS or is_day_range(query)
    if fieldname is not None and not known:
        raise QueryError(f"Unknown field '{fieldname}:' in query; use one of {FIELD_LIST} or put the text in quotes")
    for child in query.children():
        _check_fields(child)


def make_parser(schema: Schema) -> MultifieldParser:
    parser = MultifieldParser(list(DEFAULT_FIELDS), schema, group=AndGroup)
    # Boosts and ranges make no sense for captions and only turn typos into surprises.
    parser.remove_plugin_class(plugins.BoostPlugin)
    parser.remove_plugin_class(plugins.RangePlugin)
    # `-red` means NOT red, as in every search engine people use (after `--` on the command line). Only a sign
    # that starts a word: Whoosh's own reads any hyphen, so `x-ray cat` was cat without ray.
    parser.add_plugin(plugins.PlusMinusPlugin(plusexpr=r"(?:^|(?<=[\s(]))\+", minusexpr=r"(?:^|(?<=[\s(]))-"))
    # A date term inside OR, NOT or a group stays in the text and is a range of days where it stands.
    parser.add_plugin(DatePlugin())
    return parser


def parse_query(text: str, schema: Schema | None = None) -> wq.Query | None:
    """Parse a user's query; None means "match everything" (an empty query)."""
    text = text.strip()
    if not text:
        return None
    _validate(text)
    try:
        parser = make_parser(schema or make_schema())
        try:
            query = parser.parse(text)
        except NotImplementedError:
            # Whoosh's plus and minus only parse outside groups: `(beach -park) OR car` raised "Minus". Inside a
            # group minus means what NOT means there and plus what a word means anyway (words are all required).
            rewritten = _signs_in_groups_as_words(text)
            if rewritten == text:
                raise QueryError("Cannot read a - or + beside OR: write NOT word, or put the words in parentheses") from None
            query = parser.parse(rewritten)
        if query is wq.NullQuery and re.search(r"(?:^|[\s(])-[\w(\"]", text):
            # only exclusions (`-red`, `-(date:2019)`, `(-car -dog)`): every photo but those
            query = parser.parse("* " + _signs_in_groups_as_words(text))
    except QueryError:
        raise  # a malformed date, named as such
    except Exception as error:  # Whoosh raises assorted types for odd input
        raise QueryError(f"Cannot parse query: {error}") from None
    _check_fields(query)
    return _long_prefixes_as_pairs(_anything_as_every(_extensions_as_indexed(query)))


def _anything_as_every(query: wq.Query) -> wq.Query:
    """`*` (also what `-dog` is read as: `* -dog`) as every document. The parser makes it "any word in any field",
    which Whoosh answers by reading every word's postings: 55 s at 100,000 photos (docs/performance.md). Every
    photo has a file name, so it is every photo; a fielded `text:*` (photos with text read in them) keeps its
    meaning."""
    if isinstance(query, wq.Or) and query.subqueries and all(isinstance(part, wq.Every) for part in query.subqueries):
        return wq.Every()
    return query.apply(_anything_as_every)


def _long_prefixes_as_pairs(query: wq.Query) -> wq.Query:
    """A prefix of more than two characters of Chinese or Japanese (`東京タ*`) as the pairs it is made of: the index
    holds pairs and single characters (db/words.py), so no term starts with three of them."""
    if isinstance(query, wq.Prefix) and len(query.text) > 2 and written_without_spaces(query.text):
        terms = [wq.Term(query.fieldname, token.text) for token in words_analyzer()(query.text)]
        return wq.And(terms) if len(terms) > 1 else terms[0] if terms else wq.NullQuery
    return query.apply(_long_prefixes_as_pairs)


# A phrase (kept as it is), a parenthesis (counted), or a sign that starts a word.
_PHRASE_GROUP_SIGN = re.compile(r'"[^"]*"|[()]|(?:^|(?<=[\s(]))[-+](?=[\w("])')


def _signs_in_groups_as_words(text: str) -> str:
    """Inside parentheses, `-word`, `-(group)`, `-"phrase"` as `NOT word`... and `+word` as `word`; signs outside
    them, and inside phrases, as written."""
    depth = 0

    def rewrite(found: re.Match[str]) -> str:
        nonlocal depth
        depth += {"(": 1, ")": -1}.get(found[0], 0)
        return {"-": "NOT ", "+": ""}.get(found[0], found[0]) if depth > 0 else found[0]

    return _PHRASE_GROUP_SIGN.sub(rewrite, text)


_SYNTAX = re.compile(r'[()"*?]|\b(?:AND|OR|NOT|ANDNOT|ANDMAYBE|REQUIRE)\b|\b[A-Za-z_]+:|(?:^|(?<=\s))[-+](?=\w)')


def is_plain(text: str) -> bool:
    """Only words: no operators, quotes, groups, wildcards or fields (those keep their boolean meaning)."""
    return not _SYNTAX.search(text)


def semantic_text(text: str) -> str:
    """The words of a query to embed: syntax, dates and negated words removed ("dog NOT cat" -> "dog")."""
    text = DATE_TERM.sub(" ", text)  # a date left in place (inside OR or a group) is no words to embed
    without_negations = re.sub(r"\b(?:NOT|ANDNOT)\s+(\([^)]*\)|\"[^\"]*\"|\S+)|(?:^|(?<=\s))-\S+", " ", text)
    return " ".join(_SYNTAX.sub(" ", without_negations).split())


@dataclass(frozen=True)
class ParsedQuery:
    """One search's query, parsed once (db/search.py) and handed to keyword search (db/fulltext.py) and meaning
    search (db/meaning.py): nothing downstream parses or analyses the text again."""

    text: str  # as searched: date terms and the plain-language readings taken out
    query: wq.Query | None  # the Whoosh query; None: every photo (an empty query); wq.NullQuery: none
    sort: Sort = Sort.RELEVANCE
    terms: set[str] = default(default_factory=set)  # analysed terms, for highlighting
    plain: bool = True  # only words: no operators, quotes, groups, wildcards or fields
    pairs: tuple[str, ...] = ()  # a plain query's adjacent word pairs, as the caption_pairs field holds them
    words: str = ""  # what meaning search embeds: syntax and negated words removed
    analysed: tuple[str, ...] = ()  # the words as the caption field analyses them (db/meaning.py's partial-word check)

    @classmethod
    def of(cls, text: str, sort: Sort = Sort.RELEVANCE, schema: Schema | None = None) -> ParsedQuery:
        """Validate and parse `text` (a QueryError says what to fix)."""
        query = parse_query(text, schema)
        return cls(
            text,
            query,
            sort,
            query_terms(query) if query is not wq.NullQuery else set(),
            is_plain(text),
            tuple(query_pairs(text)),
            semantic_text(text),
            tuple(dict.fromkeys(token.text for token in words_analyzer()(text))),
        )


def query_terms(query: wq.Query | None) -> set[str]:
    """Analysed terms of a parsed query (for highlighting matched words)."""
    if query is None:
        return set()
    return {
        text.decode() if isinstance(text, bytes) else str(text)
        for field, text in query.iter_all_terms()
        if field in DEFAULT_FIELDS
    }


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


def negations_as_exclusions(query: wq.Query) -> wq.Query:
    """The same matches with `a AND NOT b` as Whoosh's AndNot: its And intersects a Not by stepping the Not's
    inverse through every document of the library (`dog NOT beach`: 7x `dog`'s time at 100,000 photos), where
    AndNot steps `a` and skips `b` to it. An And of negations alone stays as it is (it needs them all)."""
    query = query.apply(negations_as_exclusions)
    if not isinstance(query, wq.And):
        return query
    kept = [part for part in query.subqueries if _negated(part) is None]
    left_out = [negated for part in query.subqueries if (negated := _negated(part)) is not None]
    if not kept or not left_out:
        return query
    positive = kept[0] if len(kept) == 1 else wq.And(kept, boost=query.boost)
    return wq.AndNot(positive, left_out[0] if len(left_out) == 1 else wq.Or(left_out))


def _negated(part: wq.Query) -> wq.Query | None:
    """What a part of an And leaves out: NOT's words, also as a filter scores them (a ConstantScoreQuery)."""
    if isinstance(part, wq.ConstantScoreQuery):
        part = part.child
    return part.query if isinstance(part, wq.Not) else None


def bound_expansions(query: wq.Query, reader) -> None:
    """Refuse a wildcard that stands for too many words: `?????*` expands to every word of a large
    library, seconds and hundreds of MB; over MAX_EXPANSIONS words it is a QueryError that says why."""
    if isinstance(query, wq.MultiTerm):
        expanded = sum(1 for _ in itertools.islice(query._btexts(reader), MAX_EXPANSIONS + 1))
        if expanded > MAX_EXPANSIONS:
            raise QueryError(f"'{query}' matches more than {MAX_EXPANSIONS} different words; put more letters before the * or ?")
    for child in query.children():
        bound_expansions(child, reader)


@lru_cache(maxsize=1)
def words_analyzer():
    return text_analyzer()  # built once: the app highlights 50 captions a page, and search checks words


def highlight(text: str, terms: set[str]) -> list[tuple[str, bool]]:
    """Split text into (segment, matched) pieces: a word matches when it analyses to a query term."""
    if not terms or not text:
        return [(text, False)]
    marked: list[tuple[int, int]] = []  # matched spans, overlaps joined: one mark over "タワー", not two
    # As indexed: a character of Chinese alone as well as in its pairs (db/words.py), which overlap ("東京タワー").
    for token in words_analyzer()(text, chars=True, removestops=False, mode="index"):
        if token.text in terms:
            if marked and token.startchar <= marked[-1][1]:
                marked[-1] = (marked[-1][0], max(marked[-1][1], token.endchar))
            else:
                marked.append((token.startchar, token.endchar))
    if normalized(text) != text:  # the offsets are into its NFKC form (db/words.py); the text is shown as it is
        marked = [(_offset_in(text, start), _offset_in(text, end)) for start, end in marked]
    pieces: list[tuple[str, bool]] = []
    position = 0
    for start, end in marked:
        if start > position:
            pieces.append((text[position:start], False))
        pieces.append((text[start:end], True))
        position = end
    if position < len(text):
        pieces.append((text[position:], False))
    return pieces


def _offset_in(text: str, offset: int) -> int:
    """Where in the text its NFKC form's offset falls: the shortest start whose form is the form's first `offset`
    characters ("서" of a decomposed "서울" is three letters of it, "é" of "cafe\u0301" two)."""
    wanted = normalized(text)[:offset]
    low, high = 0, len(text)
    while low < high:  # a start's form is never shorter than a shorter start's
        middle = (low + high) // 2
        if len(normalized(text[:middle])) >= offset:
            high = middle
        else:
            low = middle + 1
    while low < len(text) and normalized(text[:low]) != wanted:
        low += 1  # inside a letter that composes with what follows
    return low
