"""Status text has one formatter each, shared by the app and the CLI."""

from datetime import datetime, timedelta, timezone

from stella_desktop.cli.run_table import render_run_list
from stella_desktop.presentation import (
    StepTimes, attempt_durations, duration, plural, problems_heading, retry_countdown, with_countdown,
)

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_plurals():
    assert [plural(n, "problem") for n in (0, 1, 2)] == ["0 problems", "1 problem", "2 problems"]
    assert plural(1, "run") == "1 run" and plural(3, "entry", "entries") == "3 entries"
    assert problems_heading(1, about_inputs=True) == "1 input problem"
    assert problems_heading(2, about_inputs=False) == "This pack has 2 problems"


def test_durations_read_at_every_scale():
    assert [duration(s) for s in (0.25, 2.44, 42, 65, 7380)] == ["250 ms", "2.4 s", "42 s", "1 min 05 s", "2 h 03 min"]
    assert duration(None) == ""


def test_retry_countdown_and_reason():
    later = NOW + timedelta(seconds=3.2)
    assert retry_countdown(later, NOW) == "retry in 3 s"
    assert retry_countdown(later, NOW, precise=True) == "retry in 3.2 s"
    assert retry_countdown(NOW - timedelta(seconds=1), NOW) == "retrying now"
    assert with_countdown("transient", later, NOW) == "retry in 3 s; transient"
    assert with_countdown("transient", None, NOW) == "transient"


def _transition(step, old, new, seconds):
    at = (NOW + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")
    return {"type": "transition", "stepId": step, "from": old, "to": new, "at": at, "attempt": 1}


def test_attempt_durations_from_the_journal():
    records = [_transition("a", "pending", "running", 0), _transition("a", "running", "pending", 1.5),
               _transition("b", "pending", "running", 1), _transition("a", "pending", "running", 4),
               _transition("a", "running", "succeeded", 6)]
    assert attempt_durations(records, "a") == [1.5, 2.0]
    times = StepTimes(records)
    assert times.total("a") == 3.5 and times.total("b") is None


def test_the_cli_run_list_shows_elapsed_time():
    text = render_run_list([{"runId": "r1", "pack": {"name": "p", "version": "1"}, "status": "succeeded",
                             "createdAt": "2026-01-01T00:00:00.000000Z", "updatedAt": "2026-01-01T00:01:05.000000Z"}])
    assert "ELAPSED" in text and "1 min 05 s" in text
