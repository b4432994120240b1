"""The file-backed run store: one folder per run, a journal and a snapshot.

::

    <root>/<runId>/run.json        header: pack, manifest path, plan hash, inputs (checksummed)
                   journal.jsonl   append-only records, one per line: "<crc32> <json>", each CRC
                                   chained to the previous line's (core/execution/journal.py)
                   snapshot.json   the compacted state (atomic write-rename, checksummed), with the
                                   journal's record count and chain hash when it was made
                   lock            flock'ed by the one process driving the run; holds its pid
                   workspace/      files the run's steps write

Guarantees:

* a record is handed to the kernel (``write`` + ``flush``) before
  :meth:`RunHandle.append` returns, so the next dependent action never runs
  ahead of it and a SIGKILL at any instant loses none;
* ``fsync`` happens at most 100 ms after a record is written (on the next
  append, or on :meth:`RunHandle.sync`, which the runner calls on a 100 ms
  timer and at pause and end): a *power loss* can lose the records of the
  last 100 ms, never more, and never leaves a half-written snapshot;
* a torn last journal line (a crash mid-write) is ignored and cut off when
  the run is next opened; damage anywhere else, a bad checksum or an unknown
  schema version is reported as :class:`RunCorrupt` for that run alone;
* so is a lost record: a line removed, moved or duplicated breaks the CRC
  chain, and a journal shorter than its snapshot (truncated, emptied,
  deleted) or not the one the snapshot was made from fails the snapshot's
  count and chain hash; such a run is never silently re-run;
* one process drives a run at a time (``flock``: the kernel releases it
  when a process dies, even by SIGKILL, so a stale lock is taken over
  safely); another gets :class:`RunLocked` naming the holder's pid;
* secret values are never written (the scheduler redacts them first).
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import secrets as random_tokens
import time
import zlib
from dataclasses import dataclass
from datetime import datetime
from hashlib import sha256
from pathlib import Path
from typing import Any

import orjson

from core import json_text
from core.regular_file import read_regular_file
from core.execution.clock import iso
from core.execution.journal import (
    CHAINED_SINCE, JOURNAL, SNAPSHOT, body_checksum, chain_hex, chain_of, check_snapshot_against,
    encode_line, read_checked, scan_journal,
)

SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)
"""Version 1 runs (journal CRCs not chained) are still read and resumed."""
RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")
FSYNC_INTERVAL = 0.1
ENVIRONMENT_VARIABLE = "STELLA_RUN_STORE"


class RunStoreError(Exception):
    """Anything wrong with the store or a run in it (CLI exit code 5)."""


class RunNotFound(RunStoreError):
    pass


class RunCorrupt(RunStoreError):
    pass


class RunLocked(RunStoreError):
    pass


def default_root() -> Path:
    configured = os.environ.get(ENVIRONMENT_VARIABLE)
    if configured:
        return Path(configured)
    import platformdirs
    return platformdirs.user_data_path("stella-desktop", appauthor=False) / "runs"


def new_run_id(pack_name: str, moment: datetime) -> str:
    return f"{moment.strftime('%Y%m%d-%H%M%S')}-{pack_name[:40]}-{random_tokens.token_hex(3)}"


def _checksum(body: Any) -> str:
    return body_checksum(body)


def _write_atomically(path: Path, text: str | bytes) -> None:
    data = text.encode("utf-8") if isinstance(text, str) else text
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)  # never leave half a snapshot behind
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def encode_record(record: dict, previous: int = 0) -> bytes:
    """A journal line for ``record`` following a line whose CRC was ``previous``."""
    return encode_line(record, previous)[0]


def decode_journal(data: bytes, name: str, chained: bool = True) -> tuple[list[dict], int]:
    """Records of a journal and the byte length of its good part (a torn tail is dropped)."""
    scan = scan_journal(data, chained)
    if scan.bad_record is not None:
        raise RunCorrupt(f"{name}: {scan.reason}")
    return scan.records, scan.good_length


@dataclass
class RunSummary:
    run_id: str
    pack: dict | None = None
    status: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    problem: str | None = None

    def to_json(self) -> dict:
        data = {"runId": self.run_id, "pack": self.pack, "status": self.status,
                "createdAt": self.created_at, "updatedAt": self.updated_at}
        if self.problem:
            data["problem"] = self.problem
        return data


DAMAGED = "damaged"
"""The status ``runs list`` gives a run it cannot read."""


class RunStore:
    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root is not None else default_root()

    def folder_of(self, run_id: str) -> Path:
        if not isinstance(run_id, str) or not RUN_ID.match(run_id) or ".." in run_id:
            raise RunNotFound(f"'{run_id}' is not a run id (letters, digits, '.', '_' and '-')")
        folder = self.root / run_id
        if folder.is_symlink():
            raise RunCorrupt(f"run '{run_id}' is a symbolic link; refusing to follow it out of the store")
        return folder

    def create(self, header: dict, run_id: str) -> "RunHandle":
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            folder = self.folder_of(run_id)
            folder.mkdir()
            (folder / "workspace").mkdir()
        except FileExistsError:
            raise RunStoreError(f"run '{run_id}' already exists") from None
        except OSError as error:
            raise RunStoreError(f"cannot create the run in {self.root}: {error.strerror or error}") from None
        handle = RunHandle(folder, run_id)
        handle.lock()
        handle.open_journal()  # before run.json, which says the run exists: a run never lacks its journal
        body = dict(header, runId=run_id, schemaVersion=SCHEMA_VERSION)
        _write_atomically(folder / "run.json", json_text.pretty({"checksum": _checksum(body), "header": body}))
        handle.header = body
        return handle

    def open(self, run_id: str, *, lock: bool = True) -> "RunHandle":
        folder = self.folder_of(run_id)
        if not (folder / "run.json").is_file():
            raise RunNotFound(f"no run '{run_id}' in {self.root}")
        handle = RunHandle(folder, run_id)
        if lock:
            handle.lock()
        try:
            handle.load()
            if lock:
                handle.open_journal()
        except BaseException:
            handle.close()
            raise
        return handle

    def ask_to_cancel(self, run_id: str, wait: float = 2.0) -> bool:
        """Leave a cancel request for the process holding the run; True if it let go of the run
        within ``wait`` seconds without taking the request (the request is then taken back).

        A driving process takes the request within 100 ms.  One that held the run a moment without
        driving it (a decision from another terminal) never does: the request used to stay in the
        run's folder and cancel the run whenever it was next resumed (found by the attack review).
        On True the caller opens the run and cancels it itself."""
        handle = self.open(run_id, lock=False)
        handle.request_cancel()
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not (handle.folder / "cancel-request").exists():
                return False  # taken by the driver
            try:
                self.open(run_id).close()
            except RunLocked:
                time.sleep(0.05)
                continue
            return handle.take_cancel_request()  # False if the driver took it after all
        return False

    def run_ids(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(entry.name for entry in self.root.iterdir() if not entry.name.startswith("."))

    def list(self) -> list[RunSummary]:
        """Every run, newest first; a damaged run is listed with its problem, never raised."""
        summaries = []
        for run_id in self.run_ids():
            try:
                handle = self.open(run_id, lock=False)
                summaries.append(handle.summary())
            except RunStoreError as error:
                summaries.append(RunSummary(run_id, status=DAMAGED, problem=str(error)))
            except OSError as error:
                summaries.append(RunSummary(run_id, status=DAMAGED, problem=error.strerror or str(error)))
        summaries.sort(key=lambda s: (s.created_at or "", s.run_id), reverse=True)
        return summaries


class RunHandle:
    """One run's folder: header, journal, snapshot and lock."""

    def __init__(self, folder: Path, run_id: str):
        self.folder = folder
        self.run_id = run_id
        self.header: dict = {}
        self.records: list[dict] = []
        self._journal = None
        self._lock_file = None
        self._last_sync = time.monotonic()
        self._dirty = False
        self._broken = False  # a write failed: nothing more is written (not even a snapshot)
        self._good_length = 0
        self._chained = True
        self._last_crc = 0
        self._chain = chain_of(())
        self._snapshot: tuple[int, dict] | None = None  # (records it was made after, its body)

    @property
    def workspace(self) -> Path:
        return self.folder / "workspace"

    # -- lock -------------------------------------------------------------------------
    def lock(self) -> None:
        path = self.folder / "lock"
        try:
            handle = open(path, "a+")
        except OSError as error:  # a read-only store, or the lock file replaced by a folder
            raise RunStoreError(f"cannot lock run '{self.run_id}': {path.name}: {error.strerror or error}") from None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise RunLocked(f"run '{self.run_id}' is locked by pid {holder} (it is being driven "
                                "by another process)") from None
            raise RunStoreError(f"cannot lock run '{self.run_id}': {error.strerror}") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._lock_file = handle

    @property
    def locked(self) -> bool:
        return self._lock_file is not None

    def close(self) -> None:
        if self._journal is not None:
            journal, self._journal = self._journal, None
            try:
                os.fsync(journal.fileno()) if self._dirty else None
                journal.close()
            except OSError:
                # A write already failed (disk full) and was reported; what it left in the buffer
                # is dropped, and a torn last line is cut off when the run is next opened.
                try:
                    journal.close()
                except OSError:
                    pass
        if self._lock_file is not None:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    # -- reading ----------------------------------------------------------------------
    def _read_checked(self, name: str, key: str) -> tuple[dict, dict]:
        """(document, its ``key`` body) of a checksummed JSON file of this run, or RunCorrupt."""
        document, problem = read_checked(self.folder / name, key)
        if document is None:
            raise RunCorrupt(f"run '{self.run_id}': {problem}")
        return document, document[key]

    def load(self) -> None:
        _, header = self._read_checked("run.json", "header")
        if header.get("schemaVersion") not in READABLE_VERSIONS:
            raise RunCorrupt(f"run '{self.run_id}': schema version {header.get('schemaVersion')!r} is not "
                             f"{SCHEMA_VERSION} (written by another version of Stella Desktop)")
        self.header = header
        self._chained = header["schemaVersion"] >= CHAINED_SINCE
        snapshot = None
        if (self.folder / SNAPSHOT).exists():  # read before the journal: a driver appends, then snapshots
            snapshot, body = self._read_checked(SNAPSHOT, "snapshot")
            if snapshot.get("schemaVersion") not in READABLE_VERSIONS:
                raise RunCorrupt(f"run '{self.run_id}': snapshot schema version "
                                 f"{snapshot.get('schemaVersion')!r}")
        journal = self.folder / JOURNAL
        if not journal.exists():
            raise RunCorrupt(f"run '{self.run_id}': {JOURNAL} is missing (the run's records are lost)")
        try:
            data = read_regular_file(str(journal), None)  # a FIFO or /dev/zero in its place must not hang
        except OSError as error:  # for example, the journal replaced by a folder
            raise RunCorrupt(f"run '{self.run_id}': {JOURNAL} cannot be read ({error.strerror or error})") from None
        scan = scan_journal(data, self._chained)
        if scan.bad_record is not None:
            raise RunCorrupt(f"run '{self.run_id}': {scan.reason}")
        if snapshot is not None:
            damage = check_snapshot_against(scan, snapshot.get("records"), snapshot.get("chain"))
            if damage is not None:
                raise RunCorrupt(f"run '{self.run_id}': {damage[1]}")
            self._snapshot = (snapshot["records"], body)
        self.records, self._good_length = scan.records, scan.good_length
        self._last_crc, self._chain = scan.last_crc, chain_of(scan.crcs)

    def read_snapshot(self) -> dict | None:
        """The stored snapshot, if present and current with the journal (checked when the run was opened)."""
        if self._snapshot is None or self._snapshot[0] != len(self.records):
            return None
        return self._snapshot[1]

    def summary(self) -> RunSummary:
        status, updated = "pending", self.header.get("createdAt")
        for record in self.records:
            if record.get("type") == "run":
                status = str(record.get("status"))
            updated = record.get("at", updated)
        return RunSummary(self.run_id, self.header.get("pack"), status, self.header.get("createdAt"), updated)

    # -- writing ----------------------------------------------------------------------
    def open_journal(self) -> None:
        path = self.folder / JOURNAL
        try:
            self._journal = open(path, "ab", buffering=0)  # each write is one system call: no buffer to flush
            if self._journal.tell() > self._good_length:  # cut off a torn tail before appending
                self._journal.truncate(self._good_length)
                self._journal.seek(self._good_length)
                os.fsync(self._journal.fileno())
        except OSError as error:
            raise RunStoreError(f"cannot open the journal of run '{self.run_id}' for writing: "
                                f"{error.strerror or error}") from None

    def append(self, record: dict) -> None:
        if self._journal is None:
            raise RunStoreError(f"run '{self.run_id}' is not open for writing")
        try:  # encode_line inline (one journal line per transition): canonical JSON, chained CRC
            body = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
        except (TypeError, orjson.JSONEncodeError):
            body = json_text.canonical(record)
        crc = zlib.crc32(body, self._last_crc if self._chained else 0)
        line = b"%08x " % crc + body + b"\n"
        try:
            written = self._journal.write(line)
            while written < len(line):  # a short write (the disk filling up): the rest, or the error
                line = line[written:]
                written = self._journal.write(line)
        except OSError as error:
            self._broken = True
            raise RunStoreError(f"cannot write run '{self.run_id}': {error.strerror or error}") from None
        self._last_crc, self._chain = crc, sha256(self._chain + b"%08x" % crc).digest()  # chain_step inline
        self.records.append(record)
        self._dirty = True
        if time.monotonic() - self._last_sync >= FSYNC_INTERVAL:
            self.sync()

    def sync(self) -> None:
        if self._journal is not None and self._dirty:
            try:
                os.fsync(self._journal.fileno())
            except OSError as error:
                raise RunStoreError(f"cannot sync run '{self.run_id}': {error.strerror or error}") from None
            self._dirty = False
        self._last_sync = time.monotonic()

    def write_snapshot(self, snapshot: dict) -> None:
        if self._broken:
            return  # the journal is behind memory: a snapshot now would claim records that are not there
        self.sync()
        document = {"schemaVersion": SCHEMA_VERSION, "records": len(self.records), "chain": chain_hex(self._chain),
                    "checksum": _checksum(snapshot), "writtenAt": iso(datetime.now().astimezone()),
                    "snapshot": snapshot}
        try:
            _write_atomically(self.folder / SNAPSHOT, json_text.pretty_bytes(document))
        except OSError as error:
            raise RunStoreError(f"cannot write the snapshot of run '{self.run_id}': "
                                f"{error.strerror or error}") from None
        self._snapshot = (len(self.records), snapshot)

    def request_cancel(self) -> None:
        try:
            (self.folder / "cancel-request").write_text(f"{os.getpid()}\n")
        except OSError as error:
            raise RunStoreError(f"cannot ask run '{self.run_id}' to cancel: {error.strerror or error}") from None

    def take_cancel_request(self) -> bool:
        path = self.folder / "cancel-request"
        if path.exists():
            path.unlink(missing_ok=True)
            return True
        return False
