"""The human-readable ``--format table`` rendering of a simulation preview."""

from __future__ import annotations

import os

from core.simulation import STATUSES, SimulationPreview
from stella_desktop.cli.terminal import cell

_COLOURS = {"pending": "36", "skipped": "2", "requires-approval": "33", "requires-policy": "35"}
_HEADERS = ("STEP", "KIND", "STATUS", "USES", "REASON")


def use_colour(choice: str, stream) -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    return hasattr(stream, "isatty") and stream.isatty()


def render_table(preview: SimulationPreview, colour: bool = False) -> str:
    """An indented tree of steps (id, kind, status, uses, reason) and a summary line."""
    plan = preview.plan
    rows = []
    for top in preview.steps:
        stack = [(top, 0)]
        while stack:
            step, depth = stack.pop()
            rows.append(("  " * depth + cell(step.id), cell(step.step.kind), step.status,
                         cell(step.step.uses or ""), cell(_reason(step))))
            stack.extend((child, depth + 1) for child in reversed(step.children))
    widths = [max(len(row[i]) for row in rows + [_HEADERS]) for i in range(4)]
    policy = plan.failure_policy
    backoff = f"{policy.to_json()['backoffSeconds']} s backoff"
    lines = [f"{cell(plan.pack_name)} {cell(plan.pack_version)}  ·  {plan.plan_hash[:19]}  ·  "
             f"failure policy: {policy.max_attempts} attempt{'s' if policy.max_attempts != 1 else ''}, {backoff}",
             ""]
    lines.append(_line(_HEADERS, widths))
    for row in rows:
        status = row[2]
        shown = f"\x1b[{_COLOURS[status]}m{status}\x1b[0m" if colour else status
        padded = shown + " " * (widths[2] - len(status))
        lines.append(_line((row[0], row[1], padded, row[3], row[4]), widths, raw_status=True))
    counts = ", ".join(f"{preview.counts[s]} {s}" for s in STATUSES if preview.counts.get(s))
    total = sum(preview.counts.values())
    lines.append("")
    approvals = "pending approvals: yes" if preview.has_pending_approvals else "pending approvals: no"
    lines.append(f"{total} step{'s' if total != 1 else ''}: {counts}  ·  {approvals}")
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _reason(step) -> str:
    reason = step.status_reason or ""
    planned = step.step
    if planned.kind in ("parallel", "map") and step.status != "skipped":
        limit = "unlimited" if planned.max_parallel is None else str(planned.max_parallel)
        extra = f"maxParallel {limit}" + (", continueOnError" if planned.continue_on_error else "")
        reason = f"{extra}; {reason}" if reason else extra
    if planned.kind == "gate.approval" and planned.approval_id:
        reason = f"{reason} '{planned.approval_id}'"
    if planned.kind == "gate.policy" and planned.policy:
        reason = f"{reason} '{planned.policy}'"
    return reason


def _line(cells, widths, raw_status: bool = False) -> str:
    parts = []
    for index, cell in enumerate(cells):
        if index < 4 and not (raw_status and index == 2):
            parts.append(cell.ljust(widths[index]))
        else:
            parts.append(cell)
    return "  ".join(parts)
