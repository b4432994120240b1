"""``stella`` builds only the parsers on the named command's path: the same parse, the same help,
the same usage errors as the whole tree."""

from __future__ import annotations

import contextlib
import io

import pytest

from conftest import SBOM_PACK
from stella_desktop.cli.command_line import build_parser, named_command

MANIFEST = str(SBOM_PACK)
INPUTS = str(SBOM_PACK.parent / "inputs.json")
COMMAND_LINES = [
    ["task-runner", "simulate", "--manifest", MANIFEST, "--inputs", INPUTS, "--format", "json"],
    ["--debug", "task-runner", "simulate", "--manifest", MANIFEST, "--assume", "a=fail", "--duration", "a=3"],
    ["task-runner", "run", "--manifest", MANIFEST, "--backend", "dask", "--workers", "2"],
    ["task-runner", "resume", "r1", "--store", "/tmp/s", "--allow-commands"],
    ["task-runner", "approve", "r1", "review", "--by", "ana", "--reason", "ok"],
    ["task-runner", "reject", "r1", "review", "--by", "ana"],
    ["task-runner", "decide", "r1", "guard", "deny", "--by", "ana"],
    ["task-runner", "cancel", "r1"],
    ["task-runner", "runs", "list", "--format", "json"],
    ["task-runner", "runs", "show", "r1"],
    ["task-runner", "runs", "export", "r1", "--format", "html", "--output", "x.html"],
    ["task-runner", "runs", "verify", "r1", "--report", "x.json"],
    ["task-runner", "diff", "a.yaml", "b.yaml", "--format", "json"],
    ["serve", "--port", "9000", "--backend", "dask"],
]
USAGE_ERRORS = [
    ["task-runner", "simulate"],  # --manifest is required
    ["task-runner", "simulate", "--manifest", MANIFEST, "--format", "yaml"],
    ["task-runner", "decide", "r1", "guard", "maybe", "--by", "ana"],
    ["task-runner", "runs", "nothing"],
    ["task-runner", "simulate", "--manifest", MANIFEST, "--debug"],
    ["serve", "--port", "many"],
]
HELP = [["task-runner", action, "--help"] for action in
        ("simulate", "run", "resume", "approve", "reject", "decide", "cancel", "runs", "diff")] + \
       [["serve", "--help"], ["task-runner", "runs", "export", "--help"]]


def outcome(parser, argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            return vars(parser.parse_args(argv)), None, out.getvalue(), err.getvalue()
        except SystemExit as leaving:
            return None, leaving.code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("argv", COMMAND_LINES + USAGE_ERRORS + HELP, ids=" ".join)
def test_the_named_commands_parser_alone_reads_a_command_line_as_the_whole_tree_does(argv):
    assert named_command(argv) is not None
    assert outcome(build_parser(named_command(argv)), argv) == outcome(build_parser(), argv)


def test_only_the_named_commands_parsers_are_built():
    top = build_parser(("task-runner", "simulate"))
    [commands] = [action for action in top._actions if action.dest == "command"]
    [actions] = [action for action in commands.choices["task-runner"]._actions if action.dest == "action"]
    assert list(commands.choices) == ["task-runner"] and list(actions.choices) == ["simulate"]


@pytest.mark.parametrize("argv", [[], ["--help"], ["--version"], ["task-runner"], ["task-runner", "--help"],
                                  ["task-runner", "simulat", "--manifest", "x"], ["-h", "serve"], ["run"]],
                         ids=" ".join)
def test_help_version_and_unknown_names_get_the_whole_tree(argv):
    assert named_command(argv) is None


@pytest.mark.parametrize("columns", [None, "", "abc", "0", "-5", "40", "200"])
@pytest.mark.parametrize("terminal", [None, 120])
def test_help_is_as_wide_as_argparse_makes_it_without_importing_shutil(monkeypatch, columns, terminal):
    """The formatter asks the terminal's width itself, as ``shutil.get_terminal_size`` would."""
    import argparse
    import os
    import shutil

    from stella_desktop.cli.command_line import _Help

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)

    def size(fd=None):
        if terminal is None:
            raise OSError("not a terminal")
        return os.terminal_size((terminal, 30))
    monkeypatch.setattr(os, "get_terminal_size", size)

    def help_text(formatter):
        parser = argparse.ArgumentParser(prog="stella", formatter_class=formatter, description="word " * 80)
        parser.add_argument("--flag", help="a long help text " * 12)
        return parser.format_help()
    assert help_text(_Help) == help_text(argparse.RawDescriptionHelpFormatter)
    expected = shutil.get_terminal_size().columns
    wrapped = [line for line in help_text(_Help).splitlines() if "word" not in line]  # the raw description is not
    assert max(len(line) for line in wrapped) <= max(expected - 2, 40)  # slack: argparse keeps 11+ columns of help text
