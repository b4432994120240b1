"""Long-mode manifest fuzzing: 10,000+ mutated packs through the simulator, in process.

    .venv/bin/python tests/reliability/fuzz.py [--cases 10000] [--seed 1]

Prints the number of cases run, how many were refused with located problems,
how many simulated, and any failure (an exception other than a located
problem), with the falsifying manifest.  Exit 1 if anything failed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent.parent), str(HERE.parent)]

from hypothesis import HealthCheck, given, seed, settings  # noqa: E402

from fuzzing import check_simulation, mutated_manifests  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    counts = {"cases": 0, "refused": 0, "simulated": 0}
    failures: list[tuple[str, str]] = []

    @seed(args.seed)
    @settings(max_examples=args.cases, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(mutated_manifests())
    def run(text):
        counts["cases"] += 1
        from core.errors import PackInvalid
        from core.manifest import parse_pack
        problem = check_simulation(text)
        if problem:
            failures.append((problem, text))
            return
        try:
            parse_pack(text, "fuzz.yaml")
            counts["simulated"] += 1
        except PackInvalid:
            counts["refused"] += 1

    started = time.perf_counter()
    run()
    elapsed = time.perf_counter() - started
    print(f"fuzz: {counts['cases']:,} mutated manifests in {elapsed:.0f} s (seed {args.seed}): "
          f"{counts['refused']:,} refused with located problems, {counts['simulated']:,} valid, "
          f"{len(failures)} failures")
    for problem, text in failures[:5]:
        print(f"\nFAILURE: {problem}\n{text[:2000]}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
