"""Peer: 1,000 no-op steps fanned out by Dagster, run locally with execute_in_process.

Prints {"seconds": ...} for the run itself (imports and job definition excluded), as
stella's execute figure times its run.  execute_in_process runs ops in process, one at a
time; the 8-op cap of the other runs is therefore met trivially.
"""

import json
import time

from dagster import DynamicOut, DynamicOutput, job, op


@op(out=DynamicOut())
def fan_out():
    for index in range(1000):
        yield DynamicOutput(index, mapping_key=str(index))


@op
def noop(value):
    return value


@op
def join(values):
    return len(values)


@job(tags={"dagster/max_concurrent_runs": "1"})
def fanout():
    join(fan_out().map(noop).collect())


if __name__ == "__main__":
    started = time.perf_counter()
    result = fanout.execute_in_process()
    assert result.success
    print(json.dumps({"seconds": time.perf_counter() - started}))
