"""A valid pack is validated without the models' three Python rules; a pack with a problem is not.

``parse_pack`` validates with the plain models (no validator calls back into Python) and lets the
checks say when a pack may break a rule (a kind or gate key given as null, a non-boolean
``allowSecretInFile``).  Only then, or when anything else is wrong, it validates again with
``models.ruled_manifest``.  The problems must be exactly those of validating with the ruled
models and checking, as before the split: compared here on hand-picked packs and fuzzed ones.
"""

from __future__ import annotations

import pytest
from conftest import pack_text
from fuzzing import mutated_manifests
from hypothesis import HealthCheck, given, settings
from pydantic import ValidationError

from core.errors import PackInvalid
from core.manifest import parse_pack
from core.manifest.checks import check_manifest
from core.manifest.model_problems import problems_from_validation
from core.manifest.models import Manifest, ruled_manifest
from core.manifest.yaml_source import parse_yaml


def reference(text: str) -> list[str] | None:
    """The problems as ``parse_pack`` found them before: ruled models and checks, always both."""
    source = parse_yaml(text, "p.yaml")
    if not isinstance(source.data, dict):
        return found(text)  # refused before any validation, the same way as ever
    problems = []
    try:
        ruled_manifest().model_validate(source.data)
    except ValidationError as error:
        problems.extend(problems_from_validation(error, source))
    problems.extend(check_manifest(source, None).problems)
    return [str(p) for p in PackInvalid(problems).problems] if problems else None


def found(text: str) -> list[str] | None:
    try:
        parse_pack(text, "p.yaml")
    except PackInvalid as invalid:
        return [str(p) for p in invalid.problems]
    return None


CASES = {
    "a kind given as null": ("- {id: a, run: null}", "a step must define exactly one of run, gate, parallel, map"),
    "a gate key given as null": ("- {id: a, gate: {approval: null}}",
                                 "a gate must define exactly one of approval, policy"),
    "allowSecretInFile not a boolean": ("- {id: a, run: {uses: x, with: {allowSecretInFile: 'yes'}}}",
                                        "'allowSecretInFile' must be true or false"),
    "allowSecretInFile null": ("- {id: a, run: {uses: x, with: {allowSecretInFile: null}}}",
                               "'allowSecretInFile' must be true or false"),
    # a step's rule applies only once all inside it validated: the child's problem, not the parent's
    "a null kind around a broken child": (
        "- {id: a, map: null, parallel: {steps: [{id: b, run: {uses: x, with: {allowSecretInFile: 1}}}]}}",
        "'allowSecretInFile' must be true or false"),
    "a nested map template given null": ("- {id: a, map: {items: [1], step: {id: b, parallel: null}}}",
                                         "a step must define exactly one of run, gate, parallel, map"),
}


@pytest.mark.parametrize("steps, phrase", CASES.values(), ids=CASES.keys())
def test_a_rule_broken_alone_is_worded_as_the_ruled_models_word_it(steps, phrase):
    text = pack_text("steps:\n  " + steps.replace("\n", "\n  "))
    with pytest.raises(ValidationError):  # the plain models let it through: the rule is what refuses it
        ruled_manifest().model_validate(parse_yaml(text, "p.yaml").data)
    problems = found(text)
    assert problems == reference(text)
    assert any(phrase in problem for problem in problems), problems


def test_the_plain_models_do_not_apply_the_rules():
    """What the split rests on: without the checks' word, these packs would pass."""
    text = pack_text("steps:\n  - {id: a, run: {uses: x, with: {allowSecretInFile: 'yes'}}}\n"
                     "  - {id: b, gate: {policy: null}}\n  - {id: c, map: null}")
    Manifest.model_validate(parse_yaml(text, "p.yaml").data)
    assert found(text) == reference(text) is not None


def test_a_valid_pack_gives_the_same_manifest_as_the_ruled_models():
    text = pack_text("""
        steps:
          - {id: a, run: {uses: x, with: {allowSecretInFile: true, v: 1}}}
          - {id: b, gate: {approval: {id: r}}}
          - {id: c, parallel: {steps: [{id: d, map: {items: [1], step: {id: e, run: {uses: x}}}}]}}
        approvals: [{id: r}]
    """)
    pack = parse_pack(text, "p.yaml")
    ruled = ruled_manifest().model_validate(pack.source.data)
    assert pack.manifest.model_dump(mode="json", by_alias=True) == ruled.model_dump(mode="json", by_alias=True)
    assert type(pack.manifest) is Manifest


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutated_manifests())
def test_fuzzed_packs_give_the_problems_of_the_ruled_models_and_checks(text):
    try:
        expected = reference(text)
    except PackInvalid:  # not YAML: refused before any validation
        return
    assert found(text) == expected


def test_keys_are_the_manifests_names_not_the_models_field_names():
    """The models once accepted their Python field names beside the manifest's (``with_``, ``schema_path``):
    parameters under ``with_`` escaped the checks of templates, references and allowSecretInFile (review3)."""
    text = pack_text("""
        inputs: [{name: a, type: string, schema_path: x.json}]
        steps:
          - {id: a, run: {uses: x, with_: {allowSecretInFile: 'yes', v: "{{ steps.nope.outputs.y }}"}}}
    """)
    problems = found(text)
    assert any("unknown key 'with_'" in problem and "did you mean 'with'" in problem for problem in problems)
    assert any("unknown key 'schema_path'" in problem and "did you mean 'schema'" in problem for problem in problems)
