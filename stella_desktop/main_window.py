"""The main window: open a pack, see its graph, simulate, run, decide gates, resume, export."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QThreadPool, QTimer
from PySide6.QtWidgets import (
    QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox, QPlainTextEdit, QProgressBar, QVBoxLayout,
    QWidget,
)

from core.errors import PackInvalid
from core.execution.store import RunStore
from core.inputs import read_inputs_file
from stella_desktop.actions import build_actions
from stella_desktop.canvas.legend import LegendWidget
from stella_desktop.canvas.scene import GraphScene
from stella_desktop.canvas.view import GraphView
from stella_desktop.details import DetailsPanel
from stella_desktop.dialogs import PreferencesDialog, apply_theme
from stella_desktop.inputs_panel import InputsPanel
from stella_desktop.problems import ProblemsPanel, SourceView, input_name
from stella_desktop.results import ResultsPanel
from stella_desktop.run_views import RunViews
from stella_desktop.run_control import RunControl
from stella_desktop.runs_browser import RunsBrowser
from stella_desktop.settings import AppSettings
from stella_desktop.banner import Banner
from stella_desktop.bundled import sample_packs
from stella_desktop.export import GraphTitle, export_graph_image
from stella_desktop.step_status import StepView, from_preview
from stella_desktop.workers import SimulationRequest, SimulationResult, SimulationTask

BUSY_AFTER_MS = 150


class MainWindow(RunViews, QMainWindow):
    def __init__(self, settings: AppSettings | None = None, parent=None):
        super().__init__(parent)
        self.setObjectName("main-window")
        self.setWindowTitle("Stella Desktop")
        self.setAcceptDrops(True)
        self.settings = settings or AppSettings()
        self.manifest_path: str | None = None
        self.initial_inputs: dict = {}
        self.initial_inputs_label = "inputs"
        self.result: SimulationResult | None = None
        self.views: dict[str, StepView] = {}
        self.selected: str | None = None
        self.last_notice: tuple[str, str] | None = None
        self._serial = 0
        self._tasks: dict[int, SimulationTask] = {}
        self._specs_key = None
        self.run_control = RunControl(self)
        self._build_widgets()
        self.actions = build_actions(self)
        self._build_menus()
        self._connect()
        self._update_actions()
        self.resize(1400, 900)
        self._restore_layout()

    # -- building -------------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.scene = GraphScene(self)
        self.scene.set_collapse_threshold(self.settings.collapse_over)
        self.view = GraphView(self.scene)
        self.banner = Banner()
        self.legend = LegendWidget()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.legend)
        layout.addWidget(self.view, 1)
        self.setCentralWidget(central)
        self.inputs = InputsPanel()
        self.problems = ProblemsPanel()
        self.results = ResultsPanel()
        self.details = DetailsPanel()
        self.run_log = QPlainTextEdit()
        self.run_log.setObjectName("run-log")
        self.run_log.setReadOnly(True)
        self.run_log.setMaximumBlockCount(20_000)
        self.runs = RunsBrowser()
        self.runs.set_store(RunStore(self.settings.store_folder))
        self.source = SourceView()
        self.docks = {}
        for name, title, widget, area in (
            ("inputs", "Inputs", self.inputs, Qt.DockWidgetArea.LeftDockWidgetArea),
            ("details", "Details", self.details, Qt.DockWidgetArea.RightDockWidgetArea),
            ("results", "Results", self.results, Qt.DockWidgetArea.BottomDockWidgetArea),
            ("problems", "Problems", self.problems, Qt.DockWidgetArea.BottomDockWidgetArea),
            ("run-log", "Run Log", self.run_log, Qt.DockWidgetArea.BottomDockWidgetArea),
            ("runs", "Runs", self.runs, Qt.DockWidgetArea.BottomDockWidgetArea),
            ("source", "Source", self.source, Qt.DockWidgetArea.RightDockWidgetArea),
        ):
            dock = QDockWidget(title, self)
            dock.setObjectName(f"dock-{name}")
            dock.setWidget(widget)
            self.addDockWidget(area, dock)
            self.docks[name] = dock
        self.docks["inputs"].setMinimumWidth(300)
        self.docks["details"].setMinimumWidth(320)
        self.pack_label = QLabel("No pack")
        self.pack_label.setObjectName("status-pack")
        self.hash_label = QLabel()
        self.hash_label.setObjectName("status-hash")
        self.counts_label = QLabel()
        self.counts_label.setObjectName("status-counts")
        self.busy = QProgressBar()
        self.busy.setObjectName("busy")
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(140)
        self.busy.hide()
        for widget in (self.pack_label, self.hash_label):
            self.statusBar().addWidget(widget)
        self.statusBar().addPermanentWidget(self.counts_label)
        self.statusBar().addPermanentWidget(self.busy)
        self._busy_timer = QTimer(self)
        self._busy_timer.setSingleShot(True)
        self._busy_timer.timeout.connect(self.busy.show)
        self._countdown = QTimer(self)
        self._countdown.setInterval(500)
        self._countdown.timeout.connect(self._refresh_countdowns)

    def _build_menus(self) -> None:
        a = self.actions
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(a["open"])
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.setObjectName("menu-recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        samples = file_menu.addMenu("Open &Sample")
        samples.setObjectName("menu-samples")
        for path in sample_packs():
            label = path.parent.name if path.name == "pack.yaml" else path.stem
            samples.addAction(label, lambda p=str(path): self.open_pack(p, _sample_inputs(p)))
        file_menu.addAction(a["reload"])
        file_menu.addSeparator()
        file_menu.addAction(a["export-preview"])
        file_menu.addAction(a["export-graph"])
        file_menu.addSeparator()
        file_menu.addAction(a["preferences"])
        file_menu.addSeparator()
        file_menu.addAction(a["quit"])
        view_menu = self.menuBar().addMenu("&View")
        for name in ("fit", "zoom-in", "zoom-out", "find", "expand-all", "collapse-all"):
            view_menu.addAction(a[name])
        view_menu.addSeparator()
        for dock in self.docks.values():
            view_menu.addAction(dock.toggleViewAction())
        run_menu = self.menuBar().addMenu("&Run")
        for name in ("simulate", "run", "cancel"):
            run_menu.addAction(a[name])
        run_menu.addSeparator()
        for name in ("approve", "reject", "allow", "deny"):
            run_menu.addAction(a[name])
        run_menu.addSeparator()
        run_menu.addAction(a["runs"])
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("toolbar-main")
        for name in ("open", "reload", None, "simulate", "run", "cancel", None, "fit", "export-preview"):
            toolbar.addSeparator() if name is None else toolbar.addAction(a[name])

    def _connect(self) -> None:
        a = self.actions
        a["open"].triggered.connect(self._open_dialog)
        a["reload"].triggered.connect(self.simulate)
        a["simulate"].triggered.connect(self.simulate)
        a["run"].triggered.connect(self.run_pack)
        a["cancel"].triggered.connect(self.run_control.cancel)
        a["approve"].triggered.connect(lambda: self._ask_decision("approval", True))
        a["reject"].triggered.connect(lambda: self._ask_decision("approval", False))
        a["allow"].triggered.connect(lambda: self._ask_decision("policy", True))
        a["deny"].triggered.connect(lambda: self._ask_decision("policy", False))
        a["export-preview"].triggered.connect(self._export_preview_dialog)
        a["export-graph"].triggered.connect(self._export_graph_dialog)
        a["fit"].triggered.connect(self.view.fit)
        a["find"].triggered.connect(self.view.open_find)
        a["expand-all"].triggered.connect(lambda: self.scene.set_all_expanded(True))
        a["collapse-all"].triggered.connect(lambda: self.scene.set_all_expanded(False))
        a["zoom-in"].triggered.connect(lambda: self.view.zoom_by(1.25))
        a["zoom-out"].triggered.connect(lambda: self.view.zoom_by(0.8))
        a["runs"].triggered.connect(self._show_runs)
        a["preferences"].triggered.connect(self._preferences)
        a["quit"].triggered.connect(self.close)
        self.scene.step_clicked.connect(self.select_step)
        self.view.navigated.connect(self.select_step)
        self.results.step_selected.connect(self.select_step)
        self.problems.open_source.connect(self.show_source)
        self.inputs.changed.connect(self.simulate)
        self.runs.open_run.connect(self.open_run)
        self.runs.resume_run.connect(self.resume_run)
        self.run_control.record.connect(self._on_record)
        self.run_control.views_changed.connect(self._on_views_changed)
        self.run_control.stopped.connect(self._on_run_stopped)
        self.run_control.store_failed.connect(lambda m: self.notify("The run store failed", m, error=True))

    # -- notices -------------------------------------------------------------------------------
    def notify(self, title: str, text: str, error: bool = False) -> None:
        """A non-blocking message box (tests read ``last_notice``)."""
        self.last_notice = (title, text)
        box = QMessageBox(QMessageBox.Icon.Warning if error else QMessageBox.Icon.Information, title, text,
                          QMessageBox.StandardButton.Ok, self)
        box.setObjectName("notice")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    # -- opening and simulating ----------------------------------------------------------------
    def open_pack(self, path: str, inputs_path: str | None = None) -> None:
        if self.run_control.driving:
            self.notify("A run is in progress", "Cancel the run before opening another pack.")
            return
        self.run_control.release()
        self.manifest_path = str(Path(path).resolve())
        self.initial_inputs, self.initial_inputs_label = {}, "inputs"
        self._specs_key = None
        if inputs_path:
            try:
                self.initial_inputs = read_inputs_file(inputs_path)
                self.initial_inputs_label = inputs_path
            except PackInvalid as invalid:
                self.notify("Inputs not loaded", "\n".join(str(p) for p in invalid.problems), error=True)
        self.settings.add_recent(self.manifest_path)
        self.setWindowTitle(f"{Path(path).name} — Stella Desktop")
        self.banner.hide()
        self.run_log.clear()
        self.simulate(fit=True)

    def simulate(self, fit: bool = False) -> None:
        if not self.manifest_path or self.run_control.driving:
            return
        if self._specs_key is None:
            inputs, label, form_errors = self.initial_inputs, self.initial_inputs_label, {}
        else:
            inputs, form_errors = self.inputs.values()
            label = "inputs"
        if form_errors:
            self.inputs.show_errors(form_errors)
            return
        self._serial += 1
        task = SimulationTask(SimulationRequest(self._serial, self.manifest_path, inputs, label))
        task.signals.done.connect(lambda result, fit=fit: self._on_simulated(result, fit))
        self._tasks[self._serial] = task
        self._busy_timer.start(BUSY_AFTER_MS)
        QThreadPool.globalInstance().start(task)

    def _on_simulated(self, result: SimulationResult, fit: bool) -> None:
        self._tasks.pop(result.serial, None)
        if result.serial != self._serial:
            return  # a newer simulation is on its way
        self._busy_timer.stop()
        self.busy.hide()
        if result.error:
            self.notify("Simulation failed", result.error, error=True)
            return
        if result.pack is None:  # unreadable pack: no form of a previous pack may stay on screen
            self.inputs.set_specs([], {})
            self._specs_key = None
        else:
            specs = result.pack.manifest.spec.inputs
            key = (result.manifest_path, tuple(s.model_dump_json() for s in specs))
            if key != self._specs_key:
                self.inputs.set_specs(specs, self.initial_inputs)
                self._specs_key = key
        self.result = result
        self.problems.show_problems(result.problems)
        errors = {}
        for problem in result.input_problems:
            name = input_name(problem)
            if name:
                errors[name] = problem.message.split(": ", 1)[-1]
        self.inputs.show_errors(errors)
        if result.preview is None:
            count = len(result.problems)
            self.scene.show_message(f"This pack has {count} problem{'s' if count != 1 else ''}.\n"
                                    "Fix them (see Problems) to see its graph.")
            self.results.show_graph(None, {})
            self.details.show_nothing()
            self.docks["problems"].raise_()
            self.pack_label.setText(Path(result.manifest_path).name + " — invalid")
            self.hash_label.setText("")
            self.counts_label.setText(f"{count} problems")
            self._update_actions()
            return
        self.views = from_preview(result.preview)
        self.scene.show_graph(result.graph)
        self.scene.set_statuses(self.views)
        self.results.show_graph(result.graph, self.views)
        plan = result.plan
        self.pack_label.setText(f"{plan.pack_name} {plan.pack_version}")
        self.hash_label.setText(plan.plan_hash[:19])
        self.hash_label.setToolTip(plan.plan_hash)
        self._show_counts()
        if fit:
            QTimer.singleShot(0, self.view.fit)
        if self.selected and self.selected in result.graph:
            self.select_step(self.selected)
        else:
            self.selected = None
            self.details.show_nothing()
        self._update_actions()

    def _show_counts(self) -> None:
        counts: dict[str, int] = {}
        for view in self.views.values():
            counts[view.status] = counts.get(view.status, 0) + 1
        self.counts_label.setText("  ".join(f"{n} {s}" for s, n in sorted(counts.items())))

    # -- selection and source -------------------------------------------------------------------
    def select_step(self, step_id: str) -> None:
        graph = self._graph()
        if graph is None or step_id not in graph:
            return
        self.selected = step_id
        self.view.current = step_id
        self.scene.select_step(step_id)
        self.results.select(step_id)
        plan = self.run_control.run.plan if self.run_control.run else self.result.plan
        records = self.run_control.run.handle.records if self.run_control.run else None
        self.details.show_step(graph.step(step_id), self.views.get(step_id, StepView("pending")), plan, records)
        self.view.center_on_step(step_id)

    def _graph(self):
        if self.run_control.run is not None:
            return self.run_control.run.graph
        return self.result.graph if self.result else None

    def show_source(self, file: str, line: int, column: int) -> None:
        path = file if os.path.isfile(file) else self.manifest_path
        try:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
        except (OSError, TypeError):
            return
        self.source.show_text(text, line, column)
        self.docks["source"].show()
        self.docks["source"].raise_()

    # -- export -------------------------------------------------------------------------------------
    def _export_preview_dialog(self) -> None:
        if self.result is None or self.result.preview is None:
            self.notify("Nothing to export", "Simulate a valid pack first.")
            return
        name = f"{self.result.plan.pack_name}-preview.json"
        path, _ = QFileDialog.getSaveFileName(self, "Export preview", name, "JSON (*.json)")
        if path:
            self.export_preview(path)

    def export_preview(self, path: str) -> None:
        try:
            Path(path).write_text(self.result.preview.to_json(), encoding="utf-8")
        except OSError as error:
            self.notify("Preview not exported", f"Cannot write {path}: {error.strerror or error}", error=True)
            return
        self.statusBar().showMessage(f"Preview written to {path}", 5000)

    def _export_graph_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export graph", "graph.png", "PNG image (*.png);;SVG image (*.svg)")
        if path:
            self.export_graph(path)

    def export_graph(self, path: str) -> None:
        plan = self.run_control.run.plan if self.run_control.run else (self.result.plan if self.result else None)
        title = GraphTitle(plan.pack_name, plan.pack_version, plan.plan_hash) if plan is not None else None
        try:
            message = export_graph_image(self.scene, path, title)
        except OSError as error:
            self.notify("Graph not exported", str(error), error=True)
            return
        self.statusBar().showMessage(message, 8000)

    # -- misc ---------------------------------------------------------------------------------------
    def _open_dialog(self) -> None:
        folder = str(Path(self.manifest_path).parent) if self.manifest_path else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open Task Pack", folder, "Task Packs (*.yaml *.yml);;All files (*)")
        if path:
            self.open_pack(path)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        files = self.settings.recent_files()
        if not files:
            self.recent_menu.addAction("(none)").setEnabled(False)
        for path in files:
            self.recent_menu.addAction(path, lambda p=path: self.open_pack(p))

    def _preferences(self) -> None:
        dialog = PreferencesDialog(self.settings, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(self._apply_preferences)
        dialog.open()

    def _apply_preferences(self) -> None:
        from PySide6.QtWidgets import QApplication
        apply_theme(QApplication.instance(), self.settings.theme)
        self.runs.set_store(self._store())
        if self.settings.collapse_over != self.scene.threshold:
            self.scene.set_collapse_threshold(self.settings.collapse_over)

    def _update_actions(self) -> None:
        has_pack = bool(self.manifest_path)
        valid = self.result is not None and self.result.preview is not None
        driving = self.run_control.driving
        a = self.actions
        a["reload"].setEnabled(has_pack and not driving)
        a["simulate"].setEnabled(has_pack and not driving)
        a["run"].setEnabled(valid and not driving)
        a["cancel"].setEnabled(driving)
        a["export-preview"].setEnabled(valid)
        waiting = self.run_control.scheduler is not None and bool(self.run_control.scheduler.waiting)
        for name in ("approve", "reject", "allow", "deny"):
            a[name].setEnabled(waiting)
        self.inputs.setEnabled(not driving)

    def dragEnterEvent(self, event) -> None:
        if any(url.toLocalFile().lower().endswith((".yaml", ".yml")) for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        for url in event.mimeData().urls():
            path = url.toLocalFile()
            if path.lower().endswith((".yaml", ".yml")):
                self.open_pack(path)
                event.acceptProposedAction()
                return

    def _restore_layout(self) -> None:
        """The saved geometry and docks, else the default layout (never both: tabifying and then
        restoring leaves a stray tab bar on screen)."""
        geometry = self.settings.qt.value("window/geometry")
        state = self.settings.qt.value("window/state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray) and self.restoreState(state):
            return
        for name in ("problems", "run-log", "runs"):
            self.tabifyDockWidget(self.docks["results"], self.docks[name])
        self.tabifyDockWidget(self.docks["details"], self.docks["source"])
        self.docks["results"].raise_()
        self.docks["details"].raise_()

    def confirm_close(self) -> bool:
        answer = QMessageBox.question(
            self, "A run is in progress",
            "Stop the running steps and close? The run is saved and can be resumed when you reopen the app.")
        return answer == QMessageBox.StandardButton.Yes

    def closeEvent(self, event) -> None:
        if self.run_control.driving and not self.confirm_close():
            event.ignore()
            return
        self._countdown.stop()
        for notice in self.findChildren(QMessageBox):
            notice.close()
        self.run_control.stop_for_close()
        QThreadPool.globalInstance().waitForDone(10_000)
        self.settings.qt.setValue("window/geometry", self.saveGeometry())
        self.settings.qt.setValue("window/state", self.saveState())
        event.accept()


def _sample_inputs(manifest: str) -> str | None:
    """A bundled sample's own inputs file, if it has one."""
    inputs = Path(manifest).with_name("inputs.json")
    return str(inputs) if inputs.exists() else None
