"""Forecasts: what a run would do under chosen assumptions, on virtual time (pure Python, no Qt).

The real scheduler drives the plan on a fake clock with stand-in executors
(:mod:`core.forecast.engine`), so a forecast and a run never disagree on
semantics.  Importing this package imports the execution machinery: the
plain ``simulate`` path imports it only when a forecast is asked for.
"""

from core.forecast.assumptions import AssumptionError, Outcome, check_assumptions, outcomes_for, split_pair
from core.forecast.build import forecast, step_durations
from core.forecast.model import Attempt, Forecast, StepForecast
from core.forecast.timeline import format_seconds, render_timeline

__all__ = [
    "AssumptionError", "Attempt", "Forecast", "Outcome", "StepForecast", "check_assumptions", "forecast",
    "format_seconds", "outcomes_for", "render_timeline", "split_pair", "step_durations",
]
