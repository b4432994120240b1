"""The run report as one self-contained HTML page: no scripts, no external assets, fit for paper.

Every value is escaped; the timeline is inline SVG (one row per step that
ran, each attempt a bar coloured by its result).
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from core.execution.clock import parse_iso

_COLOURS = {"succeeded": "#2e7d32", "failed": "#c62828", "interrupted": "#ef6c00", "running": "#1565c0",
            "skipped": "#9e9e9e"}

_STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em;color:#222;max-width:64em}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%;font-size:.9em}th,td{border:1px solid #ccc;padding:.25em .5em;
text-align:left;vertical-align:top}th{background:#f3f3f3}code,.mono{font-family:ui-monospace,monospace;
font-size:.9em;word-break:break-all}.succeeded{color:#2e7d32}.failed{color:#c62828}.skipped{color:#777}
.meta td:first-child{width:12em;font-weight:600}td.id{white-space:nowrap;word-break:normal}svg{max-width:100%;height:auto}
@media print{body{margin:0}h2{break-after:avoid}tr{break-inside:avoid}}
"""


def render_html(report: dict) -> str:
    """The report as an HTML document (a string)."""
    pack = report["pack"]
    title = f"Run report: {pack.get('name')} {pack.get('version')} ({report['runId']})"
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f'<p>Outcome: <strong class="{_e(report["outcome"])}">{_e(report["outcome"])}</strong></p>',
        _summary(report), "<h2>Timeline</h2>", timeline_svg(report), _steps(report), _gates(report),
        _inputs(report),
        "<h2>Journal</h2>", _table(["records", "chain hash"],
                                   [[report["journal"].get("records"), report["journal"].get("chainHash")]]),
        "<p>Check this report against the run store with <code>stella task-runner runs verify "
        f"{_e(report['runId'])} --report FILE</code>.</p>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _summary(report: dict) -> str:
    policy = report.get("failurePolicy") or {}
    rows = [
        ("Run", report["runId"]), ("Pack", f"{report['pack'].get('name')} {report['pack'].get('version')}"),
        ("Manifest", report.get("manifestPath")), ("Plan hash", report["planHash"]),
        ("Failure policy", f"{_count(policy.get('maxAttempts'), 'attempt')}, {policy.get('backoffSeconds')} s backoff"),
        ("Created", report.get("createdAt")), ("Started", report.get("startedAt")),
        ("Ended", report.get("endedAt") or "not ended"), ("Duration", _duration(report.get("durationSeconds"))),
        ("Secrets used (names)", ", ".join(report.get("secrets") or []) or "none"),
    ]
    body = "".join(f"<tr><td>{_e(k)}</td><td class=\"mono\">{_e(v)}</td></tr>" for k, v in rows)
    return f'<table class="meta">{body}</table>'


def _steps(report: dict) -> str:
    rows = []
    for step in report["steps"]:
        attempts = "<br>".join(
            f"#{a['attempt']} {_e(a['result'])}: {_e(_clock(a['start']))} → {_e(_clock(a['end']) or '…')}"
            f" ({_e(_duration(a['durationSeconds']))})" + (f" — {_e(a['message'])}" if a.get("message") else "")
            for a in step["attempts"]) or "—"
        depth = 0
        parent = step.get("parent")
        while parent:
            depth += 1
            parent = next((s.get("parent") for s in report["steps"] if s["id"] == parent), None)
        rows.append(f'<tr><td class="mono id" style="padding-left:{0.5 + depth * 1.2}em">{_e(step["id"])}</td>'
                    f"<td>{_e(step['kind'])}</td><td class=\"{_e(step['status'])}\">{_e(step['status'])}</td>"
                    f"<td>{_e(_duration(step.get('durationSeconds')))}</td><td>{attempts}</td>"
                    f"<td>{_e(step.get('statusReason') or '')}</td></tr>")
    head = "<tr><th>Step</th><th>Kind</th><th>Status</th><th>Duration</th><th>Attempts</th><th>Reason</th></tr>"
    return f"<h2>Steps</h2><table>{head}{''.join(rows)}</table>"


def _gates(report: dict) -> str:
    if not report["gates"]:
        return "<h2>Gate decisions</h2><p>This pack has no gates.</p>"
    rows = [[g["stepId"], g["kind"], g.get("approvalId") or g.get("policy"), g.get("decision") or "undecided",
             g.get("decidedBy"), g.get("decidedAt"), g.get("reason"), g.get("expiresAt"),
             ", ".join(g.get("grants") or [])] for g in report["gates"]]
    return "<h2>Gate decisions</h2>" + _table(
        ["Step", "Kind", "Approval / policy", "Decision", "By", "When", "Reason", "Expires", "Grants"], rows)


def _inputs(report: dict) -> str:
    text = json.dumps(report.get("inputs"), indent=2, sort_keys=True, ensure_ascii=False)
    return f"<h2>Inputs</h2><pre class=\"mono\">{_e(text)}</pre>"


def timeline_svg(report: dict, width: int = 900) -> str:
    """Attempts as bars on a time axis, one row per step that started; inline SVG."""
    rows = [step for step in report["steps"] if step["attempts"]]
    if not rows:
        return "<p>No step started.</p>"
    starts = [parse_iso(a["start"]) for s in rows for a in s["attempts"]]
    ends = [parse_iso(a["end"]) for s in rows for a in s["attempts"] if a["end"]] or starts
    origin, last = min(starts), max(ends + starts)
    span = max((last - origin).total_seconds(), 1e-3)
    label, row_height, axis = 220, 18, 24
    plot = width - label - 10
    height = axis + row_height * len(rows) + 6
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="timeline of attempts">',
           '<defs><pattern id="wait" width="6" height="6" patternUnits="userSpaceOnUse" '
           'patternTransform="rotate(45)"><rect width="6" height="6" fill="#eceff1"/>'
           '<line x1="0" y1="0" x2="0" y2="6" stroke="#90a4ae" stroke-width="2"/></pattern></defs>',
           f'<line x1="{label}" y1="{axis - 4}" x2="{label + plot}" y2="{axis - 4}" stroke="#999"/>']
    for tick in range(5):
        x = label + plot * tick / 4
        out.append(f'<text x="{x:.1f}" y="12" font-size="10" text-anchor="middle" fill="#555">'
                   f'{_e(_duration(span * tick / 4))}</text>')
    waits = {g["stepId"]: g for g in report.get("gates") or [] if g.get("requestedAt")}
    for index, step in enumerate(rows):
        y = axis + index * row_height
        gate = waits.get(step["id"])
        if gate:  # the wait for a decision, hatched grey behind the gate's instant
            begin = (parse_iso(gate["requestedAt"]) - origin).total_seconds()
            finish = (parse_iso(gate["decidedAt"]) - origin).total_seconds() if gate.get("decidedAt") else span
            out.append(f'<rect x="{label + plot * begin / span:.1f}" y="{y + 5}" '
                       f'width="{max(plot * (finish - begin) / span, 1):.1f}" height="{row_height - 10}" '
                       f'fill="url(#wait)"><title>{_e(step["id"])}: waiting for a decision</title></rect>')
        out.append(f'<text x="{label - 6}" y="{y + 12}" font-size="11" text-anchor="end">'
                   f'{_e(_clip(step["id"], 34))}</text>')
        for attempt in step["attempts"]:
            begin = (parse_iso(attempt["start"]) - origin).total_seconds()
            finish = (parse_iso(attempt["end"]) - origin).total_seconds() if attempt["end"] else span
            x = label + plot * begin / span
            w = max(plot * (finish - begin) / span, 2)
            colour = _COLOURS.get(attempt["result"], "#607d8b")
            out.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_height - 6}" fill="{colour}">'
                       f'<title>{_e(step["id"])} attempt {attempt["attempt"]}: {_e(attempt["result"])}</title></rect>')
    out.append("</svg>")
    return "".join(out)


def _table(head: list[str], rows: list[list[Any]]) -> str:
    header = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{header}</tr>{body}</table>"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"


def _clock(moment: str | None) -> str | None:
    """The time of day of an ISO timestamp, to the millisecond (the date is in the summary)."""
    return moment[11:23] if moment and len(moment) >= 23 else moment


def _count(number, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _e(value: Any) -> str:
    """Escaped text; control characters shown as escapes, never raw."""
    text = "" if value is None else str(value)
    text = "".join(ch if ch >= " " or ch in "\n\t" else f"\\x{ord(ch):02x}" for ch in text)
    return escape(text, quote=True)
