"""The ``stella`` command line.

``stella task-runner simulate`` never imports Qt (a test checks
``sys.modules``), so it starts fast and runs without a display.
"""

from __future__ import annotations

import argparse
import sys

from stella_desktop import __version__
from stella_desktop.cli import exit_codes


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors on exit code 2 and a hint to --help."""

    def error(self, message: str) -> None:  # noqa: D401 - argparse API
        self.print_usage(sys.stderr)
        self.exit(exit_codes.USAGE, f"{self.prog}: error: {message}\n(see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="stella",
        description="Stella Desktop command line: preview (simulate) Task Packs before they run.",
        epilog=exit_codes.HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"stella {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    runner = commands.add_parser("task-runner", help="work with Task Packs", epilog=exit_codes.HELP,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    runner_commands = runner.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    runner_commands.required = True
    simulate = runner_commands.add_parser(
        "simulate", help="preview what a pack would do, without running anything",
        description="Validate a pack and its inputs, plan it and print the simulation preview: "
                    "every step classified pending, skipped, requires-approval or requires-policy.",
        epilog=exit_codes.HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    simulate.add_argument("--manifest", required=True, metavar="PATH", help="the pack's YAML manifest")
    simulate.add_argument("--inputs", metavar="PATH", help="a JSON object of input values")
    simulate.add_argument("--format", choices=("table", "json"), default="table",
                          help="what to print: a readable table (default) or the JSON preview")
    simulate.add_argument("--output", metavar="PATH",
                          help="also write the JSON preview to this file (then --format json prints nothing)")
    simulate.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                          help="colour the table's statuses (auto: on a terminal, unless NO_COLOR is set)")
    simulate.set_defaults(handler="stella_desktop.cli.simulate:run")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    module_name, _, function_name = args.handler.partition(":")
    try:
        import importlib
        handler = getattr(importlib.import_module(module_name), function_name)
        return handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # the last line of defence: never a bare traceback
        if args.debug:
            raise
        print(f"stella: internal error: {type(error).__name__}: {error}\n"
              "(run again with --debug for the traceback, and please report it)", file=sys.stderr)
        return exit_codes.INTERNAL


def entry_point() -> None:
    sys.exit(main())
