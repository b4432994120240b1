"""The banner above the graph: what needs attention now, with buttons to act on it."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton


class Banner(QFrame):
    """A coloured strip above the graph with a message and action buttons."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("banner")
        self.setStyleSheet("#banner{background:#fff3bf;border-bottom:1px solid #f0b429}")
        self.label = QLabel()
        self.label.setObjectName("banner-text")
        self.label.setWordWrap(True)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(10, 6, 10, 6)
        self._layout.addWidget(self.label, 1)
        self.buttons: list[QPushButton] = []
        self.hide()

    def show_message(self, text: str, buttons: list[tuple[str, object]] = ()) -> None:
        for button in self.buttons:
            button.deleteLater()
        self.buttons = []
        for label, callback in buttons:
            button = QPushButton(label)
            button.setObjectName(f"banner-{label.strip('.…').lower().replace(' ', '-')}")
            button.clicked.connect(callback)
            self._layout.addWidget(button)
            self.buttons.append(button)
        self.label.setText(text)
        self.show()
