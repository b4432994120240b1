"""The window's commands that need a dialog: open, export, decide a gate, preferences, recent files.

Each reads the session for what is current and hands the user's answer back
to it; none keeps state of its own.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog

from stella_desktop.dialogs import DecisionDialog, PreferencesDialog, apply_theme, decision_text
from stella_desktop.export import GraphTitle, export_graph_image


def sample_inputs(manifest: str) -> str | None:
    """A bundled sample's own inputs file, if it has one."""
    inputs = Path(manifest).with_name("inputs.json")
    return str(inputs) if inputs.exists() else None


def open_dialog(window) -> None:
    current = window.session.pack.path
    folder = str(Path(current).parent) if current else ""
    path, _ = QFileDialog.getOpenFileName(window, "Open Task Pack", folder, "Task Packs (*.yaml *.yml);;All files (*)")
    if path:
        window.open_pack(path)


def fill_recent(window) -> None:
    menu = window.recent_menu
    menu.clear()
    files = window.settings.recent_files()
    if not files:
        menu.addAction("(none)").setEnabled(False)
    for path in files:
        menu.addAction(path, lambda p=path: window.open_pack(p))


def export_preview_dialog(window) -> None:
    result = window.session.simulation
    if result is None or not result.runnable:
        window.notify("Nothing to export", "Simulate a valid pack with valid inputs first.")
        return
    name = f"{result.plan.pack_name}-preview.json"
    path, _ = QFileDialog.getSaveFileName(window, "Export preview", name, "JSON (*.json)")
    if path:
        export_preview(window, path if Path(path).suffix else path + ".json")


def export_preview(window, path: str) -> None:
    """Write the preview on screen: byte-identical to ``stella task-runner simulate --format json``."""
    try:
        Path(path).write_text(window.session.simulation.preview.to_json(), encoding="utf-8")
    except OSError as error:
        window.notify("Preview not exported", f"Cannot write {path}: {error.strerror or error}", error=True)
        return
    window.statusBar().showMessage(f"Preview written to {path}", 5000)


def compare_dialog(window) -> None:
    """Compare With…: a pack, or a preview JSON file (runs: the Runs panel's Compare button)."""
    path, _ = QFileDialog.getOpenFileName(window, "Compare with", str(Path(window.session.pack.path or ".").parent),
                                          "Packs and previews (*.yaml *.yml *.json);;All files (*)")
    if path:
        compare(window, path)


def compare(window, source: str) -> None:
    """Show on the canvas and in the Changes panel what differs from ``source`` (a file or a run id)."""
    from core.diff_sources import DiffSourceError
    from core.errors import PackInvalid

    try:
        window.session.changes.compare_with(source)
    except DiffSourceError as error:
        window.notify("Cannot compare", str(error), error=True)
        return
    except PackInvalid as invalid:
        window.notify("Cannot compare", "\n".join(str(p) for p in invalid.problems), error=True)
        return
    window.docks["changes"].show()
    window.docks["changes"].raise_()


def export_report_dialog(window, run_id: str) -> None:
    path, chosen = QFileDialog.getSaveFileName(window, "Export run report", f"{run_id}-report.html",
                                               "HTML report (*.html);;JSON report, to verify (*.json)")
    if path:
        if not Path(path).suffix:
            path += ".json" if chosen.startswith("JSON") else ".html"
        export_report(window, run_id, path)


def export_report(window, run_id: str, path: str) -> None:
    """Write a run's report: one self-contained HTML page, or the JSON that ``runs verify`` checks."""
    from core import json_text
    from core.errors import PackInvalid
    from core.execution.run import PlanDrift
    from core.execution.store import RunStoreError
    from core.report import report_for_run
    from core.report.html import render_html

    try:
        report = report_for_run(window.session.store(), run_id)
        text = render_html(report) if Path(path).suffix.lower() in (".html", ".htm") else json_text.pretty(report)
        Path(path).write_text(text, encoding="utf-8")
    except (RunStoreError, PlanDrift, PackInvalid) as error:
        window.notify("Report not exported", str(error), error=True)
        return
    except OSError as error:
        window.notify("Report not exported", f"Cannot write {path}: {error.strerror or error}", error=True)
        return
    window.statusBar().showMessage(f"Report of run {run_id} written to {path}", 5000)


def export_graph_dialog(window) -> None:
    path, chosen = QFileDialog.getSaveFileName(window, "Export graph", "graph.png",
                                               "PNG image (*.png);;SVG image (*.svg)")
    if path:
        if not Path(path).suffix:
            path += ".svg" if "svg" in chosen.lower() else ".png"
        export_graph(window, path)


def export_graph(window, path: str) -> None:
    """The graph as drawn, titled with the pack, version and plan hash of the document shown."""
    plan, pack = window.session.plan, window.session.pack
    title = GraphTitle(pack.name, pack.version, pack.plan_hash or "inputs incomplete") if plan is not None else None
    try:
        message = export_graph_image(window.scene, path, title)
    except OSError as error:
        window.notify("Graph not exported", str(error), error=True)
        return
    window.statusBar().showMessage(message, 8000)


def ask_decision(window, kind: str, yes: bool) -> None:
    session = window.session
    step = session.waiting_gate(kind)
    if step is None:
        window.notify("Nothing to decide", f"The run is not waiting for "
                                           f"{'an approval' if kind == 'approval' else 'a policy decision'}.")
        return
    title, what = decision_text(kind, yes, step, session.plan)
    verb = title.split(" ", 1)[0]
    dialog = DecisionDialog(title, what, verb, window.settings.decided_by, window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.accepted.connect(lambda: session.decide(kind, yes, *dialog.decision()))
    dialog.open()


def preferences(window) -> None:
    dialog = PreferencesDialog(window.settings, window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def apply() -> None:
        apply_theme(QApplication.instance(), window.settings.theme)
        window.runs.set_store(window.session.store())
        if window.settings.collapse_over != window.scene.threshold:
            window.scene.set_collapse_threshold(window.settings.collapse_over)

    dialog.accepted.connect(apply)
    dialog.open()
