"""Where the keyboard and find move the selection on the canvas (plain Python, no Qt).

Down/Up move between siblings at the current level (past the last sibling,
Down goes on to the block's next sibling); a collapsed block is one stop.
Right expands a collapsed block, or enters an expanded one; Left collapses an
expanded block, or goes up to the enclosing one.  Page Down/Up move by a
screenful among the siblings; Home/End go to the first and last step.
"""

from __future__ import annotations

from typing import Callable

from core.graph import ExecutionGraph
from stella_desktop.status_style import STYLES

SELECT, EXPAND, COLLAPSE = "select", "expand", "collapse"


def siblings(graph: ExecutionGraph, step_id: str) -> tuple[str, ...]:
    parent = graph.parent(step_id)
    return graph.children(parent) if parent else graph.top_level()


def down(graph: ExecutionGraph, current: str) -> str:
    step = current
    while True:
        row = siblings(graph, step)
        index = row.index(step)
        if index + 1 < len(row):
            return row[index + 1]
        parent = graph.parent(step)
        if parent is None:
            return current
        step = parent


def up(graph: ExecutionGraph, current: str) -> str:
    row = siblings(graph, current)
    index = row.index(current)
    return row[index - 1] if index else (graph.parent(current) or current)


def right(graph: ExecutionGraph, collapsed: set[str], current: str) -> tuple[str, str]:
    children = graph.children(current)
    if not children:
        return SELECT, current
    if current in collapsed:
        return EXPAND, current
    return SELECT, children[0]


def left(graph: ExecutionGraph, collapsed: set[str], current: str) -> tuple[str, str]:
    if graph.children(current) and current not in collapsed:
        return COLLAPSE, current
    return SELECT, graph.parent(current) or current


def page(graph: ExecutionGraph, current: str, position: Callable[[str], tuple[float, float]], screen: float,
         forward: bool) -> str:
    """The sibling a screenful (``screen`` scene units) below or above ``current``, in the same
    column of a grid when there is one (else the last sibling that way)."""
    row = siblings(graph, current)
    index = row.index(current)
    x, here = position(current)
    candidates = row[index + 1:] if forward else list(reversed(row[:index]))
    same_column = [s for s in candidates if abs(position(s)[0] - x) < 1.0] or candidates
    target = current
    for step_id in same_column:
        target = step_id
        if abs(position(step_id)[1] - here) >= screen:
            break
    return target


class StepFinder:
    """Steps of a graph matching a text by id, name, ``uses`` or status, in document order."""

    def __init__(self, graph: ExecutionGraph):
        self.graph = graph
        self.order = graph.order()
        self.position = {step_id: i for i, step_id in enumerate(self.order)}
        self._text = {}
        for step_id in self.order:
            step = graph.step(step_id)
            self._text[step_id] = "\n".join((step_id, step.name or "", step.uses or "")).lower()

    def matches(self, query: str, status_of: Callable[[str], str]) -> list[str]:
        query = query.strip().lower()
        if not query:
            return []
        statuses = {key for key, style in STYLES.items() if query in key or query in style.label}
        return [s for s in self.order if query in self._text[s] or (statuses and status_of(s) in statuses)]

    def next_after(self, matches: list[str], current: str | None, backwards: bool = False) -> str | None:
        """The match after (or before) ``current`` in document order, wrapping around."""
        if not matches:
            return None
        here = self.position.get(current, -1) if current else -1
        if backwards:
            earlier = [m for m in matches if self.position[m] < here] if here >= 0 else []
            return earlier[-1] if earlier else matches[-1]
        for match in matches:  # a bisect would do, but matches are short next to the cost of drawing
            if self.position[match] > here:
                return match
        return matches[0]
