import json
import subprocess
import sys

import networkx as nx

from conftest import REPO, SBOM_PACK
from core.graph import ExecutionGraph
from core.manifest import load_pack
from core.plan import build_plan, expand_map

SBOM_INPUTS = json.loads((SBOM_PACK.parent / "inputs.json").read_text())


def sbom_graph() -> ExecutionGraph:
    return ExecutionGraph.from_plan(build_plan(load_pack(SBOM_PACK), SBOM_INPUTS))


def test_nodes_in_document_order_with_metadata():
    graph = sbom_graph()
    assert list(graph) == [
        "validate-input", "plan-remediation", "approval-gate", "policy-gate", "apply-remediation",
        "verify", "verify-sbom", "verify-signatures", "verify-policy",
        "mirror", "mirror[0]::sync", "mirror[1]::sync", "mirror[2]::sync", "notify",
    ]
    verify = graph.attributes("verify")
    assert (verify["kind"], verify["maxParallel"], verify["continueOnError"], verify["depth"]) == \
        ("parallel", 2, False, 0)
    assert graph.attributes("approval-gate")["approvalId"] == "security-review"
    assert graph.attributes("mirror[2]::sync")["parameters"] == {"target": "ap-1", "position": 2}
    assert graph.parent("mirror[2]::sync") == "mirror" and graph.parent("verify") is None
    assert graph.children("verify") == ("verify-sbom", "verify-signatures", "verify-policy")
    assert graph.top_level()[-1] == "notify"


def test_edges_chain_top_level_fork_blocks_and_join_after_them():
    graph = sbom_graph()
    edges = set(graph.nx.edges)
    assert ("validate-input", "plan-remediation") in edges
    assert {("verify", c) for c in graph.children("verify")} <= edges
    assert {(c, "mirror") for c in graph.children("verify")} <= edges  # join on every child
    assert ("verify", "mirror") not in edges
    assert {(c, "notify") for c in graph.children("mirror")} <= edges
    assert graph.predecessors("mirror") == ("verify-sbom", "verify-signatures", "verify-policy")
    assert graph.exits("mirror") == graph.children("mirror")
    assert graph.nx.number_of_edges() == 5 + 3 + 3 + 3 + 3  # chain, fork, join, fork, join


def test_order_is_topological_and_matches_networkx():
    graph = sbom_graph()
    graph.check()
    order = graph.order()
    assert order == list(nx.lexicographical_topological_sort(graph.nx, key=order.index))


def test_empty_block_is_its_own_exit(write_pack):
    plan = build_plan(load_pack(write_pack("""
        steps:
          - {id: m, map: {items: [], step: {id: t, run: {uses: x}}}}
          - {id: after, run: {uses: x}}
    """)))
    graph = ExecutionGraph.from_plan(plan)
    assert list(graph.nx.edges) == [("m", "after")]


def test_nested_blocks_join_on_their_deepest_exits(write_pack):
    plan = build_plan(load_pack(write_pack("""
        steps:
          - id: outer
            parallel:
              steps:
                - id: inner
                  parallel: {steps: [{id: a, run: {uses: x}}, {id: b, run: {uses: x}}]}
                - {id: c, run: {uses: x}}
          - {id: after, run: {uses: x}}
    """)))
    graph = ExecutionGraph.from_plan(plan)
    graph.check()
    assert graph.predecessors("after") == ("a", "b", "c")
    assert graph.attributes("a")["depth"] == 2 and graph.parent("a") == "inner"


def test_same_plan_gives_identical_graphs():
    first, second = sbom_graph(), sbom_graph()
    assert list(first.nx.nodes) == list(second.nx.nodes)
    assert list(first.nx.edges) == list(second.nx.edges)


RUNTIME_MAPS = """
    steps:
      - {id: list, run: {uses: x}}
      - id: par
        parallel:
          steps:
            - {id: m, map: {items: "{{ steps.list.outputs.names }}", step: {id: t, run: {uses: x}}}}
            - {id: side, run: {uses: x}}
      - {id: m2, map: {items: "{{ steps.list.outputs.names }}",
                       step: {id: u, parallel: {steps: [{id: a, run: {uses: x}}, {id: b, run: {uses: x}}]}}}}
      - {id: end, run: {uses: x}}
"""


def expanded(pack, read_nx_first: bool) -> ExecutionGraph:
    plan = build_plan(pack)
    graph = ExecutionGraph.from_plan(plan)
    if read_nx_first:
        graph.nx  # noqa: B018  (built before the expands: it must follow them)
    planned = len(list(plan.walk()))
    for map_id in ("m", "m2"):
        children = expand_map(pack, {}, graph.step(map_id), ["x", "y"], planned)
        planned += len(children)
        graph.expand(map_id, children)
    return graph


def test_networkx_view_matches_the_graph_whenever_it_is_built(write_pack):
    pack = load_pack(write_pack(RUNTIME_MAPS))
    early, late = expanded(pack, True), expanded(pack, False)
    for graph in (early, late):
        graph.check()
        assert list(graph) == list(graph.nx.nodes)
        for node in graph:
            assert graph.successors(node) == tuple(graph.nx.successors(node))
            assert graph.predecessors(node) == tuple(graph.nx.predecessors(node))
            assert graph.attributes(node) == graph.nx.nodes[node]
    assert list(early.nx.edges) == list(late.nx.edges) and early.nx.graph == late.nx.graph == late.info
    assert late.predecessors("m2") == ("side", "m[0]::t", "m[1]::t")  # the join moved to the new exits, last
    assert late.predecessors("end") == ("m2[0]::a", "m2[0]::b", "m2[1]::a", "m2[1]::b")


def test_building_the_graph_imports_no_networkx():
    probe = ("import json, sys\n"
             "from core.graph import ExecutionGraph\n"
             "from core.manifest import load_pack\n"
             "from core.plan import build_plan\n"
             f"pack = load_pack({str(SBOM_PACK)!r})\n"
             f"graph = ExecutionGraph.from_plan(build_plan(pack, {SBOM_INPUTS!r}))\n"
             "print(len(graph), graph.predecessors('mirror'), 'networkx' in sys.modules)\n"
             "graph.nx\n"
             "print('networkx' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.stdout.splitlines() == [
        "14 ('verify-sbom', 'verify-signatures', 'verify-policy') False", "True"], result.stderr
