"""The scheduler decides; these tests drive it with a fake clock and never sleep."""

from datetime import timedelta

import pytest

from core.execution.clock import FakeClock
from core.execution.scheduler import DecisionError
from core.execution.state import IllegalTransition, StepState, Transition
from execution_helpers import drive, ids, scheduler_for, statuses

FAN = """
steps:
  - {id: first, run: {uses: x}}
  - id: fan
    parallel:
      maxParallel: 2
      continueOnError: CONTINUE
      steps:
        - {id: a, run: {uses: x}}
        - {id: b, run: {uses: x}}
        - {id: c, run: {uses: x}}
        - {id: d, run: {uses: x}}
  - {id: last, run: {uses: x}}
failure: {retries: {maxAttempts: 2, backoffSeconds: 10}}
"""


def fan(continue_on_error=False, **kwargs):
    return scheduler_for(FAN.replace("CONTINUE", str(continue_on_error).lower()), **kwargs)


def test_top_level_steps_run_one_after_another():
    scheduler = fan()
    scheduler.start()
    assert ids(scheduler.advance()) == ["first"]
    assert scheduler.advance() == []  # nothing else until first finishes
    scheduler.complete("first")
    assert ids(scheduler.advance()) == ["a", "b"]  # the block started, capped at 2
    assert scheduler.states["fan"].status == "running"


def test_parallel_cap_is_never_exceeded_and_next_child_starts_when_one_ends():
    scheduler = fan()
    scheduler.start()
    scheduler.advance()
    scheduler.complete("first")
    scheduler.advance()
    scheduler.complete("b")
    assert ids(scheduler.advance()) == ["c"]
    scheduler.check()
    for step_id in ("a", "c"):
        scheduler.complete(step_id)
    assert ids(scheduler.advance()) == ["d"]
    scheduler.complete("d")
    assert ids(scheduler.advance()) == ["last"]  # joins on every child
    assert scheduler.states["fan"].status == "succeeded"


def test_retry_waits_for_its_window_then_succeeds():
    clock = FakeClock()
    scheduler = fan(clock=clock)
    scheduler.start()
    scheduler.advance()
    scheduler.fail("first", "transient")
    state = scheduler.states["first"]
    assert (state.status, state.attempts, state.next_attempt_at) == ("pending", 1, clock.now() + timedelta(seconds=10))
    assert "attempt 1 failed: transient" in state.reason
    assert scheduler.advance() == [] and scheduler.status == "running"
    assert scheduler.next_wakeup() == clock.now() + timedelta(seconds=10)
    clock.advance(9.999)
    assert scheduler.advance() == []
    clock.advance(0.001)
    assert ids(scheduler.advance()) == ["first"] and scheduler.states["first"].attempts == 2


def test_exhausted_attempts_fail_the_run_and_skip_the_rest():
    scheduler = fan()
    drive(scheduler, {"first": [False, False]})
    assert scheduler.status == "failed"
    assert scheduler.states["first"].status == "failed"
    assert scheduler.states["first"].reason == "failed after 2 attempts: boom"
    for step_id in ("fan", "a", "d", "last"):
        assert (scheduler.states[step_id].status, scheduler.states[step_id].reason) == ("skipped", "run aborted")


def test_continue_on_error_false_stops_the_block_and_aborts():
    clock = FakeClock()
    scheduler = fan(False, clock=clock)
    scheduler.start()
    scheduler.advance()
    scheduler.complete("first")
    assert ids(scheduler.advance()) == ["a", "b"]
    scheduler.fail("a", "x")  # attempt 1 of 2: retry in 10 s
    assert ids(scheduler.advance()) == ["c"]  # the free slot goes to the next child
    clock.advance(10)
    assert scheduler.advance() == []  # a is due, but b and c hold both slots
    scheduler.complete("b")
    assert ids(scheduler.advance()) == ["a"]
    scheduler.fail("a", "x")  # for good
    assert scheduler.advance() == []
    assert scheduler.states["d"].status == "skipped"
    assert scheduler.states["d"].reason == "block 'fan' stopped: 'a' failed"
    assert scheduler.states["fan"].status == "running"  # c is still running
    scheduler.complete("c")
    scheduler.advance()
    assert (scheduler.states["fan"].status, scheduler.states["fan"].reason) == ("failed", "'a' failed")
    assert scheduler.states["last"].reason == "run aborted"
    assert scheduler.status == "failed"


def test_continue_on_error_true_tolerates_and_the_run_succeeds():
    scheduler = fan(True)
    order = drive(scheduler, {"b": [False, False]})
    assert scheduler.status == "succeeded"
    assert scheduler.states["b"].status == "failed"
    assert all(scheduler.states[s].status == "succeeded" for s in ("a", "c", "d", "last"))
    assert scheduler.states["fan"].reason == "1 failed, tolerated (continueOnError): b"
    assert order[-1] == "last"


def test_map_children_run_one_at_a_time_by_default():
    scheduler = scheduler_for("""
        steps: [{id: m, map: {items: [1, 2, 3], step: {id: t, run: {uses: x}}}}]
    """)
    scheduler.start()
    assert ids(scheduler.advance()) == ["m[0]::t"]
    scheduler.complete("m[0]::t")
    assert ids(scheduler.advance()) == ["m[1]::t"]


def test_disabled_and_runtime_false_steps_are_skipped_with_everything_inside():
    scheduler = scheduler_for("""
        inputs: [{name: feature, type: boolean, default: false}]
        steps:
          - {id: src, run: {uses: x}}
          - id: block
            when: "{{ steps.src.outputs.go }}"
            parallel: {steps: [{id: inner, run: {uses: x}}]}
          - {id: gated-off, when: "{{ inputs.feature }}", run: {uses: x}}
          - {id: end, run: {uses: x}}
    """)
    scheduler.start()
    scheduler.advance()
    scheduler.complete("src", {"go": False})
    assert ids(scheduler.advance()) == ["end"]
    assert scheduler.states["block"].reason == "when is false: {{ steps.src.outputs.go }}"
    assert scheduler.states["inner"].reason == "parent 'block' is skipped"
    assert scheduler.states["gated-off"].reason == "when is false: {{ inputs.feature }}"


GATED = """
approvals: [{id: review, expiresAfter: PT1H}]
steps:
  - {id: before, run: {uses: x}}
  - {id: gate, gate: {approval: {id: review}}}
  - {id: policy, gate: {policy: {policy: guard}}}
  - {id: after, run: {uses: x}}
"""


def test_approval_gate_waits_then_approved():
    scheduler = scheduler_for(GATED)
    drive(scheduler)
    assert scheduler.status == "waiting"
    assert scheduler.states["gate"].reason == "awaiting approval"
    with pytest.raises(DecisionError, match="not declared"):
        scheduler.approve("nope", "ann")
    scheduler.approve("review", "ann", "looks fine")
    assert scheduler.advance() == [] and scheduler.status == "waiting"
    assert scheduler.states["gate"].status == "succeeded"
    assert scheduler.states["gate"].reason == "approved by ann: looks fine"
    assert scheduler.states["policy"].reason == "awaiting policy decision"
    scheduler.decide_policy("policy", True, "bob")
    assert ids(scheduler.advance()) == ["after"]
    with pytest.raises(DecisionError, match="already decided"):
        scheduler.approve("review", "ann")


def test_rejected_or_denied_gates_fail_the_run():
    scheduler = scheduler_for(GATED)
    drive(scheduler)
    scheduler.approve("review", "ann", "no", approved=False)
    scheduler.advance()
    assert scheduler.states["gate"].status == "failed" and scheduler.states["gate"].reason == "rejected by ann: no"
    assert scheduler.status == "failed" and scheduler.states["after"].reason == "run aborted"


def test_approval_expires():
    clock = FakeClock()
    scheduler = scheduler_for(GATED, clock=clock)
    drive(scheduler)
    assert scheduler.approvals["review"]["expiresAt"] is not None
    assert scheduler.next_wakeup() == clock.now() + timedelta(hours=1)
    clock.advance(3600)
    scheduler.advance()
    assert scheduler.states["gate"].reason == "approval expired"
    assert scheduler.approvals["review"]["status"] == "expired"
    assert scheduler.status == "failed"


def test_illegal_transitions_raise():
    state = StepState()
    clock = FakeClock()
    with pytest.raises(IllegalTransition):
        state.apply(Transition(clock.now(), "s", "pending", "succeeded", 0))
    with pytest.raises(IllegalTransition):
        state.apply(Transition(clock.now(), "s", "running", "failed", 1))  # it is pending
    scheduler = fan()
    scheduler.start()
    with pytest.raises(IllegalTransition):
        scheduler.complete("last")


def test_replaying_the_records_rebuilds_the_same_state():
    records = []
    clock = FakeClock()
    scheduler = fan(True, clock=clock, sink=records.append)
    drive(scheduler, {"first": [False], "c": [False, False]})
    rebuilt = fan(True, clock=clock)
    rebuilt.replay(records)
    assert statuses(rebuilt) == statuses(scheduler)
    assert {k: v.to_json() for k, v in rebuilt.states.items()} == {k: v.to_json() for k, v in scheduler.states.items()}
    assert rebuilt.status == scheduler.status == "succeeded"
    assert [r["type"] for r in records].count("transition") == len([r for r in records if r["type"] == "transition"])


def test_resume_puts_interrupted_steps_back_without_using_an_attempt():
    records = []
    scheduler = fan(clock=FakeClock(), sink=records.append)
    scheduler.start()
    scheduler.advance()
    scheduler.complete("first")
    scheduler.advance()  # a, b running: the process "dies" here
    resumed = fan(clock=FakeClock())
    resumed.replay(records)
    resumed.start()
    assert resumed.states["a"].status == "pending" and resumed.states["a"].attempts == 0
    assert resumed.states["a"].reason == "interrupted"
    assert ids(resumed.advance()) == ["a", "b"]
    assert resumed.states["a"].attempts == 1 and resumed.states["first"].status == "succeeded"


def test_outputs_feed_later_templates_and_secrets_are_resolved_not_stored():
    records = []
    scheduler = scheduler_for("""
        secrets: [{name: tok}]
        steps:
          - {id: a, run: {uses: x}}
          - {id: b, run: {uses: x, with: {v: "{{ steps.a.outputs.value }}", auth: "Bearer {{ secrets.tok }}", raw: "{{ secrets.tok }}"}}}
    """, sink=records.append, secrets={"tok": "s3cret"})
    scheduler.start()
    scheduler.advance()
    scheduler.complete("a", {"value": [1, 2]})
    (b,) = scheduler.advance()
    assert scheduler.resolve_parameters(b) == {"v": [1, 2], "auth": "Bearer s3cret", "raw": "s3cret"}
    scheduler.complete("b", {"echo": "Bearer s3cret"})
    assert scheduler.outputs["b"] == {"echo": "Bearer ***"}
    assert "s3cret" not in repr(records)


def test_map_items_known_at_run_time_expand_when_reached():
    scheduler = scheduler_for("""
        steps:
          - {id: list, run: {uses: x}}
          - id: m
            map: {items: "{{ steps.list.outputs.names }}", maxParallel: 5, step: {id: t, run: {uses: x, with: {n: "{{ item }}"}}}}
          - {id: end, run: {uses: x}}
    """)
    scheduler.start()
    scheduler.advance()
    scheduler.complete("list", {"names": ["x", "y"]})
    started = scheduler.advance()
    assert ids(started) == ["m[0]::t", "m[1]::t"]
    assert scheduler.resolve_parameters(started[1]) == {"n": "y"}
    assert list(scheduler.graph.nx.predecessors("end")) == ["m[0]::t", "m[1]::t"]


def test_empty_map_succeeds_at_once():
    scheduler = scheduler_for("""
        steps:
          - {id: m, map: {items: [], step: {id: t, run: {uses: x}}}}
          - {id: end, run: {uses: x}}
    """)
    drive(scheduler)
    assert scheduler.states["m"].reason == "no items" and scheduler.status == "succeeded"


def test_cancel_stops_dispatching_and_interrupt_keeps_the_attempt():
    scheduler = fan()
    scheduler.start()
    scheduler.advance()
    scheduler.cancel()
    scheduler.interrupt("first", "interrupted: run cancelled")
    assert scheduler.advance() == [] and scheduler.status == "cancelled"
    assert scheduler.states["first"].attempts == 0
    scheduler.start()
    assert ids(scheduler.advance()) == ["first"]


def running_ids(scheduler) -> list[str]:
    return [step_id for step_id, state in scheduler.states.items() if state.status == "running"]


MAPPED = """
steps:
  - {id: first, run: {uses: x}}
  - {id: m, map: {items: [1, 2, 3, 4], step: {id: t, run: {uses: x}}}}
"""


def test_cancelling_a_resumed_run_leaves_no_block_running():
    records = []
    scheduler = scheduler_for(MAPPED, sink=records.append)
    scheduler.start()
    scheduler.advance()
    scheduler.complete("first")
    assert ids(scheduler.advance()) == ["m[0]::t"]  # the process "dies" here
    resumed = scheduler_for(MAPPED, sink=records.append)
    resumed.replay(records)
    resumed.start()
    assert ids(resumed.advance()) == ["m[0]::t"]
    resumed.cancel()
    resumed.interrupt("m[0]::t", "interrupted: run cancelled")
    assert resumed.advance() == [] and resumed.status == "cancelled"
    assert running_ids(resumed) == []
    assert (resumed.states["m"].status, resumed.states["m"].reason) == ("pending", "interrupted: run cancelled")
    reread = scheduler_for(MAPPED)
    reread.replay(records)  # what `runs show` rebuilds from the journal
    assert running_ids(reread) == [] and reread.status == "cancelled"
    reread.sink = records.append
    drive(reread)  # resumed again: the block starts over and finishes
    assert reread.status == "succeeded" and reread.states["m"].status == "succeeded"
    assert [r["stepId"] for r in records if r.get("to") == "succeeded"].count("m[0]::t") == 1


def test_cancel_parks_a_block_waiting_at_a_gate_and_the_decision_lands_after_resume():
    scheduler = scheduler_for("""
        approvals: [{id: ok}]
        steps:
          - id: fan
            parallel:
              steps:
                - {id: a, run: {uses: x}}
                - {id: gate, gate: {approval: {id: ok}}}
          - {id: last, run: {uses: x}}
    """)
    drive(scheduler)
    assert scheduler.status == "waiting" and scheduler.states["fan"].status == "running"
    scheduler.cancel()  # nothing runs: the block is parked at once
    assert running_ids(scheduler) == []
    scheduler.approve("ok", "ann")
    scheduler.start()
    scheduler.advance()
    scheduler.check()
    assert scheduler.states["gate"].status == "succeeded" and scheduler.states["fan"].status == "succeeded"


def test_a_block_stopped_by_a_failure_stays_stopped_after_cancel_and_resume():
    scheduler = scheduler_for(FAN.replace("CONTINUE", "false").replace("maxAttempts: 2", "maxAttempts: 1"))
    scheduler.start()
    scheduler.advance()
    scheduler.complete("first")
    assert ids(scheduler.advance()) == ["a", "b"]
    scheduler.cancel()
    scheduler.fail("a", "x")  # for good, while the run is cancelled
    scheduler.interrupt("b", "interrupted: run cancelled")
    scheduler.advance()
    assert running_ids(scheduler) == []
    assert drive(scheduler) == []  # resumed: nothing more of the stopped block runs
    scheduler.check()
    assert scheduler.status == "failed" and scheduler.states["fan"].reason == "'a' failed"
    assert {scheduler.states[s].status for s in ("b", "c", "d")} == {"skipped"}
