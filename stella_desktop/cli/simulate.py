"""``stella task-runner simulate``: validate, plan and preview a pack."""

from __future__ import annotations

import os
import sys

from core.errors import PackInvalid
from core.inputs import MISSING_REQUIRED, read_inputs_file
from core.manifest import load_pack
from core.simulation import preview_pack
from stella_desktop.cli import exit_codes, terminal
from stella_desktop.cli.table import render_table, use_colour


def run(args) -> int:
    try:
        pack = load_pack(args.manifest)
        inputs = read_inputs_file(args.inputs) if args.inputs else {}
        preview = preview_pack(pack, inputs, args.inputs or "inputs")
    except PackInvalid as invalid:
        for problem in invalid.problems:
            print(f"error: {problem}", file=sys.stderr)
        count = len(invalid.problems)
        print(f"{count} problem{'s' if count != 1 else ''}: nothing was simulated", file=sys.stderr)
        hint = inputs_hint(args.manifest, args.inputs, invalid.problems)
        if hint:
            print(hint, file=sys.stderr)
        return exit_codes.INVALID
    document = preview.to_json()
    if args.output:
        try:
            write_atomically(args.output, document)
        except OSError as error:
            print(f"stella: error: cannot write {args.output}: {error.strerror or error}", file=sys.stderr)
            return exit_codes.USAGE
    if args.format == "json" and not args.output:
        terminal.write_json(document)
    elif args.format == "table":
        terminal.raw(sys.stdout).write(render_table(preview, colour=use_colour(args.color, sys.stdout)))
    if args.output:
        print(f"wrote the JSON preview to {args.output}", file=sys.stderr)
    return exit_codes.OK


def inputs_hint(manifest: str, inputs: str | None, problems) -> str | None:
    """When required inputs are missing and no --inputs was given: the inputs files beside the manifest."""
    if inputs is not None or not any(MISSING_REQUIRED in problem.message for problem in problems):
        return None
    import glob
    folder = os.path.dirname(manifest)
    found = sorted(glob.glob(os.path.join(glob.escape(folder), "inputs*.json")),
                   key=lambda path: (os.path.basename(path) != "inputs.json", path))
    if not found:
        return None
    others = f" (or {', '.join(found[1:])})" if found[1:] else ""
    return f"hint: the pack's folder has input values: pass --inputs {found[0]}{others}"


def write_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path`` so a reader never sees half a file."""
    import tempfile
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".stella-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
