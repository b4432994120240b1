"""The ``threads`` backend: attempts on a pool of worker threads.

The default of the CLI and the API.  Each attempt gets a cancel event its
executor may watch (``builtin:sleep`` and ``builtin:command`` do); a worker
thread runs it and hands the completion to ``deliver``.

The pool is a queue and ``workers`` threads, not a
:class:`concurrent.futures.ThreadPoolExecutor`: the driver never reads a
result from a future (every attempt reports through ``deliver``), and per
attempt the executor's future, work item and idle semaphore took some six
lock operations and a third of the driver's CPU of a 1,000 no-op run
(``benchmarks``: execute-1000).  What the executor guaranteed is kept: an
attempt cancelled before a worker took it never runs and reports from
:meth:`ThreadsBackend.cancel`; :meth:`ThreadsBackend.shutdown` runs what is
queued (or, without ``wait``, drops it) and ends the threads; so does the
interpreter's exit and the backend being garbage-collected, the threads
being non-daemon as the executor's are.
"""

from __future__ import annotations

import queue
import threading
import weakref
from typing import Callable

from core.execution.attempt import CANCELLED, Completion, StepAttempt, execute_attempt
from core.execution.executors import ExecutorRegistry

_STOP = None
"""Put on a pool's queue to end its threads (each worker puts it back for the next)."""

_open_queues: "weakref.WeakSet[_WorkQueue]" = weakref.WeakSet()


class _WorkQueue(queue.SimpleQueue):
    """A pool's queue (a subclass only so that the interpreter's exit can find the open ones)."""


def _stop_open_pools() -> None:
    for work in list(_open_queues):
        work.put(_STOP)


threading._register_atexit(_stop_open_pools)  # as concurrent.futures does: before non-daemon threads are joined


class _Handle:
    """A submitted attempt: what :meth:`ThreadsBackend.cancel` needs."""

    __slots__ = ("attempt", "cancel")

    def __init__(self, attempt: StepAttempt, cancel: threading.Event):
        self.attempt = attempt
        self.cancel = cancel


def _work(work: _WorkQueue, queued: set) -> None:
    """A worker thread: take attempts until told to stop; one cancelled before it was taken is skipped."""
    while True:
        item = work.get()
        if item is _STOP:
            work.put(_STOP)
            return
        handle, executor, deliver = item
        try:
            queued.remove(handle)  # atomic: either this worker takes it or cancel() reports it, never both
        except KeyError:
            continue
        try:
            deliver(execute_attempt(executor, handle.attempt, handle.cancel))
        except BaseException:  # noqa: BLE001 -- as a future kept it: a worker never dies of one attempt
            pass
        del item, handle, executor, deliver  # nothing here keeps the backend (or its driver) alive


class ThreadsBackend:
    name = "threads"

    def __init__(self, registry: ExecutorRegistry, workers: int = 4):
        self.registry = registry
        self.workers = max(1, workers)
        self._work = _WorkQueue()
        self._queued: set[_Handle] = set()  # submitted, not yet taken by a worker
        self._threads: list[threading.Thread] = []
        self._shut = False
        self._lock = threading.Lock()
        self._deliver: Callable[[Completion], None] | None = None
        _open_queues.add(self._work)
        weakref.finalize(self, self._work.put, _STOP)  # dropped without shutdown: its threads end

    def bind(self, deliver: Callable[[Completion], None]) -> None:
        self._deliver = deliver

    def submit(self, attempt: StepAttempt):
        handle = _Handle(attempt, threading.Event())
        with self._lock:
            if self._shut:
                raise RuntimeError("cannot schedule new attempts after shutdown")
            if not self._threads:  # all at once, before any work: no thread starts while others run
                self._start_threads()
            self._queued.add(handle)
            self._work.put((handle, self.registry.get(attempt.uses), self._deliver))
        return handle

    def _start_threads(self) -> None:
        for number in range(self.workers):
            thread = threading.Thread(target=_work, args=(self._work, self._queued), name=f"stella-step_{number}")
            thread.start()
            self._threads.append(thread)

    def cancel(self, handle: _Handle) -> None:
        handle.cancel.set()
        try:
            self._queued.remove(handle)
        except KeyError:
            return  # taken by a worker: it reports (interrupted, or its result)
        self._deliver(Completion(handle.attempt.step_id, handle.attempt.attempt, interrupted=CANCELLED))

    def shutdown(self, wait: bool = True) -> None:
        with self._lock:
            self._shut = True
            if not wait:
                self._queued.clear()  # what no worker has taken never runs
            self._work.put(_STOP)
        if wait:
            for thread in self._threads:
                thread.join()
