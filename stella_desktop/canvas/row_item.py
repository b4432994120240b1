"""One top-level step and everything drawn inside it, as a container the scene moves as a whole.

Expanding a block lays out its row again and only moves the rows below, so
expanding a 300-item map in a 10,000-step pack does not touch the other
9,700 items; rows far from the view have no items at all (the scene creates
them as they scroll into view).  The container draws nothing itself; its
arrows (into its step from the row above, and along sequential blocks) are
an :class:`EdgesItem` child.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem

from core.graph import ExecutionGraph
from core.layout import GAP_Y, RowLayout, block_caption
from stella_desktop.canvas.collapsed_item import CollapsedBlockItem
from stella_desktop.canvas.edges_item import EdgesItem
from stella_desktop.canvas.frame_item import BlockFrameItem
from stella_desktop.canvas.node_item import StepNodeItem
from stella_desktop.canvas.step_item import StepItem


def _runtime(step) -> str:
    """The step's ``when`` when only a run can decide it, else empty."""
    return step.when if step.when_runtime and step.when else ""


def _rect(box) -> QRectF:
    return QRectF(box.x, box.y, box.width, box.height)


class RowItem(QGraphicsRectItem):
    """An empty rectangle item (its geometry is answered in C++, see ``step_item``)."""

    def __init__(self, row: RowLayout, graph: ExecutionGraph, first: bool):
        super().__init__()
        self.top_id = row.top
        self.setPen(Qt.PenStyle.NoPen)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, True)
        # rows are centred, so the arrow from the row above is a vertical line through the middle
        segments = [] if first else [(QPointF(row.width / 2, -GAP_Y), QPointF(row.width / 2, 0))]
        for a, b in row.chains:
            box_a, box_b = row.box(a), row.box(b)
            segments.append((QPointF(box_a.center_x, box_a.bottom), QPointF(box_b.center_x, box_b.y)))
        self.edges = EdgesItem(segments, self)
        self.steps: dict[str, StepItem] = {}
        for step_id, box in row.frames.items():
            step = graph.step(step_id)
            self.steps[step_id] = BlockFrameItem(step_id, step.kind, _rect(box), block_caption(step),
                                                 _runtime(step), self)
        for step_id, box in row.blocks.items():
            step = graph.step(step_id)
            self.steps[step_id] = CollapsedBlockItem(step_id, step.kind, _rect(box), block_caption(step),
                                                     _runtime(step), self)
        for step_id, box in row.nodes.items():
            step = graph.step(step_id)
            self.steps[step_id] = StepNodeItem(step_id, step.kind, _rect(box), _runtime(step), self)
