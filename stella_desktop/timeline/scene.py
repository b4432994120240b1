"""The timeline scene: rows of plain data laid out on a time axis; clicks reported as step ids."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPen
from PySide6.QtWidgets import QGraphicsScene, QGraphicsSimpleTextItem

from core.forecast.spans import TimelineRow, rows_length
from stella_desktop.timeline.axis_item import AxisItem
from stella_desktop.timeline.bar_item import AttemptBar
from stella_desktop.timeline.wait_item import WaitItem

ROW_HEIGHT = 22.0
BAR_HEIGHT = 14.0
AXIS_HEIGHT = 30.0
MAX_LABEL_WIDTH = 320.0
CRITICAL_ROW = QColor(255, 236, 219)
SELECTED_ROW = QColor(208, 226, 255)


class TimelineScene(QGraphicsScene):
    step_clicked = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        # a light chart in every theme, like the graph's canvas: its labels, axis and row colours are
        # drawn for one (on the dark theme's navy, labels off the critical path were black on navy)
        self.setBackgroundBrush(QColor("#ffffff"))
        self.rows: list[TimelineRow] = []
        self.length = 0.0
        self.pixels_per_second = 40.0
        self.label_width = 120.0
        self.selected: str | None = None
        self.bars: list[AttemptBar] = []
        self.waits: list[WaitItem] = []
        self._row_index: dict[str, int] = {}
        self._selection = None

    # -- state pushed in ----------------------------------------------------------------
    def set_rows(self, rows: list[TimelineRow], length: float | None = None, layout: bool = True) -> None:
        """Show ``rows``; ``layout=False`` leaves the laying out to the caller's next zoom (fit)."""
        self.rows = list(rows)
        self.length = rows_length(self.rows) if length is None else max(length, rows_length(self.rows))
        self._row_index = {row.step_id: index for index, row in enumerate(self.rows)}
        if self.selected not in self._row_index:
            self.selected = None  # the selected step is not in the new rows (another pack, no forecast)
        font = QFontMetricsF(QFont())
        widest = max((font.horizontalAdvance("  " * row.depth + row.step_id) for row in self.rows), default=60)
        self.label_width = min(MAX_LABEL_WIDTH, widest + 24)
        if layout:
            self._layout()

    def set_pixels_per_second(self, pixels: float, force: bool = False) -> None:
        if pixels > 0 and (force or pixels != self.pixels_per_second):
            self.pixels_per_second = pixels
            self._layout()

    def select_step(self, step_id: str | None) -> None:
        self.selected = step_id if step_id in self._row_index else None
        self._draw_selection()

    # -- geometry -------------------------------------------------------------------------
    def x_of(self, seconds: float) -> float:
        return self.label_width + seconds * self.pixels_per_second

    def seconds_at(self, x: float) -> float:
        return max(0.0, (x - self.label_width) / self.pixels_per_second)

    def row_top(self, index: int) -> float:
        return AXIS_HEIGHT + index * ROW_HEIGHT

    def _layout(self) -> None:
        self.clear()
        self.bars, self.waits, self._selection = [], [], None
        width = self.x_of(self.length) + 80
        rows_height = len(self.rows) * ROW_HEIGHT
        for index, row in enumerate(self.rows):
            top = self.row_top(index)
            if row.critical:
                self.addRect(QRectF(0, top, width, ROW_HEIGHT), QPen(QColor(0, 0, 0, 0)), QBrush(CRITICAL_ROW))
            label = QGraphicsSimpleTextItem("  " * row.depth + row.step_id)
            label.setPos(6, top + (ROW_HEIGHT - label.boundingRect().height()) / 2)
            label.setToolTip(f"{row.step_id}: {row.status}")
            self.addItem(label)
            self._add_bars(row, top)
        self.addItem(AxisItem(self.label_width, self.length, self.pixels_per_second, AXIS_HEIGHT, rows_height))
        self.setSceneRect(QRectF(0, 0, width, AXIS_HEIGHT + rows_height + 8))
        self._draw_selection()

    def _add_bars(self, row: TimelineRow, top: float) -> None:
        bar_top = top + (ROW_HEIGHT - BAR_HEIGHT) / 2
        for number, span in enumerate(row.ghosts, start=1):
            rect = QRectF(self.x_of(span.start), top + 2, (span.end - span.start) * self.pixels_per_second,
                          ROW_HEIGHT - 4)
            self._add_bar(AttemptBar(row.step_id, number, span.result, rect, ghost=True))
        for start, end in row.waits:
            wait = WaitItem(row.step_id, QRectF(self.x_of(start), bar_top + 3,
                                                (end - start) * self.pixels_per_second, BAR_HEIGHT - 6),
                            end - start)
            self.waits.append(wait)
            self.addItem(wait)
        for number, span in enumerate(row.spans, start=1):
            rect = QRectF(self.x_of(span.start), bar_top, (span.end - span.start) * self.pixels_per_second,
                          BAR_HEIGHT)
            self._add_bar(AttemptBar(row.step_id, number, span.result, rect, critical=row.critical))

    def _add_bar(self, bar: AttemptBar) -> None:
        self.bars.append(bar)
        self.addItem(bar)

    def _draw_selection(self) -> None:
        if self._selection is not None:
            self.removeItem(self._selection)
            self._selection = None
        if self.selected is None:
            return
        top = self.row_top(self._row_index[self.selected])
        self._selection = self.addRect(QRectF(0, top, self.sceneRect().width(), ROW_HEIGHT),
                                       QPen(QColor("#4d96ff"), 1), QBrush(SELECTED_ROW))
        self._selection.setZValue(-1)

    # -- clicks ---------------------------------------------------------------------------
    def step_at(self, point) -> str | None:
        """The step of the row under a scene point (bars, waits, labels and row backgrounds alike)."""
        index = int((point.y() - AXIS_HEIGHT) // ROW_HEIGHT)
        if point.y() < AXIS_HEIGHT or not 0 <= index < len(self.rows):
            return None
        return self.rows[index].step_id

    def report_click(self, step_id: str) -> None:
        self.select_step(step_id)
        self.step_clicked.emit(step_id)
