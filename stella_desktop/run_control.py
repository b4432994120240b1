"""The app's side of a run: create or reopen it, drive it with the Runner, decide its gates.

Keeps the window free of store and scheduler details; everything it reports
is plain data through signals.  It uses the runner only through a small
interface (``start``, ``approve``, ``decide_policy``, ``cancel``,
``wait_for_workers``) and its ``record`` / ``finished`` / ``failed_internally``
signals, so the loop behind it can change.
"""

from __future__ import annotations

from PySide6.QtCore import QEventLoop, QObject, QTimer, Signal

from core.execution.executors import ExecutorRegistry
from core.execution.run import ActiveRun
from core.execution.store import RunStore
from stella_desktop.runner import Runner
from stella_desktop.step_status import StepView, from_run, step_view


class RunControl(QObject):
    record = Signal(object)           # each journal record of the driven run
    views_changed = Signal(object)    # dict[str, StepView] of the steps that changed
    stopped = Signal(str)             # succeeded / failed / waiting / cancelled
    store_failed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
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
    def start_new(self, store: RunStore, manifest_path: str, inputs: dict, registry: ExecutorRegistry,
                  workers: int, scheduler: str | None = None) -> ActiveRun:
        """Create a run (PackInvalid / RunStoreError / BackendUnavailable propagate) and drive it.

        ``scheduler``: a Dask scheduler address to run the steps on, else this computer's threads.
        """
        self.release()
        backend = self._backend(registry, scheduler)  # first: an unreachable cluster creates no run
        try:
            self.run = ActiveRun.create(store, manifest_path, inputs, registry=registry)
        except BaseException:
            backend.shutdown() if backend is not None else None
            raise
        self._drive(registry, workers, backend)
        return self.run

    def resume(self, store: RunStore, run_id: str, registry: ExecutorRegistry, workers: int,
               scheduler: str | None = None) -> ActiveRun:
        """Reopen and continue a run (PlanDrift / RunLocked / PackInvalid / BackendUnavailable propagate)."""
        self.release()
        backend = self._backend(registry, scheduler)
        try:
            self.run = ActiveRun.open(store, run_id, registry=registry, check_executors=True)
        except BaseException:
            backend.shutdown() if backend is not None else None
            raise
        self._drive(registry, workers, backend)
        return self.run

    @staticmethod
    def _backend(registry: ExecutorRegistry, scheduler: str | None):
        if not scheduler:
            return None  # the Runner's own QThreadPool
        from core.execution.backends.dask import DaskBackend
        return DaskBackend.connect(registry, scheduler=scheduler)

    def view_only(self, store: RunStore, run_id: str) -> ActiveRun:
        """Open a run to look at it, without locking or driving it."""
        self.release()
        self.run = ActiveRun.open(store, run_id, lock=False)
        return self.run

    def _drive(self, registry: ExecutorRegistry, workers: int, backend=None) -> None:
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
        if self.runner is not None:
            self.runner.cancel()

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
        if self.runner is not None:
            self.runner.wait_for_workers(15_000)
            self.runner.deleteLater()
            self.runner = None
            self._driving = False
        if self.run is not None:
            self.run.close()
            self.run = None
