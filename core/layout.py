"""Where each step of an execution graph is drawn: a layered, nested box layout.

Top-level steps form rows from top to bottom, in execution order; a
``parallel`` or ``map`` block is a framed group whose children sit side by
side (wrapped into a grid once there are many, so a 1,000-item map stays
readable), nested blocks inside their frames.  A block run one child at a
time (``maxParallel: 1``) stacks its children in a column joined by arrows,
so its order is visible.  A block listed in ``collapsed`` is one box and its
descendants get none.  Boxes never overlap by construction, a frame is wide
enough for its header, and the layout is linear in the number of steps shown:
graphviz ``dot`` takes seconds for what this does in milliseconds
(``benchmarks/gui.py``).

Each top-level step is laid out on its own (:func:`layout_row`, coordinates
relative to the row) so the canvas can redo one row when a block is expanded
and only move the others (:func:`stack_rows`).  Pure Python, no Qt.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable

from core.graph import ExecutionGraph
from core.plan import PlannedStep

NODE_WIDTH = 200.0
NODE_HEIGHT = 52.0
COLLAPSED_WIDTH = 260.0
COLLAPSED_HEIGHT = 78.0
GAP_X = 24.0
GAP_Y = 40.0
CHAIN_GAP = 30.0  # between the children of a sequential block: room for an arrow
FRAME_PAD = 14.0
FRAME_HEADER = 46.0  # two lines: glyph, id and status; then the caption
WRAP_AFTER = 6  # children per row before a block wraps into a grid
DEFAULT_COLLAPSE_OVER = 12  # blocks with more children than this start collapsed
# Header text is measured without fonts: generous widths per character (10 pt bold, 9 pt) so
# the header never elides; the canvas test checks them against real font metrics.
HEADER_CHAR = 9.0
CAPTION_CHAR = 7.6
HEADER_INSET = 12.0
LONGEST_STATUS = len("requires approval")


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

    def shifted(self, dx: float, dy: float) -> "Box":
        return Box(self.x + dx, self.y + dy, self.width, self.height)

    def intersects(self, other: "Box") -> bool:
        return not (self.x + self.width <= other.x or other.x + other.width <= self.x
                    or self.y + self.height <= other.y or other.y + other.height <= self.y)


@dataclass
class RowLayout:
    """One top-level step and everything shown inside it, relative to the row's top-left."""

    top: str
    nodes: dict[str, Box] = field(default_factory=dict)
    frames: dict[str, Box] = field(default_factory=dict)
    blocks: dict[str, Box] = field(default_factory=dict)  # collapsed blocks
    chains: list[tuple[str, str]] = field(default_factory=list)  # arrows inside sequential blocks
    width: float = 0.0
    height: float = 0.0

    def box(self, step_id: str) -> Box | None:
        return self.nodes.get(step_id) or self.frames.get(step_id) or self.blocks.get(step_id)


@dataclass
class Layout:
    """Boxes by step id in scene coordinates (``frames`` for expanded blocks, ``blocks`` for
    collapsed ones, ``nodes`` for the rest) and the edges to draw."""

    nodes: dict[str, Box] = field(default_factory=dict)
    frames: dict[str, Box] = field(default_factory=dict)
    blocks: dict[str, Box] = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0

    def box(self, step_id: str) -> Box:
        return self.nodes.get(step_id) or self.frames.get(step_id) or self.blocks[step_id]


def block_caption(step: PlannedStep) -> str:
    """The second header line of a block: how many children and how many run at once."""
    if step.kind == "map" and step.items_runtime and not step.children:
        return "items known at run time"
    count = len(step.children)
    noun = ("item" if step.kind == "map" else "step") + ("" if count == 1 else "s")
    if step.max_parallel == 1:
        limit = "max 1 at once, in order"
    elif step.max_parallel is None:
        limit = "all at once"
    else:
        limit = f"max {step.max_parallel} at once"
    text = f"{count} {noun} · {limit}"
    if step.continue_on_error:
        text += " · continue on error"
    return text


def header_width(step: PlannedStep) -> float:
    """The width a block's header needs: ``[?]  glyph  id  ·  status`` and the caption line."""
    title = 3 + len(step.id) + 5 + LONGEST_STATUS + (3 if step.when_runtime else 0)  # "?  " when decided at run time
    return max(title * HEADER_CHAR, len(block_caption(step)) * CAPTION_CHAR) + 2 * HEADER_INSET


def is_sequential(step: PlannedStep) -> bool:
    return step.is_block and step.max_parallel == 1


def default_collapsed(graph: ExecutionGraph, threshold: int = DEFAULT_COLLAPSE_OVER) -> set[str]:
    """Blocks that start collapsed: those with more than ``threshold`` children."""
    return {step_id for step_id in graph if len(graph.step(step_id).children) > threshold}


def layout_graph(graph: ExecutionGraph, collapsed: Iterable[str] = ()) -> Layout:
    """Lay out every shown step of ``graph`` (see the module docstring)."""
    collapsed = set(collapsed)
    rows = [layout_row(graph.step(step_id), collapsed) for step_id in graph.top_level()]
    width, offsets, height = stack_rows(rows)
    layout = Layout(width=width, height=height)
    for row, (dx, dy) in zip(rows, offsets):
        for target, source in ((layout.nodes, row.nodes), (layout.frames, row.frames), (layout.blocks, row.blocks)):
            for step_id, box in source.items():
                target[step_id] = box.shifted(dx, dy)
        layout.edges.extend(row.chains)
    tops = graph.top_level()
    layout.edges.extend(zip(tops, tops[1:]))
    return layout


def stack_rows(rows: list[RowLayout]) -> tuple[float, list[tuple[float, float]], float]:
    """Rows from top to bottom, each centred: (total width, row offsets, total height)."""
    width = max((row.width for row in rows), default=0.0)
    offsets = []
    y = 0.0
    for row in rows:
        offsets.append(((width - row.width) / 2, y))
        y += row.height + GAP_Y
    return width, offsets, max(0.0, y - GAP_Y)


def layout_row(top: PlannedStep, collapsed: set[str] | frozenset[str]) -> RowLayout:
    sizes: dict[str, tuple[float, float, int]] = {}
    _measure(top, sizes, collapsed)
    row = RowLayout(top.id, width=sizes[top.id][0], height=sizes[top.id][1])
    _place(top, sizes, collapsed, row)
    return row


def _columns(step: PlannedStep) -> int:
    count = len(step.children)
    if is_sequential(step):
        return 1
    if count <= WRAP_AFTER:
        return max(count, 1)
    return max(WRAP_AFTER, math.ceil(math.sqrt(count * 2)))


def _row_gap(step: PlannedStep) -> float:
    return CHAIN_GAP if is_sequential(step) else GAP_X


def _measure(root: PlannedStep, sizes: dict, collapsed) -> None:
    """Sizes bottom-up without recursion (deeply nested packs must not overflow the stack)."""
    stack = [(root, False)]
    while stack:
        step, children_done = stack.pop()
        if step.id in collapsed and step.is_block:
            sizes[step.id] = (COLLAPSED_WIDTH, COLLAPSED_HEIGHT, 1)
            continue
        if not step.children:
            if step.is_block:
                sizes[step.id] = (max(NODE_WIDTH + 2 * FRAME_PAD, header_width(step)),
                                  FRAME_HEADER + NODE_HEIGHT / 2 + FRAME_PAD, 1)
            else:
                sizes[step.id] = (NODE_WIDTH, NODE_HEIGHT, 1)
            continue
        if not children_done:
            stack.append((step, True))
            stack.extend((child, False) for child in step.children)
            continue
        columns = _columns(step)
        rows = [step.children[i:i + columns] for i in range(0, len(step.children), columns)]
        row_widths = [sum(sizes[c.id][0] for c in row) + GAP_X * (len(row) - 1) for row in rows]
        row_heights = [max(sizes[c.id][1] for c in row) for row in rows]
        width = max(max(row_widths) + 2 * FRAME_PAD, header_width(step))
        height = FRAME_HEADER + sum(row_heights) + _row_gap(step) * (len(rows) - 1) + FRAME_PAD
        sizes[step.id] = (width, height, columns)


def _place(root: PlannedStep, sizes: dict, collapsed, row: RowLayout) -> None:
    stack = [(root, 0.0, 0.0)]
    while stack:
        step, left, top = stack.pop()
        width, height, columns = sizes[step.id]
        box = Box(left, top, width, height)
        if not step.is_block:
            row.nodes[step.id] = box
            continue
        if step.id in collapsed:
            row.blocks[step.id] = box
            continue
        row.frames[step.id] = box
        row_top = top + FRAME_HEADER
        children = step.children
        gap = _row_gap(step)
        for start in range(0, len(children), columns):
            line = children[start:start + columns]
            line_width = sum(sizes[c.id][0] for c in line) + GAP_X * (len(line) - 1)
            cursor = left + (width - line_width) / 2
            for child in line:
                stack.append((child, cursor, row_top))
                cursor += sizes[child.id][0] + GAP_X
            row_top += max(sizes[c.id][1] for c in line) + gap
        if is_sequential(step):
            row.chains.extend((a.id, b.id) for a, b in zip(children, children[1:]))
