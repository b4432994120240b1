"""The journal's line format, its checksum chain, and :func:`verify_run`.

Each line is ``"<crc32> <canonical JSON>\\n"``.  From schema version 2 the
CRC is *chained*: it is computed over the record's bytes starting from the
previous line's CRC (the first line starts from 0), so a line that is
removed, moved or duplicated breaks the checksum of the line after it.

The snapshot records how many journal records it was built from and the
*chain hash* after them: ``H0 = sha256("stella-journal")``, and
``Hn = sha256(H(n-1) + the n-th line's CRC as 8 hex digits)``.  A journal
shorter than its snapshot (truncated, emptied, deleted) or whose first
records are not the ones the snapshot saw is damaged.

A last line without its newline is a write a crash tore: it is not damage
(nothing after it depended on it) and the store cuts it off when the run is
next opened.

:func:`verify_run` checks one run folder without locking or changing it and
says where the first problem is; the store refuses to open a damaged run for
the same reasons, and ``runs list`` lists it as damaged.
"""

from __future__ import annotations

import hashlib
import json
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

from core import json_text
from core.regular_file import read_regular_file

JOURNAL = "journal.jsonl"
SNAPSHOT = "snapshot.json"
HEADER = "run.json"
CHAINED_SINCE = 2
"""The first schema version whose journal CRCs are chained (version 1 runs are read unchained)."""
_CHAIN_START = hashlib.sha256(b"stella-journal").digest()


def encode_line(record: dict, previous: int = 0) -> tuple[bytes, int]:
    """A journal line for ``record`` after a line whose CRC was ``previous``, and its own CRC."""
    body = json_text.canonical(record)
    crc = zlib.crc32(body, previous)
    return b"%08x " % crc + body + b"\n", crc


def chain_step(chain: bytes, crc: int) -> bytes:
    return hashlib.sha256(chain + b"%08x" % crc).digest()


def chain_hex(chain: bytes) -> str:
    return "sha256:" + chain.hex()


def chain_of(crcs) -> bytes:
    chain = _CHAIN_START
    for crc in crcs:
        chain = chain_step(chain, crc)
    return chain


@dataclass
class Scan:
    """What reading a journal gave: its good records, their CRCs, and the first damage if any."""

    records: list
    crcs: list
    good_length: int
    torn_tail: bool = False
    bad_record: int | None = None
    reason: str | None = None

    @property
    def last_crc(self) -> int:
        return self.crcs[-1] if self.crcs else 0


def scan_journal(data: bytes, chained: bool = True) -> Scan:
    """Read journal bytes up to the first damaged line (a torn last line is dropped, not damage)."""
    scan = Scan([], [], 0)
    lines = data.split(b"\n")
    previous = 0
    for number, line in enumerate(lines, start=1):
        if number == len(lines):
            scan.torn_tail = bool(line)
            break
        crc = record = None
        if len(line) > 9 and line[8:9] == b" ":
            try:
                crc = int(line[:8], 16)
            except ValueError:
                pass
            if crc is not None and crc == zlib.crc32(line[9:], previous if chained else 0):
                try:
                    record = json.loads(line[9:])
                except ValueError:
                    pass
        if isinstance(record, dict) and not isinstance(record.get("type"), str):
            scan.bad_record = number
            scan.reason = f"journal line {number} is not a record (no type)"
            return scan
        if not isinstance(record, dict):
            scan.bad_record = number
            scan.reason = f"journal line {number} is damaged (checksum or JSON)"
            if chained and number > 1:
                scan.reason = (f"journal line {number} is damaged or out of place: its checksum does not "
                               f"follow line {number - 1} (a record was changed, removed, moved or duplicated)")
            return scan
        scan.records.append(record)
        scan.crcs.append(crc)
        scan.good_length += len(line) + 1
        previous = crc
    return scan


def check_snapshot_against(scan: Scan, count, chain) -> tuple[int, str] | None:
    """(record number, reason) when a snapshot made after ``count`` records with ``chain`` does not fit."""
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        return 0, "snapshot.json does not say how many journal records it was made from"
    if count > len(scan.records):
        return (len(scan.records) + 1, f"the journal holds {len(scan.records)} records but the snapshot was "
                                       f"made after {count}: records were lost (journal truncated, emptied or "
                                       "deleted)")
    if chain is not None and chain_hex(chain_of(scan.crcs[:count])) != chain:
        return 1, (f"the journal's first {count} records are not the ones the snapshot was made from "
                   "(changed, reordered or replaced)")
    return None


@dataclass(frozen=True)
class RunCheck:
    """The outcome of :func:`verify_run`."""

    records: int
    """Records that read and chain correctly (all of them when the run is intact)."""
    chain: str
    """The chain hash after those records."""
    bad_record: int | None = None
    """1-based number of the first bad journal record (0: the run's other files), None if intact."""
    reason: str | None = None
    snapshot_records: int | None = None
    """How many records the snapshot was made from (None: no snapshot yet)."""
    torn_tail: bool = False
    """A last line torn by a crash (not damage: cut off when the run is next opened)."""

    @property
    def ok(self) -> bool:
        return self.bad_record is None


def read_checked(path: Path, key: str) -> tuple[dict | None, str | None]:
    """(document, None) for a checksummed JSON file, or (None, what is wrong)."""
    try:
        document = json.loads(read_regular_file(str(path), None).decode("utf-8"))
    except (OSError, ValueError) as error:
        return None, f"{path.name} cannot be read ({error})"
    body = document.get(key) if isinstance(document, dict) else None
    if not isinstance(body, dict) or document.get("checksum") != body_checksum(body):
        return None, f"{path.name} fails its checksum"
    return document, None


def body_checksum(body) -> str:
    return "sha256:" + hashlib.sha256(json_text.canonical(body)).hexdigest()


def verify_run(run_dir: str | os.PathLike) -> RunCheck:
    """Check a run folder's journal chain against itself and its snapshot; read only, no lock."""
    folder = Path(run_dir)
    header, problem = read_checked(folder / HEADER, "header")
    if header is None:
        return RunCheck(0, chain_hex(_CHAIN_START), 0, problem)
    version = header["header"].get("schemaVersion")
    snapshot_path = folder / SNAPSHOT
    snapshot = None
    if snapshot_path.exists():  # read before the journal: a driving process appends, then snapshots
        snapshot, problem = read_checked(snapshot_path, "snapshot")
        if snapshot is None:
            return RunCheck(0, chain_hex(_CHAIN_START), 0, problem)
    journal = folder / JOURNAL
    if not journal.exists():
        return RunCheck(0, chain_hex(_CHAIN_START), 1, f"{JOURNAL} is missing",
                        snapshot.get("records") if snapshot else None)
    try:
        data = read_regular_file(str(journal), None)
    except OSError as error:
        return RunCheck(0, chain_hex(_CHAIN_START), 1, f"{JOURNAL} cannot be read ({error.strerror or error})",
                        snapshot.get("records") if snapshot else None)
    scan = scan_journal(data, chained=isinstance(version, int) and version >= CHAINED_SINCE)
    chain = chain_hex(chain_of(scan.crcs))
    counted = snapshot.get("records") if snapshot else None
    if scan.bad_record is not None:
        return RunCheck(len(scan.records), chain, scan.bad_record, scan.reason, counted, scan.torn_tail)
    if snapshot is not None:
        damage = check_snapshot_against(scan, counted, snapshot.get("chain"))
        if damage:
            return RunCheck(len(scan.records), chain, damage[0], damage[1], counted, scan.torn_tail)
    return RunCheck(len(scan.records), chain, None, None, counted, scan.torn_tail)
