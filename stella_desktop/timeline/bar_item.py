"""One attempt as a bar: filled by its result; a forecast's ghost is a pale dashed outline behind."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import QGraphicsItem

from stella_desktop.status_style import fill

CRITICAL = QColor("#d9480f")
MIN_WIDTH = 3.0  # a zero-length attempt (a gate decided at once) stays visible


class AttemptBar(QGraphicsItem):
    def __init__(self, step_id: str, attempt: int, result: str, rect: QRectF, *, ghost: bool = False,
                 critical: bool = False):
        super().__init__()
        self.step_id = step_id
        self.attempt = attempt
        self.result = result
        self.ghost = ghost
        self.critical = critical
        self._rect = QRectF(0, 0, max(rect.width(), MIN_WIDTH), rect.height())
        self.setPos(rect.x(), rect.y())
        self.setZValue(1 if ghost else 2)
        self.setToolTip(f"{step_id}: attempt {attempt} {result}" + (" (forecast)" if ghost else ""))

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-2, -2, 2, 2)

    def paint(self, painter, option, widget=None) -> None:
        colour = fill("requires-approval" if self.result == "waiting" else self.result)
        if self.ghost:
            colour.setAlpha(70)
            pen = QPen(QColor(90, 90, 90, 160), 1, Qt.PenStyle.DashLine)
        elif self.critical:
            pen = QPen(CRITICAL, 2)
        else:
            pen = QPen(colour.darker(140), 1)
        painter.setPen(pen)
        painter.setBrush(QBrush(colour))
        painter.drawRoundedRect(self._rect, 2, 2)
