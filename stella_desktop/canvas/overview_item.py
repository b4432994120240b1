"""The whole graph as one cached picture, shown instead of thousands of items when zoomed far out.

Painting 10,000 items one by one costs a Python call each; this item draws
every box in a few ``drawRects`` calls into its item cache, so a repaint at
fit zoom is one pixmap blit.  Status changes mark it stale and it redraws
once on the next paint.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem

from stella_desktop.status_style import fill


class OverviewItem(QGraphicsItem):
    def __init__(self, boxes: dict[str, QRectF], frames: dict[str, QRectF], bounds: QRectF):
        super().__init__()
        self._boxes = boxes
        self._frames = frames
        self._bounds = bounds
        self._statuses: dict[str, str] = {}
        longest = max(bounds.width(), bounds.height(), 1.0)
        scale = min(1.0, 4096 / longest)
        self.setCacheMode(QGraphicsItem.CacheMode.ItemCoordinateCache,
                          QSize(max(1, int(bounds.width() * scale)), max(1, int(bounds.height() * scale))))
        self.setZValue(3)

    def set_statuses(self, statuses: dict[str, str]) -> None:
        self._statuses = statuses
        self.update()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.fillRect(self._bounds, QColor("#ffffff"))
        painter.setPen(QPen(QColor("#9fb3c8"), 0))
        by_status: dict[str, list[QRectF]] = {}
        for step_id, rect in self._frames.items():
            by_status.setdefault(self._statuses.get(step_id, "pending"), []).append(rect)
        for status, rects in by_status.items():
            colour = QColor(fill(status))
            colour.setAlpha(60)
            painter.setBrush(colour)
            painter.drawRects(rects)
        by_status.clear()
        for step_id, rect in self._boxes.items():
            by_status.setdefault(self._statuses.get(step_id, "pending"), []).append(rect)
        painter.setPen(QPen(QColor("#486581"), 0))
        for status, rects in by_status.items():
            painter.setBrush(fill(status))
            painter.drawRects(rects)
