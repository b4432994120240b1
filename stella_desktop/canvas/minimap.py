"""The minimap: the whole graph small in a corner of the canvas, with the visible rectangle.

Owned by the :class:`GraphView`; shown only when the graph does not fit in
the view.  Click or drag in it to move the view there.  A very tall (or
wide) graph is stretched along its short side so its rows stay visible.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QFrame

from stella_desktop.canvas.overview_item import render_picture

BOX_WIDTH, BOX_HEIGHT = 150, 240
REDRAW_AFTER_MS = 200
MAX_STRETCH = 3.0  # scale x and y alike unless that leaves one side 3 times too small


class Minimap(QFrame):
    move_requested = Signal(QPointF)  # a scene point to centre the view on

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("minimap")
        self.setFrameShape(QFrame.Shape.Box)
        self.setStyleSheet("#minimap { background: rgba(255,255,255,215); border: 1px solid #9fb3c8; }")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("The whole graph; the rectangle is what the canvas shows. Click or drag to move.")
        self._scene = None
        self._picture: QImage | None = None
        self._scaled: QPixmap | None = None  # the picture at the widget's size
        self._picture_graph = None
        self.visible_rect = QRectF()
        self._redraw = QTimer(self)
        self._redraw.setSingleShot(True)
        self._redraw.setInterval(REDRAW_AFTER_MS)
        self._redraw.timeout.connect(self._refresh_picture)
        self.bounds = (BOX_WIDTH, BOX_HEIGHT)
        self.resize(BOX_WIDTH, BOX_HEIGHT)

    def set_bounds(self, width: int, height: int) -> None:
        """At most ``width`` x ``height`` (never above the default box): in a 1,024-px window the
        full-size minimap hid a third of the canvas and the steps under it."""
        bounds = (max(40, min(BOX_WIDTH, width)), max(40, min(BOX_HEIGHT, height)))
        if bounds != self.bounds:
            self.bounds = bounds
            self.invalidate()

    def _refresh_picture(self) -> None:
        self._picture = self.draw_picture()
        self._scaled = None
        self._picture_graph = self._scene.graph if self._scene is not None else None
        self._redraw.setInterval(REDRAW_AFTER_MS)
        self.update()

    def draw_picture(self) -> QImage | None:
        if self._scene is None or self._scene.graph is None:
            return None
        return render_picture(self._scene.shown_rows(), self._scene._statuses, self._scene.sceneRect(), max_side=1024)

    def set_scene(self, scene) -> None:
        self._scene = scene
        self.invalidate()

    def invalidate(self) -> None:
        """The graph changed: redraw the picture soon (a burst of changes redraws it once, and a
        jump in a 10,000-step pack does not wait for it)."""
        graph = self._scene.graph if self._scene is not None else None
        if self._picture is None or graph is None or graph is not self._picture_graph:
            self._picture = self._scaled = None  # another graph: never show the previous one's picture
        else:
            self._redraw.start()
        if self._scene is not None:
            rect = self._scene.sceneRect()
            sx, sy = self._scales(rect, self.bounds[0] - 8, self.bounds[1] - 8)
            self.resize(int(rect.width() * sx) + 8, int(rect.height() * sy) + 8)
        self.update()

    def set_visible_rect(self, rect: QRectF) -> None:
        self.visible_rect = QRectF(rect)
        self.update()

    @staticmethod
    def _scales(rect: QRectF, width: float, height: float) -> tuple[float, float]:
        if rect.isEmpty():
            return 1.0, 1.0
        sx, sy = width / rect.width(), height / rect.height()
        uniform = min(sx, sy)
        if max(sx, sy) / uniform <= MAX_STRETCH:
            return uniform, uniform
        return sx, sy  # a very tall or wide graph fills the box: its rows stay visible

    def _content(self) -> QRectF:
        return QRectF(self.rect()).adjusted(4, 4, -4, -4)

    def to_scene(self, point: QPointF) -> QPointF:
        rect, content = self._scene.sceneRect(), self._content()
        x = rect.left() + (point.x() - content.left()) / content.width() * rect.width()
        y = rect.top() + (point.y() - content.top()) / content.height() * rect.height()
        return QPointF(min(max(x, rect.left()), rect.right()), min(max(y, rect.top()), rect.bottom()))

    def from_scene(self, rect: QRectF) -> QRectF:
        scene, content = self._scene.sceneRect(), self._content()
        sx, sy = content.width() / scene.width(), content.height() / scene.height()
        return QRectF(content.left() + (rect.left() - scene.left()) * sx, content.top() + (rect.top() - scene.top()) * sy,
                      rect.width() * sx, rect.height() * sy)

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if self._scene is None or self._scene.sceneRect().isEmpty():
            return
        painter = QPainter(self)
        if self._picture is None:  # drawn just after this paint: the canvas is not kept waiting
            self._redraw.start(0)
        else:
            content = self._content().toRect()
            if self._scaled is None or self._scaled.size() != content.size():  # scaled once, not per paint
                self._scaled = QPixmap.fromImage(self._picture.scaled(
                    content.size(), Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation))
            painter.drawPixmap(content.topLeft(), self._scaled)
        view = self.from_scene(self.visible_rect).intersected(self._content())
        painter.setPen(QPen(QColor("#1f6feb"), 2))
        painter.setBrush(QColor(31, 111, 235, 40))
        painter.drawRect(view.adjusted(0, 0, 0, 0) if view.height() >= 3 else view.adjusted(0, -1.5, 0, 1.5))
        painter.end()

    def mousePressEvent(self, event) -> None:
        if self._scene is not None and event.button() == Qt.MouseButton.LeftButton:
            self.move_requested.emit(self.to_scene(event.position()))
        event.accept()

    def mouseMoveEvent(self, event) -> None:
        if self._scene is not None and event.buttons() & Qt.MouseButton.LeftButton:
            self.move_requested.emit(self.to_scene(event.position()))
        event.accept()
