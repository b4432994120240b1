"""Why a run differs from its forecast, step by step, in words for the Details panel.

``explain(forecast, snapshot)`` maps each step id whose actual course
differs from the forecast to one sentence, e.g. "succeeded on attempt 2;
the forecast assumed 1" or "skipped: `when` was false at run time (the
forecast took it as true)".  Steps that went as forecast, or have not
finished yet, are left out.
"""

from __future__ import annotations

from core.forecast.model import Forecast, StepForecast
from core.forecast.spans import actual_spans
from core.forecast.timeline import format_seconds

TIME_TOLERANCE = 0.5  # seconds of drift not worth a sentence


def _attempts(count: int) -> str:
    return f"{count} attempt{'s' if count != 1 else ''}"


def _explain_step(predicted: StepForecast, status: str, reason: str | None, spans: list) -> str | None:
    tried = len(spans)
    expected = len(predicted.attempts)
    if status == "skipped" and predicted.status not in ("skipped", "not-reached"):
        if predicted.when_assumed and (reason or "").startswith("when is false"):
            return "skipped: `when` was false at run time (the forecast took it as true)"
        return f"skipped ({reason or 'no reason given'}); the forecast expected it to run"
    if status == "succeeded" and predicted.status == "succeeded" and tried != expected and expected:
        return f"succeeded on attempt {tried}; the forecast assumed {expected}"
    if status == "succeeded" and predicted.status in ("failed", "tolerated"):
        return f"succeeded on attempt {tried}; the forecast assumed it fails ({_attempts(expected)})"
    if status == "failed" and predicted.status == "succeeded":
        return f"failed after {_attempts(tried)}; the forecast assumed it succeeds"
    if status in ("succeeded", "failed") and spans and predicted.attempts:
        took = spans[-1].end - spans[-1].start
        assumed = predicted.attempts[-1].end - predicted.attempts[-1].start
        if abs(took - assumed) > TIME_TOLERANCE:
            source = {"given": "given", "sleep": "its sleep", "history": "past runs",
                      "none": "no duration known"}[predicted.duration_source]
            return f"took {format_seconds(took)}; the forecast assumed {format_seconds(assumed)} ({source})"
        late = spans[0].start - predicted.attempts[0].start
        if late > TIME_TOLERANCE:
            return f"started {format_seconds(late)} later than forecast: steps before it took longer"
    return None


def explain(forecast: Forecast, snapshot: dict) -> dict[str, str]:
    """Step id -> why its actual course differs from the forecast (only steps that differ)."""
    spans, _ = actual_spans(snapshot)
    actual: dict[str, tuple[str, str | None]] = {}
    stack = list(snapshot.get("steps", ()))
    while stack:
        step = stack.pop()
        actual[step["stepId"]] = (step["status"], step.get("statusReason"))
        stack.extend(step.get("children", ()))
    reasons = {}
    for predicted in forecast.steps:
        if predicted.id not in actual:
            continue
        status, reason = actual[predicted.id]
        sentence = _explain_step(predicted, status, reason, spans.get(predicted.id, []))
        if sentence:
            reasons[predicted.id] = sentence
    return reasons
