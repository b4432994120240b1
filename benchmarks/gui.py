"""How fast is the app?  Launch to painted graph, layout, and a full repaint of a big graph.

    QT_QPA_PLATFORM=offscreen python benchmarks/gui.py [--repeat 5]

1. Launch -> the sample pack's graph painted, warm (the window is created,
   the pack simulated on the worker, the scene built and painted once).
   Floor: a bare QMainWindow shown and painted.  Target <= 1.0 s.
2. Layout of generated 5,000 and 10,000-step packs (targets <= 0.1 s / 0.2 s);
   graphviz ``dot -Tplain`` on the same graphs when ``dot`` is installed.
3. One full repaint of the 10,000-step view at fit zoom (overview picture
   cached).  Target <= 16 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QSettings  # noqa: E402
from PySide6.QtGui import QImage, QPainter  # noqa: E402
from PySide6.QtWidgets import QApplication, QMainWindow  # noqa: E402

from core.graph import ExecutionGraph  # noqa: E402
from core.layout import layout_graph  # noqa: E402
from core.manifest import parse_pack  # noqa: E402
from core.plan import build_plan  # noqa: E402
from simulate import generate_pack  # noqa: E402
from stella_desktop.bundled import DEFAULT_INPUTS, DEFAULT_PACK  # noqa: E402
from stella_desktop.canvas.scene import GraphScene  # noqa: E402
from stella_desktop.canvas.view import GraphView  # noqa: E402
from stella_desktop.main_window import MainWindow  # noqa: E402
from stella_desktop.settings import AppSettings  # noqa: E402
from stella_desktop.step_status import StepView  # noqa: E402


def process_events_until(condition, timeout: float = 10.0) -> None:
    deadline = time.perf_counter() + timeout
    app = QApplication.instance()
    while not condition():
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
        if time.perf_counter() > deadline:
            raise TimeoutError("condition not met")


def launch_to_painted(folder: Path) -> float:
    settings = AppSettings(QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat))
    settings.store_folder = folder / "store"
    started = time.perf_counter()
    window = MainWindow(settings)
    window.show()
    window.open_pack(str(DEFAULT_PACK), str(DEFAULT_INPUTS))
    process_events_until(lambda: window.session.simulation is not None and window.scene.items_by_id)
    window.view.viewport().repaint()
    elapsed = time.perf_counter() - started
    window.close()
    window.deleteLater()
    QApplication.instance().processEvents()
    return elapsed


BARE_PROCESS = ("from PySide6.QtWidgets import QApplication, QMainWindow\n"
                "app = QApplication([]); w = QMainWindow(); w.resize(1400, 900); w.show(); w.repaint()\n"
                "app.processEvents(); print('painted')\n")


def process_launch(repeat: int) -> tuple[float, float]:
    """Wall time of a whole process: the app to its painted sample graph, and a bare window."""
    environment = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    app = [sys.executable, "-m", "stella_desktop.app", "--self-test"]
    bare = [sys.executable, "-c", BARE_PROCESS]
    times = {"app": [], "bare": []}
    for round_ in range(repeat + 1):  # the first round warms the file cache
        for name, command in (("app", app), ("bare", bare)):
            started = time.perf_counter()
            subprocess.run(command, capture_output=True, check=True, env=environment, timeout=60)
            if round_:
                times[name].append(time.perf_counter() - started)
    return statistics.median(times["app"]), statistics.median(times["bare"])


def bare_window() -> float:
    started = time.perf_counter()
    window = QMainWindow()
    window.resize(1400, 900)
    window.show()
    window.repaint()
    QApplication.instance().processEvents()
    elapsed = time.perf_counter() - started
    window.close()
    window.deleteLater()
    return elapsed


def graph_of(steps: int) -> ExecutionGraph:
    text, inputs = generate_pack(steps)
    return ExecutionGraph.from_plan(build_plan(parse_pack(text), inputs))


def dot_time(graph: ExecutionGraph) -> float | None:
    dot = shutil.which("dot")
    if dot is None:
        return None
    source = "digraph g {\n" + "\n".join(f'"{a}" -> "{b}";' for a, b in graph.nx.edges) + "\n}\n"
    started = time.perf_counter()
    subprocess.run([dot, "-Tplain"], input=source, capture_output=True, text=True, check=True, timeout=600)
    return time.perf_counter() - started


def repaint_time(graph: ExecutionGraph, repeat: int) -> tuple[float, float]:
    scene = GraphScene()
    scene.show_graph(graph, layout_graph(graph))
    scene.set_statuses({step_id: StepView("pending") for step_id in graph.order()})
    view = GraphView(scene)
    view.resize(1400, 900)
    view.show()
    view.fit()
    QApplication.instance().processEvents()
    image = QImage(view.viewport().size(), QImage.Format.Format_ARGB32_Premultiplied)

    def paint() -> float:
        painter = QPainter(image)
        started = time.perf_counter()
        view.render(painter)
        painter.end()
        return time.perf_counter() - started

    first = paint()  # builds the overview cache
    times = [paint() for _ in range(repeat)]
    view.close()
    return first, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        launch_to_painted(Path(folder))  # warm-up
        launches = [launch_to_painted(Path(folder)) for _ in range(args.repeat)]
    bare = statistics.median(bare_window() for _ in range(args.repeat))
    results["windowToGraph"] = statistics.median(launches)
    results["bareWindow"] = bare
    results["launch"], results["bareProcess"] = process_launch(args.repeat)
    print(f"launch -> sample graph painted, whole process, warm (median of {args.repeat}): "
          f"{results['launch'] * 1000:.0f} ms (target <= 1000 ms) {'OK' if results['launch'] <= 1 else 'OVER TARGET'}")
    print(f"  floor, a process showing a bare QMainWindow: {results['bareProcess'] * 1000:.0f} ms "
          f"-> ratio {results['launch'] / results['bareProcess']:.1f}x")
    print(f"  in process, window created -> graph painted: {results['windowToGraph'] * 1000:.0f} ms "
          f"(a bare QMainWindow: {bare * 1000:.0f} ms)")
    for steps, target in ((5000, 0.1), (10000, 0.2)):
        graph = graph_of(steps)
        layout_graph(graph)
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            layout_graph(graph)
            times.append(time.perf_counter() - started)
        value = statistics.median(times)
        results[f"layout{steps}"] = value
        dot = dot_time(graph)
        peer = f"graphviz dot -Tplain: {dot:.1f} s -> {dot / value:.0f}x slower" if dot else \
            "graphviz dot: not installed, not measured"
        print(f"layout of {len(graph):,} steps: {value * 1000:.1f} ms (target <= {target * 1000:.0f} ms) "
              f"{'OK' if value <= target else 'OVER TARGET'}; {peer}")
    first, repaint = repaint_time(graph_of(10000), args.repeat)
    results["repaintFirst"], results["repaint"] = first, repaint
    print(f"full repaint of the 10,000-step view at fit zoom: {repaint * 1000:.1f} ms cached "
          f"(target <= 16 ms) {'OK' if repaint <= 0.016 else 'OVER TARGET'}; first paint {first * 1000:.0f} ms")
    out = REPO / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "gui.json").write_text(json.dumps(results, indent=2) + "\n")
    app.quit()


if __name__ == "__main__":
    main()
