import json
import subprocess
import sys

import pytest

from conftest import FLAKY_PACK, SBOM_PACK
from stella_desktop.cli import main

SBOM_INPUTS = str(SBOM_PACK.parent / "inputs.json")


def stella(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stella_desktop.cli", *args],
                          capture_output=True, text=True, timeout=60, **kwargs)


def test_table_output(capsys):
    assert main(["task-runner", "simulate", "--manifest", str(SBOM_PACK), "--inputs", SBOM_INPUTS]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("sbom-remediation 1.3.0  ·  sha256:")
    assert lines[2].split() == ["STEP", "KIND", "STATUS", "USES", "REASON"]
    assert any(l.split()[:4] == ["approval-gate", "gate.approval", "requires-approval", "awaiting"] for l in lines)
    assert any(l.startswith("  mirror[0]::sync ") for l in lines)  # children indented under their block
    assert lines[-1].startswith("14 steps: 12 pending, 1 requires-approval, 1 requires-policy")
    assert "\x1b[" not in out  # not a terminal: no colour


def test_json_output_is_the_preview(capsys):
    assert main(["task-runner", "simulate", "--manifest", str(FLAKY_PACK), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["pack"] == {"name": "flaky-fanout", "version": "0.2.0"}
    assert list(document) == sorted(document)


def test_output_file_gets_the_json_and_stdout_the_table(tmp_path, capsys):
    target = tmp_path / "preview.json"
    assert main(["task-runner", "simulate", "--manifest", str(SBOM_PACK), "--inputs", SBOM_INPUTS,
                 "--output", str(target)]) == 0
    captured = capsys.readouterr()
    assert "STEP" in captured.out and f"wrote the JSON preview to {target}" in captured.err
    main(["task-runner", "simulate", "--manifest", str(SBOM_PACK), "--inputs", SBOM_INPUTS, "--format", "json"])
    assert target.read_text() == capsys.readouterr().out
    assert not list(tmp_path.glob(".stella-*"))  # no temporary file left behind


def test_unwritable_output_is_a_usage_error(tmp_path, capsys):
    code = main(["task-runner", "simulate", "--manifest", str(FLAKY_PACK), "--output", str(tmp_path / "no" / "x.json")])
    assert code == 2 and "cannot write" in capsys.readouterr().err


def test_invalid_manifest_exit_3_with_every_problem(write_pack, capsys):
    manifest = write_pack("steps: [{id: a, run: {uses: x}}, {id: a, run: {uses: x, wiht: 1}}]")
    assert main(["task-runner", "simulate", "--manifest", str(manifest)]) == 3
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"error: {manifest}:5:") and err[-1] == "2 problems: nothing was simulated"


def test_invalid_inputs_exit_3_naming_the_input(tmp_path, capsys):
    inputs = tmp_path / "in.json"
    inputs.write_text('{"sbomBundle": {"metadata": {}}, "dryRun": "no"}')
    assert main(["task-runner", "simulate", "--manifest", str(SBOM_PACK), "--inputs", str(inputs)]) == 3
    err = capsys.readouterr().err
    assert f"error: {inputs}: input 'dryRun': expected a boolean, got a string" in err
    assert "input 'sbomBundle'" in err


def test_unreadable_manifest_exit_3(tmp_path, capsys):
    manifest = tmp_path / "pack.yaml"
    manifest.write_bytes(b"\xff\xfe not text")
    assert main(["task-runner", "simulate", "--manifest", str(manifest)]) == 3
    assert f"error: {manifest}" in capsys.readouterr().err


@pytest.mark.parametrize("args", [
    [], ["task-runner"], ["task-runner", "simulate"], ["task-runner", "simulate", "--manifest", "x", "--format", "xml"],
    ["bogus"],
])
def test_usage_errors_exit_2(args):
    result = stella(*args)
    assert result.returncode == 2 and "error:" in result.stderr and "Traceback" not in result.stderr


def test_every_invalid_pack_exits_3(invalid_dir):
    for manifest in sorted(invalid_dir.glob("*.yaml")):
        result = stella("task-runner", "simulate", "--manifest", str(manifest))
        assert result.returncode == 3, manifest
        assert result.stderr.startswith(f"error: {manifest}:") and "Traceback" not in result.stderr


def test_version_and_help_document_exit_codes():
    assert stella("--version").stdout.strip() == "stella 0.1.0"
    text = stella("task-runner", "simulate", "--help").stdout
    for line in ("0   success", "1   a run failed", "2   usage error", "3   invalid manifest or inputs",
                 "4   a run is waiting for a gate decision", "5   run-store problem", "70  internal error"):
        assert line in text


def test_simulate_never_imports_qt():
    probe = (
        "import sys\n"
        "from stella_desktop.cli import main\n"
        f"code = main(['task-runner', 'simulate', '--manifest', {str(SBOM_PACK)!r}, '--inputs', {SBOM_INPUTS!r},"
        " '--format', 'json'])\n"
        "qt = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6'))\n"
        "print('QT-MODULES', qt, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "QT-MODULES []" in result.stderr


def test_internal_errors_are_short_unless_debug(monkeypatch, capsys):
    import stella_desktop.cli.simulate as simulate_module

    def explode(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(simulate_module, "load_pack", explode)
    assert main(["task-runner", "simulate", "--manifest", str(FLAKY_PACK)]) == 70
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: boom" in err and "Traceback" not in err
    with pytest.raises(RuntimeError):
        main(["--debug", "task-runner", "simulate", "--manifest", str(FLAKY_PACK)])


def test_an_inputs_file_with_a_lone_surrogate_is_exit_3_not_70(tmp_path):
    """Attack review: '{"shards": ["\\ud800"]}' is valid JSON, but no UTF-8 text: exit 70 before the fix."""
    inputs = tmp_path / "inputs.json"
    inputs.write_text('{"shards": ["\\ud800"]}')
    result = subprocess.run([sys.executable, "-m", "stella_desktop.cli", "task-runner", "simulate", "--manifest",
                             str(FLAKY_PACK), "--inputs", str(inputs)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 3 and "surrogate" in result.stderr, result.stderr
