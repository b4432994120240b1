"""A forecast as text: one row per step, attempts as bars on a time axis, and the outcome line.

::

    TIMELINE         0 s                                   1 min 2 s
    prepare          #
    flaky            x....#
    ...

``#`` an attempt that succeeded, ``x`` one that failed, ``.`` the wait
between two attempts (backoff, a queue), ``?`` a gate still waiting.
"""

from __future__ import annotations

import math

from core.forecast.model import WAITING, Forecast

WIDTH = 60


def format_seconds(seconds: float) -> str:
    """``0 s``, ``1.5 s``, ``2 min 5 s``, ``1 h 30 min``: what a time axis label says."""
    if seconds < 60:
        text = f"{seconds:.3f}".rstrip("0").rstrip(".")
        return f"{text} s"
    if seconds < 3600:
        minutes, rest = divmod(round(seconds), 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, rest = divmod(round(seconds / 60), 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def _bar(step, scale: float, width: int) -> str:
    cells = [" "] * width

    def column(seconds: float) -> int:
        return min(width - 1, int(math.floor(seconds / scale))) if scale else 0

    previous_end = None
    for attempt in step.attempts:
        if attempt.result is None:
            continue
        first, last = column(attempt.start), column(max(attempt.start, attempt.end - 1e-9))
        if previous_end is not None:
            for index in range(column(previous_end), first):
                cells[index] = "." if cells[index] == " " else cells[index]
        mark = "#" if attempt.result == "succeeded" else "x"
        for index in range(first, last + 1):
            cells[index] = mark
        previous_end = attempt.end
    if step.status == WAITING and step.waiting_since is not None:
        cells[column(step.waiting_since)] = "?"
    return "".join(cells).rstrip()


def render_timeline(forecast: Forecast, depth: dict[str, int] | None = None, width: int = WIDTH) -> str:
    """The text timeline and the outcome line (``depth`` indents step ids under their blocks)."""
    depth = depth or {}
    scale = forecast.duration / width if forecast.duration > 0 else 0.0
    labels = ["  " * depth.get(step.id, 0) + step.id for step in forecast.steps]
    label_width = max([len(label) for label in labels] + [len("TIMELINE")])
    end_label = format_seconds(forecast.duration)
    axis = "0 s".ljust(max(width - len(end_label), 4)) + end_label
    lines = ["TIMELINE".ljust(label_width) + "  " + axis]
    for label, step in zip(labels, forecast.steps):
        bar = _bar(step, scale, width)
        lines.append((label.ljust(label_width) + "  " + bar.ljust(width) + "  " + step.status).rstrip())
    lines.append("")
    lines.append(outcome_line(forecast))
    return "\n".join(lines) + "\n"


def outcome_line(forecast: Forecast) -> str:
    assumed = _abbreviated([f"{step}={outcome}" for step, outcome in forecast.assumptions.items()], ", ") or "none"
    verb = {"succeeded": "succeeds", "failed": "fails", "waiting": "waits at a gate"}[forecast.outcome]
    when = "after" if forecast.outcome != "waiting" else "from"
    path = _abbreviated(forecast.critical_path, " -> ") if forecast.critical_path else "none"
    return (f"forecast: the run {verb} {when} {format_seconds(forecast.duration)}  ·  assumed: {assumed}  ·  "
            f"critical path: {path}")


SHOWN_AT_EACH_END = 4


def _abbreviated(items, separator: str) -> str:
    """All of a short list; of a long one (a 10k-step pack's critical path has ~2,000 steps) the first and
    last few around how many were left out, so the line stays one readable line (the JSON has them all)."""
    items = list(items)
    if len(items) <= 2 * SHOWN_AT_EACH_END + 1:
        return separator.join(items)
    left_out = len(items) - 2 * SHOWN_AT_EACH_END
    return separator.join([*items[:SHOWN_AT_EACH_END], f"… {left_out:,} more …", *items[-SHOWN_AT_EACH_END:]])
