"""Opening a big pack keeps the window responsive (issue 13's open-file figure) and closed windows quiet.

The forecast is computed on a worker after the graph is shown; its result
arrives later through a signal, and a result for a pack that is no longer
open is dropped.  A closed window stops watching its pack's files.
"""

import json
import threading

import pytest
from PySide6.QtCore import QThreadPool

from benchmarks.large_pack import large_pack
from conftest import pack_text
from core.forecast.timeline import outcome_line
from stella_desktop import forecast_document
from stella_desktop.forecast_document import COMPUTING
from test_change_flows import EDITED, SPEC
from test_session_flows import new_window, settings, settled  # noqa: F401 - fixtures


@pytest.fixture
def window(qtbot, settings):  # noqa: F811 - the session flows' settings fixture
    window = new_window(qtbot, settings)
    yield window
    window.close()
    assert QThreadPool.globalInstance().waitForDone(10_000)


def test_a_closed_window_no_longer_re_simulates_when_its_pack_is_saved(qtbot, window, settings, tmp_path):  # noqa: F811
    manifest = tmp_path / "pack.yaml"
    manifest.write_text(pack_text(SPEC))
    closed = new_window(qtbot, settings)
    for shown in (closed, window):
        shown.open_pack(str(manifest))
        settled(qtbot, shown, manifest)
    before = closed.session.simulation
    closed.close()
    assert closed.session.changes.watcher.files == []
    manifest.write_text(pack_text(EDITED))  # saved in an editor: the open window follows it
    qtbot.waitUntil(lambda: "notify" in window.scene.items_by_id, timeout=10_000)
    assert QThreadPool.globalInstance().waitForDone(10_000)
    assert closed.session.simulation is before and "notify" not in closed.scene.items_by_id


def write_large(folder, steps: int = 2050):
    text, inputs = large_pack(steps)
    manifest, inputs_path = folder / f"large-{steps}.yaml", folder / f"large-{steps}.json"
    manifest.write_text(text)
    inputs_path.write_text(json.dumps(inputs))
    return manifest, inputs_path


class Held:
    """Forecasts of the packs named in ``packs`` wait on the worker until ``release()``."""

    def __init__(self):
        self.packs: set[str] = set()
        self._gate = threading.Event()
        self.release = self._gate.set

    def wait(self, preview) -> None:
        if preview.plan.pack_name in self.packs:
            assert self._gate.wait(10), "the held forecast was never released"


@pytest.fixture
def held(monkeypatch):
    control, real = Held(), forecast_document.forecast

    def forecast(preview, *args, **kwargs):
        control.wait(preview)
        return real(preview, *args, **kwargs)

    monkeypatch.setattr(forecast_document, "forecast", forecast)
    yield control
    control.release()


def test_a_large_pack_is_drawn_while_its_forecast_is_computed_and_the_forecast_arrives_later(
        qtbot, window, tmp_path, held):  # noqa: F811
    manifest, inputs_path = write_large(tmp_path)
    held.packs.add("large-2050")
    document = window.forecast.document
    window.open_pack(str(manifest), str(inputs_path))
    settled(qtbot, window, manifest)
    # the window is usable: graph, results and details are there while the forecast is on the worker
    assert len(window.scene.graph) == 2050 and window.results.model.rowCount() > 0
    window.session.select("fetch")
    assert window.scene.items_by_id["fetch"].isSelected() and "fetch" in window.details.toPlainText()
    assert document.pending and document.result is None
    assert window.assumptions.outcome.text() == COMPUTING == window.timeline.summary.text()
    with qtbot.waitSignal(document.changed, timeout=30_000) as arrived:
        held.release()
    forecast = arrived.args[0]
    assert forecast is document.result and len(forecast.steps) == 2050
    assert window.assumptions.outcome.text() == outcome_line(forecast) == window.timeline.summary.text()


def test_the_timeline_is_laid_out_when_it_is_shown(qtbot, window, tmp_path):
    manifest, inputs_path = write_large(tmp_path)
    window.open_pack(str(manifest), str(inputs_path))
    settled(qtbot, window, manifest)
    qtbot.waitUntil(lambda: window.forecast.document.result is not None, timeout=30_000)
    timeline = window.timeline
    assert not timeline.on_screen() and timeline.showing == "forecast"
    assert timeline.view.timeline.bars == []  # a tab behind Results: 2,050 rows not laid out for nothing
    window.docks["timeline"].show()
    window.docks["timeline"].raise_()
    qtbot.waitUntil(lambda: len(timeline.view.timeline.rows) == 2050, timeout=10_000)
    assert timeline.view.timeline.bars


def test_opening_another_pack_drops_the_first_packs_forecast_still_on_its_way(
        qtbot, window, tmp_path, write_pack, held):  # noqa: F811
    manifest, inputs_path = write_large(tmp_path)
    small = write_pack(SPEC)
    held.packs.add("large-2050")
    document = window.forecast.document
    shown = []
    document.changed.connect(shown.append)
    window.open_pack(str(manifest), str(inputs_path))
    settled(qtbot, window, manifest)
    assert document.pending
    with qtbot.waitSignal(document.changed, timeout=10_000):
        window.open_pack(str(small))  # A's forecast is still held on the worker
    assert [step.id for step in document.result.steps] == ["fetch", "check", "finish"]
    held.release()
    assert QThreadPool.globalInstance().waitForDone(30_000)  # A's forecast is done now...
    qtbot.wait(0)  # ...and its queued result delivered: dropped, B's stays
    assert [[step.id for step in f.steps] for f in shown] == [["fetch", "check", "finish"]]
    assert window.timeline.summary.text() == outcome_line(document.result)


def test_results_repaint_each_block_that_changed_once(qtbot):
    from core.graph import ExecutionGraph
    from core.manifest import parse_pack
    from core.plan import build_plan
    from stella_desktop.results import COLUMNS, StepTreeModel
    from stella_desktop.step_status import StepView

    graph = ExecutionGraph.from_plan(build_plan(parse_pack(pack_text("""
    steps:
      - {id: first, run: {uses: builtin:noop}}
      - id: fan
        parallel:
          steps:
            - {id: a, run: {uses: builtin:noop}}
            - {id: b, run: {uses: builtin:noop}}
            - {id: c, run: {uses: builtin:noop}}
            - {id: d, run: {uses: builtin:noop}}
      - {id: last, run: {uses: builtin:noop}}
    """)), {}))
    model = StepTreeModel()
    model.set_graph(graph, {})
    emitted = []
    model.dataChanged.connect(lambda top, bottom, _roles=(): emitted.append(
        (model.step_id(top.parent()), top.row(), bottom.row(), top.column(), bottom.column())))
    model.set_views({"b": StepView("failed"), "d": StepView("succeeded"), "last": StepView("skipped")})
    assert sorted(emitted, key=str) == sorted([("fan", 1, 3, 2, len(COLUMNS) - 1), (None, 2, 2, 2, len(COLUMNS) - 1)],
                                              key=str)
    assert model.data(model.index_of("b", 2)) == "failed" and model.rowCount(model.index_of("fan")) == 4
    emitted.clear()
    model.set_views({}, {"c"})  # a step's time changed (its view did not)
    assert emitted == [("fan", 2, 2, 2, len(COLUMNS) - 1)]


def test_a_replaced_pack_is_freed_although_it_was_kept_out_of_the_collectors_sight(
        qtbot, window, tmp_path, write_pack):  # noqa: F811
    """The simulated pack and its forecast are frozen (gc.freeze) when kept: opening another pack
    must still free them (reference counting), which only cycles among them would prevent."""
    import gc

    document = window.forecast.document
    manifest, inputs_path = write_large(tmp_path)
    window.open_pack(str(manifest), str(inputs_path))
    settled(qtbot, window, manifest)
    qtbot.waitUntil(lambda: document.result is not None and not document.pending, timeout=30_000)
    kept = gc.get_freeze_count()
    small = write_pack(SPEC)
    window.open_pack(str(small))
    settled(qtbot, window, small)
    qtbot.waitUntil(lambda: document.result is not None and not document.pending, timeout=30_000)
    assert kept - gc.get_freeze_count() > 20 * 2050  # a 2,050-step pack is ~70,000 objects, gone
    window.close()
    assert gc.get_freeze_count() == 0  # a closed window's objects are collectable again


def test_the_forecast_starts_even_when_the_canvas_never_paints(qtbot, settings, tmp_path):  # noqa: F811
    from stella_desktop.main_window import MainWindow

    hidden = MainWindow(settings)  # never shown: its canvas never paints, the forecast starts all the same
    qtbot.addWidget(hidden)
    manifest = tmp_path / "pack.yaml"
    manifest.write_text(pack_text(SPEC))
    hidden.open_pack(str(manifest))
    settled(qtbot, hidden, manifest)
    qtbot.waitUntil(lambda: hidden.forecast.document.result is not None, timeout=10_000)
    assert hidden.assumptions.outcome.text() == outcome_line(hidden.forecast.document.result)
    hidden.close()


def test_the_source_is_coloured_when_its_tab_is_shown(qtbot, window, tmp_path):
    manifest = tmp_path / "pack.yaml"
    manifest.write_text(pack_text(SPEC))
    window.open_pack(str(manifest))
    settled(qtbot, window, manifest)
    source = window.source
    assert source.toPlainText() == manifest.read_text()  # the text is there at once...
    first = source.document().findBlockByNumber(0)
    assert first.layout().formats() == []  # ...coloured only once someone looks (a tab behind Details)
    window.docks["source"].raise_()
    qtbot.waitUntil(lambda: source.document().findBlockByNumber(0).layout().formats() != [], timeout=5000)


def test_details_say_against_the_forecast_once_it_arrives(qtbot, window, held):  # noqa: F811
    """An opened run's forecast is computed after its graph is shown: the selected step's Details
    gain the run-against-forecast sentence when it arrives, without selecting again."""
    from PySide6.QtGui import QAction

    from conftest import FLAKY_PACK
    from stella_desktop.session import Mode

    window.open_pack(str(FLAKY_PACK))
    settled(qtbot, window, FLAKY_PACK)
    window.findChild(QAction, "action-run").trigger()
    qtbot.waitUntil(lambda: window.session.mode == Mode.FINISHED, timeout=30_000)
    run_id = window.session.run.run_id
    held.packs.add(window.session.plan.pack_name)
    window.session.new_simulation()
    settled(qtbot, window)
    window.session.open_run(run_id)  # the run's forecast is held on the worker
    window.session.select("flaky")
    assert window.forecast.document.pending and "Against the forecast" not in window.details.toPlainText()
    with qtbot.waitSignal(window.forecast.document.changed, timeout=10_000):
        held.release()
    assert "Against the forecast: succeeded on attempt 2" in window.details.toPlainText()
