import itertools
import json

from conftest import SBOM_PACK
from core.graph import ExecutionGraph
from core.layout import layout_graph
from core.manifest import load_pack, parse_pack
from core.plan import build_plan
from conftest import pack_text


def layout_of(text, inputs=None):
    graph = ExecutionGraph.from_plan(build_plan(parse_pack(pack_text(text)), inputs))
    return graph, layout_graph(graph)


def inside(inner, outer) -> bool:
    return (outer.x <= inner.x and inner.x + inner.width <= outer.x + outer.width
            and outer.y <= inner.y and inner.y + inner.height <= outer.y + outer.height)


def test_every_step_has_a_box_and_layers_follow_execution_order():
    graph = ExecutionGraph.from_plan(build_plan(load_pack(SBOM_PACK), json.loads((SBOM_PACK.parent / "inputs.json").read_text())))
    layout = layout_graph(graph)
    assert set(layout.nodes) | set(layout.frames) == set(graph)
    tops = [layout.box(s) for s in graph.top_level()]
    assert all(a.bottom < b.y for a, b in zip(tops, tops[1:]))
    tops_chain = list(zip(graph.top_level(), graph.top_level()[1:]))
    assert [e for e in layout.edges if e[0] in graph.top_level()] == tops_chain
    # the sample's mirror map runs one item at a time: its items are chained, in order
    assert [e for e in layout.edges if e not in tops_chain] == [("mirror[0]::sync", "mirror[1]::sync"),
                                                                ("mirror[1]::sync", "mirror[2]::sync")]


def test_no_boxes_overlap_and_children_sit_inside_their_frames():
    graph, layout = layout_of("""
        inputs: [{name: items, type: array, default: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]}]
        steps:
          - id: outer
            parallel:
              steps:
                - {id: a, run: {uses: x}}
                - id: inner
                  parallel: {steps: [{id: b, run: {uses: x}}, {id: c, run: {uses: x}}]}
                - {id: m, map: {items: "{{ inputs.items }}", step: {id: t, run: {uses: x}}}}
          - {id: after, run: {uses: x}}
    """)
    for (a, box_a), (b, box_b) in itertools.combinations(layout.nodes.items(), 2):
        assert not box_a.intersects(box_b), (a, b)
    for step_id, frame in layout.frames.items():
        for child in graph.children(step_id):
            assert inside(layout.box(child), frame), (child, step_id)
    for (a, frame_a), (b, frame_b) in itertools.combinations(layout.frames.items(), 2):
        nested = inside(frame_a, frame_b) or inside(frame_b, frame_a)
        assert nested or not frame_a.intersects(frame_b), (a, b)
    rows = {layout.box(f"m[{i}]::t").y for i in range(15)}
    assert len(rows) > 1  # a big map wraps into a grid instead of one endless row


def test_a_collapsed_block_is_one_box_and_its_steps_get_none():
    graph, _ = layout_of("""
        inputs: [{name: items, type: array, default: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]}]
        steps:
          - {id: m, map: {items: "{{ inputs.items }}", step: {id: t, run: {uses: x}}}}
          - id: p
            parallel: {steps: [{id: a, run: {uses: x}}, {id: b, run: {uses: x}}]}
          - {id: after, run: {uses: x}}
    """)
    from core.layout import COLLAPSED_HEIGHT, default_collapsed
    assert default_collapsed(graph) == {"m"}  # 13 children, more than 12
    assert default_collapsed(graph, 1) == {"m", "p"}
    layout = layout_graph(graph, {"m"})
    assert layout.blocks["m"].height == COLLAPSED_HEIGHT and "m" not in layout.frames
    assert not any(step.startswith("m[") for step in (*layout.nodes, *layout.frames))
    expanded = layout_graph(graph)
    assert layout.box("after").y < expanded.box("after").y  # the steps below move up
    boxes = list(layout.nodes.values()) + list(layout.blocks.values())
    assert all(not a.intersects(b) for a, b in itertools.combinations(boxes, 2))


def test_a_frame_is_wide_enough_for_its_header():
    graph, layout = layout_of("""
        steps:
          - id: a-block-with-a-rather-long-identifier
            map: {items: [x], maxParallel: 1, step: {id: t, run: {uses: x}}}
    """)
    from core.layout import NODE_WIDTH, header_width
    frame = layout.frames["a-block-with-a-rather-long-identifier"]
    assert frame.width >= header_width(graph.step("a-block-with-a-rather-long-identifier")) > NODE_WIDTH + 28
