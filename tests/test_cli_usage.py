"""The CLI's usage errors and hints: what a new user gets wrong first."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from conftest import REPO, SBOM_PACK
from stella_desktop.cli import main


def stella(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stella_desktop.cli", *args], capture_output=True, text=True,
                          timeout=60, cwd=REPO)


def test_task_runner_help_describes_the_group():
    text = stella("task-runner", "--help").stdout
    assert "Work with Task Packs: preview one (simulate), run it on this machine" in text


@pytest.mark.parametrize("action", ["simulate", "run"])
def test_a_missing_manifest_is_a_usage_error(action, tmp_path):
    result = stella("task-runner", action, "--manifest", str(tmp_path / "none.yaml"), "--store", str(tmp_path))
    assert result.returncode == 2, result.stderr
    assert f"argument --manifest: no such file: '{tmp_path / 'none.yaml'}'" in result.stderr


def test_a_folder_is_a_usage_error_suggesting_its_manifest(capsys):
    folder = str(SBOM_PACK.parent)
    with pytest.raises(SystemExit) as exited:
        main(["task-runner", "simulate", "--manifest", folder])
    assert exited.value.code == 2
    assert f"is a folder; pass the manifest in it: --manifest {SBOM_PACK}" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["task-runner", "simulate", "--manifest", str(REPO / "resources")])
    assert exited.value.code == 2 and "is a folder, not a file" in capsys.readouterr().err


def test_a_missing_inputs_file_is_a_usage_error(capsys, tmp_path):
    with pytest.raises(SystemExit) as exited:
        main(["task-runner", "simulate", "--manifest", str(SBOM_PACK), "--inputs", str(tmp_path / "in.json")])
    assert exited.value.code == 2 and "argument --inputs: no such file" in capsys.readouterr().err


def test_missing_required_input_points_at_the_inputs_beside_the_manifest(capsys, tmp_path):
    assert main(["task-runner", "simulate", "--manifest", str(SBOM_PACK)]) == 3
    err = capsys.readouterr().err
    assert "input 'sbomBundle' is required but was not supplied" in err
    assert err.splitlines()[-1] == (f"hint: the pack's folder has input values: pass --inputs "
                                    f"{SBOM_PACK.parent / 'inputs.json'} (or {SBOM_PACK.parent / 'inputs-dry-run.json'})")
    alone = tmp_path / "pack"
    shutil.copytree(SBOM_PACK.parent, alone)
    for inputs in alone.glob("inputs*.json"):
        inputs.unlink()
    assert main(["task-runner", "simulate", "--manifest", str(alone / "pack.yaml")]) == 3
    assert "hint:" not in capsys.readouterr().err  # nothing to point at


def test_an_unknown_input_gets_did_you_mean(capsys, tmp_path):
    inputs = tmp_path / "in.json"
    inputs.write_text('{"sbomBundle": {"metadata": {"image": "x"}, "components": []}, "dryrun": true}')
    assert main(["task-runner", "simulate", "--manifest", str(SBOM_PACK), "--inputs", str(inputs)]) == 3
    assert "input 'dryrun' is not declared by the pack (did you mean 'dryRun'?)" in capsys.readouterr().err
