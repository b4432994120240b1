"""Time for the engine: an injected clock, so tests never sleep.

Times are timezone-aware UTC datetimes, written as ISO-8601 with
microseconds and a ``Z`` (``2026-11-27T07:30:00.123456Z``).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    def until(self, moment: datetime) -> float:
        """Real seconds to wait before ``moment`` is here (a fake clock moves there instead)."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def until(self, moment: datetime) -> float:
        return max(0.0, (moment - self.now()).total_seconds())


class FakeClock:
    """A clock that moves only when told to (for tests and simulations of time)."""

    def __init__(self, start: datetime | None = None):
        self._now = start or datetime(2026, 1, 1, tzinfo=timezone.utc)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        self._now += timedelta(seconds=seconds)
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment

    def until(self, moment: datetime) -> float:
        """Jump to ``moment`` (never back): a driver on a fake clock waits for no retry window."""
        self._now = max(self._now, moment)
        return 0.0


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return iso_at(moment)


@lru_cache(maxsize=8192)
def iso_at(moment: datetime) -> str:
    # iso() of a moment that is not None (the scheduler calls it per transition without the wrapper).
    # Cached: a transition's moment is written to the journal, then again as a step's startedAt,
    # finishedAt and lastTransitionAt in every snapshot.  isoformat, not strftime: strftime imports
    # a module on every call, which adds up per step.
    # The text isoformat(timespec="microseconds") gives for the naive UTC moment, plus "Z", formatted
    # from the fields: half the cost of isoformat on an aware datetime (a tested equivalence).
    if moment.tzinfo is not timezone.utc:
        moment = moment.astimezone(timezone.utc)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (
        moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second, moment.microsecond)


def parse_iso(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.fromisoformat(text)
