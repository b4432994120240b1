"""An adversarial review of the event reader (``plain_read``): it must never answer
differently from the node-tree reader alone.

``test_yaml_reader_differential.py`` holds the two readers to the same data, problems and
marks on the repository's files and on generated flow-style documents.  This file adds
what that one does not reach: YAML 1.1 corner cases written by hand (booleans, numbers in
every base, sexagesimal, ``.inf``/``.nan``, the ``=`` and ``<<`` scalars, ``!``, directives,
markers, BOM, tabs, CRLF, keys that are equal only after escape processing or folding,
keys longer than the 64 characters the caches remember), generated *block*-style
documents, the caches when full of an attacker's scalars, the values of two reads
being independent, and many threads reading and asking for marks at once.
"""

from __future__ import annotations

import io
import sys
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.manifest import yaml_events
from core.manifest.yaml_events import UNUSUAL, plain_read
from core.manifest.yaml_source import _parse_nodes, parse_yaml
from test_yaml_reader_differential import _paths, assert_same, generate_pack, outcome

LONG = "k" * 70  # past the 64 characters the scalar caches remember

CORNERS = [
    # booleans, nulls, numbers in every base and form YAML 1.1 reads
    "a: yes\nb: no\nc: on\nd: off\ne: y\nf: N\ng: Yes\nh: YES\ni: yEs\nj: NO\nk: nO\n",
    "a: 0x\nb: 0o\nc: 0b\nd: 0o17\ne: 0o8\nf: 0x1g\n",
    "a: 1_000\nb: 1:20\nc: .inf\nd: -.Inf\ne: +1\nf: 1e3\ng: 1.0e+3\nh: 1E3\ni: 1.0E-3\nj: 1e+3\n",
    "a: .nan\nb: .NaN\nc: .NAN\nd: .Nan\ne: -.nan\nf: +.inf\n", "a: -0\nb: -0.0\nc: +0.0\nd: 0.\ne: -.5\n",
    "a: 0.1e1\nb: 1.e3\nc: 3.\n", "a: 190:20:30.15\nb: 1:60\nc: 60:1\nd: 0:0\ne: 1:2:3:4:5:6:7:8:9:10:11:12\n",
    "a: 0b_\nb: 0x_\nc: 0_\nd: _1\ne: 1_\nf: 1__2\ng: 1:_\n", "a: 00\nb: 09\nc: 07\nd: 0777\ne: 08\n",
    "a: +0b1\nb: -0x_1\nc: +0x1\nd: -0o7\n", "a: 0o1777777777777777777777\nb: 1.7976931348623157e309\n",
    "a: 1e99999999999999999999\n", "a: " + "9" * 4300 + "\n", "a: " + "9" * 4301 + "\n",
    "a: 1." + "9" * 4298 + "\n", "a: 1." + "9" * 4299 + "\n", "a: 1:" + "5" * 4299 + "\n",
    # dates stay text, impossible ones too when they resolve as dates
    "a: 2001-12-14\nb: 2001-12-14 21:59:43.10 -5\nc: 2001-1-1\nd: 2001-13-45\ne: 2001-02-30\n",
    # the value tag, the merge key, the non-specific tag, other tags
    "a: =\n", "=: 1\n", "a: '='\n", "a: <<\n", "<<: 1\n", "'<<': 1\n", "\"<<\": 1\n<<: {a: 1}\n", "? <<\n: {a: 1}\n",
    "[<<: {a: 1}]\n", "'<<': {a: 1}\nb: 2\n", "a: ! x\n", "a: ! 12\n", "! a: 1\n", "a: !!binary aGk=\n",
    "a: !!set {x}\n", "a: !!omap [x: 1]\n", "!!null : 1\n", "a: !!str\n", "a: !<tag:yaml.org,2002:str> x\n",
    "a: !<!> x\n",
    # keys that read as other types, or that are equal only after escapes, folding or quoting
    "1: a\n'1': b\n", "true: 1\nTrue: 2\n", "null: 1\n~: 2\n'': 3\n", "? \n: 1\n'': 2\n", "1: a\n01: b\n1.0: c\n",
    "'a': 1\n\"\\x61\": 2\n", "\"\\u00e1\": 1\n\u00e1: 2\n", "\"a\\u0301\": 1\n\"\u00e1\": 2\n",
    "\"a\nb\": 1\n", "'a\n  b': 1\n'a b': 2\n", "\"a\n  b\": 1\na b: 2\n", "? |\n  k\n: v\n? k\n: w\n",
    "? |-\n  k\n: v\nk: w\n", "a: 1\n\"a\\\n\": 2\n", "\"\\t\": 1\n\"\t\": 2\n", "\"\\L\": 1\n\"\u2028\": 2\n",
    f"{LONG}: 1\n{LONG}: 2\n", f"{LONG}1: 1\n{LONG}2: 2\n", f"{LONG}: 1\n'{LONG}': 2\n",
    f"\"{LONG}\\x41\": 1\n{LONG}A: 2\n", f"a: {LONG}\nb: 1{'0' * 70}\nc: 1{'0' * 70}.5\n",
    # structure: explicit keys, sets, flow and block, empty values, multi-line scalars
    "? a\n: b\n", "? [a]\n: b\n", "{? a}\n", "? - a\n", "- ? a\n  : b\n", "a: {x: , y}\n", "a:\nb: \n",
    "a: b\n  c\n  d\n", "- a\n- b: c\n  d: e\n", "a: 'x\n\n  y'\n", "a: \"x\\\n  y\"\n", "a: |+\n  x\n\n",
    "a: >2-\n   x\n", "a: 1 # c\n# end\n", "a: #x\n", "a:\n- 1\n- 2\n", "a:\n  - 1\n   - 2\n", "- - - - [a]\n",
    "[]\n", "{}\n", "x\n", "''\n", "~\n", "1\n", "a: {b: 1, b: 2}\n", "a: [1, {b: 1}, {b: 2}]\n",
    # documents, markers and directives
    "%YAML 1.1\n---\na: 1\n", "%YAML 1.2\n---\na: 1\n", "%YAML 2.0\n---\na: 1\n", "%FOO bar\n---\na: 1\n",
    "%TAG !e! tag:e,2000:\n---\na: !e!x 1\n", "%TAG !e! tag:e,2000:\n---\na: 1\n",
    "%TAG !! tag:evil:\n---\na: !!str 1\n", "%TAG ! tag:yaml.org,2002:\n---\na: !str 1\n",
    "---\na: 1\n...\n", "--- |\n  x\n", "--- >\n  x\n...\n", "... \n", "a: 1\n--- \n", "a: 1\n...\n---\n",
    "a: 1\n...\n# c\n", "a: 1\n...\n%YAML 1.1\n",
    # BOM, tabs, line breaks, control and odd characters
    "\ufeffa: 1\n", "\ufeff\ufeffa: 1\n", "a: 1\n\ufeffb: 2\n", "a:\tb\n", "a: 1\n\t\n", "a: 1\n \tb: 2\n",
    "\ta: 1\n", "a: 1\r\nb: 2\r\n", "a: 1\rb: 2\r", "\x85a: 1\n", "a: 1\u2028b: 2\n", "a: \x7f\n", "a: \x01\n",
    "a: \"\\ud800\"\n", "a: \"\\U0010FFFF\"\n", "a: \"\\x00\"\n", "a: \"\\0\"\n", "a: \ud800\n", "a: 1\n\x00",
    # nesting at the limit and one past it, in flow and block style
    "a: " + "[" * 63 + "]" * 63 + "\n", "a: " + "[" * 64 + "]" * 64 + "\n", "- " * 64 + "x\n", "- " * 65 + "x\n",
    "".join(" " * n + f"k{n}:\n" for n in range(64)) + " " * 64 + "x: {}\n",
    # anchors and aliases
    "a: &x 1\n", "a: *x\n", "&x a: 1\n", "a: &x 1\nb: *x\n", "- &a [1]\n- *a\n",
]


@pytest.mark.parametrize("text", CORNERS)
def test_yaml_corner_cases_read_the_same(text):
    assert_same(text)


def test_the_corner_cases_reach_the_event_reader():
    # Most of them: the event reader has to answer, not only defer to the node tree.
    assert sum(plain_read(text) is not UNUSUAL for text in CORNERS) >= 60


BLOCK_SCALARS = ["a", "1", "-2", "0x1F", "0o17", "017", "1_000", "1:30", "1e3", "1.0e+3", ".inf", "-.Inf",
                 ".NaN", "yes", "Off", "~", "null", "", "2024-01-02", "'q'", '"dq\\n"', "'1'", '"yes"', "<<",
                 "'<<'", "=", "+1", "-0", "0b101", "0b", "0x", "a b", "x:y", "-x", "?x", "'a''b'", "\"\\x61\"",
                 "é", "e\u0301", "!!str 1", "! 12", "&a 1", "*a", "9" * 70, "k" * 65, "|\n{i}  block",
                 ">-\n{i}  folded\n{i}  more", "multi\n{i}  line"]
BLOCK_KEYS = ["a", "b", "1", "'1'", "true", "~", "null", "''", "<<", "'<<'", "\"a\"", "\"\\x61\"", "? a",
              "? '<<'", "yes", "=", "01", "k" * 65, "'" + "k" * 65 + "'"]


@st.composite
def block_node(draw, indent: int, depth: int = 0) -> str:
    """A block node's text after ``key:`` or ``-`` at ``indent`` (a scalar, or lines below)."""
    kind = draw(st.sampled_from(["scalar"] * 3 + (["seq", "map", "flow"] if depth < 4 else [])))
    pad = " " * (indent + 2)
    if kind == "scalar":
        return " " + draw(st.sampled_from(BLOCK_SCALARS)).replace("{i}", " " * indent)
    if kind == "flow":
        items = draw(st.lists(st.sampled_from([s for s in BLOCK_SCALARS if "\n" not in s]), max_size=3))
        return " [" + ", ".join(items) + "]"
    lines = []
    for _ in range(draw(st.integers(1, 3))):
        head = "-" if kind == "seq" else draw(st.sampled_from(BLOCK_KEYS)) + ":"
        lines.append(pad + head + draw(block_node(indent + 2, depth + 1)))
    return "\n" + "\n".join(lines)


@st.composite
def block_documents(draw) -> str:
    lines = [draw(st.sampled_from(BLOCK_KEYS)) + ":" + draw(block_node(0)) for _ in range(draw(st.integers(1, 4)))]
    text = "\n".join(lines) + draw(st.sampled_from(["\n", "\n", "", "\n# end\n", "\n...\n", "\n---\n"]))
    text = draw(st.sampled_from(["", "", "", "---\n", "\ufeff", "%YAML 1.1\n---\n"])) + text
    if draw(st.integers(0, 5)) == 0:
        text = text.replace("\n", draw(st.sampled_from(["\r\n", "\r", "\n\n", "\n\t"])))
    if draw(st.integers(0, 5)) == 0:  # tear it
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(list("[]{}:-&*!'\"\t\n ,?#|>%") + ["  "])) + text[at:]
    return text


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(block_documents())
def test_generated_block_documents_read_the_same(text):
    assert_same(text)


PIECES = list("0123456789_:.+-eExXoObB~nNuUlLtTrRyYsSfFaA <>=!&*|#%@`'\",[]{}?\t\\") + [
    "inf", "nan", "Inf", "NaN", "true", "null", "yes", "on", "off", "\u00e9", "\u2028", "\x85", "\ufeff", "\r\n"]
WORDS = st.lists(st.sampled_from(PIECES), max_size=12).map("".join)
FORMS = ["{k}: {v}\n{w}: 1\n", "- {v}\n- {k}: {w}\n", "[{k}, {v}]\n", "{{{k}: {v}, {w}: x}}\n",
         "'{k}': {v}\n\"{w}\": 2\n", "{k}: \"{v}\"\n{k}: '{w}'\n", "? {k}\n: {v}\n"]


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(WORDS, WORDS, WORDS, st.sampled_from(FORMS))
def test_generated_scalars_as_keys_and_values_read_the_same(key, value, other, form):
    # Scalars made of the characters that make YAML 1.1 read a number, a boolean, a null,
    # a date, a merge or value key, an escape or a line break (20,000 of them held once).
    assert_same(form.format(k=key, v=value, w=other))


@pytest.fixture()
def empty_caches():
    """Empty scalar caches for the test, and the ones the session had back after it."""
    saved = dict(yaml_events._VALUES), dict(yaml_events._RESOLVED)
    yaml_events._VALUES.clear()
    yaml_events._RESOLVED.clear()
    yield
    for cache, kept in zip((yaml_events._VALUES, yaml_events._RESOLVED), saved):
        cache.clear()
        cache.update(kept)


def test_caches_full_of_an_attackers_scalars_stay_bounded_and_read_the_same(empty_caches):
    # 50,500 distinct 64-character scalars fill the caches, which stop at 50,000; what they
    # no longer remember (strings, integers, floats, booleans) still reads as the node tree reads it.
    text = "[" + ", ".join(f"s{n:063d}" for n in range(50_500)) + "]\n"
    assert plain_read(text) == _parse_nodes(text, "p.yaml").data
    assert len(yaml_events._VALUES) == len(yaml_events._RESOLVED) == 50_000
    for kind in ("t{:063d}", "{:064d}", "{:062d}.5", "{:d}:30", "0x{:x}"):
        text = "[" + ", ".join(kind.format(n) for n in range(1_000)) + ", yes, Off, ~, 1e3]\n"
        assert plain_read(text) is not UNUSUAL
        assert_same(text)
    assert len(yaml_events._VALUES) == len(yaml_events._RESOLVED) == 50_000
    for text in CORNERS:
        assert_same(text)


def test_two_reads_share_no_mutable_value():
    text = "a: [1, 2.5, yes, ~, x, 1e3, 2024-01-01]\nb: {c: [d], e: {}}\nf: []\n"
    first = parse_yaml(text, "p.yaml").data
    first["a"].append("more")
    first["b"]["c"].clear()
    first["b"]["e"]["x"] = 1
    first["f"].append(0)
    first["new"] = True
    second = parse_yaml(text, "p.yaml").data
    assert repr(second) == repr(_parse_nodes(text, "p.yaml").data)
    assert second["a"] == [1, 2.5, True, None, "x", second["a"][5], "2024-01-01"]
    assert second["b"] == {"c": ["d"], "e": {}} and second["f"] == [] and "new" not in second



def in_threads(target, arguments: list[tuple]) -> None:
    """``target`` on one thread per argument tuple, all joined, switching threads as often as the
    interpreter can."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=target, args=args) for args in arguments]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)


def test_many_threads_reading_and_asking_for_marks_agree_with_one():
    # The app and the API read packs on several threads; a plain pack's tree is composed on
    # the first mark asked for, by whichever thread asks.
    texts = [generate_pack(n)[0] for n in (40, 90)] + [
        "a: [1, 2.5, yes, ~, '1', 1:30]\nb: {c: .nan}\n", "x: &a 1\ny: *a\n", "a: 1\na: 2\n", "a: [\n"]
    expected = [outcome(_parse_nodes, text, 150) for text in texts]
    wrong: list = []

    def read(offset: int) -> None:
        for round_ in range(12):
            index = (offset + round_) % len(texts)
            if outcome(parse_yaml, texts[index], 150) != expected[index]:
                wrong.append(("read", index))

    in_threads(read, [(k,) for k in range(4)])
    assert wrong == []


def test_threads_asking_a_fresh_source_for_marks_at_once_get_the_same_marks():
    # Four threads released together on each of 400 sources whose tree is not yet composed:
    # each must get the marks the node tree gives, whichever thread composes it (a root
    # that dropped its text before its tree was set answered (1, 1) to the others).
    text = "a:\n  b: [1, x]\n  c: {d: e}\n"
    paths = [("a",), ("a", "b", 1), ("a", "c", "d"), ("no",)]
    marks = [_parse_nodes(text, "p.yaml").mark_of(path, key=True) for path in paths]
    sources = [parse_yaml(text, "p.yaml") for _ in range(400)]
    together = threading.Barrier(4)
    wrong: list = []

    def ask() -> None:
        for source in sources:
            together.wait()
            try:
                if [source.mark_of(path, key=True) for path in paths] != marks:
                    wrong.append("marks")
            except Exception as error:  # noqa: BLE001 - any error is the finding
                wrong.append(repr(error))

    in_threads(ask, [()] * 4)
    assert wrong == []


def test_a_stream_is_read_once_by_the_node_tree():
    # PyYAML reads streams as well as text.  The event reader consumed a stream, leaving the
    # node tree an empty one ("the file is empty" for a document with an anchor) and the
    # lazily composed tree nothing to read (every mark (1, 1)).
    for text in ("a: &x 1\nb: *x\n", "a:\n  b: 1\n"):
        assert outcome(parse_yaml, io.StringIO(text)) == outcome(_parse_nodes, io.StringIO(text))
        assert outcome(parse_yaml, io.StringIO(text)) == outcome(_parse_nodes, text)
