"""The dask backend's runners (one actor per worker, called directly): what happens when one is lost,
when a worker joins, and when this client cannot call the workers at all."""

import pytest

distributed = pytest.importorskip("distributed")

from backend_harness import local_cluster  # noqa: E402
from core.execution.backends import dask_actors  # noqa: E402
from core.execution.backends.dask import DaskBackend  # noqa: E402
from core.execution.driver import Driver  # noqa: E402
from core.execution.executors import ExecutorRegistry  # noqa: E402
from core.execution.run import ActiveRun  # noqa: E402
from core.execution.store import RunStore  # noqa: E402

REGISTRY = ExecutorRegistry.default(plugins=False)


def pack(tmp_path, steps: str):
    (tmp_path / "pack.yaml").write_text("apiVersion: stellaops.io/pack.v1\nkind: TaskPack\n"
                                        "metadata: {name: runners, version: 1.0.0}\nspec:\n  steps:\n" + steps)
    return ActiveRun.create(RunStore(tmp_path / "store"), tmp_path / "pack.yaml", registry=REGISTRY)


def transitions(run, step_id):
    return [r for r in run.handle.records if r["type"] == "transition" and r["stepId"] == step_id]


def _runner_keys(dask_worker):
    return [key for key in dask_worker.state.actors if str(key).startswith("stella-runner-")]


def test_a_runner_gone_between_calls_sends_its_attempt_back_and_is_replaced(dask_client, tmp_path, qtbot,
                                                                             monkeypatch):
    monkeypatch.setattr(dask_actors, "KEEP_INTERVAL", 600)  # only a failed call may notice the loss
    run = pack(tmp_path, "".join(f"    - {{id: s{i}, run: {{uses: builtin:echo, with: {{n: {i}}}}}}}\n"
                                 for i in range(4)))
    backend = DaskBackend(dask_client)
    assert backend.transport == "actors"
    before = {runner.key for runner in backend._runners._serving.values()}
    assert len(before) == 2
    dask_client.cancel([runner.future for runner in backend._runners._serving.values()])
    qtbot.waitUntil(lambda: not {k for keys in dask_client.run(_runner_keys).values() for k in keys} & before,
                    timeout=30_000)
    assert Driver(run, backend, REGISTRY).drive() == "succeeded"
    assert run.scheduler.outputs["s3"] == {"n": 3}
    lost = [r for r in run.handle.records if r["type"] == "transition" and "its worker was lost" in (r["reason"] or "")]
    assert lost and all(r["to"] == "pending" and r["attempt"] == 0 for r in lost)
    for i in range(4):
        assert [r["to"] for r in transitions(run, f"s{i}")].count("succeeded") == 1
    # a failed call woke the keeper at once: both workers have a new runner
    qtbot.waitUntil(lambda: backend._runners.serving() == 2, timeout=30_000)
    assert not {runner.key for runner in backend._runners._serving.values()} & before
    backend.shutdown()
    run.close()


@pytest.mark.parametrize("first", [1, 0], ids=["one-worker-first", "no-worker-first"])
def test_a_worker_added_after_start_gets_a_runner(tmp_path, qtbot, first):
    cluster, client = local_cluster(workers=first, threads=2)
    try:
        backend = DaskBackend(client)
        if first:
            assert backend.transport == "actors" and backend._runners.serving() == 1
        else:  # nothing to place a runner on yet: the task path, and why
            assert backend.transport == "tasks" and "no runner serves yet" in backend.transport_reason
        cluster.scale(2)
        client.wait_for_workers(2, timeout=60)
        qtbot.waitUntil(lambda: backend._runners.serving() == 2, timeout=30_000)
        assert backend.transport == "actors" and backend.transport_reason is None
        run = pack(tmp_path, "    - id: fan\n      parallel:\n        maxParallel: 4\n        steps:\n" + "".join(
            f"          - {{id: z{i}, run: {{uses: builtin:sleep, with: {{seconds: 0.2}}}}}}\n" for i in range(8)))
        assert Driver(run, backend, REGISTRY).drive() == "succeeded"
        assert all(runner.used > 0 for runner in backend._runners._serving.values())  # both took attempts
        backend.shutdown()
        run.close()
    finally:
        client.close()
        cluster.close()


def test_workers_this_client_cannot_call_leave_the_backend_on_the_task_path(dask_client, tmp_path, qtbot,
                                                                           monkeypatch):
    async def unreachable(self, address, key, function, *args):
        raise OSError(f"cannot connect to {address} (test)")

    monkeypatch.setattr(dask_actors.Runners, "_execute", unreachable)
    backend = DaskBackend(dask_client)
    assert backend.transport == "tasks"
    assert "cannot connect to tcp://" in backend.transport_reason
    run = pack(tmp_path, "    - {id: only, run: {uses: builtin:echo, with: {n: 1}}}\n")
    assert Driver(run, backend, REGISTRY).drive() == "succeeded"
    assert run.scheduler.outputs["only"] == {"n": 1}
    # the runners placed for the probe are released: none is left on the workers
    qtbot.waitUntil(lambda: not [k for keys in dask_client.run(_runner_keys).values() for k in keys], timeout=30_000)
    backend.shutdown()
    run.close()


def test_an_existing_cluster_named_by_its_address_gets_runners_too(dask_client, tmp_path):
    backend = DaskBackend.connect(REGISTRY, scheduler=dask_client.scheduler.address)
    try:
        assert backend.transport == "actors" and backend.transport_reason is None
        assert backend._runners.serving() == len(dask_client.scheduler_info()["workers"])
        run = pack(tmp_path, "    - {id: only, run: {uses: builtin:echo, with: {n: 2}}}\n")
        assert Driver(run, backend, REGISTRY).drive() == "succeeded"
        assert run.scheduler.outputs["only"] == {"n": 2}
        run.close()
    finally:
        backend.shutdown()


def test_the_calls_of_a_worker_that_left_the_cluster_come_back_interrupted(dask_client, tmp_path, qtbot,
                                                                           monkeypatch):
    """A worker the scheduler no longer lists (a hung one it gave up on) may never answer: the keeper gives
    its calls back at once, and the late answer of the first attempt is ignored."""
    import threading
    run = pack(tmp_path, "    - {id: nap, run: {uses: builtin:sleep, with: {seconds: 3}}}\n")
    backend = DaskBackend(dask_client)
    driver = Driver(run, backend, REGISTRY)
    status = []
    thread = threading.Thread(target=lambda: status.append(driver.drive()), daemon=True)
    thread.start()
    busy = []

    def running() -> bool:
        busy[:] = [address for address, count in backend.in_flight().items() if count]
        return bool(busy)

    qtbot.waitUntil(running, timeout=30_000)
    listed = dask_client.scheduler_info

    def without_it(**kwargs):
        info = dict(listed(**kwargs))
        info["workers"] = {a: w for a, w in info["workers"].items() if a != busy[0]}
        return info

    monkeypatch.setattr(dask_client, "scheduler_info", without_it)
    backend._runners._wake.set()
    left = lambda: [r for r in run.handle.records  # noqa: E731
                    if r["type"] == "transition" and "its worker left the cluster" in (r["reason"] or "")]
    qtbot.waitUntil(lambda: bool(left()), timeout=30_000)
    monkeypatch.undo()  # listed again: the keeper places a new runner there
    thread.join(60)
    assert status == ["succeeded"]
    assert left()[0]["to"] == "pending" and left()[0]["attempt"] == 0
    assert [r["to"] for r in transitions(run, "nap")].count("succeeded") == 1
    qtbot.waitUntil(lambda: backend._runners.serving() == 2, timeout=30_000)
    backend.shutdown()
    run.close()


def _attempts_on_worker(dask_worker):
    """(attempts executing, attempts waiting for a slot) in this worker process, over all its runners."""
    import sys
    executing = 0
    for frame in sys._current_frames().values():
        while frame is not None:
            if frame.f_code.co_name == "execute_attempt":
                executing += 1
                break
            frame = frame.f_back
    pools = {id(actor._pool): actor._pool for key, actor in dask_worker.state.actors.items()
             if str(key).startswith("stella-runner-")}
    return executing, sum(pool._work_queue.qsize() for pool in pools.values())


def test_two_runs_on_one_cluster_share_each_workers_threads(tmp_path, qtbot):
    """Two backends on one cluster (the API server's runs, two CLI runs on one scheduler) run at most as many
    attempts at once on a worker as it has threads, like Dask's task path: the runners of one worker share
    its slots.  (Each runner had a pool of its own: a 1-thread worker ran one attempt per run at once.)"""
    import threading
    cluster, client = local_cluster(workers=1, threads=1)
    runs, backends, threads, status = [], [], [], []
    try:
        for name in ("one", "two"):
            folder = tmp_path / name
            folder.mkdir()
            run = pack(folder, "    - {id: nap, run: {uses: builtin:sleep, with: {seconds: 60}}}\n")
            backend = DaskBackend(client)
            assert backend.transport == "actors"
            driver = Driver(run, backend, REGISTRY)
            runs.append((run, driver))
            backends.append(backend)
            threads.append(threading.Thread(target=lambda d=driver: status.append(d.drive()), daemon=True))
            threads[-1].start()
        [address] = client.scheduler_info()["workers"]
        qtbot.waitUntil(lambda: sum(client.run(_attempts_on_worker)[address]) == 2, timeout=30_000)
        assert client.run(_attempts_on_worker)[address] == (1, 1)  # one runs, the other waits for the thread
    finally:
        for run, driver in runs:
            driver.call(lambda d: d.cancel("test over"))
        for thread in threads:
            thread.join(60)
        for backend in backends:
            backend.shutdown()
        for run, _ in runs:
            run.close()
        client.close()
        cluster.close()
    assert status == ["cancelled", "cancelled"]


def test_the_api_servers_runs_use_its_clusters_runners_placed_once(dask_client, tmp_path, monkeypatch):
    """The API server keeps one Dask client for all its runs; each run's backend is made under the server's
    lock.  They call the runners placed once for that client, rather than each placing (and probing) one
    more runner per worker there: a run's start no longer waits for actors to start on every worker, nor
    blocks the server meanwhile (a worker slow to start one held it up to START_TIMEOUT)."""
    from core.execution.host import HostOptions, RunHost
    host = RunHost(RunStore(tmp_path / "store"), HostOptions(backend="dask", scheduler=dask_client.scheduler.address))
    try:
        first = host._backend()  # the shared client's runners are placed here, once
        workers = len(dask_client.scheduler_info()["workers"])
        assert host._shared_dask._runners.serving() == workers

        def placed(self, missing):
            raise AssertionError(f"a run's backend placed runners again on {sorted(missing)}")

        monkeypatch.setattr(dask_actors.Runners, "_place", placed)
        second = host._backend()
        for number, backend in enumerate((first, second)):
            assert backend.transport == "actors"
            folder = tmp_path / f"run{number}"
            folder.mkdir()
            run = pack(folder, f"    - {{id: only, run: {{uses: builtin:echo, with: {{n: {number}}}}}}}\n")
            assert Driver(run, backend, REGISTRY).drive() == "succeeded"  # its completions come back to it
            assert run.scheduler.outputs["only"] == {"n": number}
            backend.shutdown(wait=True)
            run.close()
        assert host._shared_dask._runners.serving() == workers  # a run's shutdown leaves the shared runners
        runners = [k for keys in dask_client.run(_runner_keys).values() for k in keys]
        assert len(runners) == workers, runners
    finally:
        host.shutdown()


def _hold_the_thread(started: str, release: str) -> None:
    """A task that keeps its worker's thread until ``release`` is set (it sets ``started`` first)."""
    distributed.Event(started).set()
    distributed.Event(release).wait(120)


def test_a_worker_too_busy_to_start_its_runner_gets_one_once_free(tmp_path, qtbot, monkeypatch):
    """Starting a runner takes one of its worker's threads: a worker whose threads are all busy (another
    client's tasks) cannot start one in START_TIMEOUT.  It is busy, not unreachable: it gets its runner once
    free.  (It was marked unreachable for good: that backend, and now the API server's runs, stayed on the
    task path for their whole life.)"""
    monkeypatch.setattr(dask_actors, "START_TIMEOUT", 1.0)
    cluster, client = local_cluster(workers=1, threads=1)
    backend = None
    try:
        started, release = f"started-{tmp_path.name}", f"release-{tmp_path.name}"
        busy = client.submit(_hold_the_thread, started, release, pure=False)
        assert distributed.Event(started, client=client).wait(60)
        backend = DaskBackend(client)
        assert backend.transport == "tasks"  # no thread to start the runner with
        assert "no free thread there yet" in backend.transport_reason, backend.transport_reason
        distributed.Event(release, client=client).set()
        busy.result(60)
        qtbot.waitUntil(lambda: backend.transport == "actors", timeout=30_000)
        assert backend.transport_reason is None
        run = pack(tmp_path, "    - {id: only, run: {uses: builtin:echo, with: {n: 1}}}\n")
        assert Driver(run, backend, REGISTRY).drive() == "succeeded"
        run.close()
    finally:
        if backend is not None:
            backend.shutdown()
        client.close()
        cluster.close()


def test_runners_placed_without_commands_are_not_lent_to_a_backend_that_allows_them(dask_client):
    shared = DaskBackend(dask_client)
    try:
        with pytest.raises(ValueError, match="allow_commands"):
            DaskBackend(dask_client, allow_commands=True, runners=shared.runners)
    finally:
        shared.shutdown()
