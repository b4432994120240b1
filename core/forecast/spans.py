"""Timeline rows as plain data: a forecast's attempts, a run's actual attempts, or both.

What a Gantt chart draws, computed without Qt: one :class:`TimelineRow` per
step (depth for indenting, status, its attempts as :class:`Span` s on a time
axis in seconds), with the forecast's spans kept as *ghosts* behind a run's
actual ones, and the critical path marked.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.execution.clock import parse_iso
from core.forecast.model import Forecast


@dataclass(frozen=True)
class Span:
    start: float
    end: float
    result: str  # succeeded | failed | running | waiting (a gate never decided)


@dataclass(frozen=True)
class TimelineRow:
    step_id: str
    depth: int
    kind: str
    status: str
    spans: tuple[Span, ...] = ()
    ghosts: tuple[Span, ...] = ()
    critical: bool = False

    @property
    def waits(self) -> tuple[tuple[float, float], ...]:
        """The gaps between consecutive attempts (backoff, or a queue): drawn hatched."""
        return tuple((a.end, b.start) for a, b in zip(self.spans, self.spans[1:]) if b.start > a.end)


def _depths(steps) -> dict[str, int]:
    depth: dict[str, int] = {}
    for step in steps:
        depth[step.id] = depth[step.parent] + 1 if step.parent in depth else 0
    return depth


def rows_from_forecast(forecast: Forecast) -> list[TimelineRow]:
    depth = _depths(forecast.steps)
    critical = set(forecast.critical_path)
    rows = []
    for step in forecast.steps:
        spans = tuple(Span(a.start, a.end, a.result) for a in step.attempts if a.result is not None)
        if step.status == "waiting" and step.waiting_since is not None:  # a gate never decided
            spans += (Span(step.waiting_since, max(forecast.duration, step.waiting_since), "waiting"),)
        rows.append(TimelineRow(step.id, depth[step.id], step.kind, step.status, spans,
                                critical=step.id in critical))
    return rows


def actual_spans(snapshot: dict) -> tuple[dict[str, list[Span]], float]:
    """Each step's attempts in a run snapshot (seconds from the run's first start), and the run's length.

    An attempt still running ends at the snapshot's ``updatedAt``.
    """
    events = snapshot.get("events") or []
    if not events:
        return {}, 0.0
    origin = parse_iso(next((e["at"] for e in events if e["to"] == "running"), events[0]["at"]))
    updated = parse_iso(snapshot.get("updatedAt") or events[-1]["at"])

    def seconds(text: str) -> float:
        return max((parse_iso(text) - origin).total_seconds(), 0.0)

    spans: dict[str, list[Span]] = {}
    open_since: dict[str, float] = {}
    for event in events:
        if event["to"] == "running":
            open_since[event["stepId"]] = seconds(event["at"])
        elif event["from"] == "running" and event["stepId"] in open_since:
            result = "succeeded" if event["to"] == "succeeded" else "failed"
            spans.setdefault(event["stepId"], []).append(Span(open_since.pop(event["stepId"]),
                                                              seconds(event["at"]), result))
    end = max((updated - origin).total_seconds(), 0.0)
    for step_id, start in open_since.items():
        spans.setdefault(step_id, []).append(Span(start, max(end, start), "running"))
    return spans, end


def rows_from_run(snapshot: dict, forecast: Forecast | None = None) -> list[TimelineRow]:
    """A run's actual attempts, with the forecast's behind them as ghosts when there is one."""
    spans, _ = actual_spans(snapshot)
    ghosts = {row.step_id: row for row in rows_from_forecast(forecast)} if forecast else {}
    rows: list[TimelineRow] = []

    def add(step: dict, depth: int) -> None:
        ghost = ghosts.get(step["stepId"])
        rows.append(TimelineRow(step["stepId"], depth, step["kind"], step["status"],
                                tuple(spans.get(step["stepId"], ())), ghost.spans if ghost else (),
                                ghost.critical if ghost else False))
        for child in step.get("children", ()):
            add(child, depth + 1)

    for step in snapshot.get("steps", ()):
        add(step, 0)
    return rows


def rows_length(rows: list[TimelineRow]) -> float:
    """The time the rows cover (actual and ghost spans)."""
    return max((span.end for row in rows for span in row.spans + row.ghosts), default=0.0)
