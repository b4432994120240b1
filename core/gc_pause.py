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


def keep_long_lived() -> None:
    """Take every object alive now out of the cyclic collector's sight (``gc.freeze``).

    Called when a large document (a simulated pack, its forecast) has just been built and is
    kept: a 10,000-step pack is ~430,000 tracked objects, and each full collection (at least
    one per open of that pack, on the GUI thread) traversed them all again: 0.25-0.3 s.
    Frozen objects are still freed by reference counting when the document is replaced; only
    cycles among them would never be collected, and the document holds none (a test checks
    that a replaced pack's objects are freed).  :func:`release_long_lived` undoes it.
    """
    gc.freeze()


def release_long_lived() -> None:
    """Let the collector see the frozen objects again (a window closes: its cycles are collectable)."""
    gc.unfreeze()
