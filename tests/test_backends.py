"""Execution semantics on every backend (threads, qt, dask): the backend never changes what a run does.

Retries and their windows, maxParallel caps, continueOnError, gates, cancel,
crash and resume, drift refusal, secrets and workspace files: each test runs
once per backend through the ``harness`` fixture and must pass identically.
"""

from datetime import datetime

import pytest

from core.execution.clock import FakeClock
from core.execution.executors import ExecutorRegistry
from core.execution.run import ActiveRun, PlanDrift, load_snapshot
from core.execution.store import RunStore

from conftest import RESOURCES_PACKS

FLAKY = """
apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {name: flaky, version: 1.0.0}
spec:
  approvals: [{id: ok}]
  steps:
    - {id: flaky, run: {uses: builtin:fail, with: {failTimes: 2, message: transient}}}
    - id: checks
      parallel:
        maxParallel: 2
        continueOnError: CONTINUE
        steps:
          - {id: c1, run: {uses: builtin:sleep, with: {seconds: 0.05}}}
          - {id: c2, run: {uses: builtin:fail, with: {failTimes: 9}}}
          - {id: c3, run: {uses: builtin:sleep, with: {seconds: 0.05}}}
          - {id: c4, run: {uses: builtin:sleep, with: {seconds: 0.05}}}
    - {id: last, run: {uses: builtin:echo, with: {v: "{{ steps.flaky.outputs.failedAttempts }}"}}}
  failure: {retries: {maxAttempts: 3, backoffSeconds: BACKOFF}}
"""

GATED = """
apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {name: gated, version: 1.0.0}
spec:
  approvals: [{id: ok}]
  steps:
    - {id: a, run: {uses: builtin:noop}}
    - {id: gate, gate: {approval: {id: ok}}}
    - {id: b, run: {uses: builtin:sleep, with: {seconds: SECONDS}}}
"""

SLEEPY = """
apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {name: sleepy, version: 1.0.0}
spec:
  steps:
    - {id: first, run: {uses: builtin:echo, with: {n: 1}}}
    - id: fan
      map:
        items: [1, 2, 3, 4]
        maxParallel: 2
        step: {id: nap, run: {uses: builtin:sleep, with: {seconds: SECONDS}}}
    - {id: last, run: {uses: builtin:echo, with: {n: 2}}}
"""


def make_run(tmp_path, text, *, clock=None, environ=None, registry=None):
    manifest = tmp_path / "pack.yaml"
    manifest.write_text(text)
    return ActiveRun.create(RunStore(tmp_path / "store"), manifest, clock=clock, environ=environ,
                            registry=registry)


def transitions(run, step_id=None):
    return [r for r in run.handle.records if r["type"] == "transition" and step_id in (None, r["stepId"])]


def max_concurrent(records, children):
    running, peak = set(), 0
    for record in records:
        if record["type"] == "transition" and record["stepId"] in children:
            if record["to"] == "running":
                running.add(record["stepId"])
            else:
                running.discard(record["stepId"])
            peak = max(peak, len(running))
    return peak


def running_anywhere(snapshot) -> list[str]:
    found = []

    def visit(steps):
        for step in steps:
            if step["status"] == "running":
                found.append(step["stepId"])
            visit(step["children"])

    visit(snapshot["steps"])
    return found


def assert_retry_windows_kept(run):
    for step_id in run.scheduler.states:
        events = transitions(run, step_id)
        for index, event in enumerate(events):
            if event["to"] == "pending" and event["nextAttemptAt"]:
                restart = next(e for e in events[index + 1:] if e["to"] == "running")
                assert restart["at"] >= event["nextAttemptAt"], f"{step_id} restarted before its window"


def test_retries_then_tolerated_failure_and_the_cap_proven_from_events(harness, tmp_path):
    run = make_run(tmp_path, FLAKY.replace("CONTINUE", "true").replace("BACKOFF", "0.05"))
    harness.attach(run, ExecutorRegistry.default())
    assert harness.drive() == "succeeded"
    states = run.scheduler.states
    assert (states["flaky"].status, states["flaky"].attempts) == ("succeeded", 3)
    assert (states["c2"].status, states["c2"].attempts) == ("failed", 3)
    assert run.scheduler.outputs["last"] == {"v": 2}
    assert max_concurrent(run.handle.records, {"c1", "c2", "c3", "c4"}) == 2
    assert_retry_windows_kept(run)
    reopened = ActiveRun.open(RunStore(tmp_path / "store"), run.run_id, lock=False)
    assert {k: v.to_json() for k, v in reopened.scheduler.states.items()} == \
        {k: v.to_json() for k, v in states.items()}
    run.close()


def test_retry_windows_are_waited_on_the_drivers_clock(harness, tmp_path):
    clock = FakeClock(datetime.fromisoformat("2026-01-01T00:00:00+00:00"))
    run = make_run(tmp_path, FLAKY.replace("CONTINUE", "true").replace("BACKOFF", "3600"), clock=clock)
    harness.attach(run, ExecutorRegistry.default())
    assert harness.drive() == "succeeded"  # two hours of backoff, not one real second of it
    pending = [e for e in transitions(run, "flaky") if e["to"] == "pending"]
    restarts = [e for e in transitions(run, "flaky") if e["to"] == "running"][1:]
    assert [e["at"] for e in restarts] == [e["nextAttemptAt"] for e in pending]
    assert restarts[-1]["at"] == "2026-01-01T02:00:00.000000Z"
    run.close()


def test_a_block_without_continue_on_error_fails_the_run(harness, tmp_path):
    run = make_run(tmp_path, FLAKY.replace("CONTINUE", "false").replace("BACKOFF", "0.05"))
    harness.attach(run, ExecutorRegistry.default())
    assert harness.drive() == "failed"
    assert run.scheduler.states["checks"].status == "failed"
    assert run.scheduler.states["last"].reason == "run aborted"
    run.close()


def test_the_run_pauses_at_a_gate_and_continues_when_approved(harness, tmp_path):
    run = make_run(tmp_path, GATED.replace("SECONDS", "0"))
    harness.attach(run, ExecutorRegistry.default())
    assert harness.drive() == "waiting"
    assert harness.then(lambda c: c.approve("ok", "ann", "fine")) == "succeeded"
    assert run.scheduler.approvals["ok"]["decidedBy"] == "ann"
    run.close()


def test_gates_and_workspace_files_of_the_release_sample(harness, tmp_path):
    store = RunStore(tmp_path / "store")
    run = ActiveRun.create(store, RESOURCES_PACKS / "release-approval.yaml")
    harness.attach(run, ExecutorRegistry.default())
    assert harness.drive() == "waiting"
    assert harness.then(lambda c: c.approve("release-signoff", "ann")) == "waiting"  # now the policy gate
    assert harness.then(lambda c: c.decide_policy("guard", True, "bob")) == "succeeded"
    assert (run.handle.workspace / "releases" / "2.4.0.txt").read_text() == "app-2.4.0.tar.gz"
    run.close()


def test_cancel_interrupts_running_steps_and_leaves_nothing_running_even_after_resume(harness, tmp_path):
    run = make_run(tmp_path, SLEEPY.replace("SECONDS", "60"))
    registry = ExecutorRegistry.default()
    harness.attach(run, registry)
    harness.when(lambda r: r.get("stepId") == "fan[1]::nap" and r.get("to") == "running",
                 lambda c: c.cancel())
    assert harness.drive() == "cancelled"
    for step_id in ("fan[0]::nap", "fan[1]::nap"):
        state = run.scheduler.states[step_id]
        assert (state.status, state.attempts, state.reason) == ("pending", 0, "interrupted: run cancelled")
    assert running_anywhere(run.snapshot()) == []
    run.close()
    store = RunStore(tmp_path / "store")
    assert running_anywhere(load_snapshot(store, run.run_id)) == []  # what `runs show` prints
    resumed = ActiveRun.open(store, run.run_id)
    harness.attach(resumed, registry)
    harness.when(lambda r: r.get("stepId") == "fan[1]::nap" and r.get("to") == "running",
                 lambda c: c.cancel())
    assert harness.drive() == "cancelled"  # a resumed run, cancelled again
    assert running_anywhere(resumed.snapshot()) == []
    assert resumed.scheduler.states["fan"].reason == "interrupted: run cancelled"
    resumed.close()
    assert running_anywhere(load_snapshot(store, run.run_id)) == []


def test_a_crashed_run_resumes_and_nothing_finished_runs_again(harness, tmp_path):
    run = make_run(tmp_path, SLEEPY.replace("SECONDS", "0.05"))
    scheduler = run.scheduler
    scheduler.start()
    scheduler.advance()
    scheduler.complete("first", {"n": 1})
    assert [s.id for s in scheduler.advance()] == ["fan[0]::nap", "fan[1]::nap"]
    run.handle.close()  # the process dies with two steps running: no snapshot, the lock released
    resumed = ActiveRun.open(RunStore(tmp_path / "store"), run.run_id)
    harness.attach(resumed, ExecutorRegistry.default())
    assert harness.drive() == "succeeded"
    events = transitions(resumed)
    succeeded = [e["stepId"] for e in events if e["to"] == "succeeded"]
    assert len(succeeded) == len(set(succeeded))
    assert [e for e in events if e["stepId"] == "first" and e["to"] == "running"][1:] == []
    interrupted = [e for e in events if e["reason"] == "interrupted"]
    assert {e["stepId"] for e in interrupted} == {"fan[0]::nap", "fan[1]::nap"}
    assert all(e["attempt"] == 0 for e in interrupted)
    resumed.close()


def test_resume_is_refused_when_the_manifest_changed(harness, tmp_path):
    run = make_run(tmp_path, GATED.replace("SECONDS", "0"))
    harness.attach(run, ExecutorRegistry.default())
    assert harness.drive() == "waiting"
    run.close()
    manifest = tmp_path / "pack.yaml"
    manifest.write_text(manifest.read_text().replace("seconds: 0", "seconds: 1"))
    with pytest.raises(PlanDrift, match="the plan changed since it was created"):
        ActiveRun.open(RunStore(tmp_path / "store"), run.run_id)


SECRET = "s3cr3t-value"


def test_secrets_reach_the_step_and_never_the_store(harness, tmp_path):
    run = make_run(tmp_path, """
apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {name: secretive, version: 1.0.0}
spec:
  secrets: [{name: token}]
  steps:
    - {id: use, run: {uses: builtin:echo, with: {header: "Bearer {{ secrets.token }}", plain: x}}}
    - {id: after, run: {uses: builtin:echo, with: {n: 1}}}
""", environ={"STELLA_SECRET_token": SECRET})
    harness.attach(run, ExecutorRegistry.default())
    assert harness.drive() == "succeeded"
    assert run.scheduler.outputs["use"] == {"header": "Bearer ***", "plain": "x"}
    run.close()
    for path in (tmp_path / "store").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
