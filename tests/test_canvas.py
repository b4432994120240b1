"""The canvas at every size (issue 13): the overview picture, collapse, find, keyboard, chains, minimap."""

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QFont, QFontMetrics

from benchmarks.canvas_check import overview_matches, render_view
from benchmarks.large_pack import large_pack
from conftest import pack_text
from core.graph import ExecutionGraph
from core.layout import FRAME_HEADER, HEADER_INSET, layout_graph
from core.manifest import parse_pack
from core.plan import build_plan
from stella_desktop.canvas.collapsed_item import CollapsedBlockItem
from stella_desktop.canvas.frame_item import CAPTION_POINTS, TITLE_POINTS, BlockFrameItem, frame_title
from stella_desktop.canvas.scene import GraphScene
from stella_desktop.canvas.view import DETAIL_FROM, READABLE_ZOOM, GraphView
from stella_desktop.step_status import StepView

_GRAPHS = {}


def big_graph(steps=2050) -> ExecutionGraph:
    if steps not in _GRAPHS:
        text, inputs = large_pack(steps)
        _GRAPHS[steps] = build_plan(parse_pack(text), inputs)
    return ExecutionGraph.from_plan(_GRAPHS[steps])  # a fresh graph: tests never share state


def graph_of(spec: str) -> ExecutionGraph:
    return ExecutionGraph.from_plan(build_plan(parse_pack(pack_text(spec)), {}))


@pytest.fixture
def canvas(qtbot):
    scene = GraphScene()
    view = GraphView(scene)
    qtbot.addWidget(view)
    view.resize(1200, 800)
    view.show()
    qtbot.waitExposed(view)
    yield scene, view
    view.close()


def show(canvas, graph, statuses=None):
    scene, view = canvas
    scene.show_graph(graph)
    scene.set_statuses({s: StepView(statuses.get(s, "pending") if statuses else "pending") for s in graph.order()})
    view.fit()
    return scene, view


# -- 1. the overview picture matches the geometry ---------------------------------------------------
def test_the_overview_picture_draws_what_the_items_draw(canvas):
    scene, view = show(canvas, big_graph())
    scene.set_all_expanded(True)
    assert scene.overview is not None  # 2,050 boxes: the picture is in use when zoomed out
    view.show_whole()
    assert not scene._detailed
    whole = overview_matches(view)
    assert whole["ok"], whole
    view.set_zoom(DETAIL_FROM * 0.95)  # the closest zoom that still shows the picture
    view.centerOn(scene.sceneRect().center())
    closest = overview_matches(view)
    assert closest["ok"], closest
    view.fit()  # Fit is readable, so it draws the items themselves, and draws them
    assert scene._detailed and view.zoom() >= READABLE_ZOOM
    assert render_view(view).pixelColor(10, 10).isValid()


def test_a_wrong_overview_picture_is_caught(canvas):
    """The check itself fails for the old defect: a picture squeezed into a strip at the left."""
    scene, view = show(canvas, big_graph())
    scene.set_all_expanded(True)
    view.show_whole()
    good = scene.overview.picture()
    scene.overview._image = good.scaled(max(1, good.width() // 12), good.height())
    bounds = scene.overview._bounds
    scene.overview._bounds = bounds.adjusted(0, 0, -bounds.width() * 11 / 12, 0)
    assert not overview_matches(view)["ok"]


# -- 2. collapse and expand ---------------------------------------------------------------------
def test_big_blocks_start_collapsed_and_expand_by_double_click_keeping_the_state_per_pack(canvas, qtbot):
    scene, view = show(canvas, big_graph())
    mirror = scene.items_by_id["mirror"]
    assert isinstance(mirror, CollapsedBlockItem) and "mirror[0]::sync" not in scene.items_by_id
    assert mirror.counts == {"pending": 300} and "300 items" in mirror.caption
    assert isinstance(scene.items_by_id["fan-0"], BlockFrameItem)  # 6 children: under the threshold
    stage_top = scene.items_by_id["stage-0"].sceneBoundingRect().top()
    view.centerOn(mirror)
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton,
                      pos=view.mapFromScene(mirror.sceneBoundingRect().center()))
    assert isinstance(scene.items_by_id["mirror"], BlockFrameItem) and "mirror[299]::sync" in scene.items_by_id
    assert scene.items_by_id["stage-0"].sceneBoundingRect().top() > stage_top + 600  # the rows below moved
    scene.show_graph(big_graph())  # the same pack again: still expanded
    assert "mirror[299]::sync" in scene.items_by_id
    scene.show_graph(graph_of("steps: [{id: a, run: {uses: x}}]"))  # another pack, then back
    scene.show_graph(big_graph())
    assert "mirror[299]::sync" in scene.items_by_id
    view.go_to("mirror")
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Left)
    assert isinstance(scene.items_by_id["mirror"], CollapsedBlockItem)
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert isinstance(scene.items_by_id["mirror"], BlockFrameItem)


def test_a_failed_or_waiting_child_shows_on_its_collapsed_block(canvas):
    statuses = {"mirror[5]::sync": "failed", "mirror[6]::sync": "failed", "mirror[0]::sync": "succeeded",
                "deep-1-4": "requires-approval"}
    scene, _ = show(canvas, big_graph(), statuses)
    mirror = scene.items_by_id["mirror"]
    assert mirror.counts == {"failed": 2, "succeeded": 1, "pending": 297}
    assert mirror.alert == "2 failed inside" and "2 failed" in mirror.toolTip()
    assert scene.items_by_id["nest-1"].alert == "1 requires approval inside"
    assert scene.items_by_id["nest-3"].alert == ""


def test_the_threshold_comes_from_preferences(canvas, tmp_path):
    from PySide6.QtCore import QSettings
    from stella_desktop.settings import AppSettings
    settings = AppSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    assert settings.collapse_over == 12
    settings.collapse_over = 500
    scene, _ = show(canvas, big_graph())
    scene.set_collapse_threshold(settings.collapse_over)
    assert "mirror[299]::sync" in scene.items_by_id and not scene.collapsed


# -- 3. readable Fit and 4. the minimap ------------------------------------------------------------
def test_fit_stays_readable_and_the_minimap_moves_the_view(canvas, qtbot):
    scene, view = show(canvas, big_graph())
    fits_width = view.viewport().width() / scene.sceneRect().width()
    assert view.zoom() == pytest.approx(max(READABLE_ZOOM, fits_width))  # the width, never below 9 pt ids
    assert view.visible_scene_rect().contains(scene.items_by_id["fetch"].sceneBoundingRect())
    minimap = view.minimap
    assert minimap.isVisible()
    top = view.verticalScrollBar().value()
    qtbot.mouseClick(minimap, Qt.MouseButton.LeftButton, pos=QPoint(minimap.width() // 2, minimap.height() - 10))
    assert view.verticalScrollBar().value() > top
    assert minimap.visible_rect.top() > scene.sceneRect().center().y()  # the rectangle followed
    small = graph_of("steps: [{id: a, run: {uses: x}}, {id: b, run: {uses: x}}]")
    show(canvas, small)
    assert view.zoom() == 1.0 and not minimap.isVisible()  # a small pack is shown whole, at full size


# -- 5. find ---------------------------------------------------------------------------------------
def test_find_filters_jumps_into_a_collapsed_block_and_closes(canvas, qtbot):
    scene, view = show(canvas, big_graph(), {f"approve-{i}": "requires-approval" for i in range(15)})
    view.open_find()
    field = view.find_bar.field
    assert view.find_bar.isVisible() and field.hasFocus()
    full_height = view.height()
    # the bar sits in a strip above the graph, not over it: no step can hide under it
    assert not view.find_bar.geometry().intersects(view.viewport().geometry())
    assert view.find_bar.geometry().bottom() < view.viewport().geometry().top()
    qtbot.keyClicks(field, "deep-7-3")
    assert view.matches == ["deep-7-3"] and scene.items_by_id["nest-7"].matched  # outlined while collapsed
    assert scene.items_by_id["nest-7"].opacity() == 1 and scene.items_by_id["fetch"].opacity() < 0.5  # the rest dims
    qtbot.keyClick(field, Qt.Key.Key_Return)
    item = scene.items_by_id["deep-7-3"]  # its block was expanded
    assert view.current == "deep-7-3" and item.isSelected() and item.matched
    assert view.visible_scene_rect().contains(item.sceneBoundingRect())
    assert not scene.items_by_id["nest-7"].matched
    field.setText("builtin:scan")
    assert len(view.matches) == len([s for s in scene.order if s.startswith("deep-")])
    field.setText("requires approval")
    assert len(view.matches) == 15 and all(m.startswith("approve-") for m in view.matches)
    qtbot.keyClick(field, Qt.Key.Key_Escape)
    assert not view.find_bar.isVisible() and view.matches == [] and not scene.items_by_id["approve-0"].matched
    assert all(item.opacity() == 1 for item in scene.items_by_id.values())
    assert view.viewport().geometry().top() < view.find_bar.height() and view.height() == full_height  # strip gone


# -- 6. order is visible -----------------------------------------------------------------------------
def test_a_sequential_map_is_a_chain_with_arrows_and_headers_are_never_cut(canvas):
    graph = graph_of("""
        steps:
          - id: mirror
            map: {items: [eu-1], maxParallel: 1, step: {id: sync, run: {uses: x}}}
          - id: rollout-to-every-region
            map: {items: [a, b, c, d], maxParallel: 1, step: {id: deploy, run: {uses: x}}}
          - id: checks
            parallel: {maxParallel: 2, continueOnError: true, steps: [{id: c1, run: {uses: x}}, {id: c2, run: {uses: x}}]}
    """)
    layout = layout_graph(graph)
    boxes = [layout.box(f"rollout-to-every-region[{i}]::deploy") for i in range(4)]
    assert all(a.bottom < b.y for a, b in zip(boxes, boxes[1:]))  # one column, in order
    assert len({b.center_x for b in boxes}) == 1
    chain = [(f"rollout-to-every-region[{i}]::deploy", f"rollout-to-every-region[{i + 1}]::deploy") for i in range(3)]
    assert all(edge in layout.edges for edge in chain)
    c1, c2 = layout.box("checks[0]" if "checks[0]" in graph else "c1"), layout.box("c2")
    assert c1.y == c2.y  # a parallel block stays side by side
    scene, _ = show(canvas, graph)
    assert scene.edge_count() == 2 + 3  # two between the top-level steps, three along the chain
    for block in ("mirror", "rollout-to-every-region", "checks"):
        item = scene.items_by_id[block]
        width = item.boundingRect().width() - 6 - 2 * HEADER_INSET
        title_font, caption_font = QFont(), QFont()
        title_font.setPointSizeF(TITLE_POINTS)
        title_font.setBold(True)
        caption_font.setPointSizeF(CAPTION_POINTS)
        for status in ("pending", "requires-approval", "retry-waiting"):
            assert QFontMetrics(title_font).horizontalAdvance(frame_title(block, item.kind, status)) <= width
        assert QFontMetrics(caption_font).horizontalAdvance(item.caption) <= width, item.caption
    assert scene.items_by_id["mirror"].caption == "1 item · max 1 at once, in order"
    assert scene.items_by_id["checks"].caption == "2 steps · max 2 at once · continue on error"
    assert FRAME_HEADER >= 40  # two header lines


# -- 7. decided at run time ------------------------------------------------------------------------------
def test_a_step_decided_at_run_time_is_dashed_with_a_badge_and_says_why(canvas):
    scene, view = show(canvas, big_graph())
    runtime, plain = scene.items_by_id["stage-3"], scene.items_by_id["stage-2"]
    assert runtime.runtime_when == "{{ steps.fetch.outputs.ok }}" and not plain.runtime_when
    assert "Decided at run time" in runtime.toolTip() and "steps.fetch.outputs.ok" in runtime.toolTip()
    assert "Decided at run time" not in plain.toolTip()
    view.set_zoom(1.0)
    view.centerOn(runtime)
    image = view.grab().toImage()
    badge = view.mapFromScene(runtime.sceneBoundingRect().topRight()) + QPoint(-16, 18)
    assert image.pixelColor(badge).name() == "#7c3aed"  # the "?" badge


# -- 8. keyboard --------------------------------------------------------------------------------------
def test_keyboard_moves_between_siblings_and_pages_inside_a_block(canvas, qtbot):
    scene, view = canvas
    view.resize(1200, 420)  # a screenful is less than the 300-item map
    show(canvas, big_graph())
    view.setFocus()
    keys = lambda key: (qtbot.keyClick(view, key), view.current)[1]  # noqa: E731
    assert keys(Qt.Key.Key_Home) == "fetch"
    assert keys(Qt.Key.Key_Down) == "mirror"
    assert keys(Qt.Key.Key_Down) == "rollout"  # the collapsed 300-item map was one stop
    assert keys(Qt.Key.Key_Right) == "rollout[0]::deploy"  # an expanded block: into it
    assert keys(Qt.Key.Key_Down) == "rollout[1]::deploy"
    assert keys(Qt.Key.Key_Up) == "rollout[0]::deploy"
    assert keys(Qt.Key.Key_Up) == "rollout"  # past the first sibling: up to the block
    assert keys(Qt.Key.Key_End) == scene.graph.top_level()[-1]
    assert keys(Qt.Key.Key_Home) == "fetch"
    keys(Qt.Key.Key_Down)
    assert keys(Qt.Key.Key_Right) == "mirror" and "mirror[0]::sync" in scene.items_by_id  # expanded
    assert keys(Qt.Key.Key_Right) == "mirror[0]::sync"
    paged = keys(Qt.Key.Key_PageDown)
    index = int(paged.split("[")[1].split("]")[0])
    screen = view.viewport().height() / view.zoom()
    step = scene.items_by_id
    assert step[paged].sceneBoundingRect().top() - step["mirror[0]::sync"].sceneBoundingRect().top() >= screen * 0.9
    assert index % 25 == 0 and 0 < index < 299  # the same column of the 25-wide grid
    assert view.visible_scene_rect().contains(step[paged].sceneBoundingRect())
    assert keys(Qt.Key.Key_PageUp) == "mirror[0]::sync"
    assert keys(Qt.Key.Key_Left) == "mirror"
    assert keys(Qt.Key.Key_Left) == "mirror" and isinstance(scene.items_by_id["mirror"], CollapsedBlockItem)
    assert scene.items_by_id["mirror"].isSelected()


def test_blocks_seen_before_keep_their_state_and_new_big_ones_start_collapsed(canvas):
    scene, _ = canvas
    items = lambda n: "[" + ", ".join(str(i) for i in range(n)) + "]"  # noqa: E731
    before = graph_of(f"steps: [{{id: m, map: {{items: {items(3)}, step: {{id: t, run: {{uses: x}}}}}}}}]")
    scene.show_graph(before)
    assert not scene.collapsed
    # the same pack again, as when a run learns a map's items: m stays open, a new big block starts closed
    after = graph_of(f"""
        steps:
          - {{id: m, map: {{items: {items(20)}, step: {{id: t, run: {{uses: x}}}}}}}}
          - {{id: n, map: {{items: {items(20)}, step: {{id: u, run: {{uses: x}}}}}}}}
    """)
    scene.show_graph(after)
    assert scene.collapsed == {"n"}


def test_a_block_decided_at_run_time_says_so_too(canvas):
    graph = graph_of("""
        steps:
          - {id: fetch, run: {uses: x}}
          - id: fan
            when: "{{ steps.fetch.outputs.ok }}"
            parallel: {steps: [{id: a, run: {uses: x}}, {id: b, run: {uses: x}}]}
    """)
    scene, _ = show(canvas, graph)
    frame = scene.items_by_id["fan"]
    assert frame.runtime_when and "Decided at run time" in frame.toolTip()
    scene.set_expanded("fan", False)
    assert "Decided at run time" in scene.items_by_id["fan"].toolTip()


def test_find_next_wraps_around_and_goes_backwards_with_shift_enter(canvas, qtbot):
    scene, view = show(canvas, big_graph())
    view.open_find()
    field = view.find_bar.field
    field.setText("approve-1")  # approve-1 and approve-10 .. approve-14, in document order
    assert view.matches == ["approve-1"] + [f"approve-{i}" for i in range(10, 15)]
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert view.current == "approve-1" and view.find_bar.count.text() == "1 of 6"
    qtbot.keyClick(field, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert view.current == "approve-14" and view.find_bar.count.text() == "6 of 6"  # wrapped backwards
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert view.current == "approve-1"  # and forwards
    assert scene.items_by_id["approve-1"].isSelected()


def test_a_right_click_on_a_step_reports_its_id(canvas, qtbot):
    from PySide6.QtGui import QContextMenuEvent
    from PySide6.QtWidgets import QApplication

    scene, view = show(canvas, graph_of("steps:\n  - {id: build, run: {uses: builtin:noop}}\n"
                                        "  - {id: ship, run: {uses: builtin:noop}}"))
    item = scene.items_by_id["ship"]
    point = view.mapFromScene(item.sceneBoundingRect().center())
    reported = []
    view.context_requested.connect(lambda step_id, at: reported.append(step_id))
    for position in (point, QPoint(3, 3)):  # on the step, then on empty canvas
        event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, position, view.viewport().mapToGlobal(position))
        QApplication.sendEvent(view.viewport(), event)
    assert reported == ["ship"]
