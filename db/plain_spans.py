"""The spans of time db/plain.py reads: the patterns of years, decades and days, and the spans of a month, a
season, a unit back from today and a range between two times."""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

from db.plain_words import MONTH_NAMES
from db.types import Span

YEAR = re.compile(r"\d{4}")
YEARS = re.compile(r"(\d{4})[-–](\d{4})")
ISO = re.compile(r"(\d{4})-(\d{1,2})(?:-(\d{1,2}))?")
DECADE = re.compile(r"(1[89]\d|20\d)0'?s")
SHORT_DECADE = re.compile(r"'?(\d)0'?s")
SHORT_YEAR = re.compile(r"'\d\d")
DAY = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?")


def iso_span(found: re.Match[str], i: int) -> tuple[int, Span] | None:
    year, month, day = int(found[1]), int(found[2]), found[3]
    try:
        if day:
            taken = date(year, month, int(day))
            return i + 1, Span(taken, taken, f"on {taken.isoformat()}")
        return i + 1, month_span(year, month)
    except ValueError:
        return None  # "2019-13": not a date, a word


def month_span(year: int, month: int) -> Span:
    if not 1 <= month <= 12:
        raise ValueError(month)
    last = date(year, month, calendar.monthrange(year, month)[1])
    return Span(date(year, month, 1), last, f"in {MONTH_NAMES[month - 1]} {year}")


def season(months: tuple[int, ...], year: int, name: str) -> Span:
    """A season of a year; winter 2019 runs from December 2019 into February 2020."""
    first = date(year, months[0], 1)
    end_year = year + 1 if months[-1] < months[0] else year
    last = date(end_year, months[-1], calendar.monthrange(end_year, months[-1])[1])
    return Span(first, last, f"in {name} ({first.isoformat()} to {last.isoformat()})")


def season_of(months: tuple[int, ...], year: int) -> Span:
    """The season of those months that starts in the year, named so: "summer 2019 (2019-06-01 to 2019-08-31)"."""
    return season(months, year, f"{season_name(months).split(' (')[0]} {year}")


def season_name(months: tuple[int, ...]) -> str:
    names: dict[tuple[int, ...], str] = {(3, 4, 5): "spring", (6, 7, 8): "summer", (9, 10, 11): "autumn", (12, 1, 2): "winter"}
    return f"{names.get(months, 'season')} ({MONTH_NAMES[months[0] - 1]} to {MONTH_NAMES[months[-1] - 1]})"


def units_back(today: date, unit: str, count: int) -> Span:
    """The year, month, week (Monday to Sunday) or day `count` of them before today's."""
    if unit == "year":
        year = today.year - count
        return Span(date(year, 1, 1), date(year, 12, 31), f"in {year}")
    if unit == "month":
        index = today.year * 12 + today.month - 1 - count
        return month_span(index // 12, index % 12 + 1)
    if unit == "week":
        monday = today - timedelta(days=today.weekday() + 7 * count)
        sunday = monday + timedelta(days=6)
        return Span(monday, sunday, f"between {monday.isoformat()} and {sunday.isoformat()}")
    day = today - timedelta(days=count)
    return Span(day, day, f"on {day.isoformat()}")


def in_year(span: Span, year: int) -> Span:
    """A span of any year's months (and days) as it falls starting in `year`: "july 4th" in 2019 is 2019-07-04,
    "winter" or "december 24th to january 2nd" end in the next year. ValueError for a day the year lacks (February 29)."""
    if span.day and not span.last_day:
        day = date(year, span.months[0], span.day)
        return Span(day, day, f"on {day.isoformat()}")
    if not span.day:
        return month_span(year, span.months[0]) if len(span.months) == 1 else season_of(span.months, year)
    end_year = year + 1 if span.months[-1] < span.months[0] else year
    first = date(year, span.months[0], span.day)
    last = date(end_year, span.months[-1], min(span.last_day, calendar.monthrange(end_year, span.months[-1])[1]))
    return Span(first, last, f"between {first.isoformat()} and {last.isoformat()}")


def days_of_any_year(span: Span) -> set[tuple[int, int]]:
    """The (month, day) pairs a span of any year's months (and days) holds."""
    dated = in_year(span, 2000)  # a leap year: February 29 is a day
    assert dated.first is not None and dated.last is not None
    count = (dated.last - dated.first).days + 1
    return {(day.month, day.day) for day in (dated.first + timedelta(days=n) for n in range(count))}


def _day_name(month: int, day: int) -> str:
    return f"{MONTH_NAMES[month - 1]} {day}" if day else MONTH_NAMES[month - 1]


def join(first: Span, last: Span) -> Span | None:
    """A range from one time to another: "2018 to 2019", "june to august 2019" (the year is shared), "july 4th to
    july 10th" (days of any year)."""
    if first.months and last.months:  # "june to august", "july 4th to 10th": those months (and days) of any year
        months = [first.months[0]]
        while months[-1] != last.months[-1] and len(months) < 12:
            months.append(months[-1] % 12 + 1)
        if not (first.day or last.day):
            label = f"from {MONTH_NAMES[months[0] - 1]} to {MONTH_NAMES[months[-1] - 1]}, any year"
            if len(months) == 1:
                label = f"in {MONTH_NAMES[months[0] - 1]}, any year"
            return Span(None, None, label, tuple(months))
        day, last_day = first.day or 1, last.day or 31  # "july 4th to august": to August's last day
        if len(months) == 1 and last_day < day:
            day, last_day = last_day, day  # "july 10th to july 4th": the same days, written from the later one
        label = f"from {_day_name(months[0], day)} to {_day_name(months[-1], last.day and last_day)}, any year"
        return Span(None, None, label, tuple(months), day=day, last_day=last_day)
    try:  # "june to august 2019", "december to february 2020", "july 4th 2019 to july 10th": the dated one's year
        if first.months and last.first is not None and last.last is not None:
            dated = in_year(first, last.first.year)
            first = dated if dated.first is not None and dated.first <= last.last else in_year(first, last.first.year - 1)
        elif last.months and first.first is not None:
            dated = in_year(last, first.first.year)
            last = dated if dated.last is not None and dated.last >= first.first else in_year(last, first.first.year + 1)
    except ValueError:
        return None  # February 29 of a year that has none
    if first.first and first.last and last.first and last.last and last.last < first.first:
        first, last = last, first  # "2019 to 2018": the same years, written from the later one
    if first.first is None or last.last is None or last.last < first.first:
        return None
    return Span(first.first, last.last, f"between {first.first.isoformat()} and {last.last.isoformat()}")
