"""The forecast part of the window's document: assumptions, durations and the forecast they give.

The session owns one and is its only writer; panels read it and listen to
``changed``.  Assumptions that stop fitting when the pack or its inputs
change (a step renamed, a map with fewer items) are dropped and named in
``dropped``.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from core.forecast import AssumptionError, Forecast, forecast
from core.forecast.assumptions import StepIndex, parse_outcome
from core.simulation import SimulationPreview


class ForecastDocument(QObject):
    changed = Signal(object)   # the Forecast, or None
    dropped = Signal(str)      # a sentence naming assumptions that no longer fit

    def __init__(self, parent=None):
        super().__init__(parent)
        self.preview: SimulationPreview | None = None
        self.assumptions: dict[str, str] = {}
        self.durations: dict[str, float] = {}
        self.store: str | None = None
        self.result: Forecast | None = None
        self.error: str | None = None

    def set_preview(self, preview: SimulationPreview | None, store: str | None = None) -> None:
        self.preview, self.store = preview, store
        if preview is not None:
            self._drop_unfitting()
        self._recompute()

    def assume(self, step_id: str, outcome: str | None) -> None:
        if outcome is None:
            self.assumptions.pop(step_id, None)
        else:
            self.assumptions[step_id] = outcome
        self._recompute()

    def set_assumptions(self, assume: dict[str, str], durations: dict[str, float] | None = None) -> None:
        self.assumptions = dict(assume)
        self.durations = dict(durations or {})
        if self.preview is not None:
            self._drop_unfitting()
        self._recompute()

    def clear(self) -> None:
        self.set_assumptions({}, {})

    def current(self, step_id: str) -> str | None:
        return self.assumptions.get(step_id)

    def _drop_unfitting(self) -> None:
        index = StepIndex(self.preview.plan)
        gone = []
        for name, outcome in list(self.assumptions.items()):
            try:
                for step in index.targets(name):
                    parse_outcome(outcome, name, step)
            except AssumptionError:
                gone.append(f"{name}={outcome}")
                del self.assumptions[name]
        for name in [n for n in self.durations if n not in index.steps and n not in index.templates]:
            gone.append(f"{name} ({self.durations.pop(name)} s)")
        if gone:
            self.dropped.emit("Assumptions that no longer fit this pack were dropped: " + ", ".join(gone))

    def _recompute(self) -> None:
        self.error = None
        if self.preview is None:
            self.result = None
        else:
            try:
                self.result = forecast(self.preview, self.assumptions, self.durations, store=self.store)
            except AssumptionError as error:  # e.g. gates sharing an approval assumed differently
                self.result, self.error = None, str(error)
        self.changed.emit(self.result)
