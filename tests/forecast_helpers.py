"""Execute a pack for real on virtual time: real executors, a real run store, a fake clock.

``builtin:sleep`` records its wait instead of sleeping (its cancel event is a
:class:`VirtualWait`), and the clock jumps to the next completion, retry
window or gate decision.  Attempts that end at the same instant are
reported in the order they started, all before the scheduler is asked what
next (the forecast's rule for simultaneous events).
"""

from __future__ import annotations

import heapq
import itertools
from datetime import timedelta
from pathlib import Path

from core.execution.clock import FakeClock, parse_iso
from core.execution.executors import ExecutorRegistry, StepContext, StepFailed
from core.execution.run import ActiveRun
from core.execution.store import RunStore


class VirtualWait:
    """Stands in for a step's cancel event: a sleep's wait is recorded, not slept."""

    def __init__(self):
        self.seconds = 0.0

    def wait(self, seconds: float) -> bool:
        self.seconds += seconds
        return False

    def set(self) -> None:  # pragma: no cover - nothing cancels here
        pass


def execute_virtually(path: Path, store: RunStore, gates: dict[str, tuple[str, float]] | None = None
                      ) -> tuple[ActiveRun, FakeClock]:
    """Run ``path`` to its end (or a gate it waits at).  ``gates``: gate template id -> (decision, delay);
    decisions approve/reject/allow/deny/wait; a gate not listed is approved or allowed at once."""
    gates = gates or {}
    clock = FakeClock()
    run = ActiveRun.create(store, path, clock=clock)
    registry = ExecutorRegistry.default(plugins=False)
    scheduler = run.scheduler
    events: list = []
    order = itertools.count()
    seen_gates: set[str] = set()
    scheduler.start()
    while True:
        for step in scheduler.advance():
            wait = VirtualWait()
            context = StepContext(run.run_id, step.id, scheduler.states[step.id].attempts,
                                  scheduler.resolve_parameters(step), run.handle.workspace, wait)
            try:
                result = ("done", registry.get(step.uses)(context))
            except StepFailed as failure:
                result = ("failed", str(failure))
            heapq.heappush(events, (clock.now() + timedelta(seconds=wait.seconds), next(order), step.id, result))
        for gate_id in [g for g in scheduler.waiting if g not in seen_gates]:
            seen_gates.add(gate_id)
            decision, delay = gates.get(gate_id.rsplit("::", 1)[-1], ("yes", 0))
            if decision != "wait":
                heapq.heappush(events, (clock.now() + timedelta(seconds=delay), next(order), gate_id,
                                        ("decide", decision in ("yes", "approve", "allow"))))
        if scheduler.status in ("succeeded", "failed") or scheduler.status == "waiting" and not events:
            break  # as the runner: a run waiting at a gate nobody decides stops
        moment = events[0][0] if events else None
        wake = scheduler.next_wakeup()
        if wake is not None and wake > clock.now() and (moment is None or wake < moment):
            moment = wake
        if moment is None:
            break
        clock.set(moment)
        while events and events[0][0] <= moment:
            _, _, step_id, (what, value) = heapq.heappop(events)
            if what == "done":
                scheduler.complete(step_id, value)
            elif what == "failed":
                scheduler.fail(step_id, value)
            elif step_id in scheduler.waiting:
                step = scheduler.graph.step(step_id)
                if step.kind == "gate.policy":
                    scheduler.decide_policy(step_id, value, "tester")
                    continue
                approval = scheduler.approvals[step.approval_id]
                expires = parse_iso(approval["expiresAt"])
                if approval["status"] == "pending" and (expires is None or clock.now() < expires):
                    scheduler.approve(step.approval_id, "tester", approved=value)
    return run, clock
