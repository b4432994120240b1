"""The simulation preview (format document section 10): what a run would do.

A simulation walks the execution graph and classifies every step without
executing or writing anything.  The JSON form is the one contract shared by
the CLI, the app's export and the API: :meth:`SimulationPreview.to_json`.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core import json_text
from core.gc_pause import without_gc
from core.plan import Plan, PlannedStep, RuntimeValue, SecretRef, to_json_value

if TYPE_CHECKING:
    from core.graph import ExecutionGraph

PENDING = "pending"
SKIPPED = "skipped"
REQUIRES_APPROVAL = "requires-approval"
REQUIRES_POLICY = "requires-policy"
STATUSES = (PENDING, SKIPPED, REQUIRES_APPROVAL, REQUIRES_POLICY)


_BLANK = {"approvalId": None, "children": (), "continueOnError": None, "enabled": True, "gateMessage": None,
          "id": None, "kind": None, "maxParallel": None, "name": None, "parameters": None, "policy": None,
          "status": None, "statusReason": None, "templateId": None, "uses": None}
"""A step preview's keys, sorted as the JSON writes them (orjson sorts a sorted object faster), with the
values most steps have."""


class StepPreview(dict):
    """A step's simulated status, held as the step's object in the preview JSON (read-only).

    The keys are the JSON's (``id``, ``templateId``, ``status``, ``statusReason``, ...,
    ``children``); parameters and the gate message are the plan's values, placeholders
    included, which the JSON writer renders.  Holding the preview in this shape lets
    :meth:`SimulationPreview.to_json` write it as it is: building a second copy of every
    step as a dict cost more than writing the JSON (a 10,000-step preview: 13.6 ms against
    7 ms, ``benchmarks/README.md``).
    """

    __slots__ = ("step",)

    @property
    def id(self) -> str:
        return self["id"]

    @property
    def status(self) -> str:
        return self["status"]

    @property
    def status_reason(self) -> str | None:
        return self["statusReason"]

    @property
    def children(self) -> tuple["StepPreview", ...]:
        return self["children"]

    def walk(self):
        yield self
        for child in self["children"]:
            yield from child.walk()

    def to_dict(self, value=to_json_value) -> dict:
        """The step as JSON data; ``value`` writes parameters and messages (placeholders included)."""
        return {
            "id": self["id"],
            "templateId": self["templateId"],
            "name": self["name"],
            "kind": self["kind"],
            "enabled": self["enabled"],
            "status": self["status"],
            "statusReason": self["statusReason"],
            "uses": self["uses"],
            "parameters": value(self["parameters"]),
            "approvalId": self["approvalId"],
            "policy": self["policy"],
            "gateMessage": value(self["gateMessage"]),
            "maxParallel": self["maxParallel"],
            "continueOnError": self["continueOnError"],
            "children": [child.to_dict(value) for child in self["children"]],
        }


@dataclass(frozen=True)
class SimulationPreview:
    plan: Plan
    steps: tuple[StepPreview, ...]
    has_pending_approvals: bool
    counts: dict[str, int] = field(default_factory=dict)

    def walk(self):
        for step in self.steps:
            yield from step.walk()

    def to_dict(self, value=to_json_value) -> dict:
        plan = self.plan
        return {
            "pack": {"name": plan.pack_name, "version": plan.pack_version},
            "planHash": plan.plan_hash,
            "failurePolicy": plan.failure_policy.to_json(),
            "hasPendingApprovals": self.has_pending_approvals,
            "steps": [step.to_dict(value) for step in self.steps],
            "outputs": [output.to_json() for output in plan.outputs],
        }

    @without_gc
    def to_json(self, forecast: Any = None) -> str:
        """The canonical JSON text: sorted keys, two-space indent, trailing newline.

        With a :class:`core.forecast.Forecast`, its JSON is added under the top-level
        ``forecast`` key and nothing else changes (the CLI, the export and the API all
        call this, so their bytes are identical).
        """
        plan = self.plan
        document = {  # the steps as they are; placeholders are written by the JSON writer itself
            "pack": {"name": plan.pack_name, "version": plan.pack_version},
            "planHash": plan.plan_hash,
            "failurePolicy": plan.failure_policy.to_json(),
            "hasPendingApprovals": self.has_pending_approvals,
            "steps": self.steps,
            "outputs": [output.to_json() for output in plan.outputs],
        }
        if forecast is not None:
            document["forecast"] = forecast.to_json()
        return json_text.pretty(document, _placeholder)


@without_gc
def simulate(plan: Plan, graph: "ExecutionGraph | None" = None) -> SimulationPreview:
    """Classify every step of ``plan``; pure, deterministic, never executes anything.

    A step's status depends on the step alone, so this is a walk of the plan's tree: no
    execution graph is built (and networkx is not imported).  ``graph`` is accepted for
    callers that have one and is not needed.
    """
    walk = _Previewer(plan.uniform_children)
    steps = walk.previews(plan.steps)
    counts = walk.counts
    return SimulationPreview(plan, steps, counts[REQUIRES_APPROVAL] > 0, counts)


class _Previewer:
    """The walk of :func:`simulate` (methods, not closures: nested functions that call each
    other are a reference cycle, which would keep what they see alive until a collection)."""

    __slots__ = ("counts", "uniform")

    def __init__(self, uniform: dict):
        self.counts = {status: 0 for status in STATUSES}
        self.uniform = uniform

    def preview(self, step: PlannedStep) -> StepPreview:
        (step_id, template_id, kind, enabled, parameters, name, uses, approval_id, policy, message,
         max_parallel, continue_on_error, children) = _fields(step.__dict__)
        if not enabled or kind == "gate.approval" or kind == "gate.policy" or step.when_runtime \
                or kind == "map":
            status, reason = _classify(step)
        else:
            status, reason = PENDING, None  # what _classify gives any other step
        self.counts[status] += 1
        # A copy of the blank step with what this one has set: a third of the cost of
        # StepPreview(id=..., ...) for a dict subclass.
        node = StepPreview(_BLANK)
        node["id"] = step_id
        node["templateId"] = template_id
        node["kind"] = kind
        node["enabled"] = enabled
        node["status"] = status
        node["parameters"] = parameters
        if name is not None:
            node["name"] = name
        if reason is not None:
            node["statusReason"] = reason
        if uses is not None:
            node["uses"] = uses
        if approval_id is not None:
            node["approvalId"] = approval_id
        if policy is not None:
            node["policy"] = policy
        if message is not None:
            node["gateMessage"] = message
        if max_parallel is not None:
            node["maxParallel"] = max_parallel
        if continue_on_error is not None:
            node["continueOnError"] = continue_on_error
        if children:
            node["children"] = self.previews(children) if self.uniform.get(id(children)) is not children \
                else self.copies(children)
        node.step = step
        return node

    def copies(self, steps: tuple[PlannedStep, ...]) -> tuple[StepPreview, ...]:
        # Steps the planner made alike (Plan.uniform_children): the first's preview, copied
        # with each one's id and parameters.
        first = self.preview(steps[0])
        result = [first]
        append = result.append
        for step in steps[1:]:
            fields = step.__dict__
            node = StepPreview(first)
            node["id"] = fields["id"]
            node["parameters"] = fields["parameters"]
            node.step = step
            append(node)
        self.counts[first["status"]] += len(steps) - 1
        return tuple(result)

    def previews(self, steps) -> tuple[StepPreview, ...]:
        # A leaf step whose fields but id and parameters are those of the step before it (a
        # map's children: the same objects) has that step's preview with its own id and
        # parameters.  Equal fields are equal JSON: they are text, bools, ints and None
        # (the gate message, the one field holding any JSON value, must be None).
        result = []
        append = result.append
        counts = self.counts
        last = None
        for step in steps:
            fields = step.__dict__
            key = _same(fields)
            if key == last:
                node = StepPreview(proto)
                node["id"] = fields["id"]
                node["parameters"] = fields["parameters"]
                node.step = step
                counts[node["status"]] += 1
            else:
                node = self.preview(step)
                if key[7] is None and not key[10] and key[1] != "map":
                    last, proto = key, node
                else:
                    last = None
            append(node)
        return tuple(result)


_fields = operator.itemgetter("id", "template_id", "kind", "enabled", "parameters", "name", "uses", "approval_id",
                              "policy", "gate_message", "max_parallel", "continue_on_error", "children")
"""A planned step's fields the preview reads, from its ``__dict__`` in one call."""
_same = operator.itemgetter("template_id", "kind", "enabled", "name", "uses", "approval_id", "policy", "gate_message",
                            "max_parallel", "continue_on_error", "children", "when_runtime", "disabled_reason", "when")
"""Every field a step's preview reads but its id and parameters (the status is decided by these)."""


def _classify(step: PlannedStep) -> tuple[str, str | None]:
    if not step.enabled:
        return SKIPPED, step.disabled_reason
    if step.kind == "gate.approval":
        return REQUIRES_APPROVAL, "awaiting approval"
    if step.kind == "gate.policy":
        return REQUIRES_POLICY, "awaiting policy decision"
    if step.when_runtime:
        return PENDING, f"when is decided at run time: {step.when.strip()}"
    if step.kind == "map" and step.items_runtime:
        return PENDING, f"items are known only at run time: {_text(step.items)}; children appear when it runs"
    if step.kind == "map" and not step.children:
        return PENDING, "no items: the map has no children and succeeds at once"
    return PENDING, None


def _placeholder(value: Any) -> Any:
    if isinstance(value, (SecretRef, RuntimeValue)):
        return value.to_json()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _text(value: Any) -> str:
    return str(to_json_value(value)).strip()


def preview_pack(pack, inputs: dict | None = None, inputs_label: str = "inputs") -> SimulationPreview:
    """Plan, graph and simulate a loaded pack in one call."""
    from core.plan import build_plan
    return simulate(build_plan(pack, inputs, inputs_label))
