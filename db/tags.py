"""Auto-tags from captions: the nouns and colours of a caption, lower-case and singular.

A word is a tag by its role in the caption's grammar, not by whether a dictionary also lists an
adjective sense: captions are noun phrases joined by prepositions, conjunctions and verbs ("a red square
on a white background", "a man riding a wave"), so the last word of each phrase is its head noun
("square", even though "square" is also an adjective) and the words before it are modifiers, tags
only when they name a thing ("street light", "plastic bag"), not a quality ("small dog")."""

from __future__ import annotations

import re
import sys
import threading
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from types import ModuleType

from whoosh.analysis import STOP_WORDS

from db.models import Content, File, FileKeyword, Tag
from db.words import written_without_spaces

# Closed-class words (pronouns, determiners, quantifiers) are a small fixed set the lemma dictionary
# mislabels as nouns ("my", "another"); Whoosh's STOP_WORDS has the articles and some prepositions.
FUNCTION_WORDS = frozenset(
    "i me my mine you your yours he him his she her hers it its we our ours they them their theirs this these "
    "those another other others each every either neither some any all both none such what which who whom "
    "whose there here very just also only own same than too is are was were be been being has have had do does "
    "that".split()
) | frozenset(STOP_WORDS)
# Words that end a noun phrase: prepositions, conjunctions and particles ("on", "and", "out").
PHRASE_BREAKS = frozenset(
    "about above across after against along alongside amid among around as at atop before behind below beneath "
    "beside besides between beyond by down during for from in inside into like near of off on onto out outside "
    "over past through throughout to toward towards under underneath until up upon via with within without "
    "and or but nor while where whilst".split()
)
# Colours are adjectives, not nouns, but "red car" should be findable and browsable by "red".
COLOURS = frozenset(
    "red orange yellow green blue purple pink brown black white gray grey silver gold golden beige "
    "teal turquoise violet maroon navy tan".split()
)
# Nouns that captioning models use as scaffolding ("a close up of", "in front of", "a group of"),
# never as the subject of a photo: they would be the most common and least useful tags.
CAPTION_FILLER = frozenset(
    "top front side back middle background foreground picture image photo photograph view close "
    "couple group bunch lot pair piece kind type way something thing area while other next "
    "one two three four five six seven eight nine ten several many few".split()
)
# -ing words that are things, not actions ("a building", not "sitting").
ING_NOUNS = frozenset(
    "building wedding painting clothing ceiling railing evening morning ring icing "
    "frosting stuffing pudding sling swing king string wing".split()
)
# Prose (a vision-language model's sentences, a person's caption) has what COCO-style captions lack:
# finite verbs ("the Matterhorn rises", "two hikers cross"), predicates after a copula ("the sky is clear")
# and scaffolding verbs ("the image shows"). None of them names a thing in the photo.
COPULAS = frozenset("is are was were".split())
# The verbs such prose uses for what is in a photo. A closed list, because "pine trees" and "street signs"
# end in a verb form too and are things: only these end a phrase as a finite verb.
ACTION_VERBS = frozenset(
    "stand sit lie rise float walk run hold wear look play ride cross hang lean graze fly swim smile wait cover "
    "surround fill reflect cast shine rest perch line stretch lead face reach glow fall pose carry eat drink read "
    "watch climb sleep stare talk dance jump".split()
)
PROSE_VERBS = frozenset("show shows depict depicts capture captures feature features display displays showcase showcases".split())
_PROSE = re.compile(r"^[A-Z]|[.!?]\s+[A-Z]")

# A number takes the letters written onto it ("3rd", "25th", "1990s", "35mm"): one token, and no tag ("rd", "th").
_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?|[^\w\s]|\d+[^\W_]*")


_IMPORTING = threading.Lock()


@lru_cache(maxsize=1)
def _engines():
    # lemminflect: a lemma dictionary with parts of speech and inflections (shipped in the wheel,
    # works offline); inflect: irregular singulars it lacks (people -> person).
    from lemminflect import getAllInflections, getAllLemmas

    return getAllLemmas, getAllInflections, _inflect().engine()


def _inflect() -> ModuleType:
    """inflect, imported with typeguard's @typechecked as a no-op. Applied at import, it re-parses inflect's
    source for each checked method: 2.7 s of every command that tags, here (jaraco/inflect#212), and a type
    check on each call after. captionary hands it only non-empty words."""
    with _IMPORTING:  # a second thread would find inflect half imported, or the stand-in for typeguard
        if "inflect" not in sys.modules:
            real = sys.modules.get("typeguard")
            stand_in = ModuleType("typeguard")
            stand_in.typechecked = lambda target=None, **_options: target if target is not None else (lambda found: found)  # type: ignore[attr-defined]
            sys.modules["typeguard"] = stand_in
            try:
                import inflect  # noqa: F401
            finally:
                if real is None:
                    del sys.modules["typeguard"]
                else:
                    sys.modules["typeguard"] = real
        return sys.modules["inflect"]


@lru_cache(maxsize=20_000)
def _lemmas(word: str) -> dict:
    return _engines()[0](word)


@lru_cache(maxsize=20_000)
def _gradable(word: str) -> bool:
    """Has a comparative ("smaller", "older"): a quality, where "plastic" or "chocolate" name a material."""
    return "JJR" in _engines()[1](word, upos="ADJ")


def _is_action(word: str) -> bool:
    """A participle ("riding", "covered"; not "bed" or "building"): after its subject it is the verb."""
    verbs = _lemmas(word).get("VERB", ())
    return word.endswith(("ing", "ed")) and any(verb != word for verb in verbs) and word not in ING_NOUNS


@lru_cache(maxsize=20_000)
def noun_lemma(word: str) -> str | None:
    """The singular of `word` if it can be a noun (dogs -> dog, people -> person), else None."""
    _, _, inflector = _engines()
    lemmas = _lemmas(word)
    if not lemmas:
        return word  # not in the dictionary: names, foreign words ("brûlée", "frisbee") are things
    nouns = lemmas.get("NOUN")
    if not nouns:
        return None
    lemma = nouns[0]
    if lemma == word:
        singular = inflector.singular_noun(word)
        # inflect guesses ("bus" -> "bu"); trust it only where the dictionary knows the result
        if singular and singular != word and _lemmas(singular).get("NOUN"):
            lemma = singular
    return lemma


def _head_tag(word: str) -> str | None:
    """The last word of a noun phrase: a tag if it can be a noun at all ("a red square")."""
    if word in COLOURS or word in ING_NOUNS:
        return word
    lemmas = _lemmas(word)
    if _is_action(word):
        return None  # "sitting on a bench": an action, even where it ends the phrase
    if set(lemmas) == {"VERB"} and word in lemmas["VERB"]:
        # The dictionary knows only the verb ("a pan", "a rug"), but after "a" it is a thing.
        singular = _engines()[2].singular_noun(word)
        return singular if singular and _lemmas(singular) else word
    return noun_lemma(word)


def _is_quality(word: str) -> bool:
    lemmas = _lemmas(word)
    return "ADJ" in lemmas and (_gradable(word) or "NOUN" not in lemmas)


def _modifier_tag(word: str) -> str | None:
    """A word before the head: a tag if it names a thing ("street light", "glass bowl"), not a quality."""
    if word in COLOURS:
        return word
    if _is_action(word):
        return None  # "living room", "stuffed animal": describe the head
    lemmas = _lemmas(word)
    if lemmas and "NOUN" not in lemmas:
        return None  # "wooden", "sandy"
    if lemmas and _is_quality(word):
        return None  # "small", "old", "light blue": a quality, though nouns in some sense
    return noun_lemma(word)


@lru_cache(maxsize=20_000)
def _is_finite_verb(word: str, previous: str) -> bool:
    """In prose, a verb after its subject: "rises" after "matterhorn", "cross" after "hikers"."""
    verbs = [verb for verb in _lemmas(word).get("VERB", ()) if verb in ACTION_VERBS]
    if not verbs or word in COLOURS or _is_quality(previous):
        return False
    if any(word in _engines()[1](verb, upos="VERB").get("VBZ", ()) for verb in verbs if verb != word):
        return True  # third person: "stands", "floats"
    return word in verbs and noun_lemma(previous) not in (None, previous)  # after a plural: "hikers cross"


def _phrases(caption: str) -> list[list[str]]:
    """The caption's runs of content words, split at function words, breaks, punctuation and verbs."""
    phrases: list[list[str]] = []
    current: list[str] = []
    prose = bool(_PROSE.search(caption))
    previous = ""

    def close() -> None:
        nonlocal current
        if current:
            phrases.append(current)
        current = []

    for token in _TOKEN.findall(unicodedata.normalize("NFC", caption).lower()):
        word, _, possessive = token.partition("'")
        after, previous = previous, word
        if not word or not word[0].isalpha() or word in FUNCTION_WORDS or word in PHRASE_BREAKS or word in CAPTION_FILLER:
            close()
            continue
        if written_without_spaces(word):  # a clause of Japanese is no tag ("東京タワーの夜景"): this grammar is English
            close()
            continue
        if prose and (_prose_only(word, after) or (current and _is_finite_verb(word, current[-1]))):
            close()
            continue
        if current and _is_action(word) and not _is_quality(current[-1]):
            close()  # the verb after a subject ends its phrase and is no tag ("a small fishing boat" has none)
            continue
        current.append(word)
        if possessive:  # "a woman's cat": the owner is a phrase of its own
            close()
    close()
    return phrases


def _prose_only(word: str, after: str) -> bool:
    """A scaffolding verb, or a quality said of the subject ("is clear"; a colour stays: "is red")."""
    return word in PROSE_VERBS or (after in COPULAS and word not in COLOURS and "ADJ" in _lemmas(word))


def auto_tags(caption: str) -> list[str]:
    """Tags for a caption, in caption order, without duplicates."""
    tags: list[str] = []
    for phrase in _phrases(caption):
        for position, word in enumerate(phrase):
            if len(word) < 2:
                continue
            tag = _head_tag(word) if position == len(phrase) - 1 else _modifier_tag(word)
            if tag and tag not in CAPTION_FILLER and tag not in tags:
                tags.append(tag)
    return tags


def retag(content: Content) -> None:
    """Replace the content's auto-tags with those of the caption shown; a person's tags stay, and tags a
    person removed stay removed."""
    kept = {tag.tag: tag for tag in content.tags if tag.source != "auto"}
    content.tags = list(kept.values()) + [
        Tag(tag=tag, source="auto") for tag in auto_tags(content.effective_caption) if tag not in kept
    ]


def set_file_keywords(file: File, keywords: Sequence[str]) -> None:
    """The file's keywords (normalised) now: one it no longer has goes; a person's removal of the word (on the
    content) still hides it, and an auto-tag of the same word is shown once."""
    present = {keyword.tag: keyword for keyword in file.keywords}
    file.keywords = [present.get(word) or FileKeyword(tag=word) for word in dict.fromkeys(keywords)]
