"""The details panel: everything about the selected step, or the pack when none is selected.

Values are distinct by kind (secrets, run-time templates, JSON).  After a run
it adds the step's outputs, per-attempt durations and the run's workspace.
It mirrors the session's selection and statuses.
"""

from __future__ import annotations

import html
import json
import re

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QTextOption
from PySide6.QtWidgets import QTextBrowser

from core.execution.clock import iso
from core.execution.preflight import secrets_from_environment
from core.plan import Plan, PlannedStep, RuntimeValue, SecretRef
from stella_desktop.presentation import attempt_durations, describe, duration, plural
from stella_desktop.status_style import STYLES
from stella_desktop.step_status import StepView

_KEY = "style='padding-right:14px;color:#486581'"


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
        rows = "".join(f"<tr><td valign='top' {_KEY}><code>{html.escape(str(k))}</code></td>"
                       f"<td>{_value_html(v)}</td></tr>" for k, v in value.items())
        return f"<table cellspacing=2 cellpadding=1>{rows}</table>"
    if isinstance(value, list) and any(isinstance(v, (SecretRef, RuntimeValue, dict)) for v in value):
        return "<ol start=0>" + "".join(f"<li>{_value_html(v)}</li>" for v in value) + "</ol>"
    text = json.dumps(value, ensure_ascii=False)
    if len(text) > 400:
        text = text[:400] + "…"
    return f"<code>{breakable(text)}</code>"


def breakable(text: str) -> str:
    """Escaped text that wraps after separators ("/", ".", ",", "_") rather than mid-token; a long
    run without any (a hash) may wrap every 20 characters."""
    if len(text) <= 24:
        return html.escape(text)
    escaped = html.escape(re.sub(r"([^\s/,_.]{20})(?=[^\s/,_.])", "\\1\u200b", text))
    for separator in ("/", ",", "_", "."):
        escaped = escaped.replace(separator, separator + "\u200b")
    return escaped


def _table(rows) -> str:
    body = "".join(f"<tr><th align=left valign=top {_KEY}>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def pack_summary_html(pack, plan: Plan | None, plan_hash: str | None, run=None, environ=None) -> str:
    """The pack as a whole: description, failure policy, declared outputs, secrets (set or not), the run."""
    meta = pack.manifest.metadata
    rows = [("Pack", f"<b>{html.escape(meta.name)}</b> {html.escape(meta.version)}")]
    if meta.description:
        rows.append(("Description", html.escape(meta.description)))
    if plan is not None:
        policy = plan.failure_policy
        rows.append(("Failure policy", f"{plural(policy.max_attempts, 'attempt')} per step, "
                                       f"{duration(policy.backoff_seconds) or '0 s'} backoff"))
    rows.append(("Plan hash", f"<code>{breakable(plan_hash)}</code>" if plan_hash else "none yet: inputs incomplete"))
    secrets = [s.name for s in pack.manifest.spec.secrets]
    if secrets:
        found = secrets_from_environment(secrets, environ)
        rows.append(("Secrets", "<br>".join(
            f"<code>{html.escape(n)}</code> " + ("<span style='color:#2f7d32'>set</span>" if n in found else
                                                 f"<span style='color:#c92a2a'>not set</span> "
                                                 f"(<code>{breakable('STELLA_SECRET_' + n)}</code>)")
            for n in secrets)))
    outputs = pack.manifest.spec.outputs
    if outputs:
        rows.append(("Outputs", "<br>".join(
            f"<code>{html.escape(o.name)}</code> ({html.escape(o.type)}): "
            f"<code>{breakable(o.path or o.expression or '')}</code>" for o in outputs)))
    if run is not None:
        folder = run.handle.workspace
        rows.append(("Run", f"{html.escape(run.run_id)} ({html.escape(run.scheduler.status)})"))
        rows.append(("Workspace", f"<a href='{QUrl.fromLocalFile(str(folder)).toString()}'>"
                                  f"{breakable(str(folder))}</a>"))
    return _table(rows) + "<p style='color:#829ab1'>Select a step in the graph or the table to see its details.</p>"


def step_details_html(step: PlannedStep, view: StepView, plan: Plan, records: list[dict] | None = None,
                      outputs: dict | None = None) -> str:
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
    if step.uses:
        policy = plan.failure_policy
        rows.append(("On failure", f"{plural(policy.max_attempts, 'attempt')}, "
                                   f"{duration(policy.backoff_seconds) or '0 s'} backoff"))
    if view.attempts:
        rows.append(("Attempts", str(view.attempts)))
    times = attempt_durations(records or [], step.id)
    if times:
        rows.append(("Took", f"{duration(sum(times))}" + (
            " (" + ", ".join(duration(t) for t in times) + ")" if len(times) > 1 else "")))
    if view.next_attempt_at:
        rows.append(("Next attempt", iso(view.next_attempt_at)))
    if step.scope:
        rows.append(("Map item", _value_html(step.scope.get("item")) + f" (index {step.scope.get('index')})"))
    parts = [_table(rows)]
    if step.parameters:
        parts.append("<h4>Parameters</h4>" + _value_html(step.parameters))
    if outputs:
        parts.append("<h4>Outputs</h4>" + _value_html(outputs))
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
        self.setWordWrapMode(QTextOption.WrapMode.WordWrap)  # long tokens scroll, never break mid-token
        self.anchorClicked.connect(QDesktopServices.openUrl)  # the workspace folder
        self.session = None
        self.show_nothing()

    def bind(self, session) -> None:
        """Mirror ``session``'s selected step (or its pack when none is), refreshed as statuses change."""
        self.session = session
        session.selection_changed.connect(lambda _: self.refresh())
        session.graph_changed.connect(lambda _: self.refresh())
        session.statuses_changed.connect(lambda changed: self.refresh() if session.selected in changed
                                         or session.selected is None else None)

    def refresh(self) -> None:
        session = self.session
        pack = session.simulation.pack if session.simulation else None
        if session.selected is None or session.graph is None:
            if pack is None:
                self.show_nothing()
            else:
                self.setHtml(pack_summary_html(pack, session.plan, session.pack.plan_hash, session.run))
            return
        step_id = session.selected
        outputs = session.scheduler.outputs.get(step_id) if session.scheduler else None
        self.show_step(session.graph.step(step_id), session.views.get(step_id, StepView("pending")), session.plan,
                       session.records, outputs)
        forecast = getattr(session, "forecast", None)  # the forecast document, when the window has one
        if forecast is not None and forecast.result is not None and session.run is not None:
            from core.forecast.compare import explain
            why = explain(forecast.result, session.run.snapshot()).get(step_id)
            if why:
                self.append(f"<p><b>Against the forecast:</b> {html.escape(why)}</p>")

    def show_nothing(self) -> None:
        self.setHtml("<p style='color:#829ab1'>Select a step in the graph or the table to see its details.</p>")

    def show_step(self, step: PlannedStep, view: StepView, plan: Plan, records: list[dict] | None = None,
                  outputs: dict | None = None) -> None:
        self.setHtml(step_details_html(step, view, plan, records, outputs))
