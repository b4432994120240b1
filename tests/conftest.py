"""Shared fixtures: where the sample packs are, and small pack builders.

Everything the tests read lives in this repository: the bundled samples under
``resources/packs`` and the packs that must be refused under ``tests/packs/invalid``.
"""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # tests need no display

REPO = Path(__file__).resolve().parent.parent
RESOURCES_PACKS = REPO / "resources" / "packs"
SBOM_PACK = RESOURCES_PACKS / "sbom-remediation" / "pack.yaml"
FLAKY_PACK = RESOURCES_PACKS / "flaky-fanout.yaml"
INVALID_PACKS = REPO / "tests" / "packs" / "invalid"


@pytest.fixture(scope="session")
def invalid_dir() -> Path:
    return INVALID_PACKS


def invalid_expectations() -> dict[str, tuple[int, list[str]]]:
    """{file: (line, phrases)} from the table in tests/packs/invalid/README.md."""
    expected = {}
    for row in re.finditer(r"^\| ([\w.-]+\.yaml) \| (\d+) \| (.+) \|$",
                           (INVALID_PACKS / "README.md").read_text(), re.M):
        expected[row[1]] = (int(row[2]), re.findall(r"`([^`]+)`", row[3]))
    return expected


HEADER = """\
apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {name: demo, version: 1.0.0}
"""


def pack_text(spec: str) -> str:
    """A manifest with the standard header and ``spec`` (dedented) under ``spec:``."""
    body = textwrap.indent(textwrap.dedent(spec).strip("\n"), "  ")
    return HEADER + "spec:\n" + body + "\n"


@pytest.fixture
def write_pack(tmp_path):
    """Write a manifest (and optional extra files) into a fresh pack folder."""

    def write(spec: str, files: dict[str, str] | None = None, raw: bool = False) -> Path:
        folder = tmp_path / "pack"
        folder.mkdir(exist_ok=True)
        for name, content in (files or {}).items():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        manifest = folder / "pack.yaml"
        manifest.write_text(spec if raw else pack_text(spec))
        return manifest

    return write


@pytest.fixture(scope="module")
def dask_client():
    """One Dask LocalCluster (2 worker processes) per test module that asks for it."""
    from backend_harness import local_cluster
    cluster, client = local_cluster()
    yield client
    client.close()
    cluster.close()


@pytest.fixture(params=["threads", "qt", "dask"])
def harness(request):
    """Drives runs on each backend in turn: every execution test passes identically on all three."""
    from backend_harness import make_harness
    made = make_harness(request, request.param)
    yield made
    made.close()
