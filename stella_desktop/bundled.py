"""Files bundled with the app: sample packs, icons, styles (``resources/``)."""

from __future__ import annotations

from pathlib import Path

RESOURCES_DIR = Path(__file__).resolve().parent.parent / "resources"
PACKS_DIR = RESOURCES_DIR / "packs"
DEFAULT_PACK = PACKS_DIR / "sbom-remediation" / "pack.yaml"
DEFAULT_INPUTS = PACKS_DIR / "sbom-remediation" / "inputs.json"


def sample_packs() -> list[Path]:
    """Every bundled sample manifest, sorted by path."""
    return sorted(p for p in PACKS_DIR.rglob("*.yaml") if "schemas" not in p.parts)
