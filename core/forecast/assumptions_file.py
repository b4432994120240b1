"""Assumptions saved beside an inputs file: ``inputs.json`` -> ``inputs.assume.json``.

An inputs file holds only input values (anything else is refused as an
undeclared input), so a forecast's assumptions and durations live in a
sidecar: ``{"assume": {"STEP": "OUTCOME"}, "durations": {"STEP": SECONDS}}``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from core import json_text
from core.forecast.assumptions import AssumptionError


def sidecar_path(inputs_path: str | os.PathLike) -> Path:
    path = Path(inputs_path)
    return path.with_name(path.stem + ".assume.json")


def save_assumptions(inputs_path: str | os.PathLike, assume: dict[str, str],
                     durations: dict[str, float] | None = None) -> Path:
    """Write the sidecar atomically; returns its path.  OSError if it cannot be written."""
    target = sidecar_path(inputs_path)
    text = json_text.pretty({"assume": dict(assume), "durations": dict(durations or {})})
    handle, temporary = tempfile.mkstemp(prefix=".assume-", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def load_assumptions(inputs_path: str | os.PathLike) -> tuple[dict[str, str], dict[str, float]]:
    """The sidecar's assumptions and durations ({} and {} when there is none); AssumptionError if damaged."""
    target = sidecar_path(inputs_path)
    if not target.is_file():
        return {}, {}
    try:
        document = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise AssumptionError(f"{target} cannot be read: {error}") from None
    assume = document.get("assume", {}) if isinstance(document, dict) else None
    durations = document.get("durations", {}) if isinstance(document, dict) else None
    if not isinstance(assume, dict) or not isinstance(durations, dict) \
            or not all(isinstance(v, str) for v in assume.values()):
        raise AssumptionError(f"{target} must be an object with 'assume' (STEP: OUTCOME) and 'durations' "
                              "(STEP: SECONDS)")
    return assume, durations
