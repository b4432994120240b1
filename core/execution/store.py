"""The file-backed run store: one folder per run, a journal and a snapshot.

::

    <root>/<runId>/run.json        header: pack, manifest path, plan hash, inputs (checksummed)
                   journal.jsonl   append-only records, one per line: "<crc32> <json>"
                   snapshot.json   the compacted state (atomic write-rename, checksummed)
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
* one process drives a run at a time (``flock``: the kernel releases it
  when a process dies, even by SIGKILL, so a stale lock is taken over
  safely); another gets :class:`RunLocked` naming the holder's pid;
* secret values are never written (the scheduler redacts them first).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import secrets as random_tokens
import time
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from core import json_text
from core.execution.clock import iso

SCHEMA_VERSION = 1
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
    return "sha256:" + hashlib.sha256(json_text.canonical(body)).hexdigest()


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as stream:
            stream.write(text)
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


def encode_record(record: dict) -> bytes:
    body = json_text.canonical(record)
    return b"%08x " % zlib.crc32(body) + body + b"\n"


def decode_journal(data: bytes, name: str) -> tuple[list[dict], int]:
    """Records of a journal and the byte length of its good part (a torn tail is dropped)."""
    records: list[dict] = []
    offset = 0
    lines = data.split(b"\n")
    for number, line in enumerate(lines, start=1):
        if number == len(lines):
            break  # after the last newline: empty, or a line whose write was torn by a crash
        good = len(line) > 9 and line[8:9] == b" "
        if good:
            body = line[9:]
            try:
                good = int(line[:8], 16) == zlib.crc32(body)
                record = json.loads(body) if good else None
            except ValueError:
                good = False
        if not good:
            raise RunCorrupt(f"{name}: journal line {number} is damaged (checksum or JSON)")
        if not isinstance(record, dict) or not isinstance(record.get("type"), str):
            raise RunCorrupt(f"{name}: journal line {number} is not a record (no type)")
        records.append(record)
        offset += len(line) + 1
    return records, offset


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
        body = dict(header, runId=run_id, schemaVersion=SCHEMA_VERSION)
        _write_atomically(folder / "run.json", json_text.pretty({"checksum": _checksum(body), "header": body}))
        handle.header = body
        handle.open_journal()
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
                summaries.append(RunSummary(run_id, status="corrupt", problem=str(error)))
            except OSError as error:
                summaries.append(RunSummary(run_id, status="corrupt", problem=error.strerror or str(error)))
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
        try:
            document = json.loads((self.folder / name).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise RunCorrupt(f"run '{self.run_id}': {name} cannot be read ({error})") from None
        body = document.get(key) if isinstance(document, dict) else None
        if not isinstance(body, dict) or document.get("checksum") != _checksum(body):
            raise RunCorrupt(f"run '{self.run_id}': {name} fails its checksum")
        return document, body

    def load(self) -> None:
        _, header = self._read_checked("run.json", "header")
        if header.get("schemaVersion") != SCHEMA_VERSION:
            raise RunCorrupt(f"run '{self.run_id}': schema version {header.get('schemaVersion')!r} is not "
                             f"{SCHEMA_VERSION} (written by another version of Stella Desktop)")
        self.header = header
        journal = self.folder / "journal.jsonl"
        try:
            data = journal.read_bytes() if journal.exists() else b""
        except OSError as error:  # for example, the journal replaced by a folder
            raise RunCorrupt(f"run '{self.run_id}': journal.jsonl cannot be read ({error.strerror or error})") from None
        self.records, self._good_length = decode_journal(data, f"run '{self.run_id}'")

    def read_snapshot(self) -> dict | None:
        """The stored snapshot, if present, intact and current with the journal."""
        if not (self.folder / "snapshot.json").exists():
            return None
        document, body = self._read_checked("snapshot.json", "snapshot")
        if document.get("schemaVersion") != SCHEMA_VERSION:
            raise RunCorrupt(f"run '{self.run_id}': snapshot schema version {document.get('schemaVersion')!r}")
        return body if document.get("records") == len(self.records) else None

    def summary(self) -> RunSummary:
        status, updated = "pending", self.header.get("createdAt")
        for record in self.records:
            if record.get("type") == "run":
                status = str(record.get("status"))
            updated = record.get("at", updated)
        return RunSummary(self.run_id, self.header.get("pack"), status, self.header.get("createdAt"), updated)

    # -- writing ----------------------------------------------------------------------
    def open_journal(self) -> None:
        path = self.folder / "journal.jsonl"
        try:
            self._journal = open(path, "ab")
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
        try:
            self._journal.write(encode_record(record))
            self._journal.flush()
        except OSError as error:
            self._broken = True
            raise RunStoreError(f"cannot write run '{self.run_id}': {error.strerror or error}") from None
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
        document = {"schemaVersion": SCHEMA_VERSION, "records": len(self.records),
                    "checksum": _checksum(snapshot), "writtenAt": iso(datetime.now().astimezone()),
                    "snapshot": snapshot}
        try:
            _write_atomically(self.folder / "snapshot.json", json_text.pretty(document))
        except OSError as error:
            raise RunStoreError(f"cannot write the snapshot of run '{self.run_id}': "
                                f"{error.strerror or error}") from None

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
