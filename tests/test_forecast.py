"""The forecast's rules, each on a small pack whose times are worked out by hand here."""

from __future__ import annotations

import gc

import pytest

from core.execution.clock import FakeClock
from core.execution.run import ActiveRun
from core.execution.store import RunStore
from core.forecast import AssumptionError, forecast
from core.forecast.assumptions import ForecastLimit
from core.manifest import load_pack, parse_pack
from core.simulation import preview_pack

from conftest import pack_text


def preview_of(spec: str, inputs: dict | None = None):
    return preview_pack(parse_pack(pack_text(spec)), inputs)


def times(result, step_id: str) -> list[tuple]:
    return [(a["attempt"], a["startSeconds"], a["endSeconds"], a["result"])
            for a in _step(result, step_id)["attempts"]]


def _step(result, step_id: str) -> dict:
    return next(step for step in result.to_json()["steps"] if step["id"] == step_id)


def status(result, step_id: str) -> str:
    return _step(result, step_id)["status"]


RETRIES = """
failure: {retries: {maxAttempts: 3, backoffSeconds: 10}}
steps:
  - {id: fetch, run: {uses: builtin:sleep, with: {seconds: 2}}}
  - {id: build, run: {uses: builtin:noop}}
  - {id: ship, run: {uses: builtin:sleep, with: {seconds: 1}}}
"""


def test_fail_n_retries_after_each_backoff_then_succeeds():
    result = forecast(preview_of(RETRIES), {"build": "fail:2"}, {"build": 5})
    # fetch 0-2; build fails 2-7, waits 10, fails 17-22, waits 10, succeeds 32-37; ship 37-38
    assert times(result, "fetch") == [(1, 0.0, 2.0, "succeeded")]
    assert times(result, "build") == [(1, 2.0, 7.0, "failed"), (2, 17.0, 22.0, "failed"),
                                      (3, 32.0, 37.0, "succeeded")]
    assert times(result, "ship") == [(1, 37.0, 38.0, "succeeded")]
    document = result.to_json()
    assert document["outcome"] == "succeeded" and document["durationSeconds"] == 38.0
    assert document["criticalPath"] == ["fetch", "build", "ship"]
    assert [_step(result, s)["durationSource"] for s in ("fetch", "build", "ship")] == ["sleep", "given", "sleep"]


def test_fail_uses_every_attempt_and_the_run_ends_there():
    result = forecast(preview_of(RETRIES), {"build": "fail"}, {"build": 5})
    assert times(result, "build") == [(1, 2.0, 7.0, "failed"), (2, 17.0, 22.0, "failed"),
                                      (3, 32.0, 37.0, "failed")]
    assert status(result, "build") == "failed" and status(result, "ship") == "not-reached"
    assert result.to_json()["outcome"] == "failed" and result.to_json()["durationSeconds"] == 37.0
    assert times(result, "ship") == []


QUEUE = """
steps:
  - id: fan
    parallel:
      maxParallel: 2
      steps:
        - {id: x, run: {uses: builtin:sleep, with: {seconds: 3}}}
        - {id: y, run: {uses: builtin:sleep, with: {seconds: 5}}}
        - {id: z, run: {uses: builtin:sleep, with: {seconds: 4}}}
        - {id: w, run: {uses: builtin:sleep, with: {seconds: 1}}}
  - {id: after, run: {uses: builtin:sleep, with: {seconds: 2}}}
"""


def test_max_parallel_queues_children_until_a_slot_frees():
    result = forecast(preview_of(QUEUE), {})
    # x and y start at 0; x ends at 3 and z takes its slot (3-7); y ends at 5 and w runs 5-6
    assert times(result, "x") == [(1, 0.0, 3.0, "succeeded")]
    assert times(result, "y") == [(1, 0.0, 5.0, "succeeded")]
    assert times(result, "z") == [(1, 3.0, 7.0, "succeeded")]
    assert times(result, "w") == [(1, 5.0, 6.0, "succeeded")]
    assert times(result, "fan") == [(1, 0.0, 7.0, "succeeded")]
    assert times(result, "after") == [(1, 7.0, 9.0, "succeeded")]
    assert result.to_json()["criticalPath"] == ["x", "z", "after"]


def test_a_retry_gives_its_slot_back_while_it_waits_for_its_backoff():
    spec = "failure: {retries: {maxAttempts: 2, backoffSeconds: 4}}\n" + QUEUE
    result = forecast(preview_of(spec), {"x": "fail:1"})
    # x fails at 3 and waits until 7; z takes the slot at 3 (3-7), w at 5 (5-6); x retries at 7 (7-10)
    assert times(result, "x") == [(1, 0.0, 3.0, "failed"), (2, 7.0, 10.0, "succeeded")]
    assert times(result, "z") == [(1, 3.0, 7.0, "succeeded")]
    assert times(result, "w") == [(1, 5.0, 6.0, "succeeded")]
    assert times(result, "after") == [(1, 10.0, 12.0, "succeeded")]
    assert result.to_json()["durationSeconds"] == 12.0


TOLERANT = """
steps:
  - id: checks
    parallel:
      continueOnError: {tolerant}
      steps:
        - {{id: lint, run: {{uses: builtin:sleep, with: {{seconds: 2}}}}}}
        - {{id: scan, run: {{uses: builtin:sleep, with: {{seconds: 6}}}}}}
  - id: pick
    parallel:
      maxParallel: 1
      steps:
        - {{id: first, run: {{uses: builtin:sleep, with: {{seconds: 1}}}}}}
        - {{id: second, run: {{uses: builtin:sleep, with: {{seconds: 1}}}}}}
  - {{id: report, run: {{uses: builtin:sleep, with: {{seconds: 3}}}}}}
"""


def test_continue_on_error_tolerates_a_failure_and_the_run_goes_on():
    result = forecast(preview_of(TOLERANT.format(tolerant="true")), {"lint": "fail"})
    assert status(result, "lint") == "tolerated" and status(result, "checks") == "succeeded"
    assert times(result, "lint") == [(1, 0.0, 2.0, "failed")]
    assert times(result, "scan") == [(1, 0.0, 6.0, "succeeded")]
    assert times(result, "first") == [(1, 6.0, 7.0, "succeeded")]
    assert times(result, "second") == [(1, 7.0, 8.0, "succeeded")]
    assert times(result, "report") == [(1, 8.0, 11.0, "succeeded")]
    assert result.to_json()["outcome"] == "succeeded" and result.to_json()["durationSeconds"] == 11.0
    assert result.to_json()["criticalPath"] == ["scan", "first", "second", "report"]


def test_without_continue_on_error_a_failure_stops_the_block_and_aborts_the_run():
    result = forecast(preview_of(TOLERANT.format(tolerant="false")), {"lint": "fail", "first": "fail"})
    # lint fails at 2 but scan is already running: the block fails when scan ends at 6
    assert status(result, "lint") == "failed" and status(result, "scan") == "succeeded"
    assert status(result, "checks") == "failed"
    assert times(result, "checks") == [(1, 0.0, 6.0, "failed")]
    for later in ("pick", "first", "second", "report"):
        assert status(result, later) == "not-reached"
    assert result.to_json()["outcome"] == "failed" and result.to_json()["durationSeconds"] == 6.0


def test_a_queued_child_is_not_reached_when_its_block_stops():
    spec = TOLERANT.format(tolerant="true")
    result = forecast(preview_of(spec), {"first": "fail"})
    assert times(result, "first") == [(1, 6.0, 7.0, "failed")]
    assert status(result, "first") == "failed" and status(result, "second") == "not-reached"
    assert status(result, "pick") == "failed" and status(result, "report") == "not-reached"
    assert result.to_json()["durationSeconds"] == 7.0


GATES = """
approvals:
  - {id: release, grants: [Packs.Approve], expiresAfter: PT1M}
steps:
  - {id: build, run: {uses: builtin:sleep, with: {seconds: 5}}}
  - id: sign-off
    gate: {approval: {id: release, message: ship it?}}
  - id: guard
    gate: {policy: {policy: no-friday-deploys}}
  - {id: deploy, run: {uses: builtin:sleep, with: {seconds: 2}}}
"""


def test_gates_pass_at_once_by_default_and_after_their_given_duration():
    result = forecast(preview_of(GATES), {})
    assert times(result, "sign-off") == [(1, 5.0, 5.0, "succeeded")]
    assert times(result, "deploy") == [(1, 5.0, 7.0, "succeeded")]
    assert _step(result, "sign-off")["durationSource"] == "none"
    slow = forecast(preview_of(GATES), {}, {"sign-off": 30, "guard": 3})
    assert times(slow, "sign-off") == [(1, 5.0, 35.0, "succeeded")]
    assert times(slow, "guard") == [(1, 35.0, 38.0, "succeeded")]
    assert times(slow, "deploy") == [(1, 38.0, 40.0, "succeeded")]
    assert slow.to_json()["criticalPath"] == ["build", "sign-off", "guard", "deploy"]


def test_reject_and_deny_fail_the_gate_and_the_run():
    rejected = forecast(preview_of(GATES), {"sign-off": "reject"}, {"sign-off": 10})
    assert times(rejected, "sign-off") == [(1, 5.0, 15.0, "failed")]
    assert status(rejected, "sign-off") == "failed" and status(rejected, "guard") == "not-reached"
    assert rejected.to_json()["outcome"] == "failed" and rejected.to_json()["durationSeconds"] == 15.0
    denied = forecast(preview_of(GATES), {"guard": "deny"})
    assert status(denied, "sign-off") == "succeeded" and status(denied, "guard") == "failed"
    assert status(denied, "deploy") == "not-reached" and denied.to_json()["durationSeconds"] == 5.0


def test_wait_leaves_the_run_waiting_at_the_gate():
    result = forecast(preview_of(GATES), {"guard": "wait"})
    document = result.to_json()
    assert document["outcome"] == "waiting" and document["durationSeconds"] == 5.0
    assert status(result, "guard") == "waiting" and times(result, "guard") == []
    assert status(result, "deploy") == "not-reached"
    assert document["criticalPath"] == ["build", "sign-off", "guard"]


def test_an_expiring_approval_nobody_decides_leaves_the_run_waiting():
    result = forecast(preview_of(GATES), {"sign-off": "wait"})
    assert result.to_json()["outcome"] == "waiting" and result.to_json()["durationSeconds"] == 5.0
    assert status(result, "sign-off") == "waiting"


def test_an_approval_decided_after_it_expires_fails_its_gate():
    result = forecast(preview_of(GATES), {}, {"sign-off": 90})  # expiresAfter PT1M: expired at 5 + 60
    assert times(result, "sign-off") == [(1, 5.0, 65.0, "failed")]
    assert result.to_json()["outcome"] == "failed"


def test_gates_sharing_an_approval_are_decided_together():
    spec = GATES.replace("  - id: guard\n    gate: {policy: {policy: no-friday-deploys}}",
                         "  - id: again\n    gate: {approval: {id: release}}")
    result = forecast(preview_of(spec), {"sign-off": "approve"}, {"sign-off": 4})
    assert times(result, "again") == [(1, 9.0, 9.0, "succeeded")]  # already approved at 9
    with pytest.raises(AssumptionError, match="share approval 'release'"):
        forecast(preview_of(spec), {"sign-off": "approve", "again": "reject"})


MAP = """
inputs:
  - {name: shards, type: array, default: [a, b, c]}
failure: {retries: {maxAttempts: 2, backoffSeconds: 1}}
steps:
  - id: shard
    map:
      items: "{{ inputs.shards }}"
      maxParallel: 3
      continueOnError: true
      step: {id: process, run: {uses: builtin:sleep, with: {seconds: 2}}}
"""


def test_a_template_id_applies_to_every_child_and_a_child_id_wins_over_it():
    result = forecast(preview_of(MAP), {"process": "fail", "shard[1]::process": "succeed"})
    assert times(result, "shard[0]::process") == [(1, 0.0, 2.0, "failed"), (2, 3.0, 5.0, "failed")]
    assert times(result, "shard[1]::process") == [(1, 0.0, 2.0, "succeeded")]
    assert status(result, "shard[2]::process") == "tolerated" and status(result, "shard") == "succeeded"
    assert result.to_json()["assumptions"] == {"process": "fail", "shard[1]::process": "succeed"}


WHEN = """
steps:
  - {id: probe, run: {uses: builtin:noop}}
  - id: fix
    when: "{{ steps.probe.outputs.broken }}"
    run: {uses: builtin:sleep, with: {seconds: 4}}
  - {id: done, run: {uses: builtin:sleep, with: {seconds: 1}}}
"""


def test_a_run_time_when_is_assumed_true_and_flagged_unless_assumed_skip():
    result = forecast(preview_of(WHEN), {})
    assert _step(result, "fix")["whenAssumed"] is True and _step(result, "probe")["whenAssumed"] is False
    assert times(result, "fix") == [(1, 0.0, 4.0, "succeeded")] and result.to_json()["durationSeconds"] == 5.0
    skipped = forecast(preview_of(WHEN), {"fix": "skip"})
    assert status(skipped, "fix") == "skipped" and _step(skipped, "fix")["whenAssumed"] is False
    assert skipped.to_json()["durationSeconds"] == 1.0


def test_skipping_a_block_skips_everything_inside_it():
    result = forecast(preview_of(QUEUE), {"fan": "skip"})
    assert [status(result, s) for s in ("fan", "x", "y", "z", "w")] == ["skipped"] * 5
    assert times(result, "after") == [(1, 0.0, 2.0, "succeeded")]


@pytest.mark.parametrize("spec, assume", [(WHEN, {}), (WHEN, {"fix": "skip"}), (QUEUE, {"fan": "skip"}),
                                           (QUEUE, {"x": "skip"}), (RETRIES, {"fetch": "fail:1"})])
def test_a_forecast_leaves_nothing_for_the_cyclic_collector(spec, assume):
    # a cycle (a recursive closure copying the assumed steps did) kept the copies and, through their
    # children, the plan's steps alive after the forecast: a 10k-step pack's plan waited for a collection
    # (what the collector finds is kept in gc.garbage and only our objects are looked at: in the full
    # suite, threads of earlier tests may leave cycles of their own at any moment)
    preview = preview_of(spec)
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        result = forecast(preview, assume)
        result.to_json()
        del result
        gc.collect()
        assert [type(o).__qualname__ for o in gc.garbage if type(o).__module__.startswith("core.")] == []
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if enabled:
            gc.enable()


@pytest.mark.parametrize("assume, message", [
    ({"nope": "fail"}, "unknown step 'nope'; steps: fetch, build, ship"),
    ({"build": "approve"}, "outcome 'approve' does not fit run step 'build'; choose one of: succeed, fail, "
                           "fail:N, skip"),
    ({"build": "fail:0"}, "N in fail:N must be at least 1"),
    ({"build": "fail:x"}, "choose one of: succeed, fail, fail:N, skip"),
])
def test_assumptions_that_do_not_fit_name_the_valid_choices(assume, message):
    with pytest.raises(AssumptionError) as error:
        forecast(preview_of(RETRIES), assume)
    assert message in str(error.value)


def test_outcomes_of_gates_and_blocks_are_checked_by_kind():
    with pytest.raises(AssumptionError, match="policy gate 'guard'; choose one of: allow, deny, wait, skip"):
        forecast(preview_of(GATES), {"guard": "approve"})
    with pytest.raises(AssumptionError, match="approval gate 'sign-off'; choose one of: approve, reject, wait"):
        forecast(preview_of(GATES), {"sign-off": "allow"})
    with pytest.raises(AssumptionError, match="parallel block 'fan'; choose one of: skip"):
        forecast(preview_of(QUEUE), {"fan": "fail"})
    with pytest.raises(AssumptionError, match="its time is its children's"):
        forecast(preview_of(QUEUE), {}, {"fan": 3})
    with pytest.raises(AssumptionError, match=">= 0"):
        forecast(preview_of(QUEUE), {}, {"x": -1})


def test_a_forecast_that_would_never_end_stops_with_a_clear_error():
    spec = RETRIES.replace("maxAttempts: 3", "maxAttempts: 100000000")
    with pytest.raises(ForecastLimit, match="assume fewer failures"):
        forecast(preview_of(spec), {"build": "fail"})
    with pytest.raises(ForecastLimit, match="year 9999"):
        forecast(preview_of(RETRIES), {}, {"build": 1e12})


# -- history -------------------------------------------------------------------------------


def _past_run(store, manifest, seconds: dict[str, float], fail: str | None = None) -> None:
    """A finished run of ``manifest`` whose steps took ``seconds`` (on a fake clock)."""
    clock = FakeClock()
    run = ActiveRun.create(store, manifest, clock=clock)
    scheduler = run.scheduler
    scheduler.start()
    while True:
        started = scheduler.advance()
        if not started:
            break
        for step in started:
            clock.advance(seconds.get(step.id, 0))
            if step.id == fail:
                scheduler.fail(step.id, "broken")
            else:
                scheduler.complete(step.id, {})
    run.close()


HISTORY = """
steps:
  - {id: compile, run: {uses: builtin:noop}}
  - {id: test, run: {uses: builtin:noop}}
  - {id: nap, run: {uses: builtin:sleep, with: {seconds: 1}}}
"""


def test_history_gives_the_median_of_succeeded_runs_of_the_same_pack(tmp_path, write_pack):
    manifest = write_pack(HISTORY)
    store = RunStore(tmp_path / "runs")
    for compile_seconds in (4, 10, 6):
        _past_run(store, manifest, {"compile": compile_seconds, "test": 3, "nap": 7})
    _past_run(store, manifest, {"compile": 100}, fail="test")  # failed: not counted
    other = tmp_path / "other.yaml"
    other.write_text(manifest.read_text().replace("name: demo", "name: another"))
    _past_run(store, other, {"compile": 50})  # another pack: not counted
    preview = preview_pack(load_pack(manifest))
    result = forecast(preview, {}, {"test": 2}, store=store.root)
    assert times(result, "compile") == [(1, 0.0, 6.0, "succeeded")]
    assert times(result, "test") == [(1, 6.0, 8.0, "succeeded")]  # given beats history
    assert times(result, "nap") == [(1, 8.0, 9.0, "succeeded")]   # sleep's seconds beat history
    assert [_step(result, s)["durationSource"] for s in ("compile", "test", "nap")] == ["history", "given", "sleep"]
    without = forecast(preview, {})
    assert _step(without, "compile")["durationSource"] == "none" and without.to_json()["durationSeconds"] == 1.0


def test_an_empty_or_missing_store_gives_no_history(tmp_path):
    result = forecast(preview_of(HISTORY), {}, store=tmp_path / "nothing-here")
    assert _step(result, "compile")["durationSource"] == "none"


def test_the_critical_path_follows_a_slot_freed_by_a_failed_attempt():
    spec = "failure: {retries: {maxAttempts: 2, backoffSeconds: 4}}\n" + QUEUE
    result = forecast(preview_of(spec), {"x": "fail:1", "y": "fail:1"}, {"y": 1, "after": 0})
    # x fails at 3 (retry at 7), y fails at 1 (retry at 5): z starts at 1 in y's slot (1-5), w at 3 (3-4);
    # y retries 5-6, x retries 7-10: x ends last
    assert times(result, "z") == [(1, 1.0, 5.0, "succeeded")]
    assert times(result, "w") == [(1, 3.0, 4.0, "succeeded")]
    assert result.to_json()["criticalPath"] == ["x", "after"]
    result = forecast(preview_of(spec), {"y": "fail:1"}, {"y": 1, "z": 20})
    # z takes y's slot at 1 and runs to 21: the path goes through y's failed attempt
    assert times(result, "z") == [(1, 1.0, 21.0, "succeeded")]
    assert result.to_json()["criticalPath"] == ["y", "z", "after"]


# -- actual against forecast ------------------------------------------------------------------


def test_explain_says_why_a_run_differs_from_its_forecast(tmp_path, write_pack):
    from core.forecast.compare import explain
    from forecast_helpers import execute_virtually

    manifest = write_pack("""
    failure: {retries: {maxAttempts: 3, backoffSeconds: 2}}
    steps:
      - {id: fetch, run: {uses: builtin:sleep, with: {seconds: 1}}}
      - {id: flaky, run: {uses: builtin:fail, with: {failTimes: 1}}}
      - id: fix
        when: "{{ steps.fetch.outputs.missing }}"
        run: {uses: builtin:noop}
      - {id: ship, run: {uses: builtin:sleep, with: {seconds: 0.5}}}
    """)
    predicted = forecast(preview_pack(load_pack(manifest)), {}, {"fetch": 5})
    run, _ = execute_virtually(manifest, RunStore(tmp_path / "runs"))
    reasons = explain(predicted, run.snapshot())
    run.close()
    assert reasons == {
        "fetch": "took 1 s; the forecast assumed 5 s (given)",
        "flaky": "succeeded on attempt 2; the forecast assumed 1",
        "fix": "skipped: `when` was false at run time (the forecast took it as true)",
    }
    as_run = forecast(preview_pack(load_pack(manifest)), {"flaky": "fail:1", "fix": "skip"})
    run, _ = execute_virtually(manifest, RunStore(tmp_path / "again"))
    assert explain(as_run, run.snapshot()) == {}
    run.close()


def test_a_run_that_fails_at_once_ends_at_zero_seconds_not_at_a_gate_decision_it_never_reached():
    """The property test found it (under some hash seeds): 0.0 s was read as 'no end recorded yet', so the
    forecast ran on to the decision of a gate the failure had cut off and said the run failed after 2 s."""
    from core.manifest import parse_pack
    from core.plan import build_plan
    from core.simulation import simulate
    text = ("apiVersion: stellaops.io/pack.v1\nkind: TaskPack\nmetadata: {name: p, version: 1.0.0}\nspec:\n"
            "  approvals: [{id: a-first, grants: [Packs.Approve]}]\n  steps:\n"
            "    - id: block\n      parallel:\n        steps:\n"
            "          - {id: first, gate: {approval: {id: a-first}}}\n"
            "          - {id: later, gate: {policy: {policy: p}}}\n"
            "    - {id: after, run: {uses: builtin:noop}}\n")
    result = forecast(simulate(build_plan(parse_pack(text), {})), {"first": "reject"}, {"later": 2})
    assert (result.outcome, result.duration) == ("failed", 0.0)
    assert {s.id: s.status for s in result.steps}["later"] == "not-reached"
