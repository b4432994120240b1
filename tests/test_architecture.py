"""The architecture is enforced, not hoped for: core/ never imports Qt, panels never import each other."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO


def test_import_linter_contracts_hold():
    command = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    result = subprocess.run([command, "--config", str(REPO / "pyproject.toml")], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "core is pure Python: no Qt, no app code KEPT" in result.stdout
    assert "panels are independent: each depends on the session, not on each other KEPT" in result.stdout
    assert "the session knows no panel and no window KEPT" in result.stdout
    assert "status text is pure Python: the CLI formats it without Qt KEPT" in result.stdout


def test_no_app_module_is_over_400_lines():
    """Modules of stella_desktop/ read in one sitting (house rules): no god object hides in a big file."""
    sizes = {str(p.relative_to(REPO)): len(p.read_text().splitlines()) for p in (REPO / "stella_desktop").rglob("*.py")}
    assert {path: n for path, n in sizes.items() if n > 400} == {}


def test_no_core_module_names_qt_even_lazily():
    """import-linter sees module-level imports; this also catches imports inside functions."""
    offenders = []
    for path in (REPO / "core").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path}: {n}" for n in names if n.split(".")[0] in ("PySide6", "shiboken6", "stella_desktop")]
    assert offenders == []
