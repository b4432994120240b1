"""The assumptions panel: what the forecast assumes, each removable, and the forecast's outcome.

State is pushed in (:meth:`set_assumptions`, :meth:`set_outcome`); removing
is reported as a step id (``remove_requested``), clearing as
``clear_requested`` and saving as ``save_requested``: whoever owns the
document decides.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QSizePolicy, QVBoxLayout, QWidget,
)

SPACER = 3  # the layout's stretch below the list
EMPTY = "No assumptions: every step succeeds and every gate passes.\nRight-click a step: Assume ▸"


class _AssumptionList(QListWidget):
    delete_pressed = Signal()

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_pressed.emit()
        else:
            super().keyPressEvent(event)


class AssumptionsPanel(QWidget):
    remove_requested = Signal(str)
    clear_requested = Signal()
    save_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("assumptions-panel")
        self.outcome = QLabel("No forecast yet")
        self.outcome.setObjectName("forecast-outcome")
        self.outcome.setWordWrap(True)
        self.list = _AssumptionList()
        self.list.setObjectName("assumptions-list")
        self.empty = QLabel(EMPTY)
        self.empty.setObjectName("assumptions-empty")
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet("color: palette(mid)")
        self.remove = QPushButton("&Remove")
        self.remove.setObjectName("assumptions-remove")
        self.remove.setToolTip("Remove the selected assumption (Delete)")
        self.clear = QPushButton("&Clear All")
        self.clear.setObjectName("assumptions-clear")
        self.save = QPushButton("&Save with Inputs…")
        self.save.setObjectName("assumptions-save")
        self.save.setToolTip("Save the assumptions into an inputs file, beside the input values")
        buttons = QHBoxLayout()
        for button in (self.remove, self.clear, self.save):
            buttons.addWidget(button)
        buttons.addStretch(1)
        for label in (self.outcome, self.empty):  # their text's height, at the top: the list (or a spacer) takes the rest
            label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        layout = QVBoxLayout(self)
        layout.addWidget(self.outcome)
        layout.addWidget(self.empty)
        layout.addWidget(self.list, 1)
        layout.addStretch(1)  # stretched only while the list is hidden (set_assumptions)
        layout.addLayout(buttons)
        self.remove.clicked.connect(self._remove_selected)
        self.clear.clicked.connect(self.clear_requested)
        self.save.clicked.connect(self.save_requested)
        self.list.delete_pressed.connect(self._remove_selected)
        self.set_assumptions({})

    def set_assumptions(self, assumptions: dict[str, str]) -> None:
        self.list.clear()
        for step_id, outcome in assumptions.items():
            item = QListWidgetItem(f"{step_id} = {outcome}")
            item.setData(Qt.ItemDataRole.UserRole, step_id)
            self.list.addItem(item)
        has = bool(assumptions)
        self.layout().setStretch(SPACER, 0 if has else 1)
        self.empty.setVisible(not has)
        self.list.setVisible(has)
        self.remove.setEnabled(has)
        self.clear.setEnabled(has)
        self.save.setEnabled(has)

    def set_outcome(self, text: str, failed: bool = False) -> None:
        self.outcome.setText(text)
        self.outcome.setStyleSheet("color: #c92a2a; font-weight: bold" if failed else "font-weight: bold")

    def _remove_selected(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.remove_requested.emit(item.data(Qt.ItemDataRole.UserRole))
