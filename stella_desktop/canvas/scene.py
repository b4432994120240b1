"""GraphScene: the canvas mirror of an ExecutionGraph and its step statuses.

The scene is rebuilt from (graph, layout) when a pack is simulated, and
statuses are pushed into its items with :meth:`set_statuses`; items report
clicks as step ids through :attr:`step_clicked`.  Graphs larger than
:data:`OVERVIEW_FROM` steps also get an :class:`OverviewItem` that the view
shows instead of the individual items when zoomed far out.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QGraphicsSimpleTextItem

from core.graph import ExecutionGraph
from core.layout import Layout
from stella_desktop.canvas.edges_item import EdgesItem
from stella_desktop.canvas.frame_item import BlockFrameItem
from stella_desktop.canvas.node_item import StepNodeItem
from stella_desktop.canvas.overview_item import OverviewItem
from stella_desktop.step_status import StepView

OVERVIEW_FROM = 1500
MARGIN = 40.0


def _rect(box) -> QRectF:
    return QRectF(box.x, box.y, box.width, box.height)


def _caption(step) -> str:
    limit = "unlimited" if step.max_parallel is None else f"max {step.max_parallel}"
    count = len(step.children)
    noun = ("item" if step.kind == "map" else "step") + ("" if count == 1 else "s")
    text = f"{count} {noun}, {limit} at once"
    if step.continue_on_error:
        text += ", continue on error"
    if step.kind == "map" and step.items_runtime and not step.children:
        text = "items known at run time"
    return text


class GraphScene(QGraphicsScene):
    step_clicked = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.items_by_id: dict[str, StepNodeItem | BlockFrameItem] = {}
        self.overview: OverviewItem | None = None
        self.order: list[str] = []
        self.graph: ExecutionGraph | None = None
        self.setBackgroundBrush(QColor("#f7f9fb"))

    # -- building -------------------------------------------------------------------------------
    def show_graph(self, graph: ExecutionGraph, layout: Layout) -> None:
        self.clear()
        self.items_by_id.clear()
        self.graph = graph
        self.order = graph.order()
        for step_id, box in layout.frames.items():
            item = BlockFrameItem(step_id, graph.step(step_id).kind, _rect(box), _caption(graph.step(step_id)))
            self.addItem(item)
            self.items_by_id[step_id] = item
        for step_id, box in layout.nodes.items():
            item = StepNodeItem(step_id, graph.step(step_id).kind, _rect(box))
            self.addItem(item)
            self.items_by_id[step_id] = item
        segments = []
        for source, target in layout.edges:
            a, b = layout.box(source), layout.box(target)
            segments.append((QPointF(a.center_x, a.bottom), QPointF(b.center_x, b.y)))
        self.addItem(EdgesItem(segments))
        bounds = QRectF(-MARGIN, -MARGIN, layout.width + 2 * MARGIN, layout.height + 2 * MARGIN)
        self.overview = None
        if len(layout.nodes) + len(layout.frames) >= OVERVIEW_FROM:
            self.overview = OverviewItem({k: _rect(v) for k, v in layout.nodes.items()},
                                         {k: _rect(v) for k, v in layout.frames.items()}, bounds)
            self.overview.setVisible(False)
            self.addItem(self.overview)
        self.setSceneRect(bounds)

    def show_message(self, text: str) -> None:
        """Replace the graph with a message (a pack with problems never shows a stale graph)."""
        self.clear()
        self.items_by_id.clear()
        self.overview = None
        self.graph = None
        self.order = []
        label = QGraphicsSimpleTextItem(text)
        font = QFont(label.font())
        font.setPointSize(13)
        label.setFont(font)
        label.setBrush(QColor("#486581"))
        self.addItem(label)
        self.setSceneRect(label.boundingRect().adjusted(-40, -40, 40, 40))

    # -- state pushed in -------------------------------------------------------------------------
    def set_statuses(self, views: dict[str, StepView], notes: dict[str, str] | None = None) -> None:
        notes = notes or {}
        for step_id, view in views.items():
            item = self.items_by_id.get(step_id)
            if item is not None:
                item.set_status(view.status, notes.get(step_id, ""))
        if self.overview is not None:
            self.overview.set_statuses({step_id: view.status for step_id, view in views.items()})

    def set_detail(self, detailed: bool) -> None:
        """Individual items when zoomed in; the single overview picture when far out."""
        if self.overview is None:
            return
        self.overview.setVisible(not detailed)
        for item in self.items_by_id.values():
            item.setVisible(detailed)

    def set_caching(self, cached: bool) -> None:
        mode = QGraphicsItem.CacheMode.DeviceCoordinateCache if cached else QGraphicsItem.CacheMode.NoCache
        for item in self.items():
            if not isinstance(item, OverviewItem):
                item.setCacheMode(mode)

    def select_step(self, step_id: str | None) -> None:
        self.blockSignals(True)
        self.clearSelection()
        item = self.items_by_id.get(step_id) if step_id else None
        if item is not None:
            item.setSelected(True)
        self.blockSignals(False)

    def report_click(self, step_id: str) -> None:
        self.step_clicked.emit(step_id)
