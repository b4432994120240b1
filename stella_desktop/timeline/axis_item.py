"""The time axis: ticks at a round step in seconds, minutes or hours, and grid lines down the rows."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QFont, QPen
from PySide6.QtWidgets import QGraphicsItem

from core.forecast.timeline import format_seconds

STEPS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900,
         1800, 3600, 7200, 10800, 21600, 43200, 86400)
MIN_TICK_PIXELS = 70


def tick_step(pixels_per_second: float) -> float:
    """The smallest round step whose ticks are at least MIN_TICK_PIXELS apart."""
    for step in STEPS:
        if step * pixels_per_second >= MIN_TICK_PIXELS:
            return step
    return STEPS[-1] * max(1, round(MIN_TICK_PIXELS / (STEPS[-1] * pixels_per_second)))


class AxisItem(QGraphicsItem):
    def __init__(self, left: float, seconds: float, pixels_per_second: float, height: float, rows_height: float):
        super().__init__()
        self.left, self.seconds, self.scale = left, seconds, pixels_per_second
        self.height, self.rows_height = height, rows_height
        self.step = tick_step(pixels_per_second)
        self.setZValue(0)

    def ticks(self) -> list[tuple[float, str]]:
        """(x, label) of every tick."""
        count = int(self.seconds / self.step + 1e-9) + 1
        return [(self.left + i * self.step * self.scale, format_seconds(round(i * self.step, 6)))
                for i in range(count + 1)]

    def boundingRect(self) -> QRectF:
        width = (self.seconds + self.step) * self.scale + 60
        return QRectF(self.left - 30, 0, width, self.height + self.rows_height)

    def paint(self, painter, option, widget=None) -> None:
        font = QFont(painter.font())
        font.setPointSizeF(8)
        painter.setFont(font)
        for x, label in self.ticks():
            painter.setPen(QPen(QColor("#bcccdc"), 0))
            painter.drawLine(QPointF(x, self.height - 6), QPointF(x, self.height + self.rows_height))
            painter.setPen(QPen(QColor("#334e68")))
            painter.drawText(QPointF(x + 3, self.height - 10), label)
        painter.setPen(QPen(QColor("#334e68"), 1))
        painter.drawLine(QPointF(self.left, self.height - 1),
                         QPointF(self.left + (self.seconds + self.step) * self.scale, self.height - 1))
