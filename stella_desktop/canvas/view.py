"""GraphView: zoom, pan, a readable Fit, keyboard navigation, the minimap and the find field.

Fit shows the whole graph when step ids stay at least 9 pt (:data:`READABLE_ZOOM`);
a bigger graph is fitted to its width (never below that zoom) from its top,
and the minimap in the corner shows where you are.  The view reports where
the user went as step ids through :attr:`navigated`; it owns the
:class:`Minimap` and the :class:`FindBar` as child widgets.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QKeyEvent, QPainter, QWheelEvent
from PySide6.QtWidgets import QGraphicsView

from stella_desktop.canvas import navigation
from stella_desktop.canvas.find_bar import FindBar
from stella_desktop.canvas.minimap import Minimap
from stella_desktop.canvas.node_item import ID_POINTS
from stella_desktop.canvas.scene import GraphScene

DETAIL_FROM = 0.3  # zoom under which large graphs show their overview picture
READABLE_ZOOM = 9.0 / ID_POINTS  # Fit never goes below the zoom where step ids are 9 pt
CORNER = 12
FIND_GAP = 4  # above and below the find bar, in its strip


class GraphView(QGraphicsView):
    navigated = Signal(str)  # keyboard or find moved the selection to this step
    context_requested = Signal(str, object)  # a step was right-clicked (or Menu key): its id, global QPoint

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
        self.minimap = Minimap(self)
        self.minimap.set_scene(scene)
        self.minimap.move_requested.connect(self._move_to)
        self.find_bar = FindBar(self)
        self.find_bar.query_changed.connect(self._find)
        self.find_bar.next_requested.connect(self.find_next)
        self.find_bar.closed.connect(self._find_closed)
        self._finder: navigation.StepFinder | None = None
        self.matches: list[str] = []
        scene.content_changed.connect(self._content_changed)
        scene.sceneRectChanged.connect(lambda _: self._viewport_changed())
        for bar in (self.horizontalScrollBar(), self.verticalScrollBar()):
            bar.valueChanged.connect(lambda _: self._viewport_changed())
        self._viewport_changed()

    @property
    def graph_scene(self) -> GraphScene:
        return self.scene()

    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float) -> None:
        new = self.zoom() * factor
        if 0.002 <= new <= 8:
            self.scale(factor, factor)
            self._update_detail()

    def set_zoom(self, zoom: float) -> None:
        self.resetTransform()
        self.scale(zoom, zoom)
        self._update_detail()

    def fit(self) -> None:
        """The whole graph if it stays readable, else its width (never below READABLE_ZOOM), from the top."""
        rect = self.graph_scene.sceneRect()
        if rect.isEmpty():
            return
        width, height = self.viewport().width(), self.viewport().height()
        whole = min(1.0, width / rect.width(), height / rect.height())
        if whole >= READABLE_ZOOM:
            self.set_zoom(whole)
            self.centerOn(rect.center())
        else:
            zoom = max(READABLE_ZOOM, min(1.0, width / rect.width()))
            self.set_zoom(zoom)
            self.centerOn(rect.center().x(), rect.top() + height / (2 * zoom))
        self._viewport_changed()

    def show_whole(self) -> None:
        """Zoom out until the whole graph is in view, however small (the overview picture)."""
        rect = self.graph_scene.sceneRect()
        if not rect.isEmpty():
            self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
            self._update_detail()

    def visible_scene_rect(self) -> QRectF:
        return self.mapToScene(self.viewport().rect()).boundingRect()

    def center_on_step(self, step_id: str) -> None:
        box = self.graph_scene.box_of(step_id)
        if box is None:
            return
        if self.zoom() < READABLE_ZOOM:
            self.set_zoom(READABLE_ZOOM)
        if not self.visible_scene_rect().adjusted(40, 40, -40, -40).contains(box):
            self.centerOn(box.center())  # the middle: never under the minimap
        self._viewport_changed()

    def go_to(self, step_id: str) -> None:
        """Select ``step_id`` (expanding its blocks), bring it into view and report it."""
        self.current = step_id
        self.graph_scene.select_step(step_id)
        self.center_on_step(step_id)
        self.navigated.emit(step_id)

    def _update_detail(self) -> None:
        self.graph_scene.set_detail(self.zoom() >= DETAIL_FROM)
        self._viewport_changed()

    # -- minimap ------------------------------------------------------------------------------------
    def _content_changed(self) -> None:
        self.minimap.invalidate()
        if self._finder is not None and self._finder.graph is not self.graph_scene.graph:
            self._refind()
        self._viewport_changed()

    def _refind(self) -> None:
        """Another graph is shown (a pack opened or simulated again): the open find bar's query is
        run on it, instead of keeping the matches (and count) of the graph before."""
        self._finder = None
        if self.find_bar.isVisible():
            self._find(self.find_bar.field.text())
        else:
            self.matches = []

    def _viewport_changed(self) -> None:
        """Scrolled, zoomed or resized: tell the scene what is visible, move the minimap's rectangle."""
        if self.scene() is None:  # being destroyed
            return
        rect = self.graph_scene.sceneRect()
        visible = self.visible_scene_rect()
        self.graph_scene.set_visible_region(visible)
        shown = self.graph_scene.graph is not None and not visible.adjusted(-2, -2, 2, 2).contains(rect)
        self.minimap.setVisible(shown)
        if shown:
            self.minimap.set_visible_rect(visible)
            self._place_overlays()

    def _move_to(self, point: QPointF) -> None:
        self.centerOn(point)
        self._viewport_changed()

    def _place_overlays(self) -> None:
        viewport = self.viewport().geometry()
        self.minimap.move(viewport.right() - self.minimap.width() - CORNER,
                          viewport.bottom() - self.minimap.height() - CORNER)
        self.find_bar.adjustSize()
        # in the strip the open bar reserves above the viewport (see open_find), never over the graph
        self.find_bar.move(viewport.right() - self.find_bar.width() - CORNER,
                           viewport.top() - self.find_bar.height() - FIND_GAP)

    # -- find ---------------------------------------------------------------------------------------
    def open_find(self) -> None:
        """Open the find bar in a strip above the graph: the viewport shrinks by the bar's height, so
        the bar never hides a step (a step under it could be the match it jumps to)."""
        self.find_bar.adjustSize()
        self.setViewportMargins(0, self.find_bar.height() + 2 * FIND_GAP, 0, 0)
        self._place_overlays()
        self.find_bar.open_bar()

    def _finder_for_graph(self) -> navigation.StepFinder | None:
        graph = self.graph_scene.graph
        if graph is None:
            return None
        if self._finder is None or self._finder.graph is not graph:
            self._finder = navigation.StepFinder(graph)
        return self._finder

    def _find(self, query: str) -> None:
        finder = self._finder_for_graph()
        self.matches = finder.matches(query, self.graph_scene.status_of) if finder else []
        self.graph_scene.set_matches(self.matches, filtering=bool(query.strip()))
        self.find_bar.show_count(None, len(self.matches))

    def find_next(self, backwards: bool = False) -> str | None:
        finder = self._finder_for_graph()
        if finder is None or not self.matches:
            return None
        target = finder.next_after(self.matches, self.current, backwards)
        self.go_to(target)
        self.find_bar.show_count(self.matches.index(target) + 1, len(self.matches))
        return target

    def _find_closed(self) -> None:
        self.setViewportMargins(0, 0, 0, 0)
        self.matches = []
        self.graph_scene.set_matches([])
        self.setFocus()

    # -- Qt overrides -------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.minimap.set_bounds(self.viewport().width() // 4, self.viewport().height() // 2)
        self._place_overlays()
        self._viewport_changed()

    def contextMenuEvent(self, event) -> None:
        """Right-click on a step (or the Menu key on the selected one): reported as its id."""
        step_id = None
        if event.reason() == event.Reason.Keyboard:
            step_id = self.current
        else:
            for item in self.items(event.pos()):
                step_id = getattr(item, "step_id", None)
                if step_id is not None:
                    break
        if step_id is not None:
            self.context_requested.emit(step_id, event.globalPos())
            event.accept()
        else:
            super().contextMenuEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom_by(1.15 ** steps)
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        scene = self.graph_scene
        graph = scene.graph
        if graph is None or not scene.order:
            super().keyPressEvent(event)
            return
        key = event.key()
        tops = graph.top_level()
        current = self.current if self.current in graph else None
        if current is not None:
            current = scene.shown_as(current)
        action, target = navigation.SELECT, None
        if key in (Qt.Key.Key_Down, Qt.Key.Key_J):
            target = tops[0] if current is None else navigation.down(graph, current)
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_K):
            target = tops[0] if current is None else navigation.up(graph, current)
        elif key in (Qt.Key.Key_PageDown, Qt.Key.Key_PageUp) and current is not None:
            screen = self.viewport().height() / self.zoom() * 0.9
            target = navigation.page(graph, current, self._position_of, screen, key == Qt.Key.Key_PageDown)
        elif key == Qt.Key.Key_Left and current is not None:
            action, target = navigation.left(graph, scene.collapsed, current)
        elif key == Qt.Key.Key_Right and current is not None:
            action, target = navigation.right(graph, scene.collapsed, current)
        elif key == Qt.Key.Key_Home:
            target = tops[0]
        elif key == Qt.Key.Key_End:
            target = tops[-1]
        if target is None:
            super().keyPressEvent(event)
            return
        if action != navigation.SELECT:
            scene.set_expanded(target, action == navigation.EXPAND)
        self.go_to(target)
        event.accept()

    def _position_of(self, step_id: str) -> tuple[float, float]:
        box = self.graph_scene.box_of(step_id)
        return (box.x(), box.y()) if box is not None else (0.0, 0.0)
