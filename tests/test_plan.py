import json

import pytest

from conftest import FLAKY_PACK, SBOM_PACK
from core.errors import PackInvalid
from core.manifest import load_pack
from core.plan import RuntimeValue, SecretRef, build_plan

SBOM_INPUTS = json.loads((SBOM_PACK.parent / "inputs.json").read_text())


def plan_of(write_pack, spec, inputs=None):
    return build_plan(load_pack(write_pack(spec)), inputs)


def steps_by_id(plan):
    return {step.id: step for step in plan.walk()}


def test_sample_plan_resolves_what_plan_time_knows():
    plan = build_plan(load_pack(SBOM_PACK), SBOM_INPUTS)
    steps = steps_by_id(plan)
    assert steps["validate-input"].parameters == {"target": SBOM_INPUTS["sbomBundle"]}
    assert steps["apply-remediation"].parameters["ticketToken"] == SecretRef("jiraToken")
    assert steps["policy-gate"].parameters == {"image": "registry.example/app:1.4.2"}
    assert steps["notify"].when_runtime and steps["notify"].enabled
    assert steps["notify"].parameters == {"message": "Remediation applied to registry.example/app:1.4.2"}
    assert [s.id for s in steps["mirror"].children] == ["mirror[0]::sync", "mirror[1]::sync", "mirror[2]::sync"]
    assert steps["mirror[1]::sync"].parameters == {"target": "us-1", "position": 1}
    assert steps["mirror[1]::sync"].template_id == "sync" and steps["mirror[1]::sync"].parent == "mirror"
    assert plan.failure_policy.max_attempts == 2 and plan.failure_policy.backoff_seconds == 30
    assert plan.approvals["security-review"].reason == "Approve remediation for registry.example/app:1.4.2"
    assert plan.approvals["security-review"].expires_after_seconds == 4 * 3600
    assert plan.plan_hash.startswith("sha256:") and len(plan.plan_hash) == 71


def test_failure_policy_defaults():
    plan = build_plan(load_pack(FLAKY_PACK))
    assert plan.failure_policy.to_json() == {"maxAttempts": 3, "backoffSeconds": 1}
    assert steps_by_id(plan)["shard"].max_parallel == 1


def test_default_failure_policy(write_pack):
    plan = plan_of(write_pack, "steps: [{id: s, run: {uses: x}}]")
    assert plan.failure_policy.to_json() == {"maxAttempts": 1, "backoffSeconds": 0}


def test_plan_time_when_disables_the_step_and_everything_inside(write_pack):
    plan = plan_of(write_pack, """
        inputs: [{name: enabled, type: boolean, default: false}]
        steps:
          - id: block
            when: "{{ inputs.enabled }}"
            parallel:
              steps:
                - {id: inner, run: {uses: x}}
                - id: m
                  map: {items: [1, 2], step: {id: t, run: {uses: x}}}
          - {id: after, when: false, run: {uses: x}}
    """)
    steps = steps_by_id(plan)
    assert not steps["block"].enabled and steps["block"].disabled_reason == "when is false: {{ inputs.enabled }}"
    assert not steps["inner"].enabled and steps["inner"].disabled_reason == "parent 'block' is skipped"
    assert not steps["m"].enabled and steps["m"].children == ()
    assert steps["after"].disabled_reason == "when is false"


def test_runtime_values_and_secrets_stay_references(write_pack):
    plan = plan_of(write_pack, """
        secrets: [{name: tok}]
        steps:
          - {id: a, run: {uses: x}}
          - id: b
            run:
              uses: x
              with:
                out: "{{ steps.a.outputs.v }}"
                mixed: "input={{ inputs.n }} out={{ steps.a.outputs.v }}"
                auth: "Bearer {{ secrets.tok }}"
                secret: "{{ secrets.tok }}"
                text: "n is {{ inputs.n }}"
                typed: "{{ inputs.n }}"
                plain: [1, {deep: "{{ inputs.n }}"}]
        inputs: [{name: n, type: integer, default: 7}]
    """)
    assert steps_by_id(plan)["b"].parameters == {
        "out": RuntimeValue("{{ steps.a.outputs.v }}"),
        "mixed": RuntimeValue("input={{ inputs.n }} out={{ steps.a.outputs.v }}"),
        "auth": RuntimeValue("Bearer {{ secrets.tok }}"),
        "secret": SecretRef("tok"),
        "text": "n is 7",
        "typed": 7,
        "plain": [1, {"deep": 7}],
    }


def test_map_over_objects_and_nested_maps(write_pack):
    plan = plan_of(write_pack, """
        inputs:
          - name: regions
            type: array
            default: [{name: eu, zones: [a, b]}, {name: us, zones: [c]}]
        steps:
          - id: outer
            map:
              items: "{{ inputs.regions }}"
              maxParallel: 2
              step:
                id: inner
                map:
                  items: "{{ item.zones }}"
                  step: {id: t, run: {uses: x, with: {zone: "{{ item }}", at: "{{ index }}"}}}
    """)
    steps = steps_by_id(plan)
    assert [s.id for s in steps["outer"].children] == ["outer[0]::inner", "outer[1]::inner"]
    assert [s.id for s in steps["outer[0]::inner"].children] == ["outer[0]::inner[0]::t", "outer[0]::inner[1]::t"]
    assert steps["outer[0]::inner[1]::t"].parameters == {"zone": "b", "at": 1}
    assert steps["outer[1]::inner[0]::t"].parameters == {"zone": "c", "at": 0}
    assert steps["outer"].max_parallel == 2


def test_map_over_a_parallel_template_prefixes_every_descendant(write_pack):
    plan = plan_of(write_pack, """
        steps:
          - id: m
            map:
              items: [x, y]
              step:
                id: p
                parallel: {steps: [{id: a, run: {uses: x, with: {v: "{{ item }}"}}}]}
    """)
    ids = [s.id for s in plan.walk()]
    assert ids == ["m", "m[0]::p", "m[0]::a", "m[1]::p", "m[1]::a"]
    assert steps_by_id(plan)["m[1]::a"].parameters == {"v": "y"}


def test_map_items_known_only_at_run_time(write_pack):
    plan = plan_of(write_pack, """
        steps:
          - {id: list, run: {uses: x}}
          - id: m
            map: {items: "{{ steps.list.outputs.names }}", step: {id: t, run: {uses: x}}}
    """)
    m = steps_by_id(plan)["m"]
    assert m.items_runtime and m.children == () and m.items == RuntimeValue("{{ steps.list.outputs.names }}")


def test_map_items_must_be_a_list(write_pack):
    with pytest.raises(PackInvalid, match="'items' must give a list, but gave an object"):
        plan_of(write_pack, """
            inputs: [{name: o, type: object, default: {}}]
            steps: [{id: m, map: {items: "{{ inputs.o }}", step: {id: t, run: {uses: x}}}}]
        """)


def test_map_that_would_explode_the_plan_is_refused(write_pack):
    with pytest.raises(PackInvalid, match="a plan may hold at most 100,000 steps"):
        plan_of(write_pack, """
            inputs: [{name: n, type: array}]
            steps: [{id: m, map: {items: "{{ inputs.n }}", step: {id: t, run: {uses: x}}}}]
        """, {"n": list(range(100_001))})


def test_evaluation_error_points_at_the_step_and_field(write_pack):
    with pytest.raises(PackInvalid) as caught:
        plan_of(write_pack, """
            inputs: [{name: n, type: integer, default: 3}]
            steps: [{id: s, run: {uses: x, with: {v: "{{ length(inputs.n) }}"}}}]
        """)
    (problem,) = caught.value.problems
    assert problem.step == "s" and problem.field == "with.v" and problem.line == 6


def test_hash_changes_with_inputs_and_content_but_not_layout(write_pack, tmp_path):
    base = build_plan(load_pack(SBOM_PACK), SBOM_INPUTS).plan_hash
    assert build_plan(load_pack(SBOM_PACK), SBOM_INPUTS).plan_hash == base
    changed = dict(SBOM_INPUTS, dryRun=True)
    assert build_plan(load_pack(SBOM_PACK), changed).plan_hash != base
    text = SBOM_PACK.read_text()
    edited = write_pack(text.replace("Remediation plan applied successfully.", "Done."), raw=True)
    (edited.parent / "schemas").mkdir()
    (edited.parent / "schemas" / "sbom-bundle.schema.json").write_text(
        (SBOM_PACK.parent / "schemas" / "sbom-bundle.schema.json").read_text())
    assert build_plan(load_pack(edited), SBOM_INPUTS).plan_hash != base
    edited.write_text("# a comment\n" + text.replace("  license: AGPL-3.0-or-later\n", "")
                      .replace("  version: 1.3.0\n", "  version: 1.3.0\n  license: 'AGPL-3.0-or-later'\n"))
    assert build_plan(load_pack(edited), SBOM_INPUTS).plan_hash == base


def test_hash_covers_the_schema_files_a_schema_refers_to(write_pack):
    """A change in a sibling schema file reached through $ref changes what validation accepts, so it
    must change the plan hash (a resumed run would otherwise accept inputs checked by another schema)."""
    spec = """
        inputs: [{name: x, type: object, schema: schemas/main.json, default: {a: 1}}]
        steps: [{id: s, run: {uses: x}}]
    """
    manifest = write_pack(spec, files={"schemas/main.json": '{"properties": {"a": {"$ref": "defs/n.json"}}}',
                                       "schemas/defs/n.json": '{"type": "integer"}'})
    before = build_plan(load_pack(manifest)).plan_hash
    assert build_plan(load_pack(manifest)).plan_hash == before
    (manifest.parent / "schemas" / "defs" / "n.json").write_text('{"type": "number"}')
    assert build_plan(load_pack(manifest)).plan_hash != before


def test_secrets_in_when_are_decided_at_run_time(write_pack):
    plan = plan_of(write_pack, """
        secrets: [{name: tok}]
        steps:
          - {id: s, when: "{{ secrets.tok }}", run: {uses: x}}
    """)
    assert steps_by_id(plan)["s"].when_runtime and steps_by_id(plan)["s"].enabled


def test_map_items_cannot_come_from_secrets(write_pack):
    with pytest.raises(PackInvalid, match="items are recorded in the run store"):
        plan_of(write_pack, """
            secrets: [{name: list}]
            steps: [{id: m, map: {items: "{{ secrets.list }}", step: {id: t, run: {uses: x}}}}]
        """)


# -- issue 10 items 2 and 6: hostile expressions and plan size ---------------------------------

def test_an_amplifying_expression_is_a_located_problem(write_pack):
    doubled = "inputs.x" + " | [@, @]" * 40
    with pytest.raises(PackInvalid) as caught:
        plan_of(write_pack, f"""
            inputs: [{{name: x, type: string, default: abc}}]
            steps: [{{id: s, run: {{uses: x, with: {{v: "{{{{ {doubled} }}}}"}}}}}}]
        """)
    (problem,) = caught.value.problems
    assert (problem.step, problem.field, problem.line) == ("s", "with.v", 6) and problem.column > 1
    assert "more than 1,000,000 elements" in problem.message


@pytest.fixture
def limit_of_50(monkeypatch):
    import core.plan.planner
    monkeypatch.setattr(core.plan.planner, "MAX_PLANNED_STEPS", 50)


def test_map_children_count_every_step_of_their_template(write_pack, limit_of_50):
    spec = """
        inputs: [{name: n, type: array}]
        steps:
          - id: m
            map:
              items: "{{ inputs.n }}"
              step: {id: p, parallel: {steps: [{id: a, run: {uses: x}}, {id: b, run: {uses: x}},
                                               {id: c, run: {uses: x}}, {id: d, run: {uses: x}}]}}
    """
    assert len(list(plan_of(write_pack, spec, {"n": list(range(9))}).walk())) == 46
    with pytest.raises(PackInvalid, match="expands to 10 items of 5 steps each; .* at most 50 steps"):
        plan_of(write_pack, spec, {"n": list(range(10))})


def test_literal_parallel_children_count(write_pack, limit_of_50):
    children = ", ".join(f"{{id: c{i}, run: {{uses: x}}}}" for i in range(60))
    with pytest.raises(PackInvalid) as caught:
        plan_of(write_pack, f"steps: [{{id: p, parallel: {{steps: [{children}]}}}}]")
    (problem,) = caught.value.problems
    assert "the plan passes 50 steps at step 'c49'" in problem.message and problem.step == "c49"


def test_nested_maps_count_as_they_expand(write_pack, limit_of_50):
    spec = """
        inputs: [{name: n, type: array}]
        steps:
          - id: outer
            map:
              items: "{{ inputs.n }}"
              step: {id: inner, map: {items: "{{ inputs.n }}", step: {id: t, run: {uses: x}}}}
    """
    assert len(list(plan_of(write_pack, spec, {"n": [1, 2, 3, 4, 5, 6]}).walk())) == 43
    with pytest.raises(PackInvalid, match="map 'outer\\[6\\]::inner' expands to 7 items; with the 50 steps"):
        plan_of(write_pack, spec, {"n": [1, 2, 3, 4, 5, 6, 7]})


def test_run_time_expansion_counts_every_step(write_pack, limit_of_50):
    from core.plan import expand_map
    pack = load_pack(write_pack("""
        steps:
          - id: first
            run: {uses: x}
          - id: m
            map:
              items: "{{ steps.first.outputs.list }}"
              step: {id: p, parallel: {steps: [{id: a, run: {uses: x}}, {id: b, run: {uses: x}}]}}
    """))
    plan = build_plan(pack)
    map_step = steps_by_id(plan)["m"]
    assert len(expand_map(pack, plan.inputs, map_step, list(range(16)), 2)) == 16
    with pytest.raises(PackInvalid, match="expands to 17 items of 3 steps each"):
        expand_map(pack, plan.inputs, map_step, list(range(17)), 2)


def test_a_literal_value_is_shared_by_map_children_and_the_plan_size_is_bounded(write_pack, monkeypatch):
    import core.expressions.metered
    spec = """
        inputs: [{name: n, type: array}]
        steps:
          - id: m
            map:
              items: "{{ inputs.n }}"
              step: {id: t, run: {uses: x, with: {big: [%s], i: "{{ index }}"}}}
    """ % ", ".join(["abcdefgh"] * 1000)
    plan = plan_of(write_pack, spec, {"n": list(range(100))})
    children = steps_by_id(plan)["m"].children
    assert children[0].parameters["big"] is children[99].parameters["big"]
    assert children[7].parameters["i"] == 7
    monkeypatch.setattr(core.expressions.metered, "MAX_PLAN_VALUE_BYTES", 500_000)
    with pytest.raises(PackInvalid, match="step 'm\\[4[0-9]\\]::t': the plan's parameters, messages and items "
                                          "together are larger than 0.476837 MiB"):
        plan_of(write_pack, spec, {"n": list(range(100))})


def test_the_expressions_of_a_plan_share_one_work_budget(write_pack, monkeypatch):
    import core.expressions.metered
    monkeypatch.setattr(core.expressions.metered, "MAX_PLAN_EXPRESSION_WORK", 10_000)
    with pytest.raises(PackInvalid) as caught:
        plan_of(write_pack, """
            inputs: [{name: n, type: array}]
            steps:
              - id: m
                map:
                  items: "{{ inputs.n }}"
                  step: {id: t, run: {uses: x, with: {v: "{{ inputs.n[?@ > `3`] | length(@) }}"}}}
        """, {"n": list(range(100))})
    (problem,) = caught.value.problems  # planning stops at the first: not one problem per child
    assert "together do more than 10,000 units of work" in problem.message


@pytest.mark.parametrize("with_", [
    '{target: "{{ item }}", n: "{{ index }}", lit: [1, {k: v}], s: plain, f: 1.5, t: true, z: null}',
    '{a: "{{ item }}", b: "{{ item }}"}',
    '{i: "{{ index }}"}',
    '{only: literal}',
    '{}',
])
def test_map_children_read_only_item_and_index_plan_and_charge_as_the_general_path(write_pack, monkeypatch, with_):
    """The loop for children whose parameters read only ``item``/``index`` (``ChildForm``) makes the
    same steps, in the same key order, and charges the plan's budget the same, as planning each."""
    from core.plan import planner, recipe
    spec = """
        inputs: [{name: n, type: array}]
        steps:
          - id: m
            map: {items: "{{ inputs.n }}", step: {id: t, run: {uses: x, with: %s}}}
    """ % with_
    items = ["a", "é", 7, 2 ** 70, -3, 2.5, True, False, None, [1, [2]], {"k": {"z": 1}}, [], {}] * 3
    budgets = []
    monkeypatch.setattr(planner._Planner, "plan", lambda self: (budgets.append(self.budget), self._plan())[1])
    fast = plan_of(write_pack, spec, {"n": items})
    monkeypatch.setattr(recipe.Recipe, "child_form", lambda self, planner: None)
    general = plan_of(write_pack, spec, {"n": items})
    assert budgets[0].bytes == budgets[1].bytes > 0
    assert fast.plan_hash == general.plan_hash
    for one, other in zip(fast.walk(), general.walk(), strict=True):
        fields = [(name, value) for name, value in one.__dict__.items() if name != "children"]
        assert repr(fields) == repr([(name, value) for name, value in other.__dict__.items() if name != "children"])


@pytest.mark.parametrize("items", ['["{{ steps.x.outputs.y }}", b]', '[{host: "{{ steps.x.outputs.y }}"}, b]'])
def test_a_written_out_list_of_items_from_step_outputs_is_a_located_problem_not_a_crash(write_pack, items):
    """A list written out is expanded when planned; a value in it that only the run knows used to reach
    the child's text template and end the planner with a TypeError."""
    with pytest.raises(PackInvalid) as caught:
        plan_of(write_pack, f"""
            steps:
              - {{id: x, run: {{uses: builtin:echo}}}}
              - {{id: m, map: {{items: {items}, step: {{id: c, run: {{uses: x, with: {{msg: "x {{{{ item }}}}"}}}}}}}}}}
        """)
    (problem,) = caught.value.problems
    assert problem.step == "m" and problem.field == "map.items" and "one template" in problem.message


def test_a_list_of_items_from_step_outputs_written_as_one_template_expands_during_the_run(write_pack):
    plan = plan_of(write_pack, """
        steps:
          - {id: x, run: {uses: builtin:echo}}
          - {id: m, map: {items: "{{ [steps.x.outputs.y, 'b'] }}", step: {id: c, run: {uses: x}}}}
    """)
    assert steps_by_id(plan)["m"].items_runtime and steps_by_id(plan)["m"].children == ()


@pytest.mark.parametrize("when, template", [
    ("when: false,", '{id: c, run: {uses: x, with: {msg: "x {{ item }}"}}}'),  # a skipped map is not expanded
    ("", '{id: c, run: {uses: x, with: {msg: "{{ item }}", n: "{{ index }}"}}}'),  # the item as it is: no text made
    ("", '{id: c, run: {uses: x}}'),
    ('when: "{{ steps.x.outputs.go }}",', '{id: c, gate: {approval: {id: r}}}'),
])
def test_a_written_out_list_of_items_from_step_outputs_plans_where_it_always_did(write_pack, when, template):
    """Only a child that renders a run-time item into a template is the problem above (on 1becee0 a
    TypeError); the rest planned and ran before and still do, the step output kept as a placeholder
    (found by review3: the check refused them all, skipped maps too)."""
    plan = plan_of(write_pack, f"""
        steps:
          - {{id: x, run: {{uses: builtin:echo}}}}
          - {{id: m, {when} map: {{items: ["{{{{ steps.x.outputs.y }}}}", b], step: {template}}}}}
        approvals: [{{id: r}}]
    """)
    m = steps_by_id(plan)["m"]
    assert len(m.children) == (2 if m.enabled else 0)
    if '"{{ item }}"' in template:
        assert m.children[0].parameters == {"msg": RuntimeValue("{{ steps.x.outputs.y }}"), "n": 0}


def test_a_run_time_item_rendered_in_a_when_is_the_located_problem(write_pack):
    with pytest.raises(PackInvalid) as caught:
        plan_of(write_pack, """
            steps:
              - {id: x, run: {uses: builtin:echo}}
              - {id: m, map: {items: ["{{ steps.x.outputs.y }}"], step: {id: c, when: "{{ item == 'b' }}", run: {uses: x}}}}
        """)
    (problem,) = caught.value.problems
    assert problem.step == "m" and problem.field == "map.items" and "one template" in problem.message


def test_a_deep_item_in_a_written_out_list_plans_as_it_always_did(write_pack):
    """Maps inside maps, each nesting its item 49 lists deeper (a written-out list of one template):
    the item of the seventh is ~400 lists deep, which 1becee0 planned; the check for run-time values
    in a written-out list walked it by recursion and ended the planner with a RecursionError (found
    by review3)."""
    def level(k):
        if k == 7:
            return '{id: leaf, run: {uses: u, with: {v: "{{ index }}"}}}'
        nested = "[" * 49 + ("inputs.d" if k == 0 else "item") + "]" * 49
        return '{id: m%d, map: {items: ["{{ %s }}"], step: %s}}' % (k, nested, level(k + 1))
    plan = plan_of(write_pack, "inputs: [{name: d, type: array, default: %s}]\nsteps:\n  - %s"
                   % ("[" * 60 + "]" * 60, level(0)))
    (leaf,) = [step for step in plan.walk() if step.template_id == "leaf"]
    assert leaf.parameters == {"v": 0}
