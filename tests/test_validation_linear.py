"""Validation does work linear in the number of steps (issue 10 item 7), counted, not timed.

The count is the lines of our own code (``core/``) that run while a pack is
parsed and validated, traced with ``sys.settrace``: deterministic, so the
test holds on a loaded machine.  Doubling the steps must double the count,
give or take a little; a Python loop over earlier steps per step makes it
grow fourfold.  Work done inside one C call (copying a set of earlier ids,
what made 80,000 steps take 91 s) is one line here: that stays the job of
``tests/reliability/limits.py --long``, which times 80,000 steps.
"""

from __future__ import annotations

import os
import sys

import pytest

from core.manifest import parse_pack

CORE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "core") + os.sep
HEAD = "apiVersion: stellaops.io/pack.v1\nkind: TaskPack\nmetadata: {name: linear, version: 0.1.0}\nspec:\n"


def plain(count: int) -> str:
    return HEAD + "  steps:\n" + "".join(
        f"    - {{id: s{i}, run: {{uses: builtin:echo, with: {{v: {i}}}}}}}\n" for i in range(count))


def chained(count: int) -> str:
    """Each step reads the outputs of the one before (a reference checked against every earlier id)."""
    return HEAD + "  steps:\n    - {id: s0, run: {uses: builtin:echo}}\n" + "".join(
        f"    - {{id: s{i}, when: '{{{{ steps.s{i - 1}.outputs.ok }}}}', run: {{uses: builtin:echo, "
        f"with: {{v: '{{{{ steps.s{i - 1}.outputs.x }}}}'}}}}}}\n" for i in range(1, count))


def nested(count: int) -> str:
    """Top-level parallel blocks of two children each, one a map."""
    return HEAD + "  steps:\n" + "".join(
        f"    - {{id: p{i}, parallel: {{steps: [{{id: a{i}, run: {{uses: builtin:noop}}}}, "
        f"{{id: m{i}, map: {{items: [1, 2], step: {{id: c{i}, run: {{uses: builtin:echo, "
        f"with: {{v: '{{{{ item }}}}'}}}}}}}}}}]}}}}\n" for i in range(count))


def lines_run(text: str, *also: str) -> int:
    """Lines of core/ (and of the files ``also``) executed while validating ``text``."""
    count = 0

    def local(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
        return local

    def global_(frame, event, arg):
        name = frame.f_code.co_filename
        return local if name.startswith(CORE) or name in also else None

    sys.settrace(global_)
    try:
        parse_pack(text)
    finally:
        sys.settrace(None)
    return count


@pytest.mark.parametrize("make", [plain, chained, nested], ids=["plain", "chained", "nested"])
def test_validation_work_grows_linearly_with_steps(make):
    parse_pack(make(10))  # caches warmed: the counts below are the per-step work
    small, large = lines_run(make(400)), lines_run(make(800))
    assert large > small
    assert 1.8 <= large / small <= 2.2, (small, large)


def test_the_count_sees_a_quadratic_loop(monkeypatch):
    """The measure can fail: a check that looks at every earlier step id makes the count quadruple."""
    from core.manifest import checks
    original = checks._Checker._check_step

    def quadratic(self, path, step, scope):
        for _ in self.step_ids:
            pass
        original(self, path, step, scope)

    monkeypatch.setattr(checks._Checker, "_check_step", quadratic)
    small, large = lines_run(plain(400), __file__), lines_run(plain(800), __file__)
    assert large / small > 2.5, (small, large)
