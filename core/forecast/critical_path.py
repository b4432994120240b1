"""The critical path of a forecast: the chain of steps that set the run's end time.

Walking back from the step that finished last, each step's first start is
explained by what ended at that moment:

* inside a block, after the block started: a sibling that ended then (it
  freed a ``maxParallel`` slot);
* at the moment its block started: whatever started the block;
* a top-level step: the last-ending step of the top-level step before it.

Only steps that ran (run steps and gates) are listed, earliest first.  Times
are compared exactly: they all come from the same fake clock.
"""

from __future__ import annotations

from bisect import bisect_left

from core.forecast.model import StepForecast
from core.graph import ExecutionGraph
from core.plan import BLOCK_KINDS


class _Walk:
    def __init__(self, graph: ExecutionGraph, steps: dict[str, StepForecast]):
        self.graph = graph
        self.steps = steps
        self.top = {step_id: position for position, step_id in enumerate(graph.top_level())}
        # per block: for each moment a child's attempt ended, the children that ran a while and ended
        # then (in document order) and the zero-length ones (by position among the block's children)
        self._ending: dict[str, dict[float, tuple[list[str], list[int]]]] = {}
        self._position: dict[str, dict[str, int]] = {}

    def ran(self, step_id: str) -> bool:
        return bool(self.steps[step_id].attempts)

    def last_leaf(self, step_id: str) -> str | None:
        """The step inside ``step_id`` (or itself) that ran and ended last (ties: the later started,
        then the later in the document)."""
        steps, step_of = self.steps, self.graph.step
        while True:
            best = best_end = best_start = None
            for child in step_of(step_id).children:  # the greatest (end, start), the later of equals; no tuples
                attempts = steps[child.id].attempts
                if attempts:
                    end = attempts[-1].end
                    if best is None or end > best_end or end == best_end and attempts[0].start >= best_start:
                        best, best_end, best_start = child.id, end, attempts[0].start
            if best is None:
                return step_id if steps[step_id].attempts else None
            step_id = best

    def _ending_in(self, parent: str) -> dict[float, tuple[list[str], list[int]]]:
        """For each moment an attempt of a child ended (a slot freed): the children whose attempt
        ran a while and ended then, and the zero-length ones (by position among the children)."""
        table = self._ending.get(parent)
        if table is None:
            table = self._ending[parent] = {}
            steps = self.steps
            for position, planned in enumerate(self.graph.step(parent).children):
                child = planned.id
                for attempt in steps[child].attempts:
                    end = attempt.end
                    entry = table.get(end)
                    if entry is None:
                        entry = table[end] = ([], [])
                    if attempt.start != end:
                        entry[0].append(child)
                    elif not entry[1] or entry[1][-1] != position:
                        entry[1].append(position)
        return table

    def _position_in(self, parent: str, step_id: str) -> int:
        positions = self._position.get(parent)
        if positions is None:
            positions = self._position[parent] = {
                child.id: position for position, child in enumerate(self.graph.step(parent).children)}
        return positions[step_id]

    def cause(self, step_id: str) -> str | None:
        """What made ``step_id`` start when it did, as a step that ran (None at the run's start)."""
        steps = self.steps
        start = steps[step_id].start
        parent = self.graph.parent(step_id)
        while parent is not None:
            block = steps[parent]
            if start > block.start:
                long_ones, zero = self._ending_in(parent).get(start, ((), ()))
                if long_ones:
                    # the latest started, ties the later in the document (the first of equals from the
                    # end); a loop, not max() with a key function called per child (1,640 causes, 10k pack)
                    best = best_start = None
                    for child in reversed(long_ones):
                        child_start = steps[child].attempts[0].start  # it ran a while: it has attempts
                        if best is None or child_start > best_start:
                            best, best_start = child, child_start
                    return self.last_leaf(best)
                position = bisect_left(zero, self._position_in(parent, step_id)) - 1
                if position >= 0:
                    return self.last_leaf(self.graph.step(parent).children[zero[position]].id)
            step_id, parent = parent, self.graph.parent(parent)
        top_level = self.graph.top_level()
        for position in range(self.top[step_id] - 1, -1, -1):
            leaf = self.last_leaf(top_level[position])
            if leaf is not None:
                return leaf
        return None


def critical_path(graph: ExecutionGraph, steps: dict[str, StepForecast]) -> tuple[str, ...]:
    walk = _Walk(graph, steps)
    last, last_end = None, None
    for step_id, step in steps.items():
        attempts = step.attempts
        finish = attempts[-1].end if attempts else step.waiting_since
        if finish is None or last_end is not None and finish < last_end:
            continue
        if step.kind in BLOCK_KINDS and graph.step(step_id).children:  # only a block has children
            continue
        last, last_end = step_id, finish
    path: list[str] = []
    seen: set[str] = set()
    while last is not None and last not in seen:
        seen.add(last)
        path.append(last)
        if steps[last].start is None:
            break
        last = walk.cause(last)
    return tuple(reversed(path))
