"""The ``dask`` backend: attempts on a Dask cluster (``distributed``, the optional ``dask`` extra).

Two transports.  By default each attempt is a method call on a long-lived runner actor of one
worker, straight from the client to that worker (:mod:`core.execution.backends.dask_actors`:
no scheduler hop, what a latency-bound run needs).  Dask's task path below serves when no runner
does (``actors=False``, a cluster whose workers this client cannot reach, no worker yet, every
worker lost), and :attr:`DaskBackend.transport_reason` says why.

Workers are stateless: each task gets a :class:`StepAttempt` (the
executor's name and the step's resolved parameters), runs that one attempt
with the executors installed in the worker's environment, and returns a
:class:`Completion`.  The driver, in the submitting process, keeps the
journal and decides everything, so a run survives the loss of any worker:
an attempt whose worker died comes back *interrupted* (not failed) and is
submitted again.

* ``DaskBackend.connect(registry, scheduler=None, workers=N)`` starts a
  :class:`distributed.LocalCluster` of N worker processes (and stops it at
  :meth:`shutdown`); with ``scheduler="tcp://HOST:PORT"`` (``tls://`` beyond
  one machine) it uses that cluster instead.
* A step's secrets travel only to the worker that runs it: on the runners the
  attempt and its completion go between this client and that worker directly
  (an actor call: no scheduler hop); on the task path the attempt is scattered
  straight to one worker (never through the scheduler) and the task is pinned
  there.
* On the task path, completions come back on an event topic of the cluster (``log_event`` on the
  worker, ``subscribe_topic`` on the client: one hop worker -> scheduler ->
  client, handled on the client's event loop), not by gathering each
  future's result, which costs one more round trip per step.  The future
  stays the authority when the topic says nothing: an attempt whose worker
  was lost, a result that is not plain JSON, or one carrying secrets (those
  never sit in the scheduler's event log) is delivered from its future.
  Every client of the scheduler can read and publish on the topic: an
  announcement counts only when sealed (HMAC) with the key its task alone was
  given, for the attempt it names.  A secret-bearing attempt's completion is
  fetched from its worker directly, not relayed by the scheduler.
* Cancelling sets a :class:`distributed.Event` for the run; a small watcher in
  each worker process passes it to the executors that can stop early
  (``builtin:sleep``, ``builtin:command``, plug-ins).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import logging
import threading
import time
import uuid
from typing import Callable

from core.execution.attempt import (
    CANCELLED, WORKER_LOST, Completion, StepAttempt, execute_attempt, run_attempt_by_name,
)
from core.execution.backends import BackendUnavailable
from core.execution.executors import ExecutorRegistry

CONNECT_TIMEOUT = "10s"
SEND_INTERVAL = 0.002
"""Seconds the client holds messages to the scheduler to batch them (Dask's client uses 10 ms, made for
graphs of many tasks sent at once).  A run sends one small task each time a step ends, and the next
step waits for it: while bound to the client this backend paces it like Dask's own latency-bound
streams (workers -> scheduler, scheduler -> clients: 2 ms), and puts the client's interval back at
:meth:`DaskBackend.shutdown`."""
ANNOUNCE_MAX_BYTES = 8 * 1024
"""Largest completion announced on the topic.  The scheduler keeps each topic's last 1,000 events
(``distributed.admin.low-level-log-length``) for as long as it runs, and a server's runs share one
cluster: a run echoing 64 KB values left 64 MB in the scheduler per run (found by the attack review).
Bigger completions come from their futures; the topic's events are dropped when the backend shuts down."""
IGNORE_CANCEL = frozenset({"builtin:noop", "builtin:echo", "builtin:fail", "builtin:write-file"})
"""Executors that finish at once and never look at the cancel event: no watcher for them."""


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise BackendUnavailable("the dask backend needs the 'dask' extra: pip install 'stella-desktop[dask]'") \
            from None
    return distributed


class DaskBackend:
    name = "dask"

    def __init__(self, client, *, allow_commands: bool = False, cluster=None, owns_client: bool = False,
                 actors: bool = True, runners=None):
        """``runners``: another backend's :attr:`runners` on the same client to call (the API server's
        runs share its client's: none is placed per run, under the server's lock); not closed here."""
        if runners is not None and runners.allow_commands != allow_commands:  # fixed when they were placed
            raise ValueError("these runners were placed with another allow_commands")
        distributed = _import_distributed()
        self.client = client
        self.cluster = cluster
        self.owns_client = owns_client or cluster is not None
        self.allow_commands = allow_commands
        self._deliver: Callable[[Completion], None] | None = None
        self._pending: dict[str, StepAttempt] = {}  # future key -> attempt
        self._seals: dict[str, bytes] = {}  # future key -> the key its worker signs the announcement with
        self._lock = threading.Lock()
        self._completed = distributed.as_completed(loop=client.loop, with_results=False)
        self._comm = getattr(client, "scheduler_comm", None)  # a BatchedSend: see SEND_INTERVAL
        self._interval = getattr(self._comm, "interval", None)
        if self._interval is not None:
            self._comm.interval = min(self._interval, SEND_INTERVAL)
        self._topic = f"stella-done-{uuid.uuid4().hex}"
        client.subscribe_topic(self._topic, self._on_event)
        self._closed = False
        self._work = threading.Event()
        self._cancel_events: dict[str, object] = {}  # runs this backend cancelled
        self._cleared: set[str] = set()  # runs whose cancel event was reset (a crash may have left it set)
        self._workers = itertools.cycle(())
        self._collector = threading.Thread(target=self._collect, name="stella-dask-collector", daemon=True)
        self._collector.start()
        self._runners = runners
        self._owns_runners = False
        if runners is None and actors:
            from core.execution.backends.dask_actors import Runners
            self._runners = Runners(client, allow_commands, self._deliver_from_runner)
            self._owns_runners = True
            self._runners.start()  # its keeper places runners on workers that join later, too
            if self._runners.serving() == 0:
                logging.getLogger(__name__).warning("dask backend on Dask's task path: %s", self.transport_reason)

    @property
    def runners(self):
        """The :class:`~core.execution.backends.dask_actors.Runners` this backend calls (None: tasks only)."""
        return self._runners

    @property
    def transport(self) -> str:
        """``actors`` (attempts are calls on the workers' runners) or ``tasks`` (Dask's task path)."""
        return "actors" if self._runners is not None and self._runners.serving() else "tasks"

    @property
    def transport_reason(self) -> str | None:
        """Why attempts go as tasks now (None: they go to runners)."""
        if self._runners is None:
            return "actors=False"
        return self._runners.reason()

    def in_flight(self) -> dict[str, int]:
        """Worker address -> attempts running there (what Dask's ``processing()`` says on the task path)."""
        if self._runners is not None and self._runners.serving():
            return self._runners.in_flight()
        return {address: len(keys) for address, keys in self.client.processing().items()}

    def _deliver_from_runner(self, completion: Completion) -> None:
        if not self._closed:
            self._deliver(completion)

    # -- making one --------------------------------------------------------------------------------
    @classmethod
    def connect(cls, registry: ExecutorRegistry, *, scheduler: str | None = None, workers: int = 4,
                threads_per_worker: int = 1) -> "DaskBackend":
        distributed = _import_distributed()
        import dask
        allow_commands = registry.get("builtin:command") is not None
        if scheduler:
            if not scheduler.startswith(("tcp://", "tls://", "inproc://")):
                raise BackendUnavailable(f"'{scheduler}' is not a scheduler address (tcp://HOST:PORT or tls://...)")
            try:
                client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
            except (OSError, TimeoutError) as error:
                raise BackendUnavailable(f"cannot reach the Dask scheduler at {scheduler}: {error}") from None
            return cls(client, allow_commands=allow_commands, owns_client=True)
        # One cluster per run: an attempt on a worker that dies is reported at once (not retried
        # by Dask behind the driver's back), so the journal says it was interrupted.
        with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
            cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=threads_per_worker,
                                               processes=True, dashboard_address=None,
                                               silence_logs=logging.ERROR)
        client = distributed.Client(cluster, set_as_default=False)
        return cls(client, allow_commands=allow_commands, cluster=cluster)

    # -- the backend protocol ---------------------------------------------------------------------
    def bind(self, deliver: Callable[[Completion], None]) -> None:
        self._deliver = deliver

    def submit(self, attempt: StepAttempt):
        cancel_name = None if attempt.uses in IGNORE_CANCEL else _event_name(attempt.run_id)
        if cancel_name is not None and attempt.run_id not in self._cleared:
            self._reset_cancel(attempt.run_id)
        if self._runners is not None:
            call = self._runners.submit(attempt, cancel_name, self._deliver_from_runner)
            if call is not None:
                return call, attempt
            # no runner serves now (every worker lost): Dask's task path waits for workers
        key = f"stella-{attempt.step_id[:60]}-{attempt.attempt}-{uuid.uuid4().hex}"
        try:
            if attempt.secret_values:
                future = self._submit_pinned(attempt, cancel_name, key)
            else:
                seal = secrets.token_bytes(32)
                with self._lock:
                    self._seals[key] = seal  # before submit: the announcement may come back first
                future = self.client.submit(run_on_worker, attempt, self.allow_commands, cancel_name,
                                            self._topic, seal, key=key, pure=False)
        except Exception as error:  # the client lost its scheduler
            with self._lock:
                self._seals.pop(key, None)
            from core.execution.driver import BackendError
            raise BackendError(f"the Dask cluster refused the step: {type(error).__name__}: {error}") from None
        with self._lock:
            self._pending[future.key] = attempt
        self._completed.add(future)
        self._work.set()
        return future, attempt

    def _submit_pinned(self, attempt: StepAttempt, cancel_name: str | None, key: str):
        """Secrets go straight to one worker (scatter direct), and the task runs there."""
        worker = self._next_worker()
        [data] = self.client.scatter([attempt], workers=[worker], direct=True, hash=False)
        return self.client.submit(run_on_worker, data, self.allow_commands, cancel_name, None, key=key,
                                  pure=False, workers=[worker], allow_other_workers=False)

    def _next_worker(self) -> str:
        worker = next(self._workers, None)
        if worker is None or worker not in self.client.scheduler_info().get("workers", {}):
            workers = sorted(self.client.scheduler_info().get("workers", {}))
            if not workers:
                self.client.wait_for_workers(1, timeout=30)
                workers = sorted(self.client.scheduler_info()["workers"])
            self._workers = itertools.cycle(workers)
            worker = next(self._workers)
        return worker

    def _reset_cancel(self, run_id: str) -> None:
        distributed = _import_distributed()
        try:
            distributed.Event(_event_name(run_id), client=self.client).clear()
        except Exception as error:
            from core.execution.driver import BackendError
            raise BackendError(f"the Dask scheduler did not answer: {type(error).__name__}: {error}") from None
        self._cleared.add(run_id)
        self._cancel_events.pop(run_id, None)

    def cancel(self, handle) -> None:
        future, attempt = handle
        if attempt.uses in IGNORE_CANCEL:
            return  # done in a moment anyway; it reports its result
        if attempt.run_id not in self._cancel_events:
            distributed = _import_distributed()
            event = distributed.Event(_event_name(attempt.run_id), client=self.client)
            try:
                event.set()
            except Exception:  # the cluster is gone: the attempt comes back lost instead
                return
            self._cancel_events[attempt.run_id] = event
            self._cleared.discard(attempt.run_id)  # the next attempt of this run resets it first

    def shutdown(self, wait: bool = True) -> None:
        self._closed = True
        self._work.set()
        if self._runners is not None and self._owns_runners:
            self._runners.close()
        for event in self._cancel_events.values():
            try:
                event.clear()
            except Exception:  # the cluster is already gone
                pass
        self._collector.join(5)
        if self._interval is not None:
            self._comm.interval = self._interval
        try:
            self.client.unsubscribe_topic(self._topic)
            self.client.run_on_scheduler(_forget_topic, self._topic)
        except Exception:  # the client or its cluster is already gone (or runs no code of clients)
            pass
        if not self.owns_client:
            return
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()

    # -- completions ------------------------------------------------------------------------------
    def _on_event(self, event) -> None:
        """On the client's event loop: a worker announced a completion (see :func:`run_on_worker`).

        Any client of the scheduler can read this topic and publish on it: an announcement counts
        only when it carries the seal of the attempt it names (a MAC with the key given to that
        task alone) and names that attempt's step and number; anything else is ignored, and the
        task's future tells instead.
        """
        try:
            text, mac = event[1].rsplit("\n", 1)
            key, step_id, number, outputs, error, interrupted = json.loads(text)
        except Exception:  # not ours: the future will tell
            return
        with self._lock:
            attempt = self._pending.get(key)
            seal = self._seals.get(key)
            if attempt is None or seal is None or step_id != attempt.step_id or number != attempt.attempt \
                    or not hmac.compare_digest(mac, _mac(seal, text)):
                return
            del self._pending[key]
            del self._seals[key]
        if not self._closed:
            self._deliver(Completion(step_id, number, outputs, error, interrupted))

    def _collect(self) -> None:
        """Deliver each finished attempt the topic did not announce (lost workers, non-JSON results)."""
        while not self._closed:
            if self._completed.is_empty():
                self._work.wait(0.1)
                self._work.clear()
                continue
            try:
                batch = self._completed.next_batch(block=True)
            except StopIteration:
                continue
            for future in batch:
                with self._lock:
                    attempt = self._pending.get(future.key)
                if attempt is None or self._closed:
                    continue  # announced on the topic
                result = _outcome(future, direct=bool(attempt.secret_values))
                with self._lock:
                    attempt = self._pending.pop(future.key, None)
                    self._seals.pop(future.key, None)
                if attempt is not None and not self._closed:
                    self._deliver(_completion(attempt, future.status, result))


def _forget_topic(topic: str, dask_scheduler=None) -> None:
    """On the scheduler: drop a finished backend's announcements from its event log."""
    dask_scheduler._broker.truncate(topic)


def _outcome(future, direct: bool = False):
    """The finished future's result, or its error (one round trip; only when the topic was silent).

    ``direct``: fetched from its worker, not relayed by the scheduler (a secret-bearing attempt's
    completion; its attempt came to the worker the same way)."""
    try:
        if future.status == "finished":
            return future.client.gather(future, direct=True) if direct else future.result()
        if future.status == "error":
            return future.exception()
    except Exception as error:  # the cluster went away meanwhile
        return error
    return None


def _completion(attempt: StepAttempt, status: str, result) -> Completion:
    if status == "finished" and isinstance(result, Completion):
        return result
    if status == "cancelled":
        return Completion(attempt.step_id, attempt.attempt, interrupted=CANCELLED)
    error = result[1] if isinstance(result, tuple) and len(result) == 3 else result
    name = type(error).__name__
    if name in ("KilledWorker", "CommClosedError", "FutureCancelledError", "CancelledError") or status != "error":
        return Completion(attempt.step_id, attempt.attempt, interrupted=f"{WORKER_LOST} ({name})")
    # run_on_worker never raises: an error here is the worker's, not the step's
    return Completion(attempt.step_id, attempt.attempt, interrupted=f"{WORKER_LOST} ({name}: {error})")


def _event_name(run_id: str) -> str:
    return f"stella-cancel-{run_id}"


# -- on the worker ------------------------------------------------------------------------------------
def run_on_worker(attempt: StepAttempt, allow_commands: bool, cancel_name: str | None,
                  topic: str | None = None, seal: bytes | None = None) -> Completion:
    """One attempt on a worker: nothing kept between tasks but the executor registry.

    With a ``topic``, the completion is also announced there as JSON, when it
    survives the trip unchanged (plain JSON outputs); the returned value stays
    the fallback the client reads when no announcement came.
    """
    if cancel_name is None:
        completion = run_attempt_by_name(attempt, allow_commands)
    else:
        cancel = _WATCHER.watch(cancel_name)
        try:
            from core.execution.attempt import _worker_registry
            completion = execute_attempt(_worker_registry(allow_commands).get(attempt.uses), attempt, cancel)
        finally:
            _WATCHER.forget(cancel_name, cancel)
    if topic is not None and seal is not None:
        _announce(topic, completion, seal)
    return completion


def _announce(topic: str, completion: Completion, seal: bytes) -> None:
    import distributed
    try:
        worker = distributed.get_worker()
    except ValueError:  # not on a worker: the future carries it
        return
    text = announcement(worker.get_current_task(), completion)
    if text is not None and len(text) <= ANNOUNCE_MAX_BYTES:
        worker.log_event(topic, f"{text}\n{_mac(seal, text)}")


def _mac(seal: bytes, text: str) -> str:
    return hmac.new(seal, text.encode(), hashlib.sha256).hexdigest()


def announcement(key: str, completion: Completion) -> str | None:
    """The completion as JSON text, or None when it would not come back exactly as it left
    (a tuple, a NaN, a non-string key, an object): then the task's future carries it.
    ``json.dumps`` escapes line breaks, so the text holds none: the seal follows its last one."""
    fields = [key, completion.step_id, completion.attempt, completion.outputs, completion.error,
              completion.interrupted]
    try:
        text = json.dumps(fields, allow_nan=False)
    except (ValueError, TypeError):
        return None
    return text if json.loads(text) == fields else None


class _CancelWatcher:
    """In a worker process: sets the local events of a run's running attempts when it is cancelled."""

    POLL = 0.1

    def __init__(self):
        self._lock = threading.Lock()
        self._watched: dict[str, tuple[object, set[threading.Event]]] = {}
        self._thread: threading.Thread | None = None

    def watch(self, name: str) -> threading.Event:
        import distributed
        cancel = threading.Event()
        with self._lock:
            if name not in self._watched:
                # made in the task, with its worker's client: the watcher thread has none of its own
                self._watched[name] = (distributed.Event(name, client=distributed.get_client()), set())
            self._watched[name][1].add(cancel)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._poll, name="stella-cancel-watch", daemon=True)
                self._thread.start()
        return cancel

    def forget(self, name: str, cancel: threading.Event) -> None:
        with self._lock:
            entry = self._watched.get(name)
            if entry is not None:
                entry[1].discard(cancel)
                if not entry[1]:
                    del self._watched[name]

    def _poll(self) -> None:
        while True:
            with self._lock:
                if not self._watched:
                    self._thread = None
                    return
                watched = list(self._watched.values())
            for event, cancels in watched:
                try:
                    is_set = event.is_set()
                except Exception:  # the scheduler is gone: the attempt will be lost anyway
                    is_set = False
                if is_set:
                    for cancel in list(cancels):
                        cancel.set()
            time.sleep(self.POLL)


_WATCHER = _CancelWatcher()
