"""Drive a run the same way on every backend: threads, qt and dask (one LocalCluster per module).

A test gets a :class:`Harness` (the ``harness`` fixture, parametrised over
the three backends), attaches a run, and drives it; ``controller`` is what a
user of that backend talks to (the core Driver headless, the Qt Runner in the
app), both with ``approve``, ``decide_policy`` and ``cancel``.
"""

from __future__ import annotations

import logging
import threading

import pytest

from core.execution.backends.threads import ThreadsBackend
from core.execution.driver import Driver

BACKENDS = ["threads", "qt", "dask"]
TIMEOUT_MS = 60_000


def drive_in_thread(run, registry, qtbot, timeout_ms: int = 30_000) -> str:
    """Drive ``run`` on the threads backend from a thread of its own and return its status: a driver
    that never returns fails the test after ``timeout_ms`` instead of hanging it."""
    backend = ThreadsBackend(registry)
    status = []
    thread = threading.Thread(target=lambda: status.append(Driver(run, backend, registry).drive()), daemon=True)
    thread.start()
    try:
        qtbot.waitUntil(lambda: bool(status), timeout=timeout_ms)
    finally:
        backend.shutdown(wait=False)
    return status[0]


class Headless:
    """threads or dask: the core driver's blocking loop on the test's thread."""

    def __init__(self, name: str, make_backend):
        self.name = name
        self._make_backend = make_backend
        self.backend = None
        self.controller: Driver | None = None

    def attach(self, run, registry, workspace: str | None = None) -> None:
        self.close()
        self.run = run
        self.backend = self._make_backend(registry)
        self.controller = Driver(run, self.backend, registry, workspace=workspace)

    def drive(self) -> str:
        return self.controller.drive()

    def then(self, action) -> str:
        """Do ``action(controller)`` (approve, decide...) and drive on until driving stops again."""
        action(self.controller)
        return self.controller.serve_until_stopped()

    def when(self, predicate, action) -> None:
        """Once a record matches, do ``action(controller)`` on the driver thread."""
        fired = []

        def listener(record):
            if not fired and predicate(record):
                fired.append(record)
                self.controller.post(lambda: action(self.controller))

        self.run.listeners.append(listener)

    def close(self) -> None:
        if self.backend is not None:
            self.backend.shutdown(wait=True)
            self.backend = None


class QtHarness:
    """qt: the app's Runner on the Qt event loop, waited on with qtbot (never a sleep)."""

    name = "qt"

    def __init__(self, qtbot):
        self.qtbot = qtbot
        self.controller = None

    def attach(self, run, registry, workspace: str | None = None) -> None:
        from stella_desktop.runner import Runner
        self.close()
        self.run = run
        self.controller = Runner(run, registry, workers=4, workspace=workspace)

    def drive(self) -> str:
        with self.qtbot.waitSignal(self.controller.finished, timeout=TIMEOUT_MS) as finished:
            self.controller.start()
        return finished.args[0]

    def then(self, action) -> str:
        with self.qtbot.waitSignal(self.controller.finished, timeout=TIMEOUT_MS) as finished:
            action(self.controller)
        return finished.args[0]

    def when(self, predicate, action) -> None:
        from PySide6.QtCore import QTimer
        fired = []

        def listener(record):
            if not fired and predicate(record):
                fired.append(record)
                QTimer.singleShot(0, lambda: action(self.controller))

        self.controller.record.connect(listener)

    def close(self) -> None:
        if self.controller is not None:
            self.controller.wait_for_workers()
            self.controller = None


def local_cluster(workers: int = 2, threads: int = 2):
    """A LocalCluster whose attempts on a dying worker come back at once (KilledWorker)."""
    distributed = pytest.importorskip("distributed")
    import dask
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=threads, processes=True,
                                           dashboard_address=None, silence_logs=logging.ERROR)
    return cluster, distributed.Client(cluster, set_as_default=False)


def make_harness(request, name: str):
    if name == "qt":
        return QtHarness(request.getfixturevalue("qtbot"))
    if name == "dask":
        from core.execution.backends.dask import DaskBackend
        client = request.getfixturevalue("dask_client")
        return Headless("dask", lambda registry: DaskBackend(
            client, allow_commands=registry.get("builtin:command") is not None))
    return Headless("threads", lambda registry: ThreadsBackend(registry, 4))
