"""The one place that decides what runs: a synchronous state machine over a plan.

In the manner of dagster's ``ActiveExecution``: the runner asks
:meth:`Scheduler.advance` which steps to start, executes them on threads,
and reports back with :meth:`complete` / :meth:`fail`.  Threads never
decide anything.

Every change is a *record* (a JSON-ready dict): a step transition, a gate
starting to wait, an approval or policy decision, a run-time map expansion,
a run status change.  :meth:`_apply` is the only code that changes state and
it does so from records alone, so replaying a journal rebuilds exactly the
state that wrote it (:meth:`replay`).  Each new record is handed to ``sink``
(the run store) *before* anything that depends on it happens.

Rules (format document sections 5, 8 and 9):

* top-level steps run one after another; a block's children become eligible
  when the block starts; ``maxParallel`` caps running children (maps default
  to 1); nothing starts before its ``nextAttemptAt``;
* a run step that fails with attempts left goes back to ``pending`` with
  ``nextAttemptAt = now + backoffSeconds``; otherwise it fails for good;
* a child failing for good in a block without ``continueOnError`` stops the
  block (unstarted children skipped, the block fails once its running
  children finish); with ``continueOnError`` the failure is tolerated;
* a top-level step failing for good aborts the run: every step not started
  is skipped with reason "run aborted";
* disabled steps, and steps whose run-time ``when`` is false, are skipped
  with everything inside them;
* gates wait in ``pending`` until decided; an approval expires after its
  ``expiresAfter``;
* a stopped run (cancelled or interrupted) has nothing ``running``: once its
  running steps have reported back, its open blocks go back to ``pending``
  (innermost first) and start over, keeping what their children did, when the
  run is resumed.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta
from typing import Any, Callable

from core.execution.clock import Clock, iso, iso_at, parse_iso
from core.execution.redaction import Redactor
from core.execution.state import (
    FAILED, INTERRUPTED, PENDING, RUNNING, SKIPPED, SUCCEEDED, TERMINAL, IllegalTransition, StepState,
    Transition,
)
from core.expressions import ExpressionError, Template, is_truthy
from core.expressions.metered import BudgetExceeded, measure
from core.limits import MAX_PLAN_VALUE_BYTES, MAX_RUN_VALUE_DEPTH
from core.graph import ExecutionGraph
from core.plan import Plan, PlannedStep, RuntimeValue, SecretRef

RUN_PENDING, RUN_RUNNING, RUN_WAITING = "pending", "running", "waiting"
RUN_SUCCEEDED, RUN_FAILED, RUN_CANCELLED = "succeeded", "failed", "cancelled"
RUN_INTERRUPTED = "interrupted"  # its driver stopped (server shutdown); resumable like a cancelled run
RUN_FINAL = frozenset({RUN_SUCCEEDED, RUN_FAILED})
RUN_STOPPED = frozenset({RUN_CANCELLED, RUN_INTERRUPTED})

AWAITING_APPROVAL = "awaiting approval"
AWAITING_POLICY = "awaiting policy decision"
ABORTED = "run aborted"

Expander = Callable[[PlannedStep, list, int], tuple]


class DecisionError(Exception):
    """A decision that does not apply now (unknown approval, gate not waiting...)."""


class Scheduler:
    def __init__(self, plan: Plan, graph: ExecutionGraph, clock: Clock, *,
                 sink: Callable[[dict], None] | None = None, secrets: dict[str, str] | None = None,
                 expand: Expander | None = None):
        self.plan = plan
        self.graph = graph
        self.clock = clock
        self.sink = sink
        self.on_applied: Callable[[dict], None] | None = None  # told of each record once it is in effect
        self.secrets = secrets or {}
        self.redactor = Redactor(self.secrets)
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
        step_id = event.step_id
        to_status = event.to_status
        step = self.graph.step(step_id)
        if checked is not None:
            state = checked
            was_running = state.status == RUNNING
            state.apply_checked(event)
        else:
            state = self.states[step_id]
            was_running = state.status == RUNNING
            state.apply(event)
        parent = step.parent
        is_block = step.is_block
        if to_status == RUNNING:
            if not is_block:
                self._running.add(step_id)
            self._retrying.discard(step_id)
            running_children = self._running_children
            running_children[parent] = running_children.get(parent, 0) + 1
            self.waiting.pop(step_id, None)
            if is_block:  # a block started again after a stop keeps what its children did
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
        if to_status == PENDING and event.next_attempt_at is not None:
            self._retrying.add(step_id)
        else:
            self._retrying.discard(step_id)
        if was_running:
            self._running_children[parent] -= 1
            if to_status == PENDING:  # a retry or an interrupted step goes first
                self._queues.setdefault(parent, deque()).appendleft(step_id)
        if to_status in TERMINAL:
            if to_status == SUCCEEDED and event.outputs is not None:
                self.outputs[step_id] = event.outputs
                self._steps_context[step_id] = {"outputs": event.outputs}
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
        if (state.status, to_status) == (PENDING, RUNNING) and attempt is None:
            attempt = state.attempts + 1
        if attempt is None:
            attempt = state.attempts
        if at is None:
            at = self.clock.now()
        from_status = state.status
        event = Transition(at, step_id, from_status, to_status, attempt, reason, next_attempt_at, outputs)
        # Transition.to_json inline, "type" first: one dict per record, not two (same keys, same order)
        record = {"type": "transition", "at": iso_at(at), "stepId": step_id, "from": from_status, "to": to_status,
                  "attempt": attempt, "reason": reason,
                  "nextAttemptAt": None if next_attempt_at is None else iso_at(next_attempt_at)}
        if outputs is not None:
            record["outputs"] = outputs
        if self.redactor.redact(record) is not record:
            self._emit(record, event)  # the general path redacts the record and rebuilds the event from it
        else:
            self._store_transition(record, event, state)

    def _set_run_status(self, status: str, reason: str | None = None) -> None:
        if status != self.status:
            self._emit({"type": "run", "at": iso(self.clock.now()), "status": status, "reason": reason})

    def _skip_subtree(self, step_id: str, reason: str) -> None:
        for step in self.graph.step(step_id).walk():
            if self.states[step.id].status == PENDING:
                self._transition(step.id, SKIPPED, reason if step.id == step_id else
                                 f"parent '{step_id}' is skipped")

    # -- the decisions ------------------------------------------------------------
    def start(self) -> None:
        """Begin (or resume) driving the run: interrupted steps go back to pending."""
        for step_id, state in reversed(list(self.states.items())):  # re-queued first: document order
            if state.status == RUNNING and not self.graph.step(step_id).is_block:
                self._transition(step_id, PENDING, INTERRUPTED, attempt=max(state.attempts - 1, 0))
        if self.status not in RUN_FINAL:
            self._set_run_status(RUN_RUNNING)

    def advance(self) -> list[PlannedStep]:
        """Settle what follows from the state, then start every step that may start.

        Returns the run steps now ``running``, for the runner to execute.
        """
        if self.status in RUN_FINAL:
            return []
        if self.status in RUN_STOPPED:
            self._park_blocks()
            return []
        started: list[PlannedStep] = []
        progress = True
        while progress:
            progress = self._settle()
            progress |= self._decide_gates()
            for parent in list(self._queues):
                progress |= self._start_from_queue(parent, started)
        self._update_run_status(bool(started))
        return started

    def _settle(self) -> bool:
        changed = False
        if self.aborted:
            for step_id, state in self.states.items():
                if state.status == PENDING:
                    self._transition(step_id, SKIPPED, ABORTED)
                    changed = True
            for queue in self._queues.values():
                queue.clear()
        for block_id in list(self._stopping):
            if self.states[block_id].status != RUNNING:
                self._stopping.discard(block_id)
                continue
            failed = [c.id for c in self.graph.step(block_id).children if self.states[c.id].status == FAILED]
            for child in self.graph.step(block_id).children:
                if self.states[child.id].status == PENDING:
                    self._skip_subtree(child.id, f"block '{block_id}' stopped: '{failed[0]}' failed")
                    changed = True
        while self._to_settle:
            block_id = self._to_settle.pop()
            if self.states[block_id].status == RUNNING and self._open_children.get(block_id, 0) == 0:
                self._finish_block(block_id)
                changed = True
        return changed

    def _finish_block(self, block_id: str) -> None:
        block = self.graph.step(block_id)
        failed = [c.id for c in block.children if self.states[c.id].status == FAILED]
        self._stopping.discard(block_id)
        if failed and not block.continue_on_error:
            self._transition(block_id, FAILED, f"'{failed[0]}' failed")
        elif failed:
            self._transition(block_id, SUCCEEDED, f"{len(failed)} failed, tolerated (continueOnError): "
                                                  + ", ".join(failed))
        elif not block.children:
            self._transition(block_id, SUCCEEDED, "no items" if block.kind == "map" else None)
        else:
            self._transition(block_id, SUCCEEDED)

    def _start_from_queue(self, parent: str | None, started: list[PlannedStep]) -> bool:
        queue = self._queues[parent]
        if not queue:
            return False
        if parent is not None and self.states[parent].status != RUNNING:
            queue.clear()
            return False
        limit = self.graph.step(parent).max_parallel if parent is not None else 1
        now = self.clock.now()
        changed = False
        kept: deque[str] = deque()
        while queue:
            if limit is not None and self._running_children.get(parent, 0) >= limit:
                break
            if parent in self._stopping:
                break  # a child failed for good: what is left is skipped, not started
            step_id = queue.popleft()
            state = self.states[step_id]
            if state.status != PENDING or step_id in self.waiting:
                continue  # started, finished or skipped since it was queued
            if state.next_attempt_at is not None and state.next_attempt_at > now:
                kept.append(step_id)  # retry window not open yet
                continue
            changed = True
            self._begin(self.graph.step(step_id), started)
        queue.extendleft(reversed(kept))
        return changed

    def _begin(self, step: PlannedStep, started: list[PlannedStep]) -> None:
        if not step.enabled:
            self._skip_subtree(step.id, step.disabled_reason or "disabled")
            return
        if step.when_runtime:
            try:
                value = Template.parse(step.when).render(self.context(step))
            except ExpressionError as error:
                self._transition(step.id, RUNNING)
                self._transition(step.id, FAILED, f"when could not be evaluated: {error}")
                return
            if not is_truthy(value):
                self._skip_subtree(step.id, f"when is false: {step.when.strip()}")
                return
        if step.is_gate:
            self._begin_gate(step)
            return
        if step.kind == "map" and step.items_runtime and not step.children:
            if not self._expand_runtime_map(step):
                return
        self._transition(step.id, RUNNING)
        if step.kind == "run":
            started.append(step)

    def _expand_runtime_map(self, step: PlannedStep) -> bool:
        try:
            items = Template.parse(step.items.template).render(self.context(step))
        except ExpressionError as error:
            self._transition(step.id, RUNNING)
            self._transition(step.id, FAILED, f"items could not be evaluated: {error}")
            return False
        if items is None:
            items = []
        if _nested_deeper_than(items, MAX_RUN_VALUE_DEPTH):
            self._transition(step.id, RUNNING)
            self._transition(step.id, FAILED, f"items are nested more than {MAX_RUN_VALUE_DEPTH} levels deep")
            return False
        items = self.redactor.redact(items)  # recorded below, and what the children are planned from
        if not isinstance(items, list) or self.expand is None:
            self._transition(step.id, RUNNING)
            self._transition(step.id, FAILED, "items did not give a list" if self.expand else
                             "this run cannot expand maps at run time")
            return False
        try:
            self._expansions[step.id] = self.expand(step, items, len(self.states))
        except Exception as error:  # the planner refused the items (size limit, bad template)
            self._transition(step.id, RUNNING)
            self._transition(step.id, FAILED, str(error).splitlines()[0])
            return False
        self._emit({"type": "expand", "at": iso(self.clock.now()), "stepId": step.id, "items": items})
        return True

    def _begin_gate(self, step: PlannedStep) -> None:
        expires_at = None
        if step.kind == "gate.approval":
            approval = self.plan.approvals[step.approval_id]
            known = self.approvals[step.approval_id]["expiresAt"]
            if known:
                expires_at = parse_iso(known)
            elif approval.expires_after_seconds is not None:
                expires_at = self.clock.now() + timedelta(seconds=approval.expires_after_seconds)
        reason = AWAITING_APPROVAL if step.kind == "gate.approval" else AWAITING_POLICY
        self._emit({"type": "gate", "at": iso(self.clock.now()), "stepId": step.id, "reason": reason,
                    "expiresAt": iso(expires_at)})

    def _decide_gates(self) -> bool:
        changed = False
        now = self.clock.now()
        for step_id, expires_at in list(self.waiting.items()):
            step = self.graph.step(step_id)
            if step.parent is not None and self.states[step.parent].status != RUNNING:
                continue  # its block was parked by a stop: decided once the block runs again
            if step.kind == "gate.approval":
                approval = self.approvals[step.approval_id]
                if approval["status"] == "pending" and expires_at is not None and now >= expires_at:
                    self._emit({"type": "approval", "at": iso(now), "approvalId": step.approval_id,
                                "status": "expired", "decidedBy": None, "reason": "approval expired"})
                outcome = approval["status"]
                if outcome == "pending":
                    continue
                self._transition(step_id, RUNNING, f"approval {outcome}")
                if outcome == "approved":
                    self._transition(step_id, SUCCEEDED, _decided("approved", approval))
                else:
                    self._transition(step_id, FAILED, "approval expired" if outcome == "expired"
                                     else _decided("rejected", approval))
            else:
                decision = self.policy_decisions.get(step_id)
                if decision is None:
                    continue
                self._transition(step_id, RUNNING, f"policy decision: {decision['decision']}")
                if decision["decision"] == "allow":
                    self._transition(step_id, SUCCEEDED, _decided("allowed", decision))
                else:
                    self._transition(step_id, FAILED, _decided("denied", decision))
            changed = True
        return changed

    def _update_run_status(self, dispatched: bool) -> None:
        last = self.graph.top_level()[-1]
        if self.states[last].status in TERMINAL or self.aborted and not self._running:
            self._set_run_status(RUN_FAILED if self.aborted else RUN_SUCCEEDED,
                                 ABORTED if self.aborted else None)
        elif self.waiting and not (dispatched or self._running or self._retrying):
            self._set_run_status(RUN_WAITING, "waiting for " + ", ".join(sorted(self.waiting)))
        else:
            self._set_run_status(RUN_RUNNING)
        for parent in [p for p, queue in self._queues.items() if p is not None and not queue]:
            if self.states[parent].status in TERMINAL:
                del self._queues[parent]

    # -- results from the runner -----------------------------------------------------
    def complete(self, step_id: str, outputs: dict | None = None) -> None:
        if outputs and _nested_deeper_than(outputs, MAX_RUN_VALUE_DEPTH):  # no JSON record could hold it
            self.fail(step_id, f"its outputs are nested more than {MAX_RUN_VALUE_DEPTH} levels deep")
            return
        self._transition(step_id, SUCCEEDED, outputs=dict(outputs or {}))  # redacted in _emit

    def fail(self, step_id: str, message: str) -> None:
        state = self.states[step_id]  # the message is redacted with the whole record in _emit
        if state.attempts < self.policy.max_attempts:
            retry_at = self.clock.now() + timedelta(seconds=self.policy.backoff_seconds)
            self._transition(step_id, PENDING, f"attempt {state.attempts} failed: {message}",
                             next_attempt_at=retry_at)
        else:
            tries = f" after {state.attempts} attempts" if state.attempts > 1 else ""
            self._transition(step_id, FAILED, f"failed{tries}: {message}")

    def interrupt(self, step_id: str, reason: str = INTERRUPTED) -> None:
        """A running step stopped without a result (cancel): pending again, attempt not used."""
        state = self.states[step_id]
        if state.status == RUNNING:
            self._transition(step_id, PENDING, reason, attempt=max(state.attempts - 1, 0))

    def cancel(self, reason: str = "cancelled by the user") -> None:
        self.stop(RUN_CANCELLED, reason)

    def stop(self, status: str = RUN_CANCELLED, reason: str | None = None) -> None:
        """Stop the run (cancelled, or interrupted by a shutdown); it stays resumable.

        Steps still running report back through :meth:`interrupt` (or finish);
        open blocks are parked once none is running.
        """
        if status not in RUN_STOPPED:
            raise ValueError(f"'{status}' is not a way to stop a run")
        if self.status not in RUN_FINAL:
            self._set_run_status(status, reason)
            self._park_blocks()

    def _park_blocks(self) -> None:
        """Open blocks of a stopped run back to pending, innermost first, once nothing runs."""
        if self._running:
            return
        reason = f"interrupted: run {self.status}"
        for step_id, state in reversed(list(self.states.items())):
            if state.status == RUNNING and self.graph.step(step_id).is_block:
                self._transition(step_id, PENDING, reason, attempt=max(state.attempts - 1, 0))

    # -- decisions from people ---------------------------------------------------------
    def approve(self, approval_id: str, by: str, reason: str | None = None, *, approved: bool = True) -> None:
        if approval_id not in self.approvals:
            raise DecisionError(f"approval '{approval_id}' is not declared by this pack "
                                f"(declared: {', '.join(sorted(self.approvals)) or 'none'})")
        current = self.approvals[approval_id]
        if current["status"] != "pending":
            raise DecisionError(f"approval '{approval_id}' was already decided: {current['status']}")
        if not any(self.graph.step(s).approval_id == approval_id for s in self.waiting):
            raise DecisionError(f"no gate is waiting for approval '{approval_id}' yet")
        expires_at = parse_iso(current["expiresAt"])
        if expires_at is not None and self.clock.now() >= expires_at:
            raise DecisionError(f"approval '{approval_id}' expired at {current['expiresAt']}")
        self._emit({"type": "approval", "at": iso(self.clock.now()), "approvalId": approval_id,
                    "status": "approved" if approved else "rejected", "decidedBy": by, "reason": reason})

    def decide_policy(self, step_id: str, allow: bool, by: str, reason: str | None = None) -> None:
        if step_id not in self.states or self.graph.step(step_id).kind != "gate.policy":
            raise DecisionError(f"'{step_id}' is not a policy gate of this run")
        if step_id not in self.waiting:
            raise DecisionError(f"policy gate '{step_id}' is not waiting for a decision")
        decided = self.policy_decisions.get(step_id)
        if decided is not None:  # recorded, not yet applied (the run is paused): a decision is final
            raise DecisionError(f"policy gate '{step_id}' was already decided: {decided['decision']} by "
                                f"{decided.get('decidedBy') or 'unknown'}")
        self._emit({"type": "policy", "at": iso(self.clock.now()), "stepId": step_id,
                    "decision": "allow" if allow else "deny", "decidedBy": by, "reason": reason})

    # -- questions -----------------------------------------------------------------
    def redact(self, value: Any) -> Any:
        """``value`` with every secret value (in any of its encodings) replaced by ``***``."""
        return self.redactor.redact(value)

    def running_steps(self) -> list[str]:
        return sorted(self._running)

    def next_wakeup(self) -> datetime | None:
        """When time alone may let something happen: a retry window or an approval expiry."""
        moments = [self.states[s].next_attempt_at for s in self._retrying]
        moments += [expires for expires in self.waiting.values() if expires is not None]
        now = self.clock.now()
        future = [m for m in moments if m > now]
        return min(future) if future else (now if any(m <= now for m in moments) else None)

    def context(self, step: PlannedStep, secret_values: bool = True) -> dict[str, Any]:
        """What a run-time template of ``step`` may read."""
        context: dict[str, Any] = {"inputs": self.plan.inputs, "steps": self._steps_context}
        if secret_values:
            context["secrets"] = self.secrets
        context.update(step.scope)
        return context

    def resolve_parameters(self, step: PlannedStep) -> dict:
        """The step's parameters with secrets and step outputs filled in (never persisted)."""
        if not _has_placeholders(step.parameters):
            return step.parameters
        resolved = _resolve(step.parameters, self.context(step))
        self._charge_run_time_value(resolved)
        return resolved

    def _charge_run_time_value(self, value: Any) -> None:
        """Values filled in at run time obey the plan's limits: one step's parameters at most
        1,000,000 elements and 10 MiB of JSON as written out (an output read twice counts twice),
        and those of the whole drive at most 64 MiB together.  Each template alone was bounded,
        but a step reading a 4 MB output in 60 parameters wrote 1 GB to the store (found by the
        attack review); a step past a limit fails with a message instead."""
        if _nested_deeper_than(value, MAX_RUN_VALUE_DEPTH):
            raise ValueError(f"the step's parameters are nested more than {MAX_RUN_VALUE_DEPTH} levels deep")
        try:
            _, size = measure(value)
        except BudgetExceeded:
            raise ValueError("the step's parameters are larger than 1,000,000 elements or 10 MiB of JSON "
                             "as written out (each use of a value counts)") from None
        self._run_time_bytes = getattr(self, "_run_time_bytes", 0) + size
        if self._run_time_bytes > MAX_PLAN_VALUE_BYTES:
            raise ValueError(f"the parameters filled in at run time together pass "
                             f"{MAX_PLAN_VALUE_BYTES // (1024 * 1024)} MiB of JSON; make them smaller or split the pack")

    def check(self) -> None:
        """Invariants: caps respected, counters agree with states."""
        running: dict[str | None, int] = {}
        for step_id, state in self.states.items():
            if state.status == RUNNING:
                parent = self.graph.step(step_id).parent
                running[parent] = running.get(parent, 0) + 1
        for parent, count in running.items():
            assert self._running_children.get(parent, 0) == count, f"running count of {parent} drifted"
            if parent is not None:
                limit = self.graph.step(parent).max_parallel
                assert limit is None or count <= limit, f"{parent} runs {count} > maxParallel {limit}"
                assert self.states[parent].status == RUNNING, f"child of {parent} runs outside it"


def _decided(verb: str, decision: dict) -> str:
    text = f"{verb} by {decision.get('decidedBy') or 'unknown'}"
    return f"{text}: {decision['reason']}" if decision.get("reason") else text


def _nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether lists and objects in ``value`` nest more than ``limit`` deep (without recursion)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth >= limit:
                return True
            stack.extend((inner, depth + 1) for inner in (item.values() if isinstance(item, dict) else item))
    return False


def _has_placeholders(value: Any) -> bool:
    if isinstance(value, (SecretRef, RuntimeValue)):
        return True
    if isinstance(value, dict):
        return any(_has_placeholders(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_placeholders(item) for item in value)
    return False


def _resolve(value: Any, context: dict) -> Any:
    if isinstance(value, dict):
        return {key: _resolve(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve(item, context) for item in value]
    if isinstance(value, SecretRef):
        return context["secrets"].get(value.name)
    if isinstance(value, RuntimeValue):
        return Template.parse(value.template).render(context)
    return value


__all__ = ["Scheduler", "DecisionError", "IllegalTransition"]
