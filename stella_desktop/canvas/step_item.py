"""What every step item on the canvas shares: its id and kind, its status, its box, its clicks."""

from __future__ import annotations

from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem

SELECTED = QColor("#1f6feb")  # the selection outline (never exported)
MATCHED = QColor("#e8590c")  # a find match
DIMMED = 0.3  # the opacity of steps that do not match an active find


# Qt asks every item for its bounding rectangle many times per paint and per move; a
# QGraphicsRectItem answers in C++ (the 3-unit margin for the selection outline comes from its
# pen's width), where a Python boundingRect() costs a call into Python each time: expanding a
# block in a 10,000-step pack moved rows at a quarter of the speed.
MARGIN_PEN = QPen(QColor(0, 0, 0, 0), 6)


class StepItem(QGraphicsRectItem):
    """Base of the node, frame and collapsed-block items: state pushed in by setters, clicks
    reported as ids."""

    def __init__(self, step_id: str, kind: str, rect: QRectF, parent: QGraphicsItem | None = None):
        super().__init__(0, 0, rect.width(), rect.height(), parent)
        self.setPen(MARGIN_PEN)
        self.step_id = step_id
        self.kind = kind
        self._rect = QRectF(0, 0, rect.width(), rect.height())
        self.setPos(rect.x(), rect.y())
        self._status = "pending"
        self._note = ""
        self._matched = False
        self._badge = None
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)

    @property
    def status(self) -> str:
        return self._status

    @property
    def matched(self) -> bool:
        return self._matched

    def set_status(self, status: str, note: str = "") -> None:
        if (status, note) != (self._status, self._note):
            self._status, self._note = status, note
            self.status_changed()
            self.update()

    def set_matched(self, matched: bool, filtering: bool = False) -> None:
        """Outlined as a find match; while a find is active, everything else is dimmed."""
        if matched != self._matched:
            self._matched = matched
            self.update()
        self.setOpacity(1.0 if matched or not filtering else DIMMED)

    def set_change(self, change: str | None, fields: list[str] = ()) -> None:
        """Tag the step "new" or "changed" (naming ``fields``) since the plan it is compared with."""
        from stella_desktop.canvas.change_badge import ChangeBadgeItem

        current = (self._badge.change, self._badge.fields) if self._badge is not None else (None, [])
        if current == (change, list(fields)):
            return
        if self._badge is not None:
            self._badge.setParentItem(None)
            if self.scene() is not None:
                self.scene().removeItem(self._badge)
            self._badge = None
        if change in ("added", "changed"):
            self._badge = ChangeBadgeItem(change, list(fields), self)

    @property
    def change(self) -> str | None:
        return self._badge.change if self._badge is not None else None

    def status_changed(self) -> None:
        """Hook for subclasses (tooltips)."""

    def outline(self, normal: QColor, width: float = 1.0) -> QPen:
        """The border pen: selection first, then a find match, else ``normal``."""
        if self.isSelected():
            return QPen(SELECTED, 3)
        if self._matched:
            return QPen(MATCHED, 3)
        return QPen(normal, width)

    def report_click(self) -> None:
        scene = self.scene()
        if scene is not None and hasattr(scene, "report_click"):
            scene.report_click(self.step_id)

    def request_expanded(self, expanded: bool) -> None:
        scene = self.scene()
        if scene is not None and hasattr(scene, "set_expanded"):
            scene.set_expanded(self.step_id, expanded)
