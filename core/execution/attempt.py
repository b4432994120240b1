"""One attempt of one step, as plain data: what a backend is given and what it gives back.

A backend receives a :class:`StepAttempt` (the executor's name and the
step's resolved parameters), runs it with :func:`execute_attempt` wherever it
runs things (a thread, a QThreadPool, a Dask worker) and delivers a
:class:`Completion` to the driver.  Both are plain, picklable data: a Dask
worker needs nothing else, and decides nothing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.execution.executors import Executor, ExecutorRegistry, StepCancelled, StepContext, StepFailed
from core.execution.redaction import Redactor

CANCELLED = "interrupted: run cancelled"
WORKER_LOST = "interrupted: its worker was lost"


@dataclass(frozen=True)
class StepAttempt:
    run_id: str
    step_id: str
    attempt: int
    uses: str
    parameters: dict
    workspace: str
    # secret values inside ``parameters``: whoever runs the attempt masks them in what it returns
    secret_values: tuple[str, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class Completion:
    step_id: str
    attempt: int
    outputs: dict | None = None
    error: str | None = None
    interrupted: str | None = None  # why it stopped without a result (cancelled, worker lost)

    @property
    def succeeded(self) -> bool:
        return self.error is None and self.interrupted is None


def execute_attempt(executor: Executor | None, attempt: StepAttempt,
                    cancel: threading.Event | None = None) -> Completion:
    """Run one attempt; never raises (a broken executor fails its step, never the run)."""
    step_id, number = attempt.step_id, attempt.attempt
    if executor is None:
        return Completion(step_id, number, error=f"'{attempt.uses}' cannot run here: no executor is installed for it")
    # every form of the secrets this attempt carries (most carry none: one shared empty redactor)
    secrets = Redactor(attempt.secret_values) if attempt.secret_values else _NO_SECRETS
    context = StepContext(attempt.run_id, step_id, number, attempt.parameters, _workspace_path(attempt.workspace),
                          cancel if cancel is not None else threading.Event(), secrets)
    try:
        outputs = executor(context)
        completion = Completion(step_id, number, outputs=dict(outputs or {}))
    except StepCancelled:
        return Completion(step_id, number, interrupted=CANCELLED)
    except StepFailed as failure:
        completion = Completion(step_id, number, error=str(failure) or "failed")
    except (Exception, SystemExit) as error:  # sys.exit() in an executor (argparse on bad arguments) too:
        # escaping, it left the threads backend's run waiting forever and ended a Dask worker per attempt
        completion = Completion(step_id, number, error=f"{type(error).__name__}: {error}")
    if secrets:
        completion = Completion(step_id, number, secrets.redact(completion.outputs), secrets.redact(completion.error))
    return completion


_NO_SECRETS = Redactor(())


@lru_cache(maxsize=64)
def _workspace_path(workspace: str) -> Path:
    """A run's workspace as a Path, parsed once per run rather than once per attempt (a Path is
    immutable; parsing it was a tenth of the CPU of a 1,000 no-op run: ``benchmarks``, execute-1000)."""
    return Path(workspace)


def run_attempt_by_name(attempt: StepAttempt, allow_commands: bool) -> Completion:
    """What a remote worker runs: look the executor up by name in this process, run it."""
    registry = _worker_registry(allow_commands)
    return execute_attempt(registry.get(attempt.uses), attempt)


_REGISTRIES: dict[bool, ExecutorRegistry] = {}


def _worker_registry(allow_commands: bool) -> ExecutorRegistry:
    registry = _REGISTRIES.get(allow_commands)
    if registry is None:
        registry = _REGISTRIES[allow_commands] = ExecutorRegistry.default(allow_commands=allow_commands)
    return registry


def _leaves(value: Any):
    """Every value inside ``value`` that is not a dict or a list."""
    if isinstance(value, dict):
        for inner in value.values():
            yield from _leaves(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _leaves(inner)
    else:
        yield value


def secrets_within(value: Any, secrets: list[str]) -> tuple[str, ...]:
    """Which of ``secrets`` appear in ``value`` (the resolved parameters of one step)."""
    texts = [item for item in _leaves(value) if isinstance(item, str)]
    return tuple(sorted({secret for secret in secrets if any(secret in text for text in texts)}))


def secrets_read_by(parameters: Any, secrets: dict[str, str]) -> tuple[str, ...]:
    """The values of the secrets that the planned ``parameters`` of a step read (a ``SecretRef``,
    or a run-time template whose expressions read ``secrets``), whether or not the resolved
    value still contains them as written: ``reverse(secrets.token)`` carries the secret too."""
    from core.expressions import Template
    from core.plan.model import RuntimeValue, SecretRef
    names: set[str] = set()
    for item in _leaves(parameters):
        if isinstance(item, SecretRef):
            names.add(item.name)
        elif isinstance(item, RuntimeValue) and Template.parse(item.template).uses_secrets:
            named = {name for name in secrets if name in item.template}
            names.update(named or secrets)  # no name found in the text: assume it reads them all
    return tuple(sorted({secrets[name] for name in names
                         if isinstance(secrets.get(name), str) and secrets[name]}))
