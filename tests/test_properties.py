"""Properties of plans and previews over generated packs (hypothesis)."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.manifest import parse_pack
from core.plan import build_plan
from core.simulation import simulate

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

names = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True)
scalars = st.one_of(st.integers(-1000, 1000), st.booleans(), st.text(max_size=12), st.none(),
                    st.floats(allow_nan=False, allow_infinity=False, width=32))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(names, inner, max_size=3)), max_leaves=6)


@st.composite
def packs(draw):
    """A valid pack as data: run steps, gates, parallel blocks and maps over an input list."""
    counter = iter(range(10_000))

    def new_id():
        return f"s{next(counter)}"

    def leaf():
        kind = draw(st.sampled_from(["run", "run", "approval", "policy"]))
        step = {"id": new_id()}
        if kind == "run":
            step["run"] = {"uses": "builtin:noop", "with": draw(st.dictionaries(names, values, max_size=3))}
            if draw(st.booleans()):
                step["run"]["with"]["fromInput"] = "{{ inputs.items }}"
        elif kind == "approval":
            step["gate"] = {"approval": {"id": "review", "message": "ok?"}}
        else:
            step["gate"] = {"policy": {"policy": "guard", "parameters": {"n": "{{ inputs.count }}"}}}
        if draw(st.booleans()):
            step["when"] = draw(st.sampled_from(["{{ inputs.flag }}", "{{ not inputs.flag }}", True, False]))
        return step

    def block(depth):
        if depth >= 2 or draw(st.integers(0, 2)) > 0:
            return leaf()
        if draw(st.booleans()):
            return {"id": new_id(), "parallel": {
                "maxParallel": draw(st.integers(1, 4)), "continueOnError": draw(st.booleans()),
                "steps": [block(depth + 1) for _ in range(draw(st.integers(1, 3)))]}}
        template = {"id": new_id(), "run": {"uses": "builtin:echo", "with": {"item": "{{ item }}", "at": "{{ index }}"}}}
        return {"id": new_id(), "map": {"items": "{{ inputs.items }}", "step": template}}

    steps = [block(0) for _ in range(draw(st.integers(1, 5)))]
    pack = {
        "apiVersion": "stellaops.io/pack.v1",
        "kind": "TaskPack",
        "metadata": {"name": "generated", "version": "1.0.0", "description": draw(st.text(max_size=20))},
        "spec": {
            "inputs": [
                {"name": "items", "type": "array", "default": []},
                {"name": "flag", "type": "boolean", "default": False},
                {"name": "count", "type": "integer", "default": 1},
            ],
            "approvals": [{"id": "review", "grants": ["Packs.Approve"]}],
            "steps": steps,
            "failure": {"retries": {"maxAttempts": draw(st.integers(1, 5)),
                                    "backoffSeconds": draw(st.integers(0, 60))}},
        },
    }
    inputs = {"items": draw(st.lists(values, max_size=5)), "flag": draw(st.booleans()),
              "count": draw(st.integers(-5, 5))}
    return pack, inputs


def shuffled(value, random):
    if isinstance(value, dict):
        keys = list(value)
        random.shuffle(keys)
        return {key: shuffled(value[key], random) for key in keys}
    if isinstance(value, list):
        return [shuffled(item, random) for item in value]
    return value


def render(pack, random, flow) -> str:
    # allow_unicode stays off: PyYAML would then write U+0085 raw, which YAML reads as a line break
    text = yaml.safe_dump(shuffled(pack, random), sort_keys=False, default_flow_style=flow,
                          width=random.choice([40, 80, 1000]))
    return "# generated\n" + text


@SETTINGS
@given(packs(), st.randoms(use_true_random=False), st.sampled_from([False, True, None]))
def test_plan_hash_ignores_key_order_and_formatting(generated, random, flow):
    pack, inputs = generated
    first = build_plan(parse_pack(yaml.safe_dump(pack, sort_keys=True)), inputs)
    second = build_plan(parse_pack(render(pack, random, flow)), inputs)
    assert first.plan_hash == second.plan_hash
    assert simulate(first).to_json() == simulate(second).to_json()


@SETTINGS
@given(packs(), st.sampled_from(["items", "flag", "count"]), values)
def test_plan_hash_changes_with_any_input_change(generated, name, replacement):
    pack, inputs = generated
    changed = dict(inputs)
    changed[name] = {"items": [replacement, *inputs["items"]], "flag": not inputs["flag"],
                     "count": inputs["count"] + 1}[name]
    parsed = parse_pack(yaml.safe_dump(pack))
    assert build_plan(parsed, inputs).plan_hash != build_plan(parsed, changed).plan_hash


@SETTINGS
@given(packs())
def test_map_children_match_items_and_preview_is_deterministic(generated):
    pack, inputs = generated
    parsed = parse_pack(yaml.safe_dump(pack))
    plan = build_plan(parsed, inputs)
    for step in plan.walk():
        if step.kind == "map" and step.enabled:
            assert len(step.children) == len(inputs["items"])
            assert [c.id for c in step.children] == \
                [f"{step.id}[{i}]::{step.children[0].template_id}" for i in range(len(inputs["items"]))]
            assert [c.scope["item"] for c in step.children] == inputs["items"]
        if step.kind == "map" and not step.enabled:
            assert step.children == ()
    again = simulate(build_plan(parse_pack(yaml.safe_dump(pack)), inputs))
    assert simulate(plan).to_json() == again.to_json()
