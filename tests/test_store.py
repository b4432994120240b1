import json
import os
import subprocess
import sys

import pytest

from core.execution.store import RunCorrupt, RunLocked, RunNotFound, RunStore, decode_journal, encode_record

HEADER = {"pack": {"name": "p", "version": "1.0.0"}, "manifestPath": "/x/pack.yaml", "planHash": "sha256:0",
          "inputs": {}, "failurePolicy": {"maxAttempts": 1, "backoffSeconds": 0}, "createdAt": "2026-01-01T00:00:00.000000Z"}


def record(n: int) -> dict:
    return {"type": "run", "at": f"2026-01-01T00:00:{n:02d}.000000Z", "status": "running", "reason": str(n)}


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "store")


def test_records_survive_a_reopen(store):
    handle = store.create(HEADER, "run-1")
    for n in range(5):
        handle.append(record(n))
    handle.close()
    reopened = store.open("run-1")
    assert reopened.records == [record(n) for n in range(5)]
    assert reopened.header["planHash"] == "sha256:0" and reopened.header["runId"] == "run-1"
    reopened.close()


def test_a_torn_last_line_is_ignored_then_cut_off(store):
    handle = store.create(HEADER, "run-1")
    handle.append(record(1))
    handle.close()
    journal = store.root / "run-1" / "journal.jsonl"
    with open(journal, "ab") as stream:
        stream.write(encode_record(record(2))[:-7])  # the crash tore this write
    reopened = store.open("run-1")
    assert reopened.records == [record(1)]
    reopened.append(record(3))
    reopened.close()
    assert store.open("run-1", lock=False).records == [record(1), record(3)]


def test_damage_before_the_end_is_reported_for_that_run_alone(store):
    for run_id in ("good", "bad"):
        handle = store.create(HEADER, run_id)
        handle.append(record(1))
        handle.append(record(2))
        handle.close()
    journal = store.root / "bad" / "journal.jsonl"
    lines = journal.read_bytes().split(b"\n")
    lines[0] = lines[0].replace(b"running", b"runnin!")
    journal.write_bytes(b"\n".join(lines))
    with pytest.raises(RunCorrupt, match="journal line 1 is damaged"):
        store.open("bad")
    listed = {s.run_id: s for s in store.list()}
    assert listed["good"].status == "running" and listed["bad"].status == "damaged"
    assert "journal line 1" in listed["bad"].problem


def test_header_checksum_and_schema_version_are_checked(store):
    store.create(HEADER, "run-1").close()
    path = store.root / "run-1" / "run.json"
    document = json.loads(path.read_text())
    document["header"]["planHash"] = "sha256:tampered"
    path.write_text(json.dumps(document))
    with pytest.raises(RunCorrupt, match="checksum"):
        store.open("run-1")
    store.create(dict(HEADER), "run-2").close()
    path = store.root / "run-2" / "run.json"
    document = json.loads(path.read_text())
    document["header"]["schemaVersion"] = 99
    from core.execution.store import _checksum
    document["checksum"] = _checksum(document["header"])
    path.write_text(json.dumps(document))
    with pytest.raises(RunCorrupt, match="schema version 99"):
        store.open("run-2")


@pytest.mark.parametrize("run_id", ["../../etc", "a/b", "", ".hidden", "..", "x" * 200])
def test_run_ids_cannot_leave_the_store(store, run_id):
    with pytest.raises(RunNotFound):
        store.open(run_id)


def test_a_symlinked_run_folder_is_refused(store, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "run.json").write_text("{}")
    store.root.mkdir(parents=True)
    os.symlink(outside, store.root / "linked")
    with pytest.raises(RunCorrupt, match="symbolic link"):
        store.open("linked")
    assert [s.status for s in store.list()] == ["damaged"]


def test_one_process_drives_a_run(store):
    handle = store.create(HEADER, "run-1")
    with pytest.raises(RunLocked, match=f"locked by pid {os.getpid()}"):
        store.open("run-1")
    handle.close()
    store.open("run-1").close()


def test_a_lock_left_by_a_killed_process_is_taken_over(store):
    store.create(HEADER, "run-1").close()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        f"sys.path.insert(0, {os.getcwd()!r})\n"
        "from core.execution.store import RunStore\n"
        f"handle = RunStore({str(store.root)!r}).open('run-1')\n"
        "print('locked', flush=True)\n"
        "time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(RunLocked, match=f"pid {holder.pid}"):
        store.open("run-1")
    holder.kill()
    holder.wait()
    store.open("run-1").close()


def test_snapshot_is_checked_and_only_used_when_current(store):
    handle = store.create(HEADER, "run-1")
    handle.append(record(1))
    handle.write_snapshot({"status": "running"})
    assert handle.read_snapshot() == {"status": "running"}
    handle.append(record(2))
    assert handle.read_snapshot() is None  # older than the journal
    handle.close()
    path = store.root / "run-1" / "snapshot.json"
    path.write_text(path.read_text().replace('"running"', '"succeeded"'))
    with pytest.raises(RunCorrupt, match="snapshot.json fails its checksum"):
        store.open("run-1", lock=False).read_snapshot()


def test_journal_lines_carry_a_checksum():
    line = encode_record(record(1))
    assert decode_journal(line, "x") == ([record(1)], len(line))
    assert decode_journal(line + line[:10], "x") == ([record(1)], len(line))


def test_fsync_happens_within_the_interval_and_at_close(store, monkeypatch):
    import core.execution.store as store_module
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(store_module.os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    clock = [1000.0]
    monkeypatch.setattr(store_module.time, "monotonic", lambda: clock[0])
    handle = store.create(HEADER, "run-1")
    synced.clear()
    handle.append(record(1))
    assert synced == []  # written and flushed, fsync not due yet
    clock[0] += 0.1
    handle.append(record(2))
    assert len(synced) == 1  # 100 ms since the last fsync: this append syncs
    handle.append(record(3))
    handle.close()
    assert len(synced) == 2  # the end of driving a run syncs what is left
