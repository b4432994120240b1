"""Before anything runs: every step can be executed and every secret is there.

A run that would stop half-way because an executor or a secret is missing
is refused up front (exit 3), listing everything at once.  That includes the
template of a map whose items are known only at run time: its children do
not exist yet, but what they will use and read is written in the template.

:func:`preflight` also returns notices, things the user should know before
the run starts: today, the steps that may write a secret value into a file
(``allowSecretInFile: true``).
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any, Iterator

from core.errors import PackInvalid, Problem
from core.manifest.models import Step
from core.plan import Plan, PlannedStep, RuntimeValue, SecretRef

if TYPE_CHECKING:  # the executors are imported when a run is checked (the app shows a pack without them)
    from core.execution.executors import ExecutorRegistry

SECRET_PREFIX = "STELLA_SECRET_"


def secrets_from_environment(names, environ=None) -> dict[str, str]:
    """Secret values from ``STELLA_SECRET_<name>`` (exact name, else upper-cased)."""
    environ = os.environ if environ is None else environ
    found = {}
    for name in names:
        for key in (SECRET_PREFIX + name, SECRET_PREFIX + name.upper()):
            if key in environ:
                found[name] = environ[key]
                break
    return found


def _reads(text: str, name: str) -> bool:
    """Whether template text reads ``secrets.<name>`` (``secrets.tok`` is not ``secrets.token``)."""
    return re.search(r"secrets\s*\.\s*(?:" + re.escape(name) + r"|\"" + re.escape(name) + r"\")(?![A-Za-z0-9_])",
                     text) is not None


def secrets_used(plan: Plan, pack=None) -> set[str]:
    """Names of the secrets the enabled steps will read (map templates included when ``pack`` is given)."""
    used: set[str] = set()
    for step in plan.walk():
        if not step.enabled:
            continue
        _collect(step.parameters, used, plan.secrets)
        if step.when and "secrets" in step.when:
            used.update(name for name in plan.secrets if _reads(step.when, name))
        if pack is not None and _runtime_map(step):
            for text in _template_texts(_template_of(pack, step)):
                used.update(name for name in plan.secrets if _reads(text, name))
    return used


def _collect(value, used: set[str], declared) -> None:
    if isinstance(value, SecretRef):
        used.add(value.name)
    elif isinstance(value, RuntimeValue):
        used.update(name for name in declared if _reads(value.template, name))
    elif isinstance(value, dict):
        for item in value.values():
            _collect(item, used, declared)
    elif isinstance(value, list):
        for item in value:
            _collect(item, used, declared)


def _runtime_map(step: PlannedStep) -> bool:
    return step.kind == "map" and step.items_runtime and not step.children


def _template_of(pack, map_step: PlannedStep) -> Step:
    """The manifest step a run-time map's children will be planned from."""
    node: Any = pack.manifest
    for segment in map_step.source_path:
        node = node[segment] if isinstance(segment, int) else getattr(node, segment)
    return node.map.step


def _walk(step: Step) -> Iterator[Step]:
    stack = [step]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def _template_texts(template: Step) -> Iterator[str]:
    """Every template string in a step and the steps inside it."""
    stack = [template.model_dump(mode="json", by_alias=True)]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str) and "{{" in value:
            yield value


def preflight(plan: Plan, registry: ExecutorRegistry, secrets: dict[str, str], pack) -> list[str]:
    """Raise PackInvalid listing every step that could not run and every missing secret.

    Returns notices for the user (steps allowed to write secrets into files).
    """
    from core.execution.executors import ALLOW_SECRET_IN_FILE
    problems = []
    notices: dict[str, str] = {}
    lines = pack.step_lines()
    file = pack.file

    def check_run(step_id: str, template_id: str, uses: str, parameters) -> None:
        line = lines.get(template_id, 0)
        if registry.get(uses) is None:
            problems.append(Problem(file, line, 1 if line else 0,
                                    f"'{uses}' cannot run: {registry.why_missing(uses)}", step=step_id))
        if isinstance(parameters, dict) and parameters.get(ALLOW_SECRET_IN_FILE) is True:
            notices.setdefault(template_id, f"step '{step_id}'{f' (line {line})' if line else ''} may write "
                                            f"secret values into a file: it sets {ALLOW_SECRET_IN_FILE}: true")

    for step in plan.walk():
        if not step.enabled:
            continue
        if step.kind == "run":
            check_run(step.id, step.template_id, step.uses, step.parameters)
        elif _runtime_map(step):  # children known only at run time: check what they are made from
            for inner in _walk(_template_of(pack, step)):
                if inner.run is not None and inner.when is not False:
                    check_run(f"{step.id}[*]::{inner.id}", inner.id, inner.run.uses, inner.run.with_)
    for name in sorted(secrets):
        try:
            secrets[name].encode("utf-8")
        except UnicodeEncodeError:  # bytes that are not UTF-8 in the environment: no JSON record could hold them
            problems.append(Problem(file, 0, 0, f"secret '{name}' is not valid UTF-8 text: set "
                                                f"{SECRET_PREFIX}{name} to a UTF-8 value"))
    for name in sorted(secrets_used(plan, pack) - set(secrets)):
        problems.append(Problem(file, 0, 0, f"secret '{name}' is needed but not set: export "
                                            f"{SECRET_PREFIX}{name}=..."))
    if problems:
        raise PackInvalid(problems)
    return list(notices.values())
