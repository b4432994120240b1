"""Run the real :class:`~core.execution.scheduler.Scheduler` on virtual time with stand-in executors.

The scheduler decides everything, as in a real run: which step starts,
retries and their backoff, ``maxParallel`` queues, ``continueOnError``,
aborts, gates and approval expiry.  This module only plays the world
around it: each started attempt "runs" for the step's duration and then
succeeds or fails as assumed; each waiting gate is decided as assumed
after its duration (or never, for ``wait``).  Time is a
:class:`~core.execution.clock.FakeClock` that jumps from one event to the
next, so nothing sleeps and nothing is written anywhere.

Two changes are made to a *copy* of the plan before it is driven, because
they are assumptions rather than behaviour: steps assumed ``skip`` are
disabled, and a ``when`` that only run time can decide is taken as true.
"""

from __future__ import annotations

import copy
import dataclasses
import heapq
from datetime import datetime, timedelta, timezone

from core.execution.clock import FakeClock
from core.execution.scheduler import RUN_FAILED, RUN_FINAL, RUN_WAITING, Scheduler
from core.forecast.assumptions import Assumptions, ForecastLimit, plan_steps
from core.forecast.model import Attempt
from core.graph import ExecutionGraph
from core.limits import MAX_FORECAST_ATTEMPTS
from core.plan import Plan, PlannedStep

EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)
FORECAST_BY = "forecast (assumed)"
ASSUMED_SKIP = "assumed skipped (forecast)"


def forecast_plan(plan: Plan, assumptions: Assumptions, steps: list[PlannedStep] | None = None,
                  by_id: dict[str, PlannedStep] | None = None,
                  replaced: dict[str, PlannedStep] | None = None) -> tuple[Plan, set[str]]:
    """A copy of ``plan`` with the assumptions made real, and the ids whose ``when`` was assumed true.

    Only the steps that change and the blocks around them are rebuilt: a step assumed ``skip`` or
    with a run-time ``when`` (found in one pass over ``steps``, the plan's steps in order), and
    its ancestors; every other subtree is the plan's own (it was rebuilt identical before).
    ``by_id`` is ``steps`` by id when the caller has it; ``replaced``, when given, receives the
    copies by id (so a caller holding the plan's steps by id knows the forecast plan's).
    """
    when_assumed: set[str] = set()
    outcomes = assumptions.outcomes
    touched: set[str] = set()
    for step in plan_steps(plan) if steps is None else steps:
        outcome = outcomes.get(step.id)
        if not (step.when_runtime or outcome is not None and outcome.skip):
            continue
        if by_id is None:
            by_id = {planned.id: planned for planned in (plan_steps(plan) if steps is None else steps)}
        step_id = step.id
        while step_id is not None and step_id not in touched:
            touched.add(step_id)
            step_id = by_id[step_id].parent

    steps = tuple(_rewrite(step, touched, assumptions, replaced, when_assumed) for step in plan.steps)
    if all(new is old for new, old in zip(steps, plan.steps)):
        return plan, when_assumed
    return dataclasses.replace(plan, steps=steps), when_assumed


def _rewrite(step: PlannedStep, touched: set[str], assumptions: Assumptions,
             replaced: dict[str, PlannedStep] | None, when_assumed: set[str]) -> PlannedStep:
    """``step`` with the assumptions made real in its touched subtree (see :func:`forecast_plan`).

    A module function, not a closure: a recursive closure is a reference cycle (the function holds
    the cell that holds it), which kept its cells, the copies and, through their children, the
    plan's steps alive after the forecast until the collector ran: a 10k-step pack's plan, traversed
    and freed by a generation-0 collection after the forecast's JSON (8-16 ms).
    """
    if step.id not in touched:
        return step
    children = (tuple(_rewrite(child, touched, assumptions, replaced, when_assumed) for child in step.children)
                if step.children else step.children)
    skip = assumptions.outcome(step.id).skip
    assume_when = step.when_runtime and step.enabled and not skip
    if not (skip or assume_when or children is not step.children and children != step.children):
        return step
    step = copy.copy(step)
    if replaced is not None:
        replaced[step.id] = step
    step.children = children
    if assume_when:
        when_assumed.add(step.id)
        step.when_runtime = False
    if skip and step.enabled:
        step.enabled, step.disabled_reason, step.when_runtime = False, ASSUMED_SKIP, False
    return step


class VirtualGraph(ExecutionGraph):
    """The execution graph as the scheduler reads it (steps in order), without the networkx graph.

    The scheduler asks a graph only for its order, its top-level steps, a
    step by id and to expand a run-time map.  Building the networkx graph
    again for a forecast would cost as much as a fifth of a plain simulation
    of a 10,000-step pack, for edges nobody reads.  A run-time map's items
    need step outputs that stand-ins do not make, so it expands to no
    children, as a real run's map does when its items give an empty list.
    """

    def __init__(self, plan: Plan, steps: dict[str, PlannedStep] | None = None):
        """``steps``: the plan's steps by id in document order, when the caller has them."""
        if steps is None:
            steps = {step.id: step for step in plan_steps(plan)}
        super().__init__(None, tuple(step.id for step in plan.steps), steps)

    def expand(self, map_id: str, children: tuple[PlannedStep, ...]) -> None:
        if children:
            raise ValueError("a forecast expands run-time maps to no children")

    def __len__(self) -> int:
        return len(self._steps)

    def __contains__(self, step_id: str) -> bool:
        return step_id in self._steps

    def __iter__(self):
        return iter(self._steps)


class VirtualRun:
    """One forecast: the scheduler, the clock, the stand-ins and what they saw.

    Run steps' attempts are noted as the stand-ins start and end them; blocks' and gates'
    spans are read from the scheduler's step states at the end (no callback per record:
    a 10,000-step forecast makes some 20,000 of them).  ``traces`` holds each step's attempts as
    the tuple its :class:`StepForecast` keeps (a retry makes a longer one; an attempt is ended in
    place), and ``gate_since`` when each gate still waiting began to wait.
    """

    def __init__(self, plan: Plan, assumptions: Assumptions, durations: dict[str, float],
                 steps: list[PlannedStep] | None = None):
        self.assumptions = assumptions
        self.durations = durations
        if steps is None:
            self.plan, self.when_assumed = forecast_plan(plan, assumptions)
            self.graph = VirtualGraph(self.plan)
        else:  # the graph's steps: the plan's, with the copies forecast_plan made (no second walk of the plan)
            by_id = {step.id: step for step in steps}
            replaced: dict[str, PlannedStep] = {}
            self.plan, self.when_assumed = forecast_plan(plan, assumptions, steps, by_id, replaced)
            by_id.update(replaced)  # same keys: the order stays the document's
            self.graph = VirtualGraph(self.plan, by_id)
        self.clock = FakeClock(EPOCH)
        self.now = 0.0  # seconds since EPOCH, kept beside the clock
        # nothing reads the virtual run's transition records: none are made (a tenth of its time)
        self.scheduler = Scheduler(self.plan, self.graph, self.clock, expand=lambda *_: (), transition_records=False)
        # step id -> its attempts so far: the forecast's own tuple, not a trace object holding a list
        # copied to a tuple (three objects per step made and freed, for 10,000 steps)
        self.traces: dict[str, tuple[Attempt, ...]] = {}
        self.gate_since: dict[str, float] = {}
        self.ended_at = 0.0
        self._ended = False  # ended_at says when the run ended or paused (0.0 is a time, not 'not yet')
        self._events: list[tuple[datetime, int, str, str, bool]] = []  # (time, order, kind, step id, ok)
        self._order = 0
        self._deltas: dict[float, timedelta] = {}
        self._status = self.scheduler.status
        self._not_run: list[str] | None = None  # the ids of blocks and gates, noted by check_size

    # -- the world around the scheduler ---------------------------------------------------
    def _at(self, after: float, kind: str, step_id: str, ok: bool = True) -> None:
        """``kind`` happens ``after`` seconds from now (datetime arithmetic, as the scheduler's own)."""
        self._order += 1
        moment = self.clock.now()
        if after:
            delta = self._deltas.get(after)
            if delta is None:
                delta = self._deltas[after] = timedelta(seconds=after)
            moment = moment + delta
        heapq.heappush(self._events, (moment, self._order, kind, step_id, ok))

    def _set_time(self, moment: datetime) -> None:
        self.clock.set(moment)
        self.now = (moment - EPOCH).total_seconds()

    def _started(self, steps: list[PlannedStep]) -> None:
        states, traces, now = self.scheduler.states, self.traces, self.now
        outcomes, durations = self.assumptions.outcomes, self.durations
        if steps:  # _at inline: one clock reading for all (time does not move here)
            events, deltas, moment, order = self._events, self._deltas, self.clock.now(), self._order
            ends: dict[float, datetime] = {}
            for step in steps:
                step_id = step.id
                attempt = states[step_id].attempts
                outcome = outcomes.get(step_id)
                fails = outcome is not None and outcome.attempt_fails(attempt)
                trace = traces.get(step_id)
                if trace is None:  # the first attempt (a retry, rare, makes a longer tuple)
                    traces[step_id] = (Attempt(attempt, now, now, None),)
                else:
                    traces[step_id] = trace + (Attempt(attempt, now, now, None),)
                order += 1
                after = durations.get(step_id, 0.0)
                if after:
                    end = ends.get(after)  # the steps started now with the same duration end together
                    if end is None:
                        delta = deltas.get(after)
                        if delta is None:
                            delta = deltas[after] = timedelta(seconds=after)
                        end = ends[after] = moment + delta
                    heapq.heappush(events, (end, order, "attempt", step_id, not fails))
                else:
                    heapq.heappush(events, (moment, order, "attempt", step_id, not fails))
            self._order = order
        gate_since = self.gate_since
        for gate_id in self.scheduler.waiting:
            if gate_id in gate_since:
                continue  # seen already
            gate_since[gate_id] = now
            step = self.graph.step(gate_id)
            if step.kind == "gate.approval":
                decision = self.assumptions.approvals.get(step.approval_id)
                text = decision.text if decision else "approve"
            else:
                text = self.assumptions.outcome(gate_id).text
                text = "allow" if text == "succeed" else text
            if text != "wait":
                self._at(durations.get(gate_id, 0.0), "decide", gate_id, text in ("approve", "allow"))
        status = self.scheduler.status
        if status != self._status:
            self._status = status
            if status in RUN_FINAL or status == RUN_WAITING:
                self.ended_at, self._ended = now, True

    def _finish_traces(self) -> None:
        """Blocks' and gates' spans, from the step states the scheduler ended with."""
        traces, states, gate_since = self.traces, self.scheduler.states, self.gate_since
        not_run = self._not_run
        if not_run is None:
            not_run = [step_id for step_id, step in self.graph._steps.items() if step.kind != "run"]
        for step_id in not_run:  # blocks and gates, in document order
            state = states[step_id]
            if state.started_at is None:
                continue
            start = gate_since.pop(step_id, None)  # a gate that waited: its span starts then
            if start is None:
                start = (state.started_at - EPOCH).total_seconds()
            if state.finished_at is None:
                attempt = Attempt(state.attempts, start, start, None)
            else:
                result = "succeeded" if state.status == "succeeded" else "failed"
                attempt = Attempt(state.attempts, start, (state.finished_at - EPOCH).total_seconds(), result)
            traces[step_id] = traces.get(step_id, ()) + (attempt,)

    def _happen(self, kind: str, step_id: str, ok: bool) -> None:
        scheduler = self.scheduler
        if kind == "attempt":
            attempt = self.traces[step_id][-1]
            attempt.end = self.now
            if ok:
                attempt.result = "succeeded"
                scheduler.complete(step_id)
            else:
                attempt.result = "failed"
                scheduler.fail(step_id, "assumed failure (forecast)")
            return
        if step_id not in scheduler.waiting:
            return  # decided already (a shared approval) or expired
        step = self.graph.step(step_id)
        if step.kind == "gate.policy":
            scheduler.decide_policy(step_id, ok, FORECAST_BY)
            return
        approval = scheduler.approvals[step.approval_id]
        expires = scheduler.waiting.get(step_id)
        if approval["status"] == "pending" and (expires is None or self.clock.now() < expires):
            scheduler.approve(step.approval_id, FORECAST_BY, approved=ok)

    def check_size(self) -> None:
        """Refuse, before playing it, a forecast of more attempts than :data:`MAX_FORECAST_ATTEMPTS`."""
        max_attempts = self.plan.failure_policy.max_attempts
        outcomes = self.assumptions.outcomes  # Assumptions.outcome() without a call per step
        steps = attempts = 0
        not_run = self._not_run = []
        for step in self.graph._steps.values():
            steps += 1
            if step.kind != "run":
                not_run.append(step.id)  # what _finish_traces reads: a tenth of the steps
            else:
                outcome = outcomes.get(step.id)
                failures = 0 if outcome is None else outcome.failures  # the default outcome: succeed
                if failures is None or failures >= max_attempts:  # min(failures + 1, max_attempts), no call
                    attempts += max_attempts
                else:
                    attempts += failures + 1
        limit = max(MAX_FORECAST_ATTEMPTS, 3 * steps)
        if attempts > limit:
            raise ForecastLimit(f"the assumptions make up to {attempts:,} attempts (maxAttempts is {max_attempts:,}); "
                                f"a forecast plays at most {limit:,}: assume fewer failures")

    def drive(self) -> None:
        self.check_size()
        try:
            self._drive()
        except OverflowError:
            raise ForecastLimit(f"the forecast run passes the year 9999 (at {self.now:,.0f} virtual seconds): "
                                "give shorter durations") from None

    def _drive(self) -> None:
        scheduler = self.scheduler
        scheduler.start()
        events = self._events
        while True:
            self._started(scheduler.advance())
            if scheduler.status in RUN_FINAL and not events:
                break
            if scheduler.status == RUN_WAITING and not events:
                break  # paused at a gate nobody will decide: a real run stops here too (no expiry plays out)
            moment = events[0][0] if events else None
            # next_wakeup() reads retry windows and approval expiries: with neither it is None, and it
            # costs ~1 us of lists per moment (~5,000 moments in the 10k pack's forecast)
            wake = scheduler.next_wakeup() if scheduler._retrying or scheduler.waiting else None
            if wake is not None and wake > self.clock.now() and (moment is None or wake < moment):
                moment = wake
            if moment is None:
                break  # nothing more will happen: the run ended or waits for a gate assumed 'wait'
            self._set_time(moment)
            now, traces, pop = self.now, self.traces, heapq.heappop
            while events and events[0][0] <= moment:
                _, _, kind, step_id, ok = pop(events)
                if kind == "attempt":  # _happen's attempt branch inline: nearly every event
                    attempt = traces[step_id][-1]
                    attempt.end = now
                    if ok:
                        attempt.result = "succeeded"
                        scheduler.complete(step_id)
                    else:
                        attempt.result = "failed"
                        scheduler.fail(step_id, "assumed failure (forecast)")
                else:
                    self._happen(kind, step_id, ok)
        if scheduler.status == RUN_FAILED and not self._ended:
            self.ended_at = self.now
        self._finish_traces()
