"""What the app shows for each step: from a simulation preview or from a live run.

Plain data (no Qt), so workers can build it and widgets only read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from core.execution.scheduler import AWAITING_APPROVAL, AWAITING_POLICY, RUN_STOPPED, RUN_WAITING, Scheduler
from core.simulation import SimulationPreview
from stella_desktop.presentation import retry_countdown


@dataclass(frozen=True)
class StepView:
    status: str
    reason: str | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = None


def from_preview(preview: SimulationPreview) -> dict[str, StepView]:
    return {step.id: StepView(step.status, step.status_reason) for step in preview.walk()}


def from_run(scheduler: Scheduler) -> dict[str, StepView]:
    views = {}
    for step_id, state in scheduler.states.items():
        views[step_id] = step_view(scheduler, step_id)
    return views


def step_view(scheduler: Scheduler, step_id: str) -> StepView:
    state = scheduler.states[step_id]
    status = state.status
    if status == "pending" and state.next_attempt_at is not None:
        status = "retry-waiting"
    elif status == "pending" and step_id in scheduler.waiting:
        status = "requires-approval" if state.reason == AWAITING_APPROVAL else "requires-policy"
    elif status == "pending" and state.reason == AWAITING_POLICY:
        status = "requires-policy"
    elif status == "running" and scheduler.status in RUN_STOPPED:
        # a block keeps "running" in the journal (a resume carries on inside it); nothing runs now
        return StepView("pending", f"interrupted: run {scheduler.status}", state.attempts, state.next_attempt_at)
    elif status == "running" and scheduler.status == RUN_WAITING:
        return _paused_block(scheduler, step_id, state)
    return StepView(status, state.reason, state.attempts, state.next_attempt_at)


def _paused_block(scheduler: Scheduler, step_id: str, state) -> StepView:
    """A block still open in a paused run: nothing inside runs, a gate inside waits for a decision."""
    gates = sorted(gate for gate in scheduler.waiting if _inside(scheduler, gate, step_id))
    if not gates:
        return StepView("pending", "paused: the run waits at a gate", state.attempts, state.next_attempt_at)
    approval = any(scheduler.states[gate].reason == AWAITING_APPROVAL for gate in gates)
    return StepView("requires-approval" if approval else "requires-policy",
                    "paused: waiting at " + ", ".join(gates), state.attempts, state.next_attempt_at)


def _inside(scheduler: Scheduler, step_id: str, block_id: str) -> bool:
    parent = scheduler.graph.parent(step_id)
    while parent is not None:
        if parent == block_id:
            return True
        parent = scheduler.graph.parent(parent)
    return False


def countdown_notes(views: dict[str, StepView], now: datetime | None = None) -> dict[str, str]:
    """Short notes drawn under a step: the retry countdown, or which attempt is running."""
    now = now or datetime.now(timezone.utc)
    notes = {}
    for step_id, view in views.items():
        if view.status == "retry-waiting" and view.next_attempt_at is not None:
            notes[step_id] = retry_countdown(view.next_attempt_at, now)
        elif view.attempts > 1:
            notes[step_id] = f"attempt {view.attempts}"
    return notes
