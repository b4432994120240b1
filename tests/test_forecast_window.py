"""The forecast in the window: assume a failure, see it on the canvas, the timeline and the panel."""

from __future__ import annotations

import os

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication

from conftest import FLAKY_PACK
from test_session_flows import new_window, settings, settled  # noqa: F401 - fixtures

SHOTS = os.environ.get("STELLA_SCREENSHOTS")


def test_assuming_a_failure_paints_the_canvas_and_draws_the_timeline(qtbot, settings):  # noqa: F811
    window = new_window(qtbot, settings)
    window.resize(1400, 900)
    window.open_pack(str(FLAKY_PACK))
    settled(qtbot, window, FLAKY_PACK)
    binding = window.forecast
    qtbot.waitUntil(lambda: binding.document.result is not None, timeout=10_000)
    assert window.timeline.showing == "forecast" and "succeeds" in window.timeline.summary.text()
    binding.document.assume("flaky", "fail")  # what Assume ▸ Fails (every attempt) does
    assert window.assumptions.outcome.text() == "Computing the forecast…"  # on a worker: the result follows
    qtbot.waitUntil(lambda: not binding.document.pending, timeout=10_000)
    assert binding.document.result.outcome == "failed"
    assert window.scene.items_by_id["flaky"].status == "failed"
    assert window.scene.items_by_id["finish"].status == "not-reached"
    assert "flaky = fail" == window.assumptions.list.item(0).text()
    assert "fails after 2.2 s" in window.timeline.summary.text()
    window.docks["timeline"].show()
    window.docks["timeline"].raise_()
    QApplication.processEvents()  # grab() misses pending layout otherwise
    if SHOTS:
        window.grab().save(os.path.join(SHOTS, "forecast-window.png"))
    window.assumptions.remove_requested.emit("flaky")
    qtbot.waitUntil(lambda: not binding.document.pending, timeout=10_000)
    assert binding.document.assumptions == {} and binding.document.result.outcome == "succeeded"
    window.close()


def test_after_a_run_the_timeline_shows_the_forecast_as_ghosts(qtbot, settings):  # noqa: F811
    from stella_desktop.session import Mode

    window = new_window(qtbot, settings)
    window.open_pack(str(FLAKY_PACK))
    settled(qtbot, window, FLAKY_PACK)
    qtbot.waitUntil(lambda: window.forecast.document.result is not None, timeout=10_000)
    window.findChild(QAction, "action-run").trigger()
    qtbot.waitUntil(lambda: window.session.mode == Mode.FINISHED, timeout=30_000)
    window.docks["timeline"].raise_()  # the chart is laid out when its tab is on screen
    qtbot.waitUntil(lambda: window.timeline.showing == "run"
                    and any(not bar.ghost and bar.step_id == "finish" for bar in window.timeline.view.timeline.bars),
                    timeout=10_000)
    bars = window.timeline.view.timeline.bars
    assert any(bar.ghost for bar in bars)
    flaky = [bar.result for bar in bars if bar.step_id == "flaky" and not bar.ghost]
    assert flaky == ["failed", "succeeded"]  # builtin:fail fails once; the forecast assumed it succeeds
    window.session.select("flaky")
    assert "Against the forecast: succeeded on attempt 2; the forecast assumed 1" in window.details.toPlainText()
    window.close()
