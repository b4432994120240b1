import json
import os

import pytest

from conftest import SBOM_PACK
from core.errors import PackInvalid
from core.inputs import read_inputs_file, resolve_inputs
from core.manifest import load_pack

SCHEMA = json.dumps({"type": "object", "required": ["image"], "properties": {"image": {"type": "string"}}})


def messages(call) -> list[str]:
    with pytest.raises(PackInvalid) as caught:
        call()
    return [str(p) for p in caught.value.problems]


@pytest.fixture
def pack(write_pack):
    return load_pack(write_pack("""
        inputs:
          - {name: bundle, type: object, schema: schemas/bundle.json, required: true}
          - {name: dryRun, type: boolean, default: false}
          - {name: count, type: integer}
          - {name: ratio, type: number, default: 0.5}
          - {name: tags, type: array, default: [a]}
          - {name: label, type: string}
        steps: [{id: s, run: {uses: x}}]
    """, files={"schemas/bundle.json": SCHEMA}))


def test_defaults_applied_and_optional_inputs_null(pack):
    assert resolve_inputs(pack, {"bundle": {"image": "i"}}) == {
        "bundle": {"image": "i"}, "dryRun": False, "count": None, "ratio": 0.5, "tags": ["a"], "label": None,
    }


def test_every_bad_input_is_named(pack):
    found = messages(lambda: resolve_inputs(pack, {"dryRun": "yes", "count": 1.5, "ratio": True,
                                                  "tags": {}, "label": 3, "extra": 1}, "in.json"))
    assert "in.json: input 'bundle' is required but was not supplied" in found
    assert "in.json: input 'dryRun': expected a boolean, got a string" in found
    assert "in.json: input 'count': expected an integer, got a number" in found
    assert "in.json: input 'ratio': expected a number, got a boolean" in found
    assert "in.json: input 'tags': expected an array, got an object" in found
    assert "in.json: input 'label': expected a string, got an integer" in found
    assert any(m.startswith("in.json: input 'extra' is not declared by the pack") for m in found)


def test_an_unknown_input_gets_did_you_mean(pack):
    found = messages(lambda: resolve_inputs(pack, {"bundle": {"image": "i"}, "dryrun": True, "cuont": 1,
                                                  "zzz": 0}, "in.json"))
    assert any(m.startswith("in.json: input 'dryrun' is not declared by the pack (did you mean 'dryRun'?)")
               for m in found), found
    assert any("input 'cuont' is not declared by the pack (did you mean 'count'?)" in m for m in found), found
    assert any(m.startswith("in.json: input 'zzz' is not declared by the pack (declared: ") for m in found), found


def test_schema_failures_name_the_input_and_the_place(pack):
    found = messages(lambda: resolve_inputs(pack, {"bundle": {"image": 5}}))
    assert found == ["inputs: input 'bundle': 5 is not of type 'string' (at /image)"]
    found = messages(lambda: resolve_inputs(pack, {"bundle": {}}))
    assert found == ["inputs: input 'bundle': 'image' is a required property"]


def test_sample_schema_is_applied():
    pack = load_pack(SBOM_PACK)
    found = messages(lambda: resolve_inputs(pack, {"sbomBundle": {"metadata": {"image": ""}}}))
    assert "'components' is a required property" in found[0] or "'components'" in " ".join(found)


@pytest.mark.parametrize("schema_path, fragment", [
    ("/etc/passwd", "is absolute"),
    ("../outside.json", "leaves the pack's folder"),
    ("schemas/../../outside.json", "leaves the pack's folder"),
    ("missing.json", "does not exist"),
    ("schemas", "is a folder"),
    ("broken.json", "is not valid JSON (line 1"),
    ("notschema.json", "is not a valid JSON Schema"),
])
def test_bad_schema_references(write_pack, schema_path, fragment):
    manifest = write_pack(f"""
        inputs: [{{name: x, type: object, schema: "{schema_path}"}}]
        steps: [{{id: s, run: {{uses: x}}}}]
    """, files={"schemas/a.json": "{}", "broken.json": "{nope", "notschema.json": '{"type": 12}'})
    found = "\n".join(messages(lambda: load_pack(manifest)))
    assert "input 'x': " in found and fragment in found, found


def test_schema_symlink_out_of_the_pack_is_refused(write_pack, tmp_path):
    outside = tmp_path / "outside.json"
    outside.write_text("{}")
    manifest = write_pack("""
        inputs: [{name: x, type: object, schema: link.json}]
        steps: [{id: s, run: {uses: x}}]
    """)
    os.symlink(outside, manifest.parent / "link.json")
    assert "leaves the pack's folder" in "\n".join(messages(lambda: load_pack(manifest)))


def test_default_is_checked_against_the_schema(write_pack):
    manifest = write_pack("""
        inputs: [{name: x, type: object, schema: s.json, default: {}}]
        steps: [{id: s, run: {uses: x}}]
    """, files={"s.json": SCHEMA})
    assert "input 'x': the default is invalid: 'image' is a required property" in \
        "\n".join(messages(lambda: load_pack(manifest)))


def test_inputs_file_errors(tmp_path):
    broken = tmp_path / "in.json"
    broken.write_text('{"a": 1,\n "b": }')
    assert messages(lambda: read_inputs_file(str(broken))) == [f"{broken}:2:7: invalid JSON: Expecting value"]
    broken.write_text("[1, 2]")
    assert "must be a JSON object" in messages(lambda: read_inputs_file(str(broken)))[0]
    assert "cannot read the inputs file" in messages(lambda: read_inputs_file(str(tmp_path / "none.json")))[0]


# -- issue 10 items 11 and 12: hostile values and schemas -------------------------------------

def test_huge_integers_and_deep_values_in_inputs_are_problems(tmp_path, pack):
    big = tmp_path / "big.json"
    big.write_text('{"count": ' + "9" * 5000 + "}")
    assert messages(lambda: read_inputs_file(str(big))) == [
        f"{big}: the inputs JSON cannot be read: a number has more than 4,300 digits"]
    deep: list = []
    for _ in range(900):
        deep = [deep]
    bundle = {"metadata": {"image": "x"}, "components": deep, "image": "x"}
    assert messages(lambda: resolve_inputs(pack, {"bundle": bundle, "tags": deep})) == [
        "inputs: input 'bundle': the value is nested more than 64 levels deep",
        "inputs: input 'tags': the value is nested more than 64 levels deep"]


def test_sibling_schema_references_are_resolved_inside_the_pack(write_pack):
    manifest = write_pack("""
        inputs: [{name: x, type: object, schema: schemas/main.json, default: {a: 1, b: {c: 2}}}]
        steps: [{id: s, run: {uses: x}}]
    """, files={"schemas/main.json": '{"properties": {"a": {"$ref": "defs/int.json"}, "b": {"$ref": "b.json#/$defs/b"}}}',
                "schemas/defs/int.json": '{"type": "integer"}',
                "schemas/b.json": '{"$defs": {"b": {"properties": {"c": {"$ref": "defs/int.json"}}}}}'})
    pack = load_pack(manifest)
    assert resolve_inputs(pack, {"x": {"a": 1, "b": {"c": 5}}}) == {"x": {"a": 1, "b": {"c": 5}}}
    assert messages(lambda: resolve_inputs(pack, {"x": {"a": "one", "b": {"c": "two"}}})) == [
        "inputs: input 'x': 'one' is not of type 'integer' (at /a)",
        "inputs: input 'x': 'two' is not of type 'integer' (at /b/c)"]


@pytest.mark.parametrize("ref, fragment", [
    ("https://example.com/s.json", "refers to 'https://example.com/s.json' ($ref); only files inside the pack"),
    ("file:///etc/passwd", "refers to 'file:///etc/passwd' ($ref)"),
    ("/etc/passwd", "refers to '/etc/passwd' ($ref)"),
    ("../../outside.json", "leaves the pack's folder"),
    ("missing.json", "the schema file 'missing.json' (a $ref of 's.json') does not exist"),
])
def test_other_schema_references_are_refused_with_a_message(write_pack, ref, fragment):
    manifest = write_pack("""
        inputs: [{name: x, type: object, schema: s.json}]
        steps: [{id: s, run: {uses: x}}]
    """, files={"s.json": json.dumps({"properties": {"a": {"$ref": ref}}})})
    found = "\n".join(messages(lambda: load_pack(manifest)))
    assert "input 'x': " in found and fragment in found, found


def test_a_catastrophic_pattern_is_a_problem_not_a_freeze(write_pack):
    manifest = write_pack("""
        inputs: [{name: x, type: string, schema: s.json}, {name: y, type: object, schema: p.json}]
        steps: [{id: s, run: {uses: x}}]
    """, files={"s.json": '{"pattern": "^(a|aa)+$"}', "p.json": '{"patternProperties": {"^(a|aa)+$": {"type": "string"}}}'})
    pack = load_pack(manifest)
    hostile = "a" * 80 + "!"
    found = messages(lambda: resolve_inputs(pack, {"x": hostile, "y": {hostile: 1}}))
    assert len(found) == 2 and all("s; the schema's pattern backtracks catastrophically" in f
                                   for f in found), found
    assert resolve_inputs(pack, {"x": "aaa", "y": {"aa": "z"}}) == {"x": "aaa", "y": {"aa": "z"}}
    assert "does not match" in messages(lambda: resolve_inputs(pack, {"x": "b", "y": {}}))[0]


def test_a_fifo_schema_is_refused_not_waited_on(write_pack):
    manifest = write_pack("""
        inputs: [{name: x, type: object, schema: s.json}]
        steps: [{id: s, run: {uses: x}}]
    """)
    os.mkfifo(manifest.parent / "s.json")
    assert "the schema path 's.json' cannot be read: it is a FIFO (named pipe), not a regular file" in \
        "\n".join(messages(lambda: load_pack(manifest)))


def test_nan_and_infinity_in_an_inputs_file_are_refused_as_not_json(tmp_path):
    for constant in ("NaN", "Infinity", "-Infinity"):
        path = tmp_path / "inputs.json"
        path.write_text('{"n": %s}' % constant)
        with pytest.raises(PackInvalid) as caught:
            read_inputs_file(str(path))
        assert f"{constant} is not a JSON number" in caught.value.problems[0].message


def test_a_non_finite_value_is_not_called_a_number():
    from core.inputs import json_type
    assert json_type(float("nan")) == json_type(float("-inf")) == "NaN or infinity (not a JSON number)"
    assert json_type(1.5) == "a number"
