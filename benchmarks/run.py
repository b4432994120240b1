"""One command for every benchmark: ``python -m benchmarks [--repeat 5] [--only NAME ...]``.

Each figure runs in its own process (so its peak RSS is its own) with its
floor or peer measured in that same process run; medians of ``--repeat``
runs after a warm-up.  Prints one table and writes
``benchmarks/results/latest.json``.  Peers (Dagster, Prefect) are measured
when ``benchmarks/peers/setup.sh`` has made their environments, and said to
be absent otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone

from benchmarks.figures import FIGURES, REPO

RESULTS = REPO / "benchmarks" / "results"


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:,.1f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def _verdict(result: dict) -> str:
    """"met" only if every target the figure sets is met."""
    value, floor = result.get("value"), result.get("floor")
    checks = []
    if "targetRatio" in result and floor:
        checks.append(value / floor <= result["targetRatio"])
    if "targetSeconds" in result:
        checks.append(value <= result["targetSeconds"])
    if "targetFaster" in result and floor:
        checks.append(value * result["targetFaster"] <= floor)
    if result.get("target") == "faster than the peer" and floor:
        checks.append(value < floor)
    if not checks:
        return ""
    return "met" if all(checks) else "NOT MET"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", nargs="*", choices=sorted(FIGURES))
    args = parser.parse_args()
    names = args.only or list(FIGURES)
    environment = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    results = {}
    for name in names:
        started = time.perf_counter()
        process = subprocess.run([sys.executable, "-m", "benchmarks.figures", name, "--repeat", str(args.repeat)],
                                 capture_output=True, text=True, cwd=REPO, env=environment, timeout=3600)
        if process.returncode != 0:
            results[name] = {"skipped": f"failed: {process.stderr.strip().splitlines()[-1:]}"}
        else:
            results[name] = json.loads(process.stdout.strip().splitlines()[-1])
        results[name]["wallSeconds"] = time.perf_counter() - started
        print(f"  measured {name} ({results[name]['wallSeconds']:.0f} s)", file=sys.stderr)
    header = ("figure", "ours (median)", "floor / peer, same run", "ratio", "target", "", "peak RSS")
    rows = []
    for name in names:
        result = results[name]
        label = FIGURES[name][0]
        if "skipped" in result:
            rows.append((label, "-", result["skipped"], "", "", "", ""))
            continue
        floor = result.get("floor")
        if not floor:
            ratio = "-"
        elif result["value"] / floor >= 0.1:
            ratio = f"{result['value'] / floor:.1f}x"
        else:
            ratio = f"1/{floor / result['value']:.0f}"  # a peer many times slower
        rows.append((label, _ms(result["value"]), f"{_ms(floor)}  {result.get('floorLabel', '')}", ratio,
                     result.get("target", ""), _verdict(result), f"{result['peakRssKiB'] / 1024:.0f} MiB"))
        if "alsoFloor" in result:  # a second floor for the same figure, on its own line
            other, other_label = result["alsoFloor"]
            rows.append(("", "", f"{_ms(other)}  {other_label}", f"{result['value'] / other:.1f}x", "", "", ""))
    widths = [max(len(str(row[i])) for row in rows + [header]) for i in range(len(header))]
    for row in [header] + rows:
        print("  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    for name in names:  # what a figure has to say beyond its row (e.g. its -X importtime)
        for note in results[name].get("notes", []):
            print(f"\n{FIGURES[name][0]}: {note}")
    RESULTS.mkdir(exist_ok=True)
    document = {"measuredAt": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                            "platform": platform.platform()},
                "repeat": args.repeat, "figures": results}
    (RESULTS / "latest.json").write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nwritten to {RESULTS / 'latest.json'}")
