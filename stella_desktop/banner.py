"""The banner above the graph: what needs attention now, with buttons to act on it.

It draws the session's :class:`~stella_desktop.attention.Attention`; a button
runs its command through the ``run_command`` callable the window gives it.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton


class Banner(QFrame):
    """A coloured strip above the graph with a message and action buttons."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("banner")
        # the text colour too: the dark theme's white text on this pale yellow was unreadable
        self.setStyleSheet("#banner{background:#fff3bf;border-bottom:1px solid #f0b429} #banner-text{color:#102a43}")
        self.label = QLabel()
        self.label.setObjectName("banner-text")
        self.label.setWordWrap(True)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(10, 6, 10, 6)
        self._layout.addWidget(self.label, 1)
        self.buttons: list[QPushButton] = []
        self.hide()

    def bind(self, session, run_command) -> None:
        """Mirror ``session.attention``; ``run_command(name, run_id)`` acts on a button."""
        def mirror(attention) -> None:
            if attention is None:
                self.clear()
                return
            self.show_message(attention.text, [(label, lambda _=False, c=command: run_command(c, attention.run_id))
                                               for label, command in attention.commands])
        session.attention_changed.connect(mirror)

    def clear(self) -> None:
        for button in self.buttons:
            button.hide()
            button.deleteLater()
        self.buttons = []
        self.label.clear()
        self.hide()

    def show_message(self, text: str, buttons: list[tuple[str, object]] = ()) -> None:
        for button in self.buttons:
            button.hide()  # gone from the next grab() even before the deferred delete runs
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
