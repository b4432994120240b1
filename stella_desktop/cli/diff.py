"""``stella task-runner diff OLD NEW``: what changes between two packs, previews or runs.

Exit codes follow ``diff(1)``: 0 nothing differs, 1 something does; 2 for a
usage error (an argument that is neither a file nor a run), 3 for an invalid
manifest, inputs or preview file, 5 for a run-store problem.
"""

from __future__ import annotations

import json
import os
import sys

from core import json_text
from core.diff import PlanDiff, PlanSide, diff_plans, side_from_preview, side_from_preview_dict, side_from_run
from core.errors import PackInvalid
from stella_desktop.cli import exit_codes

MAX_PREVIEW_BYTES = 256 * 1024 * 1024


class DiffSourceError(Exception):
    """An argument that cannot be compared; ``code`` is the exit code to end with."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


def run(args) -> int:
    try:
        old = load_side(args.old, args.inputs, args.store)
        new = load_side(args.new, args.new_inputs or args.inputs, args.store)
    except DiffSourceError as error:
        print(f"stella: error: {error}", file=sys.stderr)
        return error.code
    except PackInvalid as invalid:
        for problem in invalid.problems:
            print(f"error: {problem}", file=sys.stderr)
        count = len(invalid.problems)
        print(f"{count} problem{'s' if count != 1 else ''}: nothing was compared", file=sys.stderr)
        return exit_codes.INVALID
    result = diff_plans(old, new)
    if args.format == "json":
        sys.stdout.write(json_text.pretty(result.to_dict()))
    else:
        sys.stdout.write(render_diff(result))
    return 1 if result.differs else exit_codes.OK


def load_side(argument: str, inputs_path: str | None, store_folder: str | None) -> PlanSide:
    """OLD or NEW as a :class:`PlanSide`: a manifest, a preview JSON file, or a run id."""
    if os.path.isdir(argument):
        raise DiffSourceError(f"'{argument}' is a folder; give a manifest, a preview JSON file or a run id",
                              exit_codes.USAGE)
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
            raise DiffSourceError(f"'{path}' is not a regular file", exit_codes.USAGE)
        if os.path.getsize(path) > MAX_PREVIEW_BYTES:
            raise DiffSourceError(f"{path}: the preview file is larger than 256 MiB", exit_codes.INVALID)
        with open(path, encoding="utf-8") as stream:
            document = json.load(stream)
    except OSError as error:
        raise DiffSourceError(f"cannot read {path}: {error.strerror or error}", exit_codes.USAGE) from None
    except (ValueError, RecursionError) as error:
        raise DiffSourceError(f"{path}: not valid JSON ({error})", exit_codes.INVALID) from None
    try:
        return side_from_preview_dict(document, path)
    except ValueError as error:
        raise DiffSourceError(f"{path}: {error}", exit_codes.INVALID) from None


def _run(run_id: str, store_folder: str | None) -> PlanSide:
    from core.execution.run import PlanDrift, load_snapshot
    from core.execution.store import RunNotFound, RunStore, RunStoreError

    store = RunStore(store_folder) if store_folder else RunStore()
    try:
        snapshot = load_snapshot(store, run_id)
    except RunNotFound:
        raise DiffSourceError(f"'{run_id}' is neither a file nor a run in the store {store.root}",
                              exit_codes.USAGE) from None
    except PlanDrift as drift:
        raise DiffSourceError(str(drift), exit_codes.INVALID) from None
    except RunStoreError as error:
        raise DiffSourceError(str(error), exit_codes.RUN_STORE) from None
    try:
        return side_from_run(snapshot, f"run {run_id}", _planned(snapshot))
    except ValueError as error:
        raise DiffSourceError(f"run {run_id}: {error}", exit_codes.RUN_STORE) from None


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


# -- the table ------------------------------------------------------------------------------

_MARK = {"added": "+", "removed": "-", "changed": "~"}


def render_diff(result: PlanDiff) -> str:
    """The readable form: both sides, then one block per step that differs, then a summary."""
    lines = [f"old: {result.old.source}  ·  {result.old.plan_hash}",
             f"new: {result.new.source}  ·  {result.new.plan_hash}"]
    if result.failure_policy_changed:
        lines.append(f"failure policy: {_value(result.old.failure_policy)} -> {_value(result.new.failure_policy)}")
    lines.append("")
    for step in result.steps:
        lines.append(f"{_MARK[step.change]} {_value(step.id)[1:-1]}  ({step.change})")
        for name, values in step.fields.items():
            lines.extend(_field_lines(name, values["old"], values["new"]))
    counts = result.counts()
    if result.differs:
        summary = f"{counts['added']} added, {counts['removed']} removed, {counts['changed']} changed"
        if not result.steps:
            summary += " (the plan hashes differ: inputs, outputs or messages changed)"
    else:
        summary = "no differences"
    lines.append(summary)
    return "\n".join(lines) + "\n"


def _field_lines(name: str, old, new) -> list[str]:
    """One line per changed field; for objects (parameters), one line per changed key."""
    if isinstance(old, dict) and isinstance(new, dict):
        keys = list(old) + [key for key in new if key not in old]
        return [f"    {name}.{_value(key)[1:-1]}: {_show(old.get(key, _ABSENT))} -> {_show(new.get(key, _ABSENT))}"
                for key in keys if old.get(key, _ABSENT) != new.get(key, _ABSENT)]
    return [f"    {name}: {_value(old)} -> {_value(new)}"]


_ABSENT = object()


def _show(value) -> str:
    return "(absent)" if value is _ABSENT else _value(value)


def _value(value) -> str:
    """A value as compact JSON: control characters come out escaped, never raw."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))
    return text if len(text) <= 200 else text[:199] + "…"
