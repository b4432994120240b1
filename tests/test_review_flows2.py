"""Defects found using the app as a new user under Xvfb (second review), as flows through the real MainWindow."""

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from test_session_flows import (  # noqa: F401  (fixtures)
    RELEASE, action, nothing_left_behind, open_and_wait, settings, window,
)

OTHER = """
apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {name: other, version: 1.0.0}
spec:
  steps:
    - {id: only-here, run: {uses: builtin:noop}}
    - {id: build, run: {uses: builtin:noop}}
"""


def test_the_find_field_searches_the_pack_now_shown_not_the_one_before(qtbot, window, tmp_path):
    """Find 'only-here' in one pack, open another: the bar still said '1 of 1' and Enter raised
    KeyError: 'only-here' (the matches of the pack before)."""
    other = tmp_path / "other.yaml"
    other.write_text(OTHER)
    open_and_wait(qtbot, window, other)
    action(window, "find").trigger()
    bar = window.view.find_bar
    QTest.keyClicks(bar.field, "only-here")
    QTest.keyClick(bar.field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.session.selected == "only-here", timeout=5_000)
    assert bar.count.text() == "1 of 1"
    open_and_wait(qtbot, window, RELEASE)
    qtbot.waitUntil(lambda: bar.count.text() == "no match", timeout=5_000)
    assert window.view.matches == []
    QTest.keyClick(bar.field, Qt.Key.Key_Return)  # raised KeyError in find_next
    assert window.session.selected != "only-here"
    bar.field.setText("build")  # the same query finds in the pack now shown
    QTest.keyClick(bar.field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.session.selected == "build", timeout=5_000)


def chain_pack(count: int) -> str:
    steps = "\n".join(f"    - {{id: step-{i}, run: {{uses: builtin:noop}}}}" for i in range(count))
    return ("apiVersion: stellaops.io/pack.v1\nkind: TaskPack\nmetadata: {name: chain, version: 1.0.0}\n"
            "spec:\n  steps:\n" + steps + "\n")


def test_a_long_critical_path_leaves_the_timeline_and_assumptions_readable(qtbot, window, tmp_path):
    """A 10,000-step pack's critical path is hundreds of ids: the outcome line filled the Timeline
    dock (two rows of chart left) and ran off the top of the Assumptions panel."""
    pack = tmp_path / "chain.yaml"
    pack.write_text(chain_pack(300))
    open_and_wait(qtbot, window, pack)
    document = window.forecast.document
    qtbot.waitUntil(lambda: document.result is not None, timeout=30_000)
    assert len(document.result.critical_path) == 300
    for label in (window.timeline.summary, window.assumptions.outcome):
        qtbot.waitUntil(lambda: "… 292 more …" in label.text(), timeout=5_000)
        assert "step-150" not in label.text()
        lines = label.heightForWidth(400) / label.fontMetrics().lineSpacing()
        assert lines <= 5, (lines, label.objectName())


def test_a_pack_broken_on_disk_says_fix_it_for_one_problem(qtbot, window, tmp_path):
    """Saved with a YAML error while open: the canvas said 'This pack has 1 problem. Fix them…'."""
    pack = tmp_path / "pack.yaml"
    pack.write_text(OTHER)
    open_and_wait(qtbot, window, pack)
    pack.write_text(OTHER + "    - {id: broken\n")
    qtbot.waitUntil(lambda: window.session.graph is None and len(window.session.problems) == 1, timeout=10_000)
    texts = [item.text() for item in window.scene.items() if hasattr(item, "text")]
    assert any("1 problem" in text and "Fix it (see Problems)" in text for text in texts), texts


def test_while_the_dask_scheduler_connects_run_is_disabled_and_cancel_gives_up(qtbot, window, settings, tmp_path,
                                                                                monkeypatch):
    """An unreachable scheduler took 10 s to say so: meanwhile Run stayed enabled, Cancel Run was
    disabled ('No run is in progress.') and nothing could stop the pending start."""
    import threading

    from core.execution.backends.dask import DaskBackend
    from core.execution.store import RunStore
    from stella_desktop.session_state import Mode

    answer, asked = threading.Event(), threading.Event()
    connect = DaskBackend.connect.__func__

    def slow_connect(cls, registry, **options):
        asked.set()
        answer.wait(30)
        return connect(cls, registry, **options)

    monkeypatch.setattr(DaskBackend, "connect", classmethod(slow_connect))
    monkeypatch.setattr("core.execution.backends.dask.CONNECT_TIMEOUT", "1s")
    settings.backend = "dask"
    settings.dask_scheduler = "tcp://127.0.0.1:9"  # nothing listens there
    open_and_wait(qtbot, window, RELEASE)
    run, cancel = action(window, "run"), action(window, "cancel")
    run.trigger()
    qtbot.waitUntil(lambda: asked.is_set() and not run.isEnabled() and cancel.isEnabled(), timeout=5_000)
    assert "Connecting to the Dask scheduler" in run.toolTip()
    assert cancel.toolTip().startswith("Give up connecting")  # not "Stop the running steps"
    cancel.trigger()
    qtbot.waitUntil(lambda: run.isEnabled() and not cancel.isEnabled(), timeout=5_000)
    assert not window.session._runs.connecting and window.session.mode == Mode.SIMULATION
    assert "not started" in window.statusBar().currentMessage()
    answered = []
    window.session._runs._connected.connect(lambda *args: answered.append(args))  # after the control's own slot
    answer.set()  # the scheduler's late answer is dropped: no notice, no run
    qtbot.waitUntil(lambda: bool(answered), timeout=30_000)
    assert window.last_notice is None and window.session.run is None
    assert RunStore(settings.store_folder).run_ids() == []


def test_a_run_refused_for_thousands_of_steps_says_so_in_a_box_that_fits_the_screen(qtbot, window, tmp_path):
    """Run on the 10k pack (builtin:scan has no executor here): the notice listed all 4,553 problems,
    a box taller than the screen whose OK button could not be reached."""
    from PySide6.QtWidgets import QMessageBox

    steps = "\n".join(f"    - {{id: scan-{i}, run: {{uses: builtin:scan}}}}" for i in range(200))
    pack = tmp_path / "scan.yaml"
    pack.write_text("apiVersion: stellaops.io/pack.v1\nkind: TaskPack\nmetadata: {name: scan, version: 1.0.0}\n"
                    "spec:\n  steps:\n" + steps + "\n")
    open_and_wait(qtbot, window, pack)
    action(window, "run").trigger()
    qtbot.waitUntil(lambda: window.last_notice is not None, timeout=10_000)
    title, text = window.last_notice
    assert title == "The run cannot start" and "scan-0" in text and "scan-199" not in text
    assert "190 more" in text and "Problems" in text
    (box,) = [b for b in window.findChildren(QMessageBox) if b.objectName() == "notice" and b.isVisible()]
    assert box.sizeHint().height() < window.screen().availableGeometry().height()
    assert len(window.session.problems) == window.problems.topLevelItemCount() == 200  # all of them listed there
    box.close()


def test_the_forecast_outcome_sits_at_the_top_of_the_assumptions_panel(qtbot, window):
    """With no assumptions the outcome line floated a third of the way down the panel, between blank bands."""
    open_and_wait(qtbot, window, RELEASE)
    window.docks["assumptions"].show()
    window.docks["assumptions"].raise_()
    panel = window.assumptions
    qtbot.waitUntil(lambda: panel.outcome.text().startswith("forecast:") and panel.isVisible(), timeout=10_000)
    assert panel.height() > 300
    line = panel.outcome.fontMetrics().lineSpacing()
    top = panel.outcome.geometry().top() + panel.outcome.contentsRect().top()
    text_height = panel.outcome.heightForWidth(panel.outcome.width())
    assert panel.outcome.height() <= text_height + line, (panel.outcome.height(), text_height)
    assert top < 2 * line and panel.empty.geometry().top() < panel.outcome.geometry().bottom() + 2 * line


def test_editing_an_input_while_the_dask_scheduler_connects_gives_the_start_up(qtbot, window, settings, tmp_path,
                                                                                monkeypatch):
    """Run, then change an input before the scheduler answered: the run would have started with the
    inputs of the click, no longer those of the preview on screen."""
    import threading

    from core.execution.backends.dask import DaskBackend

    answer, asked = threading.Event(), threading.Event()
    connect = DaskBackend.connect.__func__

    def slow_connect(cls, registry, **options):
        asked.set()
        answer.wait(30)
        return connect(cls, registry, **options)

    monkeypatch.setattr(DaskBackend, "connect", classmethod(slow_connect))
    monkeypatch.setattr("core.execution.backends.dask.CONNECT_TIMEOUT", "1s")
    settings.backend = "dask"
    settings.dask_scheduler = "tcp://127.0.0.1:9"
    open_and_wait(qtbot, window, RELEASE)
    action(window, "run").trigger()
    qtbot.waitUntil(lambda: asked.is_set() and window.session._runs.connecting, timeout=5_000)
    window.inputs.fields["version"].editor.setText("3.0.0")
    qtbot.waitUntil(lambda: not window.session._runs.connecting, timeout=10_000)
    assert "not started" in window.statusBar().currentMessage()
    answered = []
    window.session._runs._connected.connect(lambda *args: answered.append(args))
    answer.set()
    qtbot.waitUntil(lambda: bool(answered), timeout=30_000)
    assert window.last_notice is None and window.session.run is None


def test_a_binary_file_opened_by_mistake_shows_no_garbage_in_source(qtbot, window, tmp_path):
    """Its random bytes filled the Source tab with replacement glyphs, and Qt printed ~80 font warnings."""
    import random

    junk = tmp_path / "junk.yaml"
    junk.write_bytes(bytes(random.Random(3).randrange(256) for _ in range(3000)) + b"\x00")
    window.open_pack(str(junk))
    qtbot.waitUntil(lambda: any("NUL byte" in p.message for p in window.session.problems), timeout=10_000)
    window.docks["source"].show()
    window.docks["source"].raise_()
    assert window.source.toPlainText() == "" and "not text" in window.source.placeholderText()
    open_and_wait(qtbot, window, RELEASE)  # a text pack afterwards shows as before
    qtbot.waitUntil(lambda: "release-signoff" in window.source.toPlainText(), timeout=5_000)
    assert window.source.placeholderText() == ""


def test_the_timeline_stays_readable_in_the_dark_theme(qtbot, settings):
    """Its labels and axis are drawn dark on the view's background, which the dark theme makes navy:
    'deploy', 'deploy[0]::rollout' (rows off the critical path) were black on navy."""
    from PySide6.QtGui import QColor, QPalette
    from PySide6.QtWidgets import QApplication

    from stella_desktop.dialogs import apply_theme
    from test_gui_review_flows import contrast
    from test_session_flows import new_window

    app = QApplication.instance()
    before = QPalette(app.palette())
    apply_theme(app, "dark")
    window = new_window(qtbot, settings)
    try:
        open_and_wait(qtbot, window, RELEASE)
        window.docks["timeline"].show()
        window.docks["timeline"].raise_()
        view = window.timeline.view
        qtbot.waitUntil(lambda: bool(view.timeline.rows) and view.isVisible(), timeout=10_000)
        scene = view.timeline
        plain = [i for i, row in enumerate(scene.rows) if not row.critical]
        assert plain, "the test needs a row off the critical path"
        labels = {item.text().strip(): item for item in scene.items() if hasattr(item, "text") and
                  item.text().strip() == scene.rows[plain[0]].step_id}
        (label,) = labels.values()
        image = view.grab(view.mapFromScene(label.sceneBoundingRect()).boundingRect()).toImage()
        counts = {}
        for x in range(image.width()):
            for y in range(image.height()):
                counts[image.pixel(x, y)] = counts.get(image.pixel(x, y), 0) + 1
        background = QColor(max(counts, key=counts.get))  # the most common colour under the label
        assert max(contrast(QColor(c), background) for c in counts) >= 4.5, background.name()
    finally:
        window.close()
        apply_theme(app, "system")
        app.setPalette(before)
