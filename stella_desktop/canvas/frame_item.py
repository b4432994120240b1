"""A parallel or map block drawn as a frame around its children, with a header line."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from stella_desktop.canvas.node_item import LABELS_BELOW
from stella_desktop.status_style import KIND_GLYPHS, STYLES, fill


class BlockFrameItem(QGraphicsItem):
    def __init__(self, step_id: str, kind: str, rect: QRectF, caption: str):
        super().__init__()
        self.step_id = step_id
        self.kind = kind
        self.caption = caption
        self._rect = QRectF(0, 0, rect.width(), rect.height())
        self.setPos(rect.x(), rect.y())
        self._status = "pending"
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        self.setZValue(1)
        self.setToolTip(f"{step_id}: {caption}")

    def set_status(self, status: str, note: str = "") -> None:
        if status != self._status:
            self._status = status
            self.update()

    @property
    def status(self) -> str:
        return self._status

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-3, -3, 3, 3)

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
            scene = self.scene()
            if scene is not None and hasattr(scene, "report_click"):
                scene.report_click(self.step_id)
            super().mousePressEvent(event)
        else:
            event.ignore()
