"""`date:` in a query: the forms a date takes, and the two ways a date term is answered.

A date term that is a top-level conjunct (`beach date:2019`, `-date:2019-06`, `car AND NOT date:2019`), the
common case, leaves the text and becomes the date filter, answered from the day column in milliseconds
(db/index_columns.py). A date term inside OR, ANDNOT, a group or a negated group (`date:2019 OR date:2020`,
`NOT (date:2019)`) stays where it is and the parser reads it as a range on the index's `day` field, so the
boolean structure keeps its meaning: slower on a large library (Whoosh unions a numeric range's terms), but only
those queries pay it."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from whoosh import query as wq
from whoosh.qparser import plugins, syntax

from db.documents import day_number
from db.errors import QueryError

DATE_FORMS = "date:2019, date:2019-07, date:2019-07-14, date:2019-06..2019-08, date:2019.. or date:..2019"


# A date term wherever it stands; its value ends at a space or a parenthesis.
DATE_TERM = re.compile(r"(?<![\w])date:(?P<value>[^\s()]*)", re.IGNORECASE)
DAY_FIELD = "day"  # the index's NUMERIC day field (db/documents.py): days since 1970 of the date taken


# A query's tokens as the parser groups them: a quoted phrase (a date in it is words), a parenthesis, or a run of
# anything else. A parenthesis ends a token, so `(date:2019)` is the date 2019 in a group.
_TOKENS = re.compile(r'"[^"]*"?|[()]|[^\s()"]+')
_DATE_TOKEN = re.compile(r"([-+]?)date:(.*)", re.IGNORECASE | re.DOTALL)
_DATE_VALUE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")


# Operators that make a top-level term something other than a conjunct: with one of them at the top level, a
# date there may be one side of it (`file:leap OR date:2019`). AND and NOT leave conjuncts conjuncts.
_NOT_CONJUNCTIVE = {"OR", "ANDNOT", "ANDMAYBE", "REQUIRE"}


@dataclass(frozen=True)
class DateTerms:
    text: str  # the query without its top-level date terms (all of them in place when any is not top-level)
    first: date | None  # the first and last day the terms allow (None: no bound)
    last: date | None
    excluded: tuple[tuple[date, date], ...] = ()  # ranges a photo must not be taken in


def date_terms(text: str) -> DateTerms:
    """The query's `date:` terms taken out when each is a top-level conjunct; several all apply: `date:2019
    date:2019-07` is July 2019. When any is not (inside OR, ANDNOT or a group), the text is returned whole and
    the parser reads every date term where it stands (DatePlugin)."""
    tokens = [(found.group(), found.start(), found.end()) for found in _TOKENS.finditer(text)]
    depth, top_level, dates = 0, set(), []
    for i, (token, _, _) in enumerate(tokens):
        depth += {"(": 1, ")": -1}.get(token, 0)
        if depth == 0:
            top_level.add(token)
        found = _DATE_TOKEN.fullmatch(token)  # a quoted token starts with ": a date in a phrase is words
        if found:
            dates.append((i, depth, found))
    if not dates or any(depth for _, depth, _ in dates) or _NOT_CONJUNCTIVE & top_level:
        return DateTerms(text, None, None)
    first: date | None = None
    last: date | None = None
    excluded: list[tuple[date, date]] = []
    dropped: set[int] = set()
    words = [token for token, _, _ in tokens]
    for i, _, found in dates:
        low, high = date_range(found[2])
        term = [i - 1, i] if i > 0 and tokens[i - 1][0] == "NOT" else [i]
        if found[1] and len(term) == 2:
            raise QueryError(f"NOT {found[0]} is a double negative; write date:{found[2]} or NOT date:{found[2]}")
        dropped |= {*term, *_joining_and(words, term[0], i)}
        if found[1] == "-" or len(term) == 2:  # `-date:` or `NOT date:`
            excluded.append((low, high))
            continue
        first = low if first is None else max(first, low)
        last = high if last is None else min(last, high)
    pieces, position = [], 0
    for i in sorted(dropped):
        pieces.append(text[position : tokens[i][1]])
        position = tokens[i][2]
    return DateTerms(" ".join(" ".join([*pieces, text[position:]]).split()), first, last, tuple(excluded))


def _joining_and(tokens: list[str], start: int, end: int) -> list[int]:
    """The AND that joined a term taken out, before it or else after it: `car AND date:2019` left as `car AND`
    would be refused by the parser."""
    if start > 0 and tokens[start - 1] == "AND":
        return [start - 1]
    return [end + 1] if end + 1 < len(tokens) and tokens[end + 1] == "AND" else []


def date_range(value: str) -> tuple[date, date]:
    """The first and last day `date:VALUE` stands for (a QueryError says which forms it accepts). A range open
    at one end runs from or to the calendar's limit: `date:2019..` is 2019 and every year after it."""
    start, dots, end = value.partition("..")
    if not dots:
        return _days(value, value)
    if not (start or end):
        raise QueryError(f"date:{value} is not a date; use {DATE_FORMS}")
    low = _days(start, value)[0] if start else date.min
    high = _days(end, value)[1] if end else date.max
    if high < low:
        raise QueryError(f"date:{value} ends before it starts; put the earlier date first")
    return low, high


def _days(value: str, term: str) -> tuple[date, date]:
    """The first and last day a year, a month or a day stands for."""
    found = _DATE_VALUE.fullmatch(value)
    try:
        if found is None:
            raise ValueError(value)
        year, month, day = int(found[1]), found[2], found[3]
        if day:
            return date(year, int(month), int(day)), date(year, int(month), int(day))
        if month:
            return date(year, int(month), 1), date(year, int(month), calendar.monthrange(year, int(month))[1])
        return date(year, 1, 1), date(year, 12, 31)
    except ValueError:
        raise QueryError(f"date:{term} is not a date; use {DATE_FORMS}") from None


def is_day_range(query: wq.Query) -> bool:
    """A date term the parser read in place (the only query on the day field a person can reach)."""
    return isinstance(query, wq.NumericRange) and query.fieldname == DAY_FIELD


class _DateNode(syntax.SyntaxNode):
    def __init__(self, value: str) -> None:
        self.low, self.high = date_range(value)  # a malformed date is refused while parsing, named alone

    def r(self) -> str:
        return f"date:{self.low}..{self.high}"

    def query(self, parser) -> wq.Query:
        return wq.NumericRange(DAY_FIELD, day_number(self.low), day_number(self.high))


class DatePlugin(plugins.TaggingPlugin):
    """`date:VALUE` as one node, a range of days, wherever it stands; the value ends at a space or a parenthesis.
    Tagged before Whoosh's field tagger (priority 0), which would read `date:` as an unknown field."""

    expr = DATE_TERM
    priority = -2

    def create(self, parser: object, match: re.Match[str]) -> syntax.SyntaxNode:
        return _DateNode(match.group("value"))
