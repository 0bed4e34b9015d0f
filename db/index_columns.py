"""The full-text index's per-document columns (day taken, file id, live), read into arrays once per index
generation: date filters and date order answered from them took milliseconds where Whoosh's numeric ranges
took 180 ms (docs/performance.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cached_property

import numpy as np

from db.documents import day_number
from db.plain_spans import holiday_days
from db.ranking import positions_in
from db.types import Filters, Span

_UNKNOWN_DAY = -(2**31)  # for an id the index lacks: sorts last when newest first, and negates safely


@dataclass(frozen=True)
class Columns:
    """Per-document arrays (index = Whoosh docnum) of one index generation."""

    day: np.ndarray
    fid: np.ndarray
    live: np.ndarray  # False for deleted documents, which keep their docnum until a merge
    moment: np.ndarray  # seconds since 1970 of the date and time taken: date order

    def date_order(self, docnums: np.ndarray, newest_first: bool) -> np.ndarray:
        """The docnums by date and time taken; equal moments keep their order (stable)."""
        keys = -self.moment[docnums] if newest_first else self.moment[docnums]
        return docnums[np.argsort(keys, kind="stable")]

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

    def moments_of(self, file_ids: np.ndarray) -> np.ndarray:
        """Seconds since 1970 of each file id's day and time taken (ids not in the index sort last, newest first)."""
        docnums = self.docnums_of(file_ids)
        return np.where(docnums >= 0, self.moment[np.maximum(docnums, 0)], _UNKNOWN_DAY * 86_400)

    def date_mask(self, filters: Filters, holding: Callable[[str], np.ndarray] | None = None) -> np.ndarray:
        """The documents the filters' dates admit; `holding(words)` marks those holding the words, for a span
        that admits (or, negated, keeps out) them too (Span.or_words: a holiday whose name the library holds)."""
        mask = self.live & self._within(Span(filters.date_from, filters.date_to, ""))
        for first, last in filters.not_dates:
            mask &= ~self._within(Span(first, last, ""))
        for span in filters.not_spans:  # what the span finds: "not christmas 2019" its days and that year's "christmas"
            mask &= ~self._within_or_holding(span, holding)
        for spans in filters.any_dates:
            mask &= np.logical_or.reduce([self._within_or_holding(span, holding) for span in spans])
        return mask

    def _within_or_holding(self, span: Span, holding: Callable[[str], np.ndarray] | None) -> np.ndarray:
        inside = self._within(span)
        if span.or_words and holding is not None:
            years = Span(date(span.first.year, 1, 1), date(span.last.year, 12, 31), "") if span.first and span.last else None
            inside |= holding(span.or_words) & (self._within(years) if years else True)
        return inside

    def _within(self, span: Span) -> np.ndarray:
        """Which documents were taken within the span (from its first day to its last, either open; or in its
        months of any year, from and to its days of them if it has them)."""
        if span.moving_every_year:  # Easter: its days in each year the library spans
            return self._on_holiday(span.holiday)
        if span.months:
            inside = np.isin(self.months, span.months)
            if span.day:  # from that day of the first month to the last day (the same day without one) of the last
                inside &= ~((self.months == span.months[0]) & (self.days_of_month < span.day))
                inside &= ~((self.months == span.months[-1]) & (self.days_of_month > (span.last_day or span.day)))
            return inside
        inside = np.ones(len(self.day), dtype=bool)
        if span.first:
            inside &= self.day >= day_number(span.first)
        if span.last:
            inside &= self.day <= day_number(span.last)
        return inside

    def _on_holiday(self, name: str) -> np.ndarray:
        """Every year's days of a movable feast, once per index generation (this object's life)."""
        if name not in self._holiday_masks:
            self._holiday_masks[name] = self._holiday_mask(name)
        return self._holiday_masks[name]

    @cached_property
    def _holiday_masks(self) -> dict[str, np.ndarray]:
        return {}

    def _holiday_mask(self, name: str) -> np.ndarray:
        known = self.day[self.live & (self.day != _UNKNOWN_DAY)] if len(self.day) else self.day
        if not len(known):
            return np.zeros(len(self.day), dtype=bool)
        first_year = int(known.min().astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64)) + 1970
        last_year = int(known.max().astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64)) + 1970
        spans = holiday_days(name, range(max(first_year, 1), min(last_year, 9998) + 1))  # each a year's, in order
        if not spans:  # every photo dated in 9999, whose Easter Monday could be past the calendar's end
            return np.zeros(len(self.day), dtype=bool)
        firsts = np.array([day_number(first) for first, _ in spans], dtype=np.int64)
        lasts = np.array([day_number(last) for _, last in spans], dtype=np.int64)
        latest = np.searchsorted(firsts, self.day, side="right") - 1  # the last holiday to start on or before each day
        return (latest >= 0) & (self.day <= lasts[np.maximum(latest, 0)])

    @cached_property
    def days_of_month(self) -> np.ndarray:
        """The day of the month (1-31) of each document's day."""
        days = self.day.astype("datetime64[D]")
        return (days - days.astype("datetime64[M]")).astype(np.int64) + 1

    @cached_property
    def months(self) -> np.ndarray:
        """The month (1-12) of each document's day."""
        return (self.day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12) + 1
