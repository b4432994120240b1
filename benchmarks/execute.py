"""How fast does a run go?  Steps per second with every transition persisted.

    QT_QPA_PLATFORM=offscreen python benchmarks/execute.py [--steps 1000] [--max-parallel 8] [--repeat 3]

A pack with one parallel block of ``--steps`` ``builtin:noop`` children
(``maxParallel`` 8) runs through the real runner: scheduler, QThreadPool
workers, and the run store journalling every transition (write + flush, fsync
every 100 ms).  Floors measured in the same run: a bare
``concurrent.futures.ThreadPoolExecutor`` with 8 threads running the same
number of no-op calls, and the store alone appending the same number of
records.  Target: >= 2,000 steps/s.
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

from PySide6.QtCore import QCoreApplication  # noqa: E402

from core.execution.executors import ExecutorRegistry  # noqa: E402
from core.execution.run import ActiveRun  # noqa: E402
from core.execution.store import RunStore  # noqa: E402
from stella_desktop.runner import Runner  # noqa: E402


def pack_text(steps: int, max_parallel: int) -> str:
    children = "\n".join(f"          - {{id: n{i}, run: {{uses: builtin:noop}}}}" for i in range(steps))
    return ("apiVersion: stellaops.io/pack.v1\nkind: TaskPack\nmetadata: {name: bench-exec, version: 1.0.0}\n"
            f"spec:\n  steps:\n    - id: fan\n      parallel:\n        maxParallel: {max_parallel}\n"
            f"        steps:\n{children}\n")


def run_once(app, manifest: Path, store_root: Path, workers: int) -> tuple[float, int]:
    active = ActiveRun.create(RunStore(store_root), manifest)
    runner = Runner(active, ExecutorRegistry.default(plugins=False), workers=workers)
    runner.finished.connect(lambda status: app.quit())
    started = time.perf_counter()
    runner.start()
    app.exec()
    elapsed = time.perf_counter() - started
    records = len(active.handle.records)
    assert active.scheduler.status == "succeeded", active.scheduler.status
    active.close()
    return elapsed, records


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
    args = parser.parse_args()
    app = QCoreApplication.instance() or QCoreApplication([])
    with tempfile.TemporaryDirectory() as folder:
        manifest = Path(folder) / "pack.yaml"
        manifest.write_text(pack_text(args.steps, args.max_parallel))
        run_once(app, manifest, Path(folder) / "warm", args.max_parallel)
        runs = [run_once(app, manifest, Path(folder) / f"store{i}", args.max_parallel) for i in range(args.repeat)]
        elapsed = statistics.median(r[0] for r in runs)
        records = runs[0][1]
        floor = statistics.median(bare_pool(args.steps, args.max_parallel) for _ in range(args.repeat))
        appends = statistics.median(store_alone(Path(folder) / f"alone{i}", records) for i in range(args.repeat))
    rate = args.steps / elapsed
    print(f"execute: {args.steps:,} no-op steps in a parallel block (maxParallel {args.max_parallel}), "
          f"every transition journalled ({records:,} records), median of {args.repeat}")
    print(f"  stella runner:                {elapsed * 1000:8.1f} ms  {rate:8,.0f} steps/s "
          f"(target >= 2,000) {'OK' if rate >= 2000 else 'UNDER TARGET'}")
    print(f"  floor, bare ThreadPoolExecutor: {floor * 1000:6.1f} ms  {args.steps / floor:8,.0f} calls/s"
          f"  -> ratio {elapsed / floor:.1f}x")
    print(f"  floor, the store alone appending {records:,} records: {appends * 1000:.1f} ms"
          f"  -> ratio {elapsed / appends:.1f}x")
    out = REPO / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "execute.json").write_text(json.dumps({
        "steps": args.steps, "records": records, "seconds": elapsed, "stepsPerSecond": rate,
        "threadPoolSeconds": floor, "storeAloneSeconds": appends}, indent=2) + "\n")


if __name__ == "__main__":
    main()
