"""Cross-reference checks over the raw manifest, reporting every problem at once.

These run on the plain YAML data (not on the pydantic model) so that they
still report when some other part of the pack is malformed: a pack with a
typo *and* a duplicate id shows both.  Every check is defensive about types;
type errors themselves are the models' job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.errors import Problem
from core.expressions import ExpressionError, Template
from core.inputs import SchemaFileError, load_schema, value_problems
from core.manifest.locate import step_context
from core.manifest.models import STEP_KINDS, exactly_one_message
from core.manifest.yaml_source import YamlSource


SHOWN = ("a secret cannot be used in text shown to people (messages, approval reasons, outputs); "
         "pass it to a step as a parameter")
RECORDED = "a map's items are recorded in the run store, so they cannot come from a secret"


@dataclass
class Scope:
    """What an expression at some place may read."""

    top_index: int | None = 0
    """Index of the top-level step this expression belongs to: it may read the
    outputs of steps inside earlier top-level steps.  None: every declared step."""
    in_map: bool = False
    no_secrets: str | None = None  # why secrets cannot be read here, where they cannot


@dataclass
class CheckResult:
    problems: list[Problem] = field(default_factory=list)
    schemas: dict[str, Any] = field(default_factory=dict)
    may_break_model_rules: bool = False
    """A step's one kind or a gate's one key is given as null, or some ``allowSecretInFile``
    is not a boolean: rules only the ruled models (``models.ruled_manifest``) word."""


def check_manifest(source: YamlSource, base_dir: str | None) -> CheckResult:
    return _Checker(source, base_dir).run()


def _items(value: Any) -> list:
    return value if isinstance(value, list) else []


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


class _Checker:
    def __init__(self, source: YamlSource, base_dir: str | None):
        self.source = source
        self.base_dir = base_dir
        self.result = CheckResult()
        spec = _mapping(_mapping(source.data).get("spec"))
        self.spec = spec
        self.inputs = self._unique_names("inputs", "name", "input")
        self.secrets = self._unique_names("secrets", "name", "secret")
        self.approvals = self._unique_names("approvals", "id", "approval")
        self._unique_names("outputs", "name", "output")
        self.step_ids: dict[str, tuple] = {}  # id -> path of the step that first declares it
        self.top_index: dict[str, int] = {}  # id -> index of the top-level step around it
        self.unresolved: list[tuple] = []  # (path, reference, scope) failing against the ids so far

    def run(self) -> CheckResult:
        self._check_inputs()
        self._check_approvals()
        self._check_steps()
        self._check_outputs()
        for key in ("success", "failure"):
            message = _mapping(self.spec.get(key)).get("message")
            self._check_template(("spec", key, "message"), message, Scope(top_index=None, no_secrets=SHOWN))
        # A reference that failed against the ids declared so far is decided against them all
        # (it may name a later step), after every other problem, in the order found.
        for path, reference, scope in self.unresolved:
            message = self._reference_problem(reference, scope)
            if message:
                self._problem(path, message)
        return self.result

    # -- helpers -------------------------------------------------------
    def _problem(self, path: tuple, message: str, *, key: bool = False) -> None:
        step, field_name = step_context(self.source.data, path)
        self.result.problems.append(self.source.problem(path, message, key=key, step=step, field=field_name))

    def _unique_names(self, section: str, key: str, what: str) -> dict[str, tuple]:
        seen: dict[str, tuple] = {}
        for index, entry in enumerate(_items(self.spec.get(section))):
            name = _mapping(entry).get(key)
            if not isinstance(name, str):
                continue
            path = ("spec", section, index, key)
            if name in seen:
                first_line = self.source.mark_of(seen[name])[0]
                self._problem(path, f"{what} {key} '{name}' is used twice (first at line {first_line})")
            else:
                seen[name] = path
        return seen

    # -- steps ---------------------------------------------------------
    def _check_steps(self) -> None:
        # One shared id -> top-level index table, not a set of earlier ids per
        # step: copying that set made validation quadratic (80k steps: 91 s).
        for index, step in enumerate(_items(self.spec.get("steps"))):
            self._check_step(("spec", "steps", index), step, Scope(top_index=index))

    def _check_step(self, path: tuple, step: Any, scope: Scope) -> None:
        # One walk in document pre-order (walk_raw_steps's), by plain recursion: a chain of
        # generators cost more than the checks, and a first walk only to collect the ids cost
        # a third of them (references to ids not seen yet are decided at the end, in run()).
        # Paths and scopes are built only for the parts a step has: a pack of 80,000
        # plain steps made eight tuples and two scopes per step for nothing.
        if not isinstance(step, dict):
            return
        run, gate, parallel, map_spec = step.get("run"), step.get("gate"), step.get("parallel"), step.get("map")
        if ("run" in step) + ("gate" in step) + ("parallel" in step) + ("map" in step) != 1:
            self._problem(path, exactly_one_message([k for k in STEP_KINDS if k in step], STEP_KINDS, "a step"))
        elif run is None and gate is None and parallel is None and map_spec is None:
            self.result.may_break_model_rules = True
        step_id = step.get("id")
        if isinstance(step_id, str):
            self.top_index.setdefault(step_id, scope.top_index)
            if step_id in self.step_ids:
                first_line = self.source.mark_of(self.step_ids[step_id] + ("id",))[0]
                self._problem(path + ("id",), f"step id '{step_id}' is used twice (first at line {first_line})")
            else:
                self.step_ids[step_id] = path
        when = step.get("when")
        if isinstance(when, str):
            self._check_when(path + ("when",), when, scope)
        if isinstance(run, dict):
            with_ = run.get("with")
            if isinstance(with_, dict) and not isinstance(with_.get("allowSecretInFile", False), bool):
                self.result.may_break_model_rules = True
            if with_ is not None:  # (half the bench pack's runs have no parameters)
                self._check_values(path + ("run", "with"), with_, scope)
        if isinstance(gate, dict):
            self._check_gate(path + ("gate",), gate, scope)
        if isinstance(parallel, dict):
            for i, child in enumerate(_items(parallel.get("steps"))):
                self._check_step(path + ("parallel", "steps", i), child, scope)
        if not isinstance(map_spec, dict):
            return
        items = map_spec.get("items")
        if isinstance(items, (str, list)):
            recorded = Scope(top_index=scope.top_index, in_map=scope.in_map, no_secrets=RECORDED)
            if isinstance(items, str):
                self._check_whole(path + ("map", "items"), items, recorded, "'items' must be a single "
                                  "{{ expression }} giving a list, or a YAML list")
            else:
                self._check_values(path + ("map", "items"), items, recorded)
        if "step" in map_spec:
            self._check_step(path + ("map", "step"), map_spec["step"], Scope(top_index=scope.top_index, in_map=True))

    def _check_gate(self, path: tuple, gate: dict, scope: Scope) -> None:
        approval, policy = gate.get("approval"), gate.get("policy")
        if ("approval" in gate) + ("policy" in gate) != 1:
            keys = [k for k in ("approval", "policy") if k in gate]
            self._problem(path, exactly_one_message(keys, ("approval", "policy"), "a gate"))
        elif approval is None and policy is None:
            self.result.may_break_model_rules = True
        # a message is often plain text or absent: no path or scope for it then
        if isinstance(approval, dict):
            approval_id = approval.get("id")
            if isinstance(approval_id, str) and approval_id not in self.approvals:
                self._problem(path + ("approval", "id"), f"approval '{approval_id}' is not declared in spec.approvals")
            message = approval.get("message")
            if Template.has_template(message):
                self._check_template(path + ("approval", "message"), message, Scope(
                    top_index=scope.top_index, in_map=scope.in_map, no_secrets=SHOWN))
        if isinstance(policy, dict):
            parameters = policy.get("parameters")
            if parameters is not None:
                self._check_values(path + ("policy", "parameters"), parameters, scope)
            message = policy.get("message")
            if Template.has_template(message):
                self._check_template(path + ("policy", "message"), message, Scope(
                    top_index=scope.top_index, in_map=scope.in_map, no_secrets=SHOWN))

    def _check_when(self, path: tuple, when: str, scope: Scope) -> None:
        self._check_whole(path, when, scope, "'when' must be true, false or a single {{ expression }}")

    def _check_whole(self, path: tuple, text: str, scope: Scope, requirement: str) -> None:
        if not Template.has_template(text):
            self._problem(path, requirement)
            return
        template = self._check_template(path, text, scope)
        if template is not None and template.whole is None:
            self._problem(path, requirement)

    def _check_values(self, path: tuple, value: Any, scope: Scope) -> None:
        if isinstance(value, dict):
            pairs: Any = value.items()
        elif isinstance(value, list):
            pairs = enumerate(value)
        else:
            if isinstance(value, str) and "{{" in value:
                self._check_template(path, value, scope)
            return
        for key, item in pairs:  # a path only for what may hold a template
            if isinstance(item, str):
                if "{{" in item:
                    self._check_template(path + (key,), item, scope)
            elif isinstance(item, (dict, list)):
                self._check_values(path + (key,), item, scope)

    def _check_template(self, path: tuple, value: Any, scope: Scope) -> Template | None:
        if not (isinstance(value, str) and "{{" in value):  # Template.has_template, without a call
            return None
        try:
            template = Template.parse(value)
        except ExpressionError as error:
            self._problem(path, str(error))
            return None
        for expression in template.expressions:
            for reference in expression.references:
                if self._reference_problem(reference, scope):
                    self.unresolved.append((path, reference, scope))
        return template

    def _reference_problem(self, ref: tuple[str, ...], scope: Scope) -> str | None:
        root = ref[0]
        if root == "steps" and len(ref) >= 2 and ref[1] in self.step_ids and len(ref) >= 3 \
                and ref[2] == "outputs" and (scope.top_index is None or self.top_index[ref[1]] < scope.top_index):
            return None  # the common case, decided before any message is written
        if root == "inputs" and len(ref) >= 2 and ref[1] in self.inputs or root in ("item", "index") and scope.in_map:
            return None  # the next most common
        dotted = ".".join(ref[:2])
        if root == "@":
            return "'@' at the top of an expression reads the whole context; name what you need (inputs.x, ...)"
        if root == "inputs":
            if len(ref) >= 2 and ref[1] not in self.inputs:
                return f"'{dotted}' is not a declared input"
        elif root == "secrets":
            if scope.no_secrets:
                return f"'{dotted}': {scope.no_secrets}"
            if len(ref) < 2:
                return "name the secret: 'secrets.<name>'"
            if ref[1] not in self.secrets:
                return f"'{dotted}' is not a declared secret"
        elif root == "steps":
            if len(ref) < 2:
                return "name the step: 'steps.<id>.outputs.<name>'"
            step_id = ref[1]
            if step_id not in self.step_ids:
                return f"'{dotted}' is not a declared step"
            if scope.top_index is not None and self.top_index[step_id] >= scope.top_index:
                return f"step '{step_id}' does not finish before this runs, so its outputs cannot be read here"
            if len(ref) >= 3 and ref[2] != "outputs":
                return f"only a step's outputs can be read: 'steps.{step_id}.outputs.<name>', not '{'.'.join(ref[:3])}'"
        elif root in ("item", "index"):
            if not scope.in_map:
                return f"'{root}' is only defined inside a map's step template"
        else:
            return (f"'{root}' is not something an expression can read "
                    "(use inputs, secrets, steps, item or index)")
        return None

    # -- inputs, approvals, outputs ---------------------------------------
    def _check_inputs(self) -> None:
        from core.manifest.models import INPUT_TYPES
        for index, entry in enumerate(_items(self.spec.get("inputs"))):
            entry = _mapping(entry)
            name = entry.get("name")
            path = ("spec", "inputs", index)
            schema = None
            schema_path = entry.get("schema")
            if isinstance(schema_path, str) and schema_path:
                try:
                    schema = load_schema(self.base_dir, schema_path)
                    if isinstance(name, str):
                        self.result.schemas[name] = schema
                except SchemaFileError as error:
                    self._problem(path + ("schema",), f"input '{name}': {error}")
                    continue
            if "default" in entry and entry.get("type") in INPUT_TYPES and entry["default"] is not None:
                spec = _InputView(entry["type"])
                for reason in value_problems(spec, schema, entry["default"]):
                    self._problem(path + ("default",), f"input '{name}': the default is invalid: {reason}")

    def _check_approvals(self) -> None:
        for index, entry in enumerate(_items(self.spec.get("approvals"))):
            reason = _mapping(entry).get("reasonTemplate")
            self._check_template(("spec", "approvals", index, "reasonTemplate"), reason,
                                 Scope(top_index=None, no_secrets=SHOWN))

    def _check_outputs(self) -> None:
        for index, entry in enumerate(_items(self.spec.get("outputs"))):
            entry = _mapping(entry)
            path = ("spec", "outputs", index)
            for key in ("path", "expression"):
                self._check_template(path + (key,), entry.get(key), Scope(top_index=None, no_secrets=SHOWN))
            if entry.get("type") == "file" and not entry.get("path"):
                self._problem(path, f"output '{entry.get('name')}' of type file needs a 'path'")


@dataclass
class _InputView:
    type: str
