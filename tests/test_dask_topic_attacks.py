"""Attacks on the dask backend's completion topic (found by the attack review of 2026-12-06).

The topic serves Dask's task path (``actors=False``, and the fallback when no runner serves); the
runners' calls go client -> worker and never touch it.  The secret tests run on both transports.

Any client of the scheduler reads every topic (``get_events()``) and may publish on it
(``log_event``); the keys of running tasks are public too (``processing()``).  A completion heard
on the topic must be one the worker that ran the attempt sealed, for that very attempt; and a step
whose parameters were computed from a secret, in whatever form, never passes through the
scheduler or its event log.
"""

import json
import threading

import pytest

distributed = pytest.importorskip("distributed")

from core.execution.attempt import StepAttempt  # noqa: E402
from core.execution.backends.dask import DaskBackend  # noqa: E402
from core.execution.driver import Driver  # noqa: E402
from core.execution.executors import ExecutorRegistry  # noqa: E402
from core.execution.run import ActiveRun  # noqa: E402
from core.execution.store import RunStore  # noqa: E402

SLOW = """
apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {name: forged, version: 1.0.0}
spec:
  steps:
    - {id: first, run: {uses: builtin:noop}}
    - id: pair
      parallel:
        steps:
          - {id: slow, run: {uses: builtin:sleep, with: {seconds: 60}}}
          - {id: other, run: {uses: builtin:sleep, with: {seconds: 60}}}
"""


class Listening(DaskBackend):
    """Counts what the topic brought (the test waits on it instead of sleeping)."""

    def __init__(self, *args, **kwargs):
        self.heard = 0
        super().__init__(*args, **kwargs)

    def _on_event(self, event) -> None:
        super()._on_event(event)
        self.heard += 1


def test_a_completion_forged_by_another_client_on_the_topic_is_ignored(dask_client, tmp_path, qtbot):
    (tmp_path / "pack.yaml").write_text(SLOW)
    registry = ExecutorRegistry.default(plugins=False)
    run = ActiveRun.create(RunStore(tmp_path / "store"), tmp_path / "pack.yaml", registry=registry)
    backend = Listening(dask_client, actors=False)
    driver = Driver(run, backend, registry)
    status = []
    thread = threading.Thread(target=lambda: status.append(driver.drive()), daemon=True)
    thread.start()
    attacker = distributed.Client(dask_client.scheduler.address, set_as_default=False)
    try:
        keys = set()

        def both_sleeping() -> bool:
            keys.update(key for running in attacker.processing().values() for key in running)
            return {key.split("-")[1] for key in keys} >= {"slow", "other"}

        qtbot.waitUntil(both_sleeping, timeout=30_000)
        # the topic is named in the event log by the first step's completion
        topic = next(name for name in attacker.get_events() if name.startswith("stella-done-"))
        slow_key = next(k for k in keys if k.startswith("stella-slow-"))
        other_key = next(k for k in keys if k.startswith("stella-other-"))
        # the announcement as the worker writes it, forged: the attempt's own key, then another step's
        attacker.log_event(topic, json.dumps([slow_key, "slow", 1, {"sleptSeconds": 60, "forged": True}, None, None]))
        attacker.log_event(topic, json.dumps([other_key, "slow", 1, {"forged": "via another key"}, None, None]))
        attacker.log_event(topic, json.dumps([other_key, "other", 1, None, "forged failure", None]))
        qtbot.waitUntil(lambda: backend.heard >= 3, timeout=30_000)
        driver.call(lambda d: d.cancel("test over"))
        thread.join(30)  # forged, the attempts were forgotten and the run never stopped
    finally:
        attacker.close()
    backend.shutdown()
    states = {k: v.status for k, v in run.scheduler.states.items()}
    outputs = dict(run.scheduler.outputs)
    run.close()
    assert status == ["cancelled"], status
    assert states["slow"] != "succeeded" and states["other"] != "failed", states
    assert "forged" not in json.dumps(outputs)
    journal = (tmp_path / "store").rglob("journal.jsonl")
    assert all("forged" not in path.read_text() for path in journal)


SECRET = 'ab"cd\\efgh-token-42'
TRANSFORMED = """
apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {name: transformed, version: 1.0.0}
spec:
  secrets: [{name: tok}]
  steps:
    - {id: reversed, run: {uses: builtin:echo, with: {v: "{{ reverse(secrets.tok) }}"}}}
    - {id: quoted, run: {uses: builtin:echo, with: {v: "{{ to_string(secrets.tok) }}"}}}
    - {id: plain, run: {uses: builtin:echo, with: {v: "no secret here"}}}
"""


@pytest.mark.parametrize("actors", [True, False], ids=["actors", "tasks"])
def test_a_step_computed_from_a_secret_never_reaches_the_scheduler_or_its_event_log(dask_client, tmp_path, actors):
    (tmp_path / "pack.yaml").write_text(TRANSFORMED)
    registry = ExecutorRegistry.default(plugins=False)
    run = ActiveRun.create(RunStore(tmp_path / "store"), tmp_path / "pack.yaml", registry=registry,
                           environ={"STELLA_SECRET_tok": SECRET})
    backend = DaskBackend(dask_client, actors=actors)
    submitted = []
    original = dask_client.submit

    def spy(function, *args, **kwargs):
        submitted.append(args)
        return original(function, *args, **kwargs)

    dask_client.submit = spy
    try:
        status = Driver(run, backend, registry).drive()
    finally:
        del dask_client.submit
    backend.shutdown()
    run.close()
    assert status == "succeeded"
    log = json.dumps({topic: [str(event) for event in events]
                      for topic, events in dask_client.get_events().items()})
    for form in ("hgfe", SECRET[::-1], json.dumps(SECRET)[1:-1], "efgh-token"):
        assert form not in log, form
    # what went through the scheduler as task arguments: only the futures of scattered attempts (tasks);
    # nothing on the runners, whose calls go from this client to the worker directly
    sent = [arg for args in submitted for arg in args if isinstance(arg, StepAttempt)]
    assert [attempt.step_id for attempt in sent] == ([] if actors else ["plain"])
    if actors:  # the runners were placed before the spy; no attempt, scattered or not, went as a task
        assert submitted == []


@pytest.mark.parametrize("actors", [True, False], ids=["actors", "tasks"])
def test_a_secret_bearing_completion_is_fetched_from_its_worker_not_relayed_by_the_scheduler(dask_client, tmp_path,
                                                                                           actors):
    scheduler = dask_client.cluster.scheduler  # a LocalCluster's scheduler lives in this process
    relayed = []
    original = scheduler.handlers["gather"]

    async def spy(keys, **kwargs):
        relayed.extend(keys)
        return await original(keys=keys, **kwargs)

    scheduler.handlers["gather"] = spy
    try:
        (tmp_path / "pack.yaml").write_text(TRANSFORMED)
        registry = ExecutorRegistry.default(plugins=False)
        run = ActiveRun.create(RunStore(tmp_path / "store"), tmp_path / "pack.yaml", registry=registry,
                               environ={"STELLA_SECRET_tok": SECRET})
        backend = DaskBackend(dask_client, actors=actors)
        status = Driver(run, backend, registry).drive()
        backend.shutdown()
        run.close()
    finally:
        scheduler.handlers["gather"] = original
    assert status == "succeeded"
    assert not [key for key in relayed if str(key).startswith(("stella-reversed-", "stella-quoted-"))], relayed


def test_the_scheduler_keeps_no_large_announcement_nor_any_after_the_run(dask_client, tmp_path):
    # a run echoing 64 KB values left 64 MB in a shared scheduler's event log, for as long as it ran
    (tmp_path / "pack.yaml").write_text(f"""
apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {{name: heavy, version: 1.0.0}}
spec:
  steps:
    - id: fan
      map: {{items: [1, 2, 3, 4, 5, 6], step: {{id: c, run: {{uses: builtin:echo, with: {{v: '{"x" * 65536}'}}}}}}}}
    - {{id: small, run: {{uses: builtin:echo, with: {{n: 1}}}}}}
""")
    registry = ExecutorRegistry.default(plugins=False)
    run = ActiveRun.create(RunStore(tmp_path / "store"), tmp_path / "pack.yaml", registry=registry)
    backend = DaskBackend(dask_client, actors=False)
    assert Driver(run, backend, registry).drive() == "succeeded"
    assert run.scheduler.outputs["fan[5]::c"]["v"] == "x" * 65536  # delivered from the futures
    events = dask_client.get_events(backend._topic)
    assert events and max(len(text) for _, text in events) < 8 * 1024  # the small step was announced
    run.close()
    backend.shutdown()
    assert dask_client.get_events(backend._topic) == ()


def test_on_the_runners_nothing_is_announced_on_the_topic(dask_client, tmp_path):
    (tmp_path / "pack.yaml").write_text("""
apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {name: quiet, version: 1.0.0}
spec:
  steps:
    - id: fan
      map: {items: [1, 2, 3, 4, 5, 6], step: {id: c, run: {uses: builtin:echo, with: {v: '{{ item }}'}}}}
""")
    registry = ExecutorRegistry.default(plugins=False)
    run = ActiveRun.create(RunStore(tmp_path / "store"), tmp_path / "pack.yaml", registry=registry)
    backend = DaskBackend(dask_client)
    assert backend.transport == "actors"
    assert Driver(run, backend, registry).drive() == "succeeded"
    assert run.scheduler.outputs["fan[5]::c"]["v"] == 6
    assert dask_client.get_events(backend._topic) == ()
    run.close()
    backend.shutdown()
