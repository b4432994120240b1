"""A lost, moved or truncated journal record is damage, never a fresh start (issue 10, item 9)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.execution.journal import chain_hex, chain_of, encode_line, verify_run
from core.execution.store import RunCorrupt, RunStore

HEADER = {"pack": {"name": "p", "version": "1.0.0"}, "manifestPath": "/x/pack.yaml", "planHash": "sha256:0",
          "inputs": {}, "failurePolicy": {"maxAttempts": 1, "backoffSeconds": 0},
          "createdAt": "2026-01-01T00:00:00.000000Z"}


def record(n: int) -> dict:
    return {"type": "run", "at": f"2026-01-01T00:00:{n:02d}.000000Z", "status": "running", "reason": str(n)}


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "store")


def finished_run(store, count=5, snapshot=True) -> str:
    handle = store.create(HEADER, "run-1")
    for n in range(count):
        handle.append(record(n))
    if snapshot:
        handle.write_snapshot({"status": "succeeded"})
    handle.close()
    return "run-1"


def journal_lines(store) -> list[bytes]:
    return (store.root / "run-1" / "journal.jsonl").read_bytes().splitlines(keepends=True)


def rewrite(store, lines) -> None:
    (store.root / "run-1" / "journal.jsonl").write_bytes(b"".join(lines))


def test_an_intact_run_verifies_and_its_chain_is_in_the_snapshot(store):
    finished_run(store)
    check = verify_run(store.root / "run-1")
    assert check.ok and check.records == 5 and check.snapshot_records == 5 and not check.torn_tail
    snapshot = json.loads((store.root / "run-1" / "snapshot.json").read_text())
    assert snapshot["records"] == 5 and snapshot["chain"] == check.chain
    crcs = [int(line[:8], 16) for line in journal_lines(store)]
    assert check.chain == chain_hex(chain_of(crcs))
    assert store.open("run-1", lock=False).read_snapshot() == {"status": "succeeded"}


def test_each_line_checksum_chains_to_the_previous():
    first, crc = encode_line(record(1))
    second, _ = encode_line(record(2), crc)
    assert second != encode_line(record(2))[0]  # the same record after another line has another CRC


@pytest.mark.parametrize("damage, bad_record", [
    (lambda lines: lines[:2] + lines[3:], 3),                       # a middle line removed
    (lambda lines: [lines[0], lines[2], lines[1]] + lines[3:], 2),  # two lines swapped
    (lambda lines: lines[:3] + [lines[2]] + lines[3:], 4),          # a line duplicated
    (lambda lines: lines[1:], 1),                                   # the first line removed
])
def test_a_gap_reordering_or_duplicate_is_reported_with_its_line(store, damage, bad_record):
    finished_run(store, snapshot=False)
    rewrite(store, damage(journal_lines(store)))
    check = verify_run(store.root / "run-1")
    assert (check.ok, check.bad_record) == (False, bad_record)
    assert f"journal line {bad_record} is damaged" in check.reason
    with pytest.raises(RunCorrupt, match=f"journal line {bad_record} is damaged"):
        store.open("run-1")


@pytest.mark.parametrize("damage", ["truncated", "emptied", "deleted"])
def test_a_journal_shorter_than_its_snapshot_is_damage(store, damage):
    finished_run(store)
    path = store.root / "run-1" / "journal.jsonl"
    if damage == "truncated":
        rewrite(store, journal_lines(store)[:3])
    elif damage == "emptied":
        path.write_bytes(b"")
    else:
        path.unlink()
    check = verify_run(store.root / "run-1")
    assert not check.ok
    assert check.reason == "journal.jsonl is missing" if damage == "deleted" else "records were lost" in check.reason
    assert check.bad_record == {"truncated": 4, "emptied": 1, "deleted": 1}[damage]
    with pytest.raises(RunCorrupt):
        store.open("run-1")
    assert [s.status for s in store.list()] == ["damaged"]


def test_a_replaced_journal_fails_the_snapshots_chain(store):
    finished_run(store)
    other, crc = b"", 0
    for n in range(5):  # five well-chained lines, but another run's
        line, crc = encode_line(record(n + 10), crc)
        other += line
    (store.root / "run-1" / "journal.jsonl").write_bytes(other)
    check = verify_run(store.root / "run-1")
    assert (check.ok, check.bad_record) == (False, 1) and "not the ones the snapshot was made from" in check.reason


def test_a_torn_tail_or_records_after_the_snapshot_are_not_damage(store):
    handle = store.create(HEADER, "run-1")
    handle.append(record(1))
    handle.write_snapshot({"status": "running"})
    handle.append(record(2))
    handle.close()
    with open(store.root / "run-1" / "journal.jsonl", "ab") as stream:
        stream.write(encode_line(record(3))[0][:-5])
    check = verify_run(store.root / "run-1")
    assert check.ok and check.torn_tail and check.records == 2 and check.snapshot_records == 1
    reopened = store.open("run-1")
    assert reopened.records == [record(1), record(2)] and reopened.read_snapshot() is None
    reopened.append(record(4))
    reopened.close()
    assert verify_run(store.root / "run-1").records == 3


def test_runs_of_schema_version_1_still_open_and_resume(store):
    from core.execution.store import _checksum
    folder = store.root / "old"
    folder.mkdir(parents=True)
    header = dict(HEADER, runId="old", schemaVersion=1)
    (folder / "run.json").write_text(json.dumps({"checksum": _checksum(header), "header": header}))
    (folder / "journal.jsonl").write_bytes(encode_line(record(1))[0] + encode_line(record(2))[0])  # unchained
    handle = store.open("old")
    assert handle.records == [record(1), record(2)]
    handle.append(record(3))
    handle.close()
    assert verify_run(folder).ok and verify_run(folder).records == 3


PACK = """\
apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {name: chain, version: 1.0.0}
spec:
  steps:
    - {id: a, run: {uses: builtin:write-file, with: {path: a.txt, content: a}}}
    - {id: b, run: {uses: builtin:echo, with: {n: 2}}}
    - {id: c, run: {uses: builtin:echo, with: {n: 3}}}
"""


def stella(store, *args):
    environment = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-m", "stella_desktop.cli", "task-runner", *args, "--store", str(store)],
                          capture_output=True, text=True, timeout=120, env=environment)


@pytest.mark.parametrize("damage", ["emptied", "middle line removed"])
def test_a_damaged_finished_run_exits_5_is_listed_damaged_and_never_reruns(tmp_path, damage):
    manifest = tmp_path / "pack.yaml"
    manifest.write_text(PACK)
    store = tmp_path / "store"
    assert stella(store, "run", "--manifest", str(manifest)).returncode == 0
    (run_id,) = os.listdir(store)
    journal = store / run_id / "journal.jsonl"
    if damage == "deleted":
        journal.unlink()
    elif damage == "emptied":
        journal.write_bytes(b"")
    else:
        lines = journal.read_bytes().splitlines(keepends=True)
        journal.write_bytes(b"".join(lines[:3] + lines[4:]))
    before = journal.read_bytes() if journal.exists() else None
    for args in (("runs", "show", run_id), ("resume", run_id)):
        result = stella(store, *args)
        assert result.returncode == 5, (args, result.stdout, result.stderr)
        assert "stella: error: run '" in result.stderr and "Traceback" not in result.stderr
    listed = json.loads(stella(store, "runs", "list", "--format", "json").stdout)
    assert [(r["runId"], r["status"]) for r in listed] == [(run_id, "damaged")]
    assert (journal.read_bytes() if journal.exists() else None) == before  # nothing re-ran


def test_a_few_journal_damage_trials(tmp_path):
    """Short mode of tests/reliability/journal_damage.py: random damage to a real run is always caught."""
    import random
    sys.path.insert(0, str(Path(__file__).resolve().parent / "reliability"))
    from journal_damage import make_run, trials
    store, run_id = make_run(tmp_path)
    missed, by_kind = trials(store / run_id, run_id, tmp_path, 24, random.Random(5))
    assert missed == [] and sum(by_kind.values()) == 24


@pytest.mark.parametrize("name", ["journal.jsonl", "snapshot.json"])
def test_a_fifo_in_place_of_the_journal_or_snapshot_is_damage_not_a_hang(store, name):
    """Attack review: a FIFO (or a symlink to /dev/zero) as the journal or snapshot hung `runs show`,
    `runs list` and the API's worker on the read; store files are read only if they are regular files."""
    import threading

    finished_run(store)
    path = store.root / "run-1" / name
    path.unlink()
    os.mkfifo(path)
    outcome = {}

    def attempt():
        try:
            store.open("run-1", lock=False)
        except RunCorrupt as error:
            outcome["error"] = str(error)
        outcome["check"] = verify_run(store.root / "run-1")

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(20)
    if worker.is_alive():  # release the blocked reader so the test process can go on
        with open(path, "wb"):
            pass
        worker.join(5)
        pytest.fail(f"reading a FIFO {name} blocked")
    assert "not a regular file" in outcome["error"]
    assert not outcome["check"].ok and "FIFO" in outcome["check"].reason
