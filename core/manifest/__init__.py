"""Open a Task Pack: read, parse, validate, and keep where everything came from.

>>> pack = load_pack("resources/packs/sbom-remediation/pack.yaml")  # doctest: +SKIP
>>> pack.manifest.metadata.name                                     # doctest: +SKIP
'sbom-remediation'

Any problem raises :class:`core.errors.PackInvalid` listing every problem
found, each with ``file:line:column``; nothing here raises anything else
for a bad pack.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from core.errors import PackInvalid, Problem
from core.gc_pause import without_gc
from core.manifest.checks import check_manifest
from core.manifest.locate import walk_raw_steps
from core.manifest.model_problems import problems_from_validation
from core.manifest.models import Manifest, Step, ruled_manifest
from core.manifest.yaml_source import YamlSource, parse_yaml, read_text

__all__ = ["Pack", "load_pack", "parse_pack", "Manifest", "Step"]


@dataclass(frozen=True)
class Pack:
    """A validated manifest with its source marks, folder and input schemas."""

    manifest: Manifest
    source: YamlSource = field(repr=False)
    base_dir: str | None
    schemas: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def file(self) -> str:
        return self.source.file

    def line_of_step(self, step_id: str) -> int | None:
        """The line where a step (by manifest id) is declared, for jumping to it."""
        return self.step_lines().get(step_id)

    def step_lines(self) -> dict[str, int]:
        lines = {}
        for index, step in enumerate(self.source.data["spec"]["steps"]):
            for path, raw in walk_raw_steps(("spec", "steps", index), step):
                lines.setdefault(raw["id"], self.source.mark_of(path + ("id",))[0])
        return lines


def load_pack(path: str | os.PathLike, display_name: str | None = None) -> Pack:
    """Read and validate the manifest at ``path``; schemas resolve next to it."""
    path = os.fspath(path)
    name = display_name or path
    text = read_text(path, name)
    return parse_pack(text, name, os.path.dirname(os.path.abspath(path)))


@without_gc
def parse_pack(text: str, file: str = "pack.yaml", base_dir: str | None = None) -> Pack:
    """Validate manifest text.  ``base_dir`` None: schema files are refused."""
    source = parse_yaml(text, file)
    if not isinstance(source.data, dict):
        raise PackInvalid([source.problem((), "the top level must be a mapping with apiVersion, kind, "
                                              "metadata and spec")])
    manifest = None
    try:
        manifest = Manifest.model_validate(source.data)
    except ValidationError:
        pass
    checked = check_manifest(source, base_dir)
    if manifest is None or checked.problems or checked.may_break_model_rules:
        # Worded as the ruled models say it: the rules the checks do not word, and only where
        # pydantic would have applied them (a step's rule only once all inside it validated).
        problems: list[Problem] = []
        try:
            ruled_manifest().model_validate(source.data)
        except ValidationError as error:
            problems.extend(problems_from_validation(error, source))
        problems.extend(checked.problems)
        if problems:
            raise PackInvalid(problems)
    assert manifest is not None  # the ruled models accept only what the plain ones accept
    return Pack(manifest, source, base_dir, checked.schemas)
