"""``stella task-runner run|resume|approve|reject|decide|cancel|runs``: local execution."""

from __future__ import annotations

import signal
import sys
import time

from core import json_text
from core.errors import PackInvalid
from core.execution.backends import BackendUnavailable, make_backend, workspace_for
from core.execution.driver import Driver
from core.execution.executors import ExecutorRegistry
from core.execution.run import ActiveRun, PlanDrift, load_snapshot
from core.execution.scheduler import DecisionError
from core.execution.store import RunLocked, RunStore, RunStoreError
from core.inputs import read_inputs_file
from stella_desktop.cli import exit_codes, terminal
from stella_desktop.presentation import describe
from stella_desktop.cli.run_table import render_run, render_run_list
from stella_desktop.cli.table import use_colour

CANCELLED = 130  # the shell's code for Ctrl+C; the run stays resumable
_STATUS_CODES = {"succeeded": exit_codes.OK, "failed": exit_codes.RUN_FAILED,
                 "waiting": exit_codes.WAITING_FOR_GATE, "cancelled": CANCELLED, "interrupted": CANCELLED}


def _store(args) -> RunStore:
    return RunStore(args.store) if getattr(args, "store", None) else RunStore()


def _error(message: str) -> None:
    print(f"stella: error: {message}", file=sys.stderr)


def _invalid(invalid: PackInvalid) -> int:
    for problem in invalid.problems:
        print(f"error: {problem}", file=sys.stderr)
    count = len(invalid.problems)
    print(f"{count} problem{'s' if count != 1 else ''}: nothing was run", file=sys.stderr)
    return exit_codes.INVALID


def run(args) -> int:
    registry = ExecutorRegistry.default(allow_commands=args.allow_commands)
    try:
        inputs = read_inputs_file(args.inputs) if args.inputs else {}
        active = ActiveRun.create(_store(args), args.manifest, inputs, inputs_label=args.inputs or "inputs",
                                  registry=registry)
    except PackInvalid as invalid:
        return _invalid(invalid)
    except RunStoreError as error:
        _error(str(error))
        return exit_codes.RUN_STORE
    print(f"run {active.run_id} created in {active.handle.folder}", file=sys.stderr)
    return _drive(active, registry, args)


def _notify(active: ActiveRun) -> None:
    for notice in active.notices:
        print(f"notice: {notice}", file=sys.stderr)


def _open(store: RunStore, run_id: str, **options) -> ActiveRun | int:
    """The reopened run, or the exit code (after saying why) when it cannot be reopened."""
    try:
        return ActiveRun.open(store, run_id, **options)
    except PlanDrift as drift:
        _error(str(drift))
        return exit_codes.INVALID
    except PackInvalid as invalid:
        return _invalid(invalid)
    except RunStoreError as error:
        _error(str(error))
        return exit_codes.RUN_STORE


def resume(args) -> int:
    registry = ExecutorRegistry.default(allow_commands=args.allow_commands)
    active = _open(_store(args), args.run_id, registry=registry, check_executors=True)
    if isinstance(active, int):
        return active
    if active.scheduler.status in ("succeeded", "failed"):
        print(f"run {active.run_id} already {active.scheduler.status}; nothing to resume", file=sys.stderr)
        _print_result(active, args)
        active.close()
        return _STATUS_CODES[active.scheduler.status]
    return _drive(active, registry, args)


def _drive(active: ActiveRun, registry: ExecutorRegistry, args) -> int:
    """Drive the run on this thread with the chosen backend (no Qt: a plain blocking loop)."""
    try:
        backend = make_backend(args.backend, registry, workers=args.workers, scheduler=args.scheduler)
    except BackendUnavailable as error:
        active.close()
        _error(str(error))
        return exit_codes.USAGE
    driver = Driver(active, backend, registry, workspace=workspace_for(args.workspace_root, active.run_id))
    _notify(active)
    live = args.format == "table" and sys.stdout.isatty()
    colour = use_colour(getattr(args, "color", "auto"), sys.stdout)
    drawn = {"lines": 0, "at": 0.0}

    def redraw(force: bool = False) -> None:
        if not force and time.monotonic() - drawn["at"] < 0.2:
            return
        drawn["at"] = time.monotonic()
        text = render_run(active.snapshot(), colour=colour)  # cells escaped; colours and cursor moves ours
        out = terminal.raw(sys.stdout)
        if drawn["lines"]:
            out.write(f"\x1b[{drawn['lines']}F\x1b[J")
        out.write(text)
        out.flush()
        drawn["lines"] = text.count("\n")

    if live:
        driver.on_tick.append(redraw)
    else:
        active.listeners.append(lambda record: print(describe(record), file=sys.stderr))
    # Ctrl+C and a polite kill (SIGTERM) both cancel (running commands' process groups are stopped);
    # the handler only posts the cancel: the driver thread runs it between two records
    previous = {number: signal.signal(number, lambda *_: driver.post(driver.cancel))
                for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        status = driver.drive()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        backend.shutdown(wait=True)
        active.close()
    if live:
        redraw(force=True)
    if driver.error:
        _error(driver.error + f" (the run stays resumable: stella task-runner resume {active.run_id})")
        return exit_codes.RUN_STORE
    if not live:
        _print_result(active, args)
    _hint(active, status)
    return _STATUS_CODES.get(status, exit_codes.RUN_FAILED)


def _print_result(active: ActiveRun, args) -> None:
    snapshot = active.snapshot()
    if args.format == "json":
        terminal.write_json(json_text.pretty(snapshot))
    else:
        terminal.raw(sys.stdout).write(render_run(snapshot, colour=use_colour(getattr(args, "color", "auto"),
                                                                              sys.stdout)))


def _hint(active: ActiveRun, status: str) -> None:
    run_id = active.run_id
    if status == "waiting":
        for step_id in sorted(active.scheduler.waiting):
            step = active.graph.step(step_id)
            if step.kind == "gate.approval":
                print(f"waiting for approval '{step.approval_id}' (step {step_id}): "
                      f"stella task-runner approve {run_id} {step.approval_id} --by NAME, then "
                      f"stella task-runner resume {run_id}", file=sys.stderr)
            else:
                print(f"waiting for a policy decision on step {step_id}: "
                      f"stella task-runner decide {run_id} {step_id} allow|deny --by NAME, then "
                      f"stella task-runner resume {run_id}", file=sys.stderr)
    elif status in ("cancelled", "interrupted"):
        print(f"run {status}; resume it with: stella task-runner resume {run_id}", file=sys.stderr)


def _decide(args, action) -> int:
    active = _open(_store(args), args.run_id)
    if isinstance(active, int):
        return active
    try:
        action(active.scheduler)
    except DecisionError as error:
        _error(str(error))
        return exit_codes.USAGE
    except RunStoreError as error:
        _error(str(error))
        return exit_codes.RUN_STORE
    finally:
        active.close()
    print(f"recorded; continue the run with: stella task-runner resume {args.run_id}", file=sys.stderr)
    return exit_codes.OK


def approve(args) -> int:
    return _decide(args, lambda s: s.approve(args.approval_id, args.by, args.reason, approved=True))


def reject(args) -> int:
    return _decide(args, lambda s: s.approve(args.approval_id, args.by, args.reason, approved=False))


def decide(args) -> int:
    return _decide(args, lambda s: s.decide_policy(args.step_id, args.decision == "allow", args.by, args.reason))


def cancel(args) -> int:
    store = _store(args)
    try:
        store.open(args.run_id).close()  # can this process drive it?
    except RunLocked as locked:
        if not store.ask_to_cancel(args.run_id):  # else: it held the run a moment, driving nothing
            print(f"asked the process driving it to cancel: {locked}", file=sys.stderr)
            return exit_codes.OK
    except RunStoreError:
        pass  # _open below says what is wrong
    active = _open(store, args.run_id)
    if isinstance(active, int):
        return active
    try:
        if active.scheduler.status in ("succeeded", "failed"):
            _error(f"run {args.run_id} already {active.scheduler.status}")
            return exit_codes.USAGE
        active.scheduler.cancel()
    finally:
        active.close()
    print(f"run {args.run_id} cancelled; resume it with: stella task-runner resume {args.run_id}",
          file=sys.stderr)
    return exit_codes.OK


def runs_list(args) -> int:
    try:
        summaries = [summary.to_json() for summary in _store(args).list()]
    except OSError as error:
        _error(f"cannot read the run store: {error.strerror or error}")
        return exit_codes.RUN_STORE
    if args.format == "json":
        terminal.write_json(json_text.pretty(summaries))
    else:
        terminal.raw(sys.stdout).write(render_run_list(summaries))
    return exit_codes.OK


def runs_show(args) -> int:
    try:
        snapshot = load_snapshot(_store(args), args.run_id)
    except (RunStoreError, PlanDrift) as error:
        _error(str(error))
        return exit_codes.RUN_STORE
    if args.format == "json":
        terminal.write_json(json_text.pretty(snapshot))
    else:
        terminal.raw(sys.stdout).write(render_run(snapshot, colour=use_colour("auto", sys.stdout)))
    return exit_codes.OK
