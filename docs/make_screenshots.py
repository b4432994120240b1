"""Regenerate the README screenshots into docs/screenshots/ (offscreen, or under Xvfb).

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/make_screenshots.py

Each view is driven the way a user gets there: open the sample and simulate;
run the release pack until it waits at its approval gate; open the approve
dialog; open an invalid pack; close during a long step and reopen.
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

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from stella_desktop.dialogs import DecisionDialog  # noqa: E402
from stella_desktop.main_window import MainWindow  # noqa: E402
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
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)


def new_window(app, folder: Path) -> MainWindow:
    settings = AppSettings(QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat))
    settings.store_folder = folder / "store"
    settings.decided_by = "jane.doe"
    window = MainWindow(settings)
    window.resize(1480, 920)
    window.show()
    return window


def simulated(app, window, path, inputs=None) -> None:
    window.open_pack(str(path), inputs)
    wait(app, lambda: window.result is not None and window.result.manifest_path == str(Path(path).resolve())
         and not window._tasks)
    settle(app)


def main() -> None:
    app = QApplication.instance() or QApplication([])
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        window = new_window(app, folder)
        simulated(app, window, PACKS / "sbom-remediation" / "pack.yaml",
                  str(PACKS / "sbom-remediation" / "inputs-dry-run.json"))
        window.select_step("apply-remediation")
        settle(app)
        window.grab().save(str(OUT / "simulation.png"))

        simulated(app, window, PACKS / "release-approval.yaml")
        window.run_pack()
        wait(app, lambda: window.banner.isVisible() and "approval" in window.banner.label.text())
        settle(app)
        window.grab().save(str(OUT / "waiting-at-gate.png"))
        window.actions["approve"].trigger()
        dialog = next(d for d in window.findChildren(DecisionDialog) if d.isVisible())
        dialog.reason.setPlainText("Release notes checked.")
        settle(app)
        window.grab().save(str(OUT / "approve-dialog.png"))
        dialog.accept()
        wait(app, lambda: "policy" in window.banner.label.text())
        window._decide("policy", True, window._waiting_gate("policy"), "jane.doe", None)
        wait(app, lambda: window.run_control.scheduler.status == "succeeded")
        settle(app)
        window.grab().save(str(OUT / "run-succeeded.png"))

        broken = folder / "broken-release.yaml"
        broken.write_text(INVALID)
        simulated(app, window, broken)
        window.problems.itemActivated.emit(window.problems.topLevelItem(0), 0)
        settle(app)
        window.grab().save(str(OUT / "problems.png"))

        long_pack = folder / "nightly-mirror.yaml"
        long_pack.write_text(LONG)
        simulated(app, window, long_pack)
        window.run_pack()
        wait(app, lambda: window.run_control.scheduler.states["mirror"].status == "running")
        window.confirm_close = lambda: True
        window.close()
        reopened = new_window(app, folder)
        simulated(app, reopened, PACKS / "flaky-fanout.yaml")
        reopened.offer_resume()
        settle(app, 1.0)
        reopened.grab().save(str(OUT / "resume-offer.png"))
        reopened.close()
    print(f"screenshots written to {OUT}")


if __name__ == "__main__":
    main()
