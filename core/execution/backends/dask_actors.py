"""The dask backend's fast transport: one long-lived runner actor per worker, called directly.

A task's completion travels client -> scheduler -> worker -> scheduler ->
client, each hop a batched stream; with ``maxParallel`` 8 a run pays that
latency once per step in a row.  An actor method call goes client -> worker
and back on a connection of the client's pool, with no scheduler hop.

* At start, :class:`Runners` puts one :class:`Runner` actor on each worker
  (``client.submit(Runner, actor=True, workers=[address])``) and probes it
  with a call from this client: a worker this client cannot reach directly
  (a cluster behind its scheduler) gets no runner, and while no runner serves
  the backend uses Dask's task path (``DaskBackend.transport_reason`` says
  why).
* An attempt goes to the least loaded runner.  Its method runs ONE attempt on
  its worker's runner pool: as many threads as the worker has, shared by
  every runner there (one per backend: two runs on one cluster still run at
  most that many attempts at once on a worker, as on the task path; an
  actor runs synchronous methods one at a time), with the same
  :func:`run_on_worker` as a task: the worker keeps nothing but the executor
  registry, the driver keeps the journal and decides everything.
* The call is a coroutine on the client's event loop (no thread per call);
  it hands the completion to the backend's ``deliver`` when the call returns.
* Secrets: the attempt and its completion travel only between this client and
  the worker that runs the step, never through the scheduler or its event log.
* A runner whose call fails (its worker died: the connection breaks; its actor
  is gone: the worker answers with an error) is taken out of service and the
  attempt comes back *interrupted* (``WORKER_LOST``), so the driver submits it
  again.  A keeper thread compares the runners with the scheduler's workers
  every :data:`KEEP_INTERVAL` seconds (and at once after a loss): the calls of
  a worker that left the cluster come back interrupted, and a worker that
  joined gets a runner.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import pickle
import threading
import uuid
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from core.execution.attempt import WORKER_LOST, Completion, StepAttempt

KEEP_INTERVAL = 1.0
"""Seconds between two comparisons of the runners with the scheduler's workers."""
INLINE = frozenset({"builtin:noop", "builtin:echo", "builtin:fail"})
"""Executors that return at once, read no file and never look at the cancel event: a runner runs them
on its worker's event loop, where handing them to a thread (and back) cost more than the step."""
START_TIMEOUT = 30.0
"""Seconds a runner may take to start on its worker and answer its first call."""

log = logging.getLogger(__name__)


# -- on the worker ------------------------------------------------------------------------------------
_POOLS: "weakref.WeakKeyDictionary[object, ThreadPoolExecutor]" = weakref.WeakKeyDictionary()
_POOLS_LOCK = threading.Lock()


def _worker_pool(slots: int) -> ThreadPoolExecutor:
    """The one pool of the worker this runs on, shared by all its runners (one per backend: the API
    server's runs, other processes on the same cluster), so that a worker runs at most as many attempts
    at once as it has threads, as on Dask's task path.  A pool per runner ran one attempt per run at once."""
    import distributed
    try:
        worker = distributed.get_worker()
    except ValueError:  # not on a worker (a test calling the actor's class directly)
        return ThreadPoolExecutor(slots, thread_name_prefix="stella-runner")
    with _POOLS_LOCK:
        pool = _POOLS.get(worker)
        if pool is None:
            pool = _POOLS[worker] = ThreadPoolExecutor(slots, thread_name_prefix="stella-runner")
        return pool


class Runner:
    """An actor on one worker: runs the attempts it is handed, ``slots`` at a time."""

    def __init__(self, allow_commands: bool, slots: int):
        self.allow_commands = allow_commands
        self.slots = max(1, slots)
        self._pool = _worker_pool(self.slots)

    async def ping(self) -> int:
        return self.slots

    async def run(self, payload: bytes) -> Completion:
        """One attempt: ``payload`` is the pickled ``(attempt, cancel_name)`` (see :meth:`Runners._run`)."""
        from core.execution.backends.dask import run_on_worker
        attempt, cancel_name = pickle.loads(payload)
        if attempt.uses in INLINE:
            return run_on_worker(attempt, self.allow_commands, None)
        # the worker's context (``get_worker``, ``get_client``: the cancel watcher needs them) goes with
        # the attempt to the pool's thread
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, context.run, run_on_worker, attempt, self.allow_commands, cancel_name)


# -- on the client ------------------------------------------------------------------------------------
class Call:
    """One attempt handed to a runner: the backend's handle (with a ``key`` like a task's)."""

    __slots__ = ("key", "attempt", "runner", "done", "deliver")

    def __init__(self, attempt: StepAttempt, runner: "_Placed", deliver: Callable[[Completion], None]):
        self.key = f"stella-{attempt.step_id[:60]}-{attempt.attempt}-{uuid.uuid4().hex}"
        self.attempt = attempt
        self.runner = runner
        self.done = False
        self.deliver = deliver  # the backend that submitted it (several may share these runners)


class _Placed:
    """The client's record of one runner: where it is, its future (which keeps the actor alive)."""

    __slots__ = ("address", "key", "future", "slots", "calls", "used")

    def __init__(self, address: str, future, slots: int):
        self.address = address
        self.key = future.key
        self.future = future
        self.slots = slots
        self.calls: set[Call] = set()
        self.used = 0


class Runners:
    """The client's side: places runners, hands them attempts, notices their loss."""

    def __init__(self, client, allow_commands: bool, deliver: Callable[[Completion], None]):
        self.client = client
        self.allow_commands = allow_commands
        self._deliver = deliver
        self._lock = threading.Lock()
        self._serving: dict[str, _Placed] = {}  # worker address -> its runner in service
        self._retired: list[_Placed] = []  # out of service, some calls not answered yet
        self.unreachable: dict[str, str] = {}  # worker address -> why it got no runner
        self._starting: dict[str, object] = {}  # worker address -> its runner's future, waiting for a thread
        self._closed = False
        self._wake = threading.Event()
        self._keeper: threading.Thread | None = None
        self._failure: str | None = None

    # -- starting and keeping ----------------------------------------------------------------------
    def start(self) -> None:
        """Place a runner on every worker, then keep them (:meth:`reason` says why none serves, if so)."""
        try:
            self._keep_once()
        except Exception as error:  # noqa: BLE001 - the keeper tries again
            self._failure = f"no runner could be placed: {type(error).__name__}: {error}"
        self._keeper = threading.Thread(target=self._keep, name="stella-dask-runners", daemon=True)
        self._keeper.start()

    def reason(self) -> str | None:
        """Why no runner serves (None: at least one does)."""
        if self._serving:
            return None
        if self.unreachable:
            reasons = "; ".join(f"{address}: {why}" for address, why in sorted(self.unreachable.items()))
            return f"no worker took a runner ({reasons})"
        starting = sorted(list(self._starting))  # (list(): one step under the GIL, the keeper may change it)
        if starting:
            return f"no runner serves yet: starting on {', '.join(starting)} (no free thread there yet)"
        return self._failure or "no runner serves yet (no worker, or every worker lost)"

    def _keep(self) -> None:
        while not self._closed:
            self._wake.wait(KEEP_INTERVAL)
            self._wake.clear()
            if self._closed:
                return
            try:
                self._keep_once()
            except Exception as error:  # noqa: BLE001 - the scheduler did not answer: try again later
                log.debug("keeping the runners: %s", error)

    def _keep_once(self) -> None:
        workers = self.client.scheduler_info(n_workers=-1).get("workers", {})
        with self._lock:
            placed = list(self._serving.values()) + self._retired
        for runner in placed:
            if runner.address not in workers:
                self._lose(runner, "its worker left the cluster")
            elif runner.future.status != "finished":  # its actor was released or lost: no new calls
                self._lose(runner, f"its actor is {runner.future.status}")
        for address in [address for address in self._starting if address not in workers]:
            self._starting.pop(address).release()
        missing = {address: info.get("nthreads", 1) for address, info in workers.items()
                   if address not in self._serving and address not in self.unreachable}
        if missing and not self._closed:
            self._place(missing)

    def _place(self, missing: dict[str, int]) -> None:
        import distributed
        futures, fresh = {}, []
        for address, slots in missing.items():
            # a runner still waiting for a thread there is neither submitted again nor waited for again
            future = self._starting.pop(address, None)
            if future is None or future.status not in ("pending", "finished"):
                if future is not None:
                    future.release()
                future = self.client.submit(Runner, self.allow_commands, slots, actor=True, workers=[address],
                                            allow_other_workers=False, pure=False,
                                            key=f"stella-runner-{uuid.uuid4().hex}")
                fresh.append(future)
            futures[address] = future
        try:  # (distributed.wait would need this client to be the process's default)
            for _ in distributed.as_completed(fresh, timeout=START_TIMEOUT, loop=self.client.loop):
                pass
        except Exception:  # noqa: BLE001 - a timeout: each future says how it went below
            pass
        for address, future in futures.items():
            if future.status == "pending" and not self._closed:
                # starting a runner takes a thread of its worker: one whose threads are all busy (other
                # clients' tasks) is busy, not unreachable; the keeper looks again at each round
                self._starting[address] = future
                continue
            try:
                if future.status != "finished":
                    raise RuntimeError(f"the runner did not start ({future.status})")
                slots = self.client.sync(self._execute, address, future.key, "ping", callback_timeout=START_TIMEOUT)
            except Exception as error:  # noqa: BLE001
                future.release()
                if address in self.client.scheduler_info(n_workers=-1).get("workers", {}):
                    self.unreachable[address] = f"{type(error).__name__}: {error}"
                continue
            with self._lock:
                if self._closed:
                    future.release()
                    return
                self._serving[address] = _Placed(address, future, slots)

    # -- calls --------------------------------------------------------------------------------------
    def serving(self) -> int:
        return len(self._serving)

    def in_flight(self) -> dict[str, int]:
        """Worker address -> attempts handed to its runner and not answered yet."""
        with self._lock:
            return {runner.address: len(runner.calls) for runner in self._serving.values()}

    def submit(self, attempt: StepAttempt, cancel_name: str | None,
               deliver: Callable[[Completion], None] | None = None) -> Call | None:
        """Hand the attempt to the least loaded runner; None when no runner serves.  Its completion goes
        to ``deliver`` (default: the ``deliver`` these runners were made with)."""
        with self._lock:
            if not self._serving:
                return None
            runner = min(self._serving.values(), key=lambda r: (len(r.calls) / r.slots, r.used))
            call = Call(attempt, runner, deliver or self._deliver)
            runner.calls.add(call)
            runner.used += 1
        self.client.loop.add_callback(self._run, call, cancel_name)
        return call

    async def _execute(self, address: str, key: str, function: str, *args):
        """A method call on the runner ``key`` at ``address``, from this client straight to its worker
        (what :class:`distributed.Actor` does, given this client rather than the process's default).
        ``args`` travel as they are (msgpack): bytes, strings, numbers."""
        answer = await self.client.rpc(address).actor_execute(function=function, actor=key, args=list(args),
                                                              kwargs={})
        if answer["status"] != "OK":
            raise answer["exception"]
        return answer["result"]

    async def _run(self, call: Call, cancel_name: str | None) -> None:
        """On the client's event loop: one call, then its completion to the backend."""
        runner, attempt = call.runner, call.attempt
        try:
            # pickled here, not wrapped for Dask's serializers: one pickle.dumps instead of its framing
            # (measured: 16 us against 164 us for the message's dumps + loads)
            payload = pickle.dumps((attempt, cancel_name), protocol=pickle.HIGHEST_PROTOCOL)
            completion = await self._execute(runner.address, runner.key, "run", payload)
            if not isinstance(completion, Completion):
                raise TypeError(f"the runner answered {type(completion).__name__}")
        except Exception as error:  # noqa: BLE001 - the worker died, or its runner is gone
            self._lose(runner, f"{type(error).__name__}: {error}")
            completion = Completion(attempt.step_id, attempt.attempt,
                                    interrupted=f"{WORKER_LOST} ({type(error).__name__}: {error})")
        self._finish(call, completion)

    def _finish(self, call: Call, completion: Completion) -> None:
        with self._lock:
            if call.done:
                return
            call.done = True
            call.runner.calls.discard(call)
            if not call.runner.calls and call.runner in self._retired:
                self._retired.remove(call.runner)
        if not self._closed:
            call.deliver(completion)

    def _lose(self, runner: _Placed, reason: str) -> None:
        """Out of service; when its worker is gone, its unanswered calls come back interrupted now."""
        with self._lock:
            if self._serving.get(runner.address) is runner:
                del self._serving[runner.address]
                if runner.calls:
                    self._retired.append(runner)
                runner.future.release()  # the scheduler may forget the actor
                log.info("dask runner on %s out of service: %s", runner.address, reason)
            gone = reason == "its worker left the cluster"
            calls = list(runner.calls) if gone else []
        for call in calls:
            self._finish(call, Completion(call.attempt.step_id, call.attempt.attempt,
                                          interrupted=f"{WORKER_LOST} ({reason})"))
        self._wake.set()

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        if self._keeper is not None:
            self._keeper.join(5)
        with self._lock:
            placed, self._serving, self._retired = list(self._serving.values()), {}, []
            starting, self._starting = list(self._starting.values()), {}
        for future in [runner.future for runner in placed] + starting:
            try:
                future.release()
            except Exception:  # noqa: BLE001 - the client is already closed
                pass
