import re

import pytest

from conftest import FLAKY_PACK, SBOM_PACK, invalid_expectations
from core.errors import PackInvalid
from core.manifest import load_pack, parse_pack

# What tests/packs/invalid/README.md says each refusal must say, and where.
INVALID = invalid_expectations()


def refuse(path) -> list[str]:
    with pytest.raises(PackInvalid) as caught:
        load_pack(path, path.name)
    return [str(problem) for problem in caught.value.problems]


def test_every_invalid_pack_is_covered(invalid_dir):
    assert len(INVALID) >= 11 and all(phrases for _, phrases in INVALID.values())
    assert sorted(p.name for p in invalid_dir.glob("*.yaml")) == sorted(INVALID)


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_pack_is_refused_with_its_message(invalid_dir, name):
    line, fragments = INVALID[name]
    text = "\n".join(refuse(invalid_dir / name))
    assert re.search(rf"^{re.escape(name)}:{line}:\d+: ", text, re.M), text
    for fragment in fragments:
        assert fragment in text


def test_sample_packs_load():
    assert load_pack(SBOM_PACK).manifest.metadata.name == "sbom-remediation"
    assert load_pack(FLAKY_PACK).manifest.spec.failure.retries.maxAttempts == 3


def test_all_problems_are_reported_at_once(write_pack):
    manifest = write_pack("""
        steps:
          - id: a
            run: {uses: builtin:noop, wiht: {}}
          - id: a
            when: "{{ inputs.nope }}"
            run: {uses: builtin:noop}
          - id: fan
            parallel:
              maxParalel: 2
              steps: [{id: c, gate: {approval: {id: ghost}}}]
    """)
    text = "\n".join(refuse(manifest))
    assert "pack.yaml:7:33: step 'a': unknown key 'wiht' (did you mean 'with'?)" in text
    assert "step id 'a' is used twice (first at line 6)" in text
    assert "'inputs.nope' is not a declared input" in text
    assert "unknown key 'maxParalel' (did you mean 'maxParallel'?)" in text
    assert "approval 'ghost' is not declared" in text


@pytest.mark.parametrize("spec, fragment", [
    ("steps: []", "'steps' must list at least one step"),
    ("steps: [{id: s}]", "must define exactly one of run, gate, parallel, map"),
    ("steps: [{id: s, run: {}}]", "missing required key 'uses' under 'run'"),
    ("steps: [{id: 'bad id', run: {uses: x}}]", "'id' must start with a letter or digit"),
    ("steps: [{id: s, run: {uses: x}, when: 'yes please'}]", "'when' must be true, false or a single"),
    ("steps: [{id: s, run: {uses: x}, when: 3}]", "'when' must be a string or true or false"),
    ("steps: [{id: s, gate: {}}]", "a gate must define exactly one of approval, policy"),
    ("steps: [{id: s, gate: {policy: {message: hi}}}]", "missing required key 'policy'"),
    ("steps: [{id: m, map: {items: 3, step: {id: t, run: {uses: x}}}}]", "'items' must be a string or a list"),
    ("steps: [{id: m, map: {items: 'a {{ inputs.x }}', step: {id: t, run: {uses: x}}}}]\ninputs: [{name: x, type: array}]",
     "'items' must be a single {{ expression }}"),
    ("steps: [{id: s, run: {uses: x, with: {v: '{{ item }}'}}}]", "'item' is only defined inside a map"),
    ("steps: [{id: s, run: {uses: x, with: {v: '{{ steps.t.outputs.x }}'}}}, {id: t, run: {uses: x}}]",
     "step 't' does not finish before this runs"),
    ("steps: [{id: s, run: {uses: x, with: {v: '{{ steps.s.outputs.x }}'}}}]", "step 's' does not finish before"),
    ("steps: [{id: s, run: {uses: x, with: {v: '{{ steps.ghost.outputs.x }}'}}}]", "'steps.ghost' is not a declared step"),
    ("steps: [{id: t, run: {uses: x}}, {id: s, run: {uses: x, with: {v: '{{ steps.t.status }}'}}}]",
     "only a step's outputs can be read"),
    ("steps: [{id: s, run: {uses: x, with: {v: '{{ secrets.ghost }}'}}}]", "'secrets.ghost' is not a declared secret"),
    ("secrets: [{name: tok}]\nsteps: [{id: s, run: {uses: x}}]\noutputs: [{name: o, type: string, expression: '{{ secrets.tok }}'}]",
     "a secret cannot be used in text shown to people"),
    ("secrets: [{name: tok}]\napprovals: [{id: r, reasonTemplate: 'token {{ secrets.tok }}'}]\nsteps: [{id: s, run: {uses: x}}]",
     "a secret cannot be used in text shown to people"),
    ("steps: [{id: s, description: hi, run: {uses: x}}]", "unknown key 'description'"),
    ("steps: [{id: s, run: {uses: x, with: {v: '{{ environ.HOME }}'}}}]", "'environ' is not something an expression can read"),
    ("steps: [{id: s, run: {uses: x, with: {v: '{{ nope(inputs) }}'}}}]", "unknown function 'nope'"),
    ("inputs: [{name: a, type: string}, {name: a, type: string}]\nsteps: [{id: s, run: {uses: x}}]",
     "input name 'a' is used twice"),
    ("inputs: [{name: a, type: text}]\nsteps: [{id: s, run: {uses: x}}]", "'type' must be one of"),
    ("inputs: [{name: a, type: integer, default: 'x'}]\nsteps: [{id: s, run: {uses: x}}]",
     "input 'a': the default is invalid: expected an integer, got a string"),
    ("approvals: [{id: r, expiresAfter: 4h}]\nsteps: [{id: s, run: {uses: x}}]", "not an ISO-8601 duration"),
    ("approvals: [{id: r, expiresAfter: P1M}]\nsteps: [{id: s, run: {uses: x}}]", "years or months"),
    ("outputs: [{name: o, type: file}]\nsteps: [{id: s, run: {uses: x}}]", "output 'o' of type file needs a 'path'"),
    ("steps: [{id: s, run: {uses: x}}]\nfailure: {retries: {maxAttempts: '2'}}", "'maxAttempts' must be an integer, not the string '2'"),
    ("steps: [{id: s, run: {uses: x}}]\nfailure: {retries: {maxAttempts: true}}", "'maxAttempts' must be an integer, not the boolean true"),
    ("steps: [{id: s, run: {uses: x}}]\nunknown: 1", "unknown key 'unknown' under 'spec'"),
])
def test_validation_messages(write_pack, spec, fragment):
    text = "\n".join(refuse(write_pack(spec)))
    assert fragment in text, text
    assert re.search(r"^pack\.yaml:\d+:\d+: ", text, re.M)


def test_metadata_rules(write_pack):
    manifest = write_pack("apiVersion: stellaops.io/pack.v1\nkind: Pack\nmetadata: {name: Bad_Name, version: '1.0'}\n"
                          "spec: {steps: [{id: s, run: {uses: x}}]}\n", raw=True)
    text = "\n".join(refuse(manifest))
    assert "unsupported kind 'Pack' (expected 'TaskPack')" in text
    assert "'name' must be a lowercase DNS label" in text
    assert "'version' must be a semantic version" in text


def test_free_form_maps_accept_any_keys(write_pack):
    manifest = write_pack("""
        steps:
          - id: s
            run: {uses: x, with: {anything: {goes: [1, {deep: true}]}}}
          - id: p
            gate: {policy: {policy: guard, parameters: {whatever: 1}}}
    """)
    load_pack(manifest)


def test_annotations_are_free_but_must_be_strings(write_pack):
    manifest = write_pack("apiVersion: stellaops.io/pack.v1\nkind: TaskPack\n"
                          "metadata: {name: a, version: 1.0.0, annotations: {any-key: v, n: 1}}\n"
                          "spec: {steps: [{id: s, run: {uses: x}}]}\n", raw=True)
    text = "\n".join(refuse(manifest))
    assert "'n' must be a string, not the number 1" in text
    assert "any-key" not in text


def test_top_level_must_be_a_mapping():
    with pytest.raises(PackInvalid, match="top level must be a mapping"):
        parse_pack("- a\n- b\n")


def test_schema_refused_without_a_pack_folder():
    text = ("apiVersion: stellaops.io/pack.v1\nkind: TaskPack\nmetadata: {name: a, version: 1.0.0}\n"
            "spec:\n  inputs: [{name: x, type: object, schema: s.json}]\n  steps: [{id: s, run: {uses: x}}]\n")
    with pytest.raises(PackInvalid, match="this pack has no folder"):
        parse_pack(text)


def test_step_lines_for_jumping_to_source():
    pack = load_pack(SBOM_PACK)
    lines = pack.step_lines()
    text = SBOM_PACK.read_text().splitlines()
    for step_id in ("validate-input", "verify-policy", "sync", "notify"):
        assert f"id: {step_id}" in text[lines[step_id] - 1]


def test_step_outputs_are_readable_only_from_later_top_level_steps():
    """The 'finishes before' rule over many top-level steps and nested ones (one shared index, issue 10 item 7)."""
    steps = [f"  - {{id: s{i}, run: {{uses: x, with: {{v: '{{{{ steps.s{i - 1}.outputs.x }}}}'}}}}}}"
             for i in range(1, 3000)]
    head = "apiVersion: stellaops.io/pack.v1\nkind: TaskPack\nmetadata: {name: p, version: 1.0.0}\nspec:\n  steps:\n"
    nested = ("  - {id: s0, parallel: {steps: [{id: inner, run: {uses: x}}, "
              "{id: sibling, run: {uses: x, with: {v: '{{ steps.inner.outputs.x }}'}}}]}}\n")
    tail = "  - {id: last, run: {uses: x, with: {a: '{{ steps.inner.outputs.x }}', b: '{{ steps.late.outputs.x }}'}}}\n" \
           "  - {id: late, run: {uses: x}}\n"
    with pytest.raises(PackInvalid) as refused:
        parse_pack(head + nested + "\n".join(steps) + "\n" + tail)
    messages = [problem.message for problem in refused.value.problems]
    assert messages == ["step 'inner' does not finish before this runs, so its outputs cannot be read here",
                        "step 'late' does not finish before this runs, so its outputs cannot be read here"]
