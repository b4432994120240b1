"""Execute a run's ready steps on a QThreadPool; the scheduler decides everything.

The :class:`Runner` lives on the thread that owns the run (the GUI thread in
the app, the main thread under the CLI's ``QCoreApplication``).  It asks the
scheduler which steps to start, runs each as a :class:`StepTask` on the pool,
and gets back a :class:`StepResult` (plain data) through a queued signal, so
every scheduler call happens on the owning thread.  Worker threads only
execute.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal

from core.execution.executors import ExecutorRegistry, StepCancelled, StepContext, StepFailed
from core.execution.run import ActiveRun
from core.execution.scheduler import RUN_CANCELLED, RUN_FINAL, RUN_WAITING
from core.execution.store import RunStoreError
from stella_desktop.presentation import describe  # noqa: F401  (re-exported: the CLI's progress lines)

SYNC_INTERVAL_MS = 100


@dataclass(frozen=True)
class StepResult:
    step_id: str
    attempt: int
    outputs: dict = field(default_factory=dict)
    error: str | None = None
    cancelled: bool = False


class _Signals(QObject):
    finished = Signal(object)


class StepTask(QRunnable):
    """One attempt of one step on a worker thread: execute, report, decide nothing."""

    def __init__(self, executor, context: StepContext, signals: _Signals):
        super().__init__()
        self.setAutoDelete(True)
        self._executor = executor
        self._context = context
        self._signals = signals

    def run(self) -> None:
        context = self._context
        try:
            outputs = self._executor(context)
            result = StepResult(context.step_id, context.attempt, outputs=dict(outputs or {}))
        except StepCancelled:
            result = StepResult(context.step_id, context.attempt, cancelled=True)
        except StepFailed as failure:
            result = StepResult(context.step_id, context.attempt, error=str(failure) or "failed")
        except Exception as error:  # a broken executor fails its step, never the app
            result = StepResult(context.step_id, context.attempt, error=f"{type(error).__name__}: {error}")
        self._signals.finished.emit(result)


class Runner(QObject):
    """Drives one :class:`ActiveRun` until it ends, pauses at a gate or is cancelled."""

    record = Signal(object)      # each journal record, after it is on disk
    finished = Signal(str)       # the run's status when driving stops: succeeded/failed/waiting/cancelled
    failed_internally = Signal(str)

    def __init__(self, run: ActiveRun, registry: ExecutorRegistry, workers: int = 4, parent=None):
        super().__init__(parent)
        self.run = run
        self.registry = registry
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max(1, workers))
        self._signals = _Signals(self)
        self._signals.finished.connect(self._on_result)
        self._cancels: dict[str, threading.Event] = {}
        self._wake = QTimer(self)
        self._wake.setSingleShot(True)
        self._wake.timeout.connect(self._pump)
        self._sync = QTimer(self)
        self._sync.setInterval(SYNC_INTERVAL_MS)
        self._sync.timeout.connect(self._tick)
        self._done = False
        run.listeners.append(self.record.emit)

    @property
    def scheduler(self):
        return self.run.scheduler

    # -- control ------------------------------------------------------------------------
    def start(self) -> None:
        self._guard(self.scheduler.start)
        self._sync.start()
        self._pump()

    def cancel(self) -> None:
        if self._done:
            return
        self._guard(self.scheduler.cancel)
        for event in self._cancels.values():
            event.set()
        self._pump()

    def approve(self, approval_id: str, by: str, reason: str | None = None, approved: bool = True) -> None:
        self.scheduler.approve(approval_id, by, reason, approved=approved)
        self._resume_if_paused()

    def decide_policy(self, step_id: str, allow: bool, by: str, reason: str | None = None) -> None:
        self.scheduler.decide_policy(step_id, allow, by, reason)
        self._resume_if_paused()

    def _resume_if_paused(self) -> None:
        self._done = False
        if not self._sync.isActive():
            self._sync.start()
        self._pump()

    # -- the loop ------------------------------------------------------------------------
    def _guard(self, action, *args) -> bool:
        try:
            action(*args)
            return True
        except RunStoreError as error:
            self._stop_with_error(str(error))
            return False

    def _pump(self) -> None:
        if self._done:
            return
        try:
            started = self.scheduler.advance()
        except RunStoreError as error:
            self._stop_with_error(str(error))
            return
        for step in started:
            self._dispatch(step)
        status = self.scheduler.status
        if not self._cancels and (status in RUN_FINAL or status in (RUN_WAITING, RUN_CANCELLED)):
            self._finish(status)
            return
        wake = self.scheduler.next_wakeup()
        if wake is not None:  # a retry window opens: look again then
            delay = (wake - self.scheduler.clock.now()).total_seconds()
            self._wake.start(max(0, int(delay * 1000) + 1))

    def _dispatch(self, step) -> None:
        executor = self.registry.get(step.uses)
        state = self.scheduler.states[step.id]
        cancel = threading.Event()
        try:
            parameters = self.scheduler.resolve_parameters(step)
        except Exception as error:
            self.scheduler.fail(step.id, f"parameters could not be resolved: {error}")
            QTimer.singleShot(0, self._pump)
            return
        if executor is None:
            self.scheduler.fail(step.id, f"'{step.uses}' cannot run: {self.registry.why_missing(step.uses)}")
            QTimer.singleShot(0, self._pump)
            return
        self._cancels[step.id] = cancel
        context = StepContext(self.run.run_id, step.id, state.attempts, parameters, self.run.handle.workspace,
                              cancel, self.scheduler.redactor)
        self.pool.start(StepTask(executor, context, self._signals))

    def _on_result(self, result: StepResult) -> None:
        self._cancels.pop(result.step_id, None)
        try:
            if result.cancelled:
                self.scheduler.interrupt(result.step_id, "interrupted: run cancelled")
            elif result.error is not None:
                self.scheduler.fail(result.step_id, result.error)
            else:
                self.scheduler.complete(result.step_id, result.outputs)
        except RunStoreError as error:
            self._stop_with_error(str(error))
            return
        self._pump()

    def _tick(self) -> None:
        try:
            self.run.handle.sync()
            if self.run.handle.take_cancel_request():
                self.cancel()
        except RunStoreError as error:
            self._stop_with_error(str(error))

    def _finish(self, status: str) -> None:
        self._done = True
        self._wake.stop()
        self._sync.stop()
        try:
            self.run.save_snapshot()
        except RunStoreError as error:
            self.failed_internally.emit(str(error))
        self.finished.emit(status)

    def _stop_with_error(self, message: str) -> None:
        """The store failed (disk full, read-only): stop starting steps; the journal is the truth."""
        for event in self._cancels.values():
            event.set()
        self._done = True
        self._wake.stop()
        self._sync.stop()
        self.failed_internally.emit(message)

    def wait_for_workers(self, msecs: int = 30_000) -> bool:
        return self.pool.waitForDone(msecs)

