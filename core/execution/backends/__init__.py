"""Where attempts execute: ``threads`` (headless default), ``dask`` (a cluster); the app adds ``qt``.

Every backend follows :class:`core.execution.driver.Backend`.  The choice
never changes what a run does, only where its steps execute.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.execution.executors import ExecutorRegistry

HEADLESS_BACKENDS = ("threads", "dask")


class BackendUnavailable(Exception):
    """The backend cannot be used here (extra not installed, scheduler unreachable)."""


def make_backend(name: str, registry: ExecutorRegistry, *, workers: int = 4, scheduler: str | None = None):
    """A backend by name: ``threads`` (``workers`` threads) or ``dask`` (a scheduler address, or a
    local cluster of ``workers`` processes)."""
    if scheduler and name != "dask":
        raise BackendUnavailable("--scheduler is for --backend dask")
    if name == "threads":
        from core.execution.backends.threads import ThreadsBackend
        return ThreadsBackend(registry, workers)
    if name == "dask":
        from core.execution.backends.dask import DaskBackend
        return DaskBackend.connect(registry, scheduler=scheduler, workers=workers)
    raise BackendUnavailable(f"unknown backend '{name}' (choose from: {', '.join(HEADLESS_BACKENDS)})")


def workspace_for(root: str | os.PathLike | None, run_id: str) -> str | None:
    """A run's workspace under a shared ``--workspace-root`` (None: the run store's own)."""
    if not root:
        return None
    folder = Path(root).resolve() / run_id
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder)
