"""Screenshots of the canvas on a large pack (issue 13) into docs/screenshots/.

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/canvas_screenshots.py

Opens the generated 2,050-step pack (``benchmarks/large_pack.py``) the way a
user does, and saves: Fit with the big blocks collapsed and the minimap; the
find field after Enter jumped into a collapsed block; Fit with every block
expanded (View > Expand All Blocks); the whole expanded graph zoomed out (the
overview picture); and the graph exported as PNG (title and legend).
"""

from __future__ import annotations

import json
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

from benchmarks.large_pack import large_pack  # noqa: E402
from stella_desktop import window_commands  # noqa: E402
from stella_desktop.main_window import MainWindow  # noqa: E402
from stella_desktop.settings import AppSettings  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


def settle(app, seconds: float = 0.4) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)


def main() -> None:
    app = QApplication.instance() or QApplication([])
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        text, inputs = large_pack(2050)
        (folder / "large-2050.yaml").write_text(text)
        (folder / "inputs.json").write_text(json.dumps(inputs))
        settings = AppSettings(QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat))
        settings.store_folder = folder / "store"
        window = MainWindow(settings)
        window.resize(1600, 1000)
        window.show()
        window.docks["results"].hide()  # more room for the canvas
        window.docks["problems"].hide()
        window.docks["run-log"].hide()
        window.docks["runs"].hide()
        window.open_pack(str(folder / "large-2050.yaml"), str(folder / "inputs.json"))
        deadline = time.monotonic() + 60
        while (window.session.simulation is None or window.session.busy) and time.monotonic() < deadline:
            app.processEvents()
        settle(app)
        window.actions["fit"].trigger()
        settle(app)
        window.grab().save(str(OUT / "canvas-large-fit-collapsed.png"))
        window.actions["find"].trigger()
        window.view.find_bar.field.setText("deep-7-3")
        window.view.find_next()
        settle(app)
        window.grab().save(str(OUT / "canvas-large-find.png"))
        window.view.find_bar.close_bar()
        window.actions["expand-all"].trigger()
        window.actions["fit"].trigger()
        settle(app)
        window.grab().save(str(OUT / "canvas-large-fit-expanded.png"))
        window.view.show_whole()
        settle(app)
        window.grab().save(str(OUT / "canvas-large-overview.png"))
        window.actions["collapse-all"].trigger()
        window_commands.export_graph(window, str(folder / "export.png"))
        exported = sorted(folder.glob("export*.png"))
        from PySide6.QtGui import QImage
        first = QImage(str(exported[0]))
        first.copy(0, 0, first.width(), min(first.height(), 1400)).save(str(OUT / "canvas-export-top.png"))
        print(window.statusBar().currentMessage())
        window.close()


if __name__ == "__main__":
    main()
