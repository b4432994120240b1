"""What planning one manifest step needs that does not depend on its scope (:class:`Recipe`), and the
one-loop form of a map's run-template children (:class:`ChildForm`): worked out once per manifest step
by :class:`core.plan.planner._Planner`, used for every copy of it."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from core.expressions import Template
from core.expressions.metered import measure
from core.manifest.models import Step
from core.plan.model import PlannedStep

if TYPE_CHECKING:
    from core.plan.planner import _Planner as Planner


LEAF_KINDS = frozenset({"run", "gate.approval", "gate.policy"})
_ENABLED, _WHEN_FALSE, _AT_RUN_TIME = (True, None, False), (False, "when is false", False), (True, None, True)
_EMPTY_SIZE = measure({})[1]  # what the default parameters ({}) of a gate, block or map charge


@functools.lru_cache(maxsize=64)
def _index_sizes(count: int) -> int:
    """What the indexes 0 .. count-1 charge together (:meth:`PlanValues.size` of each)."""
    return sum([index.bit_length() * 10 // 33 + 2 for index in range(count)])


class ChildForm:
    """The parameters of a map's run template that reads only ``{{ item }}`` and ``{{ index }}``
    (``{target: "{{ item }}", n: "{{ index }}", mode: fast}``), or none at all: every child's
    parameters are a copy of one dict with the item and index set, and their size is the
    literal part's, measured once, plus the item's and the index's (what the plan's meter
    gives the resolved dict: ``{}`` and commas, ``"key":`` and each value; the items'
    sizes are measured once per items list).  Made by :meth:`Recipe.child_form`.
    """

    __slots__ = ("shared", "base", "item_keys", "index_keys", "literal_size")

    def __init__(self, shared: Any, base: dict | None, item_keys: tuple, index_keys: tuple, literal_size: int):
        self.shared = shared  # parameters without templates: every child holds this value
        self.base = base
        self.item_keys = item_keys
        self.index_keys = index_keys
        self.literal_size = literal_size

    @staticmethod
    def of(planner: "Planner", slot: tuple) -> "ChildForm | None":
        value, resolver, _ = slot
        if resolver is None:
            return ChildForm(value, None, (), (), 0)
        parts = getattr(resolver, "parts", None)
        if parts is None:
            return None
        base, item_keys, index_keys = {}, [], []
        size = 2
        for key, item, part in parts:
            if key.__class__ is not str:
                return None
            size += len(key) + 4  # "key": and a comma (or the closing brace's share)
            if part is None:
                base[key] = item
                size += planner.values.size(item)
                continue
            name = getattr(part, "scope_name", None)
            if name == "item":
                item_keys.append(key)
            elif name == "index":
                index_keys.append(key)
            else:
                return None
            base[key] = None  # set per child; the key keeps its place
        return ChildForm(None, base, tuple(item_keys), tuple(index_keys), size)

    def size_of(self, planner: "Planner", items: list) -> int:
        """What the children's parameters charge together (each as :meth:`PlanValues.size` gives it)."""
        if self.base is None:
            return 0  # in the recipe's fixed size
        count = len(items)
        size = self.literal_size * count
        if self.item_keys:
            size += len(self.item_keys) * sum(planner.item_sizes(items))
        if self.index_keys:
            size += len(self.index_keys) * _index_sizes(count)
        return size

    def children(self, recipe: "Recipe", step_id: str, enabled: bool, reason: str | None,
                 when_runtime: bool, items: list, path: tuple) -> tuple[PlannedStep, ...]:
        """The children, each what :meth:`_Planner._leaf_step` makes of it."""
        template_id = recipe.template_id
        # Each child's attributes are a copy of one made by PlannedStep's own __init__ (so in its
        # field order, which the plan hash's bytes follow) with id, parameters and scope set:
        # a third less work than __init__ per child, and orjson finds the __dict__ made.
        fields = PlannedStep(step_id, template_id, "run", recipe.name, enabled, reason, recipe.when, when_runtime,
                             recipe.uses, None, None, None, None, None, None, None, False, (), step_id, None,
                             path).__dict__.copy
        shared, item_keys, index_keys = self.shared, self.item_keys, self.index_keys
        copy = self.base.copy if self.base is not None else None
        new = object.__new__
        children = []
        append = children.append
        for index, item in enumerate(items):
            if copy is None:
                parameters = shared
            else:
                parameters = copy()
                for key in item_keys:
                    parameters[key] = item
                for key in index_keys:
                    parameters[key] = index
            attributes = fields()
            attributes["id"] = f"{step_id}[{index}]::{template_id}"
            attributes["parameters"] = parameters
            attributes["scope"] = {"item": item, "index": index}
            child = new(PlannedStep)
            child.__dict__ = attributes
            append(child)
        return tuple(children)


class Recipe:
    """The scope-free part of planning one manifest step (see :meth:`_Planner.recipe`).

    Value slots are ``(value as written, its resolver or None, path)``.  A ``when`` is decided
    here unless it must be rendered: absent or true runs, false skips, one that reads step
    outputs or secrets is decided at run time; one that reads inputs, item or index is kept
    as ``when_template`` and rendered per scope.  A skipped parent's reason wins over all.
    """

    __slots__ = ("step", "template_id", "kind", "name", "when", "when_template", "when_decision",
                 "when_path", "when_false", "uses", "parameters", "approval_id", "policy", "message",
                 "children", "fixed_size", "_child_form")

    def __init__(self, planner: Planner, step: Step, path: tuple):
        self.step = step
        self.template_id = step.id
        self.name = step.name
        when = step.when
        self.when_template = self.when_false = None
        self.when_path = path
        if when is None or when is True:
            self.when = None
            self.when_decision = _ENABLED
        elif when is False:
            self.when = None
            self.when_decision = _WHEN_FALSE
        else:
            self.when = when
            template = Template.parse(when)
            if template.is_runtime or template.uses_secrets:
                self.when_decision = _AT_RUN_TIME
            else:
                self.when_decision = None
                self.when_template = template
                self.when_path = path + ("when",)
                self.when_false = f"when is false: {when.strip()}"
        self.uses = self.approval_id = self.policy = self.parameters = self.message = None
        self.children = ()
        # The charge of the values that are the same on every visit: those written without
        # templates, and the empty parameters of gates without any, blocks and maps.
        size = 0
        values = planner.values
        run, gate = step.run, step.gate
        if run is not None:
            self.kind = "run"
            self.uses = run.uses
            self.parameters = slot = self._slot(planner, run.with_, path + ("run", "with"))
            if slot[1] is None:
                size += values.size(slot[0])
        elif gate is not None:
            if gate.approval is not None:
                self.kind = "gate.approval"
                gate = gate.approval
                self.approval_id = gate.id
                self.message = slot = self._slot(planner, gate.message, path + ("gate", "approval", "message"))
                size += _EMPTY_SIZE
            else:
                self.kind = "gate.policy"
                gate = gate.policy
                self.policy = gate.policy
                self.parameters = slot = self._slot(planner, gate.parameters, path + ("gate", "policy", "parameters"))
                if slot[1] is None:
                    size += values.size(slot[0])
                self.message = slot = self._slot(planner, gate.message, path + ("gate", "policy", "message"))
            if slot[1] is None and slot[0] is not None:
                size += values.size(slot[0])
        elif step.parallel is not None:
            self.kind = "parallel"
            self.children = tuple([(child, path + ("parallel", "steps", index))
                                   for index, child in enumerate(step.parallel.steps)])
            size += _EMPTY_SIZE
        else:
            self.kind = "map"
            size += _EMPTY_SIZE
        self.fixed_size = size

    def child_form(self, planner: Planner) -> ChildForm | None:
        """A run template's :class:`ChildForm`, or None when its parameters need the general path."""
        try:
            return self._child_form
        except AttributeError:
            form = self._child_form = ChildForm.of(planner, self.parameters)
            return form

    @staticmethod
    def _slot(planner: Planner, value: Any, path: tuple) -> tuple:
        if isinstance(value, str):
            if "{{" not in value:
                return value, None, path
        elif not isinstance(value, (dict, list)):
            return value, None, path
        return value, planner.resolver(value), path
