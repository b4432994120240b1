"""The one loop that drives a run: ready steps -> submit -> completion -> record.

In the manner of :mod:`graphlib`'s ``get_ready()`` / ``done()``: the
:class:`Driver` asks the :class:`~core.execution.scheduler.Scheduler` which
steps may start, hands each to a :class:`Backend` as a
:class:`~core.execution.attempt.StepAttempt`, and records each
:class:`~core.execution.attempt.Completion` the backend delivers.  Only the
driver calls the scheduler, so only the driver writes the run's journal, and
it does so on one thread: *the driver thread*.

Backends execute and report; they never decide.  Completions may arrive on
any thread: a backend calls the ``deliver`` function it was bound to, and the
host moves them to the driver thread, either

* :meth:`Driver.run` (headless: the CLI, the API), a blocking loop over a
  queue that also takes control calls from other threads (:meth:`Driver.call`),
  waits out retry windows on the scheduler's clock and syncs the store every
  100 ms; or
* an event loop (the app's Qt runner) that calls :meth:`handle`,
  :meth:`pump` and :meth:`tick` on its own thread.

The driver stops driving when the run ends, pauses at a gate, is cancelled
or interrupted (and every submitted attempt has reported back), or the store
fails (then it stops at once: the journal is the truth, and the run stays
resumable).
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future
from typing import Any, Callable, Protocol

from core.execution.attempt import CANCELLED, Completion, StepAttempt, secrets_read_by, secrets_within
from core.execution.executors import ExecutorRegistry
from core.execution.run import ActiveRun
from core.execution.scheduler import RUN_FINAL, RUN_INTERRUPTED, RUN_STOPPED, RUN_WAITING
from core.execution.store import RunStoreError

SYNC_INTERVAL = 0.1
"""Seconds between two store syncs (fsync) and checks for a cancel request from another process."""

MAX_LOSSES = 3
"""An attempt whose worker is lost this many times fails (a step that kills its worker every time)."""

STOPPED_STATUSES = RUN_FINAL | RUN_STOPPED | {RUN_WAITING}


class BackendError(Exception):
    """The backend cannot take work (its cluster is gone); the run stops and stays resumable."""


class Backend(Protocol):
    """Executes attempts; reports each one exactly once through the bound ``deliver``."""

    name: str

    def bind(self, deliver: Callable[[Completion], None]) -> None:
        """Where completions go; ``deliver`` may be called from any thread."""

    def submit(self, attempt: StepAttempt) -> Any:
        """Start the attempt; returns a handle for :meth:`cancel`.  May raise BackendError."""

    def cancel(self, handle: Any) -> None:
        """Ask a submitted attempt to stop; it still reports (interrupted, or its result)."""

    def shutdown(self, wait: bool = True) -> None:
        """Release threads, processes or connections."""


class Driver:
    def __init__(self, run: ActiveRun, backend: Backend, registry: ExecutorRegistry, *,
                 workspace: str | None = None):
        self.run = run
        self.scheduler = run.scheduler
        self.clock = run.scheduler.clock
        self.backend = backend
        self.registry = registry
        self.workspace = workspace or str(run.handle.workspace)
        self.in_flight: dict[str, Any] = {}  # step id -> the backend's handle
        self.stopped = False
        self.error: str | None = None
        self.on_stopped: list[Callable[[str], None]] = []  # the run's status when driving stops
        self.on_error: list[Callable[[str], None]] = []    # the store failed: why
        self.on_tick: list[Callable[[], None]] = []        # every ~100 ms while driven (live views)
        self._attempts: dict[str, int] = {}
        self._losses: dict[str, int] = {}
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._advanced_at = None
        self._last_sync = time.monotonic()
        self._thread: int | None = None
        self._secret_values: list[str] | None = None
        backend.bind(self.post)

    @property
    def status(self) -> str:
        return "error" if self.error else self.scheduler.status

    # -- on the driver thread -----------------------------------------------------------------
    def start(self) -> None:
        """Begin or resume: interrupted steps go back to pending; start what may start."""
        self._thread = threading.get_ident()
        self.stopped = False
        if self._guard(self.scheduler.start):
            self.pump()

    def pump(self) -> None:
        """Start every step that may start now; stop driving when nothing more can happen."""
        if self.stopped:
            return
        try:
            while True:
                self._advanced_at = self.clock.now()
                started = self.scheduler.advance()
                if not started:
                    break
                refused = [step for step in started if not self._submit(step)]
                if not refused:
                    break  # a refused step failed at once: look again at what follows from that
        except RunStoreError as error:
            self._fail(str(error))
            return
        except BackendError as error:
            self._lost_backend(str(error))
            return
        if not self.in_flight and self.scheduler.status in STOPPED_STATUSES:
            self._stop()

    def handle(self, completion: Completion) -> None:
        """Record one completion (call :meth:`pump` after one or a batch)."""
        if self.in_flight.get(completion.step_id) is None or self._attempts.get(completion.step_id) != completion.attempt:
            return  # a stale report: not the attempt now running
        del self.in_flight[completion.step_id]
        step_id = completion.step_id
        scheduler = self.scheduler
        try:
            if completion.interrupted:
                if completion.interrupted != CANCELLED:
                    self._losses[step_id] = self._losses.get(step_id, 0) + 1
                if completion.interrupted == CANCELLED or self._losses[step_id] < MAX_LOSSES \
                        or scheduler.status in RUN_STOPPED:
                    scheduler.interrupt(step_id, completion.interrupted)  # resubmitted, attempt unused
                else:
                    scheduler.fail(step_id, f"{completion.interrupted} ({MAX_LOSSES} times)")
            elif completion.error is not None:
                scheduler.fail(step_id, completion.error)
            else:
                scheduler.complete(step_id, completion.outputs)
        except RunStoreError as error:
            self._fail(str(error))

    def cancel(self, reason: str = "cancelled by the user") -> None:
        self._stop_run(lambda: self.scheduler.cancel(reason))

    def interrupt(self, reason: str = "interrupted: the server stopped") -> None:
        """Stop driving for a shutdown: the run is saved ``interrupted`` and stays resumable."""
        self._stop_run(lambda: self.scheduler.stop(RUN_INTERRUPTED, reason))

    def _stop_run(self, action) -> None:
        if self.error is not None or self.scheduler.status in RUN_FINAL or not self._guard(action):
            return
        for handle in list(self.in_flight.values()):
            self.backend.cancel(handle)
        self.stopped = False  # a run paused at a gate is cancelled too, and says so
        self.pump()

    def approve(self, approval_id: str, by: str, reason: str | None = None, approved: bool = True) -> None:
        """Record an approval decision (DecisionError if it does not apply) and drive on."""
        self.scheduler.approve(approval_id, by, reason, approved=approved)
        self._drive_on()

    def decide_policy(self, step_id: str, allow: bool, by: str, reason: str | None = None) -> None:
        self.scheduler.decide_policy(step_id, allow, by, reason)
        self._drive_on()

    def _drive_on(self) -> None:
        if self.error is None:
            self.stopped = False
            self.pump()

    def tick(self) -> None:
        """Every ~100 ms: fsync what was written, and obey a cancel request from another process."""
        self._last_sync = time.monotonic()
        try:
            self.run.handle.sync()
            if not self.stopped and self.run.handle.take_cancel_request():
                self.cancel()
        except RunStoreError as error:
            self._fail(str(error))
        for listener in self.on_tick:
            listener()

    def wait_seconds(self) -> float | None:
        """How long the driver thread may sleep before time alone lets something happen."""
        wake = self.scheduler.next_wakeup()
        if wake is None or self.stopped:
            return None
        if self._advanced_at is not None and wake <= self._advanced_at:
            return None  # already due when last looked at: it waits for a free slot, not for time
        until = getattr(self.clock, "until", None)
        return until(wake) if until else max(0.0, (wake - self.clock.now()).total_seconds())

    def idle(self) -> bool:
        """Nothing delivered or handed over waits to be handled."""
        return self._inbox.empty()

    # -- from any thread ---------------------------------------------------------------------
    def post(self, item: Completion | Callable[[], Any]) -> None:
        """A completion, or a control call to run on the driver thread (see :meth:`call`)."""
        self._inbox.put(item)

    def call(self, function: Callable[["Driver"], Any]) -> Future:
        """Run ``function(driver)`` on the driver thread; the future holds its result or error."""
        future: Future = Future()

        def control() -> None:
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(function(self))
                except BaseException as error:  # handed to the caller, who raised it
                    future.set_exception(error)

        if self._thread == threading.get_ident():
            control()
        else:
            self.post(control)
        return future

    # -- headless: the blocking loop -----------------------------------------------------------------
    def drive(self) -> str:
        """Start, then drive on this thread until driving stops; the run's status (or "error")."""
        self.start()
        return self.serve_until_stopped()

    def serve_until_stopped(self) -> str:
        while not self.stopped:
            self._serve(self._next_timeout())
        self.drain()  # control calls that came while stopping get their answer
        return self.status

    def _next_timeout(self) -> float:
        wait = self.wait_seconds()
        timeout = SYNC_INTERVAL - (time.monotonic() - self._last_sync)
        return max(0.0, timeout if wait is None else min(wait, timeout))

    def _serve(self, timeout: float) -> None:
        try:
            item = self._inbox.get(timeout=timeout) if timeout > 0 else self._inbox.get_nowait()
        except queue.Empty:
            item = None
        if item is not None:
            self._take(item)
            self.drain()
        if time.monotonic() - self._last_sync >= SYNC_INTERVAL:
            self.tick()
        self.pump()

    def drain(self) -> None:
        """Handle everything already delivered (completions in a batch, then one pump)."""
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return
            self._take(item)

    def _take(self, item) -> None:
        if isinstance(item, Completion):
            self.handle(item)
        else:
            item()

    # -- inside --------------------------------------------------------------------------------
    def _submit(self, step) -> bool:
        scheduler = self.scheduler
        if self.registry.get(step.uses) is None:
            scheduler.fail(step.id, f"'{step.uses}' cannot run: {self.registry.why_missing(step.uses)}")
            return False
        try:
            parameters = scheduler.resolve_parameters(step)
        except Exception as error:
            scheduler.fail(step.id, f"parameters could not be resolved: {error}")
            return False
        secrets = self._secret_values
        if secrets is None:  # the run's secrets never change while it is driven: listed once
            secrets = self._secret_values = [value for value in scheduler.secrets.values()
                                             if isinstance(value, str) and value]
        number = scheduler.states[step.id].attempts
        # a step carries the secrets found in its parameters and those its templates read, in any
        # form (a backend keeps such an attempt off shared channels: see the dask backend)
        carried = tuple(sorted(set(secrets_within(parameters, secrets))
                               | set(secrets_read_by(step.parameters, scheduler.secrets)))) if secrets else ()
        attempt = StepAttempt(self.run.run_id, step.id, number, step.uses, parameters, self.workspace, carried)
        self._attempts[step.id] = number
        self.in_flight[step.id] = True  # before submit: a fast backend may deliver from inside it
        try:
            self.in_flight[step.id] = self.backend.submit(attempt)
        except BaseException:
            del self.in_flight[step.id]
            raise
        return True

    def _guard(self, action) -> bool:
        try:
            action()
            return True
        except RunStoreError as error:
            self._fail(str(error))
            return False

    def _stop(self) -> None:
        self.stopped = True
        try:
            self.run.save_snapshot()
        except RunStoreError as error:
            self.error = str(error)
            for listener in self.on_error:
                listener(self.error)
            return
        status = self.scheduler.status
        for listener in self.on_stopped:
            listener(status)

    def _fail(self, message: str) -> None:
        """The store failed (disk full, read-only): stop starting steps; the journal is the truth."""
        for handle in list(self.in_flight.values()):
            self.backend.cancel(handle)
        self.stopped = True
        self.error = message
        for listener in self.on_error:
            listener(message)

    def _lost_backend(self, message: str) -> None:
        """The backend refused work: interrupt what it holds and stop; the run stays resumable."""
        for step_id in list(self.in_flight):
            self.handle(Completion(step_id, self._attempts[step_id], interrupted=f"interrupted: {message}"))
        if not self.stopped:
            self._guard(lambda: self.scheduler.stop(RUN_INTERRUPTED, message))
            self._guard(self.scheduler.advance)
            self.stopped = True
            self.error = message
            for listener in self.on_error:
                listener(message)
