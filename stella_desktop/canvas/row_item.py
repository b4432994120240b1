"""One top-level step and everything drawn inside it, as a container the scene moves as a whole.

Expanding a block lays out its row again and only moves the rows below, so
expanding a 300-item map in a 10,000-step pack does not touch the other
9,700 items.  The container draws nothing itself.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QGraphicsItem


class RowItem(QGraphicsItem):
    def __init__(self, top_id: str):
        super().__init__()
        self.top_id = top_id
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, True)

    def boundingRect(self) -> QRectF:
        return QRectF()

    def paint(self, painter, option, widget=None) -> None:  # ItemHasNoContents: never called
        pass
