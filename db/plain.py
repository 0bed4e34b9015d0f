"""Plain-language when, where and who in a query: "grandma 2019", "sydney in july", "beach last summer".

Words that name a time become the date filter, words that name one of the library's places a place
constraint, words equal to a person's keyword that keyword, the name of a camera some photo was taken with
that camera; the rest is searched as before. The rules are
here and, for times, in db/plain_when.py; the words are a table (db/plain_words.py: ENGLISH), so another
language is another table. What the library holds settles ambiguity: a name that is also a caption word
searches both, a lone month that is a caption word ("march") stays a word, a year no photo was taken in but
some caption holds stays a word.
"""

from __future__ import annotations

import re
from datetime import date

from db.plain_choices import with_choice
from db.plain_when import Vocabulary, WhenReader
from db.plain_words import ENGLISH, Language
from db.query import words_analyzer
from db.types import Reading, Understood, choice_groups

MAX_NAME_WORDS = 4  # "new south wales", "rio de janeiro": longer place names are rare


# Quotes, fields, operators and groups keep their meaning: a quoted word is literal, and a query with
# operators or parentheses is read as it is written.
_TOKENS = re.compile(r'"[^"]*"|\S+')
_STRUCTURE = re.compile(r"[()]|^(?:AND|OR|NOT|ANDNOT|ANDMAYBE|REQUIRE)$")
_EDGES = ",.;!?"
_POSSESSIVE = re.compile(r"(?<=\w)(?:['’]s|(?<=s)['’])$")  # "grandma's", "grandma’s", "james'"


def understand(
    text: str, vocabulary: Vocabulary, today: date, literal: frozenset[str] = frozenset(), language: Language = ENGLISH
) -> Understood:
    """Read the when, where and who in a query's plain words; `literal` lists readings not to make (by words)."""
    if text.count('"') % 2:
        return Understood(text)  # malformed: the parser says why
    tokens = _TOKENS.findall(text)
    if any(_STRUCTURE.search(token) for token in tokens if not token.startswith('"')):
        return Understood(text)
    if (marked := _marks_joined(tokens)) != tokens:  # "2019 , 2015", ", paris": a lone mark is no word to search
        if not marked:
            return Understood("", left_out=tuple(tokens))  # "!!!", "...": said so, as for "the"
        tokens, text = marked, " ".join(marked)
    kept, readings = _Reader(tokens, vocabulary, today, literal, language).read()
    # "photo" goes even where the library holds it: it is in the file and folder names of most libraries
    # ("Photos/", "photo 1.jpg"), and as a required word it left "photos from kyoto" and "beach photos" with nothing.
    searched = [(token, free) for token, free in kept if not (free and _filler(_word(token), vocabulary, language))]
    glue = [free and _word(token) in language.glue for token, free in searched]
    only_glue = all(is_glue for (_, free), is_glue in zip(searched, glue) if free) and any(glue)
    if only_glue and not readings and len(searched) == len(kept) and vocabulary.holds(" ".join(_word(t) for t, _ in kept)):
        return Understood(text)  # "her", "all of me": a name or words a photo holds, not glue, searched as typed
    if readings or len(searched) < len(kept) or only_glue:
        # What is left of a sentence about photos ("the summer of 2019", "me in paris"), or nothing but glue ("the"):
        # as required words, "me" and "our" matched nothing, and a query of stop words alone matched no photo.
        searched = [pair for pair, is_glue in zip(searched, glue) if not is_glue]
    if not readings and len(searched) == len(kept):
        return Understood(text)  # nothing read, nothing left out: the words as typed
    left_out = [token for token, free in kept if free and (token, free) not in searched]
    return Understood(" ".join(token for token, _ in searched), tuple(readings), tuple(left_out))


def _marks_joined(tokens: list[str]) -> list[str]:
    """The tokens with a lone comma joined to the word before it, and other lone marks (",", "!", ".") dropped."""
    joined: list[str] = []
    for token in tokens:
        if token.startswith('"') or token.strip(_EDGES):
            joined.append(token)
        elif "," in token and joined and not joined[-1].startswith('"'):
            joined[-1] += ","
    return joined


def _filler(word: str, vocabulary: Vocabulary, language: Language) -> bool:
    return word in language.always_fillers or (word in language.fillers and not vocabulary.holds(word))


def _title(name: str) -> str:
    """A place's name as shown: "New York", "5th Avenue" (str.title() gives "5Th")."""
    return re.sub(r"(?<=\d)[A-Z]", lambda found: found[0].lower(), name.title())


def _word(token: str) -> str:
    return token.strip(_EDGES).lower()


def _is_word(token: str) -> bool:
    """A plain word: not quoted, not a field, not negated or required, no wildcard ("-" alone joins a range)."""
    if token in ("-", "–"):
        return True
    return bool(token) and token[0] not in '"-+' and not re.search(r"[:*?]", token) and bool(token.strip(_EDGES))


class _Reader(WhenReader):
    def __init__(self, tokens: list[str], vocabulary: Vocabulary, today: date, literal: frozenset[str], language: Language):
        self.tokens, self.vocabulary, self.today, self.literal, self.language = tokens, vocabulary, today, literal, language
        self.words = [_word(token) if _is_word(token) else None for token in tokens]
        self.days_listed = {}
        for phrase in literal:  # a reading taken back: its words are read as typed, none of them again
            size = len(phrase.split())
            for i in range(len(self.words) - size + 1):
                if self._phrase(i, i + size) == phrase:
                    self.words[i : i + size] = [None] * size

    def read(self) -> tuple[list[tuple[str, bool]], list[Reading]]:
        """The tokens searched as words, each with whether it is a plain word read as nothing (one that may be
        left out: not quoted, not of a reading nor of one taken back), and the readings."""
        kept: list[tuple[str, bool]] = []
        owners: list[str] = []  # for each kept token, the words of the reading it is searched for ("" for none)
        readings: list[Reading] = []
        between: list[str | None] = []  # the words since the last reading
        # What joined the last reading to others as a choice: the next reading, with no words before it, is joined
        # by it too ("sydney 2019 and paris 2020": Sydney or Paris, in 2019 or 2020, not both years at once).
        joined_by: list[str | None] | None = None
        i = 0
        while i < len(self.tokens):
            found = self._reading(i) if self.words[i] is not None else None
            if found is None:
                kept.append((self.tokens[i], self.words[i] is not None))
                owners.append("")
                between.append(self.words[i])
                i += 1
                continue
            end, reading = found
            if joined_by is not None and not any(between):
                between = joined_by
            readings, joined = self._with(readings, reading, between)
            joined_by = between if joined else None
            between = [] if not self.tokens[end - 1].endswith(",") else [","]
            if reading.also_words:
                words = [token for token in self.tokens[i:end] if self._word_at(token) not in self.language.lead_ins]
                kept.extend((token, False) for token in words)
                owners.extend(reading.words for _ in words)
            i = end
        # A name also searched as words that is a choice beside others ("sydney or paris", where a folder is named
        # sydney) is that choice's words instead: as required words they left nothing to choose.
        chosen = {choice.words for group in choice_groups(readings) if len(group) > 1 for choice in group}
        return [pair for pair, owner in zip(kept, owners) if owner not in chosen], readings

    def _with(self, readings: list[Reading], reading: Reading, between: list[str | None]) -> tuple[list[Reading], bool]:
        """The readings with one more, and whether it is a choice: beside the last group of its kind when the words
        between join them ("paris and rome", and "paris and 2019 and rome": a photo is taken in one place), else
        one more to meet."""
        end = len(readings)
        while end > 0:
            group = end - 1  # where the group ending at `end` starts: a reading and those it is a choice beside
            while group > 0 and readings[group].or_previous:
                group -= 1
            if readings[group].kind == reading.kind:
                chosen = with_choice(readings[group:end], reading, between, self.language)
                return ([*readings[:group], *chosen, *readings[end:]], True) if chosen else ([*readings, reading], False)
            end = group
        return [*readings, reading], False

    def _word_at(self, token: str) -> str:
        return _word(token) if _is_word(token) else ""

    def _reading(self, i: int) -> tuple[int, Reading] | None:
        if (negation := self._negation(i)) is not None:
            return negation
        if (rated := self._stars(i)) is not None:
            return rated
        if (tagged := self._tagged(i)) is not None:
            return tagged
        start = i + 1 if self.words[i] in self.language.lead_ins and i + 1 < len(self.tokens) else i
        for begin in dict.fromkeys((start, i)):  # "in sydney": the lead-in goes with what it leads
            found = self._date(begin) or self._name(begin)
            if found is not None and found[1].words not in self.literal:
                return found
        return None

    def _tagged(self, i: int) -> tuple[int, Reading] | None:
        """ "tagged christmas": the keyword, said so, even where its name is a holiday's or a place's."""
        if self.words[i] not in self.language.tagged:
            return None
        for end in range(min(len(self.words), i + 1 + MAX_NAME_WORDS), i + 1, -1):
            name = self._phrase(i + 1, end) if None not in self.words[i + 1 : end] else ""
            if name and self._phrase(i, end) not in self.literal and self.vocabulary.keyword(name):
                return end, Reading(self._phrase(i, end), "keyword", f"tagged {name}", name=name)
        return None

    # -- what not ------------------------------------------------------------------------------

    def _negation(self, i: int) -> tuple[int, Reading] | None:
        """ "without dogs", "with no cars", "but not grandma or grandpa": the words after the negation (past glue,
        "without the dogs") up to glue or a mark, and those after "or", "and", "nor" in a list of them. As words
        they found the very photos asked against ("beach without dog": every dog on a beach, by meaning)."""
        ends = [end for end in (i + 2, i + 1) if end <= len(self.words)]
        lead = next((end for end in ends if self._phrase(i, end) in self.language.negations), None)
        if lead is None or any(word is None for word in self.words[i:lead]) or self.tokens[lead - 1].endswith("."):
            return None  # "no. 5" is a number
        after = self._past_glue(lead)
        if after < len(self.words) and (when := self._date(after)) is not None:  # "dog not in 2019", "not in july"
            end, reading = when
            if reading.span is None:
                return None
            # what the time finds, kept out: "not at christmas" its days and, where the library holds the word (a
            # folder "Christmas 2019/", a tag), the photos holding it, as "christmas" finds both
            return end, Reading(self._phrase(i, end), "not", f"not taken {reading.span.label}", span=reading.span)
        excluded: list[str] = []
        end = lead
        while True:
            start = stop = self._past_glue(end)
            while stop < len(self.words) and self._content(stop):
                stop += 1
                if self.tokens[stop - 1].endswith(","):
                    break  # "without dogs, cats": two
            if stop == start:
                break
            excluded.append(self._phrase(start, stop))
            end = stop
            if end < len(self.words) and self.words[end] in self.language.list_joiners:
                joined = end + 1  # "without dogs or people"
            elif self.tokens[end - 1].endswith(","):
                joined = end
            else:
                break
            if not self._content(self._past_glue(joined)):
                break  # "without dogs and in 2019"
            end = joined
        excluded = [phrase for phrase in excluded if any(True for _ in words_analyzer()(phrase))]  # not "5" of "no 5"
        words = self._phrase(i, end)
        if not excluded or self.vocabulary.holds(words) or self.vocabulary.holds(self._phrase(i, after + 1)):
            return None  # a sign that says "no parking" ("no parking sign"), "do not enter", a title "without limits"
        listed = " or ".join(f'"{phrase}"' for phrase in excluded)
        shown = f"without the word{'s' if len(excluded) > 1 or ' ' in excluded[0] else ''} {listed}"
        return end, Reading(words, "not", shown, excluded=tuple(excluded))

    def _past_glue(self, i: int) -> int:
        while i < len(self.words) and self.words[i] in self.language.glue - self.language.list_joiners:
            if self.words[i] in self.language.thirds and self._date(i) is not None:
                break  # "not in early 2019": a third of the year, not the year
            i += 1  # "without the dogs", "but not in paris"
        return i

    def _content(self, i: int) -> bool:
        """A plain word that names something: not glue, not a negation, not a time ("without dogs 2019")."""
        if i >= len(self.words):
            return False
        word = self.words[i]
        if word is None or word in self.language.glue or word in self.language.negations:
            return False
        return self._date(i) is None

    # -- how good -------------------------------------------------------------------------------

    def _stars(self, i: int) -> tuple[int, Reading] | None:
        """ "4 stars", "four-star", "5 star photos", "3 stars or more", "★★★★": rated at least that many, as a photo
        manager's rating filter reads them (Lightroom's is "and up")."""
        token = self.tokens[i].strip(_EDGES)
        fewer = self._star_count(self.words[i] or "")
        if fewer and i + 2 < len(self.words) and self.words[i + 1] in ("or", "to") and (more := self._stars(i + 2)):
            end, reading = more  # "4 or 5 stars", "3 to 5 stars": the fewer and up
            count = min(fewer, reading.stars)
        elif re.fullmatch("★{1,5}", token):
            count, end = len(token), i + 1
        else:
            number, _, star = (self.words[i] or "").partition("-")  # "four-star"
            if not star and i + 1 < len(self.words):
                star, end = self.words[i + 1] or "", i + 2
            else:
                end = i + 1
            count = self._star_count(number)
            if star not in self.language.stars or not count:
                return None
        end = next((end + size for size in (2, 1) if self._phrase(end, end + size) in self.language.or_more), end)
        words = self._phrase(i, end)
        if self._held_with_stars(i, end):
            return None  # "5 star hotel" in a caption: the words
        shown = f"rated {count} star{'s' if count > 1 else ''}" + (" or more" if count < 5 else "")
        return end, Reading(words, "stars", shown, stars=count)

    def _held_with_stars(self, i: int, end: int) -> bool:
        """Whether a caption holds the rating's words with the word after them ("5 star hotel"). Not its words
        alone: the index keeps no number, so "4 stars" asked whether some caption says "star" ("a star shaped
        cookie"), and one caption took the ratings from every query; "five stars" beside a five star hotel too."""
        if end >= len(self.words) or not self.words[end]:
            return False
        phrase = self._phrase(i, end + 1)
        return len(list(words_analyzer()(phrase))) > 1 and self.vocabulary.holds(phrase)

    def _star_count(self, word: str) -> int:
        """1 to 5 as a digit or a word ("four"); 0 for anything else ("a star" is no rating)."""
        count = self._count(word) if word != "a" else 0
        return count if 1 <= count <= 5 else 0

    # -- where and who -------------------------------------------------------------------------

    def _name(self, i: int) -> tuple[int, Reading] | None:
        for end in range(min(len(self.words), i + MAX_NAME_WORDS), i, -1):
            if any(word is None for word in self.words[i:end]):
                continue
            words = self._phrase(i, end)
            named = self._named(words) if words not in self.language.lead_ins else None
            if named is None:
                continue
            kind, name = named
            held = self.vocabulary.holds(name)
            # A place that is also a person's keyword (Paris, Sydney, Florence) is either: as a place alone, the
            # photos tagged with the name were hidden.
            tagged = kind == "place" and not held and self.vocabulary.keyword(name)
            shown = {"place": f"taken in {_title(name)}", "camera": f"taken with {name}"}.get(kind, f"tagged {name}")
            # A name some photo holds as words too is searched as words, which reach its places and cameras: "apple"
            # beside a caption of an apple is both, "canon" beside the folders a Canon writes (100CANON) too.
            shown += f", or the word{'s' if len(name.split()) > 1 else ''} {name}" if held else ""
            shown += f", or tagged {name}" if tagged else ""
            return end, Reading(words, kind, shown, name=name, also_words=held, also_tagged=tagged)
        return None

    def _named(self, words: str) -> tuple[str, str] | None:
        """The place or person's keyword the words name, as typed or as their owner: "grandma's", "aunt mary's"
        and "grandmas" (the apostrophe left out, a keyword only: "baths" is no town of Bath)."""
        for name in dict.fromkeys((words, _POSSESSIVE.sub("", words))):
            if self.vocabulary.place(name):
                return "place", name
            if self.vocabulary.keyword(name):
                return "keyword", name
        if len(words) > 2 and words.endswith("s") and self.vocabulary.keyword(words[:-1]):
            return "keyword", words[:-1]
        if self.vocabulary.camera(words):
            return "camera", words
        return None
