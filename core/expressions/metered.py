"""JMESPath evaluation under a budget, so that no expression can amplify a value.

JMESPath has no loops, but it can still explode: ``[@, @]`` doubles a value
without copying it (both elements are the same object), so 24 stages make a
value of 16 million logical nodes out of a few bytes, and anything that walks
it (``to_string``, ``==``, rendering it into a preview) costs that much time
and memory.  This interpreter (the ``jmespath`` library's own, with a meter
around it) therefore bounds:

* the *logical* size of every value it produces, of every value a function
  or a comparison walks, and of the result: at most
  :data:`~core.limits.MAX_EXPRESSION_VALUE_NODES` nodes and
  :data:`~core.limits.MAX_EXPRESSION_VALUE_BYTES` bytes of JSON.  Sizes are
  memoised by object identity, so a shared value is measured once and the
  measurement costs no more than building the value did;
* the work: one unit per AST node visited, per element of a produced list or
  object, per node walked, and per 64 bytes walked, at most
  :data:`~core.limits.MAX_EXPRESSION_WORK` per evaluation.

Both are refused with :class:`BudgetExceeded`, which the caller turns into a
located problem.  An optional :class:`ValueBudget` shared by many evaluations
(one plan) bounds their total work and the total size of their results.
"""

from __future__ import annotations

from typing import Any

import jmespath.functions
import jmespath.visitor

from core.limits import (
    MAX_EXPRESSION_VALUE_BYTES, MAX_EXPRESSION_VALUE_NODES, MAX_EXPRESSION_WORK, MAX_PLAN_EXPRESSION_WORK,
    MAX_PLAN_VALUE_BYTES,
)

__all__ = ["BudgetExceeded", "PlanValues", "ValueBudget", "evaluate", "measure"]

_CONTAINERS = (list, dict)
_PRODUCERS = frozenset({"multi_select_list", "multi_select_dict", "projection", "value_projection",
                        "filter_projection", "flatten", "slice"})
# Functions that look at their arguments' top level only: charged by length, not walked.
_SHALLOW = frozenset({"length", "type", "not_null", "keys", "values", "merge", "to_array", "reverse"})
_BYTES_PER_UNIT = 64


class BudgetExceeded(Exception):
    """An evaluation that would pass a size or work limit (the message says which)."""


class ValueBudget:
    """Work and result size shared by many evaluations (the expressions of one plan)."""

    def __init__(self, max_work: int | None = None, max_bytes: int | None = None,
                 parent: "ValueBudget | None" = None, label: str = "the pack's expressions"):
        self.max_work = max_work or MAX_PLAN_EXPRESSION_WORK
        self.max_bytes = max_bytes or MAX_PLAN_VALUE_BYTES
        self.parent = parent
        self.label = label
        self.work = 0
        self.bytes = 0

    def charge(self, work: int, size: int) -> None:
        if self.parent is not None:
            self.parent.charge(work, size)
        self.work += work
        self.bytes += size
        if self.work > self.max_work:
            raise BudgetExceeded(f"{self.label} together do more than {self.max_work:,} units of work; "
                                 "simplify them or split the pack")
        if self.bytes > self.max_bytes:
            raise BudgetExceeded(f"the plan's parameters, messages and items together are larger than "
                                 f"{_mib(self.max_bytes)} of JSON; make them smaller or split the pack")

    @property
    def exhausted(self) -> bool:
        return self.work > self.max_work or self.bytes > self.max_bytes


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):g} MiB"


def _scalar_size(value: Any) -> int:
    """JSON bytes of a scalar, without converting big integers to text."""
    kind = type(value)
    if kind is str:
        return len(value) + 2
    if kind is int:
        return value.bit_length() * 10 // 33 + 2  # log10(2) < 10/33: never an underestimate
    if kind is float:
        return 24
    return 5  # true, false, null (and anything odd: it cannot hide a big value)


class _Meter:
    def __init__(self, max_nodes: int | None = None, max_bytes: int | None = None):
        self.work = 0
        self.max_nodes = max_nodes or MAX_EXPRESSION_VALUE_NODES
        self.max_bytes = max_bytes or MAX_EXPRESSION_VALUE_BYTES
        self._sizes: dict[int, tuple[Any, int, int]] = {}  # id -> (the value, kept alive; nodes; bytes)

    def spend(self, units: int) -> None:
        self.work += units
        if self.work > MAX_EXPRESSION_WORK:
            raise BudgetExceeded(f"the expression does more than {MAX_EXPRESSION_WORK:,} units of work "
                                 "(it builds, walks or compares values that are too large)")

    def size(self, value: Any) -> tuple[int, int]:
        """(logical nodes, JSON bytes) of a value, refusing one past the limits."""
        if type(value) not in _CONTAINERS:
            size = _scalar_size(value)
            if size > self.max_bytes:
                raise _too_large(size=size)
            return 1, size
        known = self._sizes.get(id(value))
        if known is not None and known[0] is value:
            return known[1], known[2]
        if len(value) <= 16:  # the common small object of scalars: one pass, nothing remembered
            nodes, size = 1, 2
            for element in (value.values() if type(value) is dict else value):
                kind = type(element)
                if kind is str:
                    size += len(element) + 3
                elif kind is list or kind is dict:
                    return self._measure(value)
                elif kind is int:  # _scalar_size inlined: most values are text and numbers
                    size += element.bit_length() * 10 // 33 + 3
                else:
                    size += _scalar_size(element) + 1
                nodes += 1
            if type(value) is dict:
                size += 3 * len(value) + sum(map(len, value))
            if size > self.max_bytes:
                raise _too_large(size=size)
            return nodes, size
        return self._measure(value)

    def _measure(self, root: Any) -> tuple[int, int]:
        # Depth-first over the distinct containers not measured yet, without recursion
        # (values may be nested hundreds deep).  A container whose children are all
        # known is sized in one pass; otherwise its unknown children go first and it
        # is sized again after them.  ``walked`` bounds the measuring itself.
        sizes = self._sizes
        walked = 0
        stack = [root]
        pushed = {id(root)}
        while stack:
            value = stack[-1]
            known = sizes.get(id(value))
            if known is not None and known[0] is value:
                stack.pop()
                continue
            is_dict = type(value) is dict
            walked += len(value)
            if walked > self.max_nodes:
                raise _too_large(nodes=walked)
            nodes, size = 1, 2
            pending = None
            for element in (value.values() if is_dict else value):
                kind = type(element)
                if kind is list or kind is dict:
                    known = sizes.get(id(element))
                    if known is None or known[0] is not element:
                        if id(element) not in pushed:  # else a cycle (never in JSON data): a leaf
                            pending = pending or []
                            pending.append(element)
                            pushed.add(id(element))
                        continue
                    nodes += known[1]
                    size += known[2] + 1
                elif kind is str:
                    nodes += 1
                    size += len(element) + 3
                else:
                    nodes += 1
                    size += _scalar_size(element) + 1
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            if is_dict:
                size += sum(len(name) + 3 for name in value)
            if nodes > self.max_nodes:
                raise _too_large(nodes=nodes)
            if size > self.max_bytes:
                raise _too_large(size=size)
            sizes[id(value)] = (value, nodes, size)
        known = sizes[id(root)]
        return known[1], known[2]

    def walk(self, value: Any) -> None:
        """Charge for an operation that walks the whole of ``value``."""
        kind = type(value)
        if kind is str:
            self.spend(1 + len(value) // _BYTES_PER_UNIT)
            if len(value) > MAX_EXPRESSION_VALUE_BYTES:
                raise _too_large(size=len(value))
        elif kind in _CONTAINERS or kind is int:
            nodes, size = self.size(value)
            self.spend(nodes + size // _BYTES_PER_UNIT)
        else:
            self.spend(1)

    def produced(self, value: Any) -> None:
        """Charge for building a value and check its logical size."""
        if type(value) in _CONTAINERS:
            self.spend(len(value))
            self.size(value)
        elif type(value) is str:
            self.spend(len(value) // _BYTES_PER_UNIT)
            self.size(value)


def _too_large(*, nodes: int = 0, size: int = 0) -> BudgetExceeded:
    if nodes:
        return BudgetExceeded(f"the expression makes a value of more than {MAX_EXPRESSION_VALUE_NODES:,} "
                              "elements (each '[@, @]' doubles a value)")
    return BudgetExceeded(f"the expression makes a value larger than {_mib(MAX_EXPRESSION_VALUE_BYTES)}")


class _MeteredFunctions(jmespath.functions.Functions):
    def __init__(self, meter: _Meter):
        self._meter = meter

    def call_function(self, function_name, resolved_args):
        meter = self._meter
        for argument in resolved_args:
            if function_name in _SHALLOW or isinstance(argument, jmespath.visitor._Expression):
                meter.spend(len(argument) if type(argument) in _CONTAINERS else 1)
            else:
                meter.walk(argument)
        result = super().call_function(function_name, resolved_args)
        meter.produced(result)
        return result


class _MeteredInterpreter(jmespath.visitor.TreeInterpreter):
    def __init__(self, meter: _Meter):
        super().__init__(jmespath.visitor.Options(custom_functions=_MeteredFunctions(meter)))
        self._meter = meter

    def visit(self, node, *args, **kwargs):
        meter = self._meter
        meter.work += 1
        if meter.work > MAX_EXPRESSION_WORK:
            meter.spend(0)  # raises
        kind = node["type"]
        method = self._method_cache.get(kind)
        if method is None:
            method = self._method_cache[kind] = getattr(self, "visit_" + kind, self.default_visit)
        result = method(node, *args, **kwargs)
        if kind in _PRODUCERS:
            meter.produced(result)
        return result

    def visit_comparator(self, node, value):
        left = self.visit(node["children"][0], value)
        right = self.visit(node["children"][1], value)
        self._meter.walk(left)
        self._meter.walk(right)
        comparator = self.COMPARATOR_FUNC[node["value"]]
        if node["value"] in self._EQUALITY_OPS:
            return comparator(left, right)
        if not (jmespath.visitor._is_comparable(left) and jmespath.visitor._is_comparable(right)):
            return None  # ordering compares numbers and strings only (as jmespath does)
        return comparator(left, right)


def evaluate(parsed: dict, context: Any, shared: ValueBudget | None = None) -> Any:
    """Evaluate a parsed JMESPath AST under the limits (raises BudgetExceeded)."""
    meter = _Meter()
    result = _MeteredInterpreter(meter).visit(parsed, context)
    meter.size(result)
    if shared is not None:
        shared.charge(meter.work, 0)
    return result


class PlanValues:
    """The JSON size of the values a plan holds, charged to its :class:`ValueBudget`.

    Sizes are memoised by identity across the whole plan, so a value the
    planner shares between thousands of map children is measured once (and
    charged each time it is used: each use is written out in a preview).
    """

    def __init__(self, budget: ValueBudget):
        self.budget = budget
        self._meter = _Meter(max_nodes=budget.max_bytes, max_bytes=budget.max_bytes)

    def charge(self, value: Any) -> None:
        if value is None:
            return
        self.budget.charge(0, self.size(value))

    def size(self, value: Any) -> int:
        """What :meth:`charge` counts for ``value``: its JSON bytes, or past the limits just
        more than the whole budget (so that charging it fails).  A value planned many times
        may be measured once and charged with ``budget.charge(0, size)`` each time."""
        try:
            return self._meter.size(value)[1]
        except BudgetExceeded:
            return self.budget.max_bytes + 1


def measure(value: Any) -> tuple[int, int]:
    """(logical nodes, JSON bytes) of a value, or BudgetExceeded past the limits."""
    return _Meter().size(value)
