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
        step: {{id: nap, run: {{uses: builtin:sleep, with: {{seconds: 0.05, n: "{{{{ item }}}}"}}}}}}
"""


def test_killing_a_worker_mid_run_interrupts_its_attempts_and_the_run_succeeds(tmp_path, dask_client):
    manifest = tmp_path / "pack.yaml"
    manifest.write_text(PACK)
    registry = ExecutorRegistry.default()
    run = ActiveRun.create(RunStore(tmp_path / "store"), manifest, registry=registry)
    backend = DaskBackend(dask_client)
    driver = Driver(run, backend, registry)
    pids = dask_client.run(os.getpid)  # worker address -> its process
    killed = []

    def kill_a_busy_worker(record):
        finished = sum(1 for r in run.handle.records if r.get("to") == "succeeded")
        if not killed and finished >= STEPS // 4:
            busy = [address for address, keys in dask_client.processing().items() if keys and address in pids]
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
    # Dask's own record of finished tasks: every step's attempt finished on a worker exactly once
    finished_per_step: dict[str, int] = {}
    for task in stream.data:
        key = task["key"] if isinstance(task["key"], str) else str(task["key"])
        if key.startswith("stella-many["):
            step_id = key[len("stella-"):].rsplit("-", 2)[0]
            finished_per_step[step_id] = finished_per_step.get(step_id, 0) + 1
    assert set(finished_per_step) == children
    ran_twice = {step: count for step, count in finished_per_step.items() if count > 1}
    assert ran_twice == {}
