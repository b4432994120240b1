"""Where attempts execute: ``threads`` (headless default), ``dask`` (a cluster); the app adds ``qt``.

Every backend follows :class:`core.execution.driver.Backend`.  The choice
never changes what a run does, only where its steps execute.
"""

from __future__ import annotations

HEADLESS_BACKENDS = ("threads", "dask")
