"""What an installed copy relies on: bundled resources found in either place, and --self-test."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import REPO
from stella_desktop import bundled


def test_resources_come_from_inside_the_package_when_installed(tmp_path, monkeypatch):
    monkeypatch.setattr(bundled, "_PACKAGE", tmp_path / "stella_desktop")
    assert bundled._resources_dir() == tmp_path / "resources"  # a source checkout: beside the package
    (tmp_path / "stella_desktop" / "resources").mkdir(parents=True)
    assert bundled._resources_dir() == tmp_path / "stella_desktop" / "resources"  # a wheel: inside it


def test_the_source_checkout_finds_its_samples():
    assert bundled.DEFAULT_PACK.is_file() and bundled.DEFAULT_INPUTS.is_file()
    assert bundled.RESOURCES_DIR == REPO / "resources"


def test_setup_maps_resources_into_the_package():
    text = (REPO / "setup.py").read_text()
    assert '"stella_desktop.resources": "resources"' in text
    assert '"stella_desktop.resources" = ["**/*"]' in (REPO / "pyproject.toml").read_text()


def test_self_test_opens_simulates_and_paints_the_sample():
    environment = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-m", "stella_desktop.app", "--self-test"], env=environment,
                            capture_output=True, text=True, timeout=120, cwd=REPO.parent)
    assert result.returncode == 0, result.stderr
    assert "self-test passed: 14 steps drawn" in result.stdout


def test_readme_installs_every_package_the_platform_check_may_ask_for():
    from stella_desktop.qt_platform import XCB_PACKAGES
    readme = (REPO / "README.md").read_text()
    command = readme.split("sudo apt-get install", 1)[1].split("```", 1)[0].replace("\\\n", " ").split()
    assert "python3-venv" in command
    assert set(XCB_PACKAGES.values()) - {"libglib2.0-0"} <= set(command)  # glib: every desktop has it


def test_readme_examples_call_the_venvs_commands():
    readme = (REPO / "README.md").read_text()
    assert "../shared" not in readme
    in_shell_block = False
    for line in readme.splitlines():
        if line.startswith("```"):
            in_shell_block = line == "```sh"
        if line.startswith("$ "):
            assert line.startswith("$ .venv/bin/"), line
        if in_shell_block and line.startswith(("stella ", "stella-desktop ")):
            assert False, f"a command to run that is not on PATH after the set-up: {line}"


def test_nothing_in_the_repository_reads_the_shared_folder_beside_it():
    this = __import__("pathlib").Path(__file__).resolve()
    needles = ("../shared", "STELLA_SHARED", "parent / \"shared\"", "parent / 'shared'")
    offenders = []
    for path in REPO.rglob("*"):
        if (path.suffix not in (".py", ".md", ".toml", ".yaml", ".json", ".sh", ".spec", ".cfg")
                and path.name != "run") or path.resolve() == this:
            continue
        if any(part in (".git", ".venv", "build", "dist", "__pycache__") or part.endswith("-venv")
               for part in path.relative_to(REPO).parts):
            continue
        text = path.read_text(errors="replace")
        offenders += [f"{path.relative_to(REPO)}: {needle}" for needle in needles if needle in text]
    assert offenders == []
