"""The results view: every step in a sortable, filterable tree (Qt model/view).

It mirrors the session: the graph shown, each step's status and how long it
ran, and the selection; choosing a row selects that step in the session.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import QHeaderView, QLineEdit, QTreeView, QVBoxLayout, QWidget

from core.execution.clock import iso
from core.graph import ExecutionGraph
from stella_desktop.presentation import StepTimes, duration, with_countdown
from stella_desktop.status_style import STYLES, fill, text_colour
from stella_desktop.step_status import StepView

COLUMNS = ("Step", "Kind", "Status", "Reason", "Uses", "Attempts", "Took", "Next attempt")


class StepTreeModel(QAbstractItemModel):
    """Rows are steps (children under their block); columns as in :data:`COLUMNS`."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.graph: ExecutionGraph | None = None
        self.views: dict[str, StepView] = {}
        self.times = StepTimes()
        self._row: dict[str, int] = {}  # step id -> row under its parent
        self._children: dict[str | None, tuple[str, ...]] = {None: ()}  # parent id (None: top) -> its rows

    def set_graph(self, graph: ExecutionGraph | None, views: dict[str, StepView]) -> None:
        self.beginResetModel()
        self.graph = graph
        self.views = dict(views)
        self._row, self._children = {}, {None: ()}
        if graph is not None:  # each block's rows once: Qt asks for them per index (a 1,463-item map...)
            self._children[None] = graph.top_level()
            for step_id in graph.order():
                self._children[step_id] = children = graph.children(step_id)
                for row, child in enumerate(children):
                    self._row[child] = row
            for row, step_id in enumerate(self._children[None]):
                self._row[step_id] = row
        self.endResetModel()

    def set_views(self, views: dict[str, StepView], changed: set[str] | None = None) -> None:
        self.views.update(views)
        if self.graph is None:
            return
        spans: dict[str | None, list[int]] = {}  # one dataChanged per block, not per step (10,000 at a time)
        for step_id in changed if changed is not None else views.keys():
            row = self._row.get(step_id)
            if row is not None:
                span = spans.setdefault(self.graph.parent(step_id), [row, row])
                span[0], span[1] = min(span[0], row), max(span[1], row)
        last = len(COLUMNS) - 1
        for parent_id, (first, final) in spans.items():
            parent = self.index_of(parent_id) if parent_id else QModelIndex()
            self.dataChanged.emit(self.index(first, 2, parent), self.index(final, last, parent))

    def _siblings(self, parent_id: str | None) -> tuple[str, ...]:
        return self._children.get(parent_id, ())

    def index_of(self, step_id: str, column: int = 0) -> QModelIndex:
        if self.graph is None or step_id not in self._row:
            return QModelIndex()
        return self.createIndex(self._row[step_id], column, step_id)

    def step_id(self, index: QModelIndex) -> str | None:
        return index.internalPointer() if index.isValid() else None

    # -- Qt model API -----------------------------------------------------------------------------
    def index(self, row: int, column: int, parent: QModelIndex = QModelIndex()) -> QModelIndex:
        if self.graph is None:
            return QModelIndex()
        siblings = self._siblings(self.step_id(parent))
        if 0 <= row < len(siblings):
            return self.createIndex(row, column, siblings[row])
        return QModelIndex()

    def parent(self, index: QModelIndex = QModelIndex()) -> QModelIndex:
        step_id = self.step_id(index)
        if step_id is None or self.graph is None:
            return QModelIndex()
        parent_id = self.graph.parent(step_id)
        return self.index_of(parent_id) if parent_id else QModelIndex()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        if self.graph is None or parent.column() > 0:
            return 0
        return len(self._siblings(self.step_id(parent)))

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return len(COLUMNS)

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        step_id = self.step_id(index)
        if step_id is None:
            return None
        view = self.views.get(step_id, StepView("pending"))
        column = index.column()
        if role == Qt.ItemDataRole.BackgroundRole and column == 2:
            return QBrush(fill(view.status))
        if role == Qt.ItemDataRole.ForegroundRole and column == 2:  # the fill is light: the dark theme's text is not
            return QBrush(text_colour(view.status))
        if role == Qt.ItemDataRole.UserRole:
            return step_id
        if role == Qt.ItemDataRole.ToolTipRole and column == 3:
            return view.reason
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        step = self.graph.step(step_id)
        if column == 0:
            return step_id
        if column == 1:
            return step.kind
        if column == 2:
            return STYLES.get(view.status, STYLES["pending"]).label
        if column == 3:
            waiting = view.status == "retry-waiting"
            return with_countdown(view.reason, view.next_attempt_at if waiting else None)
        if column == 4:
            return step.uses or ""
        if column == 5:
            return view.attempts or None
        if column == 6:
            return duration(self.times.total(step_id))
        if column == 7:
            return iso(view.next_attempt_at) if view.next_attempt_at else ""
        return None


class ResultsPanel(QWidget):
    """Filter box + tree; selecting a row reports the step id."""

    step_selected = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model = StepTreeModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setRecursiveFilteringEnabled(True)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(-1)
        self.filter = QLineEdit()
        self.filter.setObjectName("results-filter")
        self.filter.setPlaceholderText("Filter steps by id, kind, status, reason or uses…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.tree = QTreeView()
        self.tree.setObjectName("results-tree")
        self.tree.setModel(self.proxy)
        self.tree.setSortingEnabled(True)
        self.tree.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.tree.selectionModel().currentRowChanged.connect(self._row_changed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree)
        self._quiet = False

    def show_graph(self, graph: ExecutionGraph | None, views: dict[str, StepView]) -> None:
        self.model.set_graph(graph, views)
        if graph is not None and len(graph) <= 500:
            self.tree.expandAll()
        for column, width in enumerate((220, 110, 130, 320, 170, 70, 80, 190)):
            self.tree.setColumnWidth(column, width)

    def bind(self, session) -> None:
        """Mirror ``session``'s graph, statuses, step times and selection; report row choices to it."""
        session.graph_changed.connect(lambda _refit: self.show_graph(session.graph, session.views))
        session.statuses_changed.connect(lambda changed: self.model.set_views(changed, set(changed)))
        session.selection_changed.connect(self.select)
        session.log_reset.connect(self._reset_times)
        session.record_added.connect(self._feed_time)
        self.step_selected.connect(session.select)

    def _reset_times(self, records: list[dict]) -> None:
        self.model.times = StepTimes(records)

    def _feed_time(self, record: dict) -> None:
        step_id = self.model.times.feed(record)
        if step_id:
            self.model.set_views({}, {step_id})

    def select(self, step_id: str | None) -> None:
        if step_id is None:
            self._quiet = True
            self.tree.clearSelection()
            self._quiet = False
            return
        index = self.proxy.mapFromSource(self.model.index_of(step_id))
        if index.isValid():
            self._quiet = True
            self.tree.setCurrentIndex(index)
            self.tree.scrollTo(index)
            self._quiet = False

    def _row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._quiet:
            return
        step_id = self.proxy.data(current.siblingAtColumn(0), Qt.ItemDataRole.UserRole)
        if step_id:
            self.step_selected.emit(step_id)
