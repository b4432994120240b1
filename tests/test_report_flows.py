"""Export Run Report… from the Run menu and from the Runs panel, as a user does it."""

import json

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog

from conftest import RESOURCES_PACKS
from stella_desktop.session import Mode
from test_change_flows import window  # noqa: F401 - fixture
from test_session_flows import settings  # noqa: F401 - fixture


def test_export_the_open_run_and_a_run_picked_in_the_runs_panel(qtbot, window, tmp_path, monkeypatch):
    action = window.findChild(QAction, "action-export-report")
    window.open_pack(str(RESOURCES_PACKS / "release-approval.yaml"))
    qtbot.waitUntil(lambda: window.findChild(QAction, "action-run").isEnabled(), timeout=10_000)
    assert not action.isEnabled() and "No run is open" in action.toolTip()
    window.findChild(QAction, "action-run").trigger()
    qtbot.waitUntil(lambda: window.session.mode == Mode.WAITING, timeout=20_000)
    assert action.isEnabled()
    run_id = window.session.run.run_id
    target = tmp_path / "report"  # no suffix: the chosen filter's is added
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "HTML report (*.html)"))
    action.trigger()
    page = (tmp_path / "report.html").read_text()
    assert run_id in page and "<svg" in page and "release-signoff" in page and "<script" not in page
    window.findChild(QAction, "action-runs").trigger()
    window.runs.refresh()
    window.runs.select_run(run_id)
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "r.json"), "JSON report, to verify (*.json)"))
    window.runs.report_button.click()
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["runId"] == run_id and report["outcome"] == "waiting"
    assert report["gates"][0]["decision"] is None and report["journal"]["records"] > 0
