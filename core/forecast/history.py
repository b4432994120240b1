"""Step durations learnt from past runs in the run store (read only).

For a pack name, every run of a pack with that name that *succeeded* is
read; for each step id, the duration of its succeeding attempt (from its
last ``running`` transition to ``succeeded``) is a sample, and the median
of the samples is the step's history duration.  Damaged runs are passed
over: history is a hint, never a reason to fail a forecast.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from core.execution.clock import parse_iso
from core.execution.store import RunStore, RunStoreError


def history_durations(store: RunStore | str | Path, pack_name: str) -> dict[str, float]:
    """Step id -> median seconds of its succeeding attempt in succeeded runs of ``pack_name``."""
    if not isinstance(store, RunStore):
        store = RunStore(store)
    samples: dict[str, list[float]] = {}
    for run_id in store.run_ids():
        try:
            handle = store.open(run_id, lock=False)
        except (RunStoreError, OSError):
            continue
        if (handle.header.get("pack") or {}).get("name") != pack_name:
            continue
        records = handle.records
        status = next((r.get("status") for r in reversed(records) if r.get("type") == "run"), None)
        if status != "succeeded":
            continue
        for step_id, seconds in _attempt_durations(records).items():
            samples.setdefault(step_id, []).append(seconds)
    return {step_id: statistics.median(values) for step_id, values in samples.items()}


def _attempt_durations(records: list[dict]) -> dict[str, float]:
    started: dict[str, str] = {}
    durations: dict[str, float] = {}
    for record in records:
        if record.get("type") != "transition":
            continue
        if record["to"] == "running":
            started[record["stepId"]] = record["at"]
        elif record["to"] == "succeeded" and record["from"] == "running" and record["stepId"] in started:
            begin, end = parse_iso(started[record["stepId"]]), parse_iso(record["at"])
            durations[record["stepId"]] = max((end - begin).total_seconds(), 0.0)
    return durations
