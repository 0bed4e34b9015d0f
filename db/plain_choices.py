"""Readings of plain words that are choices beside each other, not more to meet: two places or two times joined by
"and", "or" or a comma ("paris and rome", "2019, 2021", "june or july 2019"), since a photo is taken in one place
and at one time; two people only by "or" ("mom and dad" is the photos of both). Two times that overlap are both
to meet, as before: "july and 2019" is July 2019."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from db import plain_spans as spans
from db.plain_words import Language
from db.types import Reading, Span


def with_choice(group: list[Reading], reading: Reading, between: list[str | None], language: Language) -> list[Reading] | None:
    """The readings of `group` (the last reading and those it is a choice beside) and `reading` as one more choice,
    when the words `between` them join them so; None when they do not."""
    last = group[-1]
    if last.kind != reading.kind or reading.kind == "not":
        return None  # "not" has its own list
    joiners = language.choice_joiners if reading.kind != "keyword" else language.or_joiners
    words = [word for word in between if word != ","]
    by_word = len(words) == 1 and words[0] in joiners
    by_comma = not words and "," in between and reading.kind != "keyword"
    if not (by_word or by_comma):
        return None
    reading = _as_part_of(reading, last)  # "july 2019 or 2020": July of each
    if reading.kind == "date" and (span := reading.span) is not None:
        group = [_in_year_of(choice, span) for choice in group]  # "june or july 2019": the year is shared
        if not all(choice.span is not None and _apart(choice.span, span) for choice in group):
            return None
    return [*group, replace(reading, or_previous=True)]


def _in_year_of(reading: Reading, later: Span) -> Reading:
    """A month, day or season of any year in the year of the later choice, when that is part of one year."""
    span = reading.span
    if span is None or not spans.any_year(span) or later.first is None or later.last is None:
        return reading
    year = later.first.year
    if (later.last - later.first).days > 366 or (later.first, later.last) == (date(year, 1, 1), date(year, 12, 31)):
        return reading  # "july or 2019" keeps July of any year: a whole year is no part of one, nor are years
    # ...but a season or days across a year's end are: "summer or winter 2019" is the summer of 2019
    try:
        dated = spans.in_year(span, year)
    except ValueError:
        return reading  # February 29 of a year that has none
    return replace(reading, span=dated, shown=f"taken {dated.label}")


def _as_part_of(reading: Reading, before: Reading) -> Reading:
    """A whole year after a part of one year (a month, a season, a day, a holiday) as that part in it: "christmas
    2018 and 2019" is two Christmases, not Christmas 2018 or the whole of 2019."""
    span = reading.span
    if span is None or before.span is None or span.first is None or span.last is None:
        return reading
    if (span.first, span.last) != (date(span.first.year, 1, 1), date(span.first.year, 12, 31)):
        return reading
    moved = spans.in_another_year(before.span, span.first.year)
    return reading if moved is None else replace(reading, span=moved, shown=f"taken {moved.label}")


def _apart(one: Span, other: Span) -> bool:
    """Whether no photo could be taken within both: then "and" can only mean either."""
    if spans.any_year(one) and spans.any_year(other):
        return not spans.days_of_any_year(one) & spans.days_of_any_year(other)  # "july 4th or july 5th", "june or july"
    if spans.any_year(one) or spans.any_year(other):
        return False  # a month of any year and a stretch of days may meet
    return bool((one.last and other.first and one.last < other.first) or (other.last and one.first and other.last < one.first))
