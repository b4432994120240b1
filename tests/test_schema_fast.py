"""``core.schema_fast`` says "nothing to report" only when jsonschema would find nothing.

The properties run both libraries on generated schemas and values: on the subset the fast
path takes, jsonschema_rs and jsonschema agree on valid and invalid (so the fast path is
used, not always declined); whatever the schema, a True from the fast path means jsonschema
finds nothing, and ``schema_problems`` gives exactly jsonschema's messages.
"""

from __future__ import annotations

import functools
import json
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from core import schema_fast
from core.inputs import SchemaDocument, _validator, schema_problems

TEXT = st.text(alphabet="ab\u00e9\U0001f600 1", max_size=4)
NAMES = st.sampled_from(["a", "b", "c"])
NUMBERS = st.one_of(st.integers(-5, 5), st.sampled_from([0.0, 1.0, -1.5, 2.5, 3.0, 1e-9]))
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(NAMES, inner, max_size=3)), max_leaves=8)
ODD_VALUES = st.one_of(st.just(float("nan")), st.just(float("inf")), st.just(2 ** 70), st.just((1, 2)),
                       st.just({1: "a"}))
TYPES = st.sampled_from(["string", "number", "integer", "boolean", "object", "array", "null"])
COUNTS = st.one_of(st.integers(0, 3), st.sampled_from([1.0, -1, 2.5, "1"]))  # the last three: for check_schema


def refs(defs: int, files: bool):
    choices = [f"#/$defs/d{n}" for n in range(defs)] + ["#"]
    if files:
        choices += ["other.json", "other.json#/$defs/d0", "sub/more.json", "other.json#/$defs/missing"]
    return st.sampled_from(choices)


def keywords(schema, ref, subset: bool):
    """Strategy of one keyword and its value; ``subset``: only what the fast path may take."""
    plain = [
        st.tuples(st.just("type"), st.one_of(TYPES, st.lists(TYPES, min_size=1, max_size=3, unique=True))),
        st.tuples(st.just("enum"), st.lists(VALUES, min_size=1, max_size=3)),
        st.tuples(st.just("const"), VALUES),
        st.tuples(st.just("properties"), st.dictionaries(NAMES, schema, max_size=2)),
        st.tuples(st.just("required"), st.lists(NAMES, max_size=3, unique=True)),
        st.tuples(st.just("additionalProperties"), schema),
        st.tuples(st.sampled_from(["minProperties", "maxProperties", "minItems", "maxItems", "minLength",
                                   "maxLength"]), COUNTS),
        st.tuples(st.just("items"), schema),
        st.tuples(st.just("prefixItems"), st.lists(schema, min_size=1, max_size=2)),
        st.tuples(st.just("uniqueItems"), st.booleans()),
        st.tuples(st.sampled_from(["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]), NUMBERS),
        st.tuples(st.sampled_from(["allOf", "anyOf", "oneOf"]), st.lists(schema, min_size=1, max_size=2)),
        st.tuples(st.just("not"), schema),
        st.tuples(st.just("$ref"), ref),
        st.tuples(st.just("format"), st.sampled_from(["email", "date", "ipv4", "uuid", "regex", "made-up"])),
        st.tuples(st.sampled_from(["title", "description", "$comment"]), TEXT),
        st.tuples(st.just("default"), VALUES),
    ]
    odd = [
        st.tuples(st.just("type"), st.sampled_from(["objec", 3])),
        st.tuples(st.just("required"), st.just(["a", "a"])),
        st.tuples(st.just("pattern"), st.sampled_from(["^a", "a$", "\\d", "(", "(?<n>a)", "^(a|aa)+$"])),
        st.tuples(st.just("patternProperties"), st.dictionaries(st.sampled_from(["^a", "b+"]), schema, max_size=1)),
        st.tuples(st.just("multipleOf"), st.sampled_from([0.1, 2, 0.5])),
        st.tuples(st.just("contains"), schema),
        st.tuples(st.sampled_from(["$id", "$anchor", "x-unknown"]), st.just("x")),
        st.tuples(st.just("items"), st.lists(schema, max_size=1)),
        st.tuples(st.just("enum"), st.just([float("nan")])),
        st.tuples(st.just("maximum"), st.just(2 ** 70)),
    ]
    return st.one_of(plain if subset else plain + odd)


@functools.lru_cache(maxsize=None)  # built once: hypothesis builds a recursive strategy slowly
def schemas(subset: bool, defs: int = 2, files: bool = False):
    ref = refs(defs, files)

    def extend(inner):
        return st.dictionaries(st.nothing(), st.nothing()) | st.lists(
            keywords(inner, ref, subset), max_size=3).map(dict)

    leaf = st.one_of(st.booleans(), st.lists(keywords(st.booleans(), ref, subset), max_size=2).map(dict))
    return st.recursive(leaf, extend, max_leaves=6)


@st.composite
def documents(draw, subset: bool, files: bool = False):
    root = draw(schemas(subset, files=files))
    if isinstance(root, dict):
        root["$defs"] = {f"d{n}": draw(schemas(subset, files=files)) for n in range(2)}
        if draw(st.booleans()):
            dialects = [schema_fast.DIALECT] + ([] if subset else ["http://json-schema.org/draft-07/schema#"])
            root["$schema"] = draw(st.sampled_from(dialects))
    if not files:
        return root
    resources = {"other.json": {"$defs": {"d0": draw(schemas(subset, defs=0))}},
                 "sub/more.json": {"$ref": "../other.json#/$defs/d0"} if not subset else {"type": "integer"}}
    return SchemaDocument(root if isinstance(root, dict) else {"allOf": [root]}, resources)


def jsonschema_accepts(schema) -> bool:
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError:
        return False
    return True


def jsonschema_problems(schema, value) -> list[str] | str:
    try:
        return [error.message for error in _validator(schema).iter_errors(value)]
    except Exception as error:  # RecursionError, Unresolvable: schema_problems words those
        return type(error).__name__


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(documents(subset=True))
def test_on_the_subset_both_libraries_agree_on_valid_schemas(schema):
    assert schema_fast.schema_is_valid(schema) == jsonschema_accepts(schema)


@SETTINGS
@given(documents(subset=False))
def test_a_schema_said_valid_is_one_jsonschema_accepts(schema):
    if schema_fast.schema_is_valid(schema):
        assert jsonschema_accepts(schema)


@SETTINGS
@given(documents(subset=True, files=True), st.one_of(VALUES, ODD_VALUES))
def test_on_the_subset_both_libraries_agree_on_valid_values(schema, value):
    if not all(map(jsonschema_accepts, [schema, *schema.resources.values()])):
        return
    found = jsonschema_problems(schema, value)
    if schema_fast.value_is_valid(schema, value):
        assert found == []
    elif found == []:  # declined though jsonschema finds nothing: only for what the subset leaves to it
        assert _declined_for_a_reason(schema, value), (schema, value)


def _declined_for_a_reason(schema, value) -> bool:
    try:
        schema_fast._plain(value)
        documents = {"": schema, **schema.resources}
        for document in documents.values():
            schema_fast._check_document(document)
        schema_fast._Depth(documents).height("", schema)
    except schema_fast._Slow:
        return True  # an odd value, another dialect, a cycle of $refs or a reference it does not follow
    return False


@SETTINGS
@given(documents(subset=False, files=True), st.one_of(VALUES, ODD_VALUES))
def test_schema_problems_are_exactly_jsonschemas(schema, value):
    if not all(map(jsonschema_accepts, [schema, *schema.resources.values()])):
        return
    with mock.patch.object(schema_fast, "value_is_valid", return_value=False):
        expected = outcome(schema_problems, schema, value)
    assert outcome(schema_problems, schema, value) == expected
    if schema_fast.value_is_valid(schema, value):
        assert expected == []


def outcome(function, *args):
    """What ``function`` returns, or the type of what it raises (a YAML default's {1: x} meets a
    patternProperties: regex raises TypeError, with or without the fast path)."""
    try:
        return function(*args)
    except Exception as error:
        return type(error)


@pytest.mark.parametrize("schema, value", [
    ({"$ref": "#"}, 1),  # jsonschema: RecursionError, worded as "refers to itself too deeply"
    ({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}, 1),
    ({"pattern": "^a"}, "a"),  # Python regex semantics under a time limit
    ({"multipleOf": 0.1}, 0.3),
    ({"type": "number"}, float("nan")),
    ({"maximum": 10}, 2 ** 70),
    ({"type": "array"}, (1, 2)),  # not a JSON array for jsonschema
    ({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}, {}),
    ({"properties": {"a": {"$ref": "#/properties"}}}, {}),  # a ref to a map, not a schema
])
def test_what_the_fast_path_leaves_to_jsonschema(schema, value):
    assert not schema_fast.value_is_valid(schema, value)


def test_a_deep_chain_of_references_is_left_to_jsonschema():
    chain = {f"d{n}": {"$ref": f"#/$defs/d{n + 1}"} for n in range(schema_fast.MAX_DEPTH + 2)}
    chain[f"d{schema_fast.MAX_DEPTH + 2}"] = {"type": "integer"}
    assert not schema_fast.value_is_valid({"$defs": chain, "$ref": "#/$defs/d0"}, 1)
    short = {"$defs": {"d0": {"$ref": "#/$defs/d1"}, "d1": {"type": "integer"}}, "$ref": "#/$defs/d0"}
    assert schema_fast.value_is_valid(short, 1) and not schema_fast.value_is_valid(short, "1")


def test_the_samples_schema_takes_the_fast_path():
    from conftest import SBOM_PACK
    schema = json.loads((SBOM_PACK.parent / "schemas" / "sbom-bundle.schema.json").read_text())
    inputs = json.loads((SBOM_PACK.parent / "inputs.json").read_text())
    assert schema_fast.schema_is_valid(schema)
    assert schema_fast.value_is_valid(SchemaDocument(schema), inputs["sbomBundle"])
    assert not schema_fast.value_is_valid(SchemaDocument(schema), {"metadata": {}})


@pytest.mark.parametrize("schema, value", [
    ({"uniqueItems": True}, [1, 1.0]), ({"uniqueItems": True}, [1, True]), ({"uniqueItems": True}, [0.0, -0.0]),
    ({"uniqueItems": True}, [[1], [True], [1]]),  # jsonschema's sort-based check calls these unique
    ({"uniqueItems": True}, [{"a": 1, "b": 2}, {"b": 2, "a": 1.0}]),
    ({"enum": [1]}, True), ({"enum": [[1]]}, [True]), ({"const": 0}, False), ({"const": {"a": [1]}}, {"a": [True]}),
    ({"const": 1}, 1.0), ({"enum": [1.0]}, 1), ({"type": "integer"}, 1.0), ({"type": "integer"}, 2.0 ** 53),
    ({"maxLength": 1}, "\U0001f600"), ({"maxLength": 1}, "e\u0301"), ({"minLength": 2}, "\U0001f600"),
    ({"exclusiveMinimum": 0}, -0.0), ({"maximum": 9007199254740991}, 9007199254740992),
    ({"minimum": 0.30000000000000004}, 0.3), ({"maxLength": 1.0}, "ab"), ({"format": "email"}, "not an email"),
    (SchemaDocument({"$ref": "other.json"}, {"other.json": False}), 1),
    (SchemaDocument({"$ref": "a.json"}, {"a.json": {"$ref": "#", "type": "string"}}), 1),
    (SchemaDocument({"properties": {"a": {"$ref": "sub/x.json"}}},
                    {"sub/x.json": {"$ref": "y.json"}, "sub/y.json": {"type": "string"}, "y.json": True}), {"a": 1}),
])
def test_the_edges_the_review_tried_give_jsonschemas_problems(schema, value):
    """Bool against 1, 1.0 against 1, code points, -0.0, 2**53, a `false` schema file, a relative $ref of a
    sub-folder's file: the fast path says nothing to report only where jsonschema finds nothing."""
    with mock.patch.object(schema_fast, "value_is_valid", return_value=False):
        expected = schema_problems(schema, value)
    assert schema_problems(schema, value) == expected
    assert not schema_fast.value_is_valid(schema, value) or expected == []
