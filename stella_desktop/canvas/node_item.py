"""A step drawn as a rounded box: kind glyph, id, status colour; reports clicks as its id.

A step whose ``when`` can only be decided while running has a dashed border,
a "?" badge, and says why in its tooltip.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from stella_desktop.canvas.step_item import StepItem
from stella_desktop.status_style import KIND_GLYPHS, STYLES, fill, text_colour

LABELS_BELOW = 0.35  # level of detail under which labels are not drawn
ID_POINTS = 12.0  # the step id; Fit never shows it smaller than 9 pt (see view.READABLE_ZOOM)
STATUS_POINTS = 10.5
BADGE = QColor("#7c3aed")


def runtime_reason(when: str) -> str:
    return (f"Decided at run time: its condition {when} reads values that exist only while the "
            "pack runs, so the preview cannot say whether it will run.")


class StepNodeItem(StepItem):
    def __init__(self, step_id: str, kind: str, rect: QRectF, runtime_when: str = "", parent=None):
        super().__init__(step_id, kind, rect, parent)
        self.runtime_when = runtime_when  # the condition, when it is decided at run time
        self._text_key: tuple | None = None
        self._text = ("", "")
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setZValue(2)
        self.status_changed()

    def status_changed(self) -> None:
        label = STYLES.get(self._status, STYLES["pending"]).label
        tip = f"{self.step_id}\n{label}" + (f": {self._note}" if self._note else "")
        if self.runtime_when:
            tip += "\n" + runtime_reason(self.runtime_when)
        self.setToolTip(tip)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        detail = option.levelOfDetailFromTransform(painter.worldTransform())
        pen = self.outline(QColor("#486581"))
        if self._status == "skipped" or (self.runtime_when and pen.color() == QColor("#486581")):
            pen.setStyle(Qt.PenStyle.DashLine)
            pen.setWidthF(max(pen.widthF(), 1.6))
        painter.setPen(pen)
        painter.setBrush(fill(self._status))
        if detail < LABELS_BELOW:
            painter.drawRect(self._rect)
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.drawRoundedRect(self._rect, 8, 8)
        painter.setPen(text_colour(self._status))
        font = QFont(painter.font())
        font.setPointSizeF(ID_POINTS)
        painter.setFont(font)
        right = 30 if self.runtime_when else 8
        title, line = self._texts(painter, font)
        painter.drawText(self._rect.adjusted(8, 3, -right, -24), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         title)
        font.setPointSizeF(STATUS_POINTS)
        painter.setFont(font)
        painter.drawText(self._rect.adjusted(8, 27, -8, -3), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         line)
        if self.runtime_when:
            badge = QRectF(self._rect.right() - 26, 5, 20, 20)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(BADGE)
            painter.drawEllipse(badge)
            painter.setPen(QColor("#ffffff"))
            font.setBold(True)
            font.setPointSizeF(11)
            painter.setFont(font)
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, "?")

    def _texts(self, painter: QPainter, font: QFont) -> tuple[str, str]:
        """The two lines, elided to the box once per status (eliding is most of a paint's cost)."""
        key = (self._status, self._note, font.family())
        if self._text_key != key:
            right = 30 if self.runtime_when else 8
            width = int(self._rect.width()) - 30 - right
            glyph = KIND_GLYPHS.get(self.kind, "•")
            title = f"{glyph}  {painter.fontMetrics().elidedText(self.step_id, Qt.TextElideMode.ElideMiddle, width)}"
            small = QFont(font)
            small.setPointSizeF(STATUS_POINTS)
            status = STYLES.get(self._status, STYLES["pending"]).label
            line = f"{status} · {self._note}" if self._note else status
            line = QFontMetrics(small).elidedText(line, Qt.TextElideMode.ElideRight, int(self._rect.width()) - 16)
            self._text_key, self._text = key, (title, line)
        return self._text

    def mousePressEvent(self, event) -> None:
        self.report_click()
        super().mousePressEvent(event)
