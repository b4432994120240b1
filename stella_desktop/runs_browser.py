"""The runs browser: every run in the store; open one to see it, or resume it."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QSizePolicy, QTableWidget, QTableWidgetItem,
    QVBoxLayout, QWidget,
)

from core.execution.store import RunStore
from stella_desktop.presentation import duration, plural, run_elapsed

COLUMNS = ("Run", "Pack", "Status", "Created", "Updated", "Elapsed")


class RunsBrowser(QWidget):
    open_run = Signal(str)
    resume_run = Signal(str)
    compare_run = Signal(str)
    export_report = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("runs-browser")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("runs-table")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        self.table.doubleClicked.connect(lambda _: self._emit(self.open_run))
        self.summary = QLabel()
        self.summary.setObjectName("runs-summary")
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # never widens the window
        refresh = QPushButton("Refresh")
        refresh.setObjectName("runs-refresh")
        self.open_button = QPushButton("Open")
        self.open_button.setObjectName("runs-open")
        self.open_button.setToolTip("Show the run's steps, statuses and events")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setObjectName("runs-resume")
        self.resume_button.setToolTip("Continue an interrupted, cancelled or paused run")
        refresh.clicked.connect(self.refresh)
        self.compare_button = QPushButton("Compare")
        self.compare_button.setObjectName("runs-compare")
        self.compare_button.setToolTip("Show on the canvas what differs between this run and the preview shown")
        self.compare_button.clicked.connect(lambda: self._emit(self.compare_run))
        self.report_button = QPushButton("Export Report…")
        self.report_button.setObjectName("runs-export-report")
        self.report_button.setToolTip("Save the selected run's report (HTML or JSON)")
        self.report_button.clicked.connect(lambda: self._emit(self.export_report))
        self.open_button.clicked.connect(lambda: self._emit(self.open_run))
        self.resume_button.clicked.connect(lambda: self._emit(self.resume_run))
        buttons = QHBoxLayout()
        for widget in (refresh, self.open_button, self.resume_button, self.compare_button,
                       self.report_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        buttons.addWidget(self.summary)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.table)
        self.store: RunStore | None = None
        self._stale = False

    def bind(self, session) -> None:
        """Open or resume runs through ``session``; refresh when its runs change."""
        self.set_store(session.store())
        self.open_run.connect(session.open_run)
        self.resume_run.connect(session.resume_run)
        session.runs_changed.connect(self.mark_stale)

    def set_store(self, store: RunStore) -> None:
        """Use ``store``; its runs are read when the browser is shown (a big store costs nothing at start)."""
        self.store = store
        self._stale = True
        if self.isVisible():
            self.refresh()

    def mark_stale(self) -> None:
        """The store changed: refresh now if shown, else when next shown."""
        self._stale = True
        if self.isVisible():
            self.refresh()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def refresh(self) -> None:
        self._stale = False
        self.table.setSortingEnabled(False)
        self.table.setRowCount(0)
        summaries = self.store.list() if self.store is not None else []
        for row, summary in enumerate(summaries):
            self.table.insertRow(row)
            pack = summary.pack or {}
            cells = (summary.run_id, f"{pack.get('name', '?')} {pack.get('version', '')}".strip() if pack else "?",
                     summary.status or "?", summary.created_at or "", summary.updated_at or "",
                     duration(run_elapsed(summary.created_at, summary.updated_at)))
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, summary.run_id)
                if summary.problem:
                    item.setToolTip(summary.problem)
                    item.setForeground(QColor("#c92a2a"))
                self.table.setItem(row, column, item)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COLUMNS.index("Created"), Qt.SortOrder.DescendingOrder)  # newest first
        self.summary.setText(f"{plural(len(summaries), 'run')} in {self.store.root}" if self.store else "")
        self.summary.setToolTip(self.summary.text())

    def selected_run(self) -> str | None:
        items = self.table.selectedItems()
        return items[0].data(Qt.ItemDataRole.UserRole) if items else None

    def select_run(self, run_id: str) -> None:
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).data(Qt.ItemDataRole.UserRole) == run_id:
                self.table.selectRow(row)
                return

    def _emit(self, signal) -> None:
        run_id = self.selected_run()
        if run_id:
            signal.emit(run_id)
