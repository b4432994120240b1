"""Regenerate the README screenshots into docs/screenshots/ (offscreen, or under Xvfb).

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/make_screenshots.py

Each view is driven the way a user gets there, through the window's named
actions: open the sample and simulate; open it without inputs; run the release
pack until it waits at its approval gate; open the approve dialog (composed
into the shot: grab() does not capture dialogs); finish the run; open an
invalid pack; close during a long step and reopen in a 1,024 x 700 window.
Events (deferred deletes included) are processed before every grab.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication, QEvent, QPoint, QSettings  # noqa: E402
from PySide6.QtGui import QAction, QColor, QPainter  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from stella_desktop.dialogs import DecisionDialog  # noqa: E402
from stella_desktop.main_window import MainWindow  # noqa: E402
from stella_desktop.session import Mode  # noqa: E402
from stella_desktop.settings import AppSettings  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
PACKS = ROOT / "resources" / "packs"
INVALID = """apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {name: broken-release, version: 1.0.0}
spec:
  inputs:
    - {name: version, type: string}
  steps:
    - id: build
      run: {uses: builtin:echo, with: {v: "{{ inputs.versoin }}"}}
    - id: fan
      parallel:
        maxParalel: 2
        steps:
          - {id: a, run: {uses: builtin:noop}}
    - id: build
      gate: {approval: {id: signoff}}
"""
LONG = """apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {name: nightly-mirror, version: 1.2.0}
spec:
  steps:
    - {id: fetch, run: {uses: builtin:echo, with: {source: registry.example}}}
    - {id: mirror, run: {uses: builtin:sleep, with: {seconds: 120}}}
    - {id: verify, run: {uses: builtin:noop}}
"""


def wait(app, condition, timeout=20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        app.processEvents()
        if time.monotonic() > deadline:
            raise TimeoutError("the view did not get there")
        time.sleep(0.01)


def settle(app, seconds=0.4) -> None:
    """Let timers, layouts and deferred deletes run: grab() shows what is on screen, not what was."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        app.processEvents()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        time.sleep(0.01)


def shoot(app, window, name: str, dialog=None) -> None:
    """Save the window, with ``dialog`` composed over it where it stands (grab() alone misses dialogs)."""
    settle(app)
    picture = window.grab()
    if dialog is not None:
        dialog.adjustSize()
        settle(app, 0.2)
        top_left = QPoint((window.width() - dialog.width()) // 2, (window.height() - dialog.height()) // 3)
        painter = QPainter(picture)
        painter.drawPixmap(top_left, dialog.grab())
        painter.setPen(QColor("#52606d"))
        painter.drawRect(top_left.x(), top_left.y(), dialog.width() - 1, dialog.height() - 1)
        painter.end()
    picture.save(str(OUT / name))


def act(window, name: str) -> None:
    window.findChild(QAction, f"action-{name}").trigger()


def new_window(app, folder: Path, size=(1480, 920)) -> MainWindow:
    settings = AppSettings(QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat))
    settings.store_folder = folder / "store"
    settings.decided_by = "jane.doe"
    window = MainWindow(settings)
    window.confirm_close = lambda text: True
    window.resize(*size)
    window.show()
    return window


def simulated(app, window, path, inputs=None) -> None:
    window.open_pack(str(path), inputs)
    wait(app, lambda: window.session.simulation is not None and not window.session.busy
         and window.session.simulation.manifest_path == str(Path(path).resolve()))
    settle(app)


def decision_dialog(window) -> DecisionDialog:
    return next(d for d in window.findChildren(DecisionDialog) if d.isVisible())


def main() -> None:
    app = QApplication.instance() or QApplication([])
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        window = new_window(app, folder)
        sbom = PACKS / "sbom-remediation" / "pack.yaml"
        simulated(app, window, sbom, str(PACKS / "sbom-remediation" / "inputs-dry-run.json"))
        window.session.select("apply-remediation")
        shoot(app, window, "simulation.png")

        simulated(app, window, sbom)  # no inputs file: the graph stays, the steps needing input are marked
        window.session.select(None)
        shoot(app, window, "inputs-incomplete.png")

        simulated(app, window, PACKS / "release-approval.yaml")
        act(window, "run")
        wait(app, lambda: window.session.mode == Mode.WAITING)
        shoot(app, window, "waiting-at-gate.png")
        act(window, "approve")
        dialog = decision_dialog(window)
        dialog.reason.setPlainText("Release notes checked.")
        shoot(app, window, "approve-dialog.png", dialog)
        dialog.accept()
        wait(app, lambda: window.session.mode == Mode.WAITING and window.session.waiting_gate("policy"))
        act(window, "allow")
        decision_dialog(window).accept()
        wait(app, lambda: window.session.mode == Mode.FINISHED)
        window.session.select("publish")
        shoot(app, window, "run-succeeded.png")

        broken = folder / "broken-release.yaml"
        broken.write_text(INVALID)
        simulated(app, window, broken)
        window.problems.itemActivated.emit(window.problems.topLevelItem(0), 0)
        shoot(app, window, "problems.png")

        edited = folder / "flaky-fanout.yaml"  # saved in an editor: re-simulated, changes tagged
        original = (PACKS / "flaky-fanout.yaml").read_text()
        edited.write_text(original)
        simulated(app, window, edited)
        edited.write_text(original.replace("failTimes: 1", "failTimes: 2").replace("maxParallel: 2", "maxParallel: 3")
                          .replace("    - id: finish\n", "    - id: notify\n      run: {uses: builtin:noop}\n"
                                                           "    - id: finish\n")
                          .replace("          - id: check-late\n            run: {uses: builtin:sleep, with: {seconds: 0.3}}\n", ""))
        wait(app, lambda: "notify" in window.scene.items_by_id and window.changes.rows())
        window.docks["changes"].raise_()
        window.session.select("flaky")
        shoot(app, window, "changes-after-edit.png")

        long_pack = folder / "nightly-mirror.yaml"
        long_pack.write_text(LONG)
        simulated(app, window, long_pack)
        act(window, "run")
        wait(app, lambda: window.session.scheduler.states["mirror"].status == "running")
        window.close()
        reopened = new_window(app, folder, (1024, 700))
        simulated(app, reopened, PACKS / "flaky-fanout.yaml")
        reopened.offer_resume()
        shoot(app, reopened, "resume-offer.png")
        reopened.close()
    print(f"screenshots written to {OUT}")


if __name__ == "__main__":
    main()
