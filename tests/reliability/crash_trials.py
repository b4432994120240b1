"""Crash trials: SIGKILL a run at random instants, resume, repeat; then check the journal.

    .venv/bin/python tests/reliability/crash_trials.py [--trials 100] [--seed 1]

Each trial runs a pack with a parallel block, a map and retries through the
real CLI, kills the process at a random instant (again on each resume) until
the run ends, then checks from the journal and the snapshot:

* no step succeeded twice, and no succeeded step ran again;
* no transition is missing (replaying the journal through the state machine
  raises on any gap) and every step ended in a final state;
* the snapshot on disk agrees with the state the journal replays to;
* ``verify_run`` finds the journal's checksum chain intact and matching the
  snapshot (a crash is never mistaken for damage).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))

PACK = """
apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {name: crash-trial, version: 1.0.0}
spec:
  inputs:
    - {name: shards, type: array, default: [a, b, c, d, e, f]}
  steps:
    - {id: prepare, run: {uses: builtin:echo, with: {ready: true}}}
    - {id: flaky, run: {uses: builtin:fail, with: {failTimes: 2, message: transient}}}
    - id: checks
      parallel:
        maxParallel: 2
        continueOnError: true
        steps:
          - {id: check-a, run: {uses: builtin:sleep, with: {seconds: 0.05}}}
          - {id: check-b, run: {uses: builtin:fail, with: {failTimes: 9}}}
          - {id: check-c, run: {uses: builtin:sleep, with: {seconds: 0.05}}}
    - id: shard
      map:
        items: "{{ inputs.shards }}"
        maxParallel: 3
        step: {id: process, run: {uses: builtin:sleep, with: {seconds: 0.03, shard: "{{ item }}"}}}
    - {id: finish, run: {uses: builtin:echo, with: {flaky: "{{ steps.flaky.outputs.failedAttempts }}"}}}
  failure: {retries: {maxAttempts: 3, backoffSeconds: 0.05}}
"""


def _command(store: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "stella_desktop.cli", "task-runner", *args, "--store", str(store)]


def _run_killing(command: list[str], rng: random.Random, kill_within: float) -> int | None:
    """Run ``command``; SIGKILL it after a random delay. Returns its exit code, None if killed."""
    environment = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment)
    try:
        return process.wait(timeout=rng.uniform(0, kill_within))
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return None


def check_run(store: Path, run_id: str) -> list[str]:
    """What is wrong with a finished run's journal and snapshot (empty when nothing is)."""
    from core.execution.run import ActiveRun
    from core.execution.state import IllegalTransition, TERMINAL
    from core.execution.journal import verify_run
    from core.execution.store import RunStore
    problems = []
    check = verify_run(store / run_id)  # a crash is never mistaken for damage
    if not check.ok:
        return [f"verify_run: record {check.bad_record}: {check.reason}"]
    try:
        run = ActiveRun.open(RunStore(store), run_id, lock=False)
    except IllegalTransition as gap:
        return [f"a transition is missing: {gap}"]
    events = [r for r in run.handle.records if r["type"] == "transition"]
    succeeded: dict[str, int] = {}
    for event in events:
        step_id = event["stepId"]
        if event["to"] == "running" and step_id in succeeded:
            problems.append(f"{step_id} ran again after it succeeded")
        if event["to"] == "succeeded":
            succeeded[step_id] = succeeded.get(step_id, 0) + 1
    problems += [f"{s} succeeded {n} times" for s, n in succeeded.items() if n > 1]
    states = run.scheduler.states
    problems += [f"{s} ended {state.status}" for s, state in states.items() if state.status not in TERMINAL]
    if run.scheduler.status != "succeeded":
        problems.append(f"the run ended {run.scheduler.status}")
    snapshot = run.handle.read_snapshot()
    if snapshot is None:
        problems.append("the snapshot is older than the journal")
    else:
        flat = {}
        stack = list(snapshot["steps"])
        while stack:
            step = stack.pop()
            flat[step["stepId"]] = (step["status"], step["attempts"])
            stack.extend(step["children"])
        replayed = {s: (state.status, state.attempts) for s, state in states.items()}
        if flat != replayed:
            problems.append("the snapshot disagrees with the journal")
    run.close()
    return problems


def trial(folder: Path, rng: random.Random, kill_within: float = 1.5, max_kills: int = 40) -> tuple[list[str], int]:
    """One trial; returns (problems, kills)."""
    manifest = folder / "pack.yaml"
    manifest.write_text(PACK)
    store = folder / "store"
    kills = 0
    while not (store.exists() and any(store.iterdir())):  # killed before the run existed: start again
        if _run_killing(_command(store, "run", "--manifest", str(manifest)), rng, kill_within) is None:
            kills += 1
        if kills > max_kills:
            return ["the run was never created"], kills
    (run_id,) = [p.name for p in store.iterdir()]
    code = None
    while code is None or code == 5:  # 5: the killed process's lock not yet released; try again
        code = _run_killing(_command(store, "resume", run_id), rng, kill_within)
        if code is None:
            kills += 1
        if kills > max_kills:
            code = _run_killing(_command(store, "resume", run_id), rng, 120)  # let it finish
    if code != 0:
        return [f"the final resume exited {code}"], kills
    return check_run(store, run_id), kills


def calibrate() -> float:
    """1.2 x how long one whole run of the pack takes here and now (at least 1.5 s)."""
    with tempfile.TemporaryDirectory() as folder:
        manifest = Path(folder) / "pack.yaml"
        manifest.write_text(PACK)
        started = time.perf_counter()
        subprocess.run(_command(Path(folder) / "store", "run", "--manifest", str(manifest)),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=dict(os.environ, QT_QPA_PLATFORM="offscreen"), check=False)
        return max(1.5, 1.2 * (time.perf_counter() - started))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kill-within", type=float, default=None, metavar="SECONDS",
                        help="kill at a random instant in this window (default: 1.2 x one whole run, at least "
                             "1.5 s, so that on a loaded machine kills still land all through a run)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    kill_within = args.kill_within or calibrate()
    passed, total_kills, failures = 0, 0, []
    started = time.perf_counter()
    for number in range(1, args.trials + 1):
        with tempfile.TemporaryDirectory() as folder:
            problems, kills = trial(Path(folder), rng, kill_within)
        total_kills += kills
        if problems:
            failures.append((number, problems))
        else:
            passed += 1
    elapsed = time.perf_counter() - started
    print(f"crash trials: {args.trials} run, {passed} passed, {len(failures)} failed; "
          f"{total_kills} SIGKILLs at random instants within {kill_within:.1f} s of each start; "
          f"{elapsed:.0f} s (seed {args.seed})")
    for number, problems in failures[:10]:
        print(f"  trial {number}: {json.dumps(problems)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
