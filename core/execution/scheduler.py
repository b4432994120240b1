"""The one place that decides what runs: a synchronous state machine over a plan.

In the manner of dagster's ``ActiveExecution``: the runner asks
:meth:`Scheduler.advance` which steps to start, executes them on threads,
and reports back with :meth:`complete` / :meth:`fail`.  Threads never
decide anything.

Every change is a *record* written and applied by the
:class:`~core.execution.ledger.Ledger` this scheduler is (replaying a journal
rebuilds the state that wrote it); gates and their decisions are in
:mod:`core.execution.gates`, values filled in at run time in
:mod:`core.execution.run_values`.  This module decides: what is ready, retry
windows, blocks settling, results, stopping.

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

from datetime import datetime, timedelta
from typing import Any

from core.execution.clock import iso
from core.execution.gates import AWAITING_APPROVAL, AWAITING_POLICY, DecisionError, GateDecisions
from core.execution.ledger import (
    RUN_CANCELLED, RUN_FAILED, RUN_FINAL, RUN_INTERRUPTED, RUN_PENDING, RUN_RUNNING, RUN_STOPPED, RUN_SUCCEEDED,
    RUN_WAITING, Expander, Ledger,
)
from core.execution.run_values import RunTimeValues, _nested_deeper_than, outputs_problem
from core.execution.state import (
    FAILED, INTERRUPTED, PENDING, RUNNING, SKIPPED, SUCCEEDED, TERMINAL, IllegalTransition,
)
from core.expressions import ExpressionError, Template, is_truthy
from core.limits import MAX_RUN_VALUE_DEPTH
from core.plan import PlannedStep

ABORTED = "run aborted"


class Scheduler(Ledger, GateDecisions, RunTimeValues):
    """Decides what runs: the ledger's records are written only from here (and from the gates)."""

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
        for block_id in list(self._stopping) if self._stopping else ():
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
        step_of = self.graph.step
        limit = step_of(parent).max_parallel if parent is not None else 1
        now = self.clock.now()
        changed = False
        kept: list[str] = []
        # read once: _begin changes what these hold, never which objects they are
        states, waiting, running_children, stopping = self.states, self.waiting, self._running_children, self._stopping
        while queue:
            if limit is not None and running_children.get(parent, 0) >= limit:
                break
            if parent in stopping:
                break  # a child failed for good: what is left is skipped, not started
            step_id = queue.popleft()
            state = states[step_id]
            if state.status != PENDING or step_id in waiting:
                continue  # started, finished or skipped since it was queued
            if state.next_attempt_at is not None and state.next_attempt_at > now:
                kept.append(step_id)  # retry window not open yet
                continue
            changed = True
            self._begin(step_of(step_id), started)
        if kept:
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
        kind = step.kind
        if kind != "run" and step.is_gate:
            self._begin_gate(step)
            return
        if kind == "map" and step.items_runtime and not step.children:
            if not self._expand_runtime_map(step):
                return
        self._transition(step.id, RUNNING)
        if kind == "run":
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
        problem = outputs_problem(outputs, MAX_RUN_VALUE_DEPTH) if outputs else None
        if problem is not None:  # no JSON record could hold them as they are
            self.fail(step_id, problem)
            return
        self._transition(step_id, SUCCEEDED, outputs=dict(outputs) if outputs else {})  # redacted in _emit

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


__all__ = [
    "ABORTED", "AWAITING_APPROVAL", "AWAITING_POLICY", "DecisionError", "Expander", "IllegalTransition",
    "RUN_CANCELLED", "RUN_FAILED", "RUN_FINAL", "RUN_INTERRUPTED", "RUN_PENDING", "RUN_RUNNING", "RUN_STOPPED",
    "RUN_SUCCEEDED", "RUN_WAITING", "Scheduler",
]
