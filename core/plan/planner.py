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
from core.plan.recipe import LEAF_KINDS, Recipe


@without_gc
def build_plan(pack: Pack, supplied_inputs: dict | None = None, inputs_label: str = "inputs") -> Plan:
    """Resolve inputs and plan the pack; PackInvalid lists every problem."""
    inputs = resolve_inputs(pack, supplied_inputs, inputs_label)
    return _Planner(pack, inputs).plan()


def _plain_path(names: tuple) -> Any:
    """A bare dotted path (``{{ item }}``, ``{{ inputs.x.y }}``) read the way the expression would."""
    root, rest = names[0], names[1:]
    if not rest and root != "inputs":  # {{ item }}, {{ index }}: what most map children read
        def read_name(planner: "_Planner", scope: dict, path: tuple) -> Any:
            return scope.get(root)
        read_name.scope_name = root  # what a map child's specialised loop reads (ChildForm)
        return read_name

    def read(planner: "_Planner", scope: dict, path: tuple) -> Any:
        value = planner.inputs if root == "inputs" else scope.get(root)
        for name in rest:
            if not isinstance(value, dict):
                return None
            value = value.get(name)
        return value
    return read


def _holds_run_time_value(value: Any) -> bool:
    # A loop, not recursion: items may be nested hundreds deep (an expression per map level).
    stack = [value]
    while stack:
        value = stack.pop()
        if value.__class__ is RuntimeValue:
            return True
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


class _RunTimeItem(Exception):
    """A template reading ``item`` was to be rendered with an item holding a run-time value (on
    1becee0 a TypeError when made into text, a wrong answer when computed with): the map whose
    written-out items list holds it says so (:meth:`_Planner.plan_map`).  Such an item read as it
    is (``{{ item }}``, ``{{ item.host }}``) stays a placeholder, as it always did."""


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
        self._recipes: dict[int, Recipe] = {}  # id of a manifest step -> its recipe (which keeps it alive)
        self._item_sizes: dict[int, tuple[list, list[int]]] = {}  # id of an items list -> (it, its items' sizes)
        self.uniform_children: dict[int, tuple[PlannedStep, ...]] = {}  # see Plan.uniform_children
        self.run_time_items = 0  # maps being expanded whose written-out items hold run-time values

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
        return value if resolver is None else resolver(self, scope, path)

    def resolver(self, value: Any) -> Any:
        """None for a value without templates, else ``f(planner, scope, path)`` giving it resolved.

        The functions take the planner as an argument rather than holding it, so that
        caching them here makes no reference cycle (a plan freed by reference counting
        leaves nothing for the cyclic collector).
        """
        known = self._resolvers.get(id(value))
        if known is not None and known[0] is value:
            return known[1]
        resolver = self._compile(value, ())
        self._resolvers[id(value)] = (value, resolver)  # the value is kept alive with its id
        return resolver

    def _compile(self, value: Any, suffix: tuple) -> Any:
        if isinstance(value, dict):
            parts = []
            templated = False
            for key, item in value.items():
                part = None if item.__class__ is str and "{{" not in item else self._compile(item, suffix + (key,))
                templated = templated or part is not None
                parts.append((key, item, part))
            if not templated:
                return None

            def resolve_dict(planner: "_Planner", scope: dict, path: tuple) -> dict:
                result = {}  # a loop, not a comprehension: one frame less per map child
                for key, item, part in parts:
                    result[key] = item if part is None else part(planner, scope, path)
                return result
            resolve_dict.parts = parts  # (key, value as written, its resolver or None): see ChildForm
            return resolve_dict
        if isinstance(value, list):
            parts = []
            templated = False
            for index, item in enumerate(value):
                part = None if item.__class__ is str and "{{" not in item else self._compile(item, suffix + (index,))
                templated = templated or part is not None
                parts.append((item, part))
            if not templated:
                return None

            def resolve_list(planner: "_Planner", scope: dict, path: tuple) -> list:
                result = []
                for item, part in parts:
                    result.append(item if part is None else part(planner, scope, path))
                return result
            return resolve_list
        if not Template.has_template(value):
            return None
        template = Template.parse(value)
        if template.is_runtime:
            return lambda planner, scope, path: RuntimeValue(value)
        if template.uses_secrets:
            secret = template.whole.secret_path if template.whole is not None else None
            if secret:
                return lambda planner, scope, path: SecretRef(secret)
            return lambda planner, scope, path: RuntimeValue(value)
        plain = template.whole.plain_path if template.whole is not None else None
        if plain is not None:
            return _plain_path(plain)
        return lambda planner, scope, path: planner.render(template, scope, path + suffix)

    def render(self, template: Template, scope: dict, path: tuple) -> Any:
        if self.run_time_items and _holds_run_time_value(scope.get("item")) \
                and any(ref[0] == "item" for expression in template.expressions for ref in expression.references):
            raise _RunTimeItem()  # a placeholder cannot be made into text or computed with at plan time
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
        steps = tuple([
            self._plan_step(step, ("spec", "steps", index), "", None, {}, None)
            for index, step in enumerate(manifest.spec.steps)
        ])
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
        return Plan(plan_hash=self.hash(fields), uniform_children=self.uniform_children, **fields)

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

    def item_sizes(self, items: list) -> list[int]:
        """:meth:`PlanValues.size` of each item, once per items list (maps often share one)."""
        known = self._item_sizes.get(id(items))
        if known is not None and known[0] is items:
            return known[1]
        size = self.values.size
        sizes = [size(item) for item in items]
        self._item_sizes[id(items)] = (items, sizes)  # the list is kept alive with its id
        return sizes

    def recipe(self, step: Step, path: tuple) -> "Recipe":
        """What planning ``step`` needs that does not depend on its scope, worked out once.

        A step's ``path`` is where it is written, so it is the same on every visit (a map's
        template is planned once per item with one path).
        """
        known = self._recipes.get(id(step))
        if known is not None and known.step is step:
            return known
        recipe = self._recipes[id(step)] = Recipe(self, step, path)
        return recipe

    def plan_step(self, step: Step, path: tuple, *, prefix: str, parent: str | None, scope: dict,
                  parent_skip: str | None) -> PlannedStep:
        return self._plan_step(step, path, prefix, parent, scope, parent_skip)

    def _plan_step(self, step: Step, path: tuple, prefix: str, parent: str | None, scope: dict,
                   parent_skip: str | None) -> PlannedStep:
        self.count += 1
        step_id = prefix + step.id
        if self.count > MAX_PLANNED_STEPS:
            self._problem(path, f"the plan passes {MAX_PLANNED_STEPS:,} steps at step '{step_id}' "
                                "(every step counts: map children, the steps inside them, parallel "
                                "children); a plan may hold at most that many")
            raise _LimitPassed()
        recipe = self.recipe(step, path)
        if parent_skip is not None:
            enabled, reason, when_runtime = False, parent_skip, False
        elif recipe.when_template is None:
            enabled, reason, when_runtime = recipe.when_decision
        elif is_truthy(self.render(recipe.when_template, scope, recipe.when_path)):
            enabled, reason, when_runtime = True, None, False
        else:
            enabled, reason, when_runtime = False, recipe.when_false, False
        kind = recipe.kind
        if kind in LEAF_KINDS:
            return self._leaf_step(recipe, step_id, enabled, reason, when_runtime, parent, scope, path)
        planned = PlannedStep(step_id, recipe.template_id, kind, recipe.name, enabled, reason,
                              recipe.when, when_runtime, parent=parent, scope=scope, source_path=path)
        child_skip = None if enabled else (reason if parent_skip else f"parent '{step_id}' is skipped")
        if kind == "parallel":
            block = step.parallel
            planned.max_parallel = block.maxParallel
            planned.continue_on_error = block.continueOnError
            plan_step = self._plan_step
            planned.children = tuple([
                plan_step(child, child_path, prefix, step_id, scope, child_skip)
                for child, child_path in recipe.children
            ])
            self.charge(path, step_id, recipe.fixed_size, ())
        else:
            self.plan_map(planned, step, path, step_id, scope, enabled, child_skip)
            self.charge(path, step_id, recipe.fixed_size, (planned.items,))
        return planned

    def _resolve_slot(self, slot: tuple, scope: dict, size: int) -> tuple[Any, int]:
        """A recipe's value slot ``(value, resolver, path)`` in ``scope``: the value, and ``size`` plus
        what a resolved value charges (a value as written is in the recipe's fixed size)."""
        value, resolver, value_path = slot
        if resolver is None:
            return value, size
        value = resolver(self, scope, value_path)
        if value is not None and value.__class__ is not RuntimeValue:
            size += self.values.size(value)
        return value, size

    def _leaf_step(self, recipe: "Recipe", step_id: str, enabled: bool, reason: str | None,
                   when_runtime: bool, parent: str | None, scope: dict, path: tuple) -> PlannedStep:
        """A run or gate step: its values resolved in ``scope`` and charged, then the step.

        Every step has parameters (a dict: ``with``, a policy's, or the default {}), so every
        step charges the plan's size budget; the sizes of values as written are the recipe's.
        The step is made with all its fields at once (half the cost of setting them after).
        """
        kind = recipe.kind
        size = recipe.fixed_size
        parameters = message = None
        try:
            if kind != "gate.approval":
                parameters, size = self._resolve_slot(recipe.parameters, scope, size)
            else:
                parameters = {}
            if kind != "run":
                message, size = self._resolve_slot(recipe.message, scope, size)
            self.budget.charge(0, size)
        except BudgetExceeded as error:
            self._problem(path, f"step '{step_id}': {error}")
            raise _LimitPassed() from None
        return PlannedStep(step_id, recipe.template_id, kind, recipe.name, enabled, reason, recipe.when,
                           when_runtime, recipe.uses, parameters, recipe.approval_id, recipe.policy, message,
                           None, None, None, False, (), parent, scope, path)

    def charge(self, path: tuple, step_id: str, size: int, varying) -> None:
        """Charge a step's values to the plan's size budget: ``size`` for those fixed by its
        recipe, and each of ``varying`` (a placeholder for a run-time value costs nothing
        here); planning stops past the budget."""
        try:
            for value in varying:
                if value is not None and value.__class__ is not RuntimeValue:
                    size += self.values.size(value)
            self.budget.charge(0, size)
        except BudgetExceeded as error:
            self._problem(path, f"step '{step_id}': {error}")
            raise _LimitPassed() from None

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
        if not (items is not spec.items and isinstance(spec.items, list) and _holds_run_time_value(items)):
            planned.children = self.map_children(step, path, step_id, items, child_skip)
            return
        count = self.count
        self.run_time_items += 1
        try:
            planned.children = self.map_children(step, path, step_id, items, child_skip)
        except _RunTimeItem:
            self.count = count
            self._problem(items_path, "'items' is a list written out, which is expanded when the pack is "
                                      "planned, but some of its values come from step outputs, known only "
                                      "during the run: write the whole list as one template instead, e.g. "
                                      "items: \"{{ [steps.scan.outputs.first, 'b'] }}\"")
        finally:
            self.run_time_items -= 1

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
        if items and template.parallel is None and template.map is None:
            return self._leaf_children(template, template_path, step_id, items, child_skip)
        plan_step = self._plan_step
        return tuple([
            plan_step(template, template_path, f"{step_id}[{index}]::", step_id,
                      {"item": item, "index": index}, child_skip)
            for index, item in enumerate(items)
        ])

    def _leaf_children(self, template: Step, path: tuple, step_id: str, items: list,
                       child_skip: str | None) -> tuple[PlannedStep, ...]:
        """:meth:`_plan_step` for each item of a map whose template is a run or a gate, with
        what is the same for every child (recipe, limit check, a ``when`` decided without
        rendering) worked out once: most steps of a large plan are such children."""
        children = []
        if self.count + len(items) > MAX_PLANNED_STEPS:  # the limit is met on the way: the slow path says where
            return tuple([self._plan_step(template, path, f"{step_id}[{index}]::", step_id,
                                          {"item": item, "index": index}, child_skip)
                          for index, item in enumerate(items)])
        recipe = self.recipe(template, path)
        if recipe.when_template is not None and child_skip is None:
            return tuple([self._plan_step(template, path, f"{step_id}[{index}]::", step_id,
                                          {"item": item, "index": index}, child_skip)
                          for index, item in enumerate(items)])
        enabled, reason, when_runtime = (False, child_skip, False) if child_skip is not None \
            else recipe.when_decision
        template_id = recipe.template_id
        if recipe.kind == "run":
            form = recipe.child_form(self)
            if form is not None:
                size = form.size_of(self, items) + recipe.fixed_size * len(items)
                budget = self.budget
                if not budget.exhausted and budget.bytes + size <= budget.max_bytes:
                    budget.charge(0, size)  # no child passes the budget: charged at once, not per child
                    self.count += len(items)
                    children = form.children(recipe, step_id, enabled, reason, when_runtime, items, path)
                    self.uniform_children[id(children)] = children
                    return children
                # else planned one by one below, so the problem names the child that passes it
        leaf_step = self._leaf_step
        append = children.append
        for index, item in enumerate(items):
            append(leaf_step(recipe, f"{step_id}[{index}]::{template_id}", enabled, reason, when_runtime,
                             step_id, {"item": item, "index": index}, path))
        self.count += len(items)
        return tuple(children)


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

