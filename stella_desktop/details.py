"""The details panel: everything about the selected step, values distinct by kind."""

from __future__ import annotations

import html
import json

from PySide6.QtWidgets import QTextBrowser

from core.execution.clock import iso
from core.plan import Plan, PlannedStep, RuntimeValue, SecretRef
from core.execution.describe import describe
from stella_desktop.status_style import STYLES
from stella_desktop.step_status import StepView


def _value_html(value) -> str:
    if isinstance(value, SecretRef):
        return (f'<span style="color:#9c2f6b"><b>secret</b> <code>{html.escape(value.name)}</code> '
                f'(a reference: never shown, never stored)</span>')
    if isinstance(value, RuntimeValue):
        return (f'<span style="color:#1f5fbf"><i>at run time:</i> '
                f'<code>{html.escape(value.template)}</code></span>')
    if isinstance(value, dict):
        if not value:
            return "<code>{}</code>"
        rows = "".join(f"<tr><td valign='top'><code>{html.escape(str(k))}</code></td><td>{_value_html(v)}</td></tr>"
                       for k, v in value.items())
        return f"<table cellspacing=2>{rows}</table>"
    if isinstance(value, list) and any(isinstance(v, (SecretRef, RuntimeValue, dict)) for v in value):
        return "<ol start=0>" + "".join(f"<li>{_value_html(v)}</li>" for v in value) + "</ol>"
    text = json.dumps(value, ensure_ascii=False)
    if len(text) > 400:
        text = text[:400] + "…"
    return f"<code>{html.escape(text)}</code>"


def step_details_html(step: PlannedStep, view: StepView, plan: Plan, records: list[dict] | None = None) -> str:
    rows = [("Step", f"<b>{html.escape(step.id)}</b>"), ("Template id", html.escape(step.template_id)),
            ("Kind", html.escape(step.kind))]
    if step.name:
        rows.append(("Name", html.escape(step.name)))
    if step.uses:
        rows.append(("Uses", f"<code>{html.escape(step.uses)}</code>"))
    style = STYLES.get(view.status, STYLES["pending"])
    rows.append(("Status", f'<span style="background:{style.fill};color:{style.text};padding:2px 6px">'
                           f"&nbsp;{html.escape(style.label)}&nbsp;</span>"))
    if view.reason:
        rows.append(("Reason", html.escape(view.reason)))
    if step.when:
        rows.append(("When", f"<code>{html.escape(step.when)}</code>" + (" (decided at run time)" if step.when_runtime else "")))
    if step.is_block:
        limit = "unlimited" if step.max_parallel is None else str(step.max_parallel)
        rows.append(("maxParallel", limit))
        rows.append(("continueOnError", "yes" if step.continue_on_error else "no"))
    if step.kind == "gate.approval" and step.approval_id in plan.approvals:
        approval = plan.approvals[step.approval_id]
        rows.append(("Approval", html.escape(approval.id)))
        rows.append(("Grants", html.escape(", ".join(approval.grants) or "anyone")))
        rows.append(("Expires after", html.escape(approval.expires_after or "never")))
        if approval.reason:
            rows.append(("Reason shown", _value_html(approval.reason)))
    if step.kind == "gate.policy":
        rows.append(("Policy", html.escape(step.policy or "")))
    if step.gate_message:
        rows.append(("Message", _value_html(step.gate_message)))
    if view.attempts:
        rows.append(("Attempts", str(view.attempts)))
    if view.next_attempt_at:
        rows.append(("Next attempt", iso(view.next_attempt_at)))
    if step.scope:
        rows.append(("Map item", _value_html(step.scope.get("item")) + f" (index {step.scope.get('index')})"))
    body = "".join(f"<tr><th align=left valign=top style='padding-right:12px;color:#486581'>{k}</th><td>{v}</td></tr>"
                   for k, v in rows)
    parts = [f"<table>{body}</table>"]
    if step.parameters:
        parts.append("<h4>Parameters</h4>" + _value_html(step.parameters))
    history = [r for r in (records or []) if r.get("stepId") == step.id]
    if history:
        items = "".join(f"<li><code>{html.escape(r.get('at') or '')}</code> {html.escape(describe(r))}</li>"
                        for r in history[-50:])
        parts.append(f"<h4>History</h4><ul>{items}</ul>")
    return "".join(parts)


class DetailsPanel(QTextBrowser):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("details")
        self.setOpenLinks(False)
        self.show_nothing()

    def show_nothing(self) -> None:
        self.setHtml("<p style='color:#829ab1'>Select a step in the graph or the table to see its details.</p>")

    def show_step(self, step: PlannedStep, view: StepView, plan: Plan, records: list[dict] | None = None) -> None:
        self.setHtml(step_details_html(step, view, plan, records))
