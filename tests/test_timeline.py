"""The Timeline widget (pytest-qt): rows, bars, waits, ghosts, axis, zoom, clicks, export."""

from __future__ import annotations

import os

import pytest
from PySide6.QtCore import QPoint, Qt

from conftest import FLAKY_PACK, pack_text
from core.execution.store import RunStore
from core.forecast import forecast
from core.forecast.spans import Span, TimelineRow, actual_spans, rows_from_forecast, rows_from_run
from core.manifest import load_pack, parse_pack
from core.simulation import preview_pack
from forecast_helpers import execute_virtually
from stella_desktop.timeline import TimelineView, export_timeline_image
from stella_desktop.timeline.axis_item import AxisItem, tick_step

SHOTS = os.environ.get("STELLA_SCREENSHOTS")


def flaky_forecast(assume=None):
    return forecast(preview_pack(load_pack(FLAKY_PACK)), assume or {"flaky": "fail:2", "check-broken": "fail"})


@pytest.fixture
def view(qtbot):
    widget = TimelineView()
    widget.resize(900, 420)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def shot(widget, name: str) -> None:
    if SHOTS:
        widget.grab().save(os.path.join(SHOTS, name))


def test_rows_bars_and_hatched_waits_follow_the_forecast(view):
    result = flaky_forecast()
    rows = rows_from_forecast(result)
    view.set_rows(rows, result.duration)
    scene = view.timeline
    assert [row.step_id for row in rows] == [step.id for step in result.steps]
    assert len(scene.bars) == sum(len(step.attempts) for step in result.steps)
    flaky = [bar for bar in scene.bars if bar.step_id == "flaky"]
    assert [bar.result for bar in flaky] == ["failed", "failed", "succeeded"]
    assert flaky[1].x() - flaky[0].x() == pytest.approx(1.0 * scene.pixels_per_second)  # 1 s backoff
    waits = [wait for wait in scene.waits if wait.step_id == "flaky"]
    assert [round(wait.seconds, 6) for wait in waits] == [1.0, 1.0]
    assert all(bar.critical for bar in scene.bars if bar.step_id in result.critical_path)
    assert not any(bar.critical for bar in scene.bars if bar.step_id == "check-ok")
    shot(view, "timeline-forecast.png")


def test_a_click_on_a_bar_reports_its_step(view, qtbot):
    result = flaky_forecast()
    view.set_rows(rows_from_forecast(result), result.duration)
    bar = next(bar for bar in view.timeline.bars if bar.step_id == "check-late")
    point = view.mapFromScene(bar.sceneBoundingRect().center())
    with qtbot.waitSignal(view.step_clicked) as signal:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert signal.args == ["check-late"] and view.timeline.selected == "check-late"


def test_zoom_keys_and_wheel_stretch_the_time_axis_and_fit_restores_it(view, qtbot):
    result = flaky_forecast()
    view.set_rows(rows_from_forecast(result), result.duration)
    fitted = view.timeline.pixels_per_second
    assert view.timeline.x_of(result.duration) <= view.viewport().width()
    qtbot.keyClick(view, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert view.timeline.pixels_per_second == pytest.approx(fitted * 1.25)
    qtbot.keyClick(view, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(view, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert view.timeline.pixels_per_second == pytest.approx(fitted / 1.25)
    qtbot.keyClick(view, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert view.timeline.pixels_per_second == pytest.approx(fitted)
    for _ in range(6):
        view.zoom_by(2)
    assert view.horizontalScrollBar().maximum() > 0  # zoomed in: the chart pans sideways


@pytest.mark.parametrize("length, labels", [
    (6.6, ["0 s", "1 s", "2 s"]),
    (0.8, ["0 s", "0.1 s", "0.2 s"]),
    (7200, ["0 s", "15 min", "30 min", "45 min", "1 h"]),
    (3 * 86400, ["0 s", "12 h", "24 h"]),
])
def test_the_axis_ticks_in_seconds_minutes_and_hours(length, labels):
    pixels = 700 / length
    axis = AxisItem(100, length, pixels, 30, 100)
    ticks = [label for _, label in axis.ticks()]
    assert ticks[:len(labels)] == labels
    assert tick_step(pixels) * pixels >= 70


def test_export_writes_png_and_svg(view, tmp_path):
    result = flaky_forecast()
    view.set_rows(rows_from_forecast(result), result.duration)
    export_timeline_image(view.timeline, str(tmp_path / "t.png"))
    export_timeline_image(view.timeline, str(tmp_path / "t.svg"))
    assert (tmp_path / "t.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = (tmp_path / "t.svg").read_text()
    assert "<svg" in svg and "check-broken" in svg
    with pytest.raises(OSError):
        export_timeline_image(view.timeline, str(tmp_path / "missing" / "t.png"))


GHOSTS = """
failure: {retries: {maxAttempts: 3, backoffSeconds: 2}}
steps:
  - {id: fetch, run: {uses: builtin:sleep, with: {seconds: 1}}}
  - {id: flaky, run: {uses: builtin:fail, with: {failTimes: 1}}}
  - id: fan
    parallel:
      maxParallel: 1
      steps:
        - {id: left, run: {uses: builtin:sleep, with: {seconds: 2}}}
        - {id: right, run: {uses: builtin:sleep, with: {seconds: 1.5}}}
  - {id: ship, run: {uses: builtin:sleep, with: {seconds: 0.5}}}
"""


def test_after_a_run_the_forecast_stays_behind_the_actual_bars_as_ghosts(view, tmp_path, write_pack):
    manifest = write_pack(GHOSTS)
    predicted = forecast(preview_pack(load_pack(manifest)), {})  # assumes flaky succeeds at once
    run, _ = execute_virtually(manifest, RunStore(tmp_path / "runs"))
    snapshot = run.snapshot()
    run.close()
    spans, length = actual_spans(snapshot)
    # fetch 0-1; flaky fails at 1, retries after 2 s at 3; left 3-5, right 5-6.5; ship 6.5-7
    assert spans["flaky"] == [Span(1.0, 1.0, "failed"), Span(3.0, 3.0, "succeeded")]
    assert spans["ship"] == [Span(6.5, 7.0, "succeeded")] and length == 7.0
    rows = rows_from_run(snapshot, predicted)
    by_id = {row.step_id: row for row in rows}
    assert by_id["ship"].ghosts == (Span(4.5, 5.0, "succeeded"),)  # the forecast: 2 s earlier
    assert [row.depth for row in rows] == [0, 0, 0, 1, 1, 0]
    view.set_rows(rows)
    ghosts = [bar for bar in view.timeline.bars if bar.ghost]
    actual = [bar for bar in view.timeline.bars if not bar.ghost]
    assert len(ghosts) == 6 and len(actual) == 7
    assert all(ghost.zValue() < bar.zValue() for ghost in ghosts for bar in actual)
    shot(view, "timeline-ghosts.png")


def test_a_running_attempt_is_drawn_to_the_snapshot_time():
    snapshot = {"updatedAt": "2026-01-01T00:00:05.000000Z", "steps": [], "events": [
        {"at": "2026-01-01T00:00:01.000000Z", "stepId": "a", "from": "pending", "to": "running", "attempt": 1}]}
    spans, length = actual_spans(snapshot)
    assert spans == {"a": [Span(0.0, 4.0, "running")]} and length == 4.0


def test_a_long_pack_lays_out_without_trouble(view):
    rows = [TimelineRow(f"s{i}", 0, "run", "succeeded", (Span(i * 0.5, i * 0.5 + 2, "succeeded"),))
            for i in range(2000)]
    view.set_rows(rows)
    assert len(view.timeline.bars) == 2000
    assert view.timeline.step_at(view.timeline.bars[-1].sceneBoundingRect().center()) == "s1999"


def test_the_map_template_rows_of_a_forecast_keep_their_depth():
    preview = preview_pack(parse_pack(pack_text("""
    steps:
      - id: outer
        map:
          items: [1, 2]
          step:
            id: inner
            parallel:
              steps:
                - {id: leaf, run: {uses: builtin:noop}}
    """)))
    rows = rows_from_forecast(forecast(preview, {}))
    assert [(row.step_id, row.depth) for row in rows] == [
        ("outer", 0), ("outer[0]::inner", 1), ("outer[0]::leaf", 2), ("outer[1]::inner", 1), ("outer[1]::leaf", 2)]


def test_clicking_empty_space_reports_nothing(view, qtbot):
    result = flaky_forecast()
    view.set_rows(rows_from_forecast(result), result.duration)
    clicked = []
    view.step_clicked.connect(clicked.append)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(300, 5))  # the axis
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(300, 410))  # below the rows
    assert clicked == []


def test_a_gate_that_is_never_decided_shows_its_wait(view):
    preview = preview_pack(parse_pack(pack_text("""
    steps:
      - {id: build, run: {uses: builtin:sleep, with: {seconds: 3}}}
      - {id: guard, gate: {policy: {policy: p}}}
      - {id: ship, run: {uses: builtin:noop}}
    """)))
    result = forecast(preview, {"guard": "wait"})
    rows = {row.step_id: row for row in rows_from_forecast(result)}
    assert rows["guard"].spans == (Span(3.0, 3.0, "waiting"),) and rows["ship"].spans == ()
    view.set_rows(list(rows.values()), result.duration)
    assert [bar.result for bar in view.timeline.bars if bar.step_id == "guard"] == ["waiting"]


def test_the_panel_shows_a_forecast_then_a_run_with_ghosts(qtbot, tmp_path, write_pack):
    from stella_desktop.timeline.panel import TimelinePanel

    panel = TimelinePanel()
    qtbot.addWidget(panel)
    panel.resize(900, 400)
    panel.show()
    manifest = write_pack(GHOSTS)
    predicted = forecast(preview_pack(load_pack(manifest)), {})
    panel.show_forecast(predicted)
    assert panel.showing == "forecast" and "the run succeeds after 5 s" in panel.summary.text()
    run, _ = execute_virtually(manifest, RunStore(tmp_path / "runs"))
    panel.show_run(run.snapshot(), predicted)
    run.close()
    assert panel.showing == "run" and "ghosts" in panel.summary.text()
    assert sum(bar.ghost for bar in panel.view.timeline.bars) == 6
    with qtbot.waitSignal(panel.step_clicked) as clicked:
        panel.view.timeline.report_click("ship")
    assert clicked.args == ["ship"]
    panel.show_forecast(None, "gates 'a' and 'b' share approval 'r'")
    assert panel.summary.text().startswith("gates") and panel.view.timeline.bars == []
