"""How fast does a run go?  Steps per second with every transition persisted, on each backend.

    QT_QPA_PLATFORM=offscreen python benchmarks/execute.py [--steps 1000] [--max-parallel 8] [--repeat 3]
                                                           [--backend threads|qt|dask]

A pack with one parallel block of ``--steps`` ``builtin:noop`` children
(``maxParallel`` 8) runs through the core driver on the chosen backend: the
scheduler, the backend's workers, and the run store journalling every
transition (write + flush, fsync every 100 ms).  Floors measured in the same
run: a bare ``concurrent.futures.ThreadPoolExecutor`` with 8 threads running
the same number of no-op calls (threads, qt), a bare ``client.map`` of the
same no-ops on the same cluster (dask), and the store alone appending the
same number of records.  Targets: threads >= 10,000 steps/s and <= 8x the
bare pool; qt >= 5,000 steps/s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from core.execution.backends.threads import ThreadsBackend  # noqa: E402
from core.execution.driver import Driver  # noqa: E402
from core.execution.executors import ExecutorRegistry, noop  # noqa: E402
from core.execution.run import ActiveRun  # noqa: E402
from core.execution.store import RunStore  # noqa: E402

REGISTRY = ExecutorRegistry.default(plugins=False)


def pack_text(steps: int, max_parallel: int) -> str:
    children = "\n".join(f"          - {{id: n{i}, run: {{uses: builtin:noop}}}}" for i in range(steps))
    return ("apiVersion: stellaops.io/pack.v1\nkind: TaskPack\nmetadata: {name: bench-exec, version: 1.0.0}\n"
            f"spec:\n  steps:\n    - id: fan\n      parallel:\n        maxParallel: {max_parallel}\n"
            f"        steps:\n{children}\n")


def _create(manifest: Path, store_root: Path) -> ActiveRun:
    return ActiveRun.create(RunStore(store_root), manifest, registry=REGISTRY)


def _finish(active: ActiveRun, elapsed: float) -> tuple[float, int]:
    records = len(active.handle.records)
    assert active.scheduler.status == "succeeded", active.scheduler.status
    active.close()
    return elapsed, records


def run_threads(manifest: Path, store_root: Path, workers: int) -> tuple[float, int]:
    """The threads backend (the CLI's and the API's): the driver's loop on this thread."""
    active = _create(manifest, store_root)
    backend = ThreadsBackend(REGISTRY, workers)
    driver = Driver(active, backend, REGISTRY)
    started = time.perf_counter()
    driver.drive()
    elapsed = time.perf_counter() - started
    backend.shutdown()
    return _finish(active, elapsed)


def run_qt(app, manifest: Path, store_root: Path, workers: int) -> tuple[float, int]:
    """The qt backend (the app's): the Runner on a Qt event loop, steps on a QThreadPool."""
    from stella_desktop.runner import Runner
    active = _create(manifest, store_root)
    runner = Runner(active, REGISTRY, workers=workers)
    runner.finished.connect(lambda status: app.quit())
    started = time.perf_counter()
    runner.start()
    app.exec()
    elapsed = time.perf_counter() - started
    runner.wait_for_workers()
    return _finish(active, elapsed)


def run_dask(client, manifest: Path, store_root: Path, actors: bool = True) -> tuple[float, int]:
    """The dask backend on an existing client (its cluster and, with ``actors``, its runners started
    beforehand, not timed); ``actors=False``: Dask's task path, the backend before its runners."""
    from core.execution.backends.dask import DaskBackend
    active = _create(manifest, store_root)
    backend = DaskBackend(client, actors=actors)
    assert backend.transport == ("actors" if actors else "tasks"), backend.transport_reason
    driver = Driver(active, backend, REGISTRY)
    started = time.perf_counter()
    driver.drive()
    elapsed = time.perf_counter() - started
    backend.shutdown()
    return _finish(active, elapsed)


def bare_client_map(client, steps: int) -> float:
    """The floor of the dask figure: the same no-op executor mapped over the cluster, then gathered."""
    started = time.perf_counter()
    futures = client.map(noop, range(steps), pure=False)
    client.gather(futures)
    elapsed = time.perf_counter() - started
    del futures
    return elapsed


def bare_window(client, steps: int, width: int = 8) -> float:
    """The latency floor of the dask figure: the same no-ops with ``width`` in flight, the next one
    submitted as soon as one finishes (no driver, no store, no results fetched), with the client
    sending at once as the backend makes it (``SEND_INTERVAL``)."""
    from distributed import as_completed

    from core.execution.backends.dask import SEND_INTERVAL
    comm = client.scheduler_comm
    interval, comm.interval = comm.interval, min(comm.interval, SEND_INTERVAL)
    try:
        started = time.perf_counter()
        submitted = min(width, steps)
        futures = as_completed([client.submit(noop, i, pure=False) for i in range(submitted)], loop=client.loop)
        for _ in futures:
            if submitted < steps:
                futures.add(client.submit(noop, submitted, pure=False))
                submitted += 1
        return time.perf_counter() - started
    finally:
        comm.interval = interval


def round_trip(client, times: int = 50) -> float:
    """Median seconds of one no-op's submit -> result on the cluster, nothing else in flight."""
    laps = []
    for i in range(times):
        started = time.perf_counter()
        client.submit(noop, i, pure=False).result()
        laps.append(time.perf_counter() - started)
    return statistics.median(laps)


def actor_floors(client, steps: int, width: int = 8, times: int = 50) -> tuple[float, float]:
    """The latency floors of the runners: ``steps`` bare calls (a coroutine that returns at once, no
    attempt, no thread) on the same runners with ``width`` in flight, all from the client's event loop
    (no driver, no store); and the median of ``times`` lone calls from this thread (a call's round trip)."""
    import asyncio

    from core.execution.backends.dask_actors import Runners
    runners = Runners(client, False, lambda completion: None)
    runners.start()
    assert runners.serving(), runners.reason()
    placed = [(runner.address, runner.key) for runner in runners._serving.values()]
    try:
        async def window() -> float:
            gate = asyncio.Semaphore(width)

            async def one(i: int) -> None:
                async with gate:
                    await runners._execute(*placed[i % len(placed)], "ping")

            started = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(steps)))
            return time.perf_counter() - started

        elapsed = client.sync(window)
        laps = []
        for i in range(times):
            started = time.perf_counter()
            client.sync(runners._execute, *placed[i % len(placed)], "ping")
            laps.append(time.perf_counter() - started)
        return elapsed, statistics.median(laps)
    finally:
        runners.close()


def local_cluster(workers: int = 2):
    import logging

    import distributed
    cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=4, processes=True,
                                       dashboard_address=None, silence_logs=logging.ERROR)
    return cluster, distributed.Client(cluster, set_as_default=False)


def bare_pool(steps: int, workers: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(lambda: None) for _ in range(steps)]:
            future.result()
    return time.perf_counter() - started


def store_alone(root: Path, records: int) -> float:
    handle = RunStore(root).create({"pack": {}, "manifestPath": "", "planHash": "", "inputs": {},
                                    "failurePolicy": {}, "createdAt": ""}, "store-alone")
    record = {"type": "transition", "at": "2026-01-01T00:00:00.000000Z", "stepId": "n1", "from": "pending",
              "to": "running", "attempt": 1, "reason": None, "nextAttemptAt": None}
    started = time.perf_counter()
    for _ in range(records):
        handle.append(record)
    handle.sync()
    elapsed = time.perf_counter() - started
    handle.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--max-parallel", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", choices=("threads", "qt", "dask"), default="threads")
    args = parser.parse_args()
    cluster = client = app = None
    if args.backend == "qt":
        from PySide6.QtCore import QCoreApplication
        app = QCoreApplication.instance() or QCoreApplication([])
    elif args.backend == "dask":
        cluster, client = local_cluster()

    def once(manifest, root):
        if args.backend == "qt":
            return run_qt(app, manifest, root, args.max_parallel)
        if args.backend == "dask":
            return run_dask(client, manifest, root)
        return run_threads(manifest, root, args.max_parallel)

    with tempfile.TemporaryDirectory() as folder:
        manifest = Path(folder) / "pack.yaml"
        manifest.write_text(pack_text(args.steps, args.max_parallel))
        once(manifest, Path(folder) / "warm")
        runs = [once(manifest, Path(folder) / f"store{i}") for i in range(args.repeat)]
        elapsed = statistics.median(r[0] for r in runs)
        records = runs[0][1]
        if client is not None:
            floor = statistics.median(bare_client_map(client, args.steps) for _ in range(args.repeat))
            floor_label = "bare client.map of the same no-ops"
        else:
            floor = statistics.median(bare_pool(args.steps, args.max_parallel) for _ in range(args.repeat))
            floor_label = "bare ThreadPoolExecutor"
        appends = statistics.median(store_alone(Path(folder) / f"alone{i}", records) for i in range(args.repeat))
    if client is not None:
        client.close()
        cluster.close()
    rate = args.steps / elapsed
    print(f"execute ({args.backend}): {args.steps:,} no-op steps in a parallel block (maxParallel "
          f"{args.max_parallel}), every transition journalled ({records:,} records), median of {args.repeat}")
    print(f"  stella, {args.backend} backend:  {elapsed * 1000:8.1f} ms  {rate:8,.0f} steps/s")
    print(f"  floor, {floor_label}: {floor * 1000:6.1f} ms  {args.steps / floor:8,.0f} calls/s"
          f"  -> ratio {elapsed / floor:.1f}x, {(elapsed - floor) / args.steps * 1e6:.0f} us per step over it")
    print(f"  floor, the store alone appending {records:,} records: {appends * 1000:.1f} ms"
          f"  -> ratio {elapsed / appends:.1f}x")
    out = REPO / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / f"execute-{args.backend}.json").write_text(json.dumps({
        "backend": args.backend, "steps": args.steps, "records": records, "seconds": elapsed,
        "stepsPerSecond": rate, "floorSeconds": floor, "floor": floor_label, "storeAloneSeconds": appends},
        indent=2) + "\n")


if __name__ == "__main__":
    main()
