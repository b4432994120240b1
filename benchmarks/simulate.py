"""How fast is simulate?  Prints figures and ratios to floors measured in the same run.

    python benchmarks/simulate.py [--steps 10000] [--repeat 5]

1. In process, on a generated pack of about ``--steps`` steps (maps, nested
   parallel blocks, approval and policy gates, plan-time and run-time whens):
   load (read + YAML + validation), plan, simulate and serialise, each timed
   separately (simulate builds no execution graph; building one is shown apart).
   Floor: building a networkx DiGraph of the same nodes and edges and sorting it
   topologically.  Target: total <= 4x the floor.
2. As a whole process: ``stella task-runner simulate`` on the bundled sample
   pack, against ``python -c pass``.  Target: <= 250 ms and <= 7x.

Medians of ``--repeat`` runs after one warm-up.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import networkx as nx  # noqa: E402
import yaml  # noqa: E402

from core.gc_pause import without_gc  # noqa: E402
from core.graph import ExecutionGraph  # noqa: E402
from core.manifest import load_pack  # noqa: E402
from core.plan import build_plan  # noqa: E402
from core.simulation import simulate  # noqa: E402


def generate_pack(target_steps: int) -> tuple[str, dict]:
    """A pack of about ``target_steps`` steps; returns (YAML text, inputs)."""
    items_per_map = 40
    lines = [
        "apiVersion: stellaops.io/pack.v1",
        "kind: TaskPack",
        "metadata: {name: bench, version: 1.0.0}",
        "spec:",
        "  inputs:",
        "    - {name: targets, type: array}",
        "    - {name: enabled, type: boolean, default: true}",
        "  approvals:",
        "    - {id: review, grants: [Packs.Approve], expiresAfter: PT1H}",
        "  failure: {retries: {maxAttempts: 3, backoffSeconds: 5}}",
        "  steps:",
    ]
    count = 0
    group = 0
    while count < target_steps:
        g = f"g{group}"
        lines += [
            f"    - id: {g}-prepare",
            "      when: \"{{ inputs.enabled }}\"",
            f"      run: {{uses: builtin:echo, with: {{group: {group}, label: \"group {{{{ inputs.enabled }}}}\"}}}}",
            f"    - id: {g}-review",
            f"      gate: {{approval: {{id: review, message: \"approve group {group}\"}}}}",
            f"    - id: {g}-policy",
            f"      gate: {{policy: {{policy: guard, parameters: {{group: {group}}}}}}}",
            f"    - id: {g}-fan",
            "      parallel:",
            "        maxParallel: 4",
            "        steps:",
            f"          - id: {g}-inner",
            "            parallel:",
            "              steps:",
            f"                - {{id: {g}-a, run: {{uses: builtin:noop}}}}",
            f"                - {{id: {g}-b, when: \"{{{{ steps.{g}-prepare.outputs.ok }}}}\", run: {{uses: builtin:noop}}}}",
            f"          - id: {g}-map",
            "            map:",
            "              items: \"{{ inputs.targets }}\"",
            "              maxParallel: 8",
            f"              step: {{id: {g}-sync, run: {{uses: builtin:echo, with: {{target: \"{{{{ item }}}}\", n: \"{{{{ index }}}}\"}}}}}}",
        ]
        count += 9 + items_per_map
        group += 1
    return "\n".join(lines) + "\n", {"targets": [f"t{i}" for i in range(items_per_map)]}


def median_time(function, repeat: int) -> tuple[float, object]:
    result = function()  # warm-up
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def floor_graph(nodes: list[str], edges: list[tuple[str, str]]):
    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(edges)
    return list(nx.topological_sort(graph))


floor_graph_without_gc = without_gc(floor_graph)


def process_times(commands: list[list[str]], repeat: int) -> list[float]:
    """Median wall time of each command; runs are interleaved so drift hits all alike."""
    for command in commands:
        subprocess.run(command, capture_output=True, check=True)
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(repeat):
        for index, command in enumerate(commands):
            started = time.perf_counter()
            subprocess.run(command, capture_output=True, check=True)
            times[index].append(time.perf_counter() - started)
    return [statistics.median(series) for series in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    text, inputs = generate_pack(args.steps)
    with tempfile.TemporaryDirectory() as folder:
        manifest = Path(folder) / "pack.yaml"
        manifest.write_text(text)
        t_load, pack = median_time(lambda: load_pack(manifest), args.repeat)
        t_yaml, _ = median_time(without_gc(lambda: yaml.compose(text, Loader=yaml.CSafeLoader)), args.repeat)
        t_plan, plan = median_time(lambda: build_plan(pack, inputs), args.repeat)
        t_graph, graph = median_time(lambda: ExecutionGraph.from_plan(plan), args.repeat)
        t_sim, preview = median_time(lambda: simulate(plan, graph), args.repeat)
        t_json, document = median_time(preview.to_json, args.repeat)
    nodes, edges = list(graph.nx.nodes), list(graph.nx.edges)
    t_floor_gc, _ = median_time(lambda: floor_graph(nodes, edges), args.repeat)
    t_floor, _ = median_time(lambda: floor_graph_without_gc(nodes, edges), args.repeat)
    total = t_load + t_plan + t_sim + t_json

    print(f"simulate in process: {len(graph):,} steps, {len(edges):,} edges, "
          f"{len(text) / 1024:.0f} KiB of YAML, {len(document) / 1024:.0f} KiB of JSON "
          f"(median of {args.repeat})")
    for label, value in (("load + validate", t_load), ("  of which libyaml", t_yaml), ("plan", t_plan),
                         ("simulate", t_sim), ("serialise JSON", t_json)):
        print(f"  {label:<18} {value * 1000:8.1f} ms")
    print(f"  {'total':<18} {total * 1000:8.1f} ms")
    print(f"  (an execution graph, which simulate does not need: {t_graph * 1000:.1f} ms)")
    print(f"  floor: networkx DiGraph build + topological sort of the same graph (same step ids): "
          f"{t_floor * 1000:.1f} ms with the cyclic GC paused as our phases do, "
          f"{t_floor_gc * 1000:.1f} ms with it running; the faster is the floor")
    t_floor = min(t_floor, t_floor_gc)
    ratio = total / t_floor
    print(f"  ratio total / floor: {ratio:.2f}x (target <= 4x) {'OK' if ratio <= 4 else 'OVER TARGET'}")

    sample = REPO / "resources" / "packs" / "sbom-remediation"
    cli = [sys.executable, "-m", "stella_desktop.cli", "task-runner", "simulate", "--manifest",
           str(sample / "pack.yaml"), "--inputs", str(sample / "inputs.json"), "--format", "json"]
    no_schema = [sys.executable, "-m", "stella_desktop.cli", "task-runner", "simulate", "--manifest",
                 str(REPO / "resources" / "packs" / "flaky-fanout.yaml"), "--format", "json"]
    floor_cli = [sys.executable, "-c", "pass"]
    env_repeat = max(args.repeat * 2, 11)
    t_cli, t_no_schema, t_floor_cli = process_times([cli, no_schema, floor_cli], env_repeat)
    print(f"\nsimulate as a process (sample pack, median of {env_repeat} interleaved runs):")
    print(f"  stella task-runner simulate: {t_cli * 1000:.0f} ms")
    print(f"  the same on flaky-fanout (no input schema, so jsonschema is never imported): {t_no_schema * 1000:.0f} ms")
    print(f"  floor: python -c pass: {t_floor_cli * 1000:.0f} ms")
    met = t_cli <= 0.25 and t_cli / t_floor_cli <= 7
    print(f"  ratio {t_cli / t_floor_cli:.2f}x (target <= 250 ms and <= 7x) {'OK' if met else 'OVER TARGET'}")
    results = {"steps": len(graph), "load": t_load, "plan": t_plan, "graph": t_graph, "simulate": t_sim,
               "serialise": t_json, "yaml_compose": t_yaml, "total": total, "floor": t_floor, "floor_with_gc": t_floor_gc, "ratio": ratio,
               "cli": t_cli, "cli_without_schema": t_no_schema, "cli_floor": t_floor_cli}
    out = REPO / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "simulate.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
