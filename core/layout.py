"""Where each step of an execution graph is drawn: a layered, nested box layout.

Top-level steps form layers from top to bottom, in execution order; a
``parallel`` or ``map`` block is a framed group whose children sit side by
side (wrapped into a grid once there are many, so a 1,000-item map stays
readable), nested blocks inside their frames.  Boxes never overlap by
construction, and the layout is linear in the number of steps: graphviz
``dot`` takes seconds for what this does in milliseconds
(``benchmarks/gui.py``).  Pure Python, no Qt: the canvas only draws it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from core.graph import ExecutionGraph
from core.plan import PlannedStep

NODE_WIDTH = 200.0
NODE_HEIGHT = 48.0
GAP_X = 24.0
GAP_Y = 40.0
FRAME_PAD = 14.0
FRAME_HEADER = 30.0
WRAP_AFTER = 6  # children per row before a block wraps into a grid


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float

    @property
    def center_x(self) -> float:
        return self.x + self.width / 2

    @property
    def bottom(self) -> float:
        return self.y + self.height

    def intersects(self, other: "Box") -> bool:
        return not (self.x + self.width <= other.x or other.x + other.width <= self.x
                    or self.y + self.height <= other.y or other.y + other.height <= self.y)


@dataclass
class Layout:
    """Boxes by step id (``frames`` for blocks, ``nodes`` for the rest) and the edges to draw."""

    nodes: dict[str, Box] = field(default_factory=dict)
    frames: dict[str, Box] = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0

    def box(self, step_id: str) -> Box:
        return self.nodes.get(step_id) or self.frames[step_id]


def layout_graph(graph: ExecutionGraph) -> Layout:
    """Lay out every step of ``graph`` (see the module docstring)."""
    sizes: dict[str, tuple[float, float, int]] = {}
    tops = [graph.step(step_id) for step_id in graph.top_level()]
    for top in tops:
        _measure(top, sizes)
    layout = Layout()
    width = max((sizes[top.id][0] for top in tops), default=0.0)
    y = 0.0
    for top in tops:
        w, h, _ = sizes[top.id]
        _place(top, (width - w) / 2, y, sizes, layout)
        y += h + GAP_Y
    layout.edges = [(a.id, b.id) for a, b in zip(tops, tops[1:])]
    layout.width, layout.height = width, max(0.0, y - GAP_Y)
    return layout


def _columns(count: int) -> int:
    if count <= WRAP_AFTER:
        return max(count, 1)
    return max(WRAP_AFTER, math.ceil(math.sqrt(count * 2)))


def _measure(root: PlannedStep, sizes: dict) -> None:
    """Sizes bottom-up without recursion (deeply nested packs must not overflow the stack)."""
    stack = [(root, False)]
    while stack:
        step, children_done = stack.pop()
        if not step.children:
            if step.is_block:
                sizes[step.id] = (NODE_WIDTH + 2 * FRAME_PAD, FRAME_HEADER + NODE_HEIGHT / 2 + FRAME_PAD, 1)
            else:
                sizes[step.id] = (NODE_WIDTH, NODE_HEIGHT, 1)
            continue
        if not children_done:
            stack.append((step, True))
            stack.extend((child, False) for child in step.children)
            continue
        columns = _columns(len(step.children))
        rows = [step.children[i:i + columns] for i in range(0, len(step.children), columns)]
        row_widths = [sum(sizes[c.id][0] for c in row) + GAP_X * (len(row) - 1) for row in rows]
        row_heights = [max(sizes[c.id][1] for c in row) for row in rows]
        width = max(row_widths) + 2 * FRAME_PAD
        height = FRAME_HEADER + sum(row_heights) + GAP_X * (len(rows) - 1) + FRAME_PAD
        sizes[step.id] = (width, height, columns)


def _place(root: PlannedStep, x: float, y: float, sizes: dict, layout: Layout) -> None:
    stack = [(root, x, y)]
    while stack:
        step, left, top = stack.pop()
        width, height, columns = sizes[step.id]
        box = Box(left, top, width, height)
        if not step.is_block:
            layout.nodes[step.id] = box
            continue
        layout.frames[step.id] = box
        row_top = top + FRAME_HEADER
        children = step.children
        for start in range(0, len(children), columns):
            row = children[start:start + columns]
            row_width = sum(sizes[c.id][0] for c in row) + GAP_X * (len(row) - 1)
            cursor = left + (width - row_width) / 2
            for child in row:
                stack.append((child, cursor, row_top))
                cursor += sizes[child.id][0] + GAP_X
            row_top += max(sizes[c.id][1] for c in row) + GAP_X
