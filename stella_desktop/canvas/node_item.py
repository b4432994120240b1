"""A step drawn as a rounded box: kind glyph, id, status colour; reports clicks as its id."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from stella_desktop.canvas.step_item import StepItem
from stella_desktop.status_style import KIND_GLYPHS, STYLES, fill, text_colour

LABELS_BELOW = 0.35  # level of detail under which labels are not drawn


class StepNodeItem(StepItem):
    def __init__(self, step_id: str, kind: str, rect: QRectF):
        super().__init__(step_id, kind, rect)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setToolTip(step_id)
        self.setZValue(2)

    def status_changed(self) -> None:
        label = STYLES.get(self._status, STYLES["pending"]).label
        self.setToolTip(f"{self.step_id}\n{label}" + (f": {self._note}" if self._note else ""))

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        detail = option.levelOfDetailFromTransform(painter.worldTransform())
        selected = self.isSelected()
        pen = QPen(QColor("#1f6feb") if selected else QColor("#486581"), 3 if selected else 1)
        if self._status == "skipped":
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(fill(self._status))
        if detail < LABELS_BELOW:
            painter.drawRect(self._rect)
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.drawRoundedRect(self._rect, 8, 8)
        painter.setPen(text_colour(self._status))
        font = QFont(painter.font())
        font.setPointSizeF(11)
        painter.setFont(font)
        glyph = KIND_GLYPHS.get(self.kind, "•")
        painter.drawText(self._rect.adjusted(8, 4, -8, -22), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         f"{glyph}  {painter.fontMetrics().elidedText(self.step_id, Qt.TextElideMode.ElideMiddle, int(self._rect.width()) - 40)}")
        font.setPointSizeF(8.5)
        painter.setFont(font)
        status = STYLES.get(self._status, STYLES["pending"]).label
        line = f"{status} · {self._note}" if self._note else status
        painter.drawText(self._rect.adjusted(8, 24, -8, -4), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         painter.fontMetrics().elidedText(line, Qt.TextElideMode.ElideRight, int(self._rect.width()) - 16))

    def mousePressEvent(self, event) -> None:
        self.report_click()
        super().mousePressEvent(event)
