"""A step's outputs are what its journal record holds: outputs JSON cannot hold as they are fail the step.

Before: a plug-in executor returning a date, a tuple or a NaN succeeded, and the steps after it read the
date, the tuple or the NaN in memory while the journal held text, a list or ``null`` (a resume read those);
one returning a path or a set made the journal write raise: the driver thread stopped, the run stayed
``running`` and ``drive()`` never returned."""

import datetime
import pathlib
import pytest

from backend_harness import drive_in_thread
from core.execution.executors import ExecutorRegistry
from core.execution.run import ActiveRun
from core.execution.store import RunStore

PACK = """apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {name: outputs, version: 1.0.0}
spec:
  steps:
    - {id: made, run: {uses: 'test:outputs'}}
    - {id: read, run: {uses: builtin:echo, with: {got: '{{ steps.made.outputs.v }}'}}}
"""


def drive(tmp_path, qtbot, outputs):
    registry = ExecutorRegistry.default(plugins=False)
    registry.executors["test:outputs"] = lambda context: outputs
    (tmp_path / "pack.yaml").write_text(PACK)
    store = RunStore(tmp_path / "store")
    run = ActiveRun.create(store, tmp_path / "pack.yaml", registry=registry)
    status = drive_in_thread(run, registry, qtbot)
    run.close()
    return status, run, ActiveRun.open(store, run.run_id, registry=registry, lock=False)


@pytest.mark.parametrize("outputs, where", [
    ({"v": datetime.datetime(2026, 1, 2, 3, 4, 5)}, "a datetime at /v"),
    ({"v": (1, 2)}, "a tuple at /v"),
    ({"v": {"inner": [1, float("nan")]}}, "nan at /v/inner/1"),
    ({"v": float("inf")}, "inf at /v"),
    ({"v": pathlib.Path("/tmp")}, "a PosixPath at /v"),
    ({"v": {1, 2}}, "a set at /v"),
    ({"v": {1: "a"}}, "the key 1 (int) at /v"),
])
def test_outputs_json_would_change_or_refuse_fail_the_step(tmp_path, qtbot, outputs, where):
    status, run, reopened = drive(tmp_path, qtbot, outputs)
    assert status == "failed"
    assert run.scheduler.states["made"].reason == f"failed: its outputs are not JSON: {where}"
    assert "made" not in run.scheduler.outputs and "made" not in reopened.scheduler.outputs


def test_plain_json_outputs_are_the_same_in_memory_and_after_a_resume(tmp_path, qtbot):
    outputs = {"v": {"big": 2 ** 70, "list": [1, 2.5, None, True, "é"], "nested": {"a": []}}}
    status, run, reopened = drive(tmp_path, qtbot, outputs)
    assert status == "succeeded"
    assert run.scheduler.outputs == reopened.scheduler.outputs
    assert reopened.scheduler.outputs["read"] == {"got": outputs["v"]}
