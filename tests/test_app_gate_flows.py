"""A run paused at a gate, as a user sees and stops it: Cancel works, an open block is not painted running."""

from core.execution.store import RunStore
from stella_desktop.session_state import Mode
from test_app import decide_in_dialog, nothing_left_behind, open_and_wait, settings, status, window  # noqa: F401

GATED_BLOCK = """
apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {name: gated-block, version: 1.0.0}
spec:
  approvals:
    - {id: sign, grants: [Packs.Approve]}
  steps:
    - {id: first, run: {uses: builtin:echo, with: {n: 1}}}
    - id: checks
      parallel:
        steps:
          - {id: lint, run: {uses: builtin:noop}}
          - id: signoff
            gate: {approval: {id: sign, message: Sign it.}}
    - {id: last, run: {uses: builtin:noop}}
"""


def paused(qtbot, window, tmp_path):
    pack = tmp_path / "gated.yaml"
    pack.write_text(GATED_BLOCK)
    open_and_wait(qtbot, window, pack)
    window.actions["run"].trigger()
    qtbot.waitUntil(lambda: window.session.mode == Mode.WAITING, timeout=20_000)


def painted(window, status_name: str) -> list[str]:
    return sorted(step_id for step_id, item in window.scene.items_by_id.items() if item.status == status_name)


def test_cancel_at_an_approval_gate_cancels_the_run_and_leaves_nothing_running(qtbot, window, settings, tmp_path):
    paused(qtbot, window, tmp_path)
    assert window.actions["cancel"].isEnabled(), window.actions["cancel"].toolTip()
    window.actions["cancel"].trigger()
    qtbot.waitUntil(lambda: window.session.mode == Mode.FINISHED, timeout=20_000)
    assert window.session.scheduler.status == "cancelled"
    assert not window.actions["cancel"].isEnabled()
    assert not window.actions["approve"].isEnabled()
    assert painted(window, "running") == [] and status(window, "checks") == "pending"
    assert [s for s, state in window.session.scheduler.states.items() if state.status == "running"] == []
    assert not window.session._runs.driving
    assert window.session.attention is not None and "cancelled" in window.session.attention.text.lower()
    [run_id] = RunStore(settings.store_folder).run_ids()
    assert RunStore(settings.store_folder).list()[0].status == "cancelled", run_id


def test_a_block_whose_gate_waits_is_shown_waiting_not_running_and_runs_again_once_approved(qtbot, window, tmp_path):
    paused(qtbot, window, tmp_path)
    assert status(window, "signoff") == "requires-approval"
    assert status(window, "checks") == "requires-approval"  # the journal still has it open (running)
    assert window.session.scheduler.states["checks"].status == "running"
    assert painted(window, "running") == []
    model = window.results.model
    assert model.data(model.index_of("checks", 2)) == "requires approval"
    decide_in_dialog(qtbot, window, "approve")
    qtbot.waitUntil(lambda: window.session.scheduler.status == "succeeded", timeout=20_000)
    assert status(window, "checks") == "succeeded" and status(window, "last") == "succeeded"
