"""A model's text made into a caption (no chat scaffolding, no repeated clause), and the short forms of a
long one that the app and the CLI show. Pure text: the app imports it without torch."""

from __future__ import annotations

import re

from db.semantic import sentences

# Chat models open with a preamble and close with an offer; neither says what is in the photo.
_PREAMBLE = re.compile(
    r"^\s*(?:(?:sure|certainly|of course|okay|ok)\b[!,.]?\s*)?"
    r"(?:(?:here(?:'s| is)|this is|below is)\s+(?:a|an|the|my)?\s*(?:brief\s+|short\s+|detailed\s+)?"
    r"(?:description|caption|summary)[^:.\n]{0,40}[:.]\s*)?",
    re.IGNORECASE,
)
_LEADING_LABEL = re.compile(r"^\s*(?:assistant|caption|description)\s*:\s*", re.IGNORECASE)
_OFFER = re.compile(r"\s*(?:let me know|i hope this|feel free|if you (?:need|have|want))[^\n]*$", re.IGNORECASE)

ONE_LINE = 110  # characters the CLI's text output gives a caption before "…"


def clean_caption(text: str, prompt: str | None = None) -> str:
    """What a model wrote, as a caption: the prompt it echoed, chat scaffolding, special markup and a
    repeated clause removed; whitespace collapsed."""
    text = " ".join(text.split())
    if prompt and text.lower().startswith(prompt.lower()):
        text = text[len(prompt) :].lstrip(" :,")
    text = _LEADING_LABEL.sub("", text)
    text = _PREAMBLE.sub("", text, count=1)
    text = _OFFER.sub("", text)
    text = _drop_repeats(text.strip().strip('"').strip())
    return text[:1].upper() + text[1:] if _is_sentence_like(text) else text


def _is_sentence_like(text: str) -> bool:
    # Sentences from a chat model start with a capital already; COCO-style captions ("a dog on a beach")
    # stay lower case, as the default model writes them and as libraries before this hold them.
    return bool(text) and text[:1].islower() and len(sentences(text)) > 1


def _drop_repeats(text: str) -> str:
    """Drop a sentence said twice, and cut a caption where a run of three or more words comes again right
    after itself or after a joint of up to two words ("a woman in a hospital bed with a woman in a hospital
    bed"); the same words further apart are a paragraph's, and stay."""
    kept, seen = [], set()
    for sentence in sentences(text):
        normal = sentence.lower().strip(" .!?")
        if normal and normal in seen:
            continue
        seen.add(normal)
        kept.append(sentence)
    text = " ".join(kept)
    words = text.split()
    keys = [word.lower().strip(",.;") for word in words]
    for start in range(len(words)):
        for length in range(min(10, (len(words) - start) // 2), 2, -1):
            run = keys[start : start + length]
            # The run again right after itself, or after a joint of up to two words ("with", "next to"):
            # a loop, not a paragraph that mentions "in the background" twice.
            for gap in range(3):
                later = start + length + gap
                if keys[later : later + length] == run:
                    return _trim_joint(" ".join(words[: start + length]))
    return text


def _trim_joint(text: str) -> str:
    # "a woman in a hospital bed with" -> "a woman in a hospital bed": the joint word led into the repeat.
    trimmed = re.sub(r"(?:\s*[,;]|\s+(?:with|and|next to|near|of|in|on|at|by))+\s*$", "", text, flags=re.IGNORECASE)
    return trimmed or text


def first_sentence(text: str) -> str:
    """The caption's first sentence (all of a short caption): what the app shows before "more"."""
    return sentences(text)[0]


def one_line(text: str, width: int = ONE_LINE) -> str:
    """A caption on one line of at most `width` characters, cut at a word."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    cut = text[: width - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"
