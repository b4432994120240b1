"""Time and peak memory of refusing each hostile manifest (figures for docs/reliability.md).

    .venv/bin/python tests/reliability/hostile_yaml.py

Each case runs in a fresh process; the figures are the process's own time in
``load_pack`` and its peak RSS (against the same process loading a valid pack).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path[:0] = [str(REPO), str(HERE.parent)]

from hostile_inputs import CASES  # noqa: E402

PROBE = """
import json, sys, time
sys.path.insert(0, sys.argv[2])
from core.errors import PackInvalid
from core.manifest import load_pack
started = time.perf_counter()
try:
    load_pack(sys.argv[1])
    outcome = "accepted"
except PackInvalid as invalid:
    outcome = str(invalid.problems[0]).split(": ", 1)[1]
elapsed = time.perf_counter() - started
# VmHWM, not ru_maxrss: the latter keeps the parent's high-water mark across fork and exec
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"seconds": elapsed, "peakKiB": peak, "outcome": outcome}))
"""


def measure(path: Path) -> dict:
    result = subprocess.run([sys.executable, "-c", PROBE, str(path), str(REPO)], capture_output=True, text=True,
                            timeout=120, check=True)
    return json.loads(result.stdout)


def main() -> None:
    baseline = measure(REPO / "resources" / "packs" / "flaky-fanout.yaml")
    print(f"{'case':<30} {'refused in':>10} {'peak RSS':>10}  message")
    print(f"{'(a valid pack, for scale)':<30} {baseline['seconds'] * 1000:>8.1f} ms {baseline['peakKiB'] / 1024:>7.1f} MiB")
    with tempfile.TemporaryDirectory() as folder:
        for name, (make, _) in CASES.items():
            path = Path(folder) / "pack.yaml"
            path.write_bytes(make())  # not kept in this process: children must not inherit its size
            figures = measure(path)
            print(f"{name:<30} {figures['seconds'] * 1000:>8.1f} ms {figures['peakKiB'] / 1024:>7.1f} MiB  "
                  f"{figures['outcome'][:70]}")


if __name__ == "__main__":
    main()
