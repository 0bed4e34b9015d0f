"""The spans of time db/plain.py reads: the patterns of years, decades and days, and the spans of a month, a
season, a unit back from today and a range between two times."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import date, timedelta
from functools import lru_cache

from db.plain_words import MONTH_NAMES
from db.types import Span

YEAR = re.compile(r"\d{4}")
YEARS = re.compile(r"(\d{4})[-–](\d{4})")
ISO = re.compile(r"(\d{4})([-/.])(\d{1,2})(?:\2(\d{1,2}))?")  # "2019-07-14", "2019/07/14", "2019.07"
NUMERIC = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})")  # "25/12/2019", "12/25/2019", "25.12.2019", "25-12-2019"
DECADE = re.compile(r"(1[89]\d|20\d)0'?s")
SHORT_DECADE = re.compile(r"'?(\d)0'?s")
SHORT_YEAR = re.compile(r"'\d\d")
DAY = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?")
DAYS = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?[-–](\d{1,2})(?:st|nd|rd|th)?")  # "4-10", "4th–10th"


def iso_span(found: re.Match[str], i: int) -> tuple[int, Span] | None:
    year, month, day = int(found[1]), int(found[3]), found[4]
    if day:
        return _day(i, year, month, int(day))
    try:
        return i + 1, month_span(year, month)
    except ValueError:
        return None  # "2019-13": not a date, a word


def _day(i: int, year: int, month: int, day: int) -> tuple[int, Span] | None:
    try:
        taken = date(year, month, day)
    except ValueError:
        return None  # "2019-02-30", "31/02/2019": not a date, words
    return i + 1, Span(taken, taken, f"on {taken.isoformat()}")


def numeric_span(found: re.Match[str], i: int) -> tuple[int, Span] | None:
    """A day written with its year last: day first where the day is over 12 or dots part it (as in Germany), month
    first where the second number is over 12; "5/6/2019", May 6th or June 5th by where it was written, is neither."""
    first, second, year = int(found[1]), int(found[3]), int(found[4])
    if first > 12 or (found[2] == "." and second <= 12) or first == second:
        day, month = first, second
    elif second > 12:
        month, day = first, second
    else:
        return None
    return _day(i, year, month, day)


def third_of(span: Span, third: int, word: str) -> Span | None:
    """The first, middle or last third (0, 1, 2) of whole years: "early 2019" January to April, "the late 90s" 1997
    to 1999, "the early 1900s" 1900 to 1933; None for a span that is not whole years ("early july")."""
    first, last = span.first, span.last
    if first is None or last is None or (first.month, first.day, last.month, last.day) != (1, 1, 12, 31):
        return None
    years = last.year - first.year + 1
    count = years if years > 1 else 12  # a year's thirds are months
    bounds = (0, -(-count // 3), count - count // 3, count)  # the first third rounded up, the last down: 4/3/3, 34/33/33
    start, end = bounds[third], bounds[third + 1]
    if years > 1:
        part_first, part_last = date(first.year + start, 1, 1), date(first.year + end - 1, 12, 31)
        shown = f"in the {word} {first.year}s"
    else:
        part_first = date(first.year, start + 1, 1)
        part_last = date(first.year, end, calendar.monthrange(first.year, end)[1])
        shown = f"in {word} {first.year}"
    return Span(part_first, part_last, f"{shown} ({part_first.isoformat()} to {part_last.isoformat()})")


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
    """The year, month, week (Monday to Sunday), weekend, day or night `count` of them before today's."""
    if unit == "year":
        year = today.year - count
        return Span(date(year, 1, 1), date(year, 12, 31), f"in {year}")
    if unit == "month":
        index = today.year * 12 + today.month - 1 - count
        return month_span(index // 12, index % 12 + 1)
    if unit == "weekend" and count == 0 and today.weekday() < 5:
        count = 1  # "this weekend" on a weekday: the one just past, which has photos, not the one to come
    if unit in ("week", "weekend"):  # a week's weekend is its Saturday and Sunday: on a Monday, "last weekend" just ended
        monday = today - timedelta(days=today.weekday() + 7 * count)
        first = monday + timedelta(days=5) if unit == "weekend" else monday
        sunday = monday + timedelta(days=6)
        return Span(first, sunday, f"between {first.isoformat()} and {sunday.isoformat()}")
    day = today - timedelta(days=count)  # a night is the evening of its day: "last night" is yesterday's
    return Span(day, day, f"on {day.isoformat()}")


def _easter(year: int) -> date:
    """Easter Sunday of the Gregorian calendar (the anonymous algorithm of Meeus, Jones and Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e, f = b // 4, b % 4, (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741 - the algorithm's own names
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _fourth_thursday_of_november(year: int) -> date:
    first = date(year, 11, 1)
    return first + timedelta(days=(3 - first.weekday()) % 7 + 21)


def _days(month: int, day: int, count: int = 1, year_before: bool = False) -> Callable[[int], tuple[date, date]]:
    def days(year: int) -> tuple[date, date]:
        first = date(year - year_before, month, day)
        return first, first + timedelta(days=count - 1)

    return days


def _around(anchor: Callable[[int], date], before: int, after: int) -> Callable[[int], tuple[date, date]]:
    return lambda year: (anchor(year) - timedelta(days=before), anchor(year) + timedelta(days=after))


# A holiday's days in a year, by the name it is shown by (the words for it are each language's: db/plain_words.py).
# Alone, one of a fixed date is those days of any year; Easter and Thanksgiving are theirs in every year.
HOLIDAYS: dict[str, Callable[[int], tuple[date, date]]] = {
    "Christmas": _days(12, 24, 3),  # Christmas Eve to Boxing Day
    "Christmas Eve": _days(12, 24),
    "Christmas Day": _days(12, 25),
    "Boxing Day": _days(12, 26),
    "New Year": _days(12, 31, 2, year_before=True),  # New Year 2020: the night from December 31, 2019
    "New Year's Eve": _days(12, 31),
    "New Year's Day": _days(1, 1),
    "Halloween": _days(10, 31),
    "Valentine's Day": _days(2, 14),
    "Easter": _around(_easter, 2, 1),  # Good Friday to Easter Monday
    "Easter Sunday": _around(_easter, 0, 0),
    "Good Friday": _around(_easter, 2, -2),
    "Easter Monday": _around(_easter, -1, 1),
    "Thanksgiving": _around(_fourth_thursday_of_november, 0, 0),  # the United States'
}


def holiday(name: str, year: int | None, or_words: str = "") -> Span | None:
    """A holiday's days in a year, or (None) of any year where they fall on the same days every year; `or_words`,
    the words that named it where the library holds them, are the other way to find its photos."""
    days = HOLIDAYS[name]
    if year is not None:
        first, last = days(year)
        shown = f"{first.isoformat()}" if first == last else f"{first.isoformat()} to {last.isoformat()}"
        label = f"{'on' if first == last else 'at'} {name} {year} ({shown})"
        years = f"{first.year}" if first.year == last.year else f"{first.year} or {last.year}"
        label += f", or in {years} with the word{'s' * (' ' in or_words)} {or_words}" if or_words else ""
        return Span(first, last, label, or_words=or_words, holiday=name)
    first, last = days(2001)
    words = f", or with the word{'s' * (' ' in or_words)} {or_words}" if or_words else ""
    if days(2002) != (first.replace(year=first.year + 1), last.replace(year=last.year + 1)):  # a movable feast
        return Span(None, None, f"{'on' if first == last else 'at'} {name}, any year{words}", or_words=or_words, holiday=name)
    months = [first.month] if first.month == last.month else [first.month, last.month]
    label = f"{'on' if first == last else 'at'} {name}, any year ({_day_name(first.month, first.day)}"
    label += ")" if first == last else f" to {_day_name(last.month, last.day)})"
    last_day = last.day if first != last else 0
    return Span(None, None, label + words, tuple(months), day=first.day, last_day=last_day, or_words=or_words, holiday=name)


def holiday_days(name: str, years: range) -> list[tuple[date, date]]:
    """The holiday's first and last day in each of the years."""
    return [HOLIDAYS[name](year) for year in years]


def any_year(span: Span) -> bool:
    """A span of any year: months, days of them, or a holiday."""
    return span.first is None and span.last is None and bool(span.months or span.holiday)


def in_another_year(span: Span, year: int) -> Span | None:
    """A part of one year (a month, a season, a day, a holiday: "july 2019", "christmas 2018") in another year;
    None for a whole year, more than one, or a day that year lacks."""
    if span.first is None or span.last is None or (span.last - span.first).days > 366:
        return None
    if (span.first, span.last) == (date(span.first.year, 1, 1), date(span.first.year, 12, 31)):
        return None
    if span.holiday:  # its own days that year (Easter moves), under its name
        return holiday(span.holiday, year, span.or_words)
    last_year = year + span.last.year - span.first.year
    try:
        first = span.first.replace(year=year)
    except ValueError:
        return None  # February 29 of a year that has none
    last = span.last.replace(year=last_year, day=min(span.last.day, calendar.monthrange(last_year, span.last.month)[1]))
    if (first.day, first.month) == (1, last.month) and last.day == calendar.monthrange(last_year, last.month)[1]:
        return month_span(year, first.month)  # "july 2019 or 2020": "in July 2020"
    label = f"on {first.isoformat()}" if first == last else f"between {first.isoformat()} and {last.isoformat()}"
    return Span(first, last, label)


def in_year(span: Span, year: int) -> Span:
    """A span of any year's months (and days) as it falls starting in `year`: "july 4th" in 2019 is 2019-07-04,
    "winter" or "december 24th to january 2nd" end in the next year. ValueError for a day the year lacks (February 29)."""
    if span.holiday:
        dated = holiday(span.holiday, year, span.or_words)
        assert dated is not None
        return dated
    if span.day and not span.last_day:
        day = date(year, span.months[0], span.day)
        return Span(day, day, f"on {day.isoformat()}")
    if not span.day:
        return month_span(year, span.months[0]) if len(span.months) == 1 else season_of(span.months, year)
    end_year = year + 1 if span.months[-1] < span.months[0] else year
    first = date(year, span.months[0], span.day)
    last = date(end_year, span.months[-1], min(span.last_day, calendar.monthrange(end_year, span.months[-1])[1]))
    return Span(first, last, f"between {first.isoformat()} and {last.isoformat()}")


@lru_cache(maxsize=256)  # a movable feast's takes 201 years: asked again for every choice beside it
def days_of_any_year(span: Span) -> frozenset[tuple[int, int]]:
    """The (month, day) pairs a span of any year's months, days or holiday holds (of a movable feast: in any year)."""
    days: set[tuple[int, int]] = set()
    for year in range(1900, 2101) if span.moving_every_year else (2000,):  # 2000: February 29 is a day
        dated = in_year(span, year)
        assert dated.first is not None and dated.last is not None
        count = (dated.last - dated.first).days + 1
        days |= {(day.month, day.day) for day in (dated.first + timedelta(days=n) for n in range(count))}
    return frozenset(days)


def _day_name(month: int, day: int) -> str:
    return f"{MONTH_NAMES[month - 1]} {day}" if day else MONTH_NAMES[month - 1]


def join(first: Span, last: Span) -> Span | None:
    """A range from one time to another: "2018 to 2019", "june to august 2019" (the year is shared), "july 4th to
    july 10th" (days of any year)."""
    if any_year(first) and any_year(last):  # "june to august", "july 4th to 10th": those months (and days) of any year
        if not (first.months and last.months):
            return None  # "easter to july": Easter moves, so no days of every year
        months = [first.months[0]]
        while months[-1] != last.months[-1] and len(months) < 12:
            months.append(months[-1] % 12 + 1)
        if not (first.day or last.day):
            label = f"from {MONTH_NAMES[months[0] - 1]} to {MONTH_NAMES[months[-1] - 1]}, any year"
            if len(months) == 1:
                label = f"in {MONTH_NAMES[months[0] - 1]}, any year"
            return Span(None, None, label, tuple(months))
        day, last_day = first.day or 1, last.last_day or last.day or 31  # "july 4th to august": to August's last day
        if len(first.months) > 1 and len(months) == 1 and last_day < day:
            # "new year to christmas": from the new year's first day, not from its eve through the whole year
            months, day = [first.months[1]], 1
            while months[-1] != last.months[-1] and len(months) < 12:
                months.append(months[-1] % 12 + 1)
        if len(months) == 1 and last_day < day:
            day, last_day = last_day, day  # "july 10th to july 4th": the same days, written from the later one
        label = f"from {_day_name(months[0], day)} to {_day_name(months[-1], last.day and last_day)}, any year"
        return Span(None, None, label, tuple(months), day=day, last_day=last_day)
    try:  # "june to august 2019", "december to february 2020", "july 4th 2019 to july 10th": the dated one's year
        if any_year(first) and last.first is not None and last.last is not None:
            dated = in_year(first, last.first.year)
            first = dated if dated.first is not None and dated.first <= last.last else in_year(first, last.first.year - 1)
        elif any_year(last) and first.first is not None:
            dated = in_year(last, first.first.year)
            # never ending before the first does: "2019 to new year" runs to New Year 2020 (New Year 2019 began in 2018)
            ends = first.last or first.first
            last = dated if dated.last is not None and dated.last >= ends else in_year(last, first.first.year + 1)
    except (ValueError, OverflowError):
        return None  # February 29 of a year that has none; a day past 9999-12-31
    if first.first and first.last and last.first and last.last and last.last < first.first:
        first, last = last, first  # "2019 to 2018": the same years, written from the later one
    if first.first is None or last.last is None or last.last < first.first:
        return None
    return Span(first.first, last.last, f"between {first.first.isoformat()} and {last.last.isoformat()}")
