"""docs/pack-format.md is kept in step with the code.

* Its key table lists exactly the keys the manifest models accept.
* Every documented key appears in an example that validates, so each one is
  really accepted by the loader (the models forbid unknown keys).
* Every YAML example validates; every JSON example is valid input for the
  example before it, or its exact preview.
"""

from __future__ import annotations

import json
import re
import types
import typing

import pytest
import yaml
from pydantic import BaseModel

from conftest import REPO, SBOM_PACK
from core.inputs import resolve_inputs
from core.manifest import parse_pack
from core.manifest.models import Manifest
from core.plan import build_plan
from core.simulation import preview_pack

DOC = REPO / "docs" / "pack-format.md"
STEP = "spec.steps[]"


def examples() -> list[tuple[str, str]]:
    """(language, text) of every fenced yaml/json block, in document order."""
    return re.findall(r"^```(yaml|json)\n(.*?)^```", DOC.read_text(), re.M | re.S)


def documented_keys() -> set[str]:
    section = DOC.read_text().split("## Every key", 1)[1]
    return set(re.findall(r"^\| `([^`]+)` \|", section, re.M))


def model_keys() -> set[str]:
    """Every key path the models accept; nested steps fold into spec.steps[]."""
    keys: set[str] = set()

    def models_in(annotation):
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield annotation, False
        elif typing.get_origin(annotation) is list:
            for argument in typing.get_args(annotation):
                for model, _ in models_in(argument):
                    yield model, True
        elif typing.get_origin(annotation) in (typing.Union, types.UnionType, typing.Annotated):
            for argument in typing.get_args(annotation):
                yield from models_in(argument)

    def walk(model, prefix: str, seen: frozenset) -> None:
        for name, field in model.model_fields.items():
            path = prefix + (field.alias or name)
            keys.add(path)
            for sub, is_list in models_in(field.annotation):
                if sub not in seen:
                    walk(sub, path + ("[]." if is_list else "."), seen | {sub})

    walk(Manifest, "", frozenset({Manifest}))
    return keys


FREE_FORM = {"metadata.annotations", f"{STEP}.run.with", f"{STEP}.gate.policy.parameters"}


def used_keys(data, prefix: str = "") -> set[str]:
    """Key paths written in a manifest's data, nested steps folded into spec.steps[]."""
    found: set[str] = set()
    if isinstance(data, dict):
        for key, value in data.items():
            path = prefix + key
            found.add(path)
            if path in FREE_FORM:
                continue
            if path in (f"{STEP}.parallel.steps", "spec.steps"):
                for step in value:
                    found |= used_keys(step, STEP + ".")
            elif path == f"{STEP}.map.step":
                found |= used_keys(value, STEP + ".")
            elif isinstance(value, list):
                for item in value:
                    found |= used_keys(item, path + "[].")
            else:
                found |= used_keys(value, path + ".")
    return found


def as_pack(text: str) -> str:
    if "apiVersion:" in text:
        return text
    first = examples()[0][1]
    header = first[: first.index("spec:")]  # apiVersion, kind and metadata
    if text.startswith("metadata:"):
        return header[: header.index("metadata:")] + text
    return header + text


YAML_EXAMPLES = [text for language, text in examples() if language == "yaml"]


def test_the_document_has_examples_and_a_key_table():
    assert len(YAML_EXAMPLES) >= 10
    assert len(documented_keys()) >= 60


def test_the_key_table_lists_exactly_the_keys_the_models_accept():
    documented, accepted = documented_keys(), model_keys()
    assert not documented - accepted, f"documented but not accepted: {sorted(documented - accepted)}"
    assert not accepted - documented, f"accepted but not documented: {sorted(accepted - documented)}"


def test_every_documented_key_is_used_by_an_example_that_validates():
    used: set[str] = set()
    for text in YAML_EXAMPLES:
        pack = parse_pack(as_pack(text), "example.yaml", str(SBOM_PACK.parent))  # raises if refused
        used |= used_keys(pack.source.data)
    missing = documented_keys() - used
    assert not missing, f"documented keys no example shows: {sorted(missing)}"


@pytest.mark.parametrize("index", range(len(examples())))
def test_each_example_validates(index):
    language, text = examples()[index]
    if language == "yaml":
        parse_pack(as_pack(text), "example.yaml", str(SBOM_PACK.parent))
        return
    previous = next(t for lang, t in reversed(examples()[:index]) if lang == "yaml")
    pack = parse_pack(as_pack(previous), "example.yaml", str(SBOM_PACK.parent))
    document = json.loads(text)
    if "planHash" in document:
        assert text == preview_pack(pack).to_json()
    else:
        resolve_inputs(pack, document)
        build_plan(pack, document)


def test_the_example_header_is_a_whole_pack():
    first = yaml.safe_load(examples()[0][1])
    assert set(first) == {"apiVersion", "kind", "metadata", "spec"}
