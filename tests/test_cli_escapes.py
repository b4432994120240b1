"""Issue 10, item 14: terminal control characters from a pack, a run or a store are printed escaped.

Before the fix a step's failure message holding ``ESC [ 2 J`` (clear screen),
an OSC title sequence, a carriage return, a one-character CSI (U+009B) or a
right-to-left override reached the terminal raw: in the live log, the
``runs show`` table and the JSON.
"""

import json
import re
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import json_text
from core.execution.store import RunStore
from stella_desktop.cli import main
from stella_desktop.cli.terminal import cell, escape

HOSTILE = "\x1b[2J\x1b]0;pwned\x07\rcleared\u009b31m\u202eevil\x00\x7f"
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
OUR_COLOURS = re.compile("\x1b\\[[0-9]+m")

FAILING = """\
apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {name: failing, version: 1.0.0}
spec:
  steps:
    - id: boom
      run: {uses: builtin:fail, with: {message: "\\e[2J\\e]0;pwned\\a\\rcleared\\u009b31m\\u202eevil\\0\\x7f"}}
"""


def assert_clean(text: str, colours: bool = False) -> None:
    if colours:
        text = OUR_COLOURS.sub("", text)
    found = RAW_CONTROL.search(text)
    assert found is None, f"raw {found.group()!r} at {found.start()}: {text[max(found.start() - 40, 0):found.end() + 40]!r}"


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory):
    """A run whose only step failed with a message full of control characters (driven by the real CLI)."""
    folder = tmp_path_factory.mktemp("escapes")
    (folder / "pack.yaml").write_text(FAILING)
    result = subprocess.run([sys.executable, "-m", "stella_desktop.cli", "task-runner", "run", "--manifest",
                             str(folder / "pack.yaml"), "--store", str(folder / "store")],
                            capture_output=True, text=True)
    assert result.returncode == 1
    (run_id,) = RunStore(folder / "store").run_ids()
    return folder, run_id, result


def test_the_live_log_and_result_table_of_a_run_are_escaped(failed_run):
    _, _, result = failed_run
    assert_clean(result.stdout)
    assert_clean(result.stderr)
    assert "\\x1b[2J\\x1b]0;pwned\\x07\\rcleared\\u009b31m\\u202eevil" in result.stderr


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_runs_show_is_escaped(capsys, failed_run, fmt):
    folder, run_id, _ = failed_run
    assert main(["task-runner", "runs", "show", run_id, "--store", str(folder / "store"), "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert_clean(out)
    if fmt == "json":  # still valid JSON, with the same text as the store holds
        reason = json.loads(out)["steps"][0]["statusReason"]
        assert "\x1b[2J" in reason and "\u202e" in reason and "\u009b" in reason
    else:
        assert "\\x1b[2J" in out and "\\r" in out


def test_runs_list_escapes_a_hostile_folder_name(capsys, tmp_path):
    store = tmp_path / "store"
    (store / "\x1b[2Jfake\u009b").mkdir(parents=True)
    assert main(["task-runner", "runs", "list", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert_clean(out)
    assert "\\x1b[2Jfake\\u009b" in out and "damaged" in out


def test_errors_are_escaped(capsys, tmp_path):
    manifest = tmp_path / "pack.yaml"
    manifest.write_text(FAILING.replace("  steps:", '  "\\e[2Jkey\\u009b": 1\n  steps:'))
    assert main(["task-runner", "simulate", "--manifest", str(manifest)]) == 3
    err = capsys.readouterr().err
    assert_clean(err)
    assert "key" in err
    assert main(["task-runner", "approve", "\x1b[2Jrun", "x\x1b]0;t\x07", "--by", "\u202eann",
                 "--store", str(tmp_path / "store")]) == 5
    err = capsys.readouterr().err
    assert_clean(err)
    assert "\\x1b[2Jrun" in err


def test_simulate_table_keeps_its_colours_and_escapes_the_rest(capsys, tmp_path):
    manifest = tmp_path / "pack.yaml"
    manifest.write_text(FAILING + '    - id: gate\n      gate: {policy: {policy: "p\\e[8m\\rhidden"}}\n')
    assert main(["task-runner", "simulate", "--manifest", str(manifest), "--color", "always"]) == 0
    out = capsys.readouterr().out
    assert "\x1b[35mrequires-policy\x1b[0m" in out  # our own colour, as before
    assert_clean(out, colours=True)
    assert "\x1b[8m" not in out


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.text() | st.integers() | st.none(),
                    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
                    max_leaves=12))
def test_escaped_json_is_still_the_same_json(value):
    text = escape(json_text.pretty(value))
    assert_clean(text)
    assert json.loads(text) == value


@given(st.text())
def test_a_cell_is_one_clean_line(text):
    shown = cell(text)
    assert "\n" not in shown and "\t" not in shown
    assert_clean(shown)
