"""An expanded parallel or map block: a frame around its children with a two-line header.

The header says ``glyph  id  ·  status`` and, below, the block's caption (how
many children, how many at once); the layout makes the frame wide enough for
both, so neither is ever cut.  Double-clicking the header collapses the block.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QStyleOptionGraphicsItem

from core.layout import FRAME_HEADER, HEADER_INSET
from stella_desktop.canvas.node_item import LABELS_BELOW, runtime_reason
from stella_desktop.canvas.step_item import StepItem
from stella_desktop.status_style import KIND_GLYPHS, STYLES, fill

TITLE_POINTS = 10.0
CAPTION_POINTS = 9.0


def frame_title(step_id: str, kind: str, status: str) -> str:
    return f"{KIND_GLYPHS.get(kind, '')}  {step_id}  ·  {STYLES.get(status, STYLES['pending']).label}"


class BlockFrameItem(StepItem):
    def __init__(self, step_id: str, kind: str, rect: QRectF, caption: str, runtime_when: str = "", parent=None):
        super().__init__(step_id, kind, rect, parent)
        self.caption = caption
        self.runtime_when = runtime_when
        self.setZValue(1)
        tip = f"{step_id}: {caption}\nDouble-click the header or press Left to collapse"
        self.setToolTip(tip + ("\n" + runtime_reason(runtime_when) if runtime_when else ""))

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        detail = option.levelOfDetailFromTransform(painter.worldTransform())
        colour = fill(self._status)
        background = QColor(colour)
        background.setAlpha(45)
        pen = self.outline(colour.darker(140), 1.5)
        if self._status == "skipped" or self.runtime_when:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(background)
        if detail < LABELS_BELOW:
            painter.drawRect(self._rect)
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.drawRoundedRect(self._rect, 10, 10)
        width = self._rect.width() - 2 * HEADER_INSET
        font = QFont(painter.font())
        font.setPointSizeF(TITLE_POINTS)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor("#243b53"))
        painter.drawText(QRectF(HEADER_INSET, 3, width, 22), Qt.AlignmentFlag.AlignVCenter,
                         painter.fontMetrics().elidedText(("?  " if self.runtime_when else "")
                                                          + frame_title(self.step_id, self.kind, self._status),
                                                          Qt.TextElideMode.ElideRight, int(width)))
        font.setPointSizeF(CAPTION_POINTS)
        font.setBold(False)
        painter.setFont(font)
        painter.setPen(QColor("#334e68"))
        painter.drawText(QRectF(HEADER_INSET, 23, width, FRAME_HEADER - 25), Qt.AlignmentFlag.AlignVCenter,
                         painter.fontMetrics().elidedText(self.caption, Qt.TextElideMode.ElideRight, int(width)))

    def mousePressEvent(self, event) -> None:
        if event.pos().y() <= FRAME_HEADER:  # the header selects the block; the inside belongs to the children
            self.report_click()
            super().mousePressEvent(event)
        else:
            event.ignore()

    def mouseDoubleClickEvent(self, event) -> None:
        if event.pos().y() <= FRAME_HEADER:
            self.request_expanded(False)
            event.accept()
        else:
            event.ignore()
