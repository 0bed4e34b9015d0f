"""Auto-tags by a word's role in the caption: a table of real-looking caption phrases and the tags they
must and must not give. A dictionary that also lists an adjective sense ("square", "light", "glass",
"plastic", "chocolate", "orange") must not hide a noun; a quality ("small", "old") or an action
("sitting") must never become a tag."""

import pytest

from db.tags import auto_tags

# caption -> (tags it must give, tags it must not give)
TABLE: list[tuple[str, set[str], set[str]]] = [
    ("a red square", {"red", "square"}, set()),
    ("a red circle and a blue square on a white background", {"red", "circle", "blue", "square", "white"}, {"background"}),
    ("a street light", {"street", "light"}, set()),
    ("a glass of water", {"glass", "water"}, set()),
    ("a plastic bag", {"plastic", "bag"}, set()),
    ("a chocolate cake", {"chocolate", "cake"}, set()),
    ("an orange on a table", {"orange", "table"}, set()),
    ("sitting on a bench", {"bench"}, {"sitting", "sit"}),
    ("a small dog", {"dog"}, {"small"}),
    ("an old man walking along the shore", {"man", "shore"}, {"old", "walking", "walk"}),
    ("a young boy and a little girl", {"boy", "girl"}, {"young", "little"}),
    ("a light blue shirt on a hanger", {"blue", "shirt", "hanger"}, {"light"}),
    ("a square table with four chairs", {"table", "chair"}, {"square"}),
    ("a man riding a wave on top of a surfboard", {"man", "wave", "surfboard"}, {"riding", "ride", "top"}),
    ("two dogs playing with a frisbee in the grass", {"dog", "frisbee", "grass"}, {"playing", "play", "two"}),
    ("a group of people standing around a red bus", {"person", "red", "bus"}, {"group", "standing"}),
    ("children and mice near the geese", {"child", "mouse", "goose"}, set()),
    ("A Woman's BLACK cat, sleeping on the couch!", {"woman", "black", "cat", "couch"}, {"sleeping"}),
    ("crème brûlée on a table", {"crème", "brûlée", "table"}, set()),
    # a person's caption in Japanese: this grammar is English, and a whole clause is no tag
    ("東京タワーの夜景、赤くライトアップされている", set(), {"東京タワーの夜景", "赤くライトアップされている"}),
    ("a red bus in 東京", {"red", "bus"}, {"東京"}),
    ("an old building next to a bus stop", {"building", "bus", "stop"}, {"old", "next"}),
    ("a living room with a couch and a television", {"room", "couch", "television"}, {"living"}),
    ("a snow covered mountain under a blue sky", {"snow", "mountain", "blue", "sky"}, {"covered", "cover"}),
    ("a close up of a piece of paper", {"paper"}, {"close", "piece"}),
    ("a tennis ball bouncing near the net", {"tennis", "ball", "net"}, {"bouncing"}),
    ("steamed broccoli on a white plate", {"broccoli", "white", "plate"}, {"steamed"}),
    ("a cat curled up on a blanket", {"cat", "blanket"}, {"curled", "up"}),
    ("a dog looking out of a window", {"dog", "window"}, {"looking", "out"}),
    ("a busy city street with cars and buses", {"city", "street", "car", "bus"}, {"busy"}),
    ("a wooden bench in a park", {"bench", "park"}, {"wooden"}),
    ("a stuffed animal on a bed", {"animal", "bed"}, {"stuffed"}),
    ("a wedding cake with white frosting", {"wedding", "cake", "white", "frosting"}, set()),
    ("a black and white dog standing on a sandy beach", {"black", "white", "dog", "beach"}, {"sandy"}),
    ("a woman holding an umbrella in the rain", {"woman", "umbrella", "rain"}, {"holding"}),
    ("a pizza sitting on top of a pan", {"pizza", "pan"}, {"sitting"}),
    ("a cup of coffee next to a laptop", {"cup", "coffee", "laptop"}, set()),
    ("a stop sign on a street corner", {"stop", "sign", "street", "corner"}, set()),
    ("a traffic light on a city street corner", {"traffic", "light", "city", "street", "corner"}, set()),
    ("a metal fence around a brick house", {"metal", "fence", "brick", "house"}, set()),
    ("a man in a dark suit", {"man", "suit"}, {"dark"}),
    ("a bowl of fresh fruit", {"bowl", "fruit"}, {"fresh"}),
    ("a silver car parked in a garage", {"silver", "car", "garage"}, {"parked", "park"}),
    ("a paper plate with a slice of pizza", {"paper", "plate", "slice", "pizza"}, set()),
    ("a baby elephant next to its mother", {"baby", "elephant", "mother"}, {"its"}),
    ("the of and a an in on", set(), {"of", "and"}),
    # A vision-language model's prose: finite verbs, predicates and "the image shows" are no things in the photo
    (
        "An older woman stands on a ridge. Behind her, the Matterhorn rises above pine trees, and two hikers cross a bridge.",
        {"woman", "ridge", "matterhorn", "pine", "tree", "hiker", "bridge"},
        {"stand", "rise", "cross"},
    ),
    (
        "The image shows a dog lying on a porch. Sunlight falls across the boards.",
        {"dog", "porch", "sunlight", "board"},
        {"show", "fall"},
    ),
    ("The sky is clear and the sea is blue.", {"sky", "sea", "blue"}, {"clear"}),
    ("A plate of rice sits on a table. The food is fresh.", {"plate", "rice", "table", "food"}, {"sit", "fresh"}),
    # but a lower-case COCO caption keeps its reading: "stands" there is a thing ("fruit stands")
    ("fruit stands at a market", {"fruit", "stand", "market"}, set()),
    # An ordinal is a number, not a number and a word: its suffix is no tag
    ("Tom's 3rd birthday party on the 4th of July", {"tom", "birthday", "party", "july"}, {"rd", "th"}),
    ("the 1st day of school", {"day", "school"}, {"st"}),
    ("a cake for their 25th anniversary", {"cake", "anniversary"}, {"th"}),
    ("a red bus on 2nd Street", {"red", "bus", "street"}, {"nd"}),
    ("the 22nd and 23rd floors of a tower", {"floor", "tower"}, {"nd", "rd"}),
]


def test_the_table_is_big_enough_to_mean_something():
    assert len(TABLE) >= 40


@pytest.mark.parametrize("caption, must, must_not", TABLE, ids=[row[0] for row in TABLE])
def test_tags_follow_the_caption_grammar(caption, must, must_not):
    tags = set(auto_tags(caption))
    assert must <= tags, f"missing {must - tags}"
    assert not (must_not & tags), f"unwanted {must_not & tags}"


@pytest.mark.parametrize(
    "caption",
    [
        "",
        "'",
        "''",
        "=cmd|' /C calc'!A0",
        "...",
        "a 'quoted' word",
        "dog's'",
        "\x00\x01",
        "🙂 a cat 🙂",
        "123 456",
        "-",
        "a" * 5000,
    ],
)
def test_odd_captions_never_crash_the_tagger(caption):
    assert isinstance(auto_tags(caption), list)


def test_the_tagger_loads_inflect_without_typeguards_instrumentation():
    import subprocess
    import sys

    # Instrumenting inflect at import took 2.7 s of every command that tags; the stand-in must not stay behind.
    script = (
        "import sys\nfrom db.tags import auto_tags\n"
        "print(auto_tags('people near the buses'), 'typeguard' in sys.modules)\n"
        "import typeguard\nprint(hasattr(typeguard, 'check_type'))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.split("\n")[:2] == ["['person', 'bus'] False", "True"]
