"""``stella task-runner runs export`` and ``runs verify``: a run report, and checking it.

``export`` writes the report (JSON or one self-contained HTML page)
atomically.  ``verify`` re-reads the run's journal, checks every record's
checksum and the hash chain against the snapshot and, given ``--report``,
that an exported report still matches the store: exit 0 when everything
matches, 5 naming the first record (or report field) that does not.
"""

from __future__ import annotations

import json
import sys

from core import json_text
from core.errors import PackInvalid
from stella_desktop.cli import exit_codes


def _error(message: str) -> None:
    print(f"stella: error: {message}", file=sys.stderr)


def export(args) -> int:
    from stella_desktop.cli.simulate import write_atomically

    report = _report(args)
    if isinstance(report, int):
        return report
    if args.format == "html":
        from core.report.html import render_html
        text = render_html(report)
    else:
        text = json_text.pretty(report)
    try:
        write_atomically(args.output, text)
    except OSError as error:
        _error(f"cannot write {args.output}: {error.strerror or error}")
        return exit_codes.USAGE
    print(f"wrote the {args.format.upper()} report of run {args.run_id} to {args.output}", file=sys.stderr)
    return exit_codes.OK


def _report(args) -> dict | int:
    """The run's report, or the exit code after saying why it cannot be made."""
    from core.execution.run import PlanDrift
    from core.execution.store import RunCorrupt, RunNotFound, RunStore, RunStoreError
    from core.report import report_for_run

    store = RunStore(args.store) if args.store else RunStore()
    try:
        return report_for_run(store, args.run_id)
    except RunNotFound as error:
        _error(str(error))
        return exit_codes.USAGE
    except RunCorrupt as error:
        _error(f"{error}; no report was written")
        return exit_codes.RUN_STORE
    except (PlanDrift, PackInvalid) as error:
        _error(f"{error} (a report needs the run's manifest as it was)")
        return exit_codes.INVALID
    except RunStoreError as error:
        _error(str(error))
        return exit_codes.RUN_STORE


def verify(args) -> int:
    from core.execution.store import RunNotFound, RunStore, RunStoreError
    from core.report import check_run, damage_text

    store = RunStore(args.store) if args.store else RunStore()
    try:
        check = check_run(store, args.run_id)
    except RunNotFound as error:
        _error(str(error))
        return exit_codes.USAGE
    except RunStoreError as error:
        _error(str(error))
        return exit_codes.RUN_STORE
    if not check.ok:
        print(f"run {args.run_id}: DAMAGED at {damage_text(check)}", file=sys.stderr)
        return exit_codes.RUN_STORE
    print(f"run {args.run_id}: journal intact: {check.records} records, chain {check.chain}")
    if not args.report:
        return exit_codes.OK
    try:
        with open(args.report, encoding="utf-8") as stream:
            exported = json.load(stream)
    except OSError as error:
        _error(f"cannot read {args.report}: {error.strerror or error}")
        return exit_codes.USAGE
    except ValueError:
        print(f"report {args.report}: DOES NOT MATCH: not a JSON report (verify the JSON export, not the HTML)",
              file=sys.stderr)
        return exit_codes.RUN_STORE
    current = _report(args)
    if isinstance(current, int):
        return current
    difference = first_difference(current, exported)
    if difference:
        print(f"report {args.report}: DOES NOT MATCH the store: {difference}", file=sys.stderr)
        return exit_codes.RUN_STORE
    print(f"report {args.report}: matches the store")
    return exit_codes.OK


def first_difference(expected, actual, path: str = "report") -> str | None:
    """Where ``actual`` first differs from ``expected`` (a readable path), or None."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(set(expected) | set(actual)):
            if key not in actual:
                return f"{path}.{key} is missing"
            if key not in expected:
                return f"{path}.{key} is not in the run"
            found = first_difference(expected[key], actual[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        for index, (a, b) in enumerate(zip(expected, actual)):
            found = first_difference(a, b, f"{path}[{index}]")
            if found:
                return found
        if len(expected) != len(actual):
            return f"{path} has {len(actual)} entries; the run has {len(expected)}"
        return None
    if expected != actual or type(expected) is not type(actual):
        return f"{path} is {json.dumps(actual)[:80]}; the run has {json.dumps(expected)[:80]}"
    return None
