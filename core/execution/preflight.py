"""Before anything runs: every step can be executed and every secret is there.

A run that would stop half-way because an executor or a secret is missing
is refused up front (exit 3), listing everything at once.
"""

from __future__ import annotations

import os

from core.errors import PackInvalid, Problem
from core.execution.executors import ExecutorRegistry
from core.plan import Plan, RuntimeValue, SecretRef

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


def secrets_used(plan: Plan) -> set[str]:
    """Names of the secrets the enabled steps will read."""
    used: set[str] = set()
    for step in plan.walk():
        if not step.enabled:
            continue
        _collect(step.parameters, used, plan.secrets)
        if step.when and "secrets" in step.when:
            used.update(name for name in plan.secrets if f"secrets.{name}" in step.when)
    return used


def _collect(value, used: set[str], declared) -> None:
    if isinstance(value, SecretRef):
        used.add(value.name)
    elif isinstance(value, RuntimeValue):
        used.update(name for name in declared if f"secrets.{name}" in value.template)
    elif isinstance(value, dict):
        for item in value.values():
            _collect(item, used, declared)
    elif isinstance(value, list):
        for item in value:
            _collect(item, used, declared)


def preflight(plan: Plan, registry: ExecutorRegistry, secrets: dict[str, str], pack) -> None:
    """Raise PackInvalid listing every step that could not run and every missing secret."""
    problems = []
    lines = pack.step_lines()
    file = pack.file
    for step in plan.walk():
        if step.enabled and step.kind == "run" and registry.get(step.uses) is None:
            line = lines.get(step.template_id, 0)
            problems.append(Problem(file, line, 1 if line else 0,
                                    f"'{step.uses}' cannot run: {registry.why_missing(step.uses)}", step=step.id))
    for name in sorted(secrets_used(plan) - set(secrets)):
        problems.append(Problem(file, 0, 0, f"secret '{name}' is needed but not set: export "
                                            f"{SECRET_PREFIX}{name}=..."))
    if problems:
        raise PackInvalid(problems)
