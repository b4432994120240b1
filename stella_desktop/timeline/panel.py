"""The Timeline dock's content: a legend, the chart, and what it shows (a forecast, a run, or both).

State is pushed in: :meth:`show_forecast` draws a forecast; :meth:`show_run`
draws a run's actual attempts with the forecast behind them as ghosts.
Clicks come back as step ids (``step_clicked``).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from core.forecast import Forecast
from core.forecast.spans import rows_from_forecast, rows_from_run
from core.forecast.timeline import outcome_line
from stella_desktop.timeline.export import export_timeline_image
from stella_desktop.timeline.view import TimelineView

LEGEND = ("<span style='color:#2ecc71'>■</span> succeeded &nbsp; <span style='color:#ef476f'>■</span> failed &nbsp; "
          "<span style='color:#ff9f43'>▨</span> backoff / queue &nbsp; "
          "<span style='color:#d9480f'>□</span> critical path &nbsp; <span style='color:#888'>⬚</span> forecast "
          "(behind a run) &nbsp; · &nbsp; Ctrl+wheel zoom, drag to pan, Ctrl+0 fit")


class TimelinePanel(QWidget):
    step_clicked = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("timeline-panel")
        self.summary = QLabel("No forecast yet: simulate a pack.")
        self.summary.setObjectName("timeline-summary")
        self.summary.setWordWrap(True)
        legend = QLabel(LEGEND)
        legend.setObjectName("timeline-legend")
        self.view = TimelineView()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        layout.addWidget(legend)
        layout.addWidget(self.view, 1)
        self.view.step_clicked.connect(self.step_clicked)
        self.showing = "nothing"
        self._forecast: Forecast | None = None
        self._pending = None  # what to lay out when the chart is next shown
        self._selected: str | None = None

    def show_forecast(self, forecast: Forecast | None, error: str | None = None) -> None:
        if forecast is None:
            self.summary.setText(error or "No forecast yet: simulate a pack.")
            self._draw(lambda: ([], None))
            self.showing = "nothing"
            return
        self.summary.setText(outcome_line(forecast))
        if self.showing != "forecast" or forecast is not self._forecast:  # a log reset shows the same again
            self._draw(lambda: (rows_from_forecast(forecast), forecast.duration))
        self._forecast, self.showing = forecast, "forecast"

    def show_computing(self, text: str) -> None:
        """A forecast is on its way: the chart keeps what it shows until it arrives."""
        self.summary.setText(text)

    def show_run(self, snapshot: dict, forecast: Forecast | None = None) -> None:
        self._draw(lambda: (rows_from_run(snapshot, forecast), None))
        status = snapshot.get("status", "")
        ghosts = "; the forecast's bars are behind as ghosts" if forecast is not None else ""
        self.summary.setText(f"Run {snapshot.get('runId', '')}: {status}{ghosts}")
        self._forecast, self.showing = None, "run"

    def _draw(self, rows) -> None:
        """Lay out ``rows()`` (rows, length) now if the chart is on screen, else when it is shown: a
        10,000-step forecast is 30,000 bars, and the dock is usually a tab behind Results."""
        self._pending = rows
        if self.on_screen():
            self.reveal()

    def on_screen(self) -> bool:
        """Shown, and not a tab behind another dock (those stay "visible", with nothing of them on screen)."""
        return self.isVisible() and not self.visibleRegion().isEmpty()

    def reveal(self) -> None:
        """The chart comes on screen (its dock's tab was chosen): lay out what it has to show."""
        rows, self._pending = self._pending, None
        if rows is not None:
            self.view.set_rows(*rows())
            self.view.timeline.select_step(self._selected)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.on_screen():
            self.reveal()

    def select(self, step_id: str | None) -> None:
        self._selected = step_id
        self.view.timeline.select_step(step_id)

    def export(self, path: str) -> None:
        self.reveal()
        export_timeline_image(self.view.timeline, path)
