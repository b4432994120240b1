"""The execution graph: which step may start after which, as a networkx DiGraph.

Nodes are step ids (map children included), added in document order; each
node carries its :class:`~core.plan.PlannedStep` and the metadata the engine
and the canvas read (see :data:`NODE_ATTRIBUTES`).  An edge ``a -> b`` means
*b cannot start before a has finished*:

* top-level steps are chained: every *exit* of one points at the next;
* a block (``parallel`` or ``map``) forks to each of its children; the
  block's exits are its children's exits, so the step after a block joins
  on all of them;
* a block with no children (an empty map, or items known only at run time)
  is its own exit.

So any topological order of the graph is a valid order in which to *start*
steps, and the block node itself comes before its children.  The graph
says nothing about concurrency limits: ``maxParallel`` and
``continueOnError`` are node attributes that the scheduler honours.

Small API, used by the simulation, the scheduler and the canvas::

    graph = ExecutionGraph.from_plan(plan)
    graph.order()             # deterministic topological order of step ids
    graph.step("verify")      # the PlannedStep
    graph.children("verify")  # direct children, in document order
    graph.parent("verify-a")  # enclosing block id, or None
    graph.top_level()         # top-level step ids in order
    graph.exits("verify")     # nodes the following step joins on
    graph.nx                  # the networkx.DiGraph itself (read-only use)
"""

from __future__ import annotations

from typing import Iterator

import networkx as nx

from core.gc_pause import without_gc
from core.plan import Plan, PlannedStep

NODE_ATTRIBUTES = (
    "step", "kind", "enabled", "maxParallel", "continueOnError", "parameters", "approvalId",
    "parent", "depth", "position",
)


class ExecutionGraph:
    """Steps of a plan as a DAG of execution order (see the module docstring)."""

    def __init__(self, graph: nx.DiGraph, top_level: tuple[str, ...], steps: dict[str, PlannedStep]):
        self.nx = graph
        self._top_level = top_level
        self._steps = steps  # id -> PlannedStep, in document (and topological) order

    @classmethod
    @without_gc
    def from_plan(cls, plan: Plan) -> "ExecutionGraph":
        steps: dict[str, PlannedStep] = {}
        nodes: list[tuple[str, dict]] = []
        edges: list[tuple[str, str]] = []
        previous_exits: list[str] = []
        for top in plan.steps:
            edges.extend((exit_id, top.id) for exit_id in previous_exits)
            previous_exits = []
            stack: list[tuple[PlannedStep, int]] = [(top, 0)]
            while stack:
                step, depth = stack.pop()
                steps[step.id] = step
                nodes.append((step.id, {
                    "step": step, "kind": step.kind, "enabled": step.enabled,
                    "maxParallel": step.max_parallel, "continueOnError": step.continue_on_error,
                    "parameters": step.parameters, "approvalId": step.approval_id, "parent": step.parent,
                    "depth": depth, "position": len(nodes),
                }))
                children = step.children
                if children:
                    edges.extend((step.id, child.id) for child in children)
                    stack.extend((child, depth + 1) for child in reversed(children))
                else:
                    previous_exits.append(step.id)  # leaves, in document order, are the exits
        graph = nx.DiGraph(planHash=plan.plan_hash, pack=plan.pack_name)
        graph.add_nodes_from(nodes)
        graph.add_edges_from(edges)
        return cls(graph, tuple(step.id for step in plan.steps), steps)

    def expand(self, map_id: str, children: tuple[PlannedStep, ...]) -> None:
        """Add the children of a map whose items became known at run time.

        The map forks to its new children and the steps that followed the map
        now join on the children's exits instead of on the map itself.
        """
        block = self._steps[map_id]
        block.children = tuple(children)
        followers = [s for s in self.nx.successors(map_id)]
        depth = self.nx.nodes[map_id]["depth"]
        position = self.nx.number_of_nodes()
        stack = [(child, depth + 1) for child in reversed(children)]
        while stack:
            step, node_depth = stack.pop()
            self._steps[step.id] = step
            self.nx.add_node(step.id, step=step, kind=step.kind, enabled=step.enabled,
                             maxParallel=step.max_parallel, continueOnError=step.continue_on_error,
                             parameters=step.parameters, approvalId=step.approval_id, parent=step.parent,
                             depth=node_depth, position=position)
            position += 1
            self.nx.add_edges_from((step.id, child.id) for child in step.children)
            stack.extend((child, node_depth + 1) for child in reversed(step.children))
        self.nx.add_edges_from((map_id, child.id) for child in children)
        if children:
            for follower in followers:
                self.nx.remove_edge(map_id, follower)
                self.nx.add_edges_from((exit_id, follower) for exit_id in self.exits(map_id))
        self._steps = {node: self._steps[node] for node in _document_order(self._top_level, self._steps)}

    def __len__(self) -> int:
        return self.nx.number_of_nodes()

    def __contains__(self, step_id: str) -> bool:
        return step_id in self.nx

    def __iter__(self) -> Iterator[str]:
        return iter(self.nx)

    def step(self, step_id: str) -> PlannedStep:
        return self._steps[step_id]

    def attributes(self, step_id: str) -> dict:
        return self.nx.nodes[step_id]

    def top_level(self) -> tuple[str, ...]:
        return self._top_level

    def children(self, step_id: str) -> tuple[str, ...]:
        return tuple(child.id for child in self.step(step_id).children)

    def parent(self, step_id: str) -> str | None:
        return self._steps[step_id].parent

    def predecessors(self, step_id: str) -> tuple[str, ...]:
        return tuple(self.nx.predecessors(step_id))

    def successors(self, step_id: str) -> tuple[str, ...]:
        return tuple(self.nx.successors(step_id))

    def exits(self, step_id: str) -> tuple[str, ...]:
        return tuple(_exits(self.step(step_id)))

    def order(self) -> list[str]:
        """A topological order, ties broken by document position (deterministic).

        For graphs built by :meth:`from_plan`, document pre-order already is
        topological (parents before children, earlier top-level steps first),
        so this is the node insertion order; :meth:`check` proves it.
        """
        return list(self._steps)

    def check(self) -> None:
        """Assert the graph's invariants (acyclic, order is topological)."""
        assert nx.is_directed_acyclic_graph(self.nx), "execution graph has a cycle"
        index = {node: i for i, node in enumerate(self.order())}
        for source, target in self.nx.edges:
            assert index[source] < index[target], f"edge {source} -> {target} goes backwards"


def _document_order(top_level: tuple[str, ...], steps: dict[str, PlannedStep]) -> Iterator[str]:
    for top in top_level:
        for step in steps[top].walk():
            yield step.id


def _exits(step: PlannedStep) -> Iterator[str]:
    if not step.children:
        yield step.id
        return
    for child in step.children:
        yield from _exits(child)
