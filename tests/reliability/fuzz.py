"""Long-mode fuzzing: runs that put secrets in messages and decisions, and mutated packs through the simulator.

    .venv/bin/python tests/reliability/fuzz.py [--cases 10000] [--secret-cases 1000] [--seed 1] [--batch 50]

First runs ``--secret-cases`` packs (through the CLI entry point, in process,
``--batch`` of them per store on tmpfs and per ``stella serve``) whose steps put
secret values into expression errors, outputs, failure messages, command
output in other encodings, refused paths and gates, then decide the gates
over HTTP or the CLI with names and reasons carrying the secret; reports any
encoding of a secret found in the store, stdout, stderr, ``runs show``/``runs
list``, the API's answers or the server's output, any traceback and any
unexpected exit (70 included).  Then ``--cases`` mutated manifests: the number
run, how many were refused with located problems, how many simulated, how many
of those were refused by an expression, plan or value limit (the amplification
strategies), the slowest case and the peak memory, and any failure (an
exception other than a located problem: what the CLI would report as exit 70),
with the falsifying manifest.  Exit 1 if anything failed.
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
from secret_fuzzing import check_secret_cases, secret_runs  # noqa: E402


def peak_mib() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--secret-cases", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=50, help="secret runs per store and API server")
    args = parser.parse_args()
    secret_failures = fuzz_secrets(args.secret_cases, args.seed, args.batch) if args.secret_cases else []
    failures = fuzz_manifests(args.cases, args.seed) if args.cases else []
    print(f"total: {args.cases + args.secret_cases:,} cases, {len(failures) + len(secret_failures)} failures")
    return 1 if failures or secret_failures else 0


def fuzz_manifests(cases: int, seed_value: int) -> list[tuple[str, str]]:
    counts = {"cases": 0, "refused": 0, "simulated": 0, "limits": 0}
    slowest = [0.0]
    limit_words = ("1,000,000 elements", "units of work", "larger than", "longer than", "100,000 steps")
    failures: list[tuple[str, str]] = []

    @seed(seed_value)
    @settings(max_examples=cases, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(mutated_manifests())
    def run(text):
        counts["cases"] += 1
        if counts["cases"] % 500 == 0:
            print(f"  manifests: {counts['cases']:,}/{cases:,}, {len(failures)} failures, "
                  f"{time.perf_counter() - started:.0f} s", flush=True)
        from core.errors import PackInvalid
        from core.manifest import parse_pack
        case_started = time.perf_counter()
        problem = check_simulation(text)
        slowest[0] = max(slowest[0], time.perf_counter() - case_started)
        if problem:
            failures.append((problem, text))
            return
        try:
            from core.plan import build_plan
            build_plan(parse_pack(text, "fuzz.yaml"), {})
            counts["simulated"] += 1
        except PackInvalid as invalid:
            counts["refused"] += 1
            counts["limits"] += any(word in p.message for p in invalid.problems for word in limit_words)

    started = time.perf_counter()
    run()
    elapsed = time.perf_counter() - started
    print(f"fuzz: {counts['cases']:,} mutated manifests in {elapsed:.0f} s (seed {seed_value}): "
          f"{counts['refused']:,} refused with located problems ({counts['limits']:,} by an expression, plan "
          f"or value limit), {counts['simulated']:,} valid, {len(failures)} failures; slowest case "
          f"{slowest[0]:.2f} s, peak RSS {peak_mib():.0f} MiB")
    for problem, text in failures[:5]:
        print(f"\nFAILURE: {problem}\n{text[:2000]}", flush=True)
    return failures


def fuzz_secrets(cases: int, seed_value: int, batch: int) -> list[tuple[str, str]]:
    """Draw ``cases`` secret runs, then run them ``batch`` at a time (one store and one server each)."""
    from collections import Counter
    drawn = []

    @seed(seed_value)
    @settings(max_examples=cases, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(secret_runs())
    def collect(case):
        drawn.append(case)

    collect()
    counts: Counter = Counter()
    failures: list[tuple[str, str]] = []
    started, cpu = time.perf_counter(), time.process_time()
    for first in range(0, len(drawn), batch):
        failures += check_secret_cases(drawn[first:first + batch], counts=counts)
        done = min(first + batch, len(drawn))
        print(f"  secret runs: {done:,}/{len(drawn):,}, {len(failures)} failures, "
              f"{(time.perf_counter() - started) / done:.3f} s wall per run", flush=True)
    elapsed = time.perf_counter() - started
    print(f"secret fuzz: {len(drawn):,} runs with secrets in messages and decisions in {elapsed:.0f} s "
          f"({elapsed / max(len(drawn), 1):.3f} s wall, {(time.process_time() - cpu) / max(len(drawn), 1):.3f} s "
          f"CPU of this process per run; seed {seed_value}, {batch} runs per store and server): {len(failures)} "
          "failures (a secret in any encoding in the store, stdout, stderr, runs show/list, the API or the "
          f"server's output, a traceback or an unexpected exit); {dict(sorted(counts.items()))}")
    for problem, text in failures[:5]:
        print(f"\nFAILURE: {problem}\n{text[:2000]}", flush=True)
    return failures


if __name__ == "__main__":
    sys.exit(main())
