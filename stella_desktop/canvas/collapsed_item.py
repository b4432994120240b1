"""A collapsed parallel or map block: one box with its child count and a per-status bar.

Counts are pushed in with :meth:`set_counts` (statuses of the direct
children); a failed or waiting step anywhere inside makes the box say so in
its own colour, so a collapsed 300-item map never hides a failure.
Double-clicking expands it.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from stella_desktop.canvas.node_item import LABELS_BELOW, runtime_reason
from stella_desktop.canvas.step_item import StepItem
from stella_desktop.status_style import KIND_GLYPHS, STYLES, fill, text_colour

ALERT = {"failed": "#c9184a", "requires-approval": "#b35900", "requires-policy": "#6d28d9",
         "retry-waiting": "#b35900"}
# what needs attention first: the text is elided from the right, the bar is read from the left
STATUS_ORDER = ["failed", "retry-waiting", "requires-approval", "requires-policy", "running", "succeeded",
                "skipped", "pending"]
STATUS_ORDER += [s for s in STYLES if s not in STATUS_ORDER]


def counts_text(counts: dict[str, int]) -> str:
    return " · ".join(f"{counts[s]} {STYLES[s].label}" for s in STATUS_ORDER if counts.get(s))


class CollapsedBlockItem(StepItem):
    def __init__(self, step_id: str, kind: str, rect: QRectF, caption: str, runtime_when: str = "", parent=None):
        super().__init__(step_id, kind, rect, parent)
        self.caption = caption
        self.runtime_when = runtime_when
        self.counts: dict[str, int] = {}
        self.alert = ""  # e.g. "3 failed inside", empty when nothing needs attention
        self._alert_status = ""
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setZValue(2)
        self._tooltip()

    def set_counts(self, counts: dict[str, int], alert_status: str = "", alert: str = "") -> None:
        if (counts, alert) != (self.counts, self.alert):
            self.counts, self.alert, self._alert_status = dict(counts), alert, alert_status
            self._tooltip()
            self.update()

    def _tooltip(self) -> None:
        lines = [f"{self.step_id}: {self.caption}", counts_text(self.counts) or "no children"]
        if self.alert:
            lines.append(self.alert)
        if self.runtime_when:
            lines.append(runtime_reason(self.runtime_when))
        lines.append("Double-click or press Right to expand")
        self.setToolTip("\n".join(lines))

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        detail = option.levelOfDetailFromTransform(painter.worldTransform())
        alert = QColor(ALERT.get(self._alert_status, "#486581"))
        pen = self.outline(alert, 2.5 if self.alert else 1.2)
        if self.runtime_when:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(fill(self._status).lighter(108))
        if detail < LABELS_BELOW:
            painter.drawRect(self._rect)
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.drawRoundedRect(self._rect, 9, 9)
        painter.setPen(QPen(QColor("#9fb3c8"), 1))  # a second edge: this box stands for many
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(self._rect.adjusted(3, 3, -3, -3), 7, 7)
        width = self._rect.width() - 20
        font = QFont(painter.font())
        font.setPointSizeF(12)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(text_colour(self._status))
        title = ("?  " if self.runtime_when else "") + f"{KIND_GLYPHS.get(self.kind, '')}  {self.step_id}"
        painter.drawText(QRectF(10, 4, width - 18, 22), Qt.AlignmentFlag.AlignVCenter,
                         painter.fontMetrics().elidedText(title, Qt.TextElideMode.ElideMiddle, int(width - 18)))
        painter.drawText(QRectF(self._rect.width() - 26, 4, 18, 22), Qt.AlignmentFlag.AlignCenter, "▸")
        font.setBold(False)
        font.setPointSizeF(9.5)
        painter.setFont(font)
        second = self.alert if self.alert else self.caption
        if self.alert:
            painter.setPen(alert)
            font.setBold(True)
            painter.setFont(font)
        painter.drawText(QRectF(10, 26, width, 18), Qt.AlignmentFlag.AlignVCenter,
                         painter.fontMetrics().elidedText(second, Qt.TextElideMode.ElideRight, int(width)))
        self._paint_bar(painter, QRectF(10, 48, width, 9))
        font.setBold(False)
        font.setPointSizeF(9)
        painter.setFont(font)
        painter.setPen(QColor("#243b53"))
        painter.drawText(QRectF(10, 58, width, 17), Qt.AlignmentFlag.AlignVCenter,
                         painter.fontMetrics().elidedText(counts_text(self.counts), Qt.TextElideMode.ElideRight,
                                                          int(width)))

    def _paint_bar(self, painter: QPainter, bar: QRectF) -> None:
        total = sum(self.counts.values())
        painter.setPen(QPen(QColor("#627d98"), 1))  # a white, outlined track: visible on any fill
        painter.setBrush(QColor("#ffffff"))
        painter.drawRect(bar.adjusted(-1, -1, 1, 1))
        painter.setPen(Qt.PenStyle.NoPen)
        if not total:
            return
        x = bar.left()
        for status in STATUS_ORDER:
            count = self.counts.get(status, 0)
            if count:
                # every status present keeps at least 3 px, so 1 failure in 300 is still visible
                span = max(3.0, bar.width() * count / total)
                painter.setBrush(fill(status).darker(115) if status in ("pending", "skipped") else fill(status))
                painter.drawRect(QRectF(x, bar.top(), min(span, bar.right() - x), bar.height()))
                x = min(bar.right(), x + span)

    def mousePressEvent(self, event) -> None:
        self.report_click()
        super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        self.request_expanded(True)
        event.accept()
