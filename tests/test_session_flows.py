"""Issue 12's defects as flows: the real MainWindow driven through actions found by objectName.

Each test is a user's path (open, edit, run, pause, reopen) where the window
once showed one thing and acted on another.
"""

import json
import subprocess
import sys

import pytest
from PySide6.QtCore import QSettings, QThreadPool
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QFileDialog

from conftest import RESOURCES_PACKS, SBOM_PACK
from stella_desktop.dialogs import DecisionDialog
from stella_desktop.main_window import MainWindow
from stella_desktop.session import Mode
from stella_desktop.settings import AppSettings

RELEASE = RESOURCES_PACKS / "release-approval.yaml"
LONG = """
apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {name: long-step, version: 1.0.0}
spec:
  inputs:
    - {name: label, type: string, default: plain}
  steps:
    - {id: first, run: {uses: builtin:echo, with: {label: "{{ inputs.label }}"}}}
    - {id: long, run: {uses: builtin:sleep, with: {seconds: 30}}}
    - {id: last, run: {uses: builtin:noop}}
"""


@pytest.fixture
def settings(tmp_path):
    settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    settings.store_folder = tmp_path / "store"
    settings.decided_by = "tester"
    return settings


@pytest.fixture(autouse=True)
def nothing_left_behind(qapp):
    yield
    assert QThreadPool.globalInstance().waitForDone(10_000), "simulation workers still running"
    visible = [w for w in QApplication.topLevelWidgets() if w.isVisible()]
    assert visible == [], f"windows left open: {visible}"


def new_window(qtbot, settings) -> MainWindow:
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.confirm_close = lambda text: True  # a test never blocks in a modal question
    window.show()
    return window


@pytest.fixture
def window(qtbot, settings):
    window = new_window(qtbot, settings)
    yield window
    window.close()


def action(window, name) -> QAction:
    found = window.findChild(QAction, f"action-{name}")
    assert found is not None, name
    return found


def open_with_dialog(qtbot, window, monkeypatch, path):
    """File > Open Pack…, answering the file dialog with ``path``."""
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    action(window, "open").trigger()
    settled(qtbot, window, path)


def settled(qtbot, window, path=None):
    def done():
        result = window.session.simulation
        return (result is not None and not window.session.busy
                and (path is None or result.manifest_path == str(path.resolve())))
    qtbot.waitUntil(done, timeout=10_000)


def open_and_wait(qtbot, window, path, inputs=None):
    window.open_pack(str(path), inputs)
    settled(qtbot, window, path)


def wait_mode(qtbot, window, mode):
    qtbot.waitUntil(lambda: window.session.mode == mode, timeout=15_000)


def decide(qtbot, window, name, reason="checked"):
    action(window, name).trigger()
    (dialog,) = [d for d in window.findChildren(DecisionDialog) if d.isVisible()]
    dialog.reason.setPlainText(reason)
    dialog.accept()


def cli_preview(manifest, inputs_file):
    command = [sys.executable, "-m", "stella_desktop.cli", "task-runner", "simulate", "--manifest", str(manifest),
               "--format", "json"]
    if inputs_file:
        command += ["--inputs", str(inputs_file)]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


# 1 ------------------------------------------------------------------------------------------------
def test_run_uses_exactly_the_inputs_of_the_preview_or_is_disabled_with_the_reason(qtbot, window):
    open_and_wait(qtbot, window, RELEASE)
    regions = window.inputs.fields["regions"].editor
    regions.setPlainText('["ap-1"')  # invalid JSON left in the editor
    qtbot.waitUntil(lambda: not action(window, "run").isEnabled(), timeout=5_000)
    assert "not valid JSON" in action(window, "run").toolTip()
    action(window, "run").trigger()
    assert window.session.run is None and window.session.store().list() == []
    regions.setPlainText('["ap-1"]')
    qtbot.waitUntil(lambda: window.session.simulation.inputs.get("regions") == ["ap-1"]
                    and action(window, "run").isEnabled(), timeout=10_000)
    assert "deploy[0]::rollout" in window.scene.items_by_id and "deploy[1]::rollout" not in window.scene.items_by_id
    action(window, "run").trigger()
    wait_mode(qtbot, window, Mode.WAITING)
    assert window.session.run.plan.inputs["regions"] == ["ap-1"]


# 2 ------------------------------------------------------------------------------------------------
def test_while_a_run_waits_the_inputs_are_read_only_and_new_simulation_edits_again(qtbot, window):
    open_and_wait(qtbot, window, RELEASE)
    window.inputs.fields["version"].editor.setText("3.0.0")
    qtbot.waitUntil(lambda: window.session.simulation.inputs.get("version") == "3.0.0", timeout=10_000)
    action(window, "run").trigger()
    wait_mode(qtbot, window, Mode.WAITING)
    version = window.inputs.fields["version"].editor
    assert version.isReadOnly() and version.text() == "3.0.0"
    assert window.inputs.note.isVisible()
    version.setText("9.9.9")  # even a programmatic edit changes nothing while the run is open
    qtbot.waitUntil(lambda: not window.inputs._debounce.isActive(), timeout=5_000)
    assert window.session.mode == Mode.WAITING and window.scene.items_by_id["signoff"].status == "requires-approval"
    assert "Paused" in window.banner.label.text()
    run = window.session.run
    decide(qtbot, window, "approve")
    qtbot.waitUntil(lambda: window.session.mode == Mode.WAITING and "policy" in window.banner.label.text(),
                    timeout=10_000)
    assert run.scheduler.approvals["release-signoff"]["status"] == "approved"
    assert action(window, "new-simulation").isEnabled()
    action(window, "new-simulation").trigger()
    settled(qtbot, window, RELEASE)
    assert window.session.mode == Mode.SIMULATION and window.session.run is None
    assert not window.inputs.fields["version"].editor.isReadOnly()
    assert window.inputs.fields["version"].editor.text() == "3.0.0"
    assert not action(window, "approve").isEnabled() and not action(window, "allow").isEnabled()


# 3 ------------------------------------------------------------------------------------------------
def test_resuming_from_the_start_up_offer_takes_the_runs_pack_identity(qtbot, settings, tmp_path, monkeypatch):
    pack = tmp_path / "long.yaml"
    pack.write_text(LONG)
    inputs = tmp_path / "inputs.json"
    inputs.write_text('{"label": "nightly"}')
    first = new_window(qtbot, settings)
    open_and_wait(qtbot, first, pack, str(inputs))
    action(first, "run").trigger()
    qtbot.waitUntil(lambda: first.session.scheduler is not None
                    and first.session.scheduler.states["long"].status == "running", timeout=10_000)
    run_id = first.session.run.run_id
    plan_hash = first.session.run.plan.plan_hash
    first.close()
    second = new_window(qtbot, settings)
    open_and_wait(qtbot, second, SBOM_PACK, str(SBOM_PACK.parent / "inputs.json"))
    second.offer_resume()
    assert run_id in second.banner.label.text()
    next(b for b in second.banner.buttons if b.text() == "Resume").click()
    wait_mode(qtbot, second, Mode.RUNNING)
    assert "long-step" in second.windowTitle()
    assert second.status.hash_label.toolTip() == plan_hash
    assert second.inputs.fields["label"].editor.text() == "nightly" and set(second.inputs.fields) == {"label"}
    target = tmp_path / "preview.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    action(second, "export-preview").trigger()
    assert target.read_text() == cli_preview(pack, inputs)
    action(second, "cancel").trigger()
    wait_mode(qtbot, second, Mode.FINISHED)
    action(second, "reload").trigger()
    settled(qtbot, second, pack)
    assert second.session.problems == [] and second.session.simulation.plan.plan_hash == plan_hash
    second.close()


# 4 ------------------------------------------------------------------------------------------------
NUMBER_PACK = """
apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {name: numbers, version: 1.0.0}
spec:
  inputs:
    - {name: ratio, type: number, default: 1.5}
  steps:
    - {id: show, run: {uses: builtin:echo, with: {ratio: "{{ inputs.ratio }}"}}}
"""


def test_an_integer_in_a_number_input_round_trips_so_the_export_equals_the_cli(qtbot, window, tmp_path,
                                                                               monkeypatch):
    pack = tmp_path / "numbers.yaml"
    pack.write_text(NUMBER_PACK)
    inputs = tmp_path / "inputs.json"
    inputs.write_text('{"ratio": 3}')
    open_and_wait(qtbot, window, pack, str(inputs))
    first_hash = window.session.pack.plan_hash
    action(window, "simulate").trigger()
    settled(qtbot, window, pack)
    assert window.session.pack.plan_hash == first_hash
    field = window.inputs.fields["ratio"].editor
    field.setText("4")
    qtbot.waitUntil(lambda: window.session.simulation.inputs.get("ratio") == 4, timeout=10_000)
    field.setText("3")
    qtbot.waitUntil(lambda: window.session.simulation.inputs.get("ratio") == 3 and not window.session.busy,
                    timeout=10_000)
    assert window.session.pack.plan_hash == first_hash
    target = tmp_path / "preview.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    action(window, "export-preview").trigger()
    assert target.read_text() == cli_preview(pack, inputs)


# 5 ------------------------------------------------------------------------------------------------
def test_quitting_with_a_run_waiting_at_a_gate_asks_and_the_next_start_offers_it(qtbot, settings):
    first = new_window(qtbot, settings)
    open_and_wait(qtbot, first, RELEASE)
    action(first, "run").trigger()
    wait_mode(qtbot, first, Mode.WAITING)
    run_id = first.session.run.run_id
    asked = []
    first.confirm_close = lambda text: asked.append(text) or False
    action(first, "quit").trigger()
    assert first.isVisible() and len(asked) == 1 and "waiting at a gate" in asked[0]
    first.confirm_close = lambda text: True
    first.close()
    second = new_window(qtbot, settings)
    second.open_pack(str(RELEASE))  # as at start-up: the offer comes while the last pack simulates
    second.offer_resume()
    settled(qtbot, second, RELEASE)
    assert second.banner.isVisible()
    assert run_id in second.banner.label.text() and "waiting at a gate" in second.banner.label.text()
    next(b for b in second.banner.buttons if b.text() == "Resume").click()
    wait_mode(qtbot, second, Mode.WAITING)
    assert action(second, "approve").isEnabled()
    second.close()


# 6 ------------------------------------------------------------------------------------------------
def test_run_is_disabled_at_a_gate_and_only_the_waiting_gates_decisions_are_enabled(qtbot, window):
    open_and_wait(qtbot, window, RELEASE)
    action(window, "run").trigger()
    wait_mode(qtbot, window, Mode.WAITING)
    enabled = {name: action(window, name).isEnabled() for name in ("run", "approve", "reject", "allow", "deny")}
    assert enabled == {"run": False, "approve": True, "reject": True, "allow": False, "deny": False}
    action(window, "run").trigger()  # a shortcut or a stale button cannot start a second run
    assert len(window.session.store().list()) == 1
    decide(qtbot, window, "approve")
    qtbot.waitUntil(lambda: window.session.mode == Mode.WAITING and action(window, "allow").isEnabled(),
                    timeout=10_000)
    enabled = {name: action(window, name).isEnabled() for name in ("run", "approve", "reject", "allow", "deny")}
    assert enabled == {"run": False, "approve": False, "reject": False, "allow": True, "deny": True}


# 10 -----------------------------------------------------------------------------------------------
def test_input_problems_keep_the_graph_and_mark_the_steps_that_read_them(qtbot, window, monkeypatch):
    open_and_wait(qtbot, window, SBOM_PACK, str(SBOM_PACK.parent / "inputs.json"))
    open_with_dialog(qtbot, window, monkeypatch, SBOM_PACK)  # the flagship sample again, no inputs file
    assert window.inputs.fields["sbomBundle"].editor.toPlainText() == ""  # the form shows this document
    scene = window.scene.items_by_id
    assert "validate-input" in scene and "mirror" in scene
    assert window.graph.note.isVisible() and "1 input problem" in window.graph.note.text()
    assert window.status.counts_label.text() == "1 input problem"
    assert "needs sbomBundle" in scene["validate-input"].toolTip()
    assert not action(window, "run").isEnabled() and "inputs" in action(window, "run").toolTip()
    assert not action(window, "export-preview").isEnabled()
    bundle = json.loads((SBOM_PACK.parent / "inputs.json").read_text())["sbomBundle"]
    window.inputs.fields["sbomBundle"].editor.setPlainText(json.dumps(bundle))
    qtbot.waitUntil(lambda: window.session.simulation.runnable and not window.session.busy, timeout=10_000)
    assert not window.graph.note.isVisible() and action(window, "run").isEnabled()
    assert "needs" not in window.scene.items_by_id["validate-input"].toolTip()


# 11 -----------------------------------------------------------------------------------------------
def test_the_source_view_shows_the_pack_that_is_open(qtbot, window, monkeypatch):
    open_and_wait(qtbot, window, SBOM_PACK, str(SBOM_PACK.parent / "inputs.json"))
    assert window.source.toPlainText() == SBOM_PACK.read_text()
    open_with_dialog(qtbot, window, monkeypatch, RELEASE)
    assert window.source.toPlainText() == RELEASE.read_text()
