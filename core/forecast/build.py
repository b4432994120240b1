"""Forecast a simulated pack: durations, the virtual run, statuses and the critical path."""

from __future__ import annotations

from pathlib import Path

from core.execution.scheduler import ABORTED
from core.execution.state import FAILED, PENDING, RUNNING, SKIPPED, SUCCEEDED
from core.forecast.assumptions import Assumptions, check_assumptions, plan_steps
from core.forecast.critical_path import critical_path
from core.forecast.engine import VirtualRun
from core.forecast.model import (
    NOT_REACHED, TOLERATED, WAITING, Forecast, StepForecast,
)
from core.gc_pause import without_gc
from core.plan import Plan, PlannedStep
from core.simulation import SimulationPreview


def step_durations(plan: Plan, assumptions: Assumptions, history: dict[str, float] | None = None,
                   steps: list[PlannedStep] | None = None,
                   seconds: dict[str, float] | None = None) -> dict[str, tuple[float, str]]:
    """Step id -> (seconds per attempt, source): given, then sleep, then history, else 0.

    ``seconds``, when given, is filled in the same loop with the steps whose seconds are not 0
    (what the virtual run reads, with 0 for a step it does not hold).
    """
    history = history or {}
    given = assumptions.durations
    none = (0.0, "none")
    durations: dict[str, tuple[float, str]] = {}
    for step in plan_steps(plan) if steps is None else steps:
        step_id = step.id
        if step_id in given:
            timing = (given[step_id], "given")
        elif step.kind == "run" and step.uses == "builtin:sleep" and _number(step.parameters.get("seconds")):
            timing = (max(float(step.parameters["seconds"]), 0.0), "sleep")
        elif step.kind == "run" and step_id in history:
            timing = (history[step_id], "history")
        else:
            durations[step_id] = none
            continue
        durations[step_id] = timing
        if seconds is not None and timing[0]:
            seconds[step_id] = timing[0]
    return durations


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@without_gc
def forecast(preview: SimulationPreview, assume: dict[str, str] | None = None,
             durations: dict[str, float] | None = None, store: str | Path | None = None) -> Forecast:
    """Run ``preview``'s plan on virtual time under the assumptions.

    ``assume`` and ``durations`` are keyed by step id or map template id;
    ``store`` is a run store folder whose succeeded runs of the same pack
    give history durations.  Raises AssumptionError for what does not fit.
    """
    plan = preview.plan
    steps = plan_steps(plan)
    assumptions = check_assumptions(plan, assume, durations, steps)
    history = None
    if store is not None:
        from core.forecast.history import history_durations
        history = history_durations(store, plan.pack_name)
    seconds: dict[str, float] = {}
    timing = step_durations(plan, assumptions, history, steps, seconds)
    run = VirtualRun(plan, assumptions, seconds, steps)
    run.drive()
    by_id = _step_forecasts(steps, run, timing)
    return Forecast(
        assumptions=assumptions.given,
        outcome=run.scheduler.status if run.scheduler.status in ("succeeded", "failed") else WAITING,
        duration=run.ended_at,
        critical_path=critical_path(run.graph, by_id),
        steps=tuple(by_id.values()),
        backoff_seconds=plan.failure_policy.backoff_seconds,
    )


def _step_forecasts(steps: list[PlannedStep], run: VirtualRun,
                    timing: dict[str, tuple[float, str]]) -> dict[str, StepForecast]:
    """Each step's forecast by id, in the preview's order (what the critical path reads: no second
    pass over 10,000 steps to index them)."""
    states, waiting = run.scheduler.states, run.scheduler.waiting
    traces, when_assumed, gate_since = run.traces, run.when_assumed, run.gate_since
    tolerant_blocks = {step.id for step in steps if step.continue_on_error}
    result: dict[str, StepForecast] = {}
    for planned in steps:  # the preview's order
        step_id, parent = planned.id, planned.parent
        state = states[step_id]
        attempts = traces.get(step_id, ())
        status = state.status
        if status == SUCCEEDED:  # nearly every step: no _status call, no gate lookup
            result[step_id] = StepForecast(step_id, planned.kind, parent, SUCCEEDED, attempts, timing[step_id][1],
                                           step_id in when_assumed, state.reason, None)
            continue
        # a parent comes before its children: its forecast is made (no dict of statuses for every step)
        status = _status(status, state.reason, result[parent].status if parent else None,
                         parent in tolerant_blocks, step_id in waiting, bool(attempts))
        result[step_id] = StepForecast(
            step_id, planned.kind, parent, status, attempts, timing[step_id][1], step_id in when_assumed,
            state.reason, gate_since.get(step_id) if status == WAITING else None)
    return result


def _status(status: str, reason: str | None, parent_status: str | None, tolerant: bool,
            waiting: bool, started: bool) -> str:
    """The forecast status of a step from the scheduler's (see the issue's table of statuses).

    A step skipped after attempts (its block stopped while it waited for a retry) stays
    ``skipped``: it was reached, so it is not ``not-reached``.
    """
    if status == SUCCEEDED:
        return SUCCEEDED
    if status == FAILED:
        return TOLERATED if tolerant else FAILED
    if status == SKIPPED:
        if parent_status in (NOT_REACHED, SKIPPED):
            return parent_status
        if not started and (reason == ABORTED or (reason or "").startswith("block '")):
            return NOT_REACHED
        return SKIPPED
    if status == PENDING:
        return WAITING if waiting else NOT_REACHED
    if status == RUNNING:
        return WAITING  # a block the run paused inside
    return status
