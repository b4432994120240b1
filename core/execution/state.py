"""The step state machine (format document section 9) and nothing else.

::

    pending  -> running     start: attempts += 1
    running  -> succeeded
    running  -> pending     failure with attempts left (nextAttemptAt), or interrupted
    running  -> failed      failure with attempts >= maxAttempts
    pending  -> skipped     disabled (when = false), or never started after an abort

Any other transition raises :class:`IllegalTransition`.  Each transition is
an :class:`Transition` event; :class:`StepState` is what replaying them
gives, so a snapshot can always be rebuilt from the journal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.execution.clock import iso, parse_iso

PENDING = "pending"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
SKIPPED = "skipped"
TERMINAL = frozenset({SUCCEEDED, FAILED, SKIPPED})

ALLOWED = frozenset({
    (PENDING, RUNNING),
    (RUNNING, SUCCEEDED),
    (RUNNING, PENDING),
    (RUNNING, FAILED),
    (PENDING, SKIPPED),
})

INTERRUPTED = "interrupted"


class IllegalTransition(Exception):
    pass


@dataclass(slots=True)
class Transition:
    """One state change of one step, as journalled (treat as read-only).

    Not ``frozen``: a frozen dataclass's ``__init__`` sets each field through
    ``object.__setattr__`` and costs several times as much, which the 20,000
    transitions of a 10,000-step run or forecast feel (``benchmarks``: forecast-10k).
    """

    at: datetime
    step_id: str
    from_status: str
    to_status: str
    attempt: int
    reason: str | None = None
    next_attempt_at: datetime | None = None
    outputs: dict | None = None

    def to_json(self) -> dict:
        record = {
            "at": iso(self.at), "stepId": self.step_id, "from": self.from_status, "to": self.to_status,
            "attempt": self.attempt, "reason": self.reason, "nextAttemptAt": iso(self.next_attempt_at),
        }
        if self.outputs is not None:
            record["outputs"] = self.outputs
        return record

    @staticmethod
    def from_json(record: dict) -> "Transition":
        return Transition(
            at=parse_iso(record["at"]), step_id=record["stepId"], from_status=record["from"],
            to_status=record["to"], attempt=record["attempt"], reason=record.get("reason"),
            next_attempt_at=parse_iso(record.get("nextAttemptAt")), outputs=record.get("outputs"),
        )


@dataclass(slots=True)
class StepState:
    """Where one step is; changed only by :meth:`apply` (slots: one per step, read on every transition)."""

    status: str = PENDING
    attempts: int = 0
    reason: str | None = None
    next_attempt_at: datetime | None = None
    last_transition_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    outputs: dict = field(default_factory=dict)

    def check(self, event: Transition) -> None:
        """Raise IllegalTransition unless ``event`` may happen to this step now."""
        if event.from_status != self.status:
            raise IllegalTransition(f"step '{event.step_id}' is {self.status}, not {event.from_status}")
        if (event.from_status, event.to_status) not in ALLOWED:
            raise IllegalTransition(f"step '{event.step_id}': {event.from_status} -> {event.to_status} "
                                    "is not a transition of the step state machine")

    def apply(self, event: Transition) -> None:
        self.check(event)
        self.apply_checked(event)

    def apply_checked(self, event: Transition) -> None:
        """:meth:`apply` for an event :meth:`check` has just passed (the scheduler checks before storing)."""
        self.change(event.to_status, event.attempt, event.reason, event.next_attempt_at, event.at, event.outputs)

    def change(self, to_status: str, attempt: int, reason: str | None, next_attempt_at: datetime | None,
               at: datetime, outputs: dict | None) -> None:
        """:meth:`apply_checked` from the event's fields (no event object made)."""
        self.status = to_status
        self.attempts = attempt
        self.reason = reason
        self.next_attempt_at = next_attempt_at
        self.last_transition_at = at
        if to_status == RUNNING:
            self.started_at = at
            self.finished_at = None
        elif to_status in TERMINAL:
            self.finished_at = at
        if outputs is not None:
            self.outputs = outputs

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status, "attempts": self.attempts, "statusReason": self.reason,
            "nextAttemptAt": iso(self.next_attempt_at), "lastTransitionAt": iso(self.last_transition_at),
            "startedAt": iso(self.started_at), "finishedAt": iso(self.finished_at), "outputs": self.outputs,
        }
