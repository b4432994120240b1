"""What the ``stella`` and ``stella-desktop`` processes do around their first imports."""

from __future__ import annotations

import os
from contextlib import contextmanager

PYDANTIC_PLUGINS = "PYDANTIC_DISABLE_PLUGINS"


@contextmanager
def without_pydantic_plugins():
    """Build our pydantic models with pydantic's plugins off (``PYDANTIC_DISABLE_PLUGINS=__all__``).

    We use no pydantic plugins.  Without the switch, building the first model scans the entry
    points of every installed distribution for some (``importlib.metadata``: ~3 ms of CPU of a
    cold ``simulate``, benchmarks/README.md).  The variable is set only while the models are
    built, and only if the user has not set it: the processes our runs start inherit the
    user's environment as it was.
    """
    ours = PYDANTIC_PLUGINS not in os.environ
    if ours:
        os.environ[PYDANTIC_PLUGINS] = "__all__"
    try:
        yield
    finally:
        if ours:
            os.environ.pop(PYDANTIC_PLUGINS, None)
