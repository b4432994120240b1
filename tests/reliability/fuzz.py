"""Long-mode fuzzing: 10,000+ mutated packs through the simulator, and runs that put secrets in messages.

    .venv/bin/python tests/reliability/fuzz.py [--cases 10000] [--secret-cases 1000] [--seed 1]

Prints the number of cases run, how many were refused with located problems,
how many simulated, how many of those were refused by an expression, plan or
value limit (the amplification strategies), the slowest case and the peak
memory, and any failure (an exception other than a located problem: what the
CLI would report as exit 70), with the falsifying manifest.  Then runs
``--secret-cases`` packs (through the CLI entry point, in process) whose steps
put secret values into expression errors, outputs, failure messages, command
output in other encodings and refused paths, and reports any encoding of a
secret found in the store, stdout, stderr or the API's answers, or any exit
70.  Exit 1 if
anything failed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent.parent), str(HERE.parent)]

from hypothesis import HealthCheck, given, seed, settings  # noqa: E402

from fuzzing import check_secret_run, check_simulation, mutated_manifests, secret_runs  # noqa: E402


def peak_mib() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--secret-cases", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    counts = {"cases": 0, "refused": 0, "simulated": 0, "limits": 0}
    slowest = [0.0]
    limit_words = ("1,000,000 elements", "units of work", "larger than", "longer than", "100,000 steps")
    failures: list[tuple[str, str]] = []

    @seed(args.seed)
    @settings(max_examples=args.cases, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(mutated_manifests())
    def run(text):
        counts["cases"] += 1
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
    print(f"fuzz: {counts['cases']:,} mutated manifests in {elapsed:.0f} s (seed {args.seed}): "
          f"{counts['refused']:,} refused with located problems ({counts['limits']:,} by an expression, plan "
          f"or value limit), {counts['simulated']:,} valid, {len(failures)} failures; slowest case "
          f"{slowest[0]:.2f} s, peak RSS {peak_mib():.0f} MiB")
    for problem, text in failures[:5]:
        print(f"\nFAILURE: {problem}\n{text[:2000]}")
    secret_failures = fuzz_secrets(args.secret_cases, args.seed) if args.secret_cases else []
    return 1 if failures or secret_failures else 0


def fuzz_secrets(cases: int, seed_value: int) -> list[tuple[str, str]]:
    import tempfile
    counts = {"cases": 0}
    failures: list[tuple[str, str]] = []

    @seed(seed_value)
    @settings(max_examples=cases, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(secret_runs())
    def run(case):
        text, secrets = case
        counts["cases"] += 1
        with tempfile.TemporaryDirectory() as folder:
            problem = check_secret_run(text, secrets, Path(folder))
        if problem:
            failures.append((problem, text))

    started = time.perf_counter()
    run()
    elapsed = time.perf_counter() - started
    print(f"secret fuzz: {counts['cases']:,} runs with secrets in messages in {elapsed:.0f} s (seed {seed_value}): "
          f"{len(failures)} failures (a secret in any encoding in the store, stdout, stderr or the API, or exit 70)")
    for problem, text in failures[:5]:
        print(f"\nFAILURE: {problem}\n{text[:2000]}")
    return failures


if __name__ == "__main__":
    sys.exit(main())
