import json

from conftest import FLAKY_PACK, SBOM_PACK
from core.manifest import load_pack
from core.simulation import preview_pack


def preview(path, inputs_name=None):
    inputs = json.loads((path.parent / inputs_name).read_text()) if inputs_name else None
    return preview_pack(load_pack(path), inputs)


def flat(steps):
    for step in steps:
        yield step
        yield from flat(step["children"])


def by_id(document):
    return {step["id"]: step for step in flat(document["steps"])}


def test_sample_preview_statuses_and_fields():
    document = json.loads(preview(SBOM_PACK, "inputs-dry-run.json").to_json())
    assert document["pack"] == {"name": "sbom-remediation", "version": "1.3.0"}
    assert document["failurePolicy"] == {"maxAttempts": 2, "backoffSeconds": 30}
    assert document["hasPendingApprovals"] is True
    steps = by_id(document)
    assert (steps["plan-remediation"]["status"], steps["plan-remediation"]["statusReason"]) == \
        ("skipped", "when is false: {{ not inputs.dryRun }}")
    assert steps["approval-gate"]["status"] == "requires-approval"
    assert steps["approval-gate"]["gateMessage"] == "Security must approve remediation before changes apply."
    assert steps["policy-gate"]["status"] == "requires-policy"
    assert steps["policy-gate"]["policy"] == "remediation-guard"
    assert steps["apply-remediation"]["parameters"]["ticketToken"] == {"secret": "jiraToken"}
    assert steps["notify"]["status"] == "pending" and "run time" in steps["notify"]["statusReason"]
    assert [c["id"] for c in steps["mirror"]["children"]] == ["mirror[0]::sync"]  # dry-run inputs: one mirror
    assert steps["mirror[0]::sync"]["templateId"] == "sync"
    assert steps["verify"]["maxParallel"] == 2 and steps["verify"]["continueOnError"] is False
    assert document["outputs"] == [
        {"name": "remediationReport", "type": "file", "path": "artifacts/remediation.json",
         "expression": None, "requiresRuntimeValue": False},
        {"name": "forensicsBundle", "type": "object", "path": None,
         "expression": "{{ steps.apply-remediation.outputs.bundle }}", "requiresRuntimeValue": True},
    ]
    expected_keys = {"id", "templateId", "name", "kind", "enabled", "status", "statusReason", "uses",
                     "parameters", "approvalId", "policy", "gateMessage", "maxParallel", "continueOnError",
                     "children"}
    assert all(set(step) == expected_keys for step in flat(document["steps"]))


def test_preview_never_contains_a_secret_value(monkeypatch):
    monkeypatch.setenv("STELLA_SECRET_JIRATOKEN", "hunter2-very-secret")
    assert "hunter2" not in preview(SBOM_PACK, "inputs.json").to_json()


def test_preview_json_is_byte_identical_across_runs():
    assert preview(SBOM_PACK, "inputs.json").to_json() == preview(SBOM_PACK, "inputs.json").to_json()


def test_no_pending_approvals_without_approval_gates():
    result = preview(FLAKY_PACK)
    assert result.has_pending_approvals is False
    assert result.counts == {"pending": 14, "skipped": 0, "requires-approval": 0, "requires-policy": 0}


def test_skipped_gate_is_not_pending(write_pack):
    result = preview_pack(load_pack(write_pack("""
        approvals: [{id: r}]
        steps: [{id: g, when: false, gate: {approval: {id: r}}}]
    """)))
    assert result.has_pending_approvals is False
    assert json.loads(result.to_json())["steps"][0]["status"] == "skipped"


def test_empty_and_runtime_maps_say_why_they_have_no_children(write_pack):
    result = preview_pack(load_pack(write_pack("""
        steps:
          - {id: src, run: {uses: x}}
          - {id: empty, map: {items: [], step: {id: t, run: {uses: x}}}}
          - {id: later, map: {items: "{{ steps.src.outputs.list }}", step: {id: u, run: {uses: x}}}}
    """)))
    steps = by_id(json.loads(result.to_json()))
    assert steps["empty"]["children"] == [] and "no items" in steps["empty"]["statusReason"]
    assert steps["later"]["children"] == []
    assert steps["later"]["statusReason"].startswith("items are known only at run time: {{ steps.src.outputs.list }}")


def test_simulation_writes_nothing(tmp_path, monkeypatch, write_pack):
    manifest = write_pack("steps: [{id: w, run: {uses: 'builtin:write-file', with: {path: out.txt, content: x}}}]")
    before = sorted(p.name for p in manifest.parent.rglob("*"))
    monkeypatch.chdir(manifest.parent)
    preview_pack(load_pack(manifest))
    assert sorted(p.name for p in manifest.parent.rglob("*")) == before


def test_each_step_preview_holds_its_own_steps_values_when_neighbours_look_alike(write_pack):
    """Map children share a preview's shape with the child before them: every field must still be
    the step's own (1, true and 1.0 are equal in Python, not in JSON), and so must its status."""
    from core.plan import build_plan
    from core.simulation import simulate
    plan = build_plan(load_pack(write_pack("""
        inputs: [{name: v, type: array}]
        approvals: [{id: r}]
        steps:
          - {id: a, run: {uses: x}}
          - {id: b, run: {uses: x}}
          - id: runs
            map: {items: "{{ inputs.v }}", step: {id: t, run: {uses: x, with: {v: "{{ item }}", i: "{{ index }}"}}}}
          - id: gated
            map: {items: "{{ inputs.v }}", step: {id: g, gate: {approval: {id: r, message: "{{ item }}"}}}}
          - id: maybe
            map: {items: "{{ inputs.v }}", step: {id: w, when: "{{ item }}", run: {uses: x}}}
          - id: later
            map: {items: "{{ inputs.v }}", step: {id: l, when: "{{ steps.a.outputs.ok }}", run: {uses: x}}}
    """)), {"v": [1, True, 1.0, 0, False, None, "x", "x", [], {}]})
    result = simulate(plan)
    previews = list(result.walk())
    steps = list(plan.walk())
    assert len(previews) == len(steps) == 6 + 4 * 10
    for node, step in zip(previews, steps):
        assert node.step is step and node["id"] == step.id
        for key, name in [("parameters", "parameters"), ("gateMessage", "gate_message"), ("enabled", "enabled"),
                          ("name", "name"), ("uses", "uses"), ("templateId", "template_id")]:
            assert node[key] is getattr(step, name), (step.id, key)
        expected = ("skipped" if not step.enabled else "requires-approval" if step.kind == "gate.approval"
                    else "pending")
        assert node["status"] == expected, step.id
    document = json.loads(result.to_json())
    gated = by_id(document)["gated"]["children"]
    assert [child["gateMessage"] for child in gated][:3] == [1, True, 1.0]
    # JMESPath's falsy values: false, null, [], {} (0 is true)
    assert result.counts == {"pending": 6 + 10 + 6 + 10, "skipped": 4, "requires-approval": 10, "requires-policy": 0}


def test_children_rebuilt_after_planning_are_previewed_one_by_one(write_pack):
    """The planner's note that a map's children are alike (Plan.uniform_children) holds for the tuple
    it made; a plan whose children were copied and changed (as the forecast does) is previewed as it is."""
    import copy
    import dataclasses
    from core.plan import build_plan
    from core.simulation import simulate
    plan = build_plan(load_pack(write_pack("""
        inputs: [{name: v, type: array}]
        steps:
          - id: m
            map: {items: "{{ inputs.v }}", step: {id: t, run: {uses: x, with: {v: "{{ item }}"}}}}
    """)), {"v": ["a", "b", "c"]})
    (map_step,) = plan.steps
    assert plan.uniform_children[id(map_step.children)] is map_step.children
    changed = copy.copy(map_step.children[1])
    changed.enabled, changed.disabled_reason, changed.uses = False, "assumed", "y"
    rebuilt = copy.copy(map_step)
    rebuilt.children = (map_step.children[0], changed, map_step.children[2])
    result = simulate(dataclasses.replace(plan, steps=(rebuilt,)))
    children = result.steps[0].children
    assert [(c.id, c.status, c.status_reason, c["uses"]) for c in children] == [
        ("m[0]::t", "pending", None, "x"), ("m[1]::t", "skipped", "assumed", "y"), ("m[2]::t", "pending", None, "x")]
    assert [c["parameters"] for c in children] == [{"v": "a"}, {"v": "b"}, {"v": "c"}]


def test_a_plan_and_its_preview_are_freed_without_the_cyclic_collector(write_pack):
    """Nothing in planning or simulating makes a reference cycle that holds the plan (a long-lived
    API server plans and simulates again and again, and the collector is paused meanwhile)."""
    import gc
    import weakref
    from core.plan import build_plan
    from core.simulation import simulate
    pack = load_pack(write_pack("""
        inputs: [{name: v, type: array}]
        steps:
          - {id: a, run: {uses: x}}
          - id: m
            map: {items: "{{ inputs.v }}", step: {id: t, run: {uses: x, with: {v: "{{ item }}"}}}}
    """))
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        plan = build_plan(pack, {"v": ["a", "b"]})
        preview = simulate(plan)
        preview.to_json()
        child, step = weakref.ref(plan.steps[1].children[1]), weakref.ref(plan.steps[0])
        del plan, preview
        assert child() is None and step() is None
    finally:
        if was_enabled:
            gc.enable()
