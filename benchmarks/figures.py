"""Each benchmark figure, measured with its floor or peer in the same process run.

    python -m benchmarks.figures NAME [--repeat N]

prints one JSON object: ``value`` and ``floor`` in seconds (or ``unit``),
labels, the target, and the process's peak RSS.  ``python -m benchmarks``
runs them all, one process each, and prints the table.
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
sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
SAMPLE = REPO / "resources" / "packs" / "sbom-remediation"
PEERS = REPO / "benchmarks" / "peers"


def median_of(function, repeat: int) -> float:
    function()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def interleaved_calls(functions: list, repeat: int) -> list[float]:
    """The median time of each function, called in turn ``repeat`` times after one warm-up call each."""
    for function in functions:
        function()
    times = [[] for _ in functions]
    for _ in range(repeat):
        for index, function in enumerate(functions):
            started = time.perf_counter()
            function()
            times[index].append(time.perf_counter() - started)
    return [statistics.median(t) for t in times]


def interleaved(commands: list[list[str]], repeat: int, env=None) -> list[float]:
    for command in commands:
        subprocess.run(command, capture_output=True, check=True, env=env)
    times = [[] for _ in commands]
    for _ in range(repeat):
        for index, command in enumerate(commands):
            started = time.perf_counter()
            subprocess.run(command, capture_output=True, check=True, env=env)
            times[index].append(time.perf_counter() - started)
    return [statistics.median(t) for t in times]


# -- the figures ------------------------------------------------------------------------------------
def simulate_10k(repeat: int) -> dict:
    """What ``simulate`` does (read YAML, validate, plan, simulate, write JSON), three times over.

    Simulate needs no execution graph (a step's status depends on the step alone), so none
    is built; the floor is building and sorting the networkx graph of the same steps.
    """
    from simulate import floor_graph, generate_pack
    from core.gc_pause import without_gc
    from core.graph import ExecutionGraph
    from core.manifest import parse_pack
    from core.plan import build_plan
    from core.simulation import simulate
    text, inputs = generate_pack(10_000)

    def ours():
        simulate(build_plan(parse_pack(text), inputs)).to_json()

    graph = ExecutionGraph.from_plan(build_plan(parse_pack(text), inputs))
    nodes, edges = list(graph.nx.nodes), list(graph.nx.edges)
    floors = (lambda: floor_graph(nodes, edges), lambda: without_gc(floor_graph)(nodes, edges))
    runs = []
    for _ in range(3):  # the target must hold in each of three consecutive runs
        # The floor (with and without the collector: the faster counts) and ours in turn, one
        # of each per round: this machine's speed drifts by a third within seconds, so blocks
        # measured one after the other compared the floor and ours at different speeds.
        with_gc, no_gc, value = interleaved_calls([*floors, ours], max(repeat * 2, 11))  # as cli-simulate
        runs.append((value, min(with_gc, no_gc)))
    value, floor = max(runs, key=lambda run: run[0] / run[1])
    return {"value": value, "floor": floor,
            "floorLabel": f"networkx DiGraph build + topological sort, {len(nodes):,} nodes (worst of 3 runs)",
            "target": "<= 4x floor in each of 3 runs", "targetRatio": 4,
            "notes": ["simulate 10k, three consecutive runs: " + ", ".join(
                f"{v * 1000:.0f} ms / {f * 1000:.0f} ms = {v / f:.1f}x" for v, f in runs)]}


def import_times(command: list[str], top: int = 8) -> list[str]:
    """The slowest imports of ``command`` by ``-X importtime`` (min of 3 runs; cumulative ms)."""
    best: dict[str, int] = {}
    for _ in range(3):
        stderr = subprocess.run([command[0], "-X", "importtime", *command[1:]], capture_output=True,
                                text=True).stderr
        for line in stderr.splitlines():
            parts = line.split("|")
            if len(parts) == 3 and parts[1].strip().isdigit() and not parts[2].startswith("  "):
                name, cumulative = parts[2].strip(), int(parts[1])
                best[name] = min(best.get(name, cumulative), cumulative)
    ranked = sorted(best.items(), key=lambda item: -item[1])[:top]
    return [f"-X importtime (top-level imports, cumulative, min of 3): "
            + ", ".join(f"{name} {micros / 1000:.0f} ms" for name, micros in ranked)]


def forecast_10k(repeat: int) -> dict:
    """A forecast of the same 10k-step pack against its plain simulation, interleaved in one run.

    Assumptions make the scheduler work: every map child takes 1.5 s (so maxParallel queues
    fill), the first group's prepare step fails twice and retries after the pack's backoff.
    """
    from simulate import generate_pack
    from core.forecast import forecast
    from core.manifest import parse_pack
    from core.plan import build_plan
    from core.simulation import simulate
    text, inputs = generate_pack(10_000)
    groups = text.count("-prepare\n")
    durations = {f"g{group}-sync": 1.5 for group in range(groups)}

    def plain():
        simulate(build_plan(parse_pack(text), inputs)).to_json()

    def ours():
        preview = simulate(build_plan(parse_pack(text), inputs))
        preview.to_json(forecast(preview, {"g0-prepare": "fail:2"}, durations))

    plain(), ours()
    times: list[list[float]] = [[], []]
    for _ in range(repeat):
        for index, function in enumerate((plain, ours)):
            started = time.perf_counter()
            function()
            times[index].append(time.perf_counter() - started)
    return {"value": statistics.median(times[1]), "floor": statistics.median(times[0]),
            "floorLabel": "plain simulate of the same pack (load..serialise), interleaved",
            "target": "<= 2x plain simulate", "targetRatio": 2}


def cli_simulate(repeat: int) -> dict:
    cli = [sys.executable, "-m", "stella_desktop.cli", "task-runner", "simulate", "--manifest",
           str(SAMPLE / "pack.yaml"), "--inputs", str(SAMPLE / "inputs.json"), "--format", "json"]
    imports = [sys.executable, "-c", "import pydantic, yaml, jmespath, jsonschema"]
    bare = [sys.executable, "-c", "pass"]
    ours, import_floor, floor = interleaved([cli, imports, bare], max(repeat * 2, 11))
    return {"value": ours, "floor": floor, "floorLabel": "python -c pass",
            "alsoFloor": [import_floor, "python -c 'import pydantic, yaml, jmespath, jsonschema'"],
            "target": "<= 250 ms and <= 7x python -c pass", "targetSeconds": 0.25, "targetRatio": 7,
            "notes": import_times(cli)}


def _layout(steps: int, repeat: int, target: float) -> dict:
    from gui import dot_time, graph_of
    from core.layout import layout_graph
    graph = graph_of(steps)
    result = {"value": median_of(lambda: layout_graph(graph), repeat), "target": f"<= {target * 1000:.0f} ms",
              "targetSeconds": target}
    peer = dot_time(graph) if shutil.which("dot") else None
    if peer is not None:
        result.update(floor=peer, floorLabel="peer: graphviz dot -Tplain, same graph")
    else:
        result.update(floorLabel="peer: graphviz dot (not installed here: apt-get install graphviz)")
    return result


def layout_5k(repeat: int) -> dict:
    return _layout(5000, repeat, 0.1)


def layout_10k(repeat: int) -> dict:
    return _layout(10_000, repeat, 0.2)


def _blit_floor(repeat: int) -> float:
    from PySide6.QtGui import QImage, QPainter, QPixmap
    image = QImage(1400, 900, QImage.Format.Format_ARGB32_Premultiplied)
    pixmap = QPixmap(1400, 900)
    pixmap.fill()

    def blit():
        painter = QPainter(image)
        painter.drawPixmap(0, 0, pixmap)
        painter.end()

    return median_of(blit, repeat * 4)


def _repaint(repeat: int, expanded: bool) -> dict:
    from PySide6.QtWidgets import QApplication
    from gui import large_graph, repaint_time
    app = QApplication.instance() or QApplication([])  # noqa: F841
    _, value, check = repaint_time(large_graph(10_000), repeat, expanded)  # raises if the picture is wrong
    return {"value": value, "floor": _blit_floor(repeat),
            "floorLabel": "one 1400x900 pixmap blit (the least a repaint can do)",
            "target": "<= 16 ms, after the picture check", "targetSeconds": 0.016,
            "extra": {"pictureCheck": check}}


def canvas_repaint_10k(repeat: int) -> dict:
    return _repaint(repeat, expanded=False)


def canvas_repaint_10k_expanded(repeat: int) -> dict:
    return _repaint(repeat, expanded=True)


def canvas_open_10k(repeat: int) -> dict:
    from PySide6.QtWidgets import QApplication
    from gui import canvas_to_fit, large_graph, rect_floor
    app = QApplication.instance() or QApplication([])  # noqa: F841
    graph = large_graph(10_000)
    canvas_to_fit(graph)
    canvas, floor = [], []
    for _ in range(repeat):  # interleaved, so both see the same load
        canvas.append(canvas_to_fit(graph))
        floor.append(rect_floor(len(graph)))
    return {"value": statistics.median(canvas), "floor": statistics.median(floor),
            "floorLabel": "10,000 plain QGraphicsRectItems added to a bare scene",
            "target": "<= 3x floor (graph -> painted, checked Fit)", "targetRatio": 3}


def open_file_10k(repeat: int) -> dict:
    from PySide6.QtWidgets import QApplication
    from gui import open_to_fit
    app = QApplication.instance() or QApplication([])  # noqa: F841
    from large_pack import large_pack
    from stella_desktop.workers import SimulationRequest, run_simulation
    with tempfile.TemporaryDirectory() as folder:
        open_to_fit(Path(folder), 10_000)
        value = statistics.median(open_to_fit(Path(folder), 10_000) for _ in range(repeat))
        _, inputs = large_pack(10_000)
        request = SimulationRequest(1, str(Path(folder) / "large-10000.yaml"), inputs)
        simulation = median_of(lambda: run_simulation(request), max(1, repeat // 2))
    return {"value": value, "target": "<= 1.5 s (file read, checked, planned, simulated, drawn, painted)",
            "targetSeconds": 1.5,
            "alsoFloor": [simulation, "of which the simulation worker alone (read, check, plan, simulate)"]}


def canvas_find_10k(repeat: int) -> dict:
    from PySide6.QtWidgets import QApplication
    from gui import find_and_jump, jump_floor, large_graph
    app = QApplication.instance() or QApplication([])  # noqa: F841
    graph = large_graph(10_000)
    return {"value": find_and_jump(graph, repeat), "floor": jump_floor(len(graph), repeat),
            "floorLabel": "scrolling a view of 10,000 plain rect items to an unseen part and painting it",
            "target": "<= 50 ms (Enter -> selected, expanded, centred, painted)", "targetSeconds": 0.05}


def _execute(repeat: int, once, floor_of) -> dict:
    from execute import pack_text, store_alone
    with tempfile.TemporaryDirectory() as folder:
        manifest = Path(folder) / "pack.yaml"
        manifest.write_text(pack_text(1000, 8))
        once(manifest, Path(folder) / "warm")
        runs = [once(manifest, Path(folder) / f"s{i}") for i in range(repeat)]
        records = runs[0][1]
        store = statistics.median(store_alone(Path(folder) / f"a{i}", records) for i in range(repeat))
    value = statistics.median(r[0] for r in runs)
    floor = statistics.median(floor_of() for _ in range(repeat))
    return {"value": value, "floor": floor, "records": records, "store": store}


def execute_1000(repeat: int) -> dict:
    """The threads backend (CLI, API): the core driver's loop, steps on a ThreadPoolExecutor."""
    from execute import bare_pool, run_threads
    measured = _execute(repeat, lambda manifest, root: run_threads(manifest, root, 8), lambda: bare_pool(1000, 8))
    value = measured["value"]
    return {"value": value, "floor": measured["floor"],
            "floorLabel": "bare ThreadPoolExecutor, 1,000 no-ops on 8 threads",
            "extra": {"storeAloneSeconds": measured["store"], "stepsPerSecond": 1000 / value},
            "alsoFloor": [measured["store"], f"the store alone appending the same {measured['records']:,} records"],
            "target": ">= 10,000 steps/s (<= 100 ms) and <= 8x floor", "targetSeconds": 0.1, "targetRatio": 8}


def execute_1000_qt(repeat: int) -> dict:
    """The qt backend (the app): the same driver hosted on a Qt event loop, steps on a QThreadPool."""
    from PySide6.QtCore import QCoreApplication
    from execute import bare_pool, run_qt
    app = QCoreApplication.instance() or QCoreApplication([])
    measured = _execute(repeat, lambda manifest, root: run_qt(app, manifest, root, 8), lambda: bare_pool(1000, 8))
    value = measured["value"]
    return {"value": value, "floor": measured["floor"],
            "floorLabel": "bare ThreadPoolExecutor, 1,000 no-ops on 8 threads",
            "extra": {"stepsPerSecond": 1000 / value},
            "target": ">= 5,000 steps/s (<= 200 ms)", "targetSeconds": 0.2}


def _dask_run(repeat: int) -> dict:
    """Stella's runs interleaved with the floors on the same cluster: on a shared machine the load drifts
    within a figure, and the ratios must compare like with like.  Each repeat: stella on the runners
    (the backend's default), stella on Dask's task path (the backend before its runners), the runners'
    bare window and lone call, the task path's bare window, ``client.map`` and lone round trip."""
    from execute import actor_floors, bare_client_map, bare_window, local_cluster, pack_text, round_trip, run_dask
    cluster, client = local_cluster(2)
    try:
        with tempfile.TemporaryDirectory() as folder:
            manifest = Path(folder) / "pack.yaml"
            manifest.write_text(pack_text(1000, 8))
            run_dask(client, manifest, Path(folder) / "warm")
            run_dask(client, manifest, Path(folder) / "warm-tasks", actors=False)
            bare_window(client, 1000, 8)
            actor_floors(client, 1000, 8, 5)
            runs, tasks, windows, maps, laps, actor_windows, actor_laps = [], [], [], [], [], [], []
            for i in range(repeat):
                runs.append(run_dask(client, manifest, Path(folder) / f"s{i}")[0])
                tasks.append(run_dask(client, manifest, Path(folder) / f"t{i}", actors=False)[0])
                actor_window, actor_lap = actor_floors(client, 1000, 8, 20)
                actor_windows.append(actor_window)
                actor_laps.append(actor_lap)
                windows.append(bare_window(client, 1000, 8))
                maps.append(bare_client_map(client, 1000))
                laps.append(round_trip(client, 20))
    finally:
        client.close()
        cluster.close()
    return {"value": statistics.median(runs), "tasks": statistics.median(tasks), "floor": statistics.median(maps),
            "window": statistics.median(windows), "roundTrip": statistics.median(laps),
            "actorWindow": statistics.median(actor_windows), "actorRoundTrip": statistics.median(actor_laps)}


def execute_1000_dask(repeat: int) -> dict:
    """The dask backend on a LocalCluster of 2 worker processes (its runners), beside the floors of both
    transports and the same backend on Dask's task path, interleaved."""
    measured = _dask_run(repeat)
    value, tasks = measured["value"], measured["tasks"]
    window, lap = measured["window"], measured["roundTrip"]
    actor_window, actor_lap = measured["actorWindow"], measured["actorRoundTrip"]
    return {"value": value, "floor": actor_window,
            "floorLabel": f"bare runner calls on the same cluster, 8 in flight (no driver, no attempt); one call "
                          f"{actor_lap * 1000:.2f} ms, x 1000/8 = {actor_lap * 125 * 1000:.0f} ms",
            "extra": {"stepsPerSecond": 1000 / value, "taskPathSeconds": tasks, "bareWindowSeconds": window,
                      "roundTripSeconds": lap, "roundTripTimes125": lap * 125, "clientMapSeconds": measured["floor"],
                      "actorWindowSeconds": actor_window, "actorRoundTripSeconds": actor_lap,
                      "actorRoundTripTimes125": actor_lap * 125},
            "alsoFloor": [window, f"task path's bare window: 8 no-op tasks in flight (no driver); one submit->result "
                                  f"{lap * 1000:.1f} ms, x 1000/8 = {lap * 125 * 1000:.0f} ms"],
            "notes": [f"the same backend on Dask's task path (actors=False), interleaved: {tasks * 1000:,.0f} ms "
                      f"(the runners {tasks / value:.1f}x faster); bare client.map + gather of the 1,000 no-ops: "
                      f"{measured['floor'] * 1000:,.0f} ms"],
            "target": "(ratio to the runners' bare window, reported)"}


def resume_10k(repeat: int) -> dict:
    from core.execution.executors import ExecutorRegistry
    from core.execution.run import ActiveRun
    from core.execution.store import RunStore, decode_journal
    items = ", ".join(str(i) for i in range(9_999))
    text = ("apiVersion: stellaops.io/pack.v1\nkind: TaskPack\nmetadata: {name: resume-bench, version: 1.0.0}\n"
            f"spec:\n  steps:\n    - id: m\n      map:\n        items: [{items}]\n        maxParallel: 8\n"
            "        step: {id: t, run: {uses: builtin:noop}}\n")
    with tempfile.TemporaryDirectory() as folder:
        manifest = Path(folder) / "pack.yaml"
        manifest.write_text(text)
        store = RunStore(Path(folder) / "store")
        run = ActiveRun.create(store, manifest, registry=ExecutorRegistry.default(plugins=False))
        scheduler = run.scheduler
        scheduler.start()
        finished = 0
        while finished < 5_000:  # half the run done, 8 steps running when "the laptop closes"
            for step in scheduler.advance():
                scheduler.complete(step.id)
                finished += 1
        scheduler.advance()
        run_id = run.run_id
        run.handle.sync()
        run.handle.close()
        journal = store.root / run_id / "journal.jsonl"
        saved = journal.read_bytes()

        def ours() -> float:
            journal.write_bytes(saved)  # each repeat resumes the same interrupted run
            started = time.perf_counter()
            resumed = ActiveRun.open(store, run_id)
            resumed.scheduler.start()
            assert resumed.scheduler.advance()
            elapsed = time.perf_counter() - started
            resumed.handle.close()
            return elapsed

        def floor():
            decode_journal(journal.read_bytes(), "bench")

        ours()
        value = statistics.median(ours() for _ in range(repeat))
        records = len(decode_journal(saved, "bench")[0])
        return {"value": value, "floor": median_of(floor, repeat),
                "floorLabel": f"reading and checking the journal alone ({records:,} records)",
                "target": "(none set)"}


def app_launch(repeat: int) -> dict:
    from gui import process_launch
    value, floor = process_launch(repeat)
    app = [sys.executable, "-m", "stella_desktop.app", "--self-test"]
    return {"value": value, "floor": floor, "floorLabel": "a process showing a bare QMainWindow",
            "target": "<= 0.7 s and <= 4x the bare window", "targetSeconds": 0.7, "targetRatio": 4,
            "notes": import_times(app)}


def _peer(name: str, repeat: int) -> dict:
    python = PEERS / f"{name}-venv" / "bin" / "python"
    script = PEERS / f"{name}_fanout.py"
    if not python.exists():
        return {"skipped": f"{name} not installed: run benchmarks/peers/setup.sh"}
    times, ours, tasks = [], [], []
    for _ in range(max(1, repeat)):  # the peer and stella in turn: the machine's load drifts
        # Prefect's local server may take long to start on a busy machine: give it time rather than fail
        environment = dict(os.environ, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="300")
        result = subprocess.run([str(python), str(script)], capture_output=True, text=True, timeout=900,
                                cwd=tempfile.gettempdir(), env=environment)
        if result.returncode != 0:
            return {"skipped": f"{name} failed: {result.stderr.strip().splitlines()[-1:]}"}
        times.append(json.loads(result.stdout.strip().splitlines()[-1])["seconds"])
        measured = _dask_run(1)
        ours.append(measured["value"])
        tasks.append(measured["tasks"])
    value, peer, task_path = statistics.median(ours), statistics.median(times), statistics.median(tasks)
    return {"value": value, "floor": peer,
            "floorLabel": f"peer: {name}, the same 1,000-step fan-out, local with persistence",
            "extra": {"runs": ours, "peerRuns": times, "taskPathRuns": tasks},
            "notes": [f"each repeat runs {name}, then stella on the runners and on Dask's task path (actors=False): "
                      f"{name} {', '.join(f'{t:.1f}' for t in times)} s; runners "
                      f"{', '.join(f'{t * 1000:,.0f}' for t in ours)} ms ({peer / value:.1f}x faster); task path "
                      f"{', '.join(f'{t * 1000:,.0f}' for t in tasks)} ms ({peer / task_path:.1f}x faster)"],
            "target": ">= 10x faster than the peer (stella on the dask backend, 2-process LocalCluster)",
            "targetFaster": 10}


def dagster_peer(repeat: int) -> dict:
    return _peer("dagster", repeat)


def prefect_peer(repeat: int) -> dict:
    return _peer("prefect", repeat)


FIGURES = {
    "simulate-10k": ("simulate 10k steps in process (load..serialise)", simulate_10k),
    "forecast-10k": ("forecast 10k steps (simulate + virtual run + JSON)", forecast_10k),
    "cli-simulate": ("CLI simulate, cold process, sample pack", cli_simulate),
    "layout-5k": ("layout, 5k steps", layout_5k),
    "layout-10k": ("layout, 10k steps", layout_10k),
    "canvas-repaint-10k": ("canvas full repaint at Fit, 10k steps, collapsed", canvas_repaint_10k),
    "canvas-repaint-10k-expanded": ("canvas full repaint at Fit, 10k steps, expanded", canvas_repaint_10k_expanded),
    "canvas-open-10k": ("canvas: 10k-step graph to a painted Fit", canvas_open_10k),
    "canvas-find-10k": ("canvas: find and jump, 10k steps", canvas_find_10k),
    "open-file-10k": ("open a 10k-step pack file to a painted Fit", open_file_10k),
    "execute-1000": ("execute 1,000 no-op steps, maxParallel 8, store on: threads backend", execute_1000),
    "execute-1000-qt": ("execute 1,000 no-op steps, maxParallel 8, store on: qt backend", execute_1000_qt),
    "execute-1000-dask": ("execute 1,000 no-op steps on a 2-process Dask LocalCluster", execute_1000_dask),
    "resume-10k": ("resume a 10,000-step run (load + first dispatch)", resume_10k),
    "app-launch": ("app launch to painted sample graph", app_launch),
    "peer-dagster": ("1,000-step fan-out (dask backend) vs Dagster execute_in_process", dagster_peer),
    "peer-prefect": ("1,000-step fan-out (dask backend) vs Prefect (local)", prefect_peer),
}


def peak_rss_kib() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


def compile_bytecode() -> None:
    """Write the .pyc files an installed copy has (pip compiles on install).

    Without them (this machine sets PYTHONDONTWRITEBYTECODE) every cold process would compile
    our sources first, which a user's never does.
    """
    import compileall
    for folder in ("core", "stella_desktop", "benchmarks"):
        compileall.compile_dir(str(REPO / folder), quiet=1)


def main() -> None:
    compile_bytecode()
    parser = argparse.ArgumentParser()
    parser.add_argument("name", choices=sorted(FIGURES))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    result = FIGURES[args.name][1](args.repeat)
    result["peakRssKiB"] = peak_rss_kib()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
