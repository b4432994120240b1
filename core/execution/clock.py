"""Time for the engine: an injected clock, so tests never sleep.

Times are timezone-aware UTC datetimes, written as ISO-8601 with
microseconds and a ``Z`` (``2026-11-27T07:30:00.123456Z``).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


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


_last_iso: tuple = (None, None)  # (moment, text): a run records many changes at one instant


def iso(moment: datetime | None) -> str | None:
    # isoformat, not strftime: strftime imports a module on every call, which adds up per step
    global _last_iso
    if moment is None:
        return None
    last = _last_iso  # one tuple, read and written whole: safe from any thread
    if last[0] is moment:
        return last[1]
    text = (moment if moment.tzinfo is timezone.utc else moment.astimezone(timezone.utc)).isoformat(
        timespec="microseconds")[:-6] + "Z"  # "+00:00" -> "Z", without a replace()
    _last_iso = (moment, text)
    return text


def parse_iso(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.fromisoformat(text)
