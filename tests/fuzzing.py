"""A structure-aware manifest fuzzer (hypothesis): valid packs, mutated the ways packs go wrong.

Mutations: dropped and renamed keys, values of the wrong type, huge and
negative numbers, unicode and control characters, deep nesting, expression
fragments, expression amplification (``[@, @]`` stages, ``to_string`` and
comparisons of doubled values, wide multi-selects, flatten chains, many
templates in one text, big maps of parallel templates), duplicated step ids,
duplicate mapping keys and torn YAML text.
:func:`check_simulation` feeds the result to the simulator in process and
says what is wrong if anything escapes as other than a located problem.

The secret fuzzer (runs that put secrets into messages and decisions) is in
``secret_fuzzing.py``.
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml
from hypothesis import strategies as st

from core.errors import PackInvalid
from core.manifest import parse_pack
from core.simulation import preview_pack

PACKS = Path(__file__).resolve().parent.parent / "resources" / "packs"
BASES = [yaml.safe_load((PACKS / "flaky-fanout.yaml").read_text()),
         yaml.safe_load((PACKS / "release-approval.yaml").read_text()),
         yaml.safe_load((PACKS / "sbom-remediation" / "pack.yaml").read_text())]
for base in BASES:  # no schema files: simulations here have no pack folder
    for spec in base["spec"].get("inputs", []):
        spec.pop("schema", None)
        if spec.get("required"):
            spec["default"] = {"metadata": {"image": "x"}, "components": []} if spec["type"] == "object" else "x"

WRONG_VALUES = [None, 0, -1, -10**18, 10**30, 1.5, float("inf"), True, "", "x" * 3000, [], {}, [[[]]],
                {"a": {"b": {"c": 1}}}, "\x00\x01\x7f", "\u202e\u200b\ufeff", "é漢字🙂", "0x1F", "1e308"]
EXPRESSIONS = ["{{", "}}", "{{ }}", "{{ inputs.[ }}", "{{ inputs.nope }}", "{{ steps.ghost.outputs.x }}",
               "{{ not }}", "{{ a and or b }}", "{{ item }}", "{{ secrets.x }}", "{{ length(inputs) }}",
               "{{ `\"unclosed }}", "{{ inputs.shards[?@ > `1`] }}", "{{ @ }}", "{{ " + "(" * 300 + " }}",
               "{{ " + "a." * 2000 + "b }}", "{{ sort_by(inputs.shards, &@) }}"]
KEYS = ["id", "run", "uses", "with", "gate", "parallel", "map", "steps", "step", "items", "maxParallel",
        "continueOnError", "when", "approval", "policy", "inputs", "name", "type", "default", "spec",
        "metadata", "apiVersion", "kind", "failure", "retries", "maxAttempts", "backoffSeconds", "outputs"]


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, prefix + (index,))


def _get(value, path):
    for part in path:
        value = value[part]
    return value


SEEDS = ['`"ab"`', "`[1, 2, 3]`", '`{"a": "xyz"}`', "`12345678901234567890`"]
STAGES = ["[@, @]", "[@, @, @, @]", "{a: @, b: @}", "[@, [@, @]]", "[@, @][]", "[[@, @], [@, @]][][]"]
WRAPS = ["{}", "to_string({})", "length(to_string({})) > `1`", "{} == {}", "[{}][*].[@, @]",
         "sort_by([{}][*].{{k: to_string(@)}}, &k)", "join(',', [to_string({}), to_string({})])",
         "map(&to_string(@), [{}, {}])", "not_null({}) && length(to_string({})) > `0`", "contains([{}], {})",
         "merge({{a: {}}}, {{b: {}}})", "keys({{a: {}}})", "max_by([{{v: `1`, w: {}}}], &v)"]


@st.composite
def amplifying_expressions(draw) -> str:
    """A template that doubles (or more) a value many times, then walks or compares it."""
    value = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 48))):
        value = f"{value} | {draw(st.sampled_from(STAGES))}"
    value = f"({value})"
    expression = draw(st.sampled_from(WRAPS)).replace("{}", value).replace("{{", "{").replace("}}", "}")
    template = "{{ " + expression + " }}"
    return template * draw(st.sampled_from([1, 1, 1, 2, 50]))


def _amplify(draw, pack: dict) -> None:
    """Put an amplifying expression where packs evaluate them (when, with, items, messages), or a huge map."""
    steps = pack.get("spec", {}).get("steps") if isinstance(pack.get("spec"), dict) else None
    if not isinstance(steps, list) or not steps or not isinstance(steps[0], dict):
        return
    expression = draw(amplifying_expressions())
    place = draw(st.sampled_from(["when", "with", "items", "message", "big-map", "wide-parallel"]))
    step = steps[draw(st.integers(0, len(steps) - 1))]
    if not isinstance(step, dict):
        return
    if place == "when":
        step["when"] = expression
    elif place == "with":
        step["run"] = {"uses": "builtin:echo", "with": {"v": expression}}
        for kind in ("gate", "parallel", "map"):
            step.pop(kind, None)
    elif place == "items":
        steps.append({"id": "amplified", "map": {"items": expression, "step": {"id": "child", "run": {"uses": "x"}}}})
    elif place == "message":
        pack.setdefault("spec", {})["success"] = {"message": expression}
    elif place == "big-map":  # more planned steps than the limit, through a parallel template
        children = [{"id": f"c{i}", "run": {"uses": "x"}} for i in range(draw(st.integers(2, 6)))]
        items = "{{ `" + "[" + ",".join(["0"] * draw(st.sampled_from([10, 20_000, 30_000]))) + "]` }}"
        steps.append({"id": "fan", "map": {"items": items, "step": {"id": "p", "parallel": {"steps": children}}}})
    else:
        count = draw(st.sampled_from([5, 1_000]))
        steps.append({"id": "wide", "parallel": {"steps": [{"id": f"w{i}", "run": {"uses": "x"}} for i in range(count)]}})


@st.composite
def mutated_manifests(draw) -> str:
    pack = copy.deepcopy(draw(st.sampled_from(BASES)))
    if draw(st.integers(0, 3)) == 0:  # a quarter of the cases: only amplification, so that it is evaluated
        _amplify(draw, pack)
        return yaml.safe_dump(pack, sort_keys=False, allow_unicode=False, width=1000)
    for _ in range(draw(st.integers(1, 4))):
        paths = list(_paths(pack))
        path = draw(st.sampled_from(paths))
        kind = draw(st.sampled_from(["drop", "rename", "wrong", "expression", "nest", "duplicate-step",
                                     "new-key", "unicode", "amplify", "amplify"]))
        if kind == "amplify":
            _amplify(draw, pack)
            continue
        if not path:
            continue
        parent, last = _get(pack, path[:-1]), path[-1]
        if kind == "drop" and isinstance(parent, (dict, list)):
            del parent[last]
        elif kind == "rename" and isinstance(parent, dict):
            parent[draw(st.sampled_from(KEYS)) + draw(st.sampled_from(["", "s", "_", "X"]))] = parent.pop(last)
        elif kind == "wrong":  # copies: a later mutation must never change the shared samples
            parent[last] = copy.deepcopy(draw(st.sampled_from(WRONG_VALUES)))
        elif kind == "expression":
            parent[last] = draw(st.sampled_from(EXPRESSIONS))
        elif kind == "nest":
            value = parent[last]
            for _ in range(draw(st.integers(10, 120))):
                value = [value]
            parent[last] = value
        elif kind == "duplicate-step":
            steps = pack.get("spec", {}).get("steps") if isinstance(pack.get("spec"), dict) else None
            if isinstance(steps, list) and steps:
                steps.append(copy.deepcopy(steps[0]))
        elif kind == "new-key" and isinstance(parent, dict):
            parent[draw(st.sampled_from(KEYS))] = copy.deepcopy(draw(st.sampled_from(WRONG_VALUES + EXPRESSIONS)))
        elif kind == "unicode" and isinstance(parent[last], str):
            parent[last] = parent[last] + draw(st.text(max_size=20))
    try:
        text = yaml.safe_dump(pack, sort_keys=False, allow_unicode=False, width=1000)
    except (yaml.YAMLError, RecursionError):
        text = "spec: ["
    tear = draw(st.sampled_from(["none", "none", "none", "cut", "duplicate-key", "garbage"]))
    if tear == "cut":
        text = text[:draw(st.integers(0, len(text)))]
    elif tear == "duplicate-key":
        text += "apiVersion: stellaops.io/pack.v1\n"
    elif tear == "garbage":
        position = draw(st.integers(0, len(text)))
        text = text[:position] + draw(st.sampled_from([":", "- ", "\t", "{", "]", "&a", "*a", "!!python/object:os.system"]))
        text += text[position:]
    return text


def check_simulation(text: str) -> str | None:
    """None if the simulator answered properly; otherwise what went wrong."""
    try:
        pack = parse_pack(text, "fuzz.yaml")
        preview_pack(pack, {}).to_json()
    except PackInvalid as invalid:
        for problem in invalid.problems:
            if problem.file == "fuzz.yaml" and problem.line < 1:
                return f"problem without a line: {problem}"
            if problem.file != "fuzz.yaml" and "input '" not in problem.message:
                return f"problem names no place: {problem}"
    except Exception as error:  # anything else is a bug the user would see as a crash
        return f"uncaught {type(error).__name__}: {error}"
    return None
