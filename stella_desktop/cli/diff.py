"""``stella task-runner diff OLD NEW``: what changes between two packs, previews or runs.

Exit codes follow ``diff(1)``: 0 nothing differs, 1 something does; 2 for a
usage error (an argument that is neither a file nor a run), 3 for an invalid
manifest, inputs or preview file, 5 for a run-store problem.
"""

from __future__ import annotations

import json
import sys

from core import json_text
from core.diff import ABSENT, PlanDiff, diff_plans, field_lines
from core.diff_sources import INVALID, STORE, USAGE, DiffSourceError, load_side
from core.errors import PackInvalid
from stella_desktop.cli import exit_codes

_CODES = {USAGE: exit_codes.USAGE, INVALID: exit_codes.INVALID, STORE: exit_codes.RUN_STORE}


def run(args) -> int:
    try:
        old = load_side(args.old, args.inputs, args.store)
        new = load_side(args.new, args.new_inputs or args.inputs, args.store)
    except DiffSourceError as error:
        print(f"stella: error: {error}", file=sys.stderr)
        return _CODES[error.kind]
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
    return [f"    {_value(label)[1:-1]}: {_show(before)} -> {_show(after)}"
            for label, before, after in field_lines(name, old, new)]


def _show(value) -> str:
    return "(absent)" if value is ABSENT else _value(value)


def _value(value) -> str:
    """A value as compact JSON: control characters come out escaped, never raw."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))
    return text if len(text) <= 200 else text[:199] + "…"
