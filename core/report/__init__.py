"""The run report: a portable, checkable record of what a run did, for reviewers and auditors.

:func:`build_report` turns a run's header, plan and journal into one JSON
document: the pack, plan hash, inputs, the names (never the values) of the
secrets it used, the outcome, every step's attempts with their start, end,
result and message, every gate decision, durations, and the journal's record
count and chain hash, so ``stella task-runner runs verify --report`` can tell
whether a report still matches the store.  :mod:`core.report.html` renders
the same document as one self-contained HTML page.
"""

from __future__ import annotations

from typing import Any, Iterable

from core.execution.clock import parse_iso
from core.plan import Plan, to_json_value

REPORT_VERSION = 1


def check_run(store, run_id: str):
    """The journal check of a run (:class:`~core.execution.journal.RunCheck`); RunNotFound if none."""
    from core.execution.journal import verify_run
    from core.execution.store import RunNotFound

    folder = store.folder_of(run_id)
    if not folder.is_dir():
        raise RunNotFound(f"no run '{run_id}' in {store.root}")
    return verify_run(folder)


def damage_text(check) -> str:
    place = f"record {check.bad_record}: " if check.bad_record else ""
    return place + (check.reason or "damaged")


def report_for_run(store, run_id: str) -> dict:
    """The report of a run in ``store`` (the CLI's export and the app's Export Run Report…).

    Raises RunNotFound, RunCorrupt (a damaged journal: no report is made of it),
    PlanDrift or PackInvalid (the manifest no longer plans as it did), or
    another RunStoreError.
    """
    from core.execution.run import ActiveRun
    from core.execution.store import RunCorrupt

    check = check_run(store, run_id)
    if not check.ok:
        raise RunCorrupt(f"run {run_id} is damaged: {damage_text(check)}")
    active = ActiveRun.open(store, run_id, lock=False)
    try:
        return build_report(active.snapshot(), active.plan, active.handle.records,
                            {"records": check.records, "chainHash": check.chain})
    finally:
        active.close()


def build_report(snapshot: dict, plan: Plan, records: Iterable[dict], journal: dict) -> dict:
    """The report JSON for a run.

    ``snapshot`` is the run's snapshot (as ``runs show`` serves it), ``plan``
    its plan, ``records`` its journal in order and ``journal`` what the store
    says of the journal (``{"records": N, "chainHash": ...}``).
    """
    records = list(records)
    attempts = _attempts(records)
    gates_requested = {r["stepId"]: r for r in records if r.get("type") == "gate"}
    steps = []
    for step in _walk(snapshot["steps"]):
        tries = attempts.get(step["stepId"], [])
        steps.append({
            "id": step["stepId"],
            "parent": step.get("parent"),
            "kind": step["kind"],
            "status": step["status"],
            "statusReason": step.get("statusReason"),
            "startedAt": step.get("startedAt"),
            "finishedAt": step.get("finishedAt"),
            "durationSeconds": _seconds(step.get("startedAt"), step.get("finishedAt")),
            "attempts": tries,
            "outputs": step.get("outputs"),
        })
    run_records = [r for r in records if r.get("type") == "run"]
    started = run_records[0]["at"] if run_records else snapshot.get("createdAt")
    ended = run_records[-1]["at"] if run_records and snapshot["status"] in ("succeeded", "failed") else None
    return {
        "reportVersion": REPORT_VERSION,
        "runId": snapshot["runId"],
        "pack": snapshot["pack"],
        "manifestPath": snapshot.get("manifestPath"),
        "planHash": snapshot["planHash"],
        "inputs": snapshot.get("inputs"),
        "secrets": sorted(plan.secrets),
        "failurePolicy": snapshot.get("failurePolicy"),
        "outcome": snapshot["status"],
        "createdAt": snapshot.get("createdAt"),
        "startedAt": started,
        "endedAt": ended,
        "durationSeconds": _seconds(started, ended),
        "steps": steps,
        "gates": _gates(snapshot, plan, gates_requested),
        "journal": dict(journal),
    }


def _walk(steps: list[dict], parent: str | None = None):
    for step in steps:
        yield {**step, "parent": parent}
        yield from _walk(step.get("children") or [], step["stepId"])


def _attempts(records: list[dict]) -> dict[str, list[dict]]:
    """Each step's attempts from its transitions: running starts one, leaving running ends it."""
    attempts: dict[str, list[dict]] = {}
    for record in records:
        if record.get("type") != "transition":
            continue
        tries = attempts.setdefault(record["stepId"], [])
        if record["to"] == "running":
            tries.append({"attempt": record["attempt"], "start": record["at"], "end": None,
                          "result": "running", "message": None, "durationSeconds": None})
        elif record["from"] == "running" and tries and tries[-1]["end"] is None:
            attempt = tries[-1]
            result = record["to"]
            if result == "pending":  # a failure with attempts left, or an interruption
                result = "interrupted" if record.get("reason") == "interrupted" else "failed"
            attempt.update(end=record["at"], result=result, message=record.get("reason"),
                           durationSeconds=_seconds(attempt["start"], record["at"]))
    return {step: tries for step, tries in attempts.items() if tries}


def _gates(snapshot: dict, plan: Plan, requested: dict[str, dict]) -> list[dict]:
    approvals = {a["id"]: a for a in snapshot.get("approvals") or []}
    policies = {d["stepId"]: d for d in snapshot.get("policyDecisions") or []}
    gates = []
    for step in plan.walk():
        if step.kind == "gate.approval":
            decided = approvals.get(step.approval_id, {})
            planned = plan.approvals.get(step.approval_id)
            gates.append({
                "stepId": step.id, "kind": "approval", "approvalId": step.approval_id,
                "requestedAt": requested.get(step.id, {}).get("at"),
                "expiresAt": decided.get("expiresAt") or requested.get(step.id, {}).get("expiresAt"),
                "grants": list(planned.grants) if planned else [],
                "requestReason": to_json_value(planned.reason) if planned else None,
                "message": to_json_value(step.gate_message),
                "decision": decided.get("status") if decided.get("decidedBy") else None,
                "decidedBy": decided.get("decidedBy"), "decidedAt": decided.get("decidedAt"),
                "reason": decided.get("reason"),
            })
        elif step.kind == "gate.policy":
            decided = policies.get(step.id, {})
            gates.append({
                "stepId": step.id, "kind": "policy", "policy": step.policy,
                "parameters": to_json_value(step.parameters),
                "requestedAt": requested.get(step.id, {}).get("at"), "expiresAt": None, "grants": [],
                "message": to_json_value(step.gate_message),
                "decision": decided.get("decision"), "decidedBy": decided.get("decidedBy"),
                "decidedAt": decided.get("decidedAt"), "reason": decided.get("reason"),
            })
    return gates


def _seconds(start: Any, end: Any) -> float | None:
    if not start or not end:
        return None
    return round((parse_iso(end) - parse_iso(start)).total_seconds(), 6)
