"""GraphScene: the canvas mirror of an ExecutionGraph, its step statuses and its collapsed blocks.

The scene is built from a graph when a pack is simulated; statuses are pushed
in with :meth:`set_statuses`, find matches with :meth:`set_matches`, the part
the view shows with :meth:`set_visible_region`; items report clicks as step
ids through :attr:`step_clicked`.  Blocks with more children than the
threshold start collapsed; :meth:`set_expanded` changes one and the choice is
kept per pack while the app runs.

Each top-level step is a row laid out on its own (pure data, ``core.layout``);
expanding a block redoes one row and moves the rows below.  A graph of
:data:`OVERVIEW_FROM` boxes or more keeps items only for the rows near the
visible region (created as they scroll into view), and draws an
:class:`OverviewItem` picture instead when zoomed far out; smaller graphs
have every item, always.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from PySide6.QtCore import QRectF, QTimer, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QGraphicsSimpleTextItem

from core.graph import ExecutionGraph
from core.layout import DEFAULT_COLLAPSE_OVER, RowLayout, default_collapsed, layout_row, stack_rows
from stella_desktop.canvas.collapsed_item import ALERT, CollapsedBlockItem
from stella_desktop.canvas.frame_item import BlockFrameItem
from stella_desktop.canvas.overview_item import OverviewItem
from stella_desktop.canvas.row_item import RowItem
from stella_desktop.canvas.step_item import StepItem
from stella_desktop.step_status import StepView

OVERVIEW_FROM = 1500
MARGIN = 40.0


def _box_count(row: RowLayout) -> int:
    return len(row.nodes) + len(row.frames) + len(row.blocks)


class GraphScene(QGraphicsScene):
    step_clicked = Signal(str)
    expansion_changed = Signal(str, bool)  # block id, expanded
    content_changed = Signal()  # rows laid out again or statuses changed (the minimap redraws)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.items_by_id: dict[str, StepItem] = {}  # the steps that have items now
        self.overview: OverviewItem | None = None
        self.order: list[str] = []
        self.graph: ExecutionGraph | None = None
        self.collapsed: set[str] = set()
        self.threshold = DEFAULT_COLLAPSE_OVER
        self._memory: dict[str, tuple[set[str], set[str]]] = {}  # pack -> (collapsed, known blocks)
        self._pack = ""
        self.rows: list[RowLayout] = []
        self.offsets: list[tuple[float, float]] = []
        self._tops: list[float] = []  # row tops, for finding the rows in a region
        self._row_items: dict[int, RowItem] = {}
        self._row_of: dict[str, int] = {}  # step id -> index of its top-level row
        self._region = QRectF(-1e9, -MARGIN, 2e9, 3000)  # until the view says: the top
        self._statuses: dict[str, str] = {}
        self._notes: dict[str, str] = {}
        self._changes: dict[str, tuple[str, list[str]]] = {}  # step id -> (added/changed, fields)
        self._matches: set[str] = set()
        self._filtering = False  # a find is active: steps that do not match are dimmed
        self._selected: str | None = None
        self._detailed = True
        self._margin_rows: range = range(0)
        self._boxes = 0  # boxes in all rows (an overview picture from OVERVIEW_FROM)
        self._margin_timer = QTimer(self)
        self._margin_timer.setSingleShot(True)
        self._margin_timer.setInterval(0)
        self._margin_timer.timeout.connect(lambda: self._materialize(self._margin_rows) if self.graph else None)
        self.setBackgroundBrush(QColor("#f7f9fb"))

    @property
    def virtual(self) -> bool:
        """Items only near the visible region (big graphs), or for every row."""
        return self.overview is not None

    # -- building -------------------------------------------------------------------------------
    def show_graph(self, graph: ExecutionGraph, pack: str | None = None) -> None:
        """Draw ``graph``; ``pack`` (default: the pack's name) keys the remembered collapsed blocks."""
        self._reset()
        self.graph = graph
        self.order = graph.order()
        self._pack = pack or str(graph.info.get("pack", ""))
        remembered, known = self._memory.get(self._pack, (set(), set()))
        # blocks seen before keep their state; new ones (a map expanded at run time) get the default
        self.collapsed = {b for b in remembered if b in graph} | \
            {b for b in default_collapsed(graph, self.threshold) if b not in known}
        self._memory[self._pack] = (self.collapsed, {s for s in self.order if graph.step(s).is_block})
        for index, top in enumerate(graph.top_level()):
            for step in graph.step(top).walk():
                self._row_of[step.id] = index
            self.rows.append(layout_row(graph.step(top), self.collapsed))
        self._boxes = sum(_box_count(row) for row in self.rows)
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
        self.graph = None
        self.order = []
        self.rows, self.offsets, self._tops, self._row_items = [], [], [], {}
        self._margin_rows = range(0)
        self._row_of = {}
        self._matches = set()
        self._filtering = False
        self._selected = None

    def _restack(self) -> None:
        """Place the rows, size the scene and the overview, and give items to the rows in view."""
        width, self.offsets, height = stack_rows(self.rows)
        self._tops = [dy for _, dy in self.offsets]
        for index, item in self._row_items.items():
            dx, dy = self.offsets[index]
            if item.x() != dx or item.y() != dy:
                item.setPos(dx, dy)
        bounds = QRectF(-MARGIN, -MARGIN, width + 2 * MARGIN, height + 2 * MARGIN)
        if self._boxes >= OVERVIEW_FROM:
            if self.overview is None:
                self.overview = OverviewItem()
                self.overview.setVisible(not self._detailed)
                self.addItem(self.overview)
                self.overview.set_statuses(dict(self._statuses))
            self.overview.set_content(self.shown_rows, bounds)
        elif self.overview is not None:
            self.removeItem(self.overview)
            self.overview = None
        self.setSceneRect(bounds)
        self._fill_region()
        self.content_changed.emit()

    def shown_rows(self) -> list[tuple[RowLayout, float, float]]:
        return [(row, dx, dy) for row, (dx, dy) in zip(self.rows, self.offsets)]

    # -- rows with items -------------------------------------------------------------------------
    def set_visible_region(self, rect: QRectF) -> None:
        """The part of the scene the view shows: rows near it get items, rows far from it lose them."""
        self._region = QRectF(rect)
        self._fill_region()

    def show_all_rows(self) -> None:
        """Items for every row (for an export); :meth:`set_visible_region` trims them again."""
        self._materialize(range(len(self.rows)))

    def _rows_between(self, top: float, bottom: float) -> range:
        return range(max(0, bisect_right(self._tops, top) - 1), bisect_left(self._tops, bottom))

    def _fill_region(self) -> None:
        if not self.virtual:
            self._materialize(range(len(self.rows)))
            return
        if not self._detailed:
            return  # the overview picture is shown: no items needed
        margin = max(self._region.height() / 2, 400.0)
        keep = self._rows_between(self._region.top() - 3 * margin, self._region.bottom() + 3 * margin)
        for index in [i for i in self._row_items if i not in keep]:
            self._dematerialize(index)
        self._materialize(self._rows_between(self._region.top(), self._region.bottom()))
        # half a screen each way, right after this paint: scrolling finds them ready, a jump
        # does not wait for them
        self._margin_rows = self._rows_between(self._region.top() - margin, self._region.bottom() + margin)
        self._margin_timer.start()

    def _materialize(self, indexes) -> None:
        matched = self._shown_matches() if self._matches else set()
        filtering = self._filtering
        for index in indexes:
            if index in self._row_items:
                continue
            container = RowItem(self.rows[index], self.graph, index == 0)
            container.setPos(*self.offsets[index])
            self.addItem(container)
            container.setVisible(self._detailed or self.overview is None)
            self._row_items[index] = container
            self.items_by_id.update(container.steps)
            for step_id, item in container.steps.items():
                item.set_status(self._statuses.get(step_id, "pending"), self._notes.get(step_id, ""))
                item.set_matched(step_id in matched, filtering)
                if step_id in self._changes:
                    item.set_change(*self._changes[step_id])
                if isinstance(item, CollapsedBlockItem):
                    self._update_counts(step_id)
                if step_id == self._selected:
                    item.setSelected(True)

    def _dematerialize(self, index: int) -> None:
        container = self._row_items.pop(index)
        for step_id in container.steps:
            self.items_by_id.pop(step_id, None)
        self.removeItem(container)

    def edge_count(self) -> int:
        """Arrows drawn by the rows that have items."""
        return sum(item.edges.segment_count for item in self._row_items.values())

    def box_of(self, step_id: str) -> QRectF | None:
        """Where ``step_id`` (or the collapsed block hiding it) is drawn, in scene coordinates."""
        if self.graph is None or step_id not in self._row_of:
            return None
        index = self._row_of[step_id]
        box = self.rows[index].box(self.shown_as(step_id))
        dx, dy = self.offsets[index]
        return QRectF(box.x + dx, box.y + dy, box.width, box.height)

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
        self.collapsed.clear()
        if not expanded:
            self.collapsed.update(s for s in self.order if self.graph.step(s).children)
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
        for index in sorted(indexes):
            if index in self._row_items:
                self._dematerialize(index)
            self._boxes -= _box_count(self.rows[index])
            self.rows[index] = layout_row(self.graph.step(self.rows[index].top), self.collapsed)
            self._boxes += _box_count(self.rows[index])
        self._restack()
        self._materialize(i for i in sorted(indexes) if self._detailed or not self.virtual)

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

    def set_changes(self, changes: dict[str, tuple[str, list[str]]]) -> None:
        """Tag steps new or changed: step id -> (change, names of the fields that changed)."""
        before, self._changes = self._changes, dict(changes)
        for step_id in set(before) | set(self._changes):
            item = self.items_by_id.get(step_id)
            if item is not None:
                item.set_change(*self._changes.get(step_id, (None, [])))

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

    def set_matches(self, step_ids, filtering: bool | None = None) -> None:
        """Outline these steps (find results) and, while ``filtering`` (default: any match), dim the
        rest; a collapsed block is outlined for a match inside."""
        filtering = bool(step_ids) if filtering is None else filtering
        before = self._shown_matches()
        self._matches = set(step_ids)
        after = self._shown_matches()
        changed = self.items_by_id if filtering != self._filtering else (before ^ after)
        self._filtering = filtering
        for step_id in changed:
            item = self.items_by_id.get(step_id)
            if item is not None:
                item.set_matched(step_id in after, filtering)

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
        for item in self._row_items.values():
            item.setVisible(detailed)
        if detailed:
            self._fill_region()

    def set_caching(self, cached: bool) -> None:
        """Cached bitmaps on screen; vectors and text for an export.  Frames are never cached: a
        frame around a 300-item map is bigger than Qt's whole pixmap cache."""
        mode = QGraphicsItem.CacheMode.DeviceCoordinateCache if cached else QGraphicsItem.CacheMode.NoCache
        for item in self.items():
            if not isinstance(item, (OverviewItem, RowItem, BlockFrameItem)):
                item.setCacheMode(mode)

    def select_step(self, step_id: str | None) -> None:
        """Select ``step_id``, expanding the blocks around it and giving its row items."""
        if step_id:
            self.reveal(step_id)
            if step_id in self._row_of:
                self._materialize([self._row_of[step_id]])
        self._selected = step_id
        self.blockSignals(True)
        self.clearSelection()
        item = self.items_by_id.get(step_id) if step_id else None
        if item is not None:
            item.setSelected(True)
        self.blockSignals(False)

    def report_click(self, step_id: str) -> None:
        self.step_clicked.emit(step_id)
