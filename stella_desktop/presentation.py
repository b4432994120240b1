"""How status text reads: plurals, durations, retry countdowns and journal lines.

One formatter for each thing shown in two places: the app (canvas notes,
results table, details, banner, status bar, runs browser) and the CLI (run
tables and progress lines) call these functions, so "retry in 3 s",
"1 problem" and "2.4 s" read the same everywhere.  Pure Python: the CLI
imports it without Qt.
"""

from __future__ import annotations

from datetime import datetime, timezone

from core.execution.clock import parse_iso


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``plural(1, "problem")`` -> "1 problem"; ``plural(2, "run")`` -> "2 runs"."""
    return f"{count} {noun if count == 1 else (many or noun + 's')}"


def duration(seconds: float | None) -> str:
    """A short, readable duration: "850 ms", "2.4 s", "1 min 05 s", "2 h 03 min"."""
    if seconds is None:
        return ""
    seconds = max(0.0, seconds)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def retry_countdown(next_attempt_at: datetime | None, now: datetime | None = None, precise: bool = False) -> str:
    """ "retry in 3 s" while a retry waits, "retrying now" once its time has come."""
    if next_attempt_at is None:
        return ""
    now = now or datetime.now(timezone.utc)
    seconds = (next_attempt_at - now).total_seconds()
    if seconds <= 0:
        return "retrying now"
    return f"retry in {seconds:.1f} s" if precise else f"retry in {seconds:.0f} s"


def with_countdown(reason: str | None, next_attempt_at: datetime | None, now: datetime | None = None,
                   precise: bool = False) -> str:
    """A waiting step's reason led by its countdown ("retry in 3 s; transient")."""
    countdown = retry_countdown(next_attempt_at, now, precise)
    if not countdown:
        return reason or ""
    return f"{countdown}; {reason}" if reason else countdown


def status_counts(statuses) -> str:
    """ "3 pending  1 skipped": how many steps have each status, sorted by status."""
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return "  ".join(f"{n} {s}" for s, n in sorted(counts.items()))


def problems_heading(count: int, about_inputs: bool) -> str:
    """ "1 input problem" for values the user typed, "This pack has 2 problems" for the manifest."""
    if about_inputs:
        return plural(count, "input problem")
    return f"This pack has {plural(count, 'problem')}"


def describe(record: dict) -> str:
    """One line for a journal record, for the app's run log, details and the CLI's progress lines."""
    kind = record["type"]
    if kind == "transition":
        text = f"{record['stepId']}: {record['from']} -> {record['to']}"
        if record["to"] == "running":
            text += f" (attempt {record['attempt']})"
        if record.get("reason"):
            text += f": {record['reason']}"
        if record.get("nextAttemptAt"):
            text += f"; next attempt at {record['nextAttemptAt']}"
        return text
    if kind == "run":
        return f"run {record['status']}" + (f": {record['reason']}" if record.get("reason") else "")
    if kind == "gate":
        return f"{record['stepId']}: {record['reason']}" + (
            f" (expires {record['expiresAt']})" if record.get("expiresAt") else "")
    if kind == "approval":
        return f"approval {record['approvalId']} {record['status']}" + (
            f" by {record['decidedBy']}" if record.get("decidedBy") else "")
    if kind == "policy":
        return f"{record['stepId']}: policy {record['decision']} by {record.get('decidedBy')}"
    if kind == "expand":
        return f"{record['stepId']}: {plural(len(record['items']), 'item')} known at run time"
    return str(record)


class StepTimes:
    """How long each attempt of each step ran, fed one journal record at a time."""

    def __init__(self, records: list[dict] = ()):
        self.attempts: dict[str, list[float]] = {}
        self._started: dict[str, datetime] = {}
        for record in records:
            self.feed(record)

    def feed(self, record: dict) -> str | None:
        """Take a record; return the step whose times changed, if any."""
        if record.get("type") != "transition":
            return None
        step_id, at = record.get("stepId"), parse_iso(record.get("at"))
        if record["to"] == "running" and at is not None:
            self._started[step_id] = at
        elif record["from"] == "running" and step_id in self._started and at is not None:
            started = self._started.pop(step_id)
            self.attempts.setdefault(step_id, []).append((at - started).total_seconds())
            return step_id
        return None

    def total(self, step_id: str) -> float | None:
        """Seconds the step's attempts ran in all (None before its first attempt ended)."""
        times = self.attempts.get(step_id)
        return sum(times) if times else None


def attempt_durations(records: list[dict], step_id: str) -> list[float]:
    """Seconds each attempt of ``step_id`` ran, from the journal's running -> end transitions."""
    return StepTimes([r for r in records if r.get("stepId") == step_id]).attempts.get(step_id, [])


def step_elapsed(records: list[dict], step_id: str) -> float | None:
    """Seconds from a step's first start to its last end (waits between retries included)."""
    first = last = None
    for record in records:
        if record.get("type") != "transition" or record.get("stepId") != step_id:
            continue
        at = parse_iso(record.get("at"))
        if record["to"] == "running" and first is None:
            first = at
        if record["from"] == "running":
            last = at
    if first is None or last is None:
        return None
    return (last - first).total_seconds()


def run_elapsed(created_at: str | None, updated_at: str | None) -> float | None:
    """Seconds between a run's creation and its last change (for the runs browser and the CLI)."""
    start, end = parse_iso(created_at), parse_iso(updated_at)
    if start is None or end is None:
        return None
    return (end - start).total_seconds()
