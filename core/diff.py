"""What changed between two plans: steps added, removed and changed, field by field.

Both sides are reduced to a :class:`PlanSide`: the plan hash, the failure
policy and every step (blocks and map children too) in preview order, each
as a :class:`StepFacts` of the fields a reviewer cares about.  A side comes
from a simulation preview (a loaded pack, or a preview JSON file written by
``stella task-runner simulate --format json``) or from a run snapshot (its
statuses, with the plan's static fields when the manifest still plans to the
same hash).  A field one side cannot know (``when`` is not in a preview
file) is :data:`UNKNOWN` and never reported as a change.

:func:`diff_plans` is pure and deterministic; :meth:`PlanDiff.to_dict` is the
JSON contract the CLI prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

UNKNOWN: Any = object()
"""A field this side of the comparison cannot know; never compared."""

FIELDS = ("name", "kind", "status", "statusReason", "uses", "parameters", "when", "maxParallel",
          "continueOnError", "approval", "policy", "children")
"""The step fields compared, in the order they are reported."""

ADDED, REMOVED, CHANGED = "added", "removed", "changed"


@dataclass(frozen=True)
class StepFacts:
    """One step as compared: its id and the value of each of :data:`FIELDS`."""

    id: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class PlanSide:
    """One side of a comparison: where it came from, and what it plans."""

    source: str
    plan_hash: str | None
    failure_policy: dict | None
    steps: tuple[StepFacts, ...]

    def header(self) -> dict:
        return {"source": self.source, "planHash": self.plan_hash, "failurePolicy": self.failure_policy}


@dataclass(frozen=True)
class StepChange:
    id: str
    change: str
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    """For ``changed``: field name -> {"old": ..., "new": ...}."""

    def to_dict(self) -> dict:
        return {"id": self.id, "change": self.change, "fields": self.fields}


@dataclass(frozen=True)
class PlanDiff:
    old: PlanSide
    new: PlanSide
    steps: tuple[StepChange, ...]

    @property
    def failure_policy_changed(self) -> bool:
        return self.old.failure_policy != self.new.failure_policy

    @property
    def plan_hash_changed(self) -> bool:
        return self.old.plan_hash != self.new.plan_hash

    @property
    def differs(self) -> bool:
        return bool(self.steps) or self.failure_policy_changed or self.plan_hash_changed

    def counts(self) -> dict[str, int]:
        counts = {ADDED: 0, REMOVED: 0, CHANGED: 0}
        for step in self.steps:
            counts[step.change] += 1
        return counts

    def to_dict(self) -> dict:
        return {
            "old": self.old.header(),
            "new": self.new.header(),
            "differs": self.differs,
            "failurePolicyChanged": self.failure_policy_changed,
            "counts": self.counts(),
            "steps": [step.to_dict() for step in self.steps],
        }


def diff_plans(old: PlanSide, new: PlanSide) -> PlanDiff:
    """Every step added, removed or changed from ``old`` to ``new``.

    Steps are matched by id (map children too, e.g. ``shard[2]::process``);
    the result lists them in ``new``'s order, then the removed ones in
    ``old``'s order.
    """
    before = {step.id: step for step in old.steps}
    after_ids = {step.id for step in new.steps}
    changes: list[StepChange] = []
    for step in new.steps:
        previous = before.get(step.id)
        if previous is None:
            changes.append(StepChange(step.id, ADDED, {}))
            continue
        fields = _changed_fields(previous, step)
        if fields:
            changes.append(StepChange(step.id, CHANGED, fields))
    changes.extend(StepChange(step.id, REMOVED, {}) for step in old.steps if step.id not in after_ids)
    return PlanDiff(old, new, tuple(changes))


def _changed_fields(old: StepFacts, new: StepFacts) -> dict[str, dict[str, Any]]:
    changed = {}
    for name in FIELDS:
        before, after = old.fields.get(name, UNKNOWN), new.fields.get(name, UNKNOWN)
        if before is UNKNOWN or after is UNKNOWN:
            continue
        if not _same(before, after):
            changed[name] = {"old": before, "new": after}
    return changed


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON values: ``1`` and ``1.0`` are equal, ``True`` and ``1`` are not."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


ABSENT: Any = object()
"""A key one side of a changed object does not have (see :func:`field_lines`)."""


def field_lines(name: str, old: Any, new: Any) -> list[tuple[str, Any, Any]]:
    """A changed field as (label, old, new) rows; objects (parameters) one row per changed key,
    labelled ``name.key``, with :data:`ABSENT` for a key one side lacks."""
    if isinstance(old, dict) and isinstance(new, dict):
        keys = list(old) + [key for key in new if key not in old]
        return [(f"{name}.{key}", old.get(key, ABSENT), new.get(key, ABSENT))
                for key in keys if not _same(old.get(key, ABSENT), new.get(key, ABSENT))]
    return [(name, old, new)]


# -- building sides -------------------------------------------------------------------------

def side_from_preview_dict(document: Any, source: str, *, when: dict[str, str | None] | None = None) -> PlanSide:
    """A side from a preview's JSON form; ValueError when it is not one.

    ``when`` gives each step's ``when`` text where the caller knows it (a
    loaded pack); a preview file does not carry it.
    """
    if not isinstance(document, dict) or not isinstance(document.get("steps"), list):
        raise ValueError("not a simulation preview: expected a JSON object with 'planHash' and 'steps' "
                         "(as written by 'stella task-runner simulate --format json')")
    plan_hash = document.get("planHash")
    if not isinstance(plan_hash, str):
        raise ValueError("not a simulation preview: 'planHash' is missing")
    steps = []
    for step in _walk(document["steps"], "steps"):
        step_id = step["id"]
        facts = {
            "name": step.get("name", UNKNOWN),
            "kind": step.get("kind", UNKNOWN),
            "status": step.get("status", UNKNOWN),
            "statusReason": step.get("statusReason", UNKNOWN),
            "uses": step.get("uses", UNKNOWN),
            "parameters": step.get("parameters", UNKNOWN),
            "when": UNKNOWN if when is None else when.get(step_id),
            "maxParallel": step.get("maxParallel", UNKNOWN),
            "continueOnError": step.get("continueOnError", UNKNOWN),
            "approval": step.get("approvalId", UNKNOWN),
            "policy": step.get("policy", UNKNOWN),
            "children": len(step.get("children") or ()),
        }
        steps.append(StepFacts(step_id, facts))
    policy = document.get("failurePolicy")
    return PlanSide(source, plan_hash, policy if isinstance(policy, dict) else None, tuple(steps))


def side_from_preview(preview, source: str) -> PlanSide:
    """A side from a :class:`~core.simulation.SimulationPreview` (``when`` known)."""
    when = {step.id: step.step.when for step in preview.walk()}
    return side_from_preview_dict(preview.to_dict(), source, when=when)


def side_from_run(snapshot: dict, source: str, planned: PlanSide | None = None) -> PlanSide:
    """A side from a run snapshot: its statuses over the plan's static fields.

    ``planned`` is the run's plan as a side (its manifest re-planned with the
    run's inputs, when that still gives the run's plan hash); without it only
    what the snapshot holds (kind, status, reason, children) is compared.
    """
    if not isinstance(snapshot, dict) or not isinstance(snapshot.get("steps"), list):
        raise ValueError("the run's snapshot has no steps")
    static = {step.id: step.fields for step in planned.steps} if planned else {}
    steps = []
    for step in _walk(snapshot["steps"], "steps"):
        step_id = step["stepId"]
        facts = {name: UNKNOWN for name in FIELDS}
        facts.update(static.get(step_id, {}))
        facts.update({
            "kind": step.get("kind", UNKNOWN),
            "status": step.get("status", UNKNOWN),
            "statusReason": step.get("statusReason", UNKNOWN),
            "children": len(step.get("children") or ()),
        })
        steps.append(StepFacts(step_id, facts))
    policy = snapshot.get("failurePolicy")
    return PlanSide(source, snapshot.get("planHash"), policy if isinstance(policy, dict) else None, tuple(steps))


def _walk(steps: Iterable[Any], where: str):
    """Every step object in document order (parents before children), checked for an id."""
    stack = [(step, f"{where}[{index}]") for index, step in reversed(list(enumerate(steps)))]
    while stack:
        step, place = stack.pop()
        if not isinstance(step, dict) or not isinstance(step.get("id", step.get("stepId")), str):
            raise ValueError(f"{place} is not a step object with an id")
        yield step
        children = step.get("children") or []
        if not isinstance(children, list):
            raise ValueError(f"{place}.children is not a list")
        stack.extend((child, f"{place}.children[{index}]") for index, child in reversed(list(enumerate(children))))
