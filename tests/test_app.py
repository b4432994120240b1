"""The desktop app as a user drives it (pytest-qt, offscreen; waits, never sleeps)."""

import json
import subprocess
import sys

import pytest
from PySide6.QtCore import QPoint, QSettings, Qt, QThreadPool
from PySide6.QtWidgets import QApplication

from conftest import INVALID_PACKS, RESOURCES_PACKS, SBOM_PACK
from stella_desktop.dialogs import DecisionDialog
from stella_desktop import window_commands as commands
from stella_desktop.main_window import MainWindow
from stella_desktop.session import Mode
from stella_desktop.settings import AppSettings

SBOM_INPUTS = str(SBOM_PACK.parent / "inputs.json")
RELEASE = RESOURCES_PACKS / "release-approval.yaml"


@pytest.fixture
def settings(tmp_path):
    settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    settings.store_folder = tmp_path / "store"
    settings.decided_by = "tester"
    return settings


@pytest.fixture(autouse=True)
def nothing_left_behind(qapp):
    """Fail a test that leaves windows, worker threads or running runs behind."""
    yield
    assert QThreadPool.globalInstance().waitForDone(10_000), "simulation workers still running"
    visible = [w for w in QApplication.topLevelWidgets() if w.isVisible()]
    assert visible == [], f"windows left open: {visible}"


@pytest.fixture
def window(qtbot, settings):
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.confirm_close = lambda text: True  # a test never blocks in a modal question
    window.show()
    yield window
    window.close()


def open_and_wait(qtbot, window, path, inputs=None):
    window.open_pack(str(path), inputs)
    qtbot.waitUntil(lambda: window.session.simulation is not None and window.session.simulation.manifest_path == str(path.resolve())
                    and not window.session.busy, timeout=10_000)


def status(window, step_id):
    return window.scene.items_by_id[step_id].status


def test_open_sample_shows_graph_and_table_statuses(qtbot, window):
    open_and_wait(qtbot, window, SBOM_PACK, SBOM_INPUTS)
    assert status(window, "approval-gate") == "requires-approval"
    assert status(window, "policy-gate") == "requires-policy"
    assert status(window, "verify") == "pending" and "mirror[2]::sync" in window.scene.items_by_id
    model = window.results.model
    assert model.rowCount() == 8  # top-level steps; children under their blocks
    index = model.index_of("approval-gate", 2)
    assert model.data(index) == "requires approval"
    assert window.status.pack_label.text() == "sbom-remediation 1.3.0"
    assert window.status.hash_label.text().startswith("sha256:")
    assert "1 requires-approval" in window.status.counts_label.text()


def test_clicking_a_node_shows_its_details_and_selects_the_row(qtbot, window):
    open_and_wait(qtbot, window, SBOM_PACK, SBOM_INPUTS)
    window.view.resetTransform()
    item = window.scene.items_by_id["apply-remediation"]
    window.view.centerOn(item)
    point = window.view.mapFromScene(item.sceneBoundingRect().center())
    qtbot.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert window.session.selected == "apply-remediation"
    html = window.details.toHtml()
    assert "apply-remediation" in html and "builtin:cli-command" in html and "jiraToken" in html
    assert "never shown" in html  # the secret is a reference, visibly distinct
    current = window.results.tree.currentIndex()
    assert window.results.proxy.data(current.siblingAtColumn(0)) == "apply-remediation"


def test_selecting_a_row_selects_the_node(qtbot, window):
    open_and_wait(qtbot, window, SBOM_PACK, SBOM_INPUTS)
    index = window.results.proxy.mapFromSource(window.results.model.index_of("notify"))
    window.results.tree.setCurrentIndex(index)
    assert window.scene.items_by_id["notify"].isSelected()
    assert "decided at run time" in window.details.toHtml()


def test_keyboard_moves_between_nodes(qtbot, window):
    open_and_wait(qtbot, window, SBOM_PACK, SBOM_INPUTS)
    window.session.select("validate-input")
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_Down)
    assert window.session.selected == "plan-remediation"
    window.session.select("verify-sbom")
    qtbot.keyClick(window.view, Qt.Key.Key_Left)
    assert window.session.selected == "verify"


def test_invalid_pack_lists_problems_with_lines_and_no_stale_graph(qtbot, window):
    open_and_wait(qtbot, window, SBOM_PACK, SBOM_INPUTS)
    open_and_wait(qtbot, window, INVALID_PACKS / "typo-key.yaml")
    item = window.problems.topLevelItem(0)
    assert item.text(0).endswith("typo-key.yaml:10:9") and "maxParalel" in item.text(3)
    assert window.scene.items_by_id == {}  # the sample's graph is gone, a message says why
    assert not window.actions["run"].isEnabled()
    window.problems.itemActivated.emit(item, 0)
    assert window.source.current_line() == 10 and "maxParalel" in window.source.toPlainText()


def test_changing_an_input_re_simulates(qtbot, window):
    open_and_wait(qtbot, window, SBOM_PACK, SBOM_INPUTS)
    assert status(window, "plan-remediation") == "pending"
    window.inputs.fields["dryRun"].editor.setChecked(True)
    qtbot.waitUntil(lambda: status(window, "plan-remediation") == "skipped", timeout=10_000)
    window.inputs.fields["mirrors"].editor.setPlainText('["only-one"')
    qtbot.waitUntil(lambda: window.inputs.fields["mirrors"].error.isVisible(), timeout=5_000)
    assert "not valid JSON" in window.inputs.fields["mirrors"].error.text()
    window.inputs.fields["sbomBundle"].editor.setPlainText('{"metadata": {"image": ""}, "components": []}')
    window.inputs.fields["mirrors"].editor.setPlainText('["only-one"]')
    qtbot.waitUntil(lambda: window.inputs.fields["sbomBundle"].error.isVisible(), timeout=10_000)
    assert "should be non-empty" in window.inputs.fields["sbomBundle"].error.text()


def test_export_equals_the_cli_output(qtbot, window, tmp_path):
    open_and_wait(qtbot, window, SBOM_PACK, SBOM_INPUTS)
    target = tmp_path / "preview.json"
    commands.export_preview(window, str(target))
    cli = subprocess.run([sys.executable, "-m", "stella_desktop.cli", "task-runner", "simulate", "--manifest",
                          str(SBOM_PACK), "--inputs", SBOM_INPUTS, "--format", "json"],
                         capture_output=True, text=True, check=True)
    assert target.read_text() == cli.stdout


def test_graph_exports_as_png_and_svg(qtbot, window, tmp_path):
    open_and_wait(qtbot, window, SBOM_PACK, SBOM_INPUTS)
    commands.export_graph(window, str(tmp_path / "graph.png"))
    commands.export_graph(window, str(tmp_path / "graph.svg"))
    assert (tmp_path / "graph.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "validate-input" in (tmp_path / "graph.svg").read_text()


def decide_in_dialog(qtbot, window, action, reason="looks good"):
    window.actions[action].trigger()
    (dialog,) = [d for d in window.findChildren(DecisionDialog) if d.isVisible()]
    assert dialog.by.text() == "tester"
    dialog.reason.setPlainText(reason)
    qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)


def test_a_gated_run_is_approved_in_the_dialog_and_completes(qtbot, window):
    open_and_wait(qtbot, window, RELEASE)
    window.actions["run"].trigger()
    qtbot.waitUntil(lambda: window.banner.isVisible() and "approval" in window.banner.label.text(), timeout=10_000)
    assert status(window, "signoff") == "requires-approval"
    decide_in_dialog(qtbot, window, "approve")
    qtbot.waitUntil(lambda: window.banner.isVisible() and "policy" in window.banner.label.text(), timeout=10_000)
    decide_in_dialog(qtbot, window, "allow")
    qtbot.waitUntil(lambda: window.session.scheduler.status == "succeeded", timeout=10_000)
    assert status(window, "announce") == "succeeded"
    run = window.session.run
    assert run.scheduler.approvals["release-signoff"]["decidedBy"] == "tester"
    assert "approval release-signoff approved by tester" in window.run_log.toPlainText()
    window.runs.refresh()
    assert window.runs.table.rowCount() == 1


LONG = """
apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {name: long-step, version: 1.0.0}
spec:
  steps:
    - {id: first, run: {uses: builtin:echo, with: {n: 1}}}
    - {id: long, run: {uses: builtin:sleep, with: {seconds: SECONDS}}}
    - {id: last, run: {uses: builtin:noop}}
"""


def test_closing_mid_run_then_reopening_offers_to_resume(qtbot, settings, tmp_path):
    pack = tmp_path / "long.yaml"
    pack.write_text(LONG.replace("SECONDS", "30"))
    first = MainWindow(settings)
    qtbot.addWidget(first)
    first.show()
    open_and_wait(qtbot, first, pack)
    first.actions["run"].trigger()
    qtbot.waitUntil(lambda: first.session.run is not None
                    and first.session.scheduler.states["long"].status == "running", timeout=10_000)
    first.confirm_close = lambda text: True
    first.close()
    pack.write_text(LONG.replace("SECONDS", "30"))  # unchanged: the plan hash still matches
    second = MainWindow(settings)
    qtbot.addWidget(second)
    second.show()
    second.offer_resume()
    assert "was interrupted" in second.banner.label.text()
    resume = next(b for b in second.banner.buttons if b.text() == "Resume")
    qtbot.mouseClick(resume, Qt.MouseButton.LeftButton)
    assert second.last_notice is None, second.last_notice
    qtbot.waitUntil(lambda: second.session.scheduler is not None
                    and second.session.scheduler.states["long"].status == "running", timeout=10_000)
    states = second.session.scheduler.states
    assert states["first"].status == "succeeded" and states["first"].attempts == 1  # not run again
    second.actions["cancel"].trigger()
    qtbot.waitUntil(lambda: second.session.mode != Mode.RUNNING, timeout=10_000)
    second.close()


def test_resume_refuses_a_changed_manifest_clearly(qtbot, window, tmp_path):
    pack = tmp_path / "long.yaml"
    pack.write_text(LONG.replace("SECONDS", "0"))
    open_and_wait(qtbot, window, pack)
    window.actions["run"].trigger()
    qtbot.waitUntil(lambda: window.session.scheduler is not None
                    and window.session.scheduler.status == "succeeded", timeout=10_000)
    run_id = window.session.run.run_id
    pack.write_text(LONG.replace("SECONDS", "1"))
    window.session.resume_run(run_id)
    title, text = window.last_notice
    assert title == "This run cannot be resumed" and "the plan changed since it was created" in text



def test_a_resume_refused_for_many_steps_names_ten_and_counts_the_rest(qtbot, window, settings, tmp_path):
    """15 command steps ran while commands were allowed; with them refused, the resume's notice lists 10
    (a box of every problem grows taller than the screen, its OK button out of reach)."""
    steps = "".join(f"    - {{id: c{i}, run: {{uses: builtin:command, with: {{argv: [/bin/true]}}}}}}\n" for i in range(15))
    pack = tmp_path / "commands.yaml"
    pack.write_text("apiVersion: stellaops.io/pack.v1\nkind: TaskPack\nmetadata: {name: commands, version: 1.0.0}\n"
                    "spec:\n  steps:\n" + steps)
    settings.allow_commands = True
    open_and_wait(qtbot, window, pack)
    window.actions["run"].trigger()
    qtbot.waitUntil(lambda: window.session.scheduler is not None
                    and window.session.scheduler.status == "succeeded", timeout=10_000)
    settings.allow_commands = False
    window.session.resume_run(window.session.run.run_id)
    title, text = window.last_notice
    assert title == "This run cannot be resumed"
    assert len(text.splitlines()) == 11 and text.splitlines()[-1].startswith("… and 5 more"), text

def test_actions_are_named_with_shortcuts_and_tooltips(window):
    for name in ("open", "reload", "simulate", "run", "cancel", "export-preview", "export-graph", "fit",
                 "zoom-in", "zoom-out", "preferences", "quit", "runs"):
        action = window.findChild(type(window.actions["open"]), f"action-{name}")
        assert action is not None and action.toolTip()
    assert window.actions["run"].shortcut().toString() == "Ctrl+R"
    assert window.actions["simulate"].shortcut().toString() == "Ctrl+Shift+S"
    assert window.actions["fit"].shortcut().toString() == "F"
    assert window.actions["open"].shortcut().toString() == "Ctrl+O"


def test_filter_recent_files_and_drag_and_drop(qtbot, window, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent
    open_and_wait(qtbot, window, SBOM_PACK, SBOM_INPUTS)
    window.results.filter.setText("mirror")
    proxy = window.results.proxy
    assert [proxy.index(r, 0).data() for r in range(proxy.rowCount())] == ["mirror"]
    window.results.filter.clear()
    gone = tmp_path / "gone.yaml"
    gone.write_text("x: 1\n")
    window.settings.add_recent(str(gone))
    gone.unlink()
    assert window.settings.recent_files() == [str(SBOM_PACK.resolve())]  # missing files are dropped
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(RELEASE))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.session.simulation is not None and window.session.simulation.plan is not None
                    and window.session.simulation.plan.pack_name == "release-approval" and not window.session.busy, timeout=10_000)
    assert window.settings.recent_files()[0] == str(RELEASE.resolve())


def test_every_bundled_sample_opens_from_the_menu_and_simulates(qtbot, window):
    from PySide6.QtWidgets import QMenu
    menu = window.findChild(QMenu, "menu-samples")
    labels = [action.text() for action in menu.actions()]
    assert labels == ["flaky-fanout", "nightly-mirror", "release-approval", "sbom-remediation"]
    for action in menu.actions():
        action.trigger()
        qtbot.waitUntil(lambda: window.session.simulation is not None and not window.session.busy
                        and window.session.simulation.manifest_path == window.session.pack.path, timeout=10_000)
        assert window.session.simulation.preview is not None, (action.text(), window.session.simulation.problems)


def test_running_the_sbom_sample_explains_what_can_run(qtbot, window):
    open_and_wait(qtbot, window, SBOM_PACK, SBOM_INPUTS)
    window.actions["run"].trigger()
    title, text = window.last_notice
    assert title == "The run cannot start"
    assert "'builtin:validate-schema' cannot run" in text and "File > Open Sample" in text
