"""The status bar: which pack and run, the plan hash, step counts and a busy indicator."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar

from stella_desktop.presentation import problems_heading, status_counts

BUSY_AFTER_MS = 150
MESSAGE_MS = 8000


class StatusBarPanel(QObject):
    """Fills a QStatusBar with labels that mirror the session."""

    def __init__(self, bar: QStatusBar, parent=None):
        super().__init__(parent)
        self.bar = bar
        self.pack_label = QLabel("No pack")
        self.pack_label.setObjectName("status-pack")
        self.hash_label = QLabel()
        self.hash_label.setObjectName("status-hash")
        self.counts_label = QLabel()
        self.counts_label.setObjectName("status-counts")
        self.busy = QProgressBar()
        self.busy.setObjectName("busy")
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(140)
        self.busy.hide()
        bar.addWidget(self.pack_label)
        bar.addWidget(self.hash_label)
        bar.addPermanentWidget(self.counts_label)
        bar.addPermanentWidget(self.busy)
        self._busy_timer = QTimer(self)
        self._busy_timer.setSingleShot(True)
        self._busy_timer.timeout.connect(self.busy.show)
        self.session = None

    def bind(self, session) -> None:
        self.session = session
        for signal in (session.pack_changed, session.mode_changed, session.statuses_changed,
                       session.problems_changed, session.graph_changed):
            signal.connect(lambda *_: self.refresh())
        session.busy_changed.connect(self._busy)
        session.status_message.connect(lambda text: self.bar.showMessage(text, MESSAGE_MS))
        session.log_reset.connect(lambda _: self.bar.clearMessage())  # "Run succeeded" leaves with its run

    def _busy(self, busy: bool) -> None:
        if busy:
            self._busy_timer.start(BUSY_AFTER_MS)
        else:
            self._busy_timer.stop()
            self.busy.hide()

    def refresh(self) -> None:
        session = self.session
        pack = session.pack
        if pack.path is None:
            self.pack_label.setText("No pack")
        elif pack.name is None:
            self.pack_label.setText(Path(pack.path).name + " — invalid")
        else:
            run = f" — run {session.run.run_id}" if session.run is not None else ""
            self.pack_label.setText(f"{pack.name} {pack.version}{run}")
        incomplete = session.problems_about_inputs and session.graph is not None
        self.hash_label.setText(pack.plan_hash[:19] if pack.plan_hash else ("inputs incomplete" if incomplete else ""))
        self.hash_label.setToolTip(pack.plan_hash or "")
        if session.problems:
            self.counts_label.setText(problems_heading(len(session.problems), session.problems_about_inputs))
        else:
            self.counts_label.setText(status_counts(view.status for view in session.views.values()))
