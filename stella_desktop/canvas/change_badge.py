"""A small tag on a step that is new or changed since the plan it is compared with.

A child of the step's item (so it moves, hides and exports with it), drawn
above its top-left corner; its tooltip names the fields that changed.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

STYLES = {"added": ("NEW", QColor("#0b7a3e")), "changed": ("CHANGED", QColor("#b45309"))}
HEIGHT = 16.0


class ChangeBadgeItem(QGraphicsItem):
    def __init__(self, change: str, fields: list[str], parent: QGraphicsItem):
        super().__init__(parent)
        self.change = change
        self.fields = list(fields)
        text, _ = STYLES[change]
        self._rect = QRectF(6, -HEIGHT / 2, 9 + 7.2 * len(text), HEIGHT)
        self.setZValue(5)
        if change == "added":
            self.setToolTip("New since the plan it is compared with")
        else:
            self.setToolTip("Changed since the plan it is compared with: " + ", ".join(self.fields))

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        text, colour = STYLES[self.change]
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawRoundedRect(self._rect, 4, 4)
        font = QFont(painter.font())
        font.setPointSizeF(8)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor("#ffffff"))
        painter.drawText(self._rect, Qt.AlignmentFlag.AlignCenter, text)
