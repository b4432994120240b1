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


def built_to_keep(function):
    """:func:`without_gc`, and what ``function`` built taken out of the collector's sight
    (``gc.freeze``) before the collector can run again.

    For a large document that is then kept (a simulated pack, its forecast), built on a worker:
    a 10,000-step pack is ~400,000 objects, and the first collection after the pause (on any
    thread: the GUI's next allocations) traversed them all, 0.2-0.3 s, and every later full
    collection again.  Frozen objects are still freed by reference counting when the document is
    replaced; only cycles among them would never be collected, and the documents hold none (a
    test checks that a replaced pack's objects are freed).  :func:`release_long_lived` undoes it.
    """

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            built = function(*args, **kwargs)
            gc.freeze()
            return built
        finally:
            if was_enabled:
                gc.enable()

    return wrapper


def release_long_lived() -> None:
    """Let the collector see the frozen objects again (a window closes: its cycles are collectable)."""
    gc.unfreeze()
