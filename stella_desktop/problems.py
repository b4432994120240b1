"""The problems panel: the session's problems with file:line:col; activating one reveals its source."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem

from core.errors import Problem


class ProblemsPanel(QTreeWidget):
    """Every problem with file:line:col; double-click (or Enter) asks to show the source there."""

    open_source = Signal(str, int, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("problems")
        self.setHeaderLabels(["Location", "Step", "Field", "Problem"])
        self.setRootIsDecorated(False)
        self.setAlternatingRowColors(True)
        self.itemActivated.connect(self._activated)
        self.setColumnWidth(0, 200)
        self.setColumnWidth(1, 140)
        self.setColumnWidth(2, 120)

    def bind(self, session) -> None:
        session.problems_changed.connect(lambda: self.show_problems(session.problems))
        self.open_source.connect(session.reveal_source)

    def show_problems(self, problems: list[Problem]) -> None:
        self.clear()
        for problem in problems:
            short = Problem(os.path.basename(problem.file), problem.line, problem.column, "").location()
            item = QTreeWidgetItem([short, problem.step or "", problem.field or "", problem.message])
            item.setToolTip(0, problem.location())
            item.setData(0, Qt.ItemDataRole.UserRole, (problem.file, problem.line, problem.column))
            item.setToolTip(3, str(problem))
            self.addTopLevelItem(item)

    def _activated(self, item: QTreeWidgetItem, _column: int) -> None:
        file, line, column = item.data(0, Qt.ItemDataRole.UserRole)
        self.open_source.emit(file, line, column)
