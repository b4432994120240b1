"""The forecast in the window: the session's forecast document, the Timeline and Assumptions docks,
the canvas's Assume ▸ menu and forecast statuses, and Details' actual-against-forecast sentence.

The session owns the :class:`~stella_desktop.forecast_document.ForecastDocument`
(``session.forecast``, its child); this module only wires panels to it, the
way each panel's ``bind`` wires it to the session.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QFileDialog

from core.forecast.assumptions_file import save_assumptions
from core.forecast.compare import explain
from core.forecast.timeline import outcome_line
from stella_desktop.assume_menu import build_assume_menu
from stella_desktop.forecast_document import COMPUTING, ForecastDocument
from stella_desktop.forecast_status import from_forecast

RUN_REFRESH_MS = 250
START_LATEST_MS = 300  # a new pack's forecast starts after the canvas paints it, or this long after


class ForecastBinding(QObject):
    def __init__(self, session, graph_panel, timeline, assumptions, parent=None):
        super().__init__(parent)
        self.session, self.graph_panel, self.timeline, self.assumptions = session, graph_panel, timeline, assumptions
        self.document = ForecastDocument(session)
        session.forecast = self.document
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(RUN_REFRESH_MS)
        self._refresh.timeout.connect(self._show_run)
        self._painting = False
        self._start_after_paint = QTimer(self, singleShot=True, interval=START_LATEST_MS, timeout=self._start)
        graph_panel.view.viewport().installEventFilter(self)
        session.graph_changed.connect(self._on_graph)
        session.statuses_changed.connect(lambda _: self._paint_forecast())
        session.record_added.connect(lambda _: self._refresh.start())
        session.log_reset.connect(lambda _: self._show_current())
        session.selection_changed.connect(timeline.select)
        timeline.step_clicked.connect(session.select)
        self.document.computing.connect(self._show_current)
        self.document.changed.connect(lambda _: self._show_current())
        self.document.dropped.connect(lambda text: session.notice.emit("Assumptions dropped", text, False))
        assumptions.remove_requested.connect(lambda step_id: self.document.assume(step_id, None))
        assumptions.clear_requested.connect(self.document.clear)
        assumptions.save_requested.connect(self.save)
        graph_panel.view.context_requested.connect(self.assume_menu)

    # -- the document follows the session's preview --------------------------------------------
    def _on_graph(self, _refit: bool) -> None:
        simulation = self.session.simulation
        preview = simulation.preview if simulation is not None else None
        self.document.set_preview(preview, str(self.session.settings.store_folder), start=False)
        self._start_after_paint.start()
        self._painting = True  # started once the canvas has painted the new graph (see eventFilter)

    def eventFilter(self, watched, event) -> bool:
        """The canvas paints: start the forecast after it (a worker running during the paint holds
        the GIL half the time, and 10k steps drew ~0.5 s later)."""
        if self._painting and event.type() == QEvent.Type.Paint:
            self._painting = False
            QTimer.singleShot(0, self._start)
        return False

    def _start(self) -> None:
        self._painting = False
        self._start_after_paint.stop()
        self.document.start()

    def _show_current(self) -> None:
        document = self.document
        self.assumptions.set_assumptions(document.assumptions)
        result = document.result
        if document.pending:  # on a worker: said where its result will be shown
            self.assumptions.set_outcome(COMPUTING)
        elif result is None:
            self.assumptions.set_outcome(document.error or "No forecast yet", failed=bool(document.error))
        else:
            self.assumptions.set_outcome(outcome_line(result), failed=result.outcome == "failed")
        if self.session.run is not None:
            self._show_run()
        elif document.pending:
            self.timeline.show_computing(COMPUTING)
        else:
            self.timeline.show_forecast(result, document.error)
            self._paint_forecast()

    def _show_run(self) -> None:
        run = self.session.run
        if run is not None:
            self.timeline.show_run(run.snapshot(), self.document.result)

    def _paint_forecast(self) -> None:
        """Before a run, with assumptions made: the canvas shows the forecast's statuses."""
        if self.session.run is not None or not self.document.assumptions or self.document.result is None:
            return
        views, notes = from_forecast(self.document.result)
        self.graph_panel.scene.set_statuses(views, notes)

    # -- commands ---------------------------------------------------------------------------
    def assume_menu(self, step_id: str, position) -> None:
        plan = self.session.plan
        if plan is None or self.session.run is not None or self.document.preview is None:
            return
        step = next((s for s in plan.walk() if s.id == step_id), None)
        if step is None:
            return
        menu = build_assume_menu(step, plan.failure_policy.max_attempts, self.document.current(step_id),
                                 self.document.assume, self.graph_panel)
        menu.exec(position)

    def save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.assumptions, "Save assumptions beside an inputs file",
                                              "inputs.json", "Inputs (*.json)")
        if path:
            try:
                written = save_assumptions(path, self.document.assumptions, self.document.durations)
            except OSError as error:
                self.session.notice.emit("Assumptions not saved", str(error), True)
                return
            self.session.status_message.emit(f"Assumptions saved to {written}")

    def differences(self) -> dict[str, str]:
        run = self.session.run
        if run is None or self.document.result is None:
            return {}
        return explain(self.document.result, run.snapshot())
