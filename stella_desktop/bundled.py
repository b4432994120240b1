"""Files bundled with the app: sample packs, icons, styles (``resources/``).

Installed from a wheel they are inside the package (``stella_desktop/resources``, mapped by
setup.py); in a source checkout or the PyInstaller folder, ``resources/`` beside the package.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _resources_dir() -> Path:
    installed = _PACKAGE / "resources"
    return installed if installed.is_dir() else _PACKAGE.parent / "resources"


RESOURCES_DIR = _resources_dir()
PACKS_DIR = RESOURCES_DIR / "packs"
DEFAULT_PACK = PACKS_DIR / "sbom-remediation" / "pack.yaml"
DEFAULT_INPUTS = PACKS_DIR / "sbom-remediation" / "inputs.json"


def sample_packs() -> list[Path]:
    """Every bundled sample manifest, sorted by path."""
    return sorted(p for p in PACKS_DIR.rglob("*.yaml") if "schemas" not in p.parts)
