"""The run side of the main window: start, watch, decide gates, open and resume runs.

A mixin of :class:`~stella_desktop.main_window.MainWindow` (it uses the
window's widgets and settings), kept apart so each module reads in one sitting.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer

from core.errors import PackInvalid
from core.execution.executors import ExecutorRegistry
from core.execution.run import PlanDrift
from core.execution.scheduler import DecisionError
from core.execution.store import RunStore, RunStoreError
from stella_desktop.dialogs import DecisionDialog
from stella_desktop.runner import describe
from stella_desktop.step_status import countdown_notes


class RunViews:
    # -- running -----------------------------------------------------------------------------------
    def _registry(self) -> ExecutorRegistry:
        return ExecutorRegistry.default(allow_commands=self.settings.allow_commands)

    def _store(self) -> RunStore:
        return RunStore(self.settings.store_folder)

    def run_pack(self) -> None:
        if not self.manifest_path or self.run_control.driving:
            return
        if self.result is None or self.result.preview is None:
            self.notify("Cannot run", "The pack has problems; fix them first (see Problems).", error=True)
            return
        inputs, _ = self.inputs.values() if self._specs_key is not None else (self.initial_inputs, {})
        try:
            run = self.run_control.start_new(self._store(), self.manifest_path, inputs, self._registry(),
                                             self.settings.workers)
        except PackInvalid as invalid:
            self.problems.show_problems(invalid.problems)
            self.docks["problems"].raise_()
            hint = ""
            if any("no executor is installed" in p.message for p in invalid.problems):
                hint = ("\n\nThe bundled release-approval and nightly-mirror samples (File > Open Sample) "
                        "run with the built-in executors.")
            self.notify("The run cannot start", "Nothing was run:\n" + "\n".join(
                f"• {p.context() + ': ' if p.context() else ''}{p.message}" for p in invalid.problems) + hint,
                error=True)
            return
        except RunStoreError as error:
            self.notify("The run store failed", str(error), error=True)
            return
        self._enter_run(run, started=True)

    def _enter_run(self, run, started: bool) -> None:
        self.banner.hide()
        self.run_log.clear()
        for record in run.handle.records:
            self.run_log.appendPlainText(f"{record.get('at', '')}  {describe(record)}")
        self.views = self.run_control.views()
        self.scene.show_graph(run.graph)
        self.scene.set_statuses(self.views)
        self.results.show_graph(run.graph, self.views)
        self.pack_label.setText(f"{run.plan.pack_name} {run.plan.pack_version} — run {run.run_id}")
        self._show_counts()
        self.docks["run-log"].raise_()
        if started:
            self._countdown.start()
        self.runs.mark_stale()
        self._update_actions()
        QTimer.singleShot(0, self.view.fit)

    def _on_record(self, record: dict) -> None:
        self.run_log.appendPlainText(f"{record.get('at', '')}  {describe(record)}")
        if record["type"] == "expand":
            run = self.run_control.run
            self.scene.show_graph(run.graph)
            self.results.show_graph(run.graph, self.run_control.views())

    def _on_views_changed(self, changed: dict) -> None:
        self.views.update(changed)
        self.scene.set_statuses(changed, self._notes(changed))
        self.results.model.set_views(changed, set(changed))
        self._show_counts()
        if self.selected in changed:
            self.select_step(self.selected)

    def _notes(self, views: dict) -> dict[str, str]:
        return countdown_notes(views)

    def _refresh_countdowns(self) -> None:
        waiting = {k: v for k, v in self.views.items() if v.status == "retry-waiting"}
        if waiting:
            self.scene.set_statuses(waiting, self._notes(waiting))
            self.results.model.set_views(waiting, set(waiting))

    def _on_run_stopped(self, status: str) -> None:
        self._countdown.stop()
        self.views = self.run_control.views()
        self.scene.set_statuses(self.views, self._notes(self.views))
        self.results.model.set_views(self.views)
        self._show_counts()
        run = self.run_control.run
        if status == "waiting":
            self._show_waiting()
        elif status == "cancelled":
            self.banner.show_message(f"Run {run.run_id} was cancelled. It can be resumed.",
                                     [("Resume", lambda: self.resume_run(run.run_id))])
        else:
            self.banner.show_message(f"Run {run.run_id} {status}.", [("Dismiss", self.banner.hide)])
        self.statusBar().showMessage(f"Run {status}", 8000)
        self.runs.mark_stale()
        self._update_actions()

    def _show_waiting(self) -> None:
        scheduler = self.run_control.scheduler
        for step_id in sorted(scheduler.waiting):
            step = scheduler.graph.step(step_id)
            if step.kind == "gate.approval":
                text = f"Paused: the run is waiting for approval '{step.approval_id}' at step '{step_id}'."
                if step.gate_message:
                    text += f"  {step.gate_message}"
                self.banner.show_message(text, [("Approve…", lambda: self._ask_decision("approval", True)),
                                                ("Reject…", lambda: self._ask_decision("approval", False))])
            else:
                self.banner.show_message(f"Paused: the run is waiting for a decision on policy '{step.policy}' "
                                         f"at step '{step_id}'.",
                                         [("Allow…", lambda: self._ask_decision("policy", True)),
                                          ("Deny…", lambda: self._ask_decision("policy", False))])
            self.select_step(step_id)
            return

    def _waiting_gate(self, kind: str):
        scheduler = self.run_control.scheduler
        if scheduler is None:
            return None
        for step_id in sorted(scheduler.waiting):
            step = scheduler.graph.step(step_id)
            if step.kind == f"gate.{kind}":
                return step
        return None

    def _ask_decision(self, kind: str, yes: bool) -> None:
        step = self._waiting_gate(kind)
        if step is None:
            self.notify("Nothing to decide", f"The run is not waiting for {'an approval' if kind == 'approval' else 'a policy decision'}.")
            return
        if kind == "approval":
            verb = "Approve" if yes else "Reject"
            what = f"{verb} '{step.approval_id}' for step '{step.id}'?"
        else:
            verb = "Allow" if yes else "Deny"
            what = f"{verb} policy '{step.policy}' at step '{step.id}'?"
        dialog = DecisionDialog(f"{verb} — {step.id}", what, verb, self.settings.decided_by, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._decide(kind, yes, step, *dialog.decision()))
        dialog.open()

    def _decide(self, kind: str, yes: bool, step, by: str, reason: str | None) -> None:
        self.settings.decided_by = by
        self.banner.hide()  # deciding may pause the run again at once, showing the next banner
        self._countdown.start()
        try:
            if kind == "approval":
                self.run_control.approve(step.approval_id, by, reason, yes)
            else:
                self.run_control.decide_policy(step.id, yes, by, reason)
        except DecisionError as error:
            self.notify("Decision not recorded", str(error), error=True)
            return
        except RunStoreError as error:
            self.notify("The run store failed", str(error), error=True)
            return
        self._update_actions()

    # -- runs browser -------------------------------------------------------------------------------
    def _show_runs(self) -> None:
        self.runs.mark_stale()
        self.docks["runs"].show()
        self.docks["runs"].raise_()

    def open_run(self, run_id: str) -> None:
        if self.run_control.driving:
            self.notify("A run is in progress", "Cancel it before opening another run.")
            return
        try:
            run = self.run_control.view_only(self._store(), run_id)
        except (PlanDrift, RunStoreError) as error:
            self.notify(f"Run {run_id} cannot be opened", str(error), error=True)
            return
        self.manifest_path = run.header["manifestPath"]
        self._enter_run(run, started=False)
        self.banner.show_message(f"Showing run {run_id} ({run.scheduler.status}).",
                                 [("Resume", lambda: self.resume_run(run_id))] if run.scheduler.status
                                 not in ("succeeded", "failed") else [("Dismiss", self.banner.hide)])

    def resume_run(self, run_id: str) -> None:
        if self.run_control.driving:
            self.notify("A run is in progress", "Cancel it before resuming another run.")
            return
        try:
            run = self.run_control.resume(self._store(), run_id, self._registry(), self.settings.workers)
        except PlanDrift as drift:
            self.notify("This run cannot be resumed", str(drift), error=True)
            return
        except PackInvalid as invalid:
            self.notify("This run cannot be resumed", "\n".join(str(p) for p in invalid.problems), error=True)
            return
        except RunStoreError as error:
            self.notify("This run cannot be resumed", str(error), error=True)
            return
        self.manifest_path = run.header["manifestPath"]
        self._enter_run(run, started=True)

    def offer_resume(self) -> None:
        """After a crash or a close mid-run: offer to resume the newest interrupted run."""
        for summary in self._store().list():
            if summary.status == "running" or summary.status == "cancelled":
                pack = (summary.pack or {}).get("name", "?")
                self.banner.show_message(
                    f"Run {summary.run_id} of {pack} was interrupted ({summary.status}). Resume it?",
                    [("Resume", lambda _=False, r=summary.run_id: self.resume_run(r)), ("Dismiss", self.banner.hide)])
                return
