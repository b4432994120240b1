"""The Assume ▸ menu and the assumptions panel (pytest-qt)."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt

from conftest import pack_text
from core.forecast import forecast
from core.forecast.timeline import outcome_line
from core.manifest import parse_pack
from core.simulation import preview_pack
from stella_desktop.assume_menu import build_assume_menu, outcome_choices
from stella_desktop.assumptions_panel import AssumptionsPanel

SHOTS = os.environ.get("STELLA_SCREENSHOTS")

PACK = """
failure: {retries: {maxAttempts: 3, backoffSeconds: 5}}
approvals:
  - {id: release, grants: [Packs.Approve]}
steps:
  - {id: build, run: {uses: builtin:noop}}
  - {id: sign-off, gate: {approval: {id: release}}}
  - {id: guard, gate: {policy: {policy: p}}}
  - id: fan
    parallel:
      steps:
        - {id: a, run: {uses: builtin:noop}}
"""


def steps():
    preview = preview_pack(parse_pack(pack_text(PACK)))
    return preview, {step.id: step.step for step in preview.walk()}


def test_the_menu_offers_exactly_the_outcomes_that_fit_each_step():
    _, by_id = steps()
    assert [o for o, _ in outcome_choices(by_id["build"], 3)] == ["succeed", "fail", "fail:1", "fail:2", "skip"]
    assert [o for o, _ in outcome_choices(by_id["sign-off"], 3)] == ["approve", "reject", "wait", "skip"]
    assert [o for o, _ in outcome_choices(by_id["guard"], 3)] == ["allow", "deny", "wait", "skip"]
    assert [o for o, _ in outcome_choices(by_id["fan"], 3)] == ["skip"]
    assert [o for o, _ in outcome_choices(by_id["build"], 1)] == ["succeed", "fail", "skip"]


def test_choosing_in_the_menu_reports_the_step_and_outcome(qtbot):
    _, by_id = steps()
    chosen = []
    menu = build_assume_menu(by_id["build"], 3, "fail:1", lambda *pair: chosen.append(pair))
    qtbot.addWidget(menu)
    actions = {a.objectName(): a for a in menu.actions() if a.objectName()}
    assert actions["assume-fail:1"].isChecked() and not actions["assume-succeed"].isChecked()
    assert actions["assume-succeed"].text() == "Succeeds (default)"
    actions["assume-fail"].trigger()
    actions["assume-none"].trigger()
    assert chosen == [("build", "fail"), ("build", None)]
    untouched = build_assume_menu(by_id["guard"], 3, None, lambda *pair: None)
    qtbot.addWidget(untouched)
    assert not {a.objectName(): a for a in untouched.actions()}["assume-none"].isEnabled()
    menu.popup(menu.mapToGlobal(menu.pos()))
    qtbot.waitExposed(menu)
    if SHOTS:
        menu.grab().save(os.path.join(SHOTS, "assume-menu.png"))
    menu.close()


def test_the_panel_lists_assumptions_and_reports_removals(qtbot):
    preview, _ = steps()
    panel = AssumptionsPanel()
    qtbot.addWidget(panel)
    panel.show()
    assert panel.empty.isVisible() and not panel.clear.isEnabled()
    assumed = {"build": "fail", "sign-off": "reject"}
    panel.set_assumptions(assumed)
    result = forecast(preview, assumed)
    panel.set_outcome(outcome_line(result), failed=result.outcome == "failed")
    assert [panel.list.item(i).text() for i in range(panel.list.count())] == ["build = fail", "sign-off = reject"]
    assert "the run fails after 10 s" in panel.outcome.text()  # 3 attempts, 5 s apart
    panel.list.setCurrentRow(1)
    with qtbot.waitSignal(panel.remove_requested) as removed:
        qtbot.mouseClick(panel.remove, Qt.MouseButton.LeftButton)
    assert removed.args == ["sign-off"]
    panel.list.setFocus()
    panel.list.setCurrentRow(0)
    with qtbot.waitSignal(panel.remove_requested) as removed:
        qtbot.keyClick(panel.list, Qt.Key.Key_Delete)
    assert removed.args == ["build"]
    with qtbot.waitSignal(panel.clear_requested):
        qtbot.mouseClick(panel.clear, Qt.MouseButton.LeftButton)
    if SHOTS:
        panel.resize(420, 220)
        panel.grab().save(os.path.join(SHOTS, "assumptions-panel.png"))
