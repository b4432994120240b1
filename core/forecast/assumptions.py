"""What the analyst assumes: an outcome and a duration per step, checked against the plan.

``STEP`` is a step id (map children as ``shard[2]::process``) or the template
id of a step inside a map, which applies to every child made from it; an
assumption on a step id wins over one on its template id.  Anything that
does not fit (an unknown step, an outcome of another step kind, a negative
duration) raises :class:`AssumptionError` naming the valid choices.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from core.plan import BLOCK_KINDS, Plan, PlannedStep

RUN_OUTCOMES = ("succeed", "fail", "fail:N", "skip")
APPROVAL_OUTCOMES = ("approve", "reject", "wait", "skip")
POLICY_OUTCOMES = ("allow", "deny", "wait", "skip")
BLOCK_OUTCOMES = ("skip",)
_FAIL_N = re.compile(r"fail:(\d+)\Z")
_LISTED = 25  # names shown in an "unknown step" message before "..."


class AssumptionError(ValueError):
    """An assumption or duration that does not fit the pack (a usage error, exit 2)."""


class ForecastLimit(AssumptionError):
    """The assumptions make a run too long to play (too many attempts, or past the year 9999)."""


@dataclass(frozen=True)
class Outcome:
    """One step's assumed outcome: ``failures`` attempts fail first (None: every attempt)."""

    text: str
    failures: int | None = 0

    @property
    def skip(self) -> bool:
        return self.text == "skip"

    def attempt_fails(self, attempt: int) -> bool:
        return self.failures is None or attempt <= self.failures


SUCCEED = Outcome("succeed")


def outcomes_for(step: PlannedStep) -> tuple[str, ...]:
    if step.kind == "run":
        return RUN_OUTCOMES
    if step.kind == "gate.approval":
        return APPROVAL_OUTCOMES
    if step.kind == "gate.policy":
        return POLICY_OUTCOMES
    return BLOCK_OUTCOMES


def default_outcome(step: PlannedStep) -> str | None:
    """What a step does unless assumed otherwise (None for a block: its children decide)."""
    return {"run": "succeed", "gate.approval": "approve", "gate.policy": "allow"}.get(step.kind)


def parse_outcome(text: str, step_label: str, step: PlannedStep) -> Outcome:
    valid = outcomes_for(step)
    text = text.strip()
    match = _FAIL_N.match(text)
    if match and step.kind == "run":
        count = int(match.group(1))
        if count < 1:
            raise AssumptionError(f"'{text}' for step '{step_label}': N in fail:N must be at least 1")
        return Outcome(text, count)
    if text in valid:
        return Outcome(text, None if text == "fail" else 0)
    kind = {"run": "run step", "gate.approval": "approval gate", "gate.policy": "policy gate"}.get(
        step.kind, f"{step.kind} block")
    raise AssumptionError(f"outcome '{text}' does not fit {kind} '{step_label}'; "
                          f"choose one of: {', '.join(valid)}")


def split_pair(text: str, what: str) -> tuple[str, str]:
    """``STEP=VALUE`` as a pair; AssumptionError when there is no ``=``."""
    step, equals, value = text.partition("=")
    if not equals or not step.strip() or not value.strip():
        raise AssumptionError(f"{what} '{text}' must be STEP=VALUE")
    return step.strip(), value.strip()


def plan_steps(plan: Plan) -> list[PlannedStep]:
    """Every step of ``plan`` in document order, as a list (one loop, no generator per step)."""
    steps: list[PlannedStep] = []
    stack = list(reversed(plan.steps))
    while stack:
        step = stack.pop()
        steps.append(step)
        if step.children:
            stack.extend(reversed(step.children))
    return steps


class StepIndex:
    """Step ids and map template ids of a plan, for resolving what an assumption names."""

    def __init__(self, plan: Plan, steps: list[PlannedStep] | None = None):
        self.steps: dict[str, PlannedStep] = {}
        self.templates: dict[str, list[PlannedStep]] = {}
        by_id, templates = self.steps, self.templates
        for step in plan_steps(plan) if steps is None else steps:
            step_id, template_id = step.id, step.template_id
            by_id[step_id] = step
            if step_id != template_id:
                same = templates.get(template_id)  # not setdefault: no empty list made per map child
                if same is None:
                    templates[template_id] = [step]
                else:
                    same.append(step)

    def targets(self, name: str) -> list[PlannedStep]:
        if name in self.steps:
            return [self.steps[name]]
        if name in self.templates:
            return self.templates[name]
        names = list(self.steps)
        shown = ", ".join(names[:_LISTED]) + (f", ... ({len(names)} in all)" if len(names) > _LISTED else "")
        templates = ", ".join(sorted(self.templates)[:_LISTED])
        extra = f"; map templates (every child): {templates}" if templates else ""
        raise AssumptionError(f"unknown step '{name}'; steps: {shown}{extra}")


@dataclass
class Assumptions:
    """Checked assumptions: outcomes and given durations, by step id."""

    given: dict[str, str]                 # as the analyst wrote them, for the JSON
    outcomes: dict[str, Outcome]          # step id -> assumed outcome (absent: the default)
    durations: dict[str, float]           # step id -> given seconds
    approvals: dict[str, Outcome]         # approval id -> the decision its gates assume

    def outcome(self, step_id: str) -> Outcome:
        return self.outcomes.get(step_id, SUCCEED)


def check_assumptions(plan: Plan, assume: dict[str, str] | None = None,
                      durations: dict[str, float] | None = None,
                      steps: list[PlannedStep] | None = None) -> Assumptions:
    """Resolve ``assume`` and ``durations`` (both keyed by step or template id) against ``plan``."""
    if not assume and not durations:
        return Assumptions({}, {}, {}, {})
    index = StepIndex(plan, steps)
    outcomes: dict[str, Outcome] = {}
    exact: set[str] = set()
    given: dict[str, str] = {}
    for name, text in (assume or {}).items():
        targets = index.targets(name)
        is_exact = name in index.steps
        for step in targets:
            outcome = parse_outcome(str(text), name, step)
            if is_exact or step.id not in exact:
                outcomes[step.id] = outcome
        if is_exact:
            exact.add(name)
        given[name] = str(text).strip()
    seconds: dict[str, float] = {}
    exact.clear()
    for name, value in (durations or {}).items():
        targets = index.targets(name)
        number = _seconds(value, name)
        for step in targets:
            if step.kind in BLOCK_KINDS:  # step.is_block without a property call per map child
                raise AssumptionError(f"'{name}' is a {step.kind} block: its time is its children's; "
                                      "give durations to run steps and gates")
            if name in index.steps or step.id not in exact:
                seconds[step.id] = number
        if name in index.steps:
            exact.add(name)
    return Assumptions(given, outcomes, seconds, _approval_decisions(plan, index, outcomes))


def _seconds(value, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise AssumptionError(f"duration '{value}' for step '{name}' is not a number of seconds") from None
    if isinstance(value, bool) or not math.isfinite(number) or number < 0:
        raise AssumptionError(f"duration '{value}' for step '{name}' must be a number of seconds >= 0")
    return number


def _approval_decisions(plan: Plan, index: StepIndex, outcomes: dict[str, Outcome]) -> dict[str, Outcome]:
    """One decision per approval: gates sharing an approval are decided together."""
    decisions: dict[str, tuple[str, Outcome]] = {}
    for step_id, outcome in outcomes.items():
        step = index.steps[step_id]
        if step.kind != "gate.approval" or outcome.skip:
            continue
        known = decisions.get(step.approval_id)
        if known is not None and known[1].text != outcome.text:
            raise AssumptionError(
                f"gates '{known[0]}' and '{step_id}' share approval '{step.approval_id}', so one decision "
                f"settles both; assume the same outcome for both (not '{known[1].text}' and '{outcome.text}')")
        decisions.setdefault(step.approval_id, (step_id, outcome))
    return {approval_id: outcome for approval_id, (_, outcome) in decisions.items()}
