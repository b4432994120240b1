"""The Qt runner: steps on a QThreadPool, decisions by the scheduler (pytest-qt, no sleeps)."""


from core.execution.executors import ExecutorRegistry
from core.execution.run import ActiveRun
from core.execution.store import RunStore
from stella_desktop.runner import Runner

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
  failure: {retries: {maxAttempts: 3, backoffSeconds: 0.05}}
"""


def make_run(tmp_path, text):
    manifest = tmp_path / "pack.yaml"
    manifest.write_text(text)
    return ActiveRun.create(RunStore(tmp_path / "store"), manifest)


def drive(qtbot, run, workers=4):
    runner = Runner(run, ExecutorRegistry.default(), workers=workers)
    with qtbot.waitSignal(runner.finished, timeout=20_000) as finished:
        runner.start()
    runner.wait_for_workers()
    return runner, finished.args[0]


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


def test_retries_then_tolerated_failure_and_cap_proven_from_events(qtbot, tmp_path):
    run = make_run(tmp_path, FLAKY.replace("CONTINUE", "true"))
    runner, status = drive(qtbot, run)
    assert status == "succeeded"
    states = run.scheduler.states
    assert states["flaky"].attempts == 3 and states["flaky"].status == "succeeded"
    assert states["c2"].status == "failed" and states["c2"].attempts == 3
    assert run.scheduler.outputs["last"] == {"v": 2}
    assert max_concurrent(run.handle.records, {"c1", "c2", "c3", "c4"}) == 2
    reopened = ActiveRun.open(RunStore(tmp_path / "store"), run.run_id, lock=False)
    assert {k: v.to_json() for k, v in reopened.scheduler.states.items()} == \
        {k: v.to_json() for k, v in states.items()}
    run.close()


def test_a_block_without_continue_on_error_fails_the_run(qtbot, tmp_path):
    run = make_run(tmp_path, FLAKY.replace("CONTINUE", "false"))
    _, status = drive(qtbot, run)
    assert status == "failed"
    assert run.scheduler.states["checks"].status == "failed"
    assert run.scheduler.states["last"].reason == "run aborted"
    run.close()


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


def test_the_runner_pauses_at_a_gate_and_continues_when_approved(qtbot, tmp_path):
    run = make_run(tmp_path, GATED.replace("SECONDS", "0"))
    runner, status = drive(qtbot, run)
    assert status == "waiting"
    with qtbot.waitSignal(runner.finished, timeout=10_000) as finished:
        runner.approve("ok", "ann", "fine")
    assert finished.args[0] == "succeeded"
    assert run.scheduler.approvals["ok"]["decidedBy"] == "ann"
    run.close()


def test_cancel_stops_a_running_step_without_using_its_attempt(qtbot, tmp_path):
    run = make_run(tmp_path, GATED.replace("SECONDS", "60"))
    runner = Runner(run, ExecutorRegistry.default())
    with qtbot.waitSignal(runner.finished, timeout=20_000) as finished:
        runner.start()
        qtbot.waitUntil(lambda: run.scheduler.status == "waiting" or bool(run.scheduler.waiting), timeout=5000)
    assert finished.args[0] == "waiting"
    with qtbot.waitSignal(runner.finished, timeout=20_000) as finished:
        runner.approve("ok", "ann")
        qtbot.waitUntil(lambda: run.scheduler.states["b"].status == "running", timeout=5000)
        runner.cancel()
    assert finished.args[0] == "cancelled"
    state = run.scheduler.states["b"]
    assert (state.status, state.attempts, state.reason) == ("pending", 0, "interrupted: run cancelled")
    run.close()
