"""The ``stella`` command line's parsers: every command, its arguments and their checks.

:func:`build_parser` builds the whole tree, or only the parsers on one command's path
(:func:`named_command`), which read that command's line exactly as the whole tree does.
"""

from __future__ import annotations

import argparse
import os
import sys

from stella_desktop import __version__
from stella_desktop.cli import exit_codes


class _Help(argparse.RawDescriptionHelpFormatter):
    """argparse's formatter, told the terminal's width instead of asking ``shutil`` for it.

    argparse makes a formatter for every argument it adds (to check its metavar), and the
    first one imports ``shutil`` (with ``zlib``, ``bz2``, ``lzma``: ~2.5 ms of a cold
    ``simulate``) for ``shutil.get_terminal_size``; this is that function's answer for the
    columns: ``$COLUMNS`` if set, else the terminal's, else 80.
    """

    def __init__(self, prog, indent_increment=2, max_help_position=24, width=None):
        if width is None:
            width = terminal_columns() - 2  # what argparse takes off shutil's answer
        super().__init__(prog, indent_increment, max_help_position, width)


def terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``, without importing ``shutil``."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors on exit code 2 and a hint to --help."""

    def error(self, message: str) -> None:  # noqa: D401 - argparse API
        self.print_usage(sys.stderr)
        self.exit(exit_codes.USAGE, f"{self.prog}: error: {message}\n(see '{self.prog} --help')\n")


def build_parser(only: tuple[str, ...] | None = None) -> argparse.ArgumentParser:
    """The ``stella`` parser; ``only`` (from :func:`named_command`) builds just the parsers on that
    command's path (3 of 17 for ``task-runner simulate``: a cold ``simulate`` spent 4 ms of CPU
    building the other 14), which parse its command line exactly as the whole tree does."""
    parser = _Parser(
        prog="stella",
        description="Stella Desktop command line: preview (simulate) Task Packs, then run them locally.",
        epilog=exit_codes.HELP,
        formatter_class=_Help,
    )
    parser.add_argument("--version", action="version", version=f"stella {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    if only is None or only[0] == "task-runner":
        runner = commands.add_parser(
            "task-runner", help="work with Task Packs",
            description="Work with Task Packs: preview one (simulate), run it on this machine (run, resume), "
                        "decide its gates (approve, reject, decide), stop it (cancel) and look at its runs "
                        "(runs). 'stella task-runner ACTION --help' tells more about each action.",
            epilog=exit_codes.HELP, formatter_class=_Help)
        runner_commands = runner.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
        runner_commands.required = True
        for name, add in _RUNNER_ACTIONS:
            if only is None or only[1:] == (name,):
                add(runner_commands, name)
    if only is None or only[0] == "serve":
        _add_serve(commands)
    return parser


def named_command(argv: list[str]) -> tuple[str, ...] | None:
    """The command (``("serve",)``) or action (``("task-runner", "simulate")``) a command line
    names, when its parser alone can parse it; None when the whole tree is needed (help, version,
    a name that is not one, nothing named)."""
    words = [word for word in argv if word != "--debug"]
    if not words:
        return None
    if words[0] == "serve":
        return ("serve",)
    if words[0] == "task-runner" and len(words) > 1 and any(words[1] == name for name, _ in _RUNNER_ACTIONS):
        return ("task-runner", words[1])
    return None


def _add_simulate(runner_commands, name: str) -> None:
    simulate = runner_commands.add_parser(
        name, help="preview what a pack would do, without running anything",
        description="Validate a pack and its inputs, plan it and print the simulation preview: "
                    "every step classified pending, skipped, requires-approval or requires-policy.",
        epilog=exit_codes.HELP, formatter_class=_Help,
    )
    simulate.add_argument("--manifest", required=True, metavar="PATH", type=manifest_file,
                          help="the pack's YAML manifest")
    simulate.add_argument("--inputs", metavar="PATH", type=existing_file, help="a JSON object of input values")
    simulate.add_argument("--format", choices=("table", "json"), default="table",
                          help="what to print: a readable table (default) or the JSON preview")
    simulate.add_argument("--output", metavar="PATH",
                          help="also write the JSON preview to this file (then --format json prints nothing)")
    simulate.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                          help="colour the table's statuses (auto: on a terminal, unless NO_COLOR is set)")
    simulate.add_argument("--forecast", action="store_true",
                          help="also run the pack on virtual time with stand-in executors: what happens, "
                               "when each attempt starts and how long the run takes (JSON: a 'forecast' key)")
    simulate.add_argument("--assume", action="append", default=[], metavar="STEP=OUTCOME",
                          help="(repeatable, implies --forecast) STEP: a step id (map children as "
                               "'shard[2]::process') or a map's template id (every child); OUTCOME: succeed, "
                               "fail, fail:N (the first N attempts fail), skip; gates: approve/reject, "
                               "allow/deny, wait")
    simulate.add_argument("--duration", action="append", default=[], metavar="STEP=SECONDS",
                          help="(repeatable, implies --forecast) seconds each attempt of STEP takes; otherwise "
                               "builtin:sleep's seconds, else the median of past succeeded runs in --store, else 0")
    simulate.add_argument("--store", metavar="DIR",
                          help="with a forecast: a run store whose succeeded runs of this pack give step "
                               "durations (default: none)")
    simulate.set_defaults(handler="stella_desktop.cli.simulate:run")


def _add_diff(runner_commands, name: str) -> None:
    diff = runner_commands.add_parser(
        name, help="what changes between two packs, previews or runs",
        description="Compare two plans step by step: OLD and NEW are each a manifest, a preview JSON file "
                    "(from 'simulate --format json') or a run id in the store.  Exit 0 when nothing differs, "
                    "1 when something does (as diff(1)), 2 usage, 3 invalid input, 5 run-store problem.",
        epilog=exit_codes.HELP, formatter_class=_Help,
    )
    diff.add_argument("old", metavar="OLD", help="a manifest, a preview JSON file or a run id")
    diff.add_argument("new", metavar="NEW", help="a manifest, a preview JSON file or a run id")
    diff.add_argument("--inputs", metavar="PATH", help="input values for a manifest (both sides unless --new-inputs)")
    diff.add_argument("--new-inputs", metavar="PATH", help="input values for NEW when it is a manifest")
    diff.add_argument("--store", metavar="DIR", help="the run store folder, for run ids")
    diff.add_argument("--format", choices=("table", "json"), default="table")
    diff.set_defaults(handler="stella_desktop.cli.diff:run")


def _add_serve(commands) -> None:
    serve = commands.add_parser("serve", help="serve the local HTTP API (simulations and runs)",
                                description="Serve simulations, and runs started, decided, resumed and cancelled "
                                            "through /v1/task-runner/runs, on this machine (needs the 'api' "
                                            "extra).  Stopping the server saves the runs it drives as "
                                            "interrupted; they stay resumable.",
                                epilog=exit_codes.HELP, formatter_class=_Help)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--store", metavar="DIR", help="the run store folder")
    serve.add_argument("--packs", metavar="DIR",
                       help="a folder that input schema references may be read from (default: none)")
    serve.add_argument("--allow-remote", action="store_true",
                       help="allow listening on an address other machines can reach; every request then "
                            "needs a token (from --token-file, else a new one printed once at start)")
    serve.add_argument("--token-file", metavar="PATH",
                       help="a file holding the access token (16+ characters) every request must send as "
                            "'Authorization: Bearer TOKEN'; also usable on loopback")
    serve.add_argument("--allowed-host", action="append", metavar="NAME",
                       help="with --allow-remote: another name clients reach this machine by (the Host header "
                            "is checked; loopback names and the listening address are always accepted)")
    serve.add_argument("--allow-commands", action="store_true",
                       help="let builtin:command steps of runs started through the API run programs (off)")
    serve.add_argument("--backend", choices=("threads", "dask"), default="threads",
                       help="where the steps of runs started through the API execute (default: threads)")
    serve.add_argument("--workers", type=_positive, default=4, metavar="N",
                       help="threads per run (threads), or worker processes of the local Dask cluster")
    serve.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                       help="with --backend dask: an existing Dask scheduler (tls://... beyond one machine)")
    serve.add_argument("--workspace-root", metavar="DIR",
                       help="with --backend dask: a folder every worker shares, for the runs' files")
    serve.add_argument("--print-openapi", action="store_true", help="print the OpenAPI document and exit")
    serve.set_defaults(handler="stella_desktop.cli.serve:run")


def recorded_text(value: str) -> str:
    """A command-line text that goes into the run's records: it must be valid UTF-8.

    Bytes that are not UTF-8 reach Python as lone surrogates, which no JSON
    record can hold (exit 70 before this check)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise argparse.ArgumentTypeError("the text is not valid UTF-8 (check the terminal's encoding)") from None
    return value


def _command(commands, name: str, handler: str, help_text: str, description: str | None = None):
    command = commands.add_parser(name, help=help_text, description=description or help_text,
                                  epilog=exit_codes.HELP, formatter_class=_Help)
    command.set_defaults(handler=f"stella_desktop.cli.runs:{handler}")
    command.add_argument("--store", metavar="DIR",
                         help="the run store folder (default: $STELLA_RUN_STORE, else the user data folder)")
    return command


def _driving(command) -> None:
    command.add_argument("--backend", choices=("threads", "dask"), default="threads",
                         help="where steps execute: threads in this process (default), or a Dask cluster "
                              "(needs the 'dask' extra)")
    command.add_argument("--workers", type=_positive, default=4, metavar="N",
                         help="worker threads (threads), or worker processes of the local Dask cluster "
                              "started for the run (dask without --scheduler); default 4")
    command.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                         help="with --backend dask: use this existing Dask scheduler (tls://... beyond "
                              "one machine) instead of starting a local cluster")
    command.add_argument("--workspace-root", metavar="DIR",
                         help="with --backend dask: a folder every worker shares, where each run writes "
                              "its files (DIR/RUN_ID) instead of the run store's workspace")
    command.add_argument("--allow-commands", action="store_true",
                         help="let builtin:command steps run programs (off by default)")
    command.add_argument("--format", choices=("table", "json"), default="table",
                         help="table: a live status tree on a terminal; json: the run snapshot at the end")
    command.add_argument("--color", choices=("auto", "always", "never"), default="auto")


def existing_file(text: str) -> str:
    """An argument naming a file that must exist: anything else is a usage error (exit 2)."""
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"'{text}' is a folder, not a file")
    if not os.path.exists(text):
        raise argparse.ArgumentTypeError(f"no such file: '{text}'")
    return text


def manifest_file(text: str) -> str:
    """--manifest: an existing file; a pack's folder gets the manifest inside it suggested."""
    inside = os.path.join(text, "pack.yaml")
    if os.path.isdir(text) and os.path.isfile(inside):
        raise argparse.ArgumentTypeError(f"'{text}' is a folder; pass the manifest in it: --manifest {inside}")
    return existing_file(text)


def recorded_manifest_file(text: str) -> str:
    """--manifest of a run: its path is recorded in the run, so it must be valid UTF-8 text."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise argparse.ArgumentTypeError("the path is not valid UTF-8, and a run records its manifest's "
                                         "path: rename the file") from None
    return manifest_file(text)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _add_run(commands, name: str) -> None:
    run = _command(commands, name, "run", "run a pack on this machine",
                   "Validate, plan and run a pack locally.  Every state change is saved in the run store, "
                   "so an interrupted run can be resumed.  Exit 0 succeeded, 1 failed, 4 paused at a gate.")
    run.add_argument("--manifest", required=True, metavar="PATH", type=recorded_manifest_file,
                     help="the pack's YAML manifest")
    run.add_argument("--inputs", metavar="PATH", type=existing_file, help="a JSON object of input values")
    _driving(run)


def _add_resume(commands, name: str) -> None:
    resume = _command(commands, name, "resume", "continue an interrupted, cancelled or paused run",
                      "Reload a run, re-plan its manifest with its inputs (refused if the plan changed), "
                      "and continue: steps that were running start again without using up an attempt.")
    resume.add_argument("run_id", metavar="RUN_ID")
    _driving(resume)


def _add_approval_decision(commands, name: str) -> None:  # approve, reject
    decide = _command(commands, name, name, f"{name} an approval a paused run is waiting for")
    decide.add_argument("run_id", metavar="RUN_ID")
    decide.add_argument("approval_id", metavar="APPROVAL_ID")
    decide.add_argument("--by", required=True, metavar="NAME", type=recorded_text,
                        help="who decides (recorded in the run)")
    decide.add_argument("--reason", metavar="TEXT", type=recorded_text, help="why (recorded in the run)")


def _add_policy_decision(commands, name: str) -> None:
    policy = _command(commands, name, "decide", "allow or deny a policy gate a paused run is waiting at")
    policy.add_argument("run_id", metavar="RUN_ID")
    policy.add_argument("step_id", metavar="STEP_ID")
    policy.add_argument("decision", choices=("allow", "deny"))
    policy.add_argument("--by", required=True, metavar="NAME", type=recorded_text)
    policy.add_argument("--reason", metavar="TEXT", type=recorded_text)


def _add_cancel(commands, name: str) -> None:
    cancel = _command(commands, name, "cancel", "cancel a run (it stays resumable)")
    cancel.add_argument("run_id", metavar="RUN_ID")


def _add_runs(commands, name: str) -> None:
    runs = commands.add_parser(name, help="list and show runs in the store")
    runs_commands = runs.add_subparsers(dest="runs_action", metavar="ACTION", parser_class=_Parser)
    runs_commands.required = True
    listing = _command(runs_commands, "list", "runs_list", "every run in the store, newest first")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    show = _command(runs_commands, "show", "runs_show", "one run's snapshot: steps, approvals and events")
    show.add_argument("run_id", metavar="RUN_ID")
    show.add_argument("--format", choices=("table", "json"), default="table")
    export = runs_commands.add_parser(
        "export", help="write a run's report (JSON, or one self-contained HTML page)",
        description="Write a portable record of a run: pack, plan hash, inputs (secret names only), outcome, "
                    "every attempt and gate decision, durations and the journal's chain hash.",
        epilog=exit_codes.HELP, formatter_class=_Help)
    export.set_defaults(handler="stella_desktop.cli.report:export")
    export.add_argument("run_id", metavar="RUN_ID")
    export.add_argument("--format", choices=("json", "html"), default="json")
    export.add_argument("--output", required=True, metavar="PATH", help="where to write the report")
    export.add_argument("--store", metavar="DIR", help="the run store folder")
    verify = runs_commands.add_parser(
        "verify", help="check a run's journal (and an exported report) against the store",
        description="Re-read the run's journal, check every record's checksum and the hash chain against the "
                    "snapshot and, with --report, an exported JSON report.  Exit 0 when everything matches, "
                    "5 naming the first record or field that does not.",
        epilog=exit_codes.HELP, formatter_class=_Help)
    verify.set_defaults(handler="stella_desktop.cli.report:verify")
    verify.add_argument("run_id", metavar="RUN_ID")
    verify.add_argument("--report", metavar="PATH", help="a JSON report written by 'runs export'")
    verify.add_argument("--store", metavar="DIR", help="the run store folder")


_RUNNER_ACTIONS = (  # in the order 'stella task-runner --help' lists them
    ("simulate", _add_simulate), ("run", _add_run), ("resume", _add_resume),
    ("approve", _add_approval_decision), ("reject", _add_approval_decision), ("decide", _add_policy_decision),
    ("cancel", _add_cancel), ("runs", _add_runs), ("diff", _add_diff),
)
