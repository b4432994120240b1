"""The wait between two attempts of a step (its backoff, or a queue): a hatched strip."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import QGraphicsItem

from core.forecast.timeline import format_seconds

HATCH = QColor("#ff9f43")


class WaitItem(QGraphicsItem):
    def __init__(self, step_id: str, rect: QRectF, seconds: float):
        super().__init__()
        self.step_id = step_id
        self._rect = QRectF(0, 0, rect.width(), rect.height())
        self.setPos(rect.x(), rect.y())
        self.setZValue(1.5)
        self.seconds = seconds
        self.setToolTip(f"{step_id}: {format_seconds(seconds)} before the next attempt (backoff or a queue)")

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter, option, widget=None) -> None:
        painter.setPen(QPen(HATCH, 1))
        painter.setBrush(QBrush(HATCH, Qt.BrushStyle.BDiagPattern))
        painter.drawRect(self._rect)
