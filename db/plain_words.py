"""The words db/plain.py reads as times and as glue, one table a language. English first; another language is
another Language value (its words lower case, accents as typed)."""

from __future__ import annotations

from dataclasses import dataclass

FIRST_YEAR = 1826  # the first photograph: a smaller four-digit number is not a year a photo was taken


@dataclass(frozen=True)
class Language:
    months: dict[str, int]  # name or abbreviation -> 1..12
    seasons: dict[str, tuple[int, ...]]  # -> its months, in order (meteorological, northern hemisphere)
    lone_excluded: frozenset[str]  # month or season words that alone mean something else too often ("may")
    days: dict[str, int]  # -> days from today ("yesterday": -1)
    units: dict[str, str]  # -> "year", "month", "week", "weekend", "day" or "night" (the evening of a day)
    now: frozenset[str]  # the end of a range that runs up to today ("2018 to now")
    previous: frozenset[str]  # "last summer"
    current: frozenset[str]  # "this year"
    numbers: dict[str, int]  # "two years ago"
    ago: frozenset[str]
    range_openers: frozenset[str]  # "between 2018 and 2019", "from 2018 to 2019"
    range_joiners_after_opener: frozenset[str]
    range_joiners: frozenset[str]  # "2018 to 2019"
    since: frozenset[str]  # "since 2019": from its first day on
    after: frozenset[str]  # "after 2019": from the day after it
    before: frozenset[str]  # "before 2019": up to the day before it
    until: frozenset[str]  # "until 2019": up to its last day
    of: frozenset[str]  # "summer of 2019"
    thirds: dict[str, int]  # "early 2019", "the late 90s": the first, middle or last third of a year, decade or century
    tagged: frozenset[str]  # "tagged christmas": the words after are a person's keyword, not a time or a place
    lead_ins: frozenset[str]  # words that go with the time or place after them: "in sydney", "from 2019"
    choice_joiners: frozenset[str]  # two places or times so joined are choices ("paris and rome", "2019 or 2021")
    or_joiners: frozenset[str]  # two people so joined are choices ("mom or dad"; "mom and dad" is both)
    # What the words after it must not be: "beach without dogs", "street with no cars", "kids but not grandma"
    negations: frozenset[str]
    list_joiners: frozenset[str]  # what is left out goes on past these: "without dogs or people"
    stars: frozenset[str]  # "4 stars": rated at least 4
    or_more: frozenset[str]  # "4 stars or more", said or not
    # Left out ("beach photos", "photos from 2019"): these even where the library holds them (most file and folder
    # names say "photo")...
    always_fillers: frozenset[str]
    # ...these only where it does not ("tequila shots 2019", "mirror image 2019", a sign that says "kiss me")
    fillers: frozenset[str]
    # Holidays, by the name db/plain_spans.py knows their days by (HOLIDAYS): "christmas 2019", "easter 2020"
    holidays: dict[str, str]
    # Words that tie a sentence together and name nothing a photo holds: they go once a word was read or left out
    # ("the summer of 2019", "me in paris"), and a query of nothing else is every photo ("the").
    glue: frozenset[str]


_MONTHS = "january february march april may june july august september october november december".split()
_UNITS = ("year", "month", "week", "weekend", "day", "night")
MONTH_NAMES = tuple(name.title() for name in _MONTHS)  # how a reading is shown: in English, as the CLI is
# Who is in the photo is a person's keyword, never "me" or "our": no caption or file name says it of them.
_PRONOUNS = frozenset(
    "i me my mine myself we us our ours ourselves you your yours he him his she her hers they them their theirs".split()
)


ENGLISH = Language(
    months={
        **{name: number for number, name in enumerate(_MONTHS, start=1)},
        **{name[:3]: number for number, name in enumerate(_MONTHS, start=1) if name != "may"},
        "sept": 9,
    },
    seasons={"spring": (3, 4, 5), "summer": (6, 7, 8), "autumn": (9, 10, 11), "fall": (9, 10, 11), "winter": (12, 1, 2)},
    # Alone, "may" is a verb, "fall" a waterfall or a tumble, "jan" and "dec" names; with a year they are dates.
    lone_excluded=frozenset("may fall jan mar jun dec sat".split()),
    days={"today": 0, "yesterday": -1},
    now=frozenset({"now", "today", "present", "present day", "date"}),
    units={**{unit: unit for unit in _UNITS}, **{unit + "s": unit for unit in _UNITS}},
    previous=frozenset({"last", "previous"}),
    current=frozenset({"this"}),
    numbers={
        "a": 1,
        **{name: number for number, name in enumerate("one two three four five six seven eight nine ten".split(), 1)},
    },
    ago=frozenset({"ago"}),
    range_openers=frozenset({"between", "from", "since"}),
    range_joiners_after_opener=frozenset({"and", "to", "until", "till", "through", "-", "–"}),
    range_joiners=frozenset({"to", "until", "till", "through", "-", "–"}),
    since=frozenset({"since"}),
    after=frozenset({"after"}),
    before=frozenset({"before"}),
    until=frozenset({"until", "till", "through"}),
    of=frozenset({"of"}),
    thirds={"early": 0, "mid": 1, "middle": 1, "late": 2},
    tagged=frozenset({"tagged", "tag", "labelled", "labeled"}),
    lead_ins=frozenset({"in", "from", "during", "on", "at", "of"}),
    choice_joiners=frozenset({"and", "or", "&"}),
    or_joiners=frozenset({"or"}),
    negations=frozenset(
        {"without", "except", "except for", "excluding", "but not", "but no", "with no", "and no", "and not", "not", "no"}
    ),
    list_joiners=frozenset({"or", "and", "nor", "&"}),
    stars=frozenset({"star", "stars", "starred"}),
    or_more=frozenset({"or more", "and up", "and above", "or better", "or higher", "plus", "+"}),
    holidays={
        **{name: "Christmas" for name in ("christmas", "xmas", "x-mas", "christmastime", "christmas time")},
        **{name: "Christmas Eve" for name in ("christmas eve", "xmas eve")},
        **{name: "Christmas Day" for name in ("christmas day", "xmas day")},
        "boxing day": "Boxing Day",
        **{name: "New Year" for name in ("new year", "new year's", "new years")},
        **{name: "New Year's Eve" for name in ("new year's eve", "new years eve", "nye")},
        **{name: "New Year's Day" for name in ("new year's day", "new years day")},
        "halloween": "Halloween",
        **{name: "Valentine's Day" for name in ("valentine's day", "valentines day", "valentine's", "valentines")},
        **{name: "Easter" for name in ("easter", "easter weekend")},
        "easter sunday": "Easter Sunday",
        "good friday": "Good Friday",
        "easter monday": "Easter Monday",
        "thanksgiving": "Thanksgiving",
    },
    always_fillers=frozenset("photo photos picture pictures pic pics taken".split()),
    # ...and the words of a request ("find pictures of my dog", "show me everything from 2019", "photos i took")
    fillers=frozenset("image images shot shots snap snaps find show search see everything anything took".split()) | _PRONOUNS,
    glue=frozenset(
        "a an the this that these those all some any every each of in on at from with by for to during and or & "
        "near around about circa over early late mid when where while is are was were be been".split()
    )
    | _PRONOUNS,
)
