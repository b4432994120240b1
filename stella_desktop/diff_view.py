"""The Changes panel: a plan diff as a table (step, change, field, old -> new), clicks reported as ids."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from core.diff import ABSENT, PlanDiff, field_lines

_MARK = {"added": "+ added", "removed": "− removed", "changed": "~ changed"}


class DiffView(QWidget):
    step_clicked = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("diff-view")
        self._summary = QLabel("No comparison yet: save the pack in an editor, or use Compare With…")
        self._summary.setWordWrap(True)
        self._summary.setObjectName("diff-summary")
        self._tree = QTreeWidget()
        self._tree.setObjectName("diff-table")
        self._tree.setHeaderLabels(["Step", "Change", "Field", "Old", "New"])
        self._tree.setRootIsDecorated(False)
        self._tree.setAlternatingRowColors(True)
        self._tree.itemActivated.connect(self._activated)
        self._tree.itemClicked.connect(self._activated)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self._summary)
        layout.addWidget(self._tree)

    def bind(self, session) -> None:
        session.changes.changed.connect(lambda diff: self.set_diff(diff, session.changes.title))
        self.step_clicked.connect(session.select)

    def set_diff(self, diff: PlanDiff | None, title: str = "") -> None:
        self._tree.clear()
        if diff is None:
            self._summary.setText("No comparison yet: save the pack in an editor, or use Compare With…")
            return
        counts = diff.counts()
        text = (f"{counts['added']} added, {counts['removed']} removed, {counts['changed']} changed"
                if diff.differs else "No differences")
        if diff.failure_policy_changed:
            text += f"; failure policy {_value(diff.old.failure_policy)} → {_value(diff.new.failure_policy)}"
        self._summary.setText(f"{title}: {text}" if title else text)
        rows = []
        for step in diff.steps:
            lines = [line for name, values in step.fields.items()
                     for line in field_lines(name, values["old"], values["new"])] or [("", "", "")]
            for label, old, new in lines:
                item = QTreeWidgetItem([step.id, _MARK[step.change], label,
                                        _value(old) if label else "", _value(new) if label else ""])
                item.setData(0, Qt.UserRole, step.id)
                for column in (3, 4):
                    item.setToolTip(column, item.text(column))
                rows.append(item)
        self._tree.addTopLevelItems(rows)
        for column in range(5):
            self._tree.resizeColumnToContents(column)

    def rows(self) -> list[tuple[str, ...]]:
        """What the table shows, row by row (for tests and copy)."""
        return [tuple(self._tree.topLevelItem(i).text(c) for c in range(5))
                for i in range(self._tree.topLevelItemCount())]

    def _activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        step_id = item.data(0, Qt.UserRole)
        if step_id:
            self.step_clicked.emit(step_id)


def _value(value) -> str:
    if value is ABSENT:
        return "(absent)"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= 120 else text[:119] + "…"
