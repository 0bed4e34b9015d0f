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


def join(first: Span, last: Span) -> Span | None:
    """A range from one time to another: "2018 to 2019", "june to august 2019" (the year is shared)."""
    if first.months and last.months:  # "june to august": those months of any year
        months = [first.months[0]]
        while months[-1] != last.months[-1] and len(months) < 12:
            months.append(months[-1] % 12 + 1)
        # "july 4th to july 10th": the days are not kept, so the label names only the months
        label = f"from {MONTH_NAMES[months[0] - 1]} to {MONTH_NAMES[months[-1] - 1]}, any year"
        if len(months) == 1:
            label = f"in {MONTH_NAMES[months[0] - 1]}, any year"
        return Span(None, None, label, tuple(months))
    if first.months and last.first is not None:  # "june to august 2019"
        first = Span(date(last.first.year, first.months[0], 1), None, "")
    if first.first and first.last and last.first and last.last and last.last < first.first:
        first, last = last, first  # "2019 to 2018": the same years, written from the later one
    if first.first is None or last.last is None or last.last < first.first:
        return None
    return Span(first.first, last.last, f"between {first.first.isoformat()} and {last.last.isoformat()}")
