"""The app's runner: the core :class:`~core.execution.driver.Driver`, hosted on the Qt event loop.

The ``qt`` backend runs each attempt as a :class:`QRunnable` on a
:class:`QThreadPool`; every backend (``qt``, or ``dask`` when the
preferences name a scheduler) hands its :class:`Completion` (plain data)
to an inbox, and one queued signal per batch (not per step) wakes the
runner's thread, which handles the batch and starts what follows; so the driver, and with it the scheduler and the run
store, is only ever called on the thread that owns the :class:`Runner`.
Worker threads only execute.

The window (its Session) talks to a run only through the signals below and
:meth:`Runner.start`, :meth:`Runner.approve`, :meth:`Runner.decide_policy`
and :meth:`Runner.cancel`.
"""

from __future__ import annotations

import threading
from typing import Callable

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal

from core.execution.attempt import CANCELLED, Completion, StepAttempt, execute_attempt
from core.execution.driver import SYNC_INTERVAL, Driver
from core.execution.executors import ExecutorRegistry
from core.execution.run import ActiveRun
from stella_desktop.presentation import describe  # noqa: F401  (re-exported: the CLI's progress lines)

SYNC_INTERVAL_MS = int(SYNC_INTERVAL * 1000)


class _AttemptTask(QRunnable):
    """One attempt of one step on a pool thread: execute, report plain data, decide nothing."""

    def __init__(self, executor, attempt: StepAttempt, cancel: threading.Event, deliver):
        super().__init__()
        self.setAutoDelete(True)
        self._executor, self._attempt, self._cancel, self._deliver = executor, attempt, cancel, deliver

    def run(self) -> None:
        if self._cancel.is_set():  # cancelled while queued: never started
            self._deliver(Completion(self._attempt.step_id, self._attempt.attempt, interrupted=CANCELLED))
            return
        self._deliver(execute_attempt(self._executor, self._attempt, self._cancel))


class QtBackend:
    """The ``qt`` backend: attempts on a QThreadPool."""

    name = "qt"

    def __init__(self, registry: ExecutorRegistry, workers: int = 4, parent: QObject | None = None):
        self.registry = registry
        self.pool = QThreadPool(parent)
        self.pool.setMaxThreadCount(max(1, workers))
        self._deliver: Callable[[Completion], None] | None = None

    def bind(self, deliver: Callable[[Completion], None]) -> None:
        self._deliver = deliver

    def submit(self, attempt: StepAttempt):
        cancel = threading.Event()
        self.pool.start(_AttemptTask(self.registry.get(attempt.uses), attempt, cancel, self._deliver))
        return cancel

    def cancel(self, handle: threading.Event) -> None:
        handle.set()

    def wait(self, msecs: int) -> bool:
        return self.pool.waitForDone(msecs)

    def shutdown(self, wait: bool = True) -> None:
        if wait:
            self.pool.waitForDone(-1)


class Runner(QObject):
    """Drives one :class:`ActiveRun` until it ends, pauses at a gate or is cancelled."""

    record = Signal(object)      # each journal record, after it is on disk
    finished = Signal(str)       # the run's status when driving stops: succeeded/failed/waiting/cancelled
    failed_internally = Signal(str)
    _arrived = Signal()          # completions wait in the inbox: from any thread, queued to this object's thread

    def __init__(self, run: ActiveRun, registry: ExecutorRegistry, workers: int = 4, parent=None, *,
                 backend=None, workspace: str | None = None):
        super().__init__(parent)
        self.run = run
        self.registry = registry
        self.backend = backend if backend is not None else QtBackend(registry, workers, self)
        self.driver = Driver(run, self.backend, registry, workspace=workspace)
        # plain data, handed over in batches: one queued signal for all that arrive before it is handled
        self._inbox: list[Completion] = []
        self._inbox_lock = threading.Lock()
        self.backend.bind(self._deliver)
        self._arrived.connect(self._on_arrived, Qt.ConnectionType.QueuedConnection)
        self.driver.on_stopped.append(self.finished.emit)
        self.driver.on_error.append(self.failed_internally.emit)
        self._wake = QTimer(self)
        self._wake.setSingleShot(True)
        self._wake.timeout.connect(self._pump)
        self._sync = QTimer(self)
        self._sync.setInterval(SYNC_INTERVAL_MS)
        self._sync.timeout.connect(self._tick)
        run.listeners.append(self.record.emit)

    @property
    def scheduler(self):
        return self.run.scheduler

    @property
    def driving(self) -> bool:
        return not self.driver.stopped

    @property
    def _done(self) -> bool:  # kept for callers of the pre-driver runner
        return self.driver.stopped

    # -- control ------------------------------------------------------------------------
    def start(self) -> None:
        self._sync.start()
        self.driver.start()
        self._after()

    def cancel(self) -> None:
        self.driver.cancel()
        self._after()

    def approve(self, approval_id: str, by: str, reason: str | None = None, approved: bool = True) -> None:
        self.driver.approve(approval_id, by, reason, approved)
        self._sync.start()
        self._after()

    def decide_policy(self, step_id: str, allow: bool, by: str, reason: str | None = None) -> None:
        self.driver.decide_policy(step_id, allow, by, reason)
        self._sync.start()
        self._after()

    def wait_for_workers(self, msecs: int = 30_000) -> bool:
        wait = getattr(self.backend, "wait", None)
        if wait is not None:
            return wait(msecs)
        self.backend.shutdown(wait=True)
        return True

    # -- the loop ------------------------------------------------------------------------
    def _deliver(self, completion: Completion) -> None:
        """From any thread: queue the completion; the first of a batch wakes this object's thread."""
        with self._inbox_lock:
            self._inbox.append(completion)
            first = len(self._inbox) == 1
        if first:
            self._arrived.emit()

    def _on_arrived(self) -> None:
        with self._inbox_lock:
            batch, self._inbox = self._inbox, []
        for completion in batch:
            self.driver.handle(completion)
        self._pump()

    def _pump(self) -> None:
        self.driver.pump()
        self._after()

    def _tick(self) -> None:
        self.driver.tick()
        self._after()

    def _after(self) -> None:
        if self.driver.stopped:
            self._wake.stop()
            self._sync.stop()
            return
        wait = self.driver.wait_seconds()
        if wait is not None:  # a retry window opens: look again then
            self._wake.start(max(0, int(wait * 1000) + 1))
