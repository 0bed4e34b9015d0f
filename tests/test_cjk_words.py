"""Chinese, Japanese and Korean put no spaces between words: part of a file name, a caption or a sign's text
is found all the same, as pairs of characters (db/words.py), while every other script is read as before."""

from __future__ import annotations

import pytest
from whoosh.analysis import CharsetFilter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.support.charset import accent_map

from db.documents import STOP_WORDS, text_analyzer
from db.query import highlight
from db.store import Store
from tests.conftest import FakeCaptioner
from tests.eval.libraries import libraries
from tests.helpers import index_with, paths_found
from tests.photos import COLOURS, photo, save_jpeg


class SignReader:
    """OCR that reads the sign each photo's name promises (the real engine needs a CJK font to be tested)."""

    engine_id = "fake-ocr"
    SIGNS = {(255, 0, 0): "東京タワー展望台", (0, 0, 255): "北京欢迎你", (0, 255, 0): "서울에서 만나요"}

    def read(self, image) -> str:
        pixel = image.convert("RGB").getpixel((image.width // 2, image.height // 2))
        return next((text for colour, text in self.SIGNS.items() if sum(abs(a - b) for a, b in zip(colour, pixel)) < 60), "")


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    names = {"tower": "旅行/東京タワーの夜景.jpg", "beijing": "北京/家族写真.jpg", "seoul": "서울에서_여행.jpg"}
    names["beach"] = "beach/dog.jpg"
    colours = {"tower": (255, 0, 0), "beijing": (0, 0, 255), "seoul": (0, 255, 0), "beach": COLOURS[3]}
    paths = {key: save_jpeg(photo(colour=colours[key], seed=i), root / name) for i, (key, name) in enumerate(names.items())}
    with Store.open(tmp_path_factory.mktemp("data")) as store:
        index_with(store, [root], FakeCaptioner(), ocr=True, text_reader_factory=lambda _: SignReader())
        # A person's caption in Japanese, with a word of one character ("犬", a dog) inside a run of kana.
        store.set_caption(store.image_by_path(paths["beach"]).id, "浜辺で犬が走っている")
        yield store, {key: str(path) for key, path in paths.items()}


@pytest.mark.parametrize(
    "query, found",
    [
        ("東京", {"tower"}),  # the start of a file name
        ("夜景", {"tower"}),  # its end
        ("タワー", {"tower"}),  # its middle, in katakana
        ("展望台", {"tower"}),  # the sign's text
        ("写真", {"beijing"}),
        ("北京", {"beijing"}),  # a folder's name and the sign
        ("欢迎", {"beijing"}),  # in the middle of the sign
        ("서울", {"seoul"}),  # Korean: "in Seoul" is one word
        ("여행", {"seoul"}),
        ("犬", {"beach"}),  # one character alone, in a person's caption
        ("走っ", {"beach"}),
        ("東京 夜景", {"tower"}),
        ("text:欢迎", {"beijing"}),
        ("file:東京", {"tower"}),
        ("東京 OR 서울", {"tower", "seoul"}),
        ("写真 -北京", set()),
        ("京都", set()),  # Kyoto: no photo holds 京 beside 都
        ('"東京夜景"', set()),  # the pairs must follow one another: a phrase is not two words apart
        ('"東京タワー"', {"tower"}),
    ],
)
def test_part_of_a_chinese_japanese_or_korean_name_caption_or_sign_finds_the_photo(library, query, found):
    store, paths = library
    assert paths_found(store, query) == {paths[key] for key in found}, query


def test_the_matched_characters_are_marked_once_in_the_text_shown(library):
    store, _ = library
    assert highlight("東京タワーの夜景", store.search("タワー").terms) == [("東京", False), ("タワー", True), ("の夜景", False)]
    marked = highlight("浜辺で犬が走っている", store.search("犬").terms)
    assert marked == [("浜辺で", False), ("犬", True), ("が走っている", False)]


def test_text_in_other_scripts_is_read_word_for_word_as_whoosh_reads_it():
    """Every caption of the three evaluation libraries, and text in Latin, Greek, Cyrillic, Arabic and Thai: the
    same words at the same positions as Whoosh's own tokenizer gives, in the index and in a query."""
    whoosh = RegexTokenizer() | LowercaseFilter() | CharsetFilter(accent_map) | StopFilter(STOP_WORDS) | StemFilter()
    texts = [caption for library in libraries() for caption in library.captions]
    texts += ["Crème brûlée at the CAFÉ, 3.5 stars", "IMG_0042.JPG u.s.a", "a x 7 dog"]
    texts += ["Ακρόπολη Αθήνα", "Красная площадь", "القاهرة", "กรุงเทพ"]
    for text in texts:
        for mode in ("index", "query"):
            expected = [(token.text, token.pos) for token in whoosh(text, positions=True, mode=mode)]
            assert [(token.text, token.pos) for token in text_analyzer()(text, positions=True, mode=mode)] == expected, text


def test_names_written_decomposed_or_half_width_are_found_as_typed(tmp_path):
    import unicodedata

    root = tmp_path / "photos"
    decomposed = save_jpeg(photo(colour=COLOURS[0]), root / unicodedata.normalize("NFD", "서울에서_학교.jpg"))  # as macOS writes
    half_width = save_jpeg(photo(colour=COLOURS[1], seed=1), root / "ﾀﾜｰ.jpg")
    zurich = save_jpeg(photo(colour=COLOURS[2], seed=2), root / unicodedata.normalize("NFD", "Trip_Zürich.jpg"))
    creme = save_jpeg(photo(colour=COLOURS[3], seed=3), root / unicodedata.normalize("NFD", "Crème/Crème_2019.jpg"))
    with Store.open(tmp_path / "data") as store:
        index_with(store, [root], FakeCaptioner())
        # was: nothing; the decomposed name's letters were never the syllables a person types
        assert paths_found(store, "학교") == paths_found(store, "서울") == {str(decomposed)}
        assert paths_found(store, "タワー") == paths_found(store, "ﾀﾜｰ") == {str(half_width)}
        # was: cut at the accent, so `zürich` found nothing and `rich` found Zürich
        assert paths_found(store, "zürich") == {str(zurich)} and paths_found(store, "rich") == set()
        assert paths_found(store, "crème") == paths_found(store, "creme") == {str(creme)}


def test_a_prefix_of_more_than_two_characters_finds_what_starts_with_them(library):
    store, paths = library
    # was: nothing, no term of the index being longer than a pair
    assert paths_found(store, "東京タ*") == paths_found(store, "タワー*") == {paths["tower"]}
    assert paths_found(store, "東京*") == {paths["tower"]}


def test_text_is_shown_as_it_is_written_with_its_matches_marked():
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "서울에서 만나요, café…")
    pieces = highlight(decomposed, {"서울", "cafe"})
    assert "".join(piece for piece, _ in pieces) == decomposed  # not its NFKC form: "…" stays, not "..."
    assert [piece for piece, marked in pieces if marked] == [
        unicodedata.normalize("NFD", "서울"),
        unicodedata.normalize("NFD", "café"),
    ]
    assert highlight("ﾀﾜｰの夜景", {"タワ", "ワー"}) == [("ﾀﾜｰ", True), ("の夜景", False)]
