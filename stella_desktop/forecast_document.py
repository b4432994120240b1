"""The forecast part of the window's document: assumptions, durations and the forecast they give.

The session owns one and is its only writer; panels read it and listen to
``computing`` (a forecast was asked for: its result is on its way) and
``changed`` (it arrived).  Forecasts are computed on the global thread pool
(a 10,000-step pack takes about a second: the window stays responsive while
it plays); only the newest request's result is taken, older ones (another
pack, other assumptions) are dropped.  Assumptions that stop fitting when
the pack or its inputs change (a step renamed, a map with fewer items) are
dropped and named in ``dropped``.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from core.forecast import AssumptionError, Forecast, forecast
from core.forecast.assumptions import StepIndex, parse_outcome
from core.simulation import SimulationPreview

COMPUTING = "Computing the forecast…"


@dataclass(frozen=True)
class ForecastOutcome:
    """What a forecast worker sends back: plain data."""
    serial: int
    result: Forecast | None
    error: str | None


class _Signals(QObject):
    done = Signal(object)  # ForecastOutcome


class ForecastTask(QRunnable):
    def __init__(self, serial: int, preview: SimulationPreview, assume: dict, durations: dict, store: str | None):
        super().__init__()
        self.serial, self.preview, self.store = serial, preview, store
        self.assume, self.durations = dict(assume), dict(durations)
        self.signals = _Signals()

    def run(self) -> None:
        result = error = None
        try:
            result = forecast(self.preview, self.assume, self.durations, store=self.store)
        except AssumptionError as failed:  # e.g. gates sharing an approval assumed differently
            error = str(failed)
        except Exception as failed:  # never lost on the worker: say what broke
            error = f"The forecast failed: {type(failed).__name__}: {failed}"
        self.signals.done.emit(ForecastOutcome(self.serial, result, error))


class ForecastDocument(QObject):
    computing = Signal()       # a forecast was asked for; ``changed`` follows when it is done
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
        self._serial = 0
        self._tasks: dict[int, ForecastTask] = {}

    @property
    def pending(self) -> bool:
        """A forecast is being computed whose result will be taken."""
        return self._serial in self._tasks

    def set_preview(self, preview: SimulationPreview | None, store: str | None = None) -> None:
        if preview is not self.preview:
            self.result = None  # the previous pack's forecast says nothing about this one
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

    def forget(self) -> None:
        """Drop whatever is on its way (the window closes)."""
        self._serial += 1

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
        self._serial += 1
        self.error = None
        if self.preview is None:
            self.result = None
            self.changed.emit(None)
            return
        task = ForecastTask(self._serial, self.preview, self.assumptions, self.durations, self.store)
        task.signals.done.connect(self._done)
        self._tasks[self._serial] = task
        self.computing.emit()
        QThreadPool.globalInstance().start(task)

    def _done(self, outcome: ForecastOutcome) -> None:
        self._tasks.pop(outcome.serial, None)
        if outcome.serial != self._serial:
            return  # asked for again since (another pack, other assumptions): a newer result follows
        self.result, self.error = outcome.result, outcome.error
        self.changed.emit(self.result)
