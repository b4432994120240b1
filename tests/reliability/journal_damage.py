"""Journal damage trials: damage a finished run's journal at random, check it is always reported.

    .venv/bin/python tests/reliability/journal_damage.py [--trials 2000] [--seed 1] [--records 100000]

A real run (the flaky fan-out sample, through the CLI) is made once.  Each
trial copies it and does one random thing to its journal: remove one or more
lines, swap two, duplicate one, truncate it at a line boundary, empty it,
delete it, or flip one byte.  Every trial must be reported as damage by
``verify_run`` (with the record number) and by the store (``RunCorrupt``, so
the CLI exits 5 and ``runs list`` shows the run damaged): a finished run's
snapshot covers its whole journal, so none of these may pass as a crash.

Then it times ``verify_run`` on a journal of ``--records`` records.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))

from core.execution.journal import encode_line, verify_run  # noqa: E402
from core.execution.store import RunCorrupt, RunStore  # noqa: E402

KINDS = ("remove", "remove-several", "swap", "duplicate", "truncate", "empty", "delete", "flip-byte")


def make_run(folder: Path) -> tuple[Path, str]:
    store = folder / "store"
    manifest = REPO / "resources" / "packs" / "flaky-fanout.yaml"
    environment = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-m", "stella_desktop.cli", "task-runner", "run", "--manifest",
                             str(manifest), "--store", str(store)], capture_output=True, text=True, env=environment)
    if result.returncode != 0:
        raise SystemExit(f"the sample run failed: {result.stderr}")
    (run_id,) = os.listdir(store)
    return store, run_id


def damage(journal: Path, kind: str, rng: random.Random) -> None:
    lines = journal.read_bytes().splitlines(keepends=True)
    count = len(lines)
    if kind == "remove":
        del lines[rng.randrange(count)]
    elif kind == "remove-several":
        start = rng.randrange(count - 1)
        del lines[start:start + rng.randint(2, min(5, count - start))]
    elif kind == "swap":
        first, second = rng.sample(range(count), 2)
        lines[first], lines[second] = lines[second], lines[first]
    elif kind == "duplicate":
        index = rng.randrange(count)
        lines.insert(rng.randrange(count + 1), lines[index])
    elif kind == "truncate":
        lines = lines[:rng.randrange(count)]
    elif kind == "empty":
        lines = []
    elif kind == "delete":
        journal.unlink()
        return
    else:
        data = bytearray(b"".join(lines))
        position = rng.randrange(len(data))
        data[position] ^= 1 << rng.randrange(8)
        journal.write_bytes(bytes(data))
        return
    journal.write_bytes(b"".join(lines))


def time_verify(records: int) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as folder:
        store = RunStore(Path(folder) / "store")
        handle = store.create({"pack": {"name": "p", "version": "1.0.0"}, "createdAt": "x"}, "big")
        previous, chunks = 0, []
        for n in range(records):
            line, previous = encode_line({"type": "run", "at": "2026-01-01T00:00:00.000000Z", "status": "running",
                                          "reason": f"record {n}"}, previous)
            chunks.append(line)
        handle.close()
        journal = store.root / "big" / "journal.jsonl"
        journal.write_bytes(b"".join(chunks))
        started, cpu = time.perf_counter(), time.process_time()
        check = verify_run(store.root / "big")
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        assert check.ok and check.records == records
        return elapsed, cpu, journal.stat().st_size


def trials(original: Path, run_id: str, work: Path, count: int, rng: random.Random) -> tuple[list[str], dict]:
    """Damage ``count`` copies of a finished run; returns what was missed and the kinds tried."""
    missed: list[str] = []
    by_kind = dict.fromkeys(KINDS, 0)
    for number in range(1, count + 1):
        kind = rng.choice(KINDS)
        by_kind[kind] += 1
        copy = work / "trial" / run_id
        shutil.rmtree(copy.parent, ignore_errors=True)
        shutil.copytree(original, copy)
        damage(copy / "journal.jsonl", kind, rng)
        check = verify_run(copy)
        try:
            RunStore(copy.parent).open(run_id, lock=False)
            opened = True
        except RunCorrupt:
            opened = False
        listed = [s.status for s in RunStore(copy.parent).list()]
        if check.ok or opened or listed != ["damaged"]:
            missed.append(f"trial {number} ({kind}): verify_run ok={check.ok}, opened={opened}, listed={listed}")
    return missed, by_kind


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        store, run_id = make_run(Path(folder))
        assert verify_run(store / run_id).ok
        missed, by_kind = trials(store / run_id, run_id, Path(folder), args.trials, rng)
    elapsed = time.perf_counter() - started
    print(f"journal damage: {args.trials:,} trials in {elapsed:.0f} s (seed {args.seed}): "
          f"{args.trials - len(missed):,} reported as damage, {len(missed)} missed; by kind: "
          + ", ".join(f"{kind} {count}" for kind, count in by_kind.items()))
    for line in missed[:10]:
        print("  " + line)
    seconds, cpu, size = time_verify(args.records)
    print(f"verify_run on a journal of {args.records:,} records ({size / 2**20:.1f} MiB): {seconds:.2f} s "
          f"({cpu:.2f} s of CPU)")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
