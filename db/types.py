"""The values the front ends hold: what they ask (Filters, the mode and the sort) and what they are answered
(SearchPage of SearchHit of ImageRecord, the tier names, Facets, CheckReport, Group).

Plain values, no rule of search or storage: this module imports nothing of the project but db/errors.py, so
every module of db/ and both front ends can import it without a circle."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import Enum

from db.errors import CaptionaryError

# -- what a search asks ------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    folder: str | None = None
    exts: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    places: tuple[str, ...] = ()  # any of these place names ("Japan", "Kyoto, Japan")
    # From the query's words (db/plain.py): one of each group's places ("place", a place name whole, as the library
    # names it: "new york"), tags ("tag", a person's keyword) or cameras ("camera": "iphone"): "paris france" is
    # ((place paris), (place france)), "paris or rome" ((place paris, place rome),), "mom or dad" ((tag mom, tag dad),).
    names: tuple[tuple[tuple[str, str], ...], ...] = ()
    # From the query's words: words no photo found holds where a search looks ("beach without dogs": "dogs")
    without: tuple[str, ...] = ()
    stars: int | None = None  # rated at least this many stars (1 to 5)
    not_dates: tuple[tuple[date, date], ...] = ()  # taken outside each of these ranges (`-date:2019`)
    # From the query's words: taken within one span of each group ("2019", "july", "july 4th", "2019 or 2021")
    any_dates: tuple[tuple[Span, ...], ...] = ()
    not_spans: tuple[Span, ...] = ()  # from the query's words: taken within none of these ("not in july")

    def has_dates(self) -> bool:
        return bool(self.date_from or self.date_to or self.not_dates or self.any_dates or self.not_spans)

    def is_empty(self) -> bool:
        chosen = self.folder or self.exts or self.tags or self.places or self.names or self.without or self.stars
        return not (chosen or self.has_dates())


class Mode(str, Enum):
    KEYWORD = "keyword"  # the words as typed: matches only, BM25 (+ adjacency)
    SEMANTIC = "semantic"  # meaning only: ranked by caption similarity
    HYBRID = "hybrid"  # matches (BM25 fused with similarity), then related photos (by caption or pixels)
    VISUAL = "visual"  # pixels only: ranked by the image embedder's text-to-photo similarity


class Sort(str, Enum):
    RELEVANCE = "relevance"
    DATE = "date"  # newest first
    DATE_ASC = "date_asc"


MODES = tuple(mode.value for mode in Mode)
SORTS = tuple(sort.value for sort in Sort)


def parse_mode(value: str | Mode) -> Mode:
    try:
        return Mode(value)
    except ValueError:
        raise CaptionaryError(f"Unknown search mode '{value}'; use one of {', '.join(MODES)}") from None


def parse_sort(value: str | Sort) -> Sort:
    try:
        return Sort(value)
    except ValueError:
        raise CaptionaryError(f"Unknown sort '{value}'; use one of {', '.join(SORTS)}") from None


# -- what a search answers ---------------------------------------------------------------------

WORDS, RELATED = "words", "related"  # the two tiers (db/ranking.py decides which photo is in which)
CAPTION_MEANING, PIXELS = "caption-meaning", "pixels"  # the signals besides WORDS


@dataclass(frozen=True)
class ImageRecord:
    """What front ends show about one indexed path."""

    id: int
    path: str
    root: str
    name: str
    ext: str
    size: int
    mtime: datetime
    caption: str
    edited: bool
    model: str
    width: int
    height: int
    format: str
    taken_at: datetime | None
    camera: str | None
    content_hash: str
    tags: list[str] = field(default_factory=list)
    place: str | None = None  # "Kyoto, Japan": typed in the file, else named from the GPS position
    title: str | None = None  # the file's own (IPTC/XMP)
    description: str | None = None
    file_tags: list[str] = field(default_factory=list)  # the visible tags that are the file's keywords
    rating: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    metadata_problem: str | None = None
    text: str | None = None  # read in the pixels (OCR); None: not read, "": none found
    taken_zone: str | None = None  # "+02:00", "Z" (UTC), or None: taken_at is local time, zone unknown
    pair: str | None = None  # the other half of a RAW+JPEG pair (IMG_1.CR2 beside IMG_1.JPG), indexed too
    pair_id: int | None = None

    @property
    def taken_time(self) -> str | None:
        """ISO 8601 date and time, saying what is known of the zone: "2023-11-15T05:30:00-07:00" (local time, its offset
        from the camera or the GPS position), "2023-11-15T12:30:00Z" (UTC), no suffix (local, zone unknown)."""
        return self.taken_at.isoformat() + (self.taken_zone or "") if self.taken_at else None


@dataclass(frozen=True)
class Span:
    """A stretch of time: days from first to last, or (first None) these months of any year."""

    first: date | None
    last: date | None
    label: str  # how it reads after "taken": "in 2019", "in July, any year"
    months: tuple[int, ...] = ()
    day: int = 0  # with months: that day of the month only ("july 4th": any year's July 4)...
    last_day: int = 0  # ...or from it in the first month to this day of the last ("july 4th to 10th", "dec 24 to jan 2")
    # Or a photo holding these words, taken in the span's years (any year without them): a holiday whose name the
    # library holds ("christmas 2019" beside a folder "Christmas 2019/", whose photos start on the 20th).
    or_words: str = ""
    holiday: str = ""  # of any year, the holiday (db/plain_spans.py HOLIDAYS): Easter's days, which move, in every year

    @property
    def moving_every_year(self) -> bool:
        """A holiday whose days move (Easter), of any year: its days in each year, which no months or days can hold."""
        return bool(self.holiday) and not self.months and self.first is None


@dataclass(frozen=True)
class Reading:
    words: str  # as typed, lower case ("last summer")
    kind: str  # "date", "place", "keyword", "camera", "not" or "stars"
    shown: str  # "taken in 2019", "taken in Sydney", "tagged grandma", "taken with iphone", 'without the word "dogs"'
    span: Span | None = None
    name: str = ""  # the place, keyword or camera
    also_words: bool = False  # the library also holds the words: they are searched as words too
    # Another choice beside the reading before it, not one more to meet ("paris and rome", "2019 or 2021",
    # "june, july"): a photo is taken in one place, in one year (db/plain_choices.py).
    or_previous: bool = False
    also_tagged: bool = False  # a place that is also a person's keyword (Paris): taken there or tagged so
    excluded: tuple[str, ...] = ()  # "not": the words no photo found may hold ("dogs", "red cars")
    stars: int = 0  # "stars": rated at least this many ("4 stars")

    def names(self) -> tuple[tuple[str, str], ...]:
        """The place, keyword or camera as Filters.names holds them: (field, name); ("words", name) where the
        library holds the name as words too (a choice's: alone they are searched as words)."""
        if self.kind == "place":
            names = (("place", self.name), ("tag", self.name)) if self.also_tagged else (("place", self.name),)
        else:
            names = (("camera", self.name),) if self.kind == "camera" else (("tag", self.name),)
        return (*names, ("words", self.name)) if self.also_words else names


@dataclass(frozen=True)
class Understood:
    """How db/plain.py read a query's plain words."""

    text: str  # what is searched as words, as before
    readings: tuple[Reading, ...] = ()
    left_out: tuple[str, ...] = ()  # words as typed that are searched neither as words nor as a reading ("photos")

    def narrow(self, filters: Filters) -> Filters:
        """The filters with every reading applied (each applies, as the app's filters do; choices joined by "or"
        or "and" apply as one: any of them)."""
        for choices in self._choices():
            reading = choices[0]
            if reading.kind == "stars":  # "4 or 5 stars": the fewer of them
                filters = replace(filters, stars=min(choice.stars for choice in choices))
            elif reading.kind == "not" and reading.span is not None:  # "not in 2019", "not in july"
                filters = replace(filters, not_spans=(*filters.not_spans, reading.span))
            elif reading.kind == "not":
                filters = replace(filters, without=(*filters.without, *reading.excluded))
            elif reading.kind in ("place", "keyword", "camera"):
                names = tuple(name for choice in choices for name in choice.names())
                filters = replace(filters, names=(*filters.names, names))
            else:
                spans = tuple(choice.span for choice in choices if choice.span is not None)
                filters = replace(filters, any_dates=(*filters.any_dates, spans))
        return filters

    def _choices(self) -> list[list[Reading]]:
        """The readings to apply, each with those joined to it as other choices; a name the library also holds
        as words, alone, is searched as those words, which reach its places and keywords as well."""
        return [group for group in choice_groups(list(self.readings)) if len(group) > 1 or not group[0].also_words]


def choice_groups(readings: list[Reading]) -> list[list[Reading]]:
    """The readings, each with those joined to it as other choices ("paris and rome", "2019 or 2021")."""
    groups: list[list[Reading]] = []
    for reading in readings:
        if reading.or_previous and groups and groups[-1][0].kind == reading.kind:
            groups[-1].append(reading)
        else:
            groups.append([reading])
    return groups


@dataclass(frozen=True)
class SearchHit:
    image: ImageRecord
    score: float
    match: str = WORDS  # WORDS: the query's words match; RELATED: by meaning only (db/ranking.py)
    signals: tuple[str, ...] = (WORDS,)  # which found it: WORDS, CAPTION_MEANING, PIXELS (db/meaning.py)


@dataclass(frozen=True)
class SearchPage:
    hits: list[SearchHit]
    total: int  # matches and related photos together
    terms: set[str]
    seconds: float
    mode: str = "keyword"
    related: int = 0  # how many of `total` are related photos (they come after every match)
    understood: Understood = Understood("")  # how the query's plain words were read (none in keyword mode)
    tags: list[tuple[str, int]] = field(default_factory=list)  # the tags the photos found carry most, if asked for

    @property
    def matches(self) -> int:
        return self.total - self.related


# -- what the library's other questions answer -------------------------------------------------


@dataclass(frozen=True)
class Facets:
    folders: list[str]
    formats: list[str]  # "JPEG", "PNG", "CR2": one entry per format (db/formats.py)
    tags: list[tuple[str, int]]
    roots: list[str]
    places: list[tuple[str, int]] = field(default_factory=list)
    days: tuple[date, date] | None = None  # the first and last day photos are filed under; None: no photo
    rated: int = 0  # photos with a rating of a star or more


@dataclass
class CheckReport:
    missing_in_fulltext: list[int] = field(default_factory=list)
    stale_in_fulltext: list[int] = field(default_factory=list)
    missing_on_disk: list[str] = field(default_factory=list)
    fulltext_lag: int = 0
    fulltext_damaged: str | None = None  # why the search index cannot be read (rebuild-fulltext rebuilds it)
    # Of the missing and stale ids, those the next sync would not write (the rest: a lag it catches up).
    out_of_step: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (
            self.missing_in_fulltext
            or self.stale_in_fulltext
            or self.missing_on_disk
            or self.fulltext_lag
            or self.fulltext_damaged
        )


@dataclass(frozen=True)
class Group:
    """Near-duplicates (db/looks.py)."""

    paths: list[str]
    similarity: float  # the lowest among the pairs at or above the threshold that link the group
