"""Build a :class:`Plan` from a validated pack and its resolved inputs.

Plan time knows the inputs, and inside a map the ``item`` and ``index``.
It never knows secrets (they stay :class:`SecretRef`) nor step outputs
(values that need them stay :class:`RuntimeValue`).  A ``when`` that reads
only inputs is decided here; a map whose items read only inputs is expanded
here into ``map[i]::template`` children.

Every planned step counts against :data:`~core.limits.MAX_PLANNED_STEPS`
(map children, the steps inside them, literal ``parallel`` children, and
steps expanded at run time), and the expressions of one plan share one
:class:`~core.expressions.ValueBudget`; planning stops at the first limit
passed, so a hostile pack never holds more than the limit in memory.
"""

from __future__ import annotations

import hashlib
from typing import Any

from core import json_text
from core.errors import PackInvalid, Problem
from core.expressions import ExpressionError, Template, ValueBudget, is_truthy
from core.expressions.metered import BudgetExceeded, PlanValues
from core.gc_pause import without_gc
from core.inputs import json_type, resolve_inputs
from core.limits import MAX_PLANNED_STEPS
from core.manifest import Pack
from core.manifest.locate import step_context
from core.manifest.models import Step
from core.plan.model import (
    FailurePolicy, Plan, PlannedApproval, PlannedOutput, PlannedStep, RuntimeValue, SecretRef,
)


@without_gc
def build_plan(pack: Pack, supplied_inputs: dict | None = None, inputs_label: str = "inputs") -> Plan:
    """Resolve inputs and plan the pack; PackInvalid lists every problem."""
    inputs = resolve_inputs(pack, supplied_inputs, inputs_label)
    return _Planner(pack, inputs).plan()


class _LimitPassed(Exception):
    """Planning stops: a limit was passed (the problem is recorded)."""


def template_size(step: Step) -> int:
    """Steps one copy of ``step`` plans: itself and its literal children (a map counts as one)."""
    size = 0
    stack = [step]
    while stack:
        current = stack.pop()
        size += 1
        if current.parallel is not None:
            stack.extend(current.parallel.steps)
    return size


def plan_with_stand_ins(pack: Pack, supplied_inputs: dict | None, names: set[str]) -> Plan:
    """A plan for *display* while the inputs ``names`` are missing or invalid: each stands in as null.

    The app keeps showing a pack's graph while its inputs are incomplete (and
    marks the steps that read them); such a plan is never run nor exported.
    Raises PackInvalid when the pack cannot be planned even so.
    """
    specs = {spec.name: spec for spec in pack.manifest.spec.inputs}
    inputs = {}
    for name, spec in specs.items():
        if name in names:
            inputs[name] = None
        elif name in (supplied_inputs or {}):
            inputs[name] = supplied_inputs[name]
        else:
            inputs[name] = spec.default if spec.has_default else None
    return _Planner(pack, inputs).plan()


class _Planner:
    def __init__(self, pack: Pack, inputs: dict):
        self.pack = pack
        self.inputs = inputs
        self.problems: list[Problem] = []
        self.count = 0
        self.budget = ValueBudget()
        self.values = PlanValues(self.budget)
        self._resolvers: dict[int, tuple[Any, Any]] = {}  # id -> (the value, kept alive; its resolver)

    # -- problems -----------------------------------------------------------
    def _problem(self, path: tuple, message: str) -> None:
        step, field = step_context(self.pack.source.data, path)
        self.problems.append(self.pack.source.problem(path, message, step=step, field=field))

    # -- values -------------------------------------------------------------
    def resolve(self, value: Any, scope: dict, path: tuple) -> Any:
        """Resolve the templates in a JSON value as far as plan time allows.

        A part without templates is returned as it is, not copied: map
        children share it (a 1 MB literal list in a map's template is one
        list, not one per child).  What to do with each part is worked out
        once per value (:meth:`resolver`), not once per map child.
        """
        if isinstance(value, str):
            if "{{" not in value:
                return value
        elif not isinstance(value, (dict, list)):
            return value
        resolver = self.resolver(value)
        return value if resolver is None else resolver(scope, path)

    def resolver(self, value: Any) -> Any:
        """None for a value without templates, else ``f(scope, path)`` giving it resolved."""
        known = self._resolvers.get(id(value))
        if known is not None and known[0] is value:
            return known[1]
        resolver = self._compile(value, ())
        self._resolvers[id(value)] = (value, resolver)  # the value is kept alive with its id
        return resolver

    def _compile(self, value: Any, suffix: tuple) -> Any:
        if isinstance(value, dict):
            parts = [(key, item, self._compile(item, suffix + (key,))) for key, item in value.items()]
            if all(part[2] is None for part in parts):
                return None
            return lambda scope, path: {key: item if part is None else part(scope, path)
                                        for key, item, part in parts}
        if isinstance(value, list):
            parts = [(item, self._compile(item, suffix + (index,))) for index, item in enumerate(value)]
            if all(part[1] is None for part in parts):
                return None
            return lambda scope, path: [item if part is None else part(scope, path) for item, part in parts]
        if not Template.has_template(value):
            return None
        template = Template.parse(value)
        if template.is_runtime:
            return lambda scope, path: RuntimeValue(value)
        if template.uses_secrets:
            secret = template.whole.secret_path if template.whole is not None else None
            return (lambda scope, path: SecretRef(secret)) if secret else (lambda scope, path: RuntimeValue(value))
        plain = template.whole.plain_path if template.whole is not None else None
        if plain is not None:
            return self._plain_path(plain)
        return lambda scope, path: self.render(template, scope, path + suffix)

    def _plain_path(self, names: tuple) -> Any:
        """A bare dotted path (``{{ item }}``, ``{{ inputs.x.y }}``) read the way the expression would."""
        root, rest = names[0], names[1:]
        inputs = self.inputs

        def read(scope: dict, path: tuple) -> Any:
            value = inputs if root == "inputs" else scope.get(root)
            for name in rest:
                if not isinstance(value, dict):
                    return None
                value = value.get(name)
            return value
        return read

    def render(self, template: Template, scope: dict, path: tuple) -> Any:
        try:
            return template.render({"inputs": self.inputs, **scope}, self.budget)
        except ExpressionError as error:
            self._problem(path, f"cannot evaluate '{template.source}': {error}")
            if self.budget.exhausted:
                raise _LimitPassed() from None  # every later expression would fail the same way
            return None

    # -- steps --------------------------------------------------------------
    def plan(self) -> Plan:
        try:
            return self._plan()
        except _LimitPassed:
            raise PackInvalid(self.problems) from None

    def _plan(self) -> Plan:
        manifest = self.pack.manifest
        steps = tuple(
            self.plan_step(step, ("spec", "steps", index), prefix="", parent=None, scope={},
                           parent_skip=None)
            for index, step in enumerate(manifest.spec.steps)
        )
        approvals = {
            spec.id: PlannedApproval(
                spec.id, tuple(spec.grants), spec.expiresAfter, spec.expires_after_seconds,
                self.resolve(spec.reasonTemplate, {}, ("spec", "approvals", index, "reasonTemplate")),
            )
            for index, spec in enumerate(manifest.spec.approvals)
        }
        outputs = tuple(
            PlannedOutput(out.name, out.type, out.path, out.expression,
                          any(Template.has_template(v) and Template.parse(v).is_runtime
                              for v in (out.path, out.expression)))
            for out in manifest.spec.outputs
        )
        retries = manifest.spec.failure.retries if manifest.spec.failure else None
        policy = FailurePolicy(retries.maxAttempts, retries.backoffSeconds) if retries else FailurePolicy()
        success = manifest.spec.success.message if manifest.spec.success else None
        failure = manifest.spec.failure.message if manifest.spec.failure else None
        messages = (self.resolve(success, {}, ("spec", "success", "message")),
                    self.resolve(failure, {}, ("spec", "failure", "message")))
        if self.problems:
            raise PackInvalid(self.problems)
        fields = dict(
            pack_name=manifest.metadata.name, pack_version=manifest.metadata.version,
            inputs=self.inputs, failure_policy=policy, steps=steps, outputs=outputs,
            approvals=approvals, secrets=tuple(s.name for s in manifest.spec.secrets),
            success_message=messages[0], failure_message=messages[1],
        )
        return Plan(plan_hash=self.hash(fields), **fields)

    def hash(self, fields: dict) -> str:
        """sha256 of the canonical JSON of the plan and what it was made from.

        The manifest (as validated), schemas (and the files their $refs reach) and inputs make the hash change
        with any content or input change and stay put under YAML layout;
        the plan's own fields make it change when planning itself changes.
        """
        document = {
            "manifest": self.pack.manifest.model_dump(mode="json", by_alias=True),
            "schemas": self.pack.schemas,
            "plan": fields,
        }
        referenced = {name: schema.resources for name, schema in self.pack.schemas.items()
                      if getattr(schema, "resources", None)}
        if referenced:  # only then, so the hash of a pack without $ref files is what it always was
            document["schemaReferences"] = referenced
        return "sha256:" + hashlib.sha256(json_text.canonical(document)).hexdigest()

    def plan_step(self, step: Step, path: tuple, *, prefix: str, parent: str | None, scope: dict,
                  parent_skip: str | None) -> PlannedStep:
        self.count += 1
        step_id = prefix + step.id
        if self.count > MAX_PLANNED_STEPS:
            self._problem(path, f"the plan passes {MAX_PLANNED_STEPS:,} steps at step '{step_id}' "
                                "(every step counts: map children, the steps inside them, parallel "
                                "children); a plan may hold at most that many")
            raise _LimitPassed()
        if parent_skip is None and step.when is None:
            enabled, reason, when_runtime = True, None, False
        else:
            enabled, reason, when_runtime = self.decide_when(step, path, scope, parent_skip)
        when = step.when
        planned = PlannedStep(step_id, step.id, step.kind, step.name, enabled, reason,
                              when if isinstance(when, str) else None, when_runtime,
                              parent=parent, scope=dict(scope), source_path=path)
        child_skip = None if enabled else (reason if parent_skip else f"parent '{step_id}' is skipped")
        if step.run is not None:
            planned.uses = step.run.uses
            planned.parameters = self.resolve(step.run.with_, scope, path + ("run", "with"))
        elif step.gate is not None and step.gate.approval is not None:
            gate = step.gate.approval
            planned.approval_id = gate.id
            planned.gate_message = self.resolve(gate.message, scope, path + ("gate", "approval", "message"))
        elif step.gate is not None and step.gate.policy is not None:
            gate = step.gate.policy
            gate_path = path + ("gate", "policy")
            planned.policy = gate.policy
            planned.parameters = self.resolve(gate.parameters, scope, gate_path + ("parameters",))
            planned.gate_message = self.resolve(gate.message, scope, gate_path + ("message",))
        elif step.parallel is not None:
            block = step.parallel
            planned.max_parallel = block.maxParallel
            planned.continue_on_error = block.continueOnError
            planned.children = tuple(
                self.plan_step(child, path + ("parallel", "steps", index), prefix=prefix, parent=step_id,
                               scope=scope, parent_skip=child_skip)
                for index, child in enumerate(block.steps)
            )
        elif step.map is not None:
            self.plan_map(planned, step, path, step_id, scope, enabled, child_skip)
        self.charge(path, step_id, planned)
        return planned

    def charge(self, path: tuple, step_id: str, planned: PlannedStep) -> None:
        """Count the step's values against the plan's size budget; stop planning past it."""
        try:
            for value in (planned.parameters, planned.gate_message, planned.items):
                if value is not None and not isinstance(value, RuntimeValue):
                    self.values.charge(value)
        except BudgetExceeded as error:
            self._problem(path, f"step '{step_id}': {error}")
            raise _LimitPassed() from None

    def decide_when(self, step: Step, path: tuple, scope: dict,
                    parent_skip: str | None) -> tuple[bool, str | None, bool]:
        """(enabled, reason it is skipped, decided at run time)."""
        if parent_skip is not None:
            return False, parent_skip, False
        when = step.when
        if when is None or when is True:
            return True, None, False
        if when is False:
            return False, "when is false", False
        template = Template.parse(when)
        if template.is_runtime or template.uses_secrets:
            return True, None, True
        value = self.render(template, scope, path + ("when",))
        if is_truthy(value):
            return True, None, False
        return False, f"when is false: {when.strip()}", False

    def plan_map(self, planned: PlannedStep, step: Step, path: tuple, step_id: str, scope: dict,
                 enabled: bool, child_skip: str | None) -> None:
        spec = step.map
        planned.max_parallel = spec.maxParallel or 1
        planned.continue_on_error = spec.continueOnError
        items_path = path + ("map", "items")
        items = self.resolve(spec.items, scope, items_path)
        planned.items = items
        if isinstance(items, RuntimeValue):
            planned.items_runtime = True
            return
        if not enabled:
            return
        if items is None:
            items = []
            planned.items = []
        if not isinstance(items, list):
            self._problem(items_path, f"'items' must give a list, but gave {json_type(items)}")
            return
        message = self.too_many(step, step_id, len(items))
        if message:
            self._problem(items_path, message)
            return
        planned.children = self.map_children(step, path, step_id, items, child_skip)

    def too_many(self, step: Step, step_id: str, items: int) -> str | None:
        """Why expanding ``items`` copies of the map's template would pass the step limit, if it would."""
        each = template_size(step.map.step)
        if self.count + items * each <= MAX_PLANNED_STEPS:
            return None
        steps = f" of {each} steps each" if each > 1 else ""
        before = f"{self.count:,} step{'s' if self.count != 1 else ''}"
        return (f"map '{step_id}' expands to {items:,} items{steps}; with the {before} planned "
                f"before it that passes the limit: a plan may hold at most {MAX_PLANNED_STEPS:,} steps")

    def map_children(self, step: Step, path: tuple, step_id: str, items: list,
                     child_skip: str | None) -> tuple[PlannedStep, ...]:
        template, template_path = step.map.step, path + ("map", "step")
        return tuple(
            self.plan_step(template, template_path, prefix=f"{step_id}[{index}]::",
                           parent=step_id, scope={"item": item, "index": index}, parent_skip=child_skip)
            for index, item in enumerate(items)
        )


def expand_map(pack: Pack, inputs: dict, map_step: PlannedStep, items: list,
               already_planned: int = 0) -> tuple[PlannedStep, ...]:
    """Plan the children of a map whose items became known at run time.

    Raises PackInvalid (located at the map's ``items``) when ``items`` is not
    a list or would take the plan past its size limit.
    """
    planner = _Planner(pack, inputs)
    planner.count = already_planned
    step = pack.manifest
    for segment in map_step.source_path:
        step = step[segment] if isinstance(segment, int) else getattr(step, segment)
    items_path = map_step.source_path + ("map", "items")
    if not isinstance(items, list):
        raise PackInvalid([planner.pack.source.problem(items_path, f"'items' must give a list, but gave "
                                                                   f"{json_type(items)}")])
    message = planner.too_many(step, map_step.id, len(items))
    if message:
        raise PackInvalid([planner.pack.source.problem(items_path, message)])
    try:
        children = planner.map_children(step, map_step.source_path, map_step.id, items, None)
    except _LimitPassed:
        children = ()
    if planner.problems:
        raise PackInvalid(planner.problems)
    return children

