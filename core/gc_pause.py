"""Pause Python's cyclic garbage collector while building large acyclic structures.

Building a plan for 10,000 steps allocates hundreds of thousands of dicts
and tuples; each allocation burst triggers generation-2 collections that
traverse everything alive, which (measured in ``benchmarks/simulate.py``)
costs more than the work itself.  What we build holds no reference cycles,
so reference counting frees it all the same; the pause only defers cycle
collection until the phase ends.  Mercurial does the same (``util.nogc``).
"""

from __future__ import annotations

import functools
import gc


def without_gc(function):
    """Run ``function`` with the cyclic collector paused (re-entrant, exception-safe)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return wrapper
