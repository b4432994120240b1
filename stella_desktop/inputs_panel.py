"""The inputs panel: a form generated from ``spec.inputs``, with inline errors.

Checkbox for booleans, number fields, text, and a JSON editor for objects and
arrays; required inputs are marked, defaults filled in, descriptions as
tooltips.  It mirrors the session's inputs: every change is handed to the
session (debounced), which re-simulates; while a run is open the form shows
the run's inputs, read-only.
"""

from __future__ import annotations

import json
import math

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QPushButton,
    QScrollArea, QVBoxLayout, QWidget,
)

from core.manifest.models import InputSpec

DEBOUNCE_MS = 350
_UNSET = object()


class _Field:
    """One input's editor and its inline error label."""

    def __init__(self, spec: InputSpec, value):
        self.spec = spec
        self.error = QLabel()
        self.error.setObjectName(f"input-error-{spec.name}")
        self.error.setStyleSheet("color:#c92a2a")
        self.error.setWordWrap(True)
        self.error.hide()
        if spec.type == "boolean":
            self.editor = QCheckBox()
            self.editor.setChecked(bool(value))
        elif spec.type in ("object", "array"):
            self.editor = QPlainTextEdit()
            self.editor.setFont(QFont("monospace"))
            self.editor.setFixedHeight(90)
            self.editor.setPlaceholderText("JSON " + spec.type)
            if value is not _UNSET and value is not None:
                self.editor.setPlainText(json.dumps(value, indent=2, ensure_ascii=False))
        else:
            self.editor = QLineEdit()
            if value is not _UNSET and value is not None:
                self.editor.setText(str(value))
            self.editor.setPlaceholderText(spec.type)
        self.editor.setObjectName(f"input-{spec.name}")
        if spec.description:
            self.editor.setToolTip(spec.description)

    def connect(self, callback) -> None:
        if isinstance(self.editor, QCheckBox):
            self.editor.toggled.connect(callback)
        elif isinstance(self.editor, QPlainTextEdit):
            self.editor.textChanged.connect(callback)
        else:
            self.editor.textChanged.connect(callback)

    def value(self):
        """(value, problem): the typed value, or _UNSET when left empty."""
        if isinstance(self.editor, QCheckBox):
            return self.editor.isChecked(), None
        text = self.editor.toPlainText() if isinstance(self.editor, QPlainTextEdit) else self.editor.text()
        if not text.strip():
            return _UNSET, None
        if self.spec.type in ("object", "array"):
            try:
                return json.loads(text), None
            except json.JSONDecodeError as error:
                return _UNSET, f"not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        if self.spec.type == "integer":
            try:
                return int(text.strip()), None
            except ValueError:
                return _UNSET, "expected a whole number"
        if self.spec.type == "number":
            return _number(text.strip())
        return text, None

    def set_value(self, value) -> None:
        if isinstance(self.editor, QCheckBox):
            self.editor.setChecked(bool(value))
        elif isinstance(self.editor, QPlainTextEdit):
            self.editor.setPlainText("" if value is None else json.dumps(value, indent=2, ensure_ascii=False))
        else:
            self.editor.setText("" if value is None else str(value))

    def set_read_only(self, read_only: bool) -> None:
        if isinstance(self.editor, QCheckBox):
            self.editor.setEnabled(not read_only)
        else:
            self.editor.setReadOnly(read_only)

    def show_error(self, message: str | None) -> None:
        self.error.setText(message or "")
        self.error.setVisible(bool(message))


def _number(text: str):
    """A number as written: "3" stays the integer 3 (so the plan hash matches the CLI's), "3.5" a float."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(text)
        except ValueError:
            return _UNSET, "expected a number"
    if isinstance(value, float) and not math.isfinite(value):
        return _UNSET, "expected a finite number"
    return value, None


class InputsPanel(QWidget):
    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("inputs")
        self.fields: dict[str, _Field] = {}
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.changed.emit)
        self._form_host = QWidget()
        host_layout = QVBoxLayout(self._form_host)
        self._form = QFormLayout()
        self._form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        host_layout.addLayout(self._form)
        host_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # wrap, never clip
        scroll.setWidget(self._form_host)
        load = QPushButton("Load…")
        load.setObjectName("inputs-load")
        load.setToolTip("Load input values from a JSON file")
        load.clicked.connect(self._load_dialog)
        save = QPushButton("Save…")
        save.setObjectName("inputs-save")
        save.setToolTip("Save these input values to a JSON file")
        save.clicked.connect(self._save_dialog)
        buttons = QHBoxLayout()
        buttons.addWidget(load)
        buttons.addWidget(save)
        buttons.addStretch(1)
        self._load, self._save = load, save
        self.message = QLabel()
        self.message.setObjectName("inputs-message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color:#c92a2a")
        self.note = QLabel("Showing the run's inputs (read-only). Run > New Simulation edits them again.")
        self.note.setObjectName("inputs-read-only")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color:#486581")
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.note)
        layout.addWidget(self.message)
        layout.addWidget(scroll)
        self.message.hide()
        self.note.hide()
        self.read_only = False
        self._key = None

    def bind(self, session) -> None:
        """Mirror ``session``'s inputs; hand every edit back to it."""
        session.inputs_changed.connect(self._mirror)
        self.changed.connect(lambda: session.edit_inputs(*self.values()))

    def _mirror(self, state) -> None:
        if state.key != self._key or state.read_only != self.read_only or state.read_only:
            self._debounce.stop()
            self.set_specs(list(state.specs), state.values)
            self._key = state.key
            self.set_read_only(state.read_only)
        self.show_errors(state.errors)

    def set_read_only(self, read_only: bool) -> None:
        self.read_only = read_only
        for field in self.fields.values():
            field.set_read_only(read_only)
        self._load.setEnabled(not read_only)
        self.note.setVisible(read_only)

    def set_specs(self, specs: list[InputSpec], values: dict) -> None:
        """Build the form for a pack's inputs, filled with ``values`` or the defaults."""
        while self._form.rowCount():
            self._form.removeRow(0)
        self.fields = {}
        if not specs:
            empty = QLabel("No inputs: this pack declares none, or could not be read.")
            empty.setObjectName("inputs-none")
            empty.setWordWrap(True)
            self._form.addRow(empty)
        for spec in specs:
            value = values.get(spec.name, spec.default if spec.has_default else _UNSET)
            field = _Field(spec, value)
            field.connect(self._debounce.start)
            label = QLabel(f"{spec.name}{' *' if spec.required else ''}")
            label.setToolTip(spec.description or spec.type)
            column = QVBoxLayout()
            column.addWidget(field.editor)
            column.addWidget(field.error)
            self._form.addRow(label, column)
            self.fields[spec.name] = field

    def values(self) -> tuple[dict, dict[str, str]]:
        """(values to simulate with, problems found while reading the editors)."""
        values, problems = {}, {}
        for name, field in self.fields.items():
            value, problem = field.value()
            if problem:
                problems[name] = problem
            elif value is not _UNSET:
                values[name] = value
        return values, problems

    def show_errors(self, errors: dict[str, str]) -> None:
        for name, field in self.fields.items():
            field.show_error(errors.get(name))

    def load_values(self, values: dict) -> None:
        for name, value in values.items():
            if name in self.fields:
                self.fields[name].set_value(value)
        self.changed.emit()

    def _load_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load inputs", "", "JSON files (*.json);;All files (*)")
        if path:
            self.load_file(path)

    def load_file(self, path: str) -> None:
        from core.errors import PackInvalid
        from core.inputs import read_inputs_file
        try:
            self.load_values(read_inputs_file(path))
            self.message.hide()
        except PackInvalid as invalid:
            self.message.setText("\n".join(str(p) for p in invalid.problems))
            self.message.show()

    def _save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save inputs", "inputs.json", "JSON files (*.json)")
        if path:
            values, _ = self.values()
            with open(path, "w", encoding="utf-8") as stream:
                json.dump(values, stream, indent=2, ensure_ascii=False)
                stream.write("\n")
