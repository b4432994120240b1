"""Values filled in at run time: templates reading inputs, secrets and other steps' outputs.

Part of the :class:`~core.execution.scheduler.Scheduler` (a mixin): what a
run-time template may read, a step's parameters resolved just before it is
submitted (never persisted), and the limits such values obey.
"""

from __future__ import annotations

from typing import Any

from core.expressions import Template
from core.expressions.metered import BudgetExceeded, measure
from core.limits import MAX_PLAN_VALUE_BYTES, MAX_RUN_VALUE_DEPTH
from core.plan import PlannedStep, RuntimeValue, SecretRef


class RunTimeValues:
    """Templates at run time (expects ``plan``, ``secrets`` and ``_steps_context``)."""

    def context(self, step: PlannedStep, secret_values: bool = True) -> dict[str, Any]:
        """What a run-time template of ``step`` may read."""
        context: dict[str, Any] = {"inputs": self.plan.inputs, "steps": self._steps_context}
        if secret_values:
            context["secrets"] = self.secrets
        context.update(step.scope)
        return context

    def resolve_parameters(self, step: PlannedStep) -> dict:
        """The step's parameters with secrets and step outputs filled in (never persisted)."""
        if not step.parameters or not _has_placeholders(step.parameters):  # most often: none at all
            return step.parameters
        resolved = _resolve(step.parameters, self.context(step))
        self._charge_run_time_value(resolved)
        return resolved

    def _charge_run_time_value(self, value: Any) -> None:
        """Values filled in at run time obey the plan's limits: one step's parameters at most
        1,000,000 elements and 10 MiB of JSON as written out (an output read twice counts twice),
        and those of the whole drive at most 64 MiB together.  Each template alone was bounded,
        but a step reading a 4 MB output in 60 parameters wrote 1 GB to the store (found by the
        attack review); a step past a limit fails with a message instead."""
        if _nested_deeper_than(value, MAX_RUN_VALUE_DEPTH):
            raise ValueError(f"the step's parameters are nested more than {MAX_RUN_VALUE_DEPTH} levels deep")
        try:
            _, size = measure(value)
        except BudgetExceeded:
            raise ValueError("the step's parameters are larger than 1,000,000 elements or 10 MiB of JSON "
                             "as written out (each use of a value counts)") from None
        self._run_time_bytes = getattr(self, "_run_time_bytes", 0) + size
        if self._run_time_bytes > MAX_PLAN_VALUE_BYTES:
            raise ValueError(f"the parameters filled in at run time together pass "
                             f"{MAX_PLAN_VALUE_BYTES // (1024 * 1024)} MiB of JSON; make them smaller or split the pack")


def _nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether lists and objects in ``value`` nest more than ``limit`` deep (without recursion)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth >= limit:
                return True
            stack.extend((inner, depth + 1) for inner in (item.values() if isinstance(item, dict) else item))
    return False


def outputs_problem(outputs: dict, limit: int) -> str | None:
    """Why a step's ``outputs`` cannot be recorded as they are, or None (one pass, no recursion).

    A record is JSON: what it cannot hold exactly would differ between this drive (the value in
    memory, which later steps read) and a resume (the journal's): a NaN or an infinity (written as
    ``null``), a date (written as text), a tuple (a list), a key that is not text, any other object
    (a path, a set: the journal write raised and the driver stopped with the step running).
    """
    stack = [(outputs, 0, None)]  # (value, depth, where: (parent's where, key), formatted only for a message)
    while stack:
        item, depth, where = stack.pop()
        kind = type(item)
        if kind is dict:
            if depth >= limit:
                return f"its outputs are nested more than {limit} levels deep"
            for key, inner in item.items():
                if type(key) is not str:
                    return f"its outputs are not JSON: the key {key!r} ({type(key).__name__}) at {_where(where)}"
                stack.append((inner, depth + 1, (where, key)))
        elif kind is list:
            if depth >= limit:
                return f"its outputs are nested more than {limit} levels deep"
            stack.extend((inner, depth + 1, (where, index)) for index, inner in enumerate(item))
        elif kind is float:
            if item != item or item in (float("inf"), float("-inf")):
                return f"its outputs are not JSON: {item} at {_where(where)}"
        elif not (item is None or kind is str or kind is int or kind is bool):
            return f"its outputs are not JSON: a {kind.__name__} at {_where(where)}"
    return None


def _where(where) -> str:
    keys = []
    while where is not None:
        where, key = where
        keys.append(str(key))
    return "/" + "/".join(reversed(keys))


def _has_placeholders(value: Any) -> bool:
    if isinstance(value, (SecretRef, RuntimeValue)):
        return True
    if isinstance(value, dict):
        return any(_has_placeholders(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_placeholders(item) for item in value)
    return False


def _resolve(value: Any, context: dict) -> Any:
    if isinstance(value, dict):
        return {key: _resolve(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve(item, context) for item in value]
    if isinstance(value, SecretRef):
        return context["secrets"].get(value.name)
    if isinstance(value, RuntimeValue):
        return Template.parse(value.template).render(context)
    return value
