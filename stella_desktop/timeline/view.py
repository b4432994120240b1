"""The timeline view: Ctrl+wheel or Ctrl+=/- zooms the time axis, Ctrl+0 fits, drag pans, a click selects."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QPainter, QWheelEvent
from PySide6.QtWidgets import QGraphicsView

from core.forecast.spans import TimelineRow
from stella_desktop.timeline.scene import TimelineScene

ZOOM_STEP = 1.25
MIN_PIXELS_PER_SECOND = 1e-4
MAX_PIXELS_PER_SECOND = 1e5


class TimelineView(QGraphicsView):
    step_clicked = Signal(str)

    def __init__(self, parent=None):
        self.timeline = TimelineScene()
        super().__init__(self.timeline, parent)
        self.timeline.setParent(self)
        self.setObjectName("timeline-view")
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.timeline.step_clicked.connect(self.step_clicked)
        self._pressed_at = None

    def set_rows(self, rows: list[TimelineRow], length: float | None = None) -> None:
        self.timeline.set_rows(rows, length, layout=False)
        self.fit(force=True)  # laid out once, at the fitting scale (10,000 rows took twice 0.4 s)

    # -- zoom and pan ---------------------------------------------------------------------
    def fit(self, force: bool = False) -> None:
        """The whole time axis in the view's width (``force``: lay out even at the same scale)."""
        scene = self.timeline
        room = max(self.viewport().width() - scene.label_width - 60, 100)
        scene.set_pixels_per_second(room / scene.length if scene.length > 0 else 40.0, force)
        self.horizontalScrollBar().setValue(0)

    def zoom_by(self, factor: float) -> None:
        """Stretch the time axis by ``factor``, keeping the moment at the view's centre in place."""
        scene = self.timeline
        centre = self.mapToScene(self.viewport().rect().center())
        moment = scene.seconds_at(centre.x())
        pixels = min(max(scene.pixels_per_second * factor, MIN_PIXELS_PER_SECOND), MAX_PIXELS_PER_SECOND)
        scene.set_pixels_per_second(pixels)
        self.centerOn(scene.x_of(moment), centre.y())

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom_by(ZOOM_STEP if event.angleDelta().y() > 0 else 1 / ZOOM_STEP)
            event.accept()
        else:
            super().wheelEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        control = event.modifiers() & Qt.KeyboardModifier.ControlModifier
        if control and event.key() in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_by(ZOOM_STEP)
        elif control and event.key() == Qt.Key.Key_Minus:
            self.zoom_by(1 / ZOOM_STEP)
        elif control and event.key() == Qt.Key.Key_0:
            self.fit()
        else:
            super().keyPressEvent(event)

    # -- clicks (a press and release without a drag) -------------------------------------------
    def mousePressEvent(self, event) -> None:
        self._pressed_at = event.position().toPoint()
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        super().mouseReleaseEvent(event)
        pressed, self._pressed_at = self._pressed_at, None
        if event.button() == Qt.MouseButton.LeftButton and pressed is not None \
                and (event.position().toPoint() - pressed).manhattanLength() < 4:
            step_id = self.timeline.step_at(self.mapToScene(pressed))
            if step_id is not None:
                self.timeline.report_click(step_id)
