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
    graph.info                # {"planHash": ..., "pack": ...}
    graph.nx                  # the same graph as a networkx.DiGraph (read-only use)

The graph keeps its nodes and edges in plain dicts and builds the networkx
``DiGraph`` only when :attr:`ExecutionGraph.nx` is first read: the app draws and
runs a pack without it, and importing networkx alone took 80 ms of CPU here,
about two thirds of a whole process showing a bare window (benchmarks/README.md).  Both views agree
exactly, node and edge orders included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from core.gc_pause import without_gc
from core.plan import Plan, PlannedStep

if TYPE_CHECKING:
    import networkx

NODE_ATTRIBUTES = (
    "step", "kind", "enabled", "maxParallel", "continueOnError", "parameters", "approvalId",
    "parent", "depth", "position",
)


class ExecutionGraph:
    """Steps of a plan as a DAG of execution order (see the module docstring)."""

    def __init__(self, graph: Adjacency | None, top_level: tuple[str, ...], steps: dict[str, PlannedStep]):
        self._graph = graph
        self._nx: networkx.DiGraph | None = None  # built from _graph when first read
        self._top_level = top_level
        self._steps = steps  # id -> PlannedStep, in document (and topological) order

    @property
    def info(self) -> dict:
        """The graph's own attributes: ``planHash`` and ``pack``."""
        return self._graph.info

    @property
    def nx(self) -> networkx.DiGraph:
        """The graph as a networkx ``DiGraph``, built on first use and kept up to date after."""
        if self._nx is None and self._graph is not None:
            self._nx = self._graph.to_networkx()
        return self._nx

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
        graph = Adjacency({"planHash": plan.plan_hash, "pack": plan.pack_name})
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
        for graph in (self._graph, self._nx):  # the networkx view too, if it was built
            if graph is not None:
                self._expand_in(graph, map_id, children)
        self._steps = {node: self._steps[node] for node in _document_order(self._top_level, self._steps)}

    def _expand_in(self, graph, map_id: str, children: tuple[PlannedStep, ...]) -> None:
        followers = [s for s in graph.successors(map_id)]
        depth = graph.nodes[map_id]["depth"]
        position = graph.number_of_nodes()
        stack = [(child, depth + 1) for child in reversed(children)]
        while stack:
            step, node_depth = stack.pop()
            self._steps[step.id] = step
            graph.add_node(step.id, step=step, kind=step.kind, enabled=step.enabled,
                           maxParallel=step.max_parallel, continueOnError=step.continue_on_error,
                           parameters=step.parameters, approvalId=step.approval_id, parent=step.parent,
                           depth=node_depth, position=position)
            position += 1
            graph.add_edges_from((step.id, child.id) for child in step.children)
            stack.extend((child, node_depth + 1) for child in reversed(step.children))
        graph.add_edges_from((map_id, child.id) for child in children)
        if children:
            for follower in followers:
                graph.remove_edge(map_id, follower)
                graph.add_edges_from((exit_id, follower) for exit_id in self.exits(map_id))

    def __len__(self) -> int:
        return self._graph.number_of_nodes()

    def __contains__(self, step_id: str) -> bool:
        return step_id in self._graph.nodes

    def __iter__(self) -> Iterator[str]:
        return iter(self._graph.nodes)

    def step(self, step_id: str) -> PlannedStep:
        return self._steps[step_id]

    def attributes(self, step_id: str) -> dict:
        return self._graph.nodes[step_id]

    def top_level(self) -> tuple[str, ...]:
        return self._top_level

    def children(self, step_id: str) -> tuple[str, ...]:
        return tuple(child.id for child in self.step(step_id).children)

    def parent(self, step_id: str) -> str | None:
        return self._steps[step_id].parent

    def predecessors(self, step_id: str) -> tuple[str, ...]:
        return tuple(self._graph.predecessors(step_id))

    def successors(self, step_id: str) -> tuple[str, ...]:
        return tuple(self._graph.successors(step_id))

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
        import networkx
        assert networkx.is_directed_acyclic_graph(self.nx), "execution graph has a cycle"
        index = {node: i for i, node in enumerate(self.order())}
        for source, target in self._graph.edges:
            assert index[source] < index[target], f"edge {source} -> {target} goes backwards"


class Adjacency:
    """Nodes with their attributes and edges, in insertion order, as networkx keeps them.

    The few ``DiGraph`` operations the execution graph uses, with the same
    orders: a node keeps its place when added again; an edge keeps its place
    when added again and goes to the end when removed and added back.
    """

    def __init__(self, info: dict):
        self.info = info
        self.nodes: dict[str, dict] = {}
        self.edges: dict[tuple[str, str], None] = {}  # every edge, in the order networkx would list them
        self._succ: dict[str, dict[str, None]] = {}
        self._pred: dict[str, dict[str, None]] = {}

    def number_of_nodes(self) -> int:
        return len(self.nodes)

    def add_node(self, node: str, **attributes) -> None:
        if node in self.nodes:
            self.nodes[node].update(attributes)
        else:
            self.nodes[node] = attributes
            self._succ[node], self._pred[node] = {}, {}

    def add_nodes_from(self, nodes) -> None:
        for node, attributes in nodes:
            self.add_node(node, **attributes)

    def add_edges_from(self, edges) -> None:
        for source, target in edges:
            for node in (source, target):
                if node not in self.nodes:
                    self.add_node(node)
            self._succ[source][target] = None
            self._pred[target][source] = None
            self.edges[source, target] = None

    def remove_edge(self, source: str, target: str) -> None:
        del self._succ[source][target], self._pred[target][source], self.edges[source, target]

    def successors(self, node: str) -> Iterator[str]:
        return iter(self._succ[node])

    def predecessors(self, node: str) -> Iterator[str]:
        return iter(self._pred[node])

    def to_networkx(self) -> networkx.DiGraph:
        import networkx  # only here: reading ``graph.nx`` is the one use of it
        graph = networkx.DiGraph(**self.info)
        graph.add_nodes_from(self.nodes.items())
        graph.add_edges_from(self.edges)
        return graph


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
