"""The app's side of a run: create or reopen it, drive it with the Runner, decide its gates.

Keeps the window free of store and scheduler details; everything it reports
is plain data through signals.  It uses the runner only through a small
interface (``start``, ``approve``, ``decide_policy``, ``cancel``,
``wait_for_workers``) and its ``record`` / ``finished`` / ``failed_internally``
signals, so the loop behind it can change.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QEventLoop, QObject, QTimer, Signal

from core.errors import PackInvalid
from core.execution.store import RunStore, RunStoreError
from stella_desktop.step_status import StepView, from_run, step_view

if TYPE_CHECKING:  # the run machinery is imported when a run is created or opened, not at launch
    from core.execution.executors import ExecutorRegistry
    from core.execution.run import ActiveRun
    from stella_desktop.runner import Runner


def refusals() -> tuple[type[Exception], ...]:
    """Why a run may not start or resume: said to the user, nothing left behind."""
    from core.execution.backends import BackendUnavailable
    from core.execution.run import PlanDrift
    return PackInvalid, PlanDrift, RunStoreError, BackendUnavailable  # RunLocked is a RunStoreError


def _shutdown(backend) -> None:
    if backend is not None and not isinstance(backend, BaseException):
        backend.shutdown()


class RunControl(QObject):
    record = Signal(object)           # each journal record of the driven run
    views_changed = Signal(object)    # dict[str, StepView] of the steps that changed
    stopped = Signal(str)             # succeeded / failed / waiting / cancelled
    store_failed = Signal(str)
    status = Signal(str)              # for the status bar: connecting to a Dask scheduler, or given up
    connecting_changed = Signal()     # a Dask scheduler's connection began, answered or was given up
    _connected = Signal(object, object)  # (the start it answers, backend or BackendUnavailable), queued

    def __init__(self, parent=None):
        super().__init__(parent)
        self._pending = None  # what to open once the Dask backend has connected
        self._connected.connect(self._on_connected)
        self.run: ActiveRun | None = None
        self.runner: Runner | None = None
        self._driving = False  # from the runner's signals: started or resumed, until it stops

    @property
    def driving(self) -> bool:
        return self.runner is not None and self._driving

    def _stopped(self, status: str) -> None:
        self._driving = False
        self.stopped.emit(status)

    def _failed(self, message: str) -> None:
        self._driving = False
        self.store_failed.emit(message)

    @property
    def scheduler(self):
        return self.run.scheduler if self.run else None

    def waiting_gate(self, kind: str):
        """The gate step of ``kind`` ("approval" / "policy") the run waits at, or None."""
        if self.run is None:
            return None
        scheduler = self.run.scheduler
        for step_id in sorted(scheduler.waiting):
            step = scheduler.graph.step(step_id)
            if step.kind == f"gate.{kind}":
                return step
        return None

    def views(self) -> dict[str, StepView]:
        return from_run(self.run.scheduler) if self.run else {}

    # -- starting --------------------------------------------------------------------------------
    # A Dask backend connects on a thread of its own (an unreachable scheduler takes seconds to say so):
    # the window stays live, and the run is created or reopened on this thread once the backend is ready.
    def start_new(self, store: RunStore, manifest_path: str, inputs: dict, registry: ExecutorRegistry,
                  workers: int, scheduler: str | None, ready: Callable, refused: Callable) -> None:
        """Create a run and drive it, then ``ready(run)``; or ``refused(error)`` (PackInvalid,
        RunStoreError, BackendUnavailable), and nothing was created.

        ``scheduler``: a Dask scheduler address to run the steps on, else this computer's threads.
        """
        from core.execution.run import ActiveRun
        self._open(lambda: ActiveRun.create(store, manifest_path, inputs, registry=registry),
                   registry, workers, scheduler, ready, refused)

    def resume(self, store: RunStore, run_id: str, registry: ExecutorRegistry, workers: int,
               scheduler: str | None, ready: Callable, refused: Callable) -> None:
        """Reopen and continue a run, then ``ready(run)``; or ``refused(error)`` (PlanDrift, RunLocked,
        PackInvalid, RunStoreError, BackendUnavailable)."""
        from core.execution.run import ActiveRun
        self._open(lambda: ActiveRun.open(store, run_id, registry=registry, check_executors=True),
                   registry, workers, scheduler, ready, refused)

    @property
    def connecting(self) -> bool:
        return self._pending is not None

    def _open(self, opening, registry, workers, scheduler, ready, refused) -> None:
        self.release()
        if not scheduler:
            self._opened(None, (opening, registry, workers, ready, refused))
            return
        self._pending = (opening, registry, workers, ready, refused)
        self.status.emit(f"Connecting to the Dask scheduler at {scheduler}…")
        self.connecting_changed.emit()
        threading.Thread(target=self._connect, args=(self._pending, registry, scheduler),
                         name="stella-dask-connect", daemon=True).start()

    def _connect(self, pending, registry: ExecutorRegistry, scheduler: str) -> None:
        """On the connecting thread: make the backend, hand it (or why not) to the GUI thread."""
        from core.execution.backends import BackendUnavailable
        try:
            from core.execution.backends.dask import DaskBackend
            result = DaskBackend.connect(registry, scheduler=scheduler)
        except BackendUnavailable as error:
            result = error
        except Exception as error:  # anything else the client raised: still the cluster's answer
            result = BackendUnavailable(f"cannot reach the Dask scheduler at {scheduler}: {error}")
        try:
            self._connected.emit(pending, result)
        except RuntimeError:  # the window (and this object) is gone
            _shutdown(result)

    def _on_connected(self, pending, result) -> None:
        from core.execution.backends import BackendUnavailable
        if pending is not self._pending:  # released or replaced meanwhile
            _shutdown(result)
            return
        self._pending = None
        self.connecting_changed.emit()
        if isinstance(result, BackendUnavailable):
            pending[4](result)
        else:
            self._opened(result, pending)

    def _opened(self, backend, pending) -> None:
        opening, registry, workers, ready, refused = pending
        try:
            self.run = opening()
        except refusals() as error:
            _shutdown(backend)
            refused(error)
            return
        except BaseException:
            _shutdown(backend)
            raise
        self._drive(registry, workers, backend)
        ready(self.run)

    def view_only(self, store: RunStore, run_id: str, ready: Callable, refused: Callable) -> None:
        """Open a run to look at it, without locking or driving it: ``ready(run)`` or ``refused(error)``."""
        from core.execution.run import ActiveRun
        self.release()
        try:
            self.run = ActiveRun.open(store, run_id, lock=False)
        except refusals() as error:
            refused(error)
            return
        ready(self.run)

    def _drive(self, registry: ExecutorRegistry, workers: int, backend=None) -> None:
        from stella_desktop.runner import Runner
        self.runner = Runner(self.run, registry, workers=workers, parent=self, backend=backend)
        self.runner.record.connect(self._on_record)
        self.runner.finished.connect(self._stopped)
        self.runner.failed_internally.connect(self._failed)
        self._driving = True
        QTimer.singleShot(0, self.runner.start)

    def _on_record(self, record: dict) -> None:
        self.record.emit(record)
        if self.run is None:
            return
        step_id = record.get("stepId")
        if record["type"] in ("expand", "run"):  # new steps, or the run paused/resumed: open blocks change
            self.views_changed.emit(from_run(self.run.scheduler))
        elif step_id and step_id in self.run.scheduler.states:
            self.views_changed.emit({step_id: step_view(self.run.scheduler, step_id)})

    # -- control ---------------------------------------------------------------------------------
    def cancel(self) -> None:
        """Cancel the driven run, or give up a start still connecting to its Dask scheduler."""
        if not self.give_up() and self.runner is not None:
            self.runner.cancel()

    def give_up(self) -> bool:
        """Give up a start still connecting to its Dask scheduler (nothing was created yet: said in
        the status bar); False when there is none."""
        if not self.connecting:
            return False
        self.release()
        self.status.emit("Run not started: connecting to the Dask scheduler was given up")
        return True

    def approve(self, approval_id: str, by: str, reason: str | None, approved: bool) -> None:
        self._deciding(lambda: self.runner.approve(approval_id, by, reason, approved=approved))

    def decide_policy(self, step_id: str, allow: bool, by: str, reason: str | None) -> None:
        self._deciding(lambda: self.runner.decide_policy(step_id, allow, by, reason))

    def _deciding(self, decide) -> None:
        """A decision resumes driving (the runner may stop again at once, at the next gate)."""
        self._driving = True
        try:
            decide()
        except BaseException:
            self._driving = False  # not recorded: still paused
            raise

    def stop_for_close(self, timeout_ms: int = 15_000) -> None:
        """Cancel a driven run and wait until its running steps have reported back."""
        if self.driving:
            loop = QEventLoop()
            self.runner.finished.connect(loop.quit)
            QTimer.singleShot(timeout_ms, loop.quit)
            self.runner.cancel()
            if self.driving:
                loop.exec()
        self.release()

    def release(self) -> None:
        if self._pending is not None:
            self._pending = None  # a backend still connecting is shut down when it arrives
            self.connecting_changed.emit()
        if self.runner is not None:
            self.runner.wait_for_workers(15_000)
            self.runner.deleteLater()
            self.runner = None
            self._driving = False
        if self.run is not None:
            self.run.close()
            self.run = None
