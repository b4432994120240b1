"""What every step item on the canvas shares: its id and kind, its status, its box, its clicks."""

from __future__ import annotations

from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QGraphicsItem


class StepItem(QGraphicsItem):
    """Base of the node and frame items: state pushed in by setters, clicks reported as ids."""

    def __init__(self, step_id: str, kind: str, rect: QRectF):
        super().__init__()
        self.step_id = step_id
        self.kind = kind
        self._rect = QRectF(0, 0, rect.width(), rect.height())
        self.setPos(rect.x(), rect.y())
        self._status = "pending"
        self._note = ""
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)

    @property
    def status(self) -> str:
        return self._status

    def set_status(self, status: str, note: str = "") -> None:
        if (status, note) != (self._status, self._note):
            self._status, self._note = status, note
            self.status_changed()
            self.update()

    def status_changed(self) -> None:
        """Hook for subclasses (tooltips)."""

    def report_click(self) -> None:
        scene = self.scene()
        if scene is not None and hasattr(scene, "report_click"):
            scene.report_click(self.step_id)

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-3, -3, 3, 3)
