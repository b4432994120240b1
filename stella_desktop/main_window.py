"""The main window: a shell that lays out the panels, binds each to the session, and holds the actions.

It owns no document state: the :class:`~stella_desktop.session.Session` does.
Panels subscribe to the session and never reach into each other; the window
only places them, maps actions to session calls or dialogs
(:mod:`stella_desktop.window_commands`), and enables actions from one
function of the session's state (:mod:`stella_desktop.action_state`).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QThreadPool
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMessageBox, QVBoxLayout, QWidget

from core.gc_pause import release_long_lived
from stella_desktop import window_commands as commands
from stella_desktop.action_state import action_states, enabled_notes
from stella_desktop.actions import apply_states, build_actions
from stella_desktop.banner import Banner
from stella_desktop.bundled import sample_packs
from stella_desktop.details import DetailsPanel
from stella_desktop.diff_view import DiffView
from stella_desktop.graph_panel import GraphPanel
from stella_desktop.inputs_panel import InputsPanel
from stella_desktop.problems import ProblemsPanel
from stella_desktop.results import ResultsPanel
from stella_desktop.run_log import RunLog
from stella_desktop.runs_browser import RunsBrowser
from stella_desktop.assumptions_panel import AssumptionsPanel
from stella_desktop.forecast_binding import ForecastBinding
from stella_desktop.session import Mode, Session
from stella_desktop.settings import AppSettings
from stella_desktop.source_view import SourceView
from stella_desktop.status_bar import StatusBarPanel
from stella_desktop.timeline.panel import TimelinePanel

DOCKS = (
    # name, title, area
    ("inputs", "Inputs", Qt.DockWidgetArea.LeftDockWidgetArea),
    ("details", "Details", Qt.DockWidgetArea.RightDockWidgetArea),
    ("results", "Results", Qt.DockWidgetArea.BottomDockWidgetArea),
    ("problems", "Problems", Qt.DockWidgetArea.BottomDockWidgetArea),
    ("run-log", "Run Log", Qt.DockWidgetArea.BottomDockWidgetArea),
    ("runs", "Runs", Qt.DockWidgetArea.BottomDockWidgetArea),
    ("source", "Source", Qt.DockWidgetArea.RightDockWidgetArea),
    ("changes", "Changes", Qt.DockWidgetArea.BottomDockWidgetArea),
    ("timeline", "Timeline", Qt.DockWidgetArea.BottomDockWidgetArea),
    ("assumptions", "Assumptions", Qt.DockWidgetArea.LeftDockWidgetArea),
)


class MainWindow(QMainWindow):
    def __init__(self, settings: AppSettings | None = None, parent=None):
        super().__init__(parent)
        self.setObjectName("main-window")
        self.setAcceptDrops(True)
        self.settings = settings or AppSettings()
        self.session = Session(self.settings, self)
        self.last_notice: tuple[str, str] | None = None
        self._build_panels()
        self.actions = build_actions(self)
        self._build_menus()
        self._bind()
        self._update_title()
        self._update_actions()
        self._default_size()
        self._restore_layout()

    # -- building -------------------------------------------------------------------------------
    def _build_panels(self) -> None:
        self.banner = Banner()
        self.graph = GraphPanel()
        self.scene, self.view = self.graph.scene, self.graph.view
        self.scene.set_collapse_threshold(self.settings.collapse_over)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.graph, 1)
        self.setCentralWidget(central)
        self.inputs = InputsPanel()
        self.details = DetailsPanel()
        self.results = ResultsPanel()
        self.problems = ProblemsPanel()
        self.run_log = RunLog()
        self.runs = RunsBrowser()
        self.source = SourceView()
        self.changes = DiffView()
        self.timeline = TimelinePanel()
        self.assumptions = AssumptionsPanel()
        widgets = {"timeline": self.timeline, "assumptions": self.assumptions, "changes": self.changes, "inputs": self.inputs, "details": self.details, "results": self.results,
                   "problems": self.problems, "run-log": self.run_log, "runs": self.runs, "source": self.source}
        self.docks: dict[str, QDockWidget] = {}
        for name, title, area in DOCKS:
            dock = QDockWidget(title, self)
            dock.setObjectName(f"dock-{name}")
            dock.setWidget(widgets[name])
            self.addDockWidget(area, dock)
            self.docks[name] = dock
        self.status = StatusBarPanel(self.statusBar(), self)

    def _build_menus(self) -> None:
        a = self.actions
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(a["open"])
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.setObjectName("menu-recent")
        self.recent_menu.aboutToShow.connect(lambda: commands.fill_recent(self))
        samples = file_menu.addMenu("Open &Sample")
        samples.setObjectName("menu-samples")
        for path in sample_packs():
            label = path.parent.name if path.name == "pack.yaml" else path.stem
            samples.addAction(label, lambda p=str(path): self.open_pack(p, commands.sample_inputs(p)))
        for name in ("reload", "compare", "clear-comparison", None, "export-preview", "export-graph", None, "preferences", None, "quit"):
            file_menu.addSeparator() if name is None else file_menu.addAction(a[name])
        view_menu = self.menuBar().addMenu("&View")
        for name in ("fit", "zoom-in", "zoom-out", "find", "expand-all", "collapse-all"):
            view_menu.addAction(a[name])
        view_menu.addSeparator()
        for dock in self.docks.values():
            view_menu.addAction(dock.toggleViewAction())
        run_menu = self.menuBar().addMenu("&Run")
        for name in ("simulate", "new-simulation", "run", "cancel", None, "approve", "reject", "allow", "deny",
                     None, "runs", "export-report"):
            run_menu.addSeparator() if name is None else run_menu.addAction(a[name])
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("toolbar-main")
        for name in ("open", "reload", None, "simulate", "run", "cancel", None, "fit", "export-preview"):
            toolbar.addSeparator() if name is None else toolbar.addAction(a[name])

    def _bind(self) -> None:
        session, a = self.session, self.actions
        self.graph.bind(session)
        self.inputs.bind(session)
        self.details.bind(session)
        self.results.bind(session)
        self.problems.bind(session)
        self.run_log.bind(session)
        self.runs.bind(session)
        self.source.bind(session)
        self.changes.bind(session)
        self.forecast = ForecastBinding(session, self.graph, self.timeline, self.assumptions, self)
        self.forecast.document.changed.connect(lambda _: self.details.refresh())  # "Against the forecast" follows it
        for name in ("timeline", "source"):  # laid out / coloured when their tab comes on screen
            self.docks[name].visibilityChanged.connect(lambda shown, n=name: shown and self.docks[n].widget().reveal())
        self.runs.compare_run.connect(lambda run_id: commands.compare(self, run_id))
        self.status.bind(session)
        self.banner.bind(session, self._run_command)
        session.state_changed.connect(self._update_actions)
        session.pack_changed.connect(lambda _: self._update_title())
        session.mode_changed.connect(self._on_mode)
        session.notice.connect(self.notify)
        session.source_requested.connect(lambda *_: self._raise_dock("source"))
        a["open"].triggered.connect(lambda: commands.open_dialog(self))
        a["reload"].triggered.connect(session.simulate)
        a["simulate"].triggered.connect(session.simulate)
        a["new-simulation"].triggered.connect(session.new_simulation)
        a["run"].triggered.connect(session.start_run)
        a["cancel"].triggered.connect(session.cancel_run)
        for name, kind, yes in (("approve", "approval", True), ("reject", "approval", False),
                                ("allow", "policy", True), ("deny", "policy", False)):
            a[name].triggered.connect(lambda _=False, k=kind, y=yes: commands.ask_decision(self, k, y))
        a["export-preview"].triggered.connect(lambda: commands.export_preview_dialog(self))
        a["export-graph"].triggered.connect(lambda: commands.export_graph_dialog(self))
        a["export-report"].triggered.connect(lambda: commands.export_report_dialog(self, session.run.run_id))
        self.runs.export_report.connect(lambda run_id: commands.export_report_dialog(self, run_id))
        a["compare"].triggered.connect(lambda: commands.compare_dialog(self))
        a["clear-comparison"].triggered.connect(session.changes.clear_comparison)
        a["fit"].triggered.connect(self.view.fit)
        a["find"].triggered.connect(self.view.open_find)
        a["expand-all"].triggered.connect(lambda: self.scene.set_all_expanded(True))
        a["collapse-all"].triggered.connect(lambda: self.scene.set_all_expanded(False))
        a["zoom-in"].triggered.connect(lambda: self.view.zoom_by(1.25))
        a["zoom-out"].triggered.connect(lambda: self.view.zoom_by(0.8))
        a["runs"].triggered.connect(lambda: self._raise_dock("runs"))
        a["preferences"].triggered.connect(lambda: commands.preferences(self))
        a["quit"].triggered.connect(self.close)

    # -- mirroring the session --------------------------------------------------------------------
    def _update_actions(self) -> None:
        state = self.session.state()
        apply_states(self.actions, action_states(state), enabled_notes(state))

    def _update_title(self) -> None:
        pack = self.session.pack
        if pack.path is None:
            self.setWindowTitle("Stella Desktop")
            return
        name = f"{pack.name} {pack.version}" if pack.name else Path(pack.path).name
        self.setWindowTitle(f"{name} — Stella Desktop")

    def _on_mode(self, mode: Mode) -> None:
        if mode == Mode.RUNNING:
            self._raise_dock("run-log")
        elif mode == Mode.SIMULATION and self.session.problems and self.session.graph is None:
            self._raise_dock("problems")

    def _raise_dock(self, name: str) -> None:
        self.docks[name].show()
        self.docks[name].raise_()

    def _run_command(self, command: str, run_id: str | None) -> None:
        """A banner button: the same actions as the menus, or resume/dismiss the run it is about."""
        if command == "resume":
            self.session.resume_run(run_id)
        elif command == "dismiss":
            self.session.dismiss_attention()
        else:
            self.actions[command].trigger()

    def notify(self, title: str, text: str, error: bool = False) -> None:
        """A non-blocking message box (tests read ``last_notice``)."""
        self.last_notice = (title, text)
        box = QMessageBox(QMessageBox.Icon.Warning if error else QMessageBox.Icon.Information, title, text,
                          QMessageBox.StandardButton.Ok, self)
        box.setObjectName("notice")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    # -- entry points (command line, start-up, drag and drop) ------------------------------------
    def open_pack(self, path: str, inputs_path: str | None = None) -> None:
        self.session.open_pack(path, inputs_path)

    def offer_resume(self) -> None:
        self.session.offer_resume()

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

    # -- layout and closing -----------------------------------------------------------------------
    def _default_size(self) -> None:
        """1400 x 900, but never larger than the screen (a 1280 x 800 laptop hid Details and the
        status bar off-screen).  A margin is left for the title bar and frame."""
        screen = self.screen().availableGeometry()
        self.resize(min(1400, screen.width() * 95 // 100), min(900, screen.height() * 90 // 100))

    def _restore_layout(self) -> None:
        """The saved geometry and docks, else the default layout (never both: tabifying and then
        restoring leaves a stray tab bar on screen).  Either way Results and Details are in front."""
        geometry = self.settings.qt.value("window/geometry")
        state = self.settings.qt.value("window/state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if not (isinstance(state, QByteArray) and self.restoreState(state)):
            for name in ("problems", "run-log", "runs", "changes", "timeline"):
                self.tabifyDockWidget(self.docks["results"], self.docks[name])
            self.tabifyDockWidget(self.docks["details"], self.docks["source"])
            self.tabifyDockWidget(self.docks["inputs"], self.docks["assumptions"])
            self.resizeDocks([self.docks["inputs"], self.docks["details"]], [260, 280], Qt.Orientation.Horizontal)
        self.docks["results"].raise_()
        self.docks["details"].raise_()
        self.docks["inputs"].raise_()

    def confirm_close(self, text: str) -> bool:
        answer = QMessageBox.question(self, "A run is not finished", text)
        return answer == QMessageBox.StandardButton.Yes

    def closeEvent(self, event) -> None:
        warning = self.session.unfinished_run_warning()
        if warning and not self.confirm_close(warning):
            event.ignore()
            return
        for notice in self.findChildren(QMessageBox):
            notice.close()
        self.session.close()
        self.forecast.document.forget()  # a forecast still on its way is not drawn in a closed window
        release_long_lived()  # what the closed window kept becomes collectable again
        QThreadPool.globalInstance().waitForDone(10_000)
        self.settings.qt.setValue("window/geometry", self.saveGeometry())
        self.settings.qt.setValue("window/state", self.saveState())
        event.accept()
