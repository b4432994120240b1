"""The run log: the open run's journal, one line per record, as it happens."""

from __future__ import annotations

from PySide6.QtWidgets import QPlainTextEdit

from stella_desktop.presentation import describe


class RunLog(QPlainTextEdit):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("run-log")
        self.setReadOnly(True)
        self.setMaximumBlockCount(20_000)
        self.setPlaceholderText("The journal of a run appears here while it runs, or when you open one from Runs.")

    def bind(self, session) -> None:
        session.log_reset.connect(self.show_records)
        session.record_added.connect(self.add_record)

    def show_records(self, records: list[dict]) -> None:
        self.clear()
        for record in records:
            self.add_record(record)

    def add_record(self, record: dict) -> None:
        self.appendPlainText(f"{record.get('at', '')}  {describe(record)}")
