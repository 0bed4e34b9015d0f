"""When a caption contradicts the query (db/attributes.py): the query gives a thing a colour, a count, a
material or a size, and the caption gives the same thing only another one."""

import pytest

from db.attributes import contradicts, described


@pytest.mark.parametrize(
    ("query", "caption", "contradiction"),
    [
        ("purple square", "an orange square on a blue background", True),
        ("purple square", "a purple square on a blue background", False),
        ("purple square", "a yellow square on a purple background", True),  # the background is purple
        ("purple square", "a purple circle on a yellow background", False),  # another thing
        ("yellow star", "a red star", True),
        ("yellow star", "a star", False),  # no colour given: says nothing either way
        ("crimson circle", "a red circle", False),  # a shade of its colour
        ("red circle", "a red square and a black circle on a white background", True),
        ("red circle", "a red circle and a black circle", False),
        ("blue umbrella", "a yellow and blue umbrella on the sand", False),
        ("red umbrella", "a yellow and blue umbrella on the sand", True),
        ("two dogs", "three dogs playing in the snow", True),
        ("two dogs", "two dogs playing", False),
        ("two dogs", "a dog and a dog", False),
        ("two dogs", "a dog sleeping on a couch", True),
        ("two dogs", "dogs playing", False),  # how many is not said
        ("wooden chair", "a metal chair in a kitchen", True),
        ("wooden chair", "a chair", False),
        ("small dog", "a big dog on a leash", True),
        ("red sports car", "a blue sports car", True),
        ("red car", "a red beach umbrella", False),
        ("puppy", "a dog", False),
        ("a dog on the beach", "three dogs on the beach", False),  # "a" in a query is a habit of speech
    ],
)
def test_a_caption_contradicts_a_query_only_by_another_value_of_what_it_names(query, caption, contradiction):
    assert contradicts(described(query), caption) is contradiction


def test_a_query_that_describes_nothing_needs_no_caption():
    assert described("beach at sunset") == [] and described("purple") == []
