"""The ``stella`` command line.

``stella task-runner simulate`` never imports Qt (a test checks
``sys.modules``), so it starts fast and runs without a display.
"""

from __future__ import annotations

import sys

from stella_desktop.cli import exit_codes, terminal
from stella_desktop.cli.command_line import build_parser, named_command


def main(argv: list[str] | None = None, *, whole_process: bool = False) -> int:
    """Run one command; everything it prints has its control characters escaped (terminal.py).

    ``whole_process``: this call is the process (the ``stella`` command), so what the
    command's imports built may be frozen out of the garbage collector's sight for good
    (see ``_import_command``); a caller that goes on after it leaves it False.
    """
    with terminal.protected():
        return _main(argv, whole_process)


def _main(argv: list[str] | None, whole_process: bool = False) -> int:
    parser = build_parser(named_command(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(argv)
    module_name, _, function_name = args.handler.partition(":")
    try:
        handler = getattr(_import_command(module_name, whole_process), function_name)
        return handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # the last line of defence: never a bare traceback
        if args.debug:
            raise
        from core.execution.store import RunStoreError
        if isinstance(error, RunStoreError):  # wherever it surfaced, a store problem is exit 5
            print(f"stella: error: {error}", file=sys.stderr)
            return exit_codes.RUN_STORE
        print(f"stella: internal error: {type(error).__name__}: {error}\n"
              "(run again with --debug for the traceback, and please report it)", file=sys.stderr)
        return exit_codes.INTERNAL


def _import_command(module_name: str, freeze: bool):
    """Import a command's module with the cyclic garbage collector paused, then (``freeze``)
    move what it built out of the collector's sight.

    Its imports (pydantic, our models, YAML...) create objects that all stay alive, which
    the collector would only traverse again and again: 13 ms of ``simulate``'s 240 ms of
    CPU here, 3 ms paused and frozen (benchmarks/README.md).  Unfrozen, the first full
    collection after the pause still traverses them all once (about 10 ms).

    They are frozen *before* the collector is on again: otherwise the first tracked allocation
    after ``gc.enable()`` starts a generation-0 pass over everything allocated while it was
    off, every object the imports built (14 ms for ``simulate``'s, measured with
    ``gc.callbacks`` when this is called in a process that imported the CLI itself).
    """
    import gc
    import importlib

    from stella_desktop.startup import without_pydantic_plugins
    collecting = gc.isenabled()
    gc.disable()
    try:
        with without_pydantic_plugins():  # we use none; skips the entry-point scan
            module = importlib.import_module(module_name)
        if freeze:
            gc.freeze()
    finally:
        if collecting:
            gc.enable()
    return module


def entry_point() -> None:
    sys.exit(main(whole_process=True))
