"""The run snapshot JSON: one serialisation for ``runs show``, ``run --format json`` and the API."""

from __future__ import annotations

from core.execution.clock import iso
from core.gc_pause import without_gc
from core.execution.scheduler import Scheduler
from core.plan import PlannedStep


@without_gc  # thousands of acyclic dicts at every pause and end: no collection traversing the run meanwhile
def build_snapshot(header: dict, scheduler: Scheduler) -> dict:
    records = scheduler.records
    updated = next((r["at"] for r in reversed(records) if r.get("at")), header.get("createdAt"))

    states = scheduler.states

    def step_json(step: PlannedStep) -> dict:
        state = states[step.id]  # StepState.to_json's values, read straight into this one dict
        return {
            "stepId": step.id, "kind": step.kind, "status": state.status, "attempts": state.attempts,
            "lastTransitionAt": iso(state.last_transition_at), "nextAttemptAt": iso(state.next_attempt_at),
            "statusReason": state.reason, "startedAt": iso(state.started_at),
            "finishedAt": iso(state.finished_at), "outputs": state.outputs,
            "children": [step_json(child) for child in step.children],
        }

    return {
        "runId": header["runId"],
        "pack": header["pack"],
        "manifestPath": header["manifestPath"],
        "planHash": header["planHash"],
        "inputs": header["inputs"],
        "status": scheduler.status,
        "failurePolicy": header["failurePolicy"],
        "createdAt": header["createdAt"],
        "updatedAt": updated,
        "steps": [step_json(scheduler.graph.step(step_id)) for step_id in scheduler.graph.top_level()],
        "approvals": list(scheduler.approvals.values()),
        "policyDecisions": list(scheduler.policy_decisions.values()),
        "events": [_event(r) for r in records if r["type"] == "transition"],
    }


def _event(record: dict) -> dict:
    event = record.copy()  # a C-level copy, then two deletions: the cheapest per-record step
    del event["type"]
    event.pop("outputs", None)
    return event
