"""Peer: 1,000 no-op tasks fanned out by Prefect, locally, 8 threads, default persistence.

Prints {"seconds": ...} for the flow run itself (imports excluded).
"""

import json
import time

from prefect import flow, task
from prefect.task_runners import ThreadPoolTaskRunner


@task
def noop(value):
    return value


@flow(task_runner=ThreadPoolTaskRunner(max_workers=8), log_prints=False)
def fanout():
    return len([future.result() for future in noop.map(range(1000))])


if __name__ == "__main__":
    started = time.perf_counter()
    assert fanout() == 1000
    print(json.dumps({"seconds": time.perf_counter() - started}))
