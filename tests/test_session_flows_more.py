"""Issue 12's defects 7-9 and 12-16 as flows through the real MainWindow (see test_session_flows)."""

from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QComboBox, QFileDialog

from test_session_flows import (  # noqa: F401  (fixtures)
    RELEASE, Mode, action, decide, new_window, nothing_left_behind, open_and_wait, settings, settled, wait_mode,
    window,
)
from stella_desktop.dialogs import DecisionDialog, PreferencesDialog

INVALID_ONE = """
apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {name: broken, version: 1.0.0}
spec:
  steps:
    - {id: a, run: {uses: builtin:echo, with: {v: "{{ inputs.missing }}"}}}
"""


# 7 ------------------------------------------------------------------------------------------------
def test_the_window_fits_1024_by_700_with_every_panel_usable(qtbot, window):
    open_and_wait(qtbot, window, RELEASE)
    window.resize(1024, 700)
    qtbot.waitUntil(lambda: window.width() == 1024 and window.height() == 700, timeout=5_000)
    assert window.minimumSizeHint().width() <= 1024 and window.minimumSizeHint().height() <= 700
    assert window.view.width() >= 400 and window.view.height() >= 250
    for name in ("inputs", "details", "results"):
        widget = window.docks[name].widget()
        assert not window.docks[name].visibleRegion().isEmpty(), name
        assert widget.width() >= 200 and widget.height() >= 150, (name, widget.size())


# 8 ------------------------------------------------------------------------------------------------
def test_details_show_the_pack_summary_and_after_a_run_outputs_durations_and_workspace(qtbot, window):
    open_and_wait(qtbot, window, RELEASE)
    summary = window.details.toPlainText()
    assert "A local release with a sign-off" in summary and "Failure policy" in summary
    assert "releaseNote" in summary  # declared outputs
    action(window, "run").trigger()
    wait_mode(qtbot, window, Mode.WAITING)
    decide(qtbot, window, "approve")
    qtbot.waitUntil(lambda: window.session.mode == Mode.WAITING and action(window, "allow").isEnabled(),
                    timeout=10_000)
    decide(qtbot, window, "allow")
    wait_mode(qtbot, window, Mode.FINISHED)
    window.session.select("build")
    details = window.details.toPlainText()
    assert "Outputs" in details and "app-2.4.0.tar.gz" in details and "Took" in details
    assert "On failure" in details and "1 attempt" in details
    took = window.results.model.index_of("build", 6)
    assert window.results.model.data(took).endswith(("ms", "s"))
    window.session.select(None)
    assert "Workspace" in window.details.toPlainText()
    assert str(window.session.run.handle.workspace) in window.details.toHtml()
    window.runs.refresh()
    assert window.runs.table.item(0, 5).text() != ""  # elapsed
    assert window.runs.summary.text().startswith("1 run in")


def test_details_say_which_secrets_are_set(qtbot, window, monkeypatch):
    from conftest import SBOM_PACK
    monkeypatch.setenv("STELLA_SECRET_jiraToken", "x")
    open_and_wait(qtbot, window, SBOM_PACK, str(SBOM_PACK.parent / "inputs.json"))
    assert "jiraToken set" in window.details.toPlainText()


# 9 ------------------------------------------------------------------------------------------------
def test_graph_export_adds_a_suffix_and_reports_real_errors(qtbot, window, tmp_path, monkeypatch):
    open_and_wait(qtbot, window, RELEASE)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "graph"), "PNG image (*.png)"))
    action(window, "export-graph").trigger()
    assert (tmp_path / "graph.png").read_bytes()[:4] == b"\x89PNG"
    assert window.last_notice is None
    missing = tmp_path / "no-such-folder" / "graph.svg"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(missing), "SVG image (*.svg)"))
    action(window, "export-graph").trigger()
    title, text = window.last_notice
    assert title == "Graph not exported" and "does not exist" in text
    assert "Graph written" not in window.statusBar().currentMessage() or "graph.png" in \
        window.statusBar().currentMessage()


# 12 -----------------------------------------------------------------------------------------------
def test_plurals_wrapping_inputs_text_and_spaced_parameters(qtbot, window, tmp_path):
    pack = tmp_path / "broken.yaml"
    pack.write_text(INVALID_ONE)
    open_and_wait(qtbot, window, pack)
    assert window.status.counts_label.text() == "This pack has 1 problem"
    assert window.scene.items_by_id == {}
    none = window.inputs.findChild(type(window.inputs.message), "inputs-none")
    assert none.wordWrap()
    open_and_wait(qtbot, window, RELEASE)
    window.session.select("guard")
    html = window.details.toHtml()
    assert "padding-right" in html and "release-window" in window.details.toPlainText()


# 13 -----------------------------------------------------------------------------------------------
def test_re_simulating_a_graph_that_grew_fits_it_in_view_again(qtbot, window):
    open_and_wait(qtbot, window, RELEASE)
    window.view.zoom_by(3)
    window.view.zoom_by(1.5)
    regions = '["' + '", "'.join(f"r{i}" for i in range(8)) + '"]'
    window.inputs.fields["regions"].editor.setPlainText(regions)
    qtbot.waitUntil(lambda: "deploy[7]::rollout" in window.scene.items_by_id, timeout=10_000)

    qtbot.waitUntil(lambda: window.view.zoom() <= 1.0, timeout=5_000)  # zoomed in 4.5x before: fitted again
    fitted = window.view.transform()
    action(window, "fit").trigger()
    assert window.view.transform() == fitted


# 14 -----------------------------------------------------------------------------------------------
def test_theme_dark_applies_a_dark_palette(qtbot, window):
    app = QApplication.instance()
    light = app.palette().color(QPalette.ColorRole.Window).lightness()
    try:
        action(window, "preferences").trigger()
        (dialog,) = [d for d in window.findChildren(PreferencesDialog) if d.isVisible()]
        combo = dialog.findChild(QComboBox, "pref-theme")
        combo.setCurrentIndex(combo.findData("dark"))
        dialog.accept()
        assert app.palette().color(QPalette.ColorRole.Window).lightness() < 80 < light
    finally:
        window.settings.theme = "system"
        from stella_desktop.dialogs import apply_theme
        apply_theme(app, "system")
    assert app.palette().color(QPalette.ColorRole.Window).lightness() == light


# 15 -----------------------------------------------------------------------------------------------
def test_a_restart_shows_results_and_reopens_the_last_pack_with_its_inputs(qtbot, settings):
    first = new_window(qtbot, settings)
    open_and_wait(qtbot, first, RELEASE)
    first.inputs.fields["version"].editor.setText("5.0.0")
    qtbot.waitUntil(lambda: first.session.simulation.inputs.get("version") == "5.0.0", timeout=10_000)
    action(first, "run").trigger()
    wait_mode(qtbot, first, Mode.WAITING)
    assert not first.docks["run-log"].visibleRegion().isEmpty()
    first.close()
    second = new_window(qtbot, settings)
    assert not second.docks["results"].visibleRegion().isEmpty()
    assert second.docks["run-log"].visibleRegion().isEmpty()
    second.session.open_start_up(None, None, "unused-sample.yaml", "unused-inputs.json")
    settled(qtbot, second, RELEASE)
    assert second.inputs.fields["version"].editor.text() == "5.0.0"
    second.close()


# 16 -----------------------------------------------------------------------------------------------
def test_the_decision_dialog_shows_what_is_decided_and_starts_in_the_reason(qtbot, window):
    open_and_wait(qtbot, window, RELEASE)
    action(window, "run").trigger()
    wait_mode(qtbot, window, Mode.WAITING)
    action(window, "approve").trigger()
    (dialog,) = [d for d in window.findChildren(DecisionDialog) if d.isVisible()]
    what = dialog.what.text()
    assert "Release 2.4.0 to 2 regions" in what and "Packs.Approve" in what and "PT8H" in what
    assert dialog.focusWidget() is dialog.reason
    dialog.by.clear()
    assert not dialog.ok.isEnabled() and dialog.why_disabled.isVisible()
    dialog.by.setText("tester")
    assert dialog.ok.isEnabled() and not dialog.why_disabled.isVisible()
    dialog.accept()
    qtbot.waitUntil(lambda: window.session.mode == Mode.WAITING and action(window, "allow").isEnabled(),
                    timeout=10_000)
    action(window, "allow").trigger()
    (dialog,) = [d for d in window.findChildren(DecisionDialog) if d.isVisible()]
    assert "release-window" in dialog.what.text() and "Parameter version" in dialog.what.text()
    dialog.reject()


# 17 -----------------------------------------------------------------------------------------------
def test_a_finished_runs_status_message_leaves_with_the_run(qtbot, window, tmp_path):
    pack = tmp_path / "quick.yaml"
    pack.write_text(INVALID_ONE.replace('{v: "{{ inputs.missing }}"}', "{v: 1}").replace("broken", "quick"))
    open_and_wait(qtbot, window, pack)
    action(window, "run").trigger()
    wait_mode(qtbot, window, Mode.FINISHED)
    assert window.statusBar().currentMessage() == "Run succeeded"
    pack.write_text(INVALID_ONE)
    open_and_wait(qtbot, window, pack)
    assert window.statusBar().currentMessage() == ""
    assert window.status.counts_label.text() == "This pack has 1 problem"
