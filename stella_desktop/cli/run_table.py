"""Readable tables of runs: the status tree of one run, and the list of runs."""

from __future__ import annotations

from datetime import datetime, timezone

from core.execution.clock import parse_iso
from stella_desktop.cli.terminal import cell
from stella_desktop.presentation import duration, plural, run_elapsed, with_countdown

_COLOURS = {"pending": "36", "running": "34", "succeeded": "32", "failed": "31", "skipped": "2",
            "waiting": "33", "cancelled": "35", "interrupted": "35"}
_HEADERS = ("STEP", "KIND", "STATUS", "TRIES", "REASON")


def _paint(text: str, status: str, colour: bool) -> str:
    return f"\x1b[{_COLOURS.get(status, '0')}m{text}\x1b[0m" if colour else text


def render_run(snapshot: dict, colour: bool = False, now: datetime | None = None) -> str:
    """The run's step tree with statuses, attempts, reasons and retry countdowns."""
    now = now or datetime.now(timezone.utc)
    rows = []
    stack = [(step, 0) for step in reversed(snapshot["steps"])]
    while stack:
        step, depth = stack.pop()
        reason = step.get("statusReason") or ""
        retry_at = parse_iso(step.get("nextAttemptAt"))
        if step["status"] == "pending" and retry_at is not None:
            reason = with_countdown(reason, retry_at, now, precise=True)
        shown = step["status"]
        if shown == "running" and step["children"] and snapshot["status"] == "waiting":
            # open in the journal (a resume carries on inside it), but nothing inside runs: a gate waits
            shown, reason = "waiting", "paused: a gate inside waits for a decision"
        rows.append(("  " * depth + cell(step["stepId"]), cell(step["kind"]), cell(shown),
                     cell(step["attempts"]) if step["attempts"] else "", cell(reason)))
        stack.extend((child, depth + 1) for child in reversed(step["children"]))
    widths = [max(len(row[i]) for row in rows + [_HEADERS]) for i in range(4)]
    pack = snapshot["pack"]
    status = snapshot["status"]
    lines = [f"run {cell(snapshot['runId'])}  ·  {cell(pack['name'])} {cell(pack['version'])}  ·  "
             f"{_paint(cell(status), status, colour)}", ""]
    lines.append("  ".join(h.ljust(widths[i]) if i < 4 else h for i, h in enumerate(_HEADERS)))
    for row in rows:
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1]),
                 _paint(row[2], row[2], colour) + " " * (widths[2] - len(row[2])), row[3].ljust(widths[3]), row[4]]
        lines.append("  ".join(cells).rstrip())
    counts: dict[str, int] = {}
    for row in rows:
        counts[row[2]] = counts.get(row[2], 0) + 1
    lines.append("")
    lines.append(f"{plural(len(rows), 'step')}: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    return "\n".join(lines) + "\n"


def render_run_list(summaries: list[dict]) -> str:
    if not summaries:
        return "no runs yet\n"
    headers = ("RUN", "PACK", "STATUS", "CREATED", "UPDATED", "ELAPSED")
    rows = []
    for item in summaries:
        pack = item.get("pack") or {}
        pack_text = f"{pack.get('name', '?')} {pack.get('version', '')}".strip() if pack else "?"
        status = item.get("status") or "?"
        if item.get("problem"):
            status = f"damaged: {item['problem']}"
        rows.append(tuple(cell(value) for value in (item["runId"], pack_text, status, item.get("createdAt") or "",
                                                    item.get("updatedAt") or "",
                                                    duration(run_elapsed(item.get("createdAt"), item.get("updatedAt"))))))
    widths = [max(len(r[i]) for r in rows + [headers]) for i in range(len(headers))]
    ordered = [rows[i] for i in range(len(rows))]
    text = ["  ".join(h.ljust(widths[i]) for i, h in enumerate(headers)).rstrip()]
    for row in ordered:
        text.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    return "\n".join(text) + "\n"
