"""What the canvas paints for a forecast: each step's forecast status and a short note.

A failure assumed somewhere shows what it takes down: the steps it leaves
``not reached`` are painted as such, a failure a ``continueOnError`` block
absorbs as ``tolerated``.  Plain data, like :mod:`stella_desktop.step_status`.
"""

from __future__ import annotations

from core.forecast import Forecast
from core.forecast.timeline import format_seconds
from stella_desktop.step_status import StepView

_WAITING = {"gate.approval": "requires-approval", "gate.policy": "requires-policy"}


def from_forecast(forecast: Forecast) -> tuple[dict[str, StepView], dict[str, str]]:
    """(step id -> StepView, step id -> note) for the canvas's setters."""
    views: dict[str, StepView] = {}
    notes: dict[str, str] = {}
    for step in forecast.steps:
        status = _WAITING.get(step.kind, "requires-approval") if step.status == "waiting" else step.status
        views[step.id] = StepView(status, f"forecast: {step.status}", len(step.attempts))
        note = ""
        if step.attempts and step.attempts[-1].result is not None:
            note = f"ends {format_seconds(step.attempts[-1].end)}"
            if len(step.attempts) > 1:
                note = f"{len(step.attempts)} attempts, {note}"
        elif step.status == "waiting":
            note = f"waits from {format_seconds(step.waiting_since or 0)}"
        if step.when_assumed:
            note = f"{note}; when assumed true" if note else "when assumed true"
        if note:
            notes[step.id] = note
    return views, notes
