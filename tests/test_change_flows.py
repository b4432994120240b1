"""Issue 16 in the app: saving the pack re-simulates and marks what changed; Compare With… a preview."""

import json

import pytest
from PySide6.QtCore import QThreadPool
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QFileDialog

from conftest import pack_text
from test_session_flows import new_window, settings  # noqa: F401 - fixtures

SPEC = """
steps:
  - id: fetch
    run: {uses: builtin:echo, with: {message: hello}}
  - id: check
    run: {uses: builtin:noop}
  - id: finish
    run: {uses: builtin:echo, with: {message: done}}
"""
EDITED = """
steps:
  - id: fetch
    run: {uses: builtin:echo, with: {message: bonjour}}
  - id: finish
    run: {uses: builtin:echo, with: {message: done}}
  - id: notify
    run: {uses: builtin:noop}
"""


@pytest.fixture
def window(qtbot, settings):  # noqa: F811 - the session flows' settings fixture
    """The main window on a fresh store; closed, and its workers done, after the test."""
    window = new_window(qtbot, settings)
    yield window
    window.close()
    assert QThreadPool.globalInstance().waitForDone(10_000)


def trigger(window, name):
    window.findChild(QAction, f"action-{name}").trigger()


def badges(window):
    return {step_id: item.change for step_id, item in window.scene.items_by_id.items() if item.change}


def test_saving_the_pack_re_simulates_and_marks_new_changed_and_removed_steps(qtbot, window, tmp_path):
    manifest = tmp_path / "pack.yaml"
    manifest.write_text(pack_text(SPEC))
    window.open_pack(str(manifest))
    qtbot.waitUntil(lambda: "check" in window.scene.items_by_id, timeout=10_000)
    assert badges(window) == {} and window.changes.rows() == []
    manifest.write_text(pack_text(EDITED))  # saved in an editor
    qtbot.waitUntil(lambda: "notify" in window.scene.items_by_id, timeout=10_000)
    qtbot.waitUntil(lambda: badges(window) == {"fetch": "changed", "notify": "added"}, timeout=5000)
    tip = window.scene.items_by_id["fetch"].childItems()[0].toolTip()
    assert "parameters" in tip
    rows = window.changes.rows()
    assert ("check", "− removed", "", "", "") in rows
    assert ("fetch", "~ changed", "parameters.message", "hello", "bonjour") in rows
    window.changes._tree.itemClicked.emit(window.changes._tree.topLevelItem(0), 0)
    assert window.session.selected == rows[0][0]
    trigger(window, "simulate")  # nothing changed since: the marks go
    qtbot.waitUntil(lambda: badges(window) == {} and window.changes.rows() == [], timeout=10_000)


def test_compare_with_a_preview_file_then_clear(qtbot, window, tmp_path, monkeypatch):
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text(pack_text(SPEC))
    new.write_text(pack_text(EDITED))
    window.open_pack(str(old))
    qtbot.waitUntil(lambda: window.session.simulation is not None and window.session.simulation.runnable,
                    timeout=10_000)
    (tmp_path / "old.json").write_text(window.session.simulation.preview.to_json())
    window.open_pack(str(new))
    qtbot.waitUntil(lambda: "notify" in window.scene.items_by_id, timeout=10_000)
    assert badges(window) == {}  # another document: nothing to compare with yet
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(tmp_path / "old.json"), ""))
    trigger(window, "compare")
    assert badges(window) == {"fetch": "changed", "notify": "added"}
    assert window.docks["changes"].isVisible()
    assert "Compared with" in window.changes._summary.text()
    trigger(window, "clear-comparison")
    assert badges(window) == {} and window.changes.rows() == []


def test_compare_with_something_that_is_not_a_plan_says_why(qtbot, window, tmp_path, monkeypatch):
    manifest = tmp_path / "pack.yaml"
    manifest.write_text(pack_text(SPEC))
    (tmp_path / "other.json").write_text(json.dumps({"not": "a preview"}))
    window.open_pack(str(manifest))
    qtbot.waitUntil(lambda: window.findChild(QAction, "action-compare").isEnabled(), timeout=10_000)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(tmp_path / "other.json"), ""))
    trigger(window, "compare")
    assert window.last_notice[0] == "Cannot compare" and "not a simulation preview" in window.last_notice[1]
    for box in QApplication.topLevelWidgets():
        if box.objectName() == "notice":
            box.close()


def test_a_pack_broken_on_disk_then_fixed_is_compared_with_the_last_valid_preview(qtbot, window, tmp_path):
    """A save that breaks the pack shows its problems; the save that fixes it is compared with the preview
    before the break, not left with 'No comparison yet' (found by the new-user review)."""
    manifest = tmp_path / "pack.yaml"
    manifest.write_text(pack_text(SPEC))
    window.open_pack(str(manifest))
    qtbot.waitUntil(lambda: "check" in window.scene.items_by_id, timeout=10_000)
    manifest.write_text(pack_text(SPEC) + "  - {id: [broken\n")  # a YAML error while typing
    qtbot.waitUntil(lambda: window.session.problems != [], timeout=10_000)
    manifest.write_text(pack_text(EDITED))  # fixed, and edited
    qtbot.waitUntil(lambda: "notify" in window.scene.items_by_id, timeout=10_000)
    qtbot.waitUntil(lambda: badges(window) == {"fetch": "changed", "notify": "added"}, timeout=5000)
