"""A parallel or map block drawn as a frame around its children, with a header line."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QStyleOptionGraphicsItem

from stella_desktop.canvas.node_item import LABELS_BELOW
from stella_desktop.canvas.step_item import StepItem
from stella_desktop.status_style import KIND_GLYPHS, STYLES, fill


class BlockFrameItem(StepItem):
    def __init__(self, step_id: str, kind: str, rect: QRectF, caption: str):
        super().__init__(step_id, kind, rect)
        self.caption = caption
        self.setZValue(1)
        self.setToolTip(f"{step_id}: {caption}")

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        detail = option.levelOfDetailFromTransform(painter.worldTransform())
        colour = fill(self._status)
        background = QColor(colour)
        background.setAlpha(45)
        selected = self.isSelected()
        pen = QPen(QColor("#1f6feb") if selected else colour.darker(140), 3 if selected else 1.5)
        if self._status == "skipped":
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(background)
        if detail < LABELS_BELOW:
            painter.drawRect(self._rect)
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.drawRoundedRect(self._rect, 10, 10)
        font = QFont(painter.font())
        font.setPointSizeF(10)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor("#243b53"))
        status = STYLES.get(self._status, STYLES["pending"]).label
        painter.drawText(QRectF(12, 4, self._rect.width() - 24, 22), Qt.AlignmentFlag.AlignVCenter,
                         painter.fontMetrics().elidedText(
                             f"{KIND_GLYPHS.get(self.kind, '')}  {self.step_id}  ·  {self.caption}  ·  {status}",
                             Qt.TextElideMode.ElideRight, int(self._rect.width()) - 24))

    def mousePressEvent(self, event) -> None:
        if event.pos().y() <= 30:  # the header selects the block; the inside belongs to the children
            self.report_click()
            super().mousePressEvent(event)
        else:
            event.ignore()
