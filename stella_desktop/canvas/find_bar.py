"""The find field over the canvas (Ctrl+F): type to filter steps, Enter for the next match, Esc to close.

Owned by the :class:`GraphView`; it only reports what the user typed and
asked for (``query_changed``, ``next_requested``, ``closed``); the view finds
and jumps.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QLineEdit, QToolButton


class FindBar(QFrame):
    query_changed = Signal(str)
    next_requested = Signal(bool)  # backwards
    closed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("find-bar")
        # the palette's colours, so the label and the count stay readable in the dark theme too
        self.setStyleSheet("#find-bar { background: palette(base); border: 1px solid palette(mid); border-radius: 6px; }")
        self.field = QLineEdit()
        self.field.setObjectName("find-field")
        self.field.setPlaceholderText("Find a step: id, name, uses or status")
        self.field.setClearButtonEnabled(True)
        self.field.setMinimumWidth(280)
        self.field.textChanged.connect(self.query_changed)
        self.field.returnPressed.connect(lambda: self.next_requested.emit(False))
        self.field.installEventFilter(self)
        self.count = QLabel()
        self.count.setObjectName("find-count")
        self.count.setMinimumWidth(90)
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Close (Esc)")
        close.clicked.connect(self.close_bar)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(QLabel("Find"))
        layout.addWidget(self.field)
        layout.addWidget(self.count)
        layout.addWidget(close)
        self.hide()

    def open_bar(self) -> None:
        self.show()
        self.raise_()
        self.field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.field.selectAll()

    def close_bar(self) -> None:
        self.hide()
        self.closed.emit()

    def show_count(self, index: int | None, total: int) -> None:
        if not self.field.text().strip():
            self.count.setText("")
        elif not total:
            self.count.setText("no match")
        else:
            self.count.setText(f"{index} of {total}" if index else f"{total} match{'es' if total != 1 else ''}")

    def eventFilter(self, watched, event) -> bool:
        if watched is self.field and event.type() == event.Type.KeyPress:
            if event.key() == Qt.Key.Key_Escape:
                self.close_bar()
                return True
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and \
                    event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self.next_requested.emit(True)
                return True
        return super().eventFilter(watched, event)
