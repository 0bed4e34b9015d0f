"""What a full-text document holds: the Whoosh schema, its analyzers (stemming, accents, word pairs), and
the fields made from one catalog row."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from whoosh.analysis import CharsetFilter, CommaSeparatedTokenizer, Filter, LowercaseFilter, StemFilter, StopFilter
from whoosh.fields import ID, KEYWORD, NUMERIC, TEXT, Schema
from whoosh.support.charset import accent_map

from db.columns import display_text, stored_path
from db.words import KeptWords, WordTokenizer, normalized

# Fields a person may name in a query (`caption:dog`, `file:beach`, `ext:png`).
USER_FIELDS = ("caption", "file", "ext", "tag", "camera", "place", "description", "text")


DEFAULT_FIELDS = ("caption", "file", "place", "description", "keywords", "text", "camera_name")


# What the documents hold; a new value makes the next sync rebuild an older index.
# 2: file names whole (`img_043.jpg`) as well as split into words.
# 3: the camera's make and model words (`camera:pixel`). 4: place names (`kyoto`, `place:japan`).
# 5: the file's title and description, and the keywords of the file and of a person. 6: text in the pixels.
# 7: each part of the place name whole (`new south wales`), for places named in plain words (db/plain.py).
# 8: rewritten once, because documents written before it lost a file's keyword that a person removed from any photo.
# 9: fewer stop words (STOP_WORDS): "can", "will", "may", "us", "it", "you"... are words a photo holds; and each
# folder's name whole, as the file's was (`vacation2019`, `100canon`).
# 10: the second a photo was taken, so date order runs through a day by time, not in index order.
# 11: Chinese, Japanese and Korean text as overlapping pairs of characters (WordTokenizer), so part of it is found.
# 12: the names a camera goes by (CAMERA_NAME), for cameras named in plain words (`iphone`, `canon eos`).
# 13: those names searched by default, whole, as a place's are; more of them, fewer of a company's words.
# 14: the photo's rating (stars), for `4 stars` and the app's rating filter.
# 15: a file or folder name as its reader means it (NFKC) before it is split into words: one macOS wrote decomposed
# was cut at each accent (`Trip_Zürich.jpg` gave `zu` and `rich`, not `zürich`).
FORMAT = "15"


# Words no search is about: Whoosh's own list less those that name something in a photo or of it: "a can of soda",
# a person called Will or May, a title ("this is us", "it", "to be or not to be"), a sign ("you are here").
STOP_WORDS = frozenset("a an and are as at be by for from have if in is of on or that the this to when with".split())


# Adjacent caption words as single terms ("citi street"): a quoted phrase becomes a term lookup.
CAPTION_PAIRS = "caption_pairs"


# Each part of the place name whole, lower case and accent-folded ("pyrmont", "sydney", "new south wales",
# "australia"): what a query's words are looked up in, so "new york" is a place and "new" alone is not.
PLACE_NAME = "place_name"


# The names the camera goes by, lower case: its make, its model whole, the model's first words with the make
# and without ("canon", "canon eos", "eos", "eos r5"; "apple", "iphone", "iphone 12"), and the make with any
# later part of the model ("canon 5d", "canon 5d mark iii"). Searched by default, each name whole, so `iphone`
# finds the photos an iPhone took while a word in a model's middle ("mark", "pro", "black") finds none of them.
CAMERA_NAME = "camera_name"
# Words a make's name carries beside the name people say: "NIKON CORPORATION", "LEICA CAMERA AG", "HMD Global".
_COMPANY = frozenset(
    "ab ag camera cameras co communications company computer corp corporation digital electric electronics "
    "gmbh global group imaging inc industries international kk limited llc ltd mobile optical optics oy plc sa "
    "solutions technologies technology".split()
)


def camera_names(camera: str) -> list[str]:
    """The names the camera ("NIKON CORPORATION NIKON D750", "Apple iPhone 12 Pro") goes by, as CAMERA_NAME holds them."""
    words = [word.strip(".") for word in re.split(r"[\s,]+", fold_name(camera))]
    words = [word for word in words if word]
    if not words:
        return []
    model = 1
    while model < len(words) and (words[model] in _COMPANY or words[model] == words[0]):
        model += 1  # "nikon corporation nikon d750": the model is "d750"
    make, rest = words[0], words[model:]
    names = [make] if make not in _COMPANY else []
    names += [" ".join(rest[:end]) for end in range(1, len(rest) + 1)]  # "iphone", "iphone 12", "iphone 12 pro"
    for start in range(len(rest)):  # "canon eos", "canon 5d", "canon 5d mark iii"
        names += [" ".join([make, *rest[start:end]]) for end in range(start + 1, len(rest) + 1)]
    # One letter or a number alone names no camera ("z" of "NIKON Z 6", "12"); a name is at most MAX_NAME_WORDS.
    return list(dict.fromkeys(name for name in names if len(name) > 1 and not name.isdigit() and name.count(" ") < 5))


def fold_name(text: str) -> str:
    """A name as the place_name field holds it: lower case, accents folded, single spaces."""
    return " ".join(text.lower().translate(accent_map).split())


def text_analyzer(every_character: bool = True):
    """Lower-case, stem (`dogs` finds `dog`) and fold accents (`creme` finds `crème`); Chinese, Japanese and
    Korean in pairs of characters, indexed with each character too (db/words.py)."""
    words = WordTokenizer(every_character) | LowercaseFilter() | CharsetFilter(accent_map)
    return words | KeptWords(STOP_WORDS) | StemFilter()


class WordPairs(Filter):
    """Adjacent words joined by a space ("citi street"); nothing for fewer than two words.

    Whoosh's own BiWordFilter does this but fails on a caption with no words left after stop words."""

    def __call__(self, tokens):
        previous = None
        for token in tokens:
            if token.stopped:
                continue
            text = token.text  # the tokenizer reuses one token object: keep the text before changing it
            if previous is not None:
                token.text = f"{previous} {text}"
                yield token
            previous = text


def pair_analyzer():
    """The caption's analysed words (as text_analyzer), joined in adjacent pairs: what a phrase is made of. A
    run of Chinese or Japanese is its pairs of characters alone, as a quoted query's is."""
    return text_analyzer(every_character=False) | WordPairs()


def make_schema() -> Schema:
    return Schema(
        id=ID(stored=True, unique=True),
        # The same id as a column: docnum -> file id for whole result sets without reading stored fields.
        fid=NUMERIC(int, bits=64, sortable=True, signed=False),
        caption=TEXT(analyzer=text_analyzer(), phrase=True),
        # Whoosh checks a phrase by reading word positions for every document holding all its words;
        # a pair is one posting list, far cheaper on a large library.
        caption_pairs=TEXT(analyzer=pair_analyzer(), phrase=False),
        # Folder and file-name words, so `beach` finds holidays/beach_2019/img_001.jpg.
        file=TEXT(analyzer=text_analyzer(), phrase=True),
        # Every ancestor folder of the file, so a folder filter is one term lookup.
        folder=KEYWORD(commas=True),
        ext=ID(),
        tag=KEYWORD(commas=True, lowercase=True, scorable=True),
        # The camera's make and model from EXIF ("Google Pixel 4"): reached only as `camera:`.
        camera=TEXT(analyzer=text_analyzer()),
        # A query's stop word ("a dog") is no name either: as a term here it would be required of every photo.
        camera_name=TEXT(analyzer=CommaSeparatedTokenizer() | LowercaseFilter() | StopFilter(STOP_WORDS)),
        # "Kyoto, Japan" from the GPS position: searched by default, like captions and file names.
        place=TEXT(analyzer=text_analyzer(), phrase=True),
        place_name=KEYWORD(commas=True),
        # The title and description the file carries (IPTC/XMP), searched by default and as `description:`.
        description=TEXT(analyzer=text_analyzer(), phrase=True),
        # Keywords a person gave (in captionary or in the file) and their hierarchy's words, searched by
        # default: `grandma` finds what was tagged grandma. Auto-tags are caption words already.
        keywords=TEXT(analyzer=text_analyzer()),
        # Text read in the pixels (OCR): a word on a sign is a match, searched by default and as `text:`.
        text=TEXT(analyzer=text_analyzer(), phrase=True),
        # Days since 1970 of the date taken (EXIF), else of the file's mtime.
        day=NUMERIC(int, bits=32, sortable=True, signed=True),
        # Seconds since 1970 of the date and time taken (else the file's): date order, through a day by time.
        moment=NUMERIC(int, bits=64, sortable=True, signed=True),
        # The stars the file carries (XMP or EXIF Rating, 1 to 5; -1 rejected); none where it has none.
        rating=NUMERIC(int, bits=32, signed=True),
    )


@dataclass(frozen=True)
class FulltextDoc:
    file_id: int
    caption: str
    path: str
    root: str
    ext: str
    day: int
    tags: str = ""  # comma-separated
    camera: str = ""
    place: str = ""
    description: str = ""  # title and description
    keywords: str = ""
    text: str = ""  # read in the pixels
    moment: int = 0  # seconds since 1970 of the date and time taken
    rating: int | None = None


def document_fields(doc: FulltextDoc) -> dict:
    rating = {} if doc.rating is None else {"rating": doc.rating}
    return rating | {
        "id": str(doc.file_id),
        "fid": doc.file_id,
        "caption": doc.caption,
        CAPTION_PAIRS: doc.caption,
        "file": path_words(doc.path, doc.root),
        "folder": ancestor_folders(doc.path),
        "ext": doc.ext,
        "day": doc.day,
        "moment": doc.moment,
        "tag": doc.tags,
        "camera": doc.camera,
        CAMERA_NAME: ",".join(camera_names(doc.camera)),
        "place": doc.place,
        PLACE_NAME: ",".join(fold_name(part) for part in doc.place.split(",") if part.strip()),
        "description": doc.description,
        "keywords": doc.keywords,
        "text": doc.text,
    }


_SPLIT_WORDS = re.compile(r"[^\W\d_]+|\d+")


def path_words(path: str, root: str) -> str:
    """Words of the folders under the root and of the file name, split at _ - . and digit boundaries, then each
    folder's name whole (`vacation2019`, `100canon`), and the file name whole and without its extension, so
    `img_043` and `IMG_043.jpg` find IMG_043.jpg. A byte that is not UTF-8 splits words, as shown (U+FFFD)."""
    path, root = normalized(display_text(path)), normalized(display_text(root))
    relative = path[len(root) :] if path.startswith(root) else path
    name = os.path.basename(path)
    folders = [part for part in os.path.dirname(relative).split(os.sep) if part]
    return " ".join([*_SPLIT_WORDS.findall(relative), *folders, name, os.path.splitext(name)[0]])


def ancestor_folders(path: str) -> str:
    """Every folder above the file, as the catalog stores them (lossless for names that are not UTF-8)."""
    parts = Path(stored_path(path)).parent.parts
    folders = [str(Path(*parts[: i + 1])) for i in range(len(parts))]
    return ",".join(folders)


_EPOCH = date(1970, 1, 1).toordinal()


def moment_number(value: datetime) -> int:
    """Seconds since 1970 of a local date and time (the moment column): date order through a day."""
    return day_number(value.date()) * 86_400 + value.hour * 3600 + value.minute * 60 + value.second


def day_number(value: date) -> int:
    return value.toordinal() - _EPOCH
