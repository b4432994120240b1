"""The graph panel: the legend, the canvas view and a note while inputs are incomplete.

It wires the canvas (:mod:`stella_desktop.canvas`: scene and view) to the
session: the graph and statuses are pushed in through the scene's setters,
clicks and keyboard moves come back as step ids and select in the session.
A graph that changed shape is fitted into view again.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QStyle, QVBoxLayout, QWidget

from stella_desktop.canvas.legend import LegendWidget
from stella_desktop.canvas.scene import GraphScene
from stella_desktop.canvas.view import GraphView
from stella_desktop.presentation import plural, problems_heading
from stella_desktop.step_status import countdown_notes


class GraphPanel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("graph-panel")
        self.scene = GraphScene(self)
        self.view = GraphView(self.scene)
        self.legend = LegendWidget()
        self.note = QLabel()
        self.note.setObjectName("graph-note")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("#graph-note{background:#ffe3e3;color:#8a1c1c;padding:6px 10px}")
        self.note.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        legend_strip = QScrollArea()  # the legend scrolls sideways in a narrow window instead of widening it
        legend_strip.setObjectName("legend-strip")
        legend_strip.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # it took the first focus: keys must reach the graph
        legend_strip.setFrameShape(QFrame.Shape.NoFrame)
        legend_strip.setWidget(self.legend)
        legend_strip.setWidgetResizable(True)
        legend_strip.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        bar = legend_strip.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        legend_strip.setFixedHeight(self.legend.sizeHint().height() + bar)
        layout.addWidget(legend_strip)
        layout.addWidget(self.note)
        layout.addWidget(self.view, 1)
        self.session = None

    def bind(self, session) -> None:
        self.session = session
        session.graph_changed.connect(self._show_graph)
        session.statuses_changed.connect(self._show_statuses)
        session.selection_changed.connect(self._select)
        self.scene.step_clicked.connect(session.select)
        self.view.navigated.connect(session.select)
        session.changes.changed.connect(self._show_changes)

    def _show_graph(self, refit: bool) -> None:
        session = self.session
        count = len(session.problems)
        if session.graph is None:
            if session.pack.path is None:
                self.scene.show_message("Open a Task Pack (File > Open Pack…) to see its graph.")
            else:
                self.scene.show_message(f"{problems_heading(count, session.problems_about_inputs)}.\n"
                                        f"Fix {'it' if count == 1 else 'them'} (see Problems) to see its graph.")
        else:
            self.scene.show_graph(session.graph)
        if session.graph is not None and session.problems_about_inputs:
            marked = len(session.notes)
            self.note.setText(f"Inputs incomplete: {plural(count, 'input problem')} (see Inputs). "
                              f"The graph is shown with those inputs left out; "
                              f"{plural(marked, 'step')} that read{'s' if marked == 1 else ''} them "
                              f"{'is' if marked == 1 else 'are'} marked. Run is disabled until they are fixed.")
            self.note.show()
        else:
            self.note.hide()
        if refit:
            QTimer.singleShot(0, self.view.fit)

    def _show_changes(self, diff) -> None:
        """New and changed steps tagged on the canvas (removed ones are listed in Changes)."""
        steps = diff.steps if diff is not None else ()
        self.scene.set_changes({s.id: (s.change, list(s.fields)) for s in steps if s.change != "removed"})

    def _show_statuses(self, changed: dict) -> None:
        notes = dict(countdown_notes(changed))
        for step_id, note in self.session.notes.items():
            if step_id in changed:
                notes[step_id] = note
        self.scene.set_statuses(changed, notes)

    def _select(self, step_id: str | None) -> None:
        self.view.current = step_id
        self.scene.select_step(step_id)
        if step_id is not None:
            self.view.center_on_step(step_id)
