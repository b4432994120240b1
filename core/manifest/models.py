"""Pydantic models of a Task Pack manifest (format document sections 1-8).

Models are strict (no "2" -> 2 coercion) and forbid unknown keys, except the
free-form ``metadata.annotations``, ``with`` and ``parameters`` maps.  Field
names are the manifest's camelCase names, so error locations and dumps read
exactly like the YAML.  Cross-references (unique ids, declared approvals,
expressions) are checked by :mod:`core.manifest.checks`, which reports all
problems at once with their YAML marks.

Three rules no field type can say (a step has exactly one kind, a gate exactly one of
approval and policy, ``allowSecretInFile`` is a boolean) are not validators of these models
but of the subclasses :func:`ruled_manifest` builds: validators call back into Python for
every step, gate and run (~1.8 ms of ~7 ms for the 1,845 steps of the 10k-step bench pack),
and a valid pack never needs them, because the checks see the same keys.
:func:`core.manifest.parse_pack` validates again with the ruled models only to word the
problems of a pack that has any (or that the checks say may break one of these rules).

No ``from __future__ import annotations`` here: pydantic would have to compile every string
annotation back into a type when the models are built, which every cold start pays
(benchmarks/README.md).
"""

from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.durations import parse_duration

API_VERSION = "stellaops.io/pack.v1"
KIND = "TaskPack"

DNS_LABEL = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
SEMVER = (r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
          r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
          r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$")
IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"
STEP_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
NAME = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$"  # secrets and outputs: the format sets no rule; keep them sane
STEP_KINDS = ("run", "gate", "parallel", "map")
INPUT_TYPES = ("string", "number", "integer", "boolean", "object", "array")

NonEmpty = Annotated[str, Field(min_length=1)]
PositiveInt = Annotated[int, Field(gt=0)]


def _new_list() -> list:
    """A default factory: Python functions, not ``list``/``dict`` themselves, whose signatures
    pydantic reads with ``inspect.signature`` while building a model: on a builtin type that
    took 7 ms of every cold start (13 fields), on a function next to nothing."""
    return []


def _new_dict() -> dict:
    return {}


class _Model(BaseModel):
    # Empty lists and maps default by factory, not ``= []``: pydantic-core deep-copies a mutable
    # default (``copy.deepcopy``, in Python) for every model that leaves it out: the 410 runs
    # without ``with`` of the 10k-step bench pack cost 3.4M of its 36M instructions of validation.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)  # keys by their manifest names only: `with`, not `with_`


def exactly_one_message(present: list[str], names: tuple[str, ...], what: str) -> str | None:
    """The problem with a mapping that must hold exactly one of ``names``, if any."""
    if len(present) == 1:
        return None
    found = f" (found {', '.join(present)})" if present else ""
    return f"{what} must define exactly one of {', '.join(names)}{found}"


def _exactly_one(model: BaseModel, names: tuple[str, ...], what: str):
    fields = model.__dict__  # a validated model's fields (read at once: this runs for every step)
    present = [n for n in names if fields[n] is not None]
    if len(present) != 1:
        raise ValueError(exactly_one_message(present, names, what))
    return model


class Maintainer(_Model):
    name: NonEmpty
    email: str | None = None


class Metadata(_Model):
    name: Annotated[str, Field(pattern=DNS_LABEL, max_length=63)]
    version: Annotated[str, Field(pattern=SEMVER)]
    description: str | None = None
    tags: list[str] = Field(default_factory=_new_list)
    tenantVisibility: list[str] = Field(default_factory=_new_list)
    maintainers: list[Maintainer] = Field(default_factory=_new_list)
    license: str | None = None
    annotations: dict[str, str] = Field(default_factory=_new_dict)


class InputSpec(_Model):
    name: Annotated[str, Field(pattern=IDENTIFIER)]
    type: Literal["string", "number", "integer", "boolean", "object", "array"]
    schema_path: str | None = Field(default=None, alias="schema", min_length=1)
    required: bool = False
    default: Any = None
    description: str | None = None

    @property
    def has_default(self) -> bool:
        return "default" in self.model_fields_set


class SecretSpec(_Model):
    name: Annotated[str, Field(pattern=NAME)]
    scope: str | None = None
    description: str | None = None


class ApprovalSpec(_Model):
    id: Annotated[str, Field(pattern=STEP_ID)]
    grants: list[str] = Field(default_factory=_new_list)
    expiresAfter: str | None = None
    reasonTemplate: str | None = None

    @field_validator("expiresAfter")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @property
    def expires_after_seconds(self) -> float | None:
        return None if self.expiresAfter is None else parse_duration(self.expiresAfter)


class RunSpec(_Model):
    """A module call: ``uses`` and its free-form ``with`` parameters.

    One ``with`` key is the engine's own: ``allowSecretInFile`` (true or
    false, default false).  ``builtin:write-file`` refuses to write a secret
    value (in any encoding) into its ``path`` or ``content`` unless it is
    ``true``; a run lists the steps that set it before anything starts.
    """

    uses: NonEmpty
    with_: dict[str, Any] = Field(default_factory=_new_dict, alias="with")


class ApprovalGate(_Model):
    id: NonEmpty
    message: str | None = None


class PolicyGate(_Model):
    policy: NonEmpty
    parameters: dict[str, Any] = Field(default_factory=_new_dict)
    message: str | None = None


class GateSpec(_Model):
    approval: ApprovalGate | None = None
    policy: PolicyGate | None = None


class ParallelSpec(_Model):
    maxParallel: PositiveInt | None = None
    continueOnError: bool = False
    steps: Annotated[list["Step"], Field(min_length=1)]


class MapSpec(_Model):
    items: str | list[Any]
    step: "Step"
    maxParallel: PositiveInt | None = None
    continueOnError: bool = False


class Step(_Model):
    id: Annotated[str, Field(pattern=STEP_ID)]
    name: str | None = None
    when: str | bool | None = None
    run: RunSpec | None = None
    gate: GateSpec | None = None
    parallel: ParallelSpec | None = None
    map: MapSpec | None = None

    @property
    def kind(self) -> str:
        if self.gate is not None:
            return "gate.approval" if self.gate.approval is not None else "gate.policy"
        for name in ("run", "parallel", "map"):
            if getattr(self, name) is not None:
                return name
        raise AssertionError("validated steps have a kind")

    @property
    def children(self) -> list["Step"]:
        """Nested steps as written (a map's template counts as its one child)."""
        if self.parallel is not None:
            return self.parallel.steps
        if self.map is not None:
            return [self.map.step]
        return []


class OutputSpec(_Model):
    name: Annotated[str, Field(pattern=NAME)]
    type: NonEmpty
    path: str | None = None
    expression: str | None = None


class Retries(_Model):
    maxAttempts: Annotated[int, Field(ge=1)] = 1
    backoffSeconds: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0


class SuccessSpec(_Model):
    message: str | None = None


class FailureSpec(_Model):
    retries: Retries | None = None
    message: str | None = None


class Spec(_Model):
    inputs: list[InputSpec] = Field(default_factory=_new_list)
    secrets: list[SecretSpec] = Field(default_factory=_new_list)
    approvals: list[ApprovalSpec] = Field(default_factory=_new_list)
    steps: Annotated[list[Step], Field(min_length=1)]
    outputs: list[OutputSpec] = Field(default_factory=_new_list)
    success: SuccessSpec | None = None
    failure: FailureSpec | None = None


class Manifest(_Model):
    apiVersion: Literal["stellaops.io/pack.v1"]
    kind: Literal["TaskPack"]
    metadata: Metadata
    spec: Spec

    def walk_steps(self):
        """Every step, nested ones included, in document (pre-)order."""
        stack = list(reversed(self.spec.steps))
        while stack:
            step = stack.pop()
            yield step
            stack.extend(reversed(step.children))


ParallelSpec.model_rebuild()
MapSpec.model_rebuild()


# -- the three rules, as validators, for wording problems -----------------------------------------
def _allow_secret_in_file(value: dict[str, Any]) -> dict[str, Any]:
    if "allowSecretInFile" in value and not isinstance(value["allowSecretInFile"], bool):
        raise ValueError("'allowSecretInFile' must be true or false")
    return value


@cache
def ruled_manifest() -> type[Manifest]:
    """:class:`Manifest` with the three rules (module docstring) as validators.

    Built on first use (an invalid pack), not at import: a cold start of a valid pack never
    pays for these seven models.  Same fields in the same order, so the same errors, plus the
    rules' own.
    """

    class RuledRunSpec(RunSpec):
        _allow_secret = field_validator("with_")(_allow_secret_in_file)

    class RuledGateSpec(GateSpec):
        @model_validator(mode="after")
        def _one_gate(self) -> "RuledGateSpec":
            return _exactly_one(self, ("approval", "policy"), "a gate")

    class RuledStep(Step):
        run: RuledRunSpec | None = None
        gate: RuledGateSpec | None = None
        parallel: "RuledParallelSpec | None" = None
        map: "RuledMapSpec | None" = None

        @model_validator(mode="after")
        def _one_kind(self) -> "RuledStep":
            return _exactly_one(self, STEP_KINDS, "a step")

    class RuledParallelSpec(ParallelSpec):
        steps: Annotated[list[RuledStep], Field(min_length=1)]

    class RuledMapSpec(MapSpec):
        step: RuledStep

    class RuledSpec(Spec):
        steps: Annotated[list[RuledStep], Field(min_length=1)]

    class RuledManifest(Manifest):
        spec: RuledSpec

    RuledStep.model_rebuild()
    return RuledManifest
