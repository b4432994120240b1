"""Gates: an approval or policy gate waits for a person's decision, and the decision is recorded.

Part of the :class:`~core.execution.scheduler.Scheduler` (a mixin over its
:class:`~core.execution.ledger.Ledger`): a gate that may start records that it
waits (with when its approval expires); :meth:`GateDecisions.approve` and
:meth:`GateDecisions.decide_policy` record what people decide; each
:meth:`~core.execution.scheduler.Scheduler.advance` turns decided (or expired)
waits into the gate's transitions.
"""

from __future__ import annotations

from datetime import timedelta

from core.execution.clock import iso, parse_iso
from core.execution.state import FAILED, RUNNING, SUCCEEDED
from core.plan import PlannedStep

AWAITING_APPROVAL = "awaiting approval"
AWAITING_POLICY = "awaiting policy decision"


class DecisionError(Exception):
    """A decision that does not apply now (unknown approval, gate not waiting...)."""



class GateDecisions:
    """The gate half of the scheduler (expects the attributes and methods of a Ledger)."""

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
        if not self.waiting:  # asked at every turn of advance(): most often no gate waits
            return False
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


def _decided(verb: str, decision: dict) -> str:
    text = f"{verb} by {decision.get('decidedBy') or 'unknown'}"
    return f"{text}: {decision['reason']}" if decision.get("reason") else text

