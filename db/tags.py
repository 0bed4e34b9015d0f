"""Auto-tags from captions: the nouns and colours of a caption, lower-case and singular."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from whoosh.analysis import STOP_WORDS

# Closed-class words (pronouns, determiners, quantifiers) are a small fixed set the lemma dictionary
# mislabels as nouns ("my", "another"); Whoosh's STOP_WORDS has the articles and prepositions.
FUNCTION_WORDS = frozenset(
    "i me my mine you your yours he him his she her hers it its we our ours they them their theirs this these "
    "those another other others each every either neither some any all both none such what which who whom "
    "whose there here very just also only own same than too".split()
) | frozenset(STOP_WORDS)
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
ING_NOUNS = frozenset("building wedding painting clothing ceiling railing evening morning ring icing "
                      "frosting stuffing pudding sling swing king string wing".split())
MAX_TAG_LENGTH = 40

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


@lru_cache(maxsize=1)
def _engines():
    # lemminflect: a lemma dictionary with parts of speech (shipped in the wheel, works offline);
    # inflect: irregular singulars it lacks (people -> person).
    import inflect
    from lemminflect import getAllLemmas

    return getAllLemmas, inflect.engine()


@lru_cache(maxsize=20_000)
def noun_lemma(word: str) -> str | None:
    """The singular of `word` if it can be a noun (dogs -> dog, people -> person), else None."""
    get_all_lemmas, inflector = _engines()
    lemmas = get_all_lemmas(word)
    if not lemmas:
        return word  # not in the dictionary: names, foreign words ("brûlée", "frisbee") are things
    nouns = lemmas.get("NOUN")
    if not nouns or "ADV" in lemmas or "ADJ" in lemmas:
        # "up", "home" say where, "old", "small" say how: a tag names what is in the photo
        return None
    if word.endswith("ing") and "VERB" in lemmas and word not in ING_NOUNS:
        return None  # "sitting", "standing": an action here, not a thing
    lemma = nouns[0]
    if lemma == word:
        singular = inflector.singular_noun(word)
        # inflect guesses ("bus" -> "bu"); trust it only where the dictionary knows the result
        if singular and singular != word and get_all_lemmas(singular).get("NOUN"):
            lemma = singular
    return lemma


def normalize_tag(text: str) -> str:
    """A person's tag: lower case, single spaces, no commas (they separate tags in the index)."""
    text = unicodedata.normalize("NFC", text).lower().replace(",", " ")
    return " ".join(text.split())[:MAX_TAG_LENGTH]


def auto_tags(caption: str) -> list[str]:
    """Tags for a caption, in caption order, without duplicates."""
    tags: list[str] = []
    for match in _WORD.finditer(unicodedata.normalize("NFC", caption).lower()):
        word = match.group().split("'")[0]  # "dog's" -> "dog"
        if len(word) < 2 or word in FUNCTION_WORDS or word in CAPTION_FILLER:
            continue
        tag = word if word in COLOURS else noun_lemma(word)
        if tag and tag not in CAPTION_FILLER and tag not in tags:
            tags.append(tag)
    return tags
