"""The one JSON writer: orjson's text must be the standard library's, with one trailing newline."""

import json

import pytest

from core import json_text

VALUES = [
    {"b": [1, {"x": "é", "y": None}], "a": 2.5, "c": True},
    [],
    {"big": 2 ** 70},  # past orjson's integers: the standard library writes it
    "text",
]


@pytest.mark.parametrize("value", VALUES)
def test_pretty_text_and_bytes_are_the_standard_librarys_with_one_newline(value):
    expected = json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert json_text.pretty(value) == expected
    assert json_text.pretty_bytes(value) == expected.encode("utf-8")
