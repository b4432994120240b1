"""The arrows of one row: into its top-level step from the row above, and along its sequential blocks."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem

EDGE_COLOUR = QColor("#627d98")


class EdgesItem(QGraphicsItem):
    def __init__(self, segments: list[tuple[QPointF, QPointF]], parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self._path = QPainterPath()
        self._heads = []
        for start, end in segments:
            self._path.moveTo(start)
            self._path.lineTo(end)
            self._heads.append(QPolygonF([end, QPointF(end.x() - 6, end.y() - 10), QPointF(end.x() + 6, end.y() - 10)]))
        self.segment_count = len(segments)
        self._bounds = self._path.boundingRect().adjusted(-8, -8, 8, 8)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setZValue(3)  # above the frames a chain runs through

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setPen(QPen(EDGE_COLOUR, 1.6))
        painter.drawPath(self._path)
        painter.setBrush(EDGE_COLOUR)
        for head in self._heads:
            painter.drawPolygon(head)
