"""Plans: what a pack will do with given inputs (see :mod:`core.plan.model`)."""

from core.plan.model import (
    BLOCK_KINDS, STEP_KINDS, FailurePolicy, Plan, PlannedApproval, PlannedOutput, PlannedStep,
    RuntimeValue, SecretRef, to_json_value,
)
from core.plan.planner import build_plan, expand_map

__all__ = [
    "BLOCK_KINDS", "STEP_KINDS", "FailurePolicy", "Plan", "PlannedApproval", "PlannedOutput",
    "PlannedStep", "RuntimeValue", "SecretRef", "build_plan", "expand_map", "to_json_value",
]
