"""One line per journal record: the CLI's progress lines and the app's run log."""

from __future__ import annotations


def describe(record: dict) -> str:
    """One line for a record, for logs and the CLI's progress lines."""
    kind = record["type"]
    if kind == "transition":
        text = f"{record['stepId']}: {record['from']} -> {record['to']}"
        if record["to"] == "running":
            text += f" (attempt {record['attempt']})"
        if record.get("reason"):
            text += f": {record['reason']}"
        if record.get("nextAttemptAt"):
            text += f"; next attempt at {record['nextAttemptAt']}"
        return text
    if kind == "run":
        return f"run {record['status']}" + (f": {record['reason']}" if record.get("reason") else "")
    if kind == "gate":
        return f"{record['stepId']}: {record['reason']}" + (
            f" (expires {record['expiresAt']})" if record.get("expiresAt") else "")
    if kind == "approval":
        return f"approval {record['approvalId']} {record['status']}" + (
            f" by {record['decidedBy']}" if record.get("decidedBy") else "")
    if kind == "policy":
        return f"{record['stepId']}: policy {record['decision']} by {record.get('decidedBy')}"
    if kind == "expand":
        return f"{record['stepId']}: {len(record['items'])} items known at run time"
    return str(record)
