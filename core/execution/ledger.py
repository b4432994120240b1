"""The scheduler's state and the records that change it: the journal's side of the scheduler.

Every change to a run is a *record* (a JSON-ready dict): a step transition, a
gate starting to wait, an approval or policy decision, a run-time map
expansion, a run status change.  :meth:`Ledger._apply` is the only code that
changes state and it does so from records alone, so replaying a journal
rebuilds exactly the state that wrote it (:meth:`Ledger.replay`).  Each new
record is redacted, checked and handed to ``sink`` (the run store) *before*
anything that depends on it happens.

What to record, and when, is decided by :class:`~core.execution.scheduler.Scheduler`
(which is a ledger); this module only writes and applies.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime
from typing import Callable

from core.execution.clock import Clock, iso, iso_at, parse_iso
from core.execution.redaction import Redactor
from core.execution.state import (
    ALLOWED, FAILED, PENDING, RUNNING, SKIPPED, SUCCEEDED, TERMINAL, StepState, Transition,
)
from core.graph import ExecutionGraph
from core.plan import BLOCK_KINDS, Plan, PlannedStep

RUN_PENDING, RUN_RUNNING, RUN_WAITING = "pending", "running", "waiting"
RUN_SUCCEEDED, RUN_FAILED, RUN_CANCELLED = "succeeded", "failed", "cancelled"
RUN_INTERRUPTED = "interrupted"  # its driver stopped (server shutdown); resumable like a cancelled run
RUN_FINAL = frozenset({RUN_SUCCEEDED, RUN_FAILED})
RUN_STOPPED = frozenset({RUN_CANCELLED, RUN_INTERRUPTED})

Expander = Callable[[PlannedStep, list, int], tuple]


class Ledger:
    """What a run's records say: step states, run status, approvals, decisions, outputs, queues."""

    def __init__(self, plan: Plan, graph: ExecutionGraph, clock: Clock, *,
                 sink: Callable[[dict], None] | None = None, secrets: dict[str, str] | None = None,
                 expand: Expander | None = None, transition_records: bool = True):
        self.plan = plan
        # False for a run nobody journals or reads the transitions of (a forecast's virtual run): a step's
        # change is applied without its record being made (other records, a few, are still kept)
        self._transition_records = transition_records
        self.graph = graph
        self.clock = clock
        self.sink = sink
        self.on_applied: Callable[[dict], None] | None = None  # told of each record once it is in effect
        self.secrets = secrets or {}
        self.redactor = Redactor(self.secrets)
        self._redacting = bool(self.redactor)  # a run without secrets has nothing to redact
        self.expand = expand
        self.policy = plan.failure_policy
        self.records: list[dict] = []
        self.status = RUN_PENDING
        self.states: dict[str, StepState] = {step_id: StepState() for step_id in graph.order()}
        self.approvals: dict[str, dict] = {
            approval_id: {"id": approval_id, "status": "pending", "decidedBy": None, "decidedAt": None,
                          "reason": None, "expiresAt": None}
            for approval_id in plan.approvals
        }
        self.policy_decisions: dict[str, dict] = {}
        self.waiting: dict[str, datetime | None] = {}  # gate id -> when its approval expires
        self.outputs: dict[str, dict] = {}
        self._steps_context: dict[str, dict] = {}  # what templates read as steps.<id>.outputs
        self.aborted = False
        self._queues: dict[str | None, deque[str]] = {None: deque(graph.top_level()[:1])}
        self._running_children: dict[str | None, int] = {}
        self._open_children: dict[str, int] = {}
        self._stopping: set[str] = set()
        self._to_settle: set[str] = set()
        self._running: set[str] = set()  # run steps and gates now running (blocks excluded)
        self._retrying: set[str] = set()  # pending steps with a retry window
        self._expansions: dict[str, tuple] = {}
        self._top_index: dict[str, int] | None = None

    # -- records: the only way state changes ------------------------------------
    def _emit(self, record: dict, event: Transition | None = None) -> None:
        """Redact, check, store, then apply: if storing fails, memory still matches the disk.

        Every record passes through redaction here, whatever built it (an
        executor's output, an expression error quoting a value, a person's
        reason), so no secret value is stored, applied or shown.
        """
        redacted = self.redactor.redact(record)
        if redacted is not record:
            record = redacted
            event = Transition.from_json(record) if event is not None else None
        if event is not None:
            self._store_transition(record, event, self.states[event.step_id])
            return
        if self.sink is not None:
            self.sink(record)
        self._apply(record)
        if self.on_applied is not None:
            self.on_applied(record)

    def _store_transition(self, record: dict, event: Transition, state: StepState) -> None:
        """:meth:`_emit`'s check, store and apply of a redacted transition record."""
        state.check(event)
        if self.sink is not None:
            self.sink(record)
        self.records.append(record)
        self._apply_transition(event, state)  # checked just above: applied without checking twice
        if self.on_applied is not None:
            self.on_applied(record)

    def replay(self, records: list[dict]) -> None:
        """Rebuild state from a journal (no sink calls)."""
        for record in records:
            self._apply(record)

    def _apply(self, record: dict, event: Transition | None = None) -> None:
        kind = record["type"]
        self.records.append(record)
        if kind == "transition":
            self._apply_transition(event or Transition.from_json(record))
        elif kind == "run":
            self.status = record["status"]
        elif kind == "gate":
            self.waiting[record["stepId"]] = parse_iso(record.get("expiresAt"))
            self.states[record["stepId"]].reason = record["reason"]
            approval_id = self.graph.step(record["stepId"]).approval_id
            if approval_id and record.get("expiresAt") and self.approvals[approval_id]["expiresAt"] is None:
                self.approvals[approval_id]["expiresAt"] = record["expiresAt"]
        elif kind == "approval":
            approval = self.approvals[record["approvalId"]]
            approval.update(status=record["status"], decidedBy=record.get("decidedBy"),
                            decidedAt=record["at"], reason=record.get("reason"))
        elif kind == "policy":
            self.policy_decisions[record["stepId"]] = {
                "stepId": record["stepId"], "decision": record["decision"], "decidedBy": record.get("decidedBy"),
                "decidedAt": record["at"], "reason": record.get("reason"),
            }
        elif kind == "expand":
            self._apply_expand(record)
        else:
            raise ValueError(f"unknown record type '{kind}'")

    def _apply_expand(self, record: dict) -> None:
        map_step = self.graph.step(record["stepId"])
        children = self._expansions.pop(map_step.id, None)
        if children is None:
            children = self.expand(map_step, record["items"], len(self.states)) if self.expand else ()
        self.graph.expand(map_step.id, children)
        for child in children:
            for step in child.walk():
                self.states[step.id] = StepState()

    def _apply_transition(self, event: Transition, checked: StepState | None = None) -> None:
        """Apply ``event``; ``checked`` is the step's state when the event was just checked against it."""
        state = checked
        if state is None:
            state = self.states[event.step_id]
            state.check(event)
        self._apply_change(state, event.step_id, event.to_status, event.attempt, event.reason, event.next_attempt_at,
                           event.at, event.outputs)

    def _apply_change(self, state: StepState, step_id: str, to_status: str, attempt: int, reason: str | None,
                      next_attempt_at: datetime | None, at: datetime, outputs: dict | None) -> None:
        """A checked transition of ``step_id`` (whose state is ``state``), from its fields."""
        step = self.graph.step(step_id)
        was_running = state.status == RUNNING
        state.change(to_status, attempt, reason, next_attempt_at, at, outputs)
        parent = step.parent
        is_block = step.kind in BLOCK_KINDS
        if to_status == RUNNING:
            running_children = self._running_children
            running_children[parent] = running_children.get(parent, 0) + 1
            if self._retrying:
                self._retrying.discard(step_id)
            if self.waiting:
                self.waiting.pop(step_id, None)
            if not is_block:
                self._running.add(step_id)
            else:  # a block started again after a stop keeps what its children did
                states = self.states
                open_children = [c.id for c in step.children if states[c.id].status not in TERMINAL]
                self._open_children[step_id] = len(open_children)
                self._queues[step_id] = deque(open_children)
                if not open_children:
                    self._to_settle.add(step_id)
                if not step.continue_on_error and any(states[c.id].status == FAILED for c in step.children):
                    self._stopping.add(step_id)
            return
        if not is_block:
            self._running.discard(step_id)
        if to_status == PENDING and next_attempt_at is not None:
            self._retrying.add(step_id)
        elif self._retrying:
            self._retrying.discard(step_id)
        if was_running:
            self._running_children[parent] -= 1
            if to_status == PENDING:  # a retry or an interrupted step goes first
                self._queues.setdefault(parent, deque()).appendleft(step_id)
        if to_status in TERMINAL:
            if to_status == SUCCEEDED and outputs is not None:
                self.outputs[step_id] = outputs
                self._steps_context[step_id] = {"outputs": outputs}
            if self.waiting:
                self.waiting.pop(step_id, None)
            self._on_terminal(step, to_status)

    def _on_terminal(self, step: PlannedStep, status: str) -> None:
        parent = step.parent
        if parent is None:
            if status == FAILED:
                self.aborted = True
            else:
                self._enqueue_next_top(step.id)
            return
        if self.states[parent].status != RUNNING:
            return  # skipped together with its (skipped) block
        if status == FAILED and not self.graph.step(parent).continue_on_error:
            self._stopping.add(parent)
        self._open_children[parent] -= 1
        if self._open_children[parent] == 0 or parent in self._stopping:
            self._to_settle.add(parent)

    def _enqueue_next_top(self, step_id: str) -> None:
        top = self.graph.top_level()
        if self._top_index is None:  # a dict, not top.index(): a pack of many top-level steps was quadratic
            self._top_index = {top_id: position for position, top_id in enumerate(top)}
        index = self._top_index[step_id]
        if index + 1 < len(top):
            self._queues[None].append(top[index + 1])

    # -- transitions made by decisions ----------------------------------------
    def _transition(self, step_id: str, to_status: str, reason: str | None = None, *,
                    attempt: int | None = None, next_attempt_at: datetime | None = None,
                    outputs: dict | None = None, at: datetime | None = None) -> None:
        state = self.states[step_id]
        from_status = state.status
        if attempt is None:
            attempt = state.attempts + 1 if from_status == PENDING and to_status == RUNNING else state.attempts
        if at is None:
            at = self.clock.now()
        if (from_status, to_status) not in ALLOWED:  # raises IllegalTransition, worded as everywhere else
            state.check(Transition(at, step_id, from_status, to_status, attempt, reason, next_attempt_at, outputs))
        if not (self._transition_records or self._redacting or self.sink is not None or self.on_applied is not None):
            self._apply_change(state, step_id, to_status, attempt, reason, next_attempt_at, at, outputs)
            return
        # Transition.to_json inline, "type" first: one dict per record, not two (same keys, same order)
        record = {"type": "transition", "at": iso_at(at), "stepId": step_id, "from": from_status, "to": to_status,
                  "attempt": attempt, "reason": reason,
                  "nextAttemptAt": None if next_attempt_at is None else iso_at(next_attempt_at)}
        if outputs is not None:
            record["outputs"] = outputs
        if self._redacting and self.redactor.redact(record) is not record:
            # the general path redacts the record and rebuilds the event from it
            self._emit(record, Transition(at, step_id, from_status, to_status, attempt, reason, next_attempt_at,
                                          outputs))
            return
        # _store_transition inline (the path of nearly every record): store, apply, tell
        if self.sink is not None:
            self.sink(record)
        self.records.append(record)
        self._apply_change(state, step_id, to_status, attempt, reason, next_attempt_at, at, outputs)
        if self.on_applied is not None:
            self.on_applied(record)

    def _set_run_status(self, status: str, reason: str | None = None) -> None:
        if status != self.status:
            self._emit({"type": "run", "at": iso(self.clock.now()), "status": status, "reason": reason})

    def _skip_subtree(self, step_id: str, reason: str) -> None:
        for step in self.graph.step(step_id).walk():
            if self.states[step.id].status == PENDING:
                self._transition(step.id, SKIPPED, reason if step.id == step_id else
                                 f"parent '{step_id}' is skipped")
