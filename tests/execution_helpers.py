"""Build schedulers from pack text for the execution tests."""

from __future__ import annotations

from core.execution.clock import FakeClock
from core.execution.scheduler import Scheduler
from core.graph import ExecutionGraph
from core.manifest import parse_pack
from core.plan import build_plan, expand_map

from conftest import pack_text


def scheduler_for(spec: str, inputs: dict | None = None, *, clock: FakeClock | None = None,
                  sink=None, secrets=None) -> Scheduler:
    pack = parse_pack(pack_text(spec))
    plan = build_plan(pack, inputs)
    graph = ExecutionGraph.from_plan(plan)
    return Scheduler(plan, graph, clock or FakeClock(), sink=sink, secrets=secrets,
                     expand=lambda step, items, count: expand_map(pack, plan.inputs, step, items, count))


def ids(steps) -> list[str]:
    return [step.id for step in steps]


def statuses(scheduler: Scheduler) -> dict[str, str]:
    return {step_id: state.status for step_id, state in scheduler.states.items()}


def drive(scheduler: Scheduler, outcomes=None, max_rounds: int = 10_000) -> list[str]:
    """Run to the end, completing every started step unless ``outcomes`` says fail.

    ``outcomes`` maps a step id to a list of booleans, one per attempt.
    Returns the order in which steps were started.
    """
    outcomes = {k: list(v) for k, v in (outcomes or {}).items()}
    order = []
    scheduler.start()
    for _ in range(max_rounds):
        started = scheduler.advance()
        scheduler.check()
        if not started:
            wake = scheduler.next_wakeup()
            if wake is None or scheduler.status in ("succeeded", "failed", "waiting"):
                return order
            scheduler.clock.set(max(wake, scheduler.clock.now()))
            continue
        for step in started:
            order.append(step.id)
            attempts = outcomes.get(step.id)
            ok = attempts.pop(0) if attempts else True
            if ok:
                scheduler.complete(step.id, {"done": step.id})
            else:
                scheduler.fail(step.id, "boom")
    raise AssertionError("did not finish")
