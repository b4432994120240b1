"""The event reader and the node-tree reader agree: same data, same problems, same marks.

``parse_yaml`` builds a plain document straight from libyaml's events and leaves
everything else to ``_parse_nodes`` (the node tree, then values from it), which
was the only reader before.  These tests hold the two to the same answers on
every YAML file of the repository, on the hostile inputs, on generated packs and
on generated YAML documents (anchors, aliases, merge keys, duplicate keys, tags,
numbers, nesting, flow and block styles, several documents, torn text), and
check that the event reader really is the one reading plain documents.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import PackInvalid
from core.manifest.yaml_events import UNUSUAL as _UNUSUAL
from core.manifest.yaml_events import plain_read as _plain_read
from core.manifest.yaml_source import _parse_nodes, parse_yaml
from fuzzing import _paths, mutated_manifests
from hostile_inputs import CASES

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from simulate import generate_pack  # noqa: E402

FILES = sorted(p for folder in ("tests", "resources") for pattern in ("*.yaml", "*.yml")
               for p in (ROOT / folder).rglob(pattern))


def outcome(reader, text: str, marks: int = 400):
    """What a reader makes of ``text``: its problems, or its data (repr: types count) and marks."""
    try:
        source = reader(text, "p.yaml")
    except PackInvalid as error:
        return "problems", [(p.file, p.line, p.column, p.message, p.step, p.field) for p in error.problems]
    paths = list(_paths(source.data))[:marks]
    return "data", repr(source.data), [(path, source.mark_of(path), source.mark_of(path, key=True))
                                       for path in paths + [("no", "such", 7)]]


def assert_same(text: str) -> None:
    assert outcome(parse_yaml, text) == outcome(_parse_nodes, text)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_yaml_file_reads_the_same(path):
    assert_same(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_inputs_read_the_same(name):
    raw = CASES[name][0]()
    if len(raw) > 2 * 1024 * 1024 or b"\x00" in raw:
        pytest.skip("refused before any YAML is read")
    assert_same(raw.decode("utf-8", errors="surrogateescape"))


def test_the_bench_pack_reads_the_same_and_without_a_node_tree():
    text, _ = generate_pack(2_000)
    assert _plain_read(text) is not _UNUSUAL
    source = parse_yaml(text, "p.yaml")
    assert source._root is None  # no tree until a mark is asked for
    assert_same(text)
    assert source.root is not None and source._root is source.root


PLAIN = [
    "a: 1\n", "[1, 2.5, -3, 0x1F, 0o17, 1_000, 1:30, 1e3, '.inf', \".NaN\"]\n", "x\n", "'x'\n",
    "a: yes\nb: No\nc: ON\nd: ~\ne:\nf: null\ng: 2024-01-02\nh: 2001-12-14t21:59:43.10-05:00\n",
    "1: a\n'2': b\ntrue: c\n~: d\n", "a: {b: [c, {d: e}]}\n", "- - - x\n", "--- a\n...\n",
    "%YAML 1.1\n---\na: b\n", "a: |\n  text\n  more\nb: >\n  folded\n", "a: \"quoted\\n\"\n",
    "a: " + "[" * 63 + "]" * 63 + "\n", "a: \"=\"\nb: '<<'\n'<<': 1\n", "---\n", "- \n- ''\n",
    "a: 1_\nb: 0b102\nc: 0b101\nd: 1:2:3:4:" + "5" * 4400 + "\n", "a: " + "1" * 4300 + "\n",
]
UNUSUAL = [
    "", "# a comment\n", "a: 1\n---\nb: 2\n", "a: 1\na: 2\n", "a: &x 1\nb: *x\n", "<<: {a: 1}\n",
    "a: !!str 1\n", "a: ! 1\n", "? [a]\n: b\n", "a: " + "[" * 64 + "]" * 64 + "\n", "a: =\n",
    "a: <<\n", "a: " + "9" * 5000 + "\n", "a: [\n", "a: b: c\n", "a: !x [1]\n", "a: [*x]\n",
    "a: \ud800\n", "a: " + "1:" * 2200 + "1\n", "a: {b: 1, b: 2}\n", "- &a [1]\n- *a\n",
    "a: .inf\n", "[1, -.Inf]\n", "a: {b: .NaN}\n",  # JSON has no such numbers: the node tree words it
]


@pytest.mark.parametrize("text", PLAIN)
def test_plain_documents_are_read_from_events(text):
    assert _plain_read(text) is not _UNUSUAL
    assert_same(text)


@pytest.mark.parametrize("text", UNUSUAL)
def test_other_documents_go_to_the_node_tree(text):
    assert _plain_read(text) is _UNUSUAL
    assert_same(text)


SCALARS = ["a", "b", "x y", "1", "-2", "0x1F", "0o17", "017", "1_000", "1:30", "190:20:30", "1e3", "1.5",
           ".inf", "-.inf", ".NaN", "yes", "No", "on", "OFF", "true", "~", "null", "", "2024-01-02",
           "2001-12-14 21:59:43.10 -5", "'quoted'", '"dq\\n"', "'1'", '"yes"', "<<", "=", "!!str 1",
           "!!int 3", "!!int x", "!!float 1", "!!bool yes", "!!null ''", "! 12", "!custom x",
           "!!binary aGk=", "!!timestamp 2024-01-02", "!!python/name:os.system", "9" * 80, "0b101",
           "1e", "0x", "+.5", "-0", "|\n  block", ">-\n  fold"]
KEYS = ["a", "b", "c", "1", "'a'", "<<", '"<<"', "!!merge <<", "!!str a", "? a", "~", "null", "yes"]


PLAIN_SCALARS = [s for s in SCALARS if not s.startswith("!") and s not in ("<<", "=")]
PLAIN_KEYS = [k for k in KEYS if "<<" not in k and "!" not in k]
MANY_KEYS = [f"k{n}" for n in range(40)] + PLAIN_KEYS


@st.composite
def yaml_node(draw, depth: int = 0, anchors: list | None = None, plain: bool = False) -> str:
    """A YAML node as flow text: scalars, lists, mappings, anchors, aliases, merges, tags.

    ``plain``: none of these but duplicate keys (mostly what the event reader reads itself).
    """
    anchors = anchors if anchors is not None else []
    choices = ["scalar"] * 3 + ([] if plain else ["alias"]) + \
        (["seq", "map"] * 2 + ([] if plain else ["merge"]) if depth < 4 else [])
    kind = draw(st.sampled_from(choices))
    if kind == "alias":
        name = draw(st.sampled_from(anchors * 6 + ["undefined"])) if anchors else "undefined"
        return f"*{name}"
    prefix = ""
    if not plain and draw(st.integers(0, 5)) == 0:
        name = f"a{draw(st.integers(0, 9))}"  # repeats: duplicate anchors too
        anchors.append(name)
        prefix = f"&{name} "
    if kind == "scalar":
        return prefix + draw(st.sampled_from(PLAIN_SCALARS if plain else SCALARS)).replace("\n", " ").replace("|", "x").replace(">", "y")
    if kind == "seq":
        tag = "" if plain else draw(st.sampled_from(["", "", "", "!!seq ", "!!set ", "!x "]))
        items = draw(st.lists(yaml_node(depth + 1, anchors, plain), max_size=4))
        return f"{prefix}{tag}[" + ", ".join(items) + "]"
    tag = "" if plain else draw(st.sampled_from(["", "", "", "!!map ", "!!omap "]))
    pairs = []
    for _ in range(draw(st.integers(0, 4))):
        key = draw(st.sampled_from(MANY_KEYS if plain else KEYS + ["[k]", "{k: v}"]))
        if kind == "merge" and draw(st.booleans()):
            key, value = "<<", draw(st.sampled_from(
                [f"*{a}" for a in anchors] + ["{m: 1, a: 2}", "[*a0, *a1]", "3", "[{a: 1}, 2]"]))
        else:
            value = draw(yaml_node(depth + 1, anchors, plain))
        pairs.append(f"{key}: {value}")
    return f"{prefix}{tag}{{" + ", ".join(pairs) + "}"


@st.composite
def yaml_documents(draw) -> str:
    """Block-style documents of flow nodes; sometimes several documents, sometimes torn text."""
    anchors: list = []
    lines = []
    plain = draw(st.booleans())
    keys = MANY_KEYS if plain else KEYS
    for _ in range(draw(st.integers(1, 5))):
        key = draw(st.sampled_from(keys))
        if draw(st.booleans()):
            lines.append(f"{key}: {draw(yaml_node(0, anchors, plain))}")
        else:
            lines.append(f"{key}:")
            for _ in range(draw(st.integers(0, 3))):
                lines.append(f"  - {draw(yaml_node(1, anchors, plain))}")
    text = "\n".join(lines) + "\n"
    if draw(st.integers(0, 6)) == 0:
        text = draw(st.sampled_from(["---\n", "--- !!map\n", "%YAML 1.1\n---\n"])) + text
    if draw(st.integers(0, 6)) == 0:
        text += draw(st.sampled_from(["---\nb: 2\n", "...\n", "--- x\n", "# end\n"]))
    if draw(st.integers(0, 6)) == 0:  # tear it: a character dropped or put in
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:at] + text[at + 1:]
        else:
            text = text[:at] + draw(st.sampled_from(list("[]{}:-&*!'\"\t\n ,?#|>%@`"))) + text[at:]
    return text


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(yaml_documents())
def test_generated_yaml_documents_read_the_same(text):
    assert_same(text)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutated_manifests())
def test_generated_packs_read_the_same(text):
    assert_same(text)
