"""When, in a query's plain words: the times db/plain.py reads ("2019", "last summer", "july 4th to 10th",
"christmas 2019", "2018 to now"), each a Span (db/plain_spans.py), and what the library holds says of them."""

from __future__ import annotations

import calendar
import contextlib
import re
from datetime import date, timedelta
from typing import Protocol

from db import plain_spans as spans
from db.plain_words import FIRST_YEAR, MONTH_NAMES, Language
from db.types import Reading, Span


class Vocabulary(Protocol):
    """What the library holds, as the search index answers it (db/vocabulary.py)."""

    def place(self, name: str) -> bool: ...  # a part of some photo's place name ("new york")

    def keyword(self, name: str) -> bool: ...  # a keyword a person gave (in captionary or in the file)

    def camera(self, name: str) -> bool: ...  # a name some photo's camera goes by ("iphone", "canon eos")

    def holds(self, words: str) -> bool: ...  # in some caption, file name, title, description or text

    def taken_in(self, first: date, last: date) -> bool: ...  # some photo is dated in the range


class WhenReader:
    """The times among a query's words; db/plain.py's reader, which also reads places and people, is one."""

    tokens: list[str]
    words: list[str | None]  # each token as a plain word, None where it is none (quoted, a field, taken back)
    vocabulary: Vocabulary
    today: date
    language: Language
    days_listed: dict[int, tuple[int, Span] | None]  # _day_after_a_day's, by where the day is

    def _name(self, i: int) -> tuple[int, Reading] | None:
        raise NotImplementedError  # the place or person's keyword the words at i name (db/plain.py)

    def _phrase(self, i: int, end: int) -> str:
        return " ".join(word or "" for word in self.words[i:end])

    def _date(self, i: int) -> tuple[int, Reading] | None:
        found = self._range(i) or self._open_range(i) or self._atom(i)
        if found is None:
            return None
        end, span = found
        words = self._phrase(i, end)
        lone = span.months and not span.or_words and end - i == 1 and not self._in_list_of_times(i)
        if lone and self._after_a_lead_in(i):  # "in july", "not in march": a time, whatever captions hold...
            if self.vocabulary.keyword(words) or self.vocabulary.place(words):
                return None  # ...but "photos from may" of a person called May is hers
        elif lone and (words in self.language.lone_excluded or self._held(words)):
            return None  # "march" in a library of protest marches is the word; "may" alone is a verb
        written = words.isdigit() or spans.SHORT_DECADE.fullmatch(words) or spans.NUMERIC.fullmatch(words)
        if span.first and span.last and end - i == 1 and (written or spans.ISO.fullmatch(words)):
            if not self.vocabulary.taken_in(span.first, span.last) and self.vocabulary.holds(words):
                # a year, decade or day no photo was taken in, that some caption or file name holds ("80s party",
                # a scan named 25.12.2019.jpg)
                return None
        return end, Reading(words, "date", f"taken {span.label}", span=span)

    def _in_list_of_times(self, i: int) -> bool:
        """Whether the word at i is listed with a month or season beside it ("may or june", "june, may"): a time,
        whatever it means alone."""
        times, joiners = self.language.months.keys() | self.language.seasons.keys(), self.language.choice_joiners
        after = i + 1 if self.tokens[i].endswith(",") else i + 2 if self._at(i + 1) in joiners else None
        before = i - 1 if i > 0 and self.tokens[i - 1].endswith(",") else i - 2 if self._at(i - 1) in joiners else None
        return any(n is not None and self._at(n) in times for n in (after, before))

    def _after_a_lead_in(self, i: int) -> bool:
        """Whether a word that leads to a time is before i ("in", "during", "from"; not "of": "pictures of march")."""
        return i > 0 and self._at(i - 1) in self.language.lead_ins - {"of"}

    def _held(self, words: str) -> bool:
        return self.vocabulary.holds(words) or self.vocabulary.place(words) or self.vocabulary.keyword(words)

    def _range(self, i: int) -> tuple[int, Span] | None:
        opener = self.words[i] in self.language.range_openers
        joiners = self.language.range_joiners_after_opener if opener else self.language.range_joiners
        first = self._atom(i + 1 if opener else i) or self._day_before_a_day(i + 1 if opener else i, joiners)
        if first is None or first[0] >= len(self.words):
            return None
        if self.words[first[0]] not in joiners:
            return None
        last = self._atom(first[0] + 1) or self._day_of(first[0] + 1, first[1]) or self._now(first[0] + 1)  # "july 4th to 10th"
        if last is None:
            return None
        span = spans.join(first[1], last[1])
        return None if span is None else (last[0], span)

    def _day_before_a_day(self, i: int, joiners: frozenset[str]) -> tuple[int, Span] | None:
        """ "4th to 10th july": a day alone, the first of a range to a day of a month, is a day of that month."""
        last = self._atom(i + 2) if self._at(i + 1) in joiners else None
        return None if last is None else self._day_of(i, last[1])

    def _day_after_a_day(self, i: int) -> tuple[int, Span] | None:
        """ "july 4th or 5th", "july 4th, 5th and 6th": a day alone, listed after a day of a month, is of that month."""
        if i not in self.days_listed:  # asked again for each day after it ("july 1st, 2nd, 3rd, ...")
            self.days_listed[i] = self._listed_day(i)
        return self.days_listed[i]

    def _listed_day(self, i: int) -> tuple[int, Span] | None:
        joiner = self._joiner_before(i) if spans.DAY.fullmatch(self._at(i) or "") else None
        if joiner is None:
            return None
        named = self._name(i)  # after the joiner: a number alone ("dog 2") asks the library nothing
        if named is not None and named[0] > i + 1:
            return None  # "july 4th and 5th avenue": a place
        for start in range(max(0, joiner - 3), joiner + 1):
            before = self._atom(start, listed=False)
            if before is not None and before[0] == joiner + 1:
                return self._day_of(i, before[1])
        before = self._day_after_a_day(joiner)  # "july 4th, 5th and 6th": the list goes back
        return None if before is None else self._day_of(i, before[1])

    def _joiner_before(self, i: int) -> int | None:
        """Where the item listed before i ends (its last word): "july 4th or 5th", "july 4th, 5th"."""
        if i > 0 and self.tokens[i - 1].endswith(","):
            return i - 1
        return i - 2 if self._at(i - 1) in self.language.choice_joiners else None

    def _day_of(self, i: int, other: Span) -> tuple[int, Span] | None:
        """A day alone at i ("10th") in the month (and year) of a span of one day ("july 4th", "2019-07-04")."""
        found = spans.DAY.fullmatch(self._at(i) or "")
        number = int(found[1]) if found else 0
        if number < 1:
            return None
        if other.first is not None and other.first == other.last:
            with contextlib.suppress(ValueError):
                taken = other.first.replace(day=number)
                return i + 1, Span(taken, taken, f"on {taken.isoformat()}")
            return None
        if other.first is None and other.day and not other.last_day and len(other.months) == 1:
            if number <= calendar.monthrange(2000, other.months[0])[1]:
                label = f"on {MONTH_NAMES[other.months[0] - 1]} {number}, any year"
                return i + 1, Span(None, None, label, other.months, day=number)
        return None

    def _now(self, i: int) -> tuple[int, Span] | None:
        """ "2018 to now", "2019 to present day": up to today, as the end of a range ("to date" too)."""
        for end in (i + 2, i + 1):
            if end <= len(self.words) and None not in self.words[i:end] and self._phrase(i, end) in self.language.now:
                return end, Span(self.today, self.today, "")
        return None

    def _open_range(self, i: int) -> tuple[int, Span] | None:
        word, language = self.words[i], self.language
        found = self._atom(i + 1) if word in language.since | language.after | language.before | language.until else None
        if found is not None and spans.any_year(found[1]):  # "since july", "until christmas": the latest begun
            latest = self._latest_begun(found[1])
            found = None if latest is None else (found[0], latest)
        if found is None or found[1].first is None or found[1].last is None:
            return None
        end, span = found
        assert span.first is not None and span.last is not None
        if word in language.since:  # "since 2019 till now" says no more than "since 2019"
            joined = self._now(end + 1) if self._at(end) in language.range_joiners else None
            return joined[0] if joined else end, Span(span.first, None, f"since {span.first.isoformat()}")
        if word in language.until:
            return end, Span(None, span.last, f"until {span.last.isoformat()}")
        try:
            if word in language.after:
                return end, Span(span.last + timedelta(days=1), None, f"after {span.last.isoformat()}")
            return end, Span(None, span.first - timedelta(days=1), f"before {span.first.isoformat()}")
        except OverflowError:  # after 9999-12-31 or before 0001-01-01: no day, so not a time; its words stay
            return None

    def _latest_begun(self, span: Span) -> Span | None:
        """A time of any year ("july", "christmas", "july 4th") as the latest one begun by today: "since july" in
        March 2021 is since July 2020."""
        for year in range(self.today.year, self.today.year - 8, -1):  # 8: February 29 skips up to 7 years
            with contextlib.suppress(ValueError, OverflowError):
                dated = spans.in_year(span, year)
                if dated.first is not None and dated.first <= self.today:
                    return dated
        return None

    def _at(self, i: int) -> str | None:
        return self.words[i] if 0 <= i < len(self.words) else None

    def _year(self, i: int) -> tuple[int, int] | None:
        """A year at i, or after "of" ("summer of 2019"): (end, year)."""
        after_of = self._at(i) in self.language.of
        i += after_of
        word = self._at(i)
        if word is not None and spans.SHORT_YEAR.fullmatch(word):  # "summer '19": this century's, unless still to come
            return i + 1, self._century(int(word[1:]))
        if after_of and word is not None and re.fullmatch(r"\d\d", word):  # "summer of 69", said without the mark
            return i + 1, self._century(int(word))
        if word is None or not spans.YEAR.fullmatch(word) or not FIRST_YEAR <= int(word) <= self.today.year:
            return None
        return i + 1, int(word)

    def _century(self, two_digits: int) -> int:
        return 2000 + two_digits if 2000 + two_digits <= self.today.year else 1900 + two_digits

    def _atom(self, i: int, listed: bool = True) -> tuple[int, Span] | None:
        """One time: a year, a month or a season (with or without a year), a day, or one relative to today; a day
        alone is one only `listed` after a day of a month."""
        word, language = self._at(i), self.language
        if word is None:
            return None
        if word in language.thirds and (whole := self._atom(i + 1, listed)) is not None:  # "early 2019", "late 90s"
            third = spans.third_of(whole[1], language.thirds[word], word)
            if third is not None:
                return whole[0], third
        year = self._year(i) if word not in language.of else None
        if year is not None:
            return year[0], Span(date(year[1], 1, 1), date(year[1], 12, 31), f"in {year[1]}")
        if (iso := spans.ISO.fullmatch(word)) is not None:
            return spans.iso_span(iso, i)
        if (numeric := spans.NUMERIC.fullmatch(word)) is not None:
            return spans.numeric_span(numeric, i)
        if (decade := spans.DECADE.fullmatch(word)) is not None:
            start = int(decade[1]) * 10
            if start in (1800, 1900):  # "photos from the 1800s": the century, as people say it (the 2000s: a decade)
                return i + 1, Span(date(start, 1, 1), date(start + 99, 12, 31), f"in the {start}s ({start} to {start + 99})")
            return i + 1, Span(date(start, 1, 1), date(start + 9, 12, 31), f"in the {start}s")
        if (decade := spans.SHORT_DECADE.fullmatch(word)) is not None:  # "90s", "the '80s"
            start = self._century(int(decade[1]) * 10)
            return i + 1, Span(date(start, 1, 1), date(start + 9, 12, 31), f"in the {start}s")
        if word in language.days:
            day = self.today + timedelta(days=language.days[word])
            return i + 1, Span(day, day, f"on {day.isoformat()}")
        if word in language.previous | language.current:
            return self._relative(i, word in language.previous)
        if (word in language.numbers or word.isdigit()) and (ago := self._ago(i)) is not None:
            return ago
        if (years := spans.YEARS.fullmatch(word)) is not None and FIRST_YEAR <= int(years[1]) <= int(years[2]):
            first, last = int(years[1]), int(years[2])
            return i + 1, Span(date(first, 1, 1), date(last, 12, 31), f"between {first}-01-01 and {last}-12-31")
        if spans.DAY.fullmatch(word):  # "14 july 2019", "4th of july"
            month = i + 2 if self._at(i + 1) in language.of else i + 1
            if self._at(month) in language.months:
                return self._day(month, language.months[self._at(month) or ""], word)
            return self._day_after_a_day(i) if listed else None
        if (holiday := self._holiday(i)) is not None:
            return holiday
        if word in language.months:
            return self._month(i, language.months[word])
        if word in language.seasons:
            months = language.seasons[word]
            year = self._year(i + 1)
            if year is None:
                return i + 1, Span(None, None, f"in {spans.season_name(months)}, any year", months)
            return year[0], spans.season_of(months, year[1])
        return None

    def _holiday(self, i: int) -> tuple[int, Span] | None:
        """ "christmas 2019", "new year's eve", "halloween": a holiday's days, of a year or (a fixed date) of any."""
        named = self._holiday_name(i)
        if named is None:
            return None
        end, name, or_words = named
        year = self._year(end)
        span = spans.holiday(name, year[1] if year else None, or_words)
        return None if span is None else (year[0] if year else end, span)

    def _holiday_name(self, i: int) -> tuple[int, str, str] | None:
        """The holiday the words at i name: where they end, its name, and its words where the library holds them (a
        folder "Christmas 2019/", a caption's "christmas tree": its photos are those days' or those words',
        Span.or_words). None where as many words or more name a place or a person ("christmas island", Valentine)."""
        for end in range(min(len(self.words), i + 3), i, -1):
            words = self._phrase(i, end) if None not in self.words[i:end] else ""
            name = self.language.holidays.get(words.replace("\u2019", "'"))
            if name is not None:
                place_or_person = self._name(i)  # "christmas island", "valentine's" (a person); not "valentine's day"
                # ...but a keyword that is the holiday's name is its photos' tag (Lightroom's "Christmas"): the
                # holiday, whose words reach the keyword too (was: the tagged photos alone, the rest of its days lost)
                its_tag = (
                    place_or_person is not None and place_or_person[1].kind == "keyword" and place_or_person[1].name == words
                )
                if place_or_person is not None and place_or_person[0] >= end and not its_tag:
                    return None
                return end, name, words if self._held(words) else ""
        return None

    def _day(self, i: int, month: int, day: str) -> tuple[int, Span] | None:
        """A day of a month, of a year or of any ("july 4th"), the later of the two at i: "july 14 2019", "14 july"."""
        year, number = self._year(i + 1), spans.DAY.fullmatch(day)
        if number is None:
            return None
        try:
            taken = date(year[1] if year else 2000, month, int(number[1]))  # 2000: February 29 is a day
        except ValueError:
            return None
        if year is None:
            label = f"on {MONTH_NAMES[month - 1]} {taken.day}, any year"
            return i + 1, Span(None, None, label, (month,), day=taken.day)
        return year[0], Span(taken, taken, f"on {taken.isoformat()}")

    def _month(self, i: int, month: int) -> tuple[int, Span] | None:
        day = self._at(i + 1)
        if day is not None and spans.DAY.fullmatch(day) and (found := self._day(i + 1, month, day)) is not None:
            return found
        if day is not None and (run := spans.DAYS.fullmatch(day)) is not None:  # "july 4-10", "july 4-10 2019"
            first, last = (Span(None, None, "", (month,), day=int(number)) for number in run.groups())
            joined = spans.join(first, last) if 1 <= first.day <= last.day <= calendar.monthrange(2000, month)[1] else None
            year = self._year(i + 2)
            if joined is not None and year is None:
                return i + 2, joined
            if joined is not None and year is not None:
                with contextlib.suppress(ValueError):  # "feb 29-29 2019": no such day
                    return year[0], spans.in_year(joined, year[1])
        year = self._year(i + 1)
        if year is None:
            return i + 1, Span(None, None, f"in {MONTH_NAMES[month - 1]}, any year", (month,))
        return year[0], spans.month_span(year[1], month)

    def _relative(self, i: int, previous: bool) -> tuple[int, Span] | None:
        """ "last summer", "this year", "last july", "last week": the latest that has ended, or the current one."""
        word, language, today = self._at(i + 1), self.language, self.today
        if word in language.seasons:
            months = language.seasons[word]
            candidates = [spans.season(months, year, "") for year in range(today.year, today.year - 3, -1)]
            if previous:
                span = next(span for span in candidates if span.last is not None and span.last < today)
            else:  # the season today is in, else this year's
                span = next(
                    (span for span in candidates if span.first and span.last and span.first <= today <= span.last), candidates[0]
                )
            assert span.first is not None and span.last is not None
            return i + 2, spans.season_of(months, span.first.year)
        if word in language.months:
            month = language.months[word]
            year = (
                today.year - 1
                if previous and (today.month, today.day) <= (month, calendar.monthrange(today.year, month)[1])
                else today.year
            )
            return i + 2, spans.month_span(year, month)
        if (holiday := self._holiday_name(i + 1)) is not None:  # "last christmas": the latest that has ended
            end, name, or_words = holiday
            for year in range(today.year, today.year - 3, -1):
                dated = spans.holiday(name, year, or_words)
                assert dated is not None and dated.last is not None  # of a year: always its days
                if not (previous and dated.last >= today):
                    return end, dated
        unit = language.units.get(word or "")
        if unit is None or unit == "day" or (unit == "night" and not previous):  # "this night" is not yet a photo
            return None
        return i + 2, spans.units_back(today, unit, 1 if previous else 0)  # type: ignore[arg-type]

    def _count(self, word: str) -> int:
        """A small count, as a word ("two", "a") or in digits ("3"); 0 for anything else."""
        return self.language.numbers.get(word) or (int(word) if word.isdigit() and len(word) < 4 else 0)

    def _ago(self, i: int) -> tuple[int, Span] | None:
        """ "two years ago", "3 months ago": that year, month, week or day."""
        word, unit, ago = self._at(i), self.language.units.get(self._at(i + 1) or ""), self._at(i + 2)
        count = self._count(word or "")
        if not count or unit is None or ago not in self.language.ago:
            return None
        return i + 3, spans.units_back(self.today, unit, count)
