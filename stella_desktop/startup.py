"""What the ``stella`` and ``stella-desktop`` processes do around their first imports."""

from __future__ import annotations

import os
import sys
import types
from contextlib import contextmanager

PYDANTIC_PLUGINS = "PYDANTIC_DISABLE_PLUGINS"
LOADER = "pydantic.plugin._loader"


@contextmanager
def without_pydantic_plugins():
    """Build our pydantic models with pydantic's plugins off (``PYDANTIC_DISABLE_PLUGINS=__all__``).

    We use no pydantic plugins.  Without the switch, building the first model scans the entry
    points of every installed distribution for some (``importlib.metadata``: ~3 ms of CPU of a
    cold ``simulate``, benchmarks/README.md).  The variable is set only while the models are
    built, and only if the user has not set it: the processes our runs start inherit the
    user's environment as it was.

    The switch still imports pydantic's plugin loader, whose module imports ``importlib.metadata``
    (and ``email``, ``zipfile``...: ~12 ms of CPU) before reading it.  While the switch is ours,
    that module is a stand-in whose ``get_plugins()`` answers what the loader answers with the
    switch on, no plugins; any other name is read from the real loader, imported then.  Once
    the models are built the stand-in is taken out of ``sys.modules``, so whatever pydantic
    builds later imports the real loader (tests/test_cli_imports.py).
    """
    ours = PYDANTIC_PLUGINS not in os.environ
    stand_in = _loader_stand_in() if ours and LOADER not in sys.modules else None
    if ours:
        os.environ[PYDANTIC_PLUGINS] = "__all__"
    if stand_in is not None:
        sys.modules[LOADER] = stand_in
    try:
        yield
    finally:
        if ours:
            os.environ.pop(PYDANTIC_PLUGINS, None)
        if stand_in is not None and sys.modules.get(LOADER) is stand_in:
            del sys.modules[LOADER]


def _loader_stand_in() -> types.ModuleType:
    module = types.ModuleType(LOADER, "pydantic's plugin loader while PYDANTIC_DISABLE_PLUGINS=__all__ is ours")

    def get_plugins(*args, **kwargs):  # any signature a later pydantic may give it: the answer is the same
        return ()

    def __getattr__(name: str):
        if name.startswith("__"):  # the import system asks for __path__ on every `from ._loader import`
            raise AttributeError(name)
        import importlib.machinery
        import importlib.util

        import pydantic.plugin
        spec = importlib.machinery.PathFinder.find_spec(LOADER, pydantic.plugin.__path__)
        real = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(real)
        return getattr(real, name)

    module.get_plugins = get_plugins
    module.__getattr__ = __getattr__
    return module
