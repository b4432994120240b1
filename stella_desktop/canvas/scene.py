"""GraphScene: the canvas mirror of an ExecutionGraph, its step statuses and its collapsed blocks.

The scene is built from a graph when a pack is simulated; statuses are pushed
in with :meth:`set_statuses`, find matches with :meth:`set_matches`; items
report clicks as step ids through :attr:`step_clicked`.  Blocks with more
children than the threshold start collapsed; :meth:`set_expanded` changes one
and the choice is kept per pack while the app runs.  Each top-level step is a
:class:`RowItem` laid out on its own, so expanding a block redoes one row and
moves the rows below it.  Graphs larger than :data:`OVERVIEW_FROM` shown
boxes also get an :class:`OverviewItem` shown instead of the items when zoomed
far out.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QGraphicsSimpleTextItem

from core.graph import ExecutionGraph
from core.layout import DEFAULT_COLLAPSE_OVER, RowLayout, block_caption, default_collapsed, layout_row, stack_rows
from stella_desktop.canvas.collapsed_item import ALERT, CollapsedBlockItem
from stella_desktop.canvas.edges_item import EdgesItem
from stella_desktop.canvas.frame_item import BlockFrameItem
from stella_desktop.canvas.node_item import StepNodeItem
from stella_desktop.canvas.overview_item import OverviewItem
from stella_desktop.canvas.row_item import RowItem
from stella_desktop.canvas.step_item import StepItem
from stella_desktop.step_status import StepView

OVERVIEW_FROM = 1500
MARGIN = 40.0


def _rect(box) -> QRectF:
    return QRectF(box.x, box.y, box.width, box.height)


class GraphScene(QGraphicsScene):
    step_clicked = Signal(str)
    expansion_changed = Signal(str, bool)  # block id, expanded
    content_changed = Signal()  # rows laid out again or statuses changed (the minimap redraws)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.items_by_id: dict[str, StepItem] = {}
        self.overview: OverviewItem | None = None
        self.order: list[str] = []
        self.graph: ExecutionGraph | None = None
        self.collapsed: set[str] = set()
        self.threshold = DEFAULT_COLLAPSE_OVER
        self._memory: dict[str, set[str]] = {}  # pack -> collapsed blocks, while the app runs
        self._pack = ""
        self.rows: list[RowLayout] = []
        self.offsets: list[tuple[float, float]] = []
        self._row_items: list[RowItem] = []
        self._row_of: dict[str, int] = {}  # step id -> index of its top-level row
        self._edges: EdgesItem | None = None
        self._statuses: dict[str, str] = {}
        self._notes: dict[str, str] = {}
        self._matches: set[str] = set()
        self._detailed = True
        self.setBackgroundBrush(QColor("#f7f9fb"))

    # -- building -------------------------------------------------------------------------------
    def show_graph(self, graph: ExecutionGraph, pack: str | None = None) -> None:
        """Draw ``graph``; ``pack`` (default: the pack's name) keys the remembered collapsed blocks."""
        self._reset()
        self.graph = graph
        self.order = graph.order()
        self._pack = pack or str(graph.nx.graph.get("pack", ""))
        remembered = self._memory.get(self._pack)
        self.collapsed = {b for b in remembered if b in graph} if remembered is not None else \
            default_collapsed(graph, self.threshold)
        self._memory[self._pack] = self.collapsed
        for index, top in enumerate(graph.top_level()):
            for step in graph.step(top).walk():
                self._row_of[step.id] = index
            self.rows.append(layout_row(graph.step(top), self.collapsed))
            self._row_items.append(self._build_row(self.rows[-1]))
        self._restack()

    def show_message(self, text: str) -> None:
        """Replace the graph with a message (a pack with problems never shows a stale graph)."""
        self._reset()
        label = QGraphicsSimpleTextItem(text)
        font = QFont(label.font())
        font.setPointSize(13)
        label.setFont(font)
        label.setBrush(QColor("#486581"))
        self.addItem(label)
        self.setSceneRect(label.boundingRect().adjusted(-40, -40, 40, 40))
        self.content_changed.emit()

    def _reset(self) -> None:
        self.clear()
        self.items_by_id.clear()
        self.overview = None
        self._edges = None
        self.graph = None
        self.order = []
        self.rows, self.offsets, self._row_items = [], [], []
        self._row_of = {}
        self._matches = set()

    def _build_row(self, row: RowLayout) -> RowItem:
        container = RowItem(row.top)
        graph = self.graph
        for step_id, box in row.frames.items():
            step = graph.step(step_id)
            self.items_by_id[step_id] = BlockFrameItem(step_id, step.kind, _rect(box), block_caption(step), container)
        for step_id, box in row.blocks.items():
            step = graph.step(step_id)
            self.items_by_id[step_id] = CollapsedBlockItem(step_id, step.kind, _rect(box), block_caption(step),
                                                           container)
        for step_id, box in row.nodes.items():
            step = graph.step(step_id)
            runtime = step.when if step.when_runtime and step.when else ""
            self.items_by_id[step_id] = StepNodeItem(step_id, step.kind, _rect(box), runtime, container)
        self.addItem(container)
        container.setVisible(self._detailed or self.overview is None)
        matched = self._shown_matches() if self._matches else set()
        for step_id in (*row.frames, *row.blocks, *row.nodes):
            item = self.items_by_id[step_id]
            item.set_status(self._statuses.get(step_id, "pending"), self._notes.get(step_id, ""))
            item.set_matched(step_id in matched)
        for step_id in row.blocks:
            self._update_counts(step_id)
        return container

    def _restack(self) -> None:
        """Place the rows, redraw the arrows, and size the scene and the overview."""
        width, self.offsets, height = stack_rows(self.rows)
        segments = []
        previous = None
        for row, item, (dx, dy) in zip(self.rows, self._row_items, self.offsets):
            item.setPos(dx, dy)
            top = row.box(row.top)
            if previous is not None:
                segments.append((previous, QPointF(dx + top.center_x, dy + top.y)))
            previous = QPointF(dx + top.center_x, dy + top.bottom)
            for a, b in row.chains:
                box_a, box_b = row.box(a), row.box(b)
                segments.append((QPointF(dx + box_a.center_x, dy + box_a.bottom),
                                 QPointF(dx + box_b.center_x, dy + box_b.y)))
        if self._edges is not None:
            self.removeItem(self._edges)
        self._edges = EdgesItem(segments)
        self.addItem(self._edges)
        bounds = QRectF(-MARGIN, -MARGIN, width + 2 * MARGIN, height + 2 * MARGIN)
        if len(self.items_by_id) >= OVERVIEW_FROM:
            if self.overview is None:
                self.overview = OverviewItem()
                self.overview.setVisible(not self._detailed)
                self.addItem(self.overview)
                self.overview.set_statuses(self._statuses)
            self.overview.set_content(self.shown_rows(), bounds)
        elif self.overview is not None:
            self.removeItem(self.overview)
            self.overview = None
            self._show_rows(True)
        self.setSceneRect(bounds)
        self.content_changed.emit()

    def shown_rows(self) -> list[tuple[RowLayout, float, float]]:
        return [(row, dx, dy) for row, (dx, dy) in zip(self.rows, self.offsets)]

    # -- collapse and expand ---------------------------------------------------------------------
    def is_collapsed(self, step_id: str) -> bool:
        return step_id in self.collapsed

    def set_expanded(self, block_id: str, expanded: bool) -> None:
        if self.graph is None or block_id not in self.graph or not self.graph.step(block_id).is_block:
            return
        if expanded == (block_id not in self.collapsed):
            return
        (self.collapsed.discard if expanded else self.collapsed.add)(block_id)
        self._relayout_rows({self._row_of[block_id]})
        self.expansion_changed.emit(block_id, expanded)

    def set_all_expanded(self, expanded: bool) -> None:
        if self.graph is None:
            return
        blocks = {s for s in self.order if self.graph.step(s).children}
        self.collapsed.clear()
        if not expanded:
            self.collapsed.update(blocks)
        self._relayout_rows(set(range(len(self.rows))))

    def reveal(self, step_id: str) -> None:
        """Expand every collapsed block around ``step_id`` so it is drawn."""
        if self.graph is None or step_id not in self.graph:
            return
        hidden = [a for a in self.ancestors(step_id) if a in self.collapsed]
        if hidden:
            self.collapsed.difference_update(hidden)
            self._relayout_rows({self._row_of[step_id]})
            for block in hidden:
                self.expansion_changed.emit(block, True)

    def shown_as(self, step_id: str) -> str:
        """The id drawn for ``step_id``: itself, or the outermost collapsed block hiding it."""
        shown = step_id
        for ancestor in self.ancestors(step_id):
            if ancestor in self.collapsed:
                shown = ancestor
        return shown

    def ancestors(self, step_id: str) -> list[str]:
        result = []
        parent = self.graph.parent(step_id)
        while parent is not None:
            result.append(parent)
            parent = self.graph.parent(parent)
        return result

    def set_collapse_threshold(self, threshold: int) -> None:
        """Blocks with more children than ``threshold`` start collapsed; redraws the current pack
        with the new default (forgetting what was expanded by hand)."""
        self.threshold = max(1, int(threshold))
        self._memory.clear()
        if self.graph is not None:
            self.show_graph(self.graph, self._pack)

    def _relayout_rows(self, indexes: set[int]) -> None:
        selected = [i.step_id for i in self.selectedItems() if isinstance(i, StepItem)]
        for index in sorted(indexes):
            old = self.rows[index]
            for step_id in (*old.frames, *old.blocks, *old.nodes):
                self.items_by_id.pop(step_id, None)
            self.removeItem(self._row_items[index])
            self.rows[index] = layout_row(self.graph.step(old.top), self.collapsed)
            self._row_items[index] = self._build_row(self.rows[index])
        self._restack()
        for step_id in selected:
            if step_id in self.items_by_id:
                self.items_by_id[step_id].setSelected(True)

    # -- state pushed in -------------------------------------------------------------------------
    def set_statuses(self, views: dict[str, StepView], notes: dict[str, str] | None = None) -> None:
        notes = notes or {}
        self._statuses.update({step_id: view.status for step_id, view in views.items()})
        self._notes.update(notes)
        for step_id, view in views.items():
            item = self.items_by_id.get(step_id)
            if item is not None:
                item.set_status(view.status, notes.get(step_id, ""))
        for step_id, item in self.items_by_id.items():
            if isinstance(item, CollapsedBlockItem):
                self._update_counts(step_id)
        if self.overview is not None:
            self.overview.set_statuses(dict(self._statuses))
        self.content_changed.emit()

    def status_of(self, step_id: str) -> str:
        return self._statuses.get(step_id, "pending")

    def _update_counts(self, block_id: str) -> None:
        step = self.graph.step(block_id)
        counts: dict[str, int] = {}
        for child in step.children:
            status = self._statuses.get(child.id, "pending")
            counts[status] = counts.get(status, 0) + 1
        inside: dict[str, int] = {}
        for step_inside in step.walk():
            status = self._statuses.get(step_inside.id, "pending")
            if status in ALERT and step_inside.id != block_id and not step_inside.children:
                inside[status] = inside.get(status, 0) + 1
        alert_status = next((s for s in ALERT if inside.get(s)), "")
        alert = ", ".join(f"{n} {s.replace('-', ' ')}" for s, n in inside.items()) + " inside" if inside else ""
        self.items_by_id[block_id].set_counts(counts, alert_status, alert)

    def set_matches(self, step_ids) -> None:
        """Outline these steps (find results); a collapsed block is outlined for a match inside."""
        before = self._shown_matches()
        self._matches = set(step_ids)
        after = self._shown_matches()
        for step_id in before ^ after:
            item = self.items_by_id.get(step_id)
            if item is not None:
                item.set_matched(step_id in after)

    def _shown_matches(self) -> set[str]:
        if self.graph is None:
            return set()
        return {self.shown_as(s) for s in self._matches}

    def set_detail(self, detailed: bool) -> None:
        """Individual items when zoomed in; the single overview picture when far out."""
        self._detailed = detailed
        if self.overview is None:
            return
        self.overview.setVisible(not detailed)
        self._show_rows(detailed)

    def _show_rows(self, shown: bool) -> None:
        for item in self._row_items:
            item.setVisible(shown)

    def set_caching(self, cached: bool) -> None:
        mode = QGraphicsItem.CacheMode.DeviceCoordinateCache if cached else QGraphicsItem.CacheMode.NoCache
        for item in self.items():
            if not isinstance(item, (OverviewItem, RowItem)):
                item.setCacheMode(mode)

    def select_step(self, step_id: str | None) -> None:
        """Select ``step_id``, expanding the blocks around it."""
        if step_id:
            self.reveal(step_id)
        self.blockSignals(True)
        self.clearSelection()
        item = self.items_by_id.get(step_id) if step_id else None
        if item is not None:
            item.setSelected(True)
        self.blockSignals(False)

    def report_click(self, step_id: str) -> None:
        self.step_clicked.emit(step_id)
