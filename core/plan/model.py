"""The plan: what a pack will do with these inputs, resolved as far as plan time allows.

Plans are plain frozen dataclasses.  Parameter values are JSON data in
which two kinds of placeholders may stand:

* :class:`SecretRef` - a secret's *name*, never its value
  (JSON: ``{"secret": "jiraToken"}``);
* :class:`RuntimeValue` - a template that needs step outputs (or a secret
  inside text), kept as written (JSON: the template string).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

STEP_KINDS = ("run", "gate.approval", "gate.policy", "parallel", "map")
BLOCK_KINDS = ("parallel", "map")


@dataclass(frozen=True)
class SecretRef:
    name: str

    def to_json(self) -> dict:
        return {"secret": self.name}


@dataclass(frozen=True)
class RuntimeValue:
    template: str

    def to_json(self) -> str:
        return self.template


def to_json_value(value: Any) -> Any:
    """Plan values as JSON data (placeholders rendered as above)."""
    if isinstance(value, dict):
        return {key: to_json_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_value(item) for item in value]
    if isinstance(value, (SecretRef, RuntimeValue)):
        return value.to_json()
    return value


def plain_number(value: float | int) -> float | int:
    """30.0 -> 30, so that JSON reads as the pack author wrote it."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@dataclass(frozen=True)
class FailurePolicy:
    max_attempts: int = 1
    backoff_seconds: float = 0

    def to_json(self) -> dict:
        return {"maxAttempts": self.max_attempts, "backoffSeconds": plain_number(self.backoff_seconds)}


@dataclass(eq=False)
class PlannedStep:
    """One step of the plan; map children are real steps with their own ids.

    Read-only by convention: not ``frozen`` because a frozen dataclass's
    ``__init__`` costs four times as much, which a 10,000-step plan feels
    (40 ms against 10 ms, ``benchmarks/simulate.py``).  Not ``slots``
    either: orjson writes an instance's ``__dict__`` in half the time it
    takes to read slots one by one (the plan hash of a 10,000-step plan:
    16.6 -> 7.9 ms, the same bytes), for 1.7 ms more construction.
    """

    id: str
    template_id: str
    kind: str
    name: str | None = None
    enabled: bool = True
    disabled_reason: str | None = None
    when: str | None = None
    when_runtime: bool = False
    uses: str | None = None
    parameters: dict = field(default_factory=dict)
    approval_id: str | None = None
    policy: str | None = None
    gate_message: Any = None
    max_parallel: int | None = None
    continue_on_error: bool | None = None
    items: Any = None
    items_runtime: bool = False
    children: tuple["PlannedStep", ...] = ()
    parent: str | None = None
    scope: dict = field(default_factory=dict)
    """``item`` and ``index`` for steps inside a map child (empty elsewhere)."""
    source_path: tuple = ()
    """Where the step's template is in the manifest (``("spec", "steps", 3, "map", "step")``)."""

    @property
    def is_block(self) -> bool:
        return self.kind in BLOCK_KINDS

    @property
    def is_gate(self) -> bool:
        return self.kind.startswith("gate.")

    def walk(self) -> Iterator["PlannedStep"]:
        """This step and everything inside it, in document order."""
        stack = [self]
        while stack:
            step = stack.pop()
            yield step
            stack.extend(reversed(step.children))


@dataclass(frozen=True)
class PlannedOutput:
    name: str
    type: str
    path: str | None
    expression: str | None
    requires_runtime_value: bool

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "type": self.type,
            "path": self.path,
            "expression": self.expression,
            "requiresRuntimeValue": self.requires_runtime_value,
        }


@dataclass(frozen=True)
class PlannedApproval:
    id: str
    grants: tuple[str, ...]
    expires_after: str | None
    expires_after_seconds: float | None
    reason: Any


@dataclass(frozen=True)
class Plan:
    pack_name: str
    pack_version: str
    inputs: dict
    failure_policy: FailurePolicy
    steps: tuple[PlannedStep, ...]
    outputs: tuple[PlannedOutput, ...]
    approvals: dict[str, PlannedApproval]
    plan_hash: str
    secrets: tuple[str, ...] = ()
    success_message: Any = None
    failure_message: Any = None
    uniform_children: dict = field(default_factory=dict, compare=False, repr=False)
    """``id(children) -> children`` for the children tuples the planner made from one run template in
    one loop: in each, every field but ``id``, ``parameters`` and ``scope`` is the same object, so
    :func:`core.simulation.simulate` previews the first and copies it.  Not part of the plan hash;
    a step is read-only by convention (the forecast copies a step before changing it, which makes a
    new tuple), and a map expanded at run time gets a new tuple, which is not in here."""

    def walk(self) -> Iterator[PlannedStep]:
        for step in self.steps:
            yield from step.walk()

    def step_count(self) -> int:
        return sum(1 for _ in self.walk())
