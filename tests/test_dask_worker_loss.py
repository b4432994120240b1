"""A Dask worker process dies in the middle of a 200-step run: the run still succeeds, nothing runs twice.

Its own LocalCluster (2 worker processes), since a worker is killed here.
"""

import os
import signal

import pytest

distributed = pytest.importorskip("distributed")

from core.execution.backends.dask import DaskBackend  # noqa: E402
from core.execution.driver import Driver  # noqa: E402
from core.execution.executors import ExecutorRegistry  # noqa: E402
from core.execution.run import ActiveRun  # noqa: E402
from core.execution.store import RunStore  # noqa: E402

STEPS = 200
PACK = f"""
apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {{name: lossy, version: 1.0.0}}
spec:
  steps:
    - id: many
      map:
        items: {list(range(STEPS))}
        maxParallel: 4
        step: {{id: nap, run: {{uses: builtin:sleep, with: {{seconds: 0.2, n: "{{{{ item }}}}"}}}}}}
"""


@pytest.mark.parametrize("actors", [True, False], ids=["actors", "tasks"])
def test_killing_a_worker_mid_run_interrupts_its_attempts_and_the_run_succeeds(tmp_path, dask_client, actors):
    manifest = tmp_path / "pack.yaml"
    manifest.write_text(PACK)
    registry = ExecutorRegistry.default()
    run = ActiveRun.create(RunStore(tmp_path / "store"), manifest, registry=registry)
    backend = DaskBackend(dask_client, actors=actors)
    assert backend.transport == ("actors" if actors else "tasks")
    driver = Driver(run, backend, registry)
    pids = dask_client.run(os.getpid)  # worker address -> its process
    killed = []
    submitted: dict[str, list[str]] = {}  # step -> the Dask keys of its attempts, in order
    submit = backend.submit

    def recording_submit(attempt):
        handle = submit(attempt)
        submitted.setdefault(attempt.step_id, []).append(handle[0].key)
        return handle

    backend.submit = recording_submit
    succeeded_after: dict[str, int] = {}  # step -> how many of its attempts were submitted at its success

    def kill_a_busy_worker(record):
        if record.get("to") == "succeeded":
            succeeded_after[record["stepId"]] = len(submitted.get(record["stepId"], ()))
        finished = len(succeeded_after)
        if not killed and finished >= STEPS // 4:
            # the worker with the most attempts in hand: with 0.2 s attempts, one of them is surely
            # mid-run (an attempt that has just finished would only be recomputed by Dask, unseen)
            processing = backend.in_flight()  # Dask's processing() on the task path, the runners' calls else
            busy = sorted((address for address, count in processing.items() if count and address in pids),
                          key=lambda address: -processing[address])
            if busy:  # else: between two tasks; try again at the next record
                killed.append(busy[0])
                os.kill(pids[busy[0]], signal.SIGKILL)

    run.listeners.append(kill_a_busy_worker)
    with distributed.get_task_stream(client=dask_client) as stream:
        assert driver.drive() == "succeeded"
    backend.shutdown()
    run.close()
    assert killed, "no worker was killed"
    events = [r for r in run.handle.records if r["type"] == "transition"]
    children = {r["stepId"] for r in events if r["stepId"].startswith("many[")}
    assert len(children) == STEPS
    for step_id in children:
        mine = [e for e in events if e["stepId"] == step_id]
        assert [e["to"] for e in mine].count("succeeded") == 1
        assert mine[-1]["to"] == "succeeded"  # nothing after its success
    lost = [e for e in events if "its worker was lost" in (e["reason"] or "")]
    assert lost, "the attempts on the killed worker should come back interrupted"
    for event in lost:  # interrupted, not failed: pending again with its attempt given back
        assert event["to"] == "pending" and event["attempt"] == 0
    # A succeeded step is never submitted again.
    assert all(len(submitted[step]) == succeeded_after[step] for step in children if step in submitted)
    runs_of: dict[str, list[str]] = {}  # key -> workers it finished on
    for task in stream.data:
        runs_of.setdefault(str(task["key"]), []).append(task.get("worker"))
    if actors:  # no attempt went through Dask's task path: each was one call on a runner
        assert not [key for key in runs_of if "many[" in key]
        return
    # Dask's own record of every execution that finished on a worker: each attempt ran once, except
    # an attempt that had finished on the killed worker a moment before its result reached the
    # driver: Dask computes that one again (the run had recorded no success for it yet).
    assert {key for keys in submitted.values() for key in keys} >= set(k for k in runs_of if "many[" in k)
    again = {step: runs_of[keys[-1]] for step, keys in submitted.items() if len(runs_of.get(keys[-1], ())) > 1}
    assert all(workers[:-1] == [killed[0]] for workers in again.values()), again
    assert len(again) <= 4, again  # at most the killed worker's slots
