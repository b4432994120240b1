"""How the dask backend hears back: on Dask's task path (``actors=False``, and the fallback when no runner
serves) an event per completion, the task's future when the event says nothing; on the runners the call's
answer itself."""

import math

import pytest

distributed = pytest.importorskip("distributed")

from core.execution.attempt import Completion  # noqa: E402
from core.execution.backends.dask import SEND_INTERVAL, DaskBackend, announcement  # noqa: E402
from core.execution.driver import Driver  # noqa: E402
from core.execution.executors import ExecutorRegistry  # noqa: E402
from core.execution.run import ActiveRun  # noqa: E402
from core.execution.store import RunStore  # noqa: E402

PACK = """
apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {name: echoes, version: 1.0.0}
spec:
  steps:
    - id: fan
      parallel:
        maxParallel: 3
        steps:
""" + "".join(f"          - {{id: e{i}, run: {{uses: builtin:echo, with: {{n: {i}, tags: [a, b], nested: {{k: 'v{i}'}}}}}}}}\n"
              for i in range(12)) + """    - {id: broken, run: {uses: builtin:fail, with: {message: no}}}
"""


@pytest.mark.parametrize("outputs", [{"t": (1, 2)}, {"x": math.nan}, {1: "int key"}, {"o": object()}])
def test_what_json_would_change_is_not_announced(outputs):
    assert announcement("k", Completion("s", 1, outputs)) is None


def test_plain_completions_are_announced_as_they_are():
    text = announcement("k", Completion("s", 2, {"a": [1, {"b": None}], "c": 1.5, "d": True}, None, None))
    assert text == '["k", "s", 2, {"a": [1, {"b": null}], "c": 1.5, "d": true}, null, null]'
    assert announcement("k", Completion("s", 1, error="boom: it failed")) is not None


class Counting(DaskBackend):
    """Counts completions heard on the topic; deaf=True ignores them, so every one comes from its future."""

    deaf = False

    def _on_event(self, event) -> None:
        self.heard = getattr(self, "heard", 0) + 1
        if not self.deaf:
            before = len(self._pending)
            super()._on_event(event)
            self.accepted = getattr(self, "accepted", 0) + (len(self._pending) < before)


def run_on(client, tmp_path, deaf: bool, actors: bool = False):
    tmp_path.mkdir()
    (tmp_path / "pack.yaml").write_text(PACK)
    registry = ExecutorRegistry.default(plugins=False)
    run = ActiveRun.create(RunStore(tmp_path / "store"), tmp_path / "pack.yaml", registry=registry)
    interval = client.scheduler_comm.interval
    backend = Counting(client, actors=actors)
    assert backend.transport == ("actors" if actors else "tasks")
    backend.deaf = deaf
    assert client.scheduler_comm.interval == min(interval, SEND_INTERVAL)  # paced for latency while bound
    status = Driver(run, backend, registry).drive()
    backend.shutdown()
    assert client.scheduler_comm.interval == interval  # the caller's client as it was
    outputs, states = dict(run.scheduler.outputs), {k: v.status for k, v in run.scheduler.states.items()}
    run.close()
    return status, outputs, states, getattr(backend, "heard", 0), getattr(backend, "accepted", 0)


def test_the_topic_and_the_futures_give_the_same_run(dask_client, tmp_path):
    heard = run_on(dask_client, tmp_path / "topic", deaf=False)
    futures = run_on(dask_client, tmp_path / "futures", deaf=True)
    assert heard[0] == futures[0] == "failed"  # 'broken' fails for good
    assert heard[1:3] == futures[1:3]
    assert heard[1]["e3"] == {"n": 3, "tags": ["a", "b"], "nested": {"k": "v3"}}
    assert heard[3] >= 13 and futures[3] >= 13  # every attempt announced; the deaf one read its futures
    assert heard[4] >= 1 and futures[4] == 0  # sealed announcements are taken (a forged one is not)


def test_the_runners_give_the_same_run_as_the_task_path_without_the_topic(dask_client, tmp_path):
    called = run_on(dask_client, tmp_path / "runners", deaf=False, actors=True)
    futures = run_on(dask_client, tmp_path / "futures", deaf=True)
    assert called[:3] == futures[:3]
    assert called[0] == "failed" and called[1]["e3"] == {"n": 3, "tags": ["a", "b"], "nested": {"k": "v3"}}
    assert called[3] == 0  # nothing announced: each completion was the answer of its call
