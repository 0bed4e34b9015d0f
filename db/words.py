"""How text becomes words to index and to search: Whoosh's words, except Chinese, Japanese and Korean.

Those scripts put no spaces between words, so Whoosh's tokenizer made a whole run one token: "東京" found
nothing in a sign reading "東京タワー" or in the file "東京の夜.jpg". A run is read as Lucene's CJK
analyzer reads it: its overlapping pairs of characters (東京 京タ タワ ワー), which a query's run becomes too,
all of them required and adjacent in a phrase. Indexing also keeps each character alone, where its pair
begins, so a word of one character is found ("犬" in "犬が走る"). All text is read in its NFKC form first."""

from __future__ import annotations

import re
import unicodedata

from whoosh.analysis import Filter, Token, Tokenizer

# Whoosh's RegexTokenizer's words: letters and digits, with inner dots ("3.5", "u.s.a").
_WORD = re.compile(r"\w+(?:\.?\w+)*")
# Han, kana (with 々 and the long-vowel mark, half-width kana too) and Hangul.
_CJK = re.compile(
    "[\u3005\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
    "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af\U00020000-\U0003134f]+"
)


class WordTokenizer(Tokenizer):
    """Words, with a run of Chinese, Japanese or Korean as its pairs of characters; when indexing, and when
    `every_character`, each character of the run too, at its pair's position."""

    def __init__(self, every_character: bool = True) -> None:
        self.every_character = every_character

    def __eq__(self, other):
        return self.__class__ is other.__class__ and self.every_character == other.every_character

    def __call__(
        self, value, positions=False, chars=False, keeporiginal=False, removestops=True, start_pos=0, start_char=0,
        tokenize=True, mode="", **kwargs,
    ):  # fmt: skip
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        value = normalized(value)
        every = self.every_character and mode == "index"
        pieces = pieces_of(value, every) if tokenize else [(0, len(value), 0)]
        for start, end, pos in pieces:
            token.text, token.boost, token.stopped = value[start:end], 1.0, False
            if keeporiginal:
                token.original = token.text
            if positions:
                token.pos = start_pos + pos
            if chars:
                token.startchar, token.endchar = start_char + start, start_char + end
            yield token


def written_without_spaces(text: str) -> bool:
    """Some of the text is Chinese, Japanese or Korean."""
    return _CJK.search(text) is not None


def normalized(text: str) -> str:
    """Text as its reader means it (NFKC): a name macOS wrote decomposed ("서울" as its letters, "が" as か and its
    mark), half-width katakana ("ﾀﾜｰ"), full-width letters and digits ("ＩＭＧ２０１９") read as typed elsewhere.
    Token offsets (chars=True) are into this form; db/query.py's highlight maps them back to the text as written."""
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


def pieces_of(text: str, every_character: bool = False) -> list[tuple[int, int, int]]:
    """Where each token of the text starts and ends, and its position: a run of n characters takes n - 1
    positions, as its pairs do, so a phrase reads the same in a query as in the index."""
    if not _CJK.search(text):  # most text, read as Whoosh reads it without the bookkeeping below
        spans = [word.span() for word in _WORD.finditer(text)]
        return [(start, end, position) for position, (start, end) in enumerate(spans) if end - start > 1]
    pieces: list[tuple[int, int, int]] = []
    position = -1

    def add(start: int, end: int, step: int = 1) -> None:
        nonlocal position
        if end > start:
            position += step if position >= 0 else 1
            # One letter or digit alone is no word to search ("a", "x"), as StopFilter's minimum size had it;
            # it keeps its position, as a stop word does.
            if end - start > 1 or _CJK.match(text, start):
                pieces.append((start, end, position))

    for word in _WORD.finditer(text):
        done = word.start()
        for run in _CJK.finditer(word.group()):
            start, end = word.start() + run.start(), word.start() + run.end()
            add(*_trimmed(text, done, start))  # "IMG_" of "IMG_東京": "img"
            if end - start == 1:
                add(start, end)
            for first in range(start, end - 1):
                add(first, first + 2)
                if every_character:
                    add(first, first + 1, 0)
            if every_character and end - start > 1:
                add(end - 1, end, 0)  # the last character, at the last pair's position
            done = end
        add(*_trimmed(text, done, word.end()))
    return pieces


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] == "_":
        start += 1
    while end > start and text[end - 1] == "_":
        end -= 1
    return start, end


class KeptWords(Filter):
    """Whoosh's StopFilter with no minimum size (pieces_of drops one letter alone, not a character of Chinese),
    renumbering positions past the stop words while keeping those a character shares with its pair."""

    def __init__(self, stops: frozenset[str]) -> None:
        self.stops = stops

    def __eq__(self, other):
        return self.__class__ is other.__class__ and self.stops == other.stops

    def __call__(self, tokens):
        kept = before = None
        for token in tokens:
            if token.text in self.stops:
                if not token.removestops:
                    token.stopped = True
                    yield token
                continue
            if token.positions:
                if kept is None:
                    kept = token.pos
                elif token.pos != before:
                    kept += 1
                before, token.pos = token.pos, kept
            token.stopped = False
            yield token
