"""The whole graph as one picture, shown instead of thousands of items when zoomed far out.

Painting 10,000 items one by one costs a Python call each; this item draws
every box into an image once (:func:`render_picture`) and a repaint is one
scaled image draw.  The picture is drawn with the same scene coordinates,
fills and pens as the items, and stretched over exactly the scene rectangle
it was drawn from, so it matches the geometry by construction; a test
compares it with the items pixel by pixel.  The minimap uses the same
function.  Content or status changes mark it stale; it redraws on the next
paint.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem

from core.layout import RowLayout
from stella_desktop.status_style import fill

PICTURE_SIDE = 4096


def render_picture(rows: list[tuple[RowLayout, float, float]], statuses: dict[str, str], bounds: QRectF,
                   max_side: int = PICTURE_SIDE) -> QImage:
    """Every box of ``rows`` (with their offsets) drawn into an image of ``bounds``."""
    scale = min(1.0, max_side / max(bounds.width(), bounds.height(), 1.0))
    image = QImage(max(1, round(bounds.width() * scale)), max(1, round(bounds.height() * scale)),
                   QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(image.width() / bounds.width(), image.height() / bounds.height())
    painter.translate(-bounds.left(), -bounds.top())
    groups: dict[tuple[str, str], list[QRectF]] = {}
    for row, dx, dy in rows:
        for kind, boxes in (("frame", row.frames), ("node", row.nodes), ("block", row.blocks)):
            for step_id, box in boxes.items():
                groups.setdefault((kind, statuses.get(step_id, "pending")), []).append(
                    QRectF(box.x + dx, box.y + dy, box.width, box.height))
    for kind in ("frame", "node", "block"):
        for (group_kind, status), rects in groups.items():
            if group_kind != kind:
                continue
            colour = fill(status)
            if kind == "frame":
                background = QColor(colour)
                background.setAlpha(45)
                painter.setPen(QPen(colour.darker(140), 1.5))
                painter.setBrush(background)
            elif kind == "node":
                painter.setPen(QPen(QColor("#486581"), 1))
                painter.setBrush(colour)
            else:
                painter.setPen(QPen(QColor("#486581"), 1.2))
                painter.setBrush(colour.lighter(108))
            painter.drawRects(rects)
    painter.end()
    return image


class OverviewItem(QGraphicsItem):
    def __init__(self):
        super().__init__()
        self._rows: Callable[[], list[tuple[RowLayout, float, float]]] = list
        self._statuses: dict[str, str] = {}
        self._bounds = QRectF()
        self._image: QImage | None = None
        self.setZValue(2)

    def set_content(self, rows: Callable[[], list[tuple[RowLayout, float, float]]], bounds: QRectF) -> None:
        """``rows`` gives the rows and their offsets when the picture is next drawn."""
        self.prepareGeometryChange()
        self._rows, self._bounds, self._image = rows, QRectF(bounds), None
        self.update()

    def set_statuses(self, statuses: dict[str, str]) -> None:
        self._statuses, self._image = statuses, None
        self.update()

    def picture(self) -> QImage:
        if self._image is None:
            self._image = render_picture(self._rows(), self._statuses, self._bounds)
        return self._image

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(self._bounds, self.picture())
