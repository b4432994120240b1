import time
import weakref

import pytest

from core.errors import PackInvalid
from core.limits import MAX_MANIFEST_BYTES
from core.manifest.yaml_source import decode_text, parse_yaml


def problems(text: str) -> list[str]:
    with pytest.raises(PackInvalid) as caught:
        parse_yaml(text, "p.yaml")
    return [str(p) for p in caught.value.problems]


def test_marks_point_at_keys_and_values():
    source = parse_yaml("a:\n  b: [1, 2]\n  c: x\n", "p.yaml")
    assert source.data == {"a": {"b": [1, 2], "c": "x"}}
    assert source.mark_of(("a", "b", 1)) == (2, 10)
    assert source.mark_of(("a", "c"), key=True) == (3, 3)
    assert source.mark_of(("a", "missing", 4)) == (2, 3)  # nearest ancestor


def test_duplicate_mapping_key_is_refused_with_both_lines():
    assert problems("a: 1\nb: 2\na: 3\n") == ["p.yaml:3:1: duplicate key 'a' (first at line 1)"]


def test_malformed_yaml_has_line_and_column():
    (message,) = problems("a: {b: 1\nc: [\n")
    assert message.startswith("p.yaml:2:") and "the YAML is malformed" in message


@pytest.mark.parametrize("text", [
    "a: !!python/object:os.system echo\n",
    "a: !!python/name:os.system\n",
    "a: !custom 3\n",
    "a: !!binary aGVsbG8=\n",
    "a: !!set {x: null}\n",
])
def test_non_standard_tags_are_refused_not_constructed(text):
    (message,) = problems(text)
    assert "unsupported YAML tag" in message and message.startswith("p.yaml:1:")


def test_alias_bomb_is_refused_quickly():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        lines.append(f"{level}: &{level} [" + ",".join([f"*{previous}"] * 9) + "]")
    started = time.perf_counter()
    (message,) = problems("\n".join(lines) + "\n")
    assert "expansion bomb" in message
    assert time.perf_counter() - started < 5  # generous: a bomb must not expand at all


def test_small_aliases_and_merge_keys_work():
    source = parse_yaml("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\nlist: [*b]\n", "p.yaml")
    assert source.data["other"] == {"x": 1, "y": 3}
    assert source.data["list"] == [{"x": 1, "y": 2}]


def test_deep_nesting_is_refused():
    (message,) = problems("a: " + "[" * 100 + "]" * 100 + "\n")
    assert "nested too deeply" in message


def test_dates_stay_text_and_keys_stay_strings():
    source = parse_yaml("when: 2024-01-02\non: yes\n1: x\n", "p.yaml")
    assert source.data == {"when": "2024-01-02", "on": True, "1": "x"}


def test_empty_and_multi_document_files():
    assert problems("") == ["p.yaml:1:1: the file is empty; expected a Task Pack mapping"]
    assert "more than one YAML document" in problems("a: 1\n---\nb: 2\n")[0]


def test_undecodable_bytes_and_size_limit():
    with pytest.raises(PackInvalid, match=r"p.yaml:2:4: the file is not valid UTF-8"):
        decode_text(b"a: 1\nb: \xff\n", "p.yaml")
    with pytest.raises(PackInvalid, match="NUL byte"):
        decode_text(b"a: \x00", "p.yaml")
    with pytest.raises(PackInvalid, match="larger than 10 MiB"):
        decode_text(b" " * (MAX_MANIFEST_BYTES + 1), "p.yaml")


@pytest.mark.parametrize("number", ["9" * 5000, "1:" * 200_000 + "1", "1" * 4301 + ".5"])
def test_numbers_too_long_to_read_are_refused(number):
    """Python cannot read 4,300+ digit integers; base-60 ones cost quadratic time (issue 10 item 11)."""
    assert problems(f"a: 1\nb: {number}\n") == [
        "p.yaml:2:4: a number written with more than 4,300 characters; quote it if it is meant as text"]
    assert parse_yaml(f"b: '{number[:5000]}'\nc: 1:30\n", "x.yaml").data == {"b": number[:5000], "c": 90}


def test_a_fifo_is_refused_not_waited_on(tmp_path):
    import os
    from core.manifest.yaml_source import read_text
    fifo = tmp_path / "pack.yaml"
    os.mkfifo(fifo)
    with pytest.raises(PackInvalid, match="it is a FIFO \\(named pipe\\), not a regular file"):
        read_text(str(fifo))


def test_a_read_keeps_none_of_its_nodes_once_the_source_is_dropped():
    # The module-wide PyYAML constructor remembered every number, boolean and null node it
    # built, so each read kept those nodes and their marks alive for good.
    source = parse_yaml("a: 1\nb: true\nc: 2.5\nd: null\ne: text\nf: [3, false]\n", "x.yaml")
    assert source.data == {"a": 1, "b": True, "c": 2.5, "d": None, "e": "text", "f": [3, False]}
    nodes = [node for pair in source.root.value for node in pair] + source.root.value[-1][1].value
    refs = [weakref.ref(node) for node in nodes]
    del source, nodes
    assert [ref() for ref in refs] == [None] * len(refs)


@pytest.mark.parametrize("text, shown", [("x: .inf\n", ".inf"), ("x: [1, -.Inf]\n", "-.Inf"), ("x: {y: .NaN}\n", ".NaN")])
def test_a_number_json_cannot_hold_is_a_located_problem(text, shown):
    """Previews, plan hashes and journals are JSON: .inf and .nan were written as null by the
    preview (or ended the planner with a ValueError) instead of being refused where they are."""
    with pytest.raises(PackInvalid) as caught:
        parse_yaml(text, "p.yaml")
    (problem,) = caught.value.problems
    assert problem.line == 1 and text[problem.column - 1:].startswith(shown)
    assert "cannot hold" in problem.message and "quote it" in problem.message
    assert parse_yaml(text.replace(shown, f"'{shown}'"), "p.yaml").data  # quoted, it is text
