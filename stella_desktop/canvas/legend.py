"""The status legend shown above the canvas."""

from __future__ import annotations

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QWidget

from stella_desktop.status_style import STYLES


class LegendWidget(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("legend")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 2)
        layout.setSpacing(10)
        for status, style in STYLES.items():
            swatch = QFrame()
            swatch.setFixedSize(14, 14)
            border = "dashed" if status == "skipped" else "solid"
            swatch.setStyleSheet(f"background:{style.fill}; border:1px {border} {QColor(style.fill).darker(160).name()};"
                                 "border-radius:3px;")
            layout.addWidget(swatch)
            label = QLabel(style.label)
            label.setObjectName(f"legend-{status}")
            layout.addWidget(label)
        layout.addStretch(1)
