"""A run: a pack's plan, its scheduler and its folder in the store, tied together.

:class:`ActiveRun` is what the CLI, the desktop runner and (later) the API
use to create, reopen, decide and snapshot runs, so they all agree.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from core.errors import PackInvalid
from core.execution.clock import Clock, SystemClock, iso
from core.execution.executors import ExecutorRegistry
from core.execution.preflight import preflight, secrets_from_environment
from core.execution.scheduler import Scheduler
from core.execution.snapshot import build_snapshot
from core.execution.state import IllegalTransition
from core.execution.store import RunCorrupt, RunHandle, RunStore, new_run_id
from core.graph import ExecutionGraph
from core.manifest import Pack, load_pack
from core.plan import Plan, build_plan, expand_map

SNAPSHOT_EVERY = 2000
SNAPSHOT_SECONDS = 2.0
"""While a run is driven, a compacted snapshot is written once both this many records and this
many seconds have passed since the last (and always at every pause and end): a long run is
cheap to show, and a short one does not pay for a snapshot it is about to write anyway."""


class PlanDrift(Exception):
    """The manifest or its inputs changed since the run was created: resuming is refused."""


class ActiveRun:
    def __init__(self, pack: Pack, plan: Plan, handle: RunHandle, clock: Clock, secrets: dict[str, str]):
        self.pack = pack
        self.plan = plan
        self.handle = handle
        self.graph = ExecutionGraph.from_plan(plan)
        self._since_snapshot = 0
        self._snapshot_at = time.monotonic()
        self.notices: list[str] = []  # what the preflight wants the user to know (secrets allowed in files)
        self.listeners: list = []  # called with each record after it is stored
        self.scheduler = Scheduler(
            plan, self.graph, clock, sink=self._record, secrets=secrets,
            expand=lambda step, items, count: expand_map(pack, plan.inputs, step, items, count),
        )
        self.scheduler.on_applied = self._applied

    @property
    def run_id(self) -> str:
        return self.handle.run_id

    @property
    def header(self) -> dict:
        return self.handle.header

    def _record(self, record: dict) -> None:
        self.handle.append(record)
        self._since_snapshot += 1

    def _applied(self, record: dict) -> None:
        if self._since_snapshot >= SNAPSHOT_EVERY and time.monotonic() - self._snapshot_at >= SNAPSHOT_SECONDS:
            self.save_snapshot()
        for listener in self.listeners:
            listener(record)

    # -- creating and reopening --------------------------------------------------------
    @classmethod
    def create(cls, store: RunStore, manifest_path: str | os.PathLike, inputs: dict | None = None, *,
               inputs_label: str = "inputs", clock: Clock | None = None,
               registry: ExecutorRegistry | None = None, environ=None) -> "ActiveRun":
        """Validate, plan and preflight a pack, then create its run (locked by this process)."""
        clock = clock or SystemClock()
        pack = load_pack(manifest_path)
        plan = build_plan(pack, inputs, inputs_label)
        secrets = secrets_from_environment(plan.secrets, environ)
        notices = preflight(plan, registry or ExecutorRegistry.default(), secrets, pack)
        now = clock.now()
        header = {
            "pack": {"name": plan.pack_name, "version": plan.pack_version},
            "manifestPath": str(Path(manifest_path).resolve()),
            "planHash": plan.plan_hash,
            "inputs": plan.inputs,
            "failurePolicy": plan.failure_policy.to_json(),
            "createdAt": iso(now),
        }
        handle = store.create(header, new_run_id(plan.pack_name, now))
        run = cls(pack, plan, handle, clock, secrets)
        run.notices = notices
        return run

    @classmethod
    def open(cls, store: RunStore, run_id: str, *, clock: Clock | None = None, lock: bool = True,
             registry: ExecutorRegistry | None = None, environ=None, check_executors: bool = False) -> "ActiveRun":
        """Reopen a run: re-plan its manifest with its inputs and replay its journal.

        Raises PlanDrift if the plan hash is not the one the run was created
        with, PackInvalid if the manifest no longer loads, RunStoreError for
        store problems.
        """
        handle = store.open(run_id, lock=lock)
        try:
            header = handle.header
            missing = [key for key in ("manifestPath", "inputs", "planHash") if key not in header]
            if missing:
                raise RunCorrupt(f"run '{run_id}': run.json has no {', '.join(missing)}")
            manifest_path = header["manifestPath"]
            try:
                pack = load_pack(manifest_path)
                plan = build_plan(pack, header["inputs"])
            except PackInvalid as invalid:
                raise PlanDrift(f"run '{run_id}' cannot be resumed: its manifest {manifest_path} no longer "
                                f"plans ({invalid.problems[0]})") from None
            if plan.plan_hash != header["planHash"]:
                raise PlanDrift(f"run '{run_id}' cannot be resumed: the plan changed since it was created "
                                f"(run: {header['planHash']}, manifest now: {plan.plan_hash}); "
                                f"start a new run of {manifest_path}")
            secrets = secrets_from_environment(plan.secrets, environ)
            notices = preflight(plan, registry or ExecutorRegistry.default(), secrets, pack) if check_executors else []
            run = cls(pack, plan, handle, clock or SystemClock(), secrets)
            run.notices = notices
            replay_journal(run.scheduler, handle.records, run_id)
            return run
        except BaseException:
            handle.close()
            raise

    # -- views and persistence ------------------------------------------------------------
    def snapshot(self) -> dict:
        return build_snapshot(self.header, self.scheduler)

    def save_snapshot(self) -> None:
        if self.handle.locked:
            self.handle.write_snapshot(self.snapshot())
        self._since_snapshot = 0
        self._snapshot_at = time.monotonic()

    def close(self) -> None:
        try:
            # a snapshot is a function of the header and the records: one current with the journal
            # (the driver writes one when it stops) is not written again, nor its three fsyncs
            if self.handle.locked and self.handle.read_snapshot() is None:
                self.save_snapshot()
        finally:
            self.handle.close()


def replay_journal(scheduler: Scheduler, records: list[dict], run_id: str) -> None:
    """Replay checksummed records; one the state machine cannot apply (an unknown step or type,
    a missing field, an impossible transition) is reported as damage, never an internal error."""
    for number, record in enumerate(records, start=1):
        try:
            scheduler.replay([record])
        except (KeyError, ValueError, TypeError, AttributeError, IndexError, IllegalTransition) as error:
            detail = f"unknown {error}" if isinstance(error, KeyError) else str(error)
            raise RunCorrupt(f"run '{run_id}': journal record {number} cannot be replayed "
                             f"({type(error).__name__}: {detail[:200]})") from None


def load_snapshot(store: RunStore, run_id: str) -> dict:
    """A run's snapshot JSON, as ``runs show`` and the API serve it.

    The stored snapshot when it is current; otherwise (the run was interrupted
    after it was last written) rebuilt from the journal.  Raises RunStoreError
    or PlanDrift when neither can be had.
    """
    snapshot = store.open(run_id, lock=False).read_snapshot()
    if snapshot is None:
        active = ActiveRun.open(store, run_id, lock=False)
        snapshot = active.snapshot()
        active.close()
    return snapshot
