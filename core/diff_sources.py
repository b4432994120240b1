"""Where a side of a plan comparison comes from: a manifest, a preview JSON file, or a run in the store.

Shared by ``stella task-runner diff`` and the app's Compare With…; problems
are :class:`DiffSourceError` with a ``kind`` (``usage``, ``invalid`` or
``store``) that the CLI maps to its exit codes, or :class:`~core.errors.PackInvalid`.
"""

from __future__ import annotations

import json
import os

from core.diff import PlanSide, side_from_preview, side_from_preview_dict, side_from_run
from core.errors import PackInvalid

MAX_PREVIEW_BYTES = 256 * 1024 * 1024
USAGE, INVALID, STORE = "usage", "invalid", "store"


class DiffSourceError(Exception):
    """An argument that cannot be compared; ``kind`` says why (usage, invalid or store)."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


def load_side(argument: str, inputs_path: str | None, store_folder: str | None) -> PlanSide:
    """OLD or NEW as a :class:`PlanSide`: a manifest, a preview JSON file, or a run id."""
    if os.path.isdir(argument):
        raise DiffSourceError(f"'{argument}' is a folder; give a manifest, a preview JSON file or a run id",
                              USAGE)
    if os.path.exists(argument):
        if argument.lower().endswith(".json"):
            return _preview_file(argument)
        return _manifest(argument, inputs_path)
    return _run(argument, store_folder)


def _manifest(path: str, inputs_path: str | None) -> PlanSide:
    from core.inputs import read_inputs_file
    from core.manifest import load_pack
    from core.simulation import preview_pack

    pack = load_pack(path)
    inputs = read_inputs_file(inputs_path) if inputs_path else {}
    return side_from_preview(preview_pack(pack, inputs, inputs_path or "inputs"), path)


def _preview_file(path: str) -> PlanSide:
    try:
        if not os.path.isfile(path):
            raise DiffSourceError(f"'{path}' is not a regular file", USAGE)
        if os.path.getsize(path) > MAX_PREVIEW_BYTES:
            raise DiffSourceError(f"{path}: the preview file is larger than 256 MiB", INVALID)
        with open(path, encoding="utf-8") as stream:
            document = json.load(stream)
    except OSError as error:
        raise DiffSourceError(f"cannot read {path}: {error.strerror or error}", USAGE) from None
    except (ValueError, RecursionError) as error:
        raise DiffSourceError(f"{path}: not valid JSON ({error})", INVALID) from None
    try:
        return side_from_preview_dict(document, path)
    except ValueError as error:
        raise DiffSourceError(f"{path}: {error}", INVALID) from None


def _run(run_id: str, store_folder: str | None) -> PlanSide:
    from core.execution.run import PlanDrift, load_snapshot
    from core.execution.store import RunNotFound, RunStore, RunStoreError

    store = RunStore(store_folder) if store_folder else RunStore()
    try:
        snapshot = load_snapshot(store, run_id)
    except RunNotFound:
        raise DiffSourceError(f"'{run_id}' is neither a file nor a run in the store {store.root}",
                              USAGE) from None
    except PlanDrift as drift:
        raise DiffSourceError(str(drift), INVALID) from None
    except RunStoreError as error:
        raise DiffSourceError(str(error), STORE) from None
    try:
        return side_from_run(snapshot, f"run {run_id}", _planned(snapshot))
    except ValueError as error:
        raise DiffSourceError(f"run {run_id}: {error}", STORE) from None


def _planned(snapshot: dict) -> PlanSide | None:
    """The run's plan with its static fields, if its manifest still plans to the run's hash."""
    from core.manifest import load_pack
    from core.plan import build_plan
    from core.simulation import simulate

    try:
        plan = build_plan(load_pack(snapshot["manifestPath"]), snapshot.get("inputs") or {})
    except (PackInvalid, OSError, KeyError, TypeError):
        return None
    if plan.plan_hash != snapshot.get("planHash"):
        return None
    return side_from_preview(simulate(plan), snapshot["manifestPath"])
