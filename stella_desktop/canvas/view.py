"""GraphView: zoom (wheel, Ctrl+=/-), pan (drag), fit, keyboard navigation, level of detail."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QPainter, QWheelEvent
from PySide6.QtWidgets import QGraphicsView

from stella_desktop.canvas.scene import GraphScene

DETAIL_FROM = 0.3  # zoom under which large graphs show their overview picture
MIN_FIT_ZOOM = 0.05  # fitting a whole graph smaller than this fits its width instead


class GraphView(QGraphicsView):
    navigated = Signal(str)  # keyboard moved the selection to this step

    def __init__(self, scene: GraphScene, parent=None):
        super().__init__(scene, parent)
        self.setObjectName("graph-view")
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState, True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.current: str | None = None

    @property
    def graph_scene(self) -> GraphScene:
        return self.scene()

    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float) -> None:
        new = self.zoom() * factor
        if 0.005 <= new <= 8:
            self.scale(factor, factor)
            self._update_detail()

    def fit(self) -> None:
        rect = self.graph_scene.sceneRect()
        if rect.isEmpty():
            return
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom() > 1.0:  # a small graph is shown at its natural size, not blown up
            self.resetTransform()
            self.centerOn(rect.center())
        elif self.zoom() < MIN_FIT_ZOOM:  # a very long pack: fit its width, start at the top
            self.resetTransform()
            factor = min(1.0, self.viewport().width() / rect.width())
            self.scale(factor, factor)
            self.centerOn(rect.center().x(), rect.top() + self.viewport().height() / (2 * factor))
        self._update_detail()

    def center_on_step(self, step_id: str) -> None:
        item = self.graph_scene.items_by_id.get(step_id)
        if item is None:
            return
        if self.zoom() < 0.5:
            self.resetTransform()
            self.scale(0.8, 0.8)
            self._update_detail()
        self.ensureVisible(item.sceneBoundingRect(), 60, 60)

    def _update_detail(self) -> None:
        self.graph_scene.set_detail(self.zoom() >= DETAIL_FROM)

    # -- Qt overrides -------------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom_by(1.15 ** steps)
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        order = self.graph_scene.order
        graph = self.graph_scene.graph
        if not order or graph is None:
            super().keyPressEvent(event)
            return
        key = event.key()
        current = self.current if self.current in order else None
        target = None
        if key in (Qt.Key.Key_Down, Qt.Key.Key_J):
            target = order[0] if current is None else order[min(order.index(current) + 1, len(order) - 1)]
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_K):
            target = order[0] if current is None else order[max(order.index(current) - 1, 0)]
        elif key == Qt.Key.Key_Left and current is not None:
            target = graph.parent(current) or current
        elif key == Qt.Key.Key_Right and current is not None:
            children = graph.children(current)
            target = children[0] if children else current
        elif key == Qt.Key.Key_Home:
            target = order[0]
        elif key == Qt.Key.Key_End:
            target = order[-1]
        if target is None:
            super().keyPressEvent(event)
            return
        self.navigated.emit(target)
        event.accept()
