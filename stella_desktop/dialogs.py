"""Small dialogs: a gate decision (who, why) and the preferences."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
    QPlainTextEdit, QPushButton, QSpinBox, QVBoxLayout,
)

from stella_desktop.settings import AppSettings


class DecisionDialog(QDialog):
    """Approve/reject an approval or allow/deny a policy gate: who decides and why."""

    def __init__(self, title: str, what: str, verb: str, decided_by: str, parent=None):
        super().__init__(parent)
        self.setObjectName("decision-dialog")
        self.setWindowTitle(title)
        self.by = QLineEdit(decided_by)
        self.by.setObjectName("decision-by")
        self.by.setPlaceholderText("your name (recorded in the run)")
        self.reason = QPlainTextEdit()
        self.reason.setObjectName("decision-reason")
        self.reason.setPlaceholderText("why (optional, recorded in the run)")
        self.reason.setFixedHeight(80)
        form = QFormLayout()
        form.addRow("Decided by", self.by)
        form.addRow("Reason", self.reason)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText(verb)
        self.ok.setObjectName("decision-ok")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.by.textChanged.connect(lambda text: self.ok.setEnabled(bool(text.strip())))
        self.ok.setEnabled(bool(decided_by.strip()))
        label = QLabel(what)
        label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def decision(self) -> tuple[str, str | None]:
        reason = self.reason.toPlainText().strip()
        return self.by.text().strip(), reason or None


class PreferencesDialog(QDialog):
    def __init__(self, settings: AppSettings, parent=None):
        super().__init__(parent)
        self.setObjectName("preferences-dialog")
        self.setWindowTitle("Preferences")
        self.settings = settings
        self.store = QLineEdit(str(settings.store_folder))
        self.store.setObjectName("pref-store")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.store)
        row.addWidget(browse)
        self.workers = QSpinBox()
        self.workers.setObjectName("pref-workers")
        self.workers.setRange(1, 64)
        self.workers.setValue(settings.workers)
        self.commands = QCheckBox("Allow builtin:command steps to run programs")
        self.commands.setObjectName("pref-commands")
        self.commands.setChecked(settings.allow_commands)
        warning = QLabel("⚠ A pack you did not write could then run any program on this machine as you.")
        warning.setStyleSheet("color:#b35900")
        warning.setWordWrap(True)
        warning.setVisible(settings.allow_commands)
        self.commands.toggled.connect(warning.setVisible)
        self.commands.toggled.connect(lambda _: QTimer.singleShot(0, self.adjustSize))
        self.setMinimumWidth(520)
        self.theme = QComboBox()
        self.theme.setObjectName("pref-theme")
        for key, label in (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark")):
            self.theme.addItem(label, key)
        self.theme.setCurrentIndex(max(0, self.theme.findData(settings.theme)))
        self.collapse_over = QSpinBox()
        self.collapse_over.setObjectName("pref-collapse-over")
        self.collapse_over.setRange(1, 100_000)
        self.collapse_over.setValue(settings.collapse_over)
        self.collapse_over.setToolTip("A parallel or map block with more children than this starts collapsed")
        form = QFormLayout()
        form.addRow("Run store folder", row)
        form.addRow("Worker threads", self.workers)
        form.addRow("Commands", self.commands)
        form.addRow("", warning)
        form.addRow("Theme", self.theme)
        form.addRow("Collapse blocks over", self.collapse_over)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Run store folder", self.store.text())
        if folder:
            self.store.setText(folder)

    def accept(self) -> None:
        self.settings.store_folder = Path(self.store.text().strip() or str(self.settings.store_folder))
        self.settings.workers = self.workers.value()
        self.settings.allow_commands = self.commands.isChecked()
        self.settings.theme = self.theme.currentData()
        self.settings.collapse_over = self.collapse_over.value()
        super().accept()


def apply_theme(app, theme: str) -> None:
    hints = app.styleHints()
    if hasattr(hints, "setColorScheme"):
        scheme = {"light": Qt.ColorScheme.Light, "dark": Qt.ColorScheme.Dark}.get(theme, Qt.ColorScheme.Unknown)
        hints.setColorScheme(scheme)
