"""The ``threads`` backend: attempts on a :class:`concurrent.futures.ThreadPoolExecutor`.

The default of the CLI and the API.  Each attempt gets a cancel event its
executor may watch (``builtin:sleep`` and ``builtin:command`` do); the
worker thread runs it and hands the completion to ``deliver``.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from core.execution.attempt import CANCELLED, Completion, StepAttempt, execute_attempt
from core.execution.executors import ExecutorRegistry


class ThreadsBackend:
    name = "threads"

    def __init__(self, registry: ExecutorRegistry, workers: int = 4):
        self.registry = registry
        self.workers = max(1, workers)
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="stella-step")
        self._deliver: Callable[[Completion], None] | None = None

    def bind(self, deliver: Callable[[Completion], None]) -> None:
        self._deliver = deliver

    def submit(self, attempt: StepAttempt):
        cancel = threading.Event()
        future = self._pool.submit(self._run, self.registry.get(attempt.uses), attempt, cancel)
        return future, cancel, attempt

    def _run(self, executor, attempt: StepAttempt, cancel: threading.Event) -> None:
        self._deliver(execute_attempt(executor, attempt, cancel))

    def cancel(self, handle) -> None:
        future, cancel, attempt = handle
        cancel.set()
        if future.cancel():  # never started: it reports here instead of from a thread
            self._deliver(Completion(attempt.step_id, attempt.attempt, interrupted=CANCELLED))

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
