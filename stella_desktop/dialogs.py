"""Small dialogs: a gate decision (who, why) and the preferences."""

from __future__ import annotations

import html
import json
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
    QPlainTextEdit, QPushButton, QSpinBox, QVBoxLayout,
)

from stella_desktop.settings import AppSettings


def decision_text(kind: str, yes: bool, step, plan) -> tuple[str, str]:
    """(title, body html) of what is being decided: the approval's reason, grants and expiry, or the
    policy's name and parameters."""
    rows = []
    if kind == "approval":
        verb = "Approve" if yes else "Reject"
        approval = plan.approvals.get(step.approval_id) if plan is not None else None
        head = f"{verb} <b>{html.escape(step.approval_id)}</b> for step <b>{html.escape(step.id)}</b>?"
        if approval is not None:
            if approval.reason:
                rows.append(("Reason", _plain(approval.reason)))
            rows.append(("Grants", ", ".join(approval.grants) or "anyone"))
            rows.append(("Expires after", approval.expires_after or "never"))
    else:
        verb = "Allow" if yes else "Deny"
        head = f"{verb} policy <b>{html.escape(step.policy or '')}</b> at step <b>{html.escape(step.id)}</b>?"
        for key, value in (step.parameters or {}).items():
            rows.append((f"Parameter {key}", _plain(value)))
    if step.gate_message:
        rows.append(("Message", _plain(step.gate_message)))
    body = "".join(f"<tr><th align=left valign=top style='padding-right:12px'>{html.escape(k)}</th>"
                   f"<td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f"{verb} — {step.id}", f"<p>{head}</p><table>{body}</table>"


def _plain(value) -> str:
    if isinstance(value, str):
        return value
    template = getattr(value, "template", None)
    if template is not None:
        return f"{template} (at run time)"
    return json.dumps(value, ensure_ascii=False, default=str)


class DecisionDialog(QDialog):
    """Approve/reject an approval or allow/deny a policy gate: what is decided, who decides and why."""

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
        self.why_disabled = QLabel(f"{verb} is disabled: enter who decides (the name is recorded in the run).")
        self.why_disabled.setObjectName("decision-why-disabled")
        self.why_disabled.setStyleSheet("color:#b35900")
        self.why_disabled.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Reason", self.reason)
        form.addRow("Decided by", self.by)
        form.addRow("", self.why_disabled)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText(verb)
        self.ok.setObjectName("decision-ok")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.by.textChanged.connect(self._name_changed)
        self._name_changed(decided_by)
        self.what = QLabel(what)
        self.what.setObjectName("decision-what")
        self.what.setWordWrap(True)
        self.what.setTextFormat(Qt.TextFormat.RichText)
        layout = QVBoxLayout(self)
        layout.addWidget(self.what)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.setMinimumWidth(460)
        self.reason.setFocus()

    def _name_changed(self, text: str) -> None:
        named = bool(text.strip())
        self.ok.setEnabled(named)
        self.why_disabled.setVisible(not named)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.reason.setFocus()  # the name is pre-filled; typing goes to the reason

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
        self.backend = QComboBox()
        self.backend.setObjectName("pref-backend")
        self.backend.addItem("This computer (threads)", "threads")
        self.backend.addItem("A Dask cluster", "dask")
        self.backend.setCurrentIndex(max(0, self.backend.findData(settings.backend)))
        self.scheduler = QLineEdit(settings.dask_scheduler)
        self.scheduler.setObjectName("pref-scheduler")
        self.scheduler.setPlaceholderText("tcp://host:8786 (tls://… beyond this machine)")
        self.scheduler_hint = QLabel()
        self.scheduler_hint.setObjectName("pref-scheduler-hint")
        self.scheduler_hint.setWordWrap(True)
        self.backend.currentIndexChanged.connect(self._backend_changed)
        self.scheduler.textChanged.connect(self._backend_changed)
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
        form.addRow("Run steps on", self.backend)
        form.addRow("Dask scheduler", self.scheduler)
        form.addRow("", self.scheduler_hint)
        form.addRow("Worker threads", self.workers)
        form.addRow("Commands", self.commands)
        form.addRow("", warning)
        form.addRow("Theme", self.theme)
        form.addRow("Collapse blocks over", self.collapse_over)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self._backend_changed()

    def _backend_changed(self, *_args) -> None:
        dask = self.backend.currentData() == "dask"
        address = self.scheduler.text().strip()
        self.scheduler.setEnabled(dask)
        valid = not dask or address.startswith(("tcp://", "tls://"))
        if not dask:
            hint = "Steps run on worker threads of this app."
        elif not valid:
            hint = "⚠ Give the scheduler's address: tcp://HOST:PORT, or tls://HOST:PORT beyond this machine."
        elif address.startswith("tcp://") and not address.startswith(("tcp://127.", "tcp://localhost")):
            hint = ("⚠ tcp:// is not encrypted: secrets would cross the network in the clear. Use tls:// "
                    "beyond this machine.")
        else:
            hint = "Each step runs on a worker of that cluster; the run's journal stays on this computer."
        self.scheduler_hint.setText(hint)
        self.scheduler_hint.setStyleSheet("" if not hint.startswith("⚠") else "color:#b35900")
        self.ok.setEnabled(valid)
        QTimer.singleShot(0, self.adjustSize)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Run store folder", self.store.text())
        if folder:
            self.store.setText(folder)

    def accept(self) -> None:
        self.settings.store_folder = Path(self.store.text().strip() or str(self.settings.store_folder))
        self.settings.workers = self.workers.value()
        self.settings.backend = self.backend.currentData()
        self.settings.dask_scheduler = self.scheduler.text()
        self.settings.allow_commands = self.commands.isChecked()
        self.settings.theme = self.theme.currentData()
        self.settings.collapse_over = self.collapse_over.value()
        super().accept()


DARK = {
    QPalette.ColorRole.Window: "#1f2933", QPalette.ColorRole.WindowText: "#e4e7eb",
    QPalette.ColorRole.Base: "#18212b", QPalette.ColorRole.AlternateBase: "#243140",
    QPalette.ColorRole.Text: "#e4e7eb", QPalette.ColorRole.Button: "#2a3744",
    QPalette.ColorRole.ButtonText: "#e4e7eb", QPalette.ColorRole.Highlight: "#3a7bd5",
    QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.ToolTipBase: "#2a3744",
    QPalette.ColorRole.ToolTipText: "#e4e7eb", QPalette.ColorRole.PlaceholderText: "#9aa5b1",
    QPalette.ColorRole.Link: "#7cb7ff", QPalette.ColorRole.BrightText: "#ff6b6b",
}


def dark_palette() -> QPalette:
    palette = QPalette()
    for role, colour in DARK.items():
        palette.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7b8794"))
    return palette


def apply_theme(app, theme: str) -> None:
    """Follow the system, or force light/dark.  The palette is set too: on X11 without a platform
    colour scheme, the colour-scheme hint alone changes nothing."""
    hints = app.styleHints()
    if hasattr(hints, "setColorScheme"):
        scheme = {"light": Qt.ColorScheme.Light, "dark": Qt.ColorScheme.Dark}.get(theme, Qt.ColorScheme.Unknown)
        hints.setColorScheme(scheme)
    if theme == "dark":
        app.setPalette(dark_palette())
    elif theme == "light":
        app.setPalette(app.style().standardPalette())
    else:
        app.setPalette(QPalette())  # nothing resolved: the platform's own palette
