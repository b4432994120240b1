"""Defects found using the app as a new user under Xvfb, as flows through the real MainWindow."""

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from test_session_flows import (  # noqa: F401  (fixtures)
    RELEASE, Mode, action, new_window, nothing_left_behind, open_and_wait, settings, settled, wait_mode, window,
)
from stella_desktop.dialogs import apply_theme


def contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio of two colours."""
    def luminance(colour: QColor) -> float:
        def channel(c: float) -> float:
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
        return 0.2126 * channel(colour.redF()) + 0.7152 * channel(colour.greenF()) + 0.0722 * channel(colour.blueF())
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_a_first_start_fits_the_screen_it_opens_on(qtbot, window):
    """On a 1280 x 800 laptop the default 1400 x 900 window hid the Details panel and status bar."""
    screen = window.screen().availableGeometry()
    assert screen.width() < 1400 or screen.height() < 900, "the test screen must be smaller than the old default"
    assert window.width() <= screen.width() and window.height() <= screen.height(), (window.size(), screen)
    assert screen.contains(window.frameGeometry().topLeft())


def test_the_results_status_column_stays_readable_in_the_dark_theme(qtbot, window):
    app = QApplication.instance()
    before = QPalette(app.palette())
    apply_theme(app, "dark")
    try:
        open_and_wait(qtbot, window, RELEASE)
        tree = window.results.tree
        model = tree.model()
        for row in range(model.rowCount()):
            index = model.index(row, 2)
            background = model.data(index, Qt.ItemDataRole.BackgroundRole).color()
            foreground = model.data(index, Qt.ItemDataRole.ForegroundRole)
            text = foreground.color() if foreground is not None else tree.palette().color(QPalette.ColorRole.Text)
            assert contrast(text, background) >= 4.5, (model.data(index), text.name(), background.name())
    finally:
        apply_theme(app, "system")
        app.setPalette(before)


def strongest_contrast(widget) -> float:
    """The highest contrast between any pixel drawn for ``widget`` (over its parent, as on screen)
    and the most common (background) colour there."""
    image = widget.parentWidget().grab(widget.geometry()).toImage()
    counts: dict[int, int] = {}
    for y in range(0, image.height(), 2):
        for x in range(image.width()):
            rgb = image.pixel(x, y)
            counts[rgb] = counts.get(rgb, 0) + 1
    background = QColor(max(counts, key=counts.get))
    return max(contrast(QColor(rgb), background) for rgb in counts)


def test_the_banner_text_stays_readable_in_the_dark_theme(qtbot, settings):
    """The paused-at-a-gate banner kept its pale yellow but took the dark theme's white text."""
    app = QApplication.instance()
    before = QPalette(app.palette())
    apply_theme(app, "dark")  # as at start-up: the theme is applied before the window is built
    window = new_window(qtbot, settings)
    try:
        open_and_wait(qtbot, window, RELEASE)
        action(window, "run").trigger()
        wait_mode(qtbot, window, Mode.WAITING)
        qtbot.waitUntil(lambda: window.banner.isVisible() and "Paused" in window.banner.label.text(), timeout=5_000)
        assert strongest_contrast(window.banner.label) >= 4.5
        action(window, "new-simulation").trigger()
        settled(qtbot, window, RELEASE)
    finally:
        window.close()
        apply_theme(app, "system")
        app.setPalette(before)


def test_at_start_up_the_keyboard_drives_the_graph_not_the_legend(qtbot, window):
    """The first focus went to the legend's scroll strip: Down scrolled nothing instead of selecting a step."""
    from PySide6.QtTest import QTest

    open_and_wait(qtbot, window, RELEASE)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None, timeout=5_000)
    focused = QApplication.focusWidget()
    assert focused.objectName() != "legend-strip"
    QTest.keyClick(focused, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: window.session.selected == "build", timeout=5_000)


PARALLEL_SLEEP = """
apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {name: fan, version: 1.0.0}
spec:
  steps:
    - id: fan
      parallel:
        steps:
          - {id: slow-a, run: {uses: builtin:sleep, with: {seconds: 30}}}
          - {id: slow-b, run: {uses: builtin:sleep, with: {seconds: 30}}}
    - {id: after, run: {uses: builtin:noop}}
"""


def test_a_cancelled_run_shows_nothing_still_running(qtbot, window, tmp_path):
    """After Cancel Run the parallel block still said 'running' on the canvas and in the status bar."""
    pack = tmp_path / "fan.yaml"
    pack.write_text(PARALLEL_SLEEP)
    open_and_wait(qtbot, window, pack)
    action(window, "run").trigger()
    qtbot.waitUntil(lambda: window.session.scheduler is not None
                    and window.session.scheduler.states["slow-a"].status == "running", timeout=10_000)
    action(window, "cancel").trigger()
    wait_mode(qtbot, window, Mode.FINISHED)
    assert window.session.run.scheduler.status == "cancelled"
    still = {step: view.status for step, view in window.session.views.items() if view.status == "running"}
    assert still == {}
    assert "running" not in window.status.counts_label.text()
    assert window.scene.items_by_id["fan"].status != "running"


def test_in_a_1024_by_700_window_the_minimap_leaves_the_canvas_to_the_graph(qtbot, window):
    """At 1,024 x 700 the 150 x 240 minimap covered a quarter of the canvas, steps included."""
    from conftest import SBOM_PACK

    window.resize(1024, 700)
    qtbot.waitUntil(lambda: window.width() == 1024 and window.height() == 700, timeout=5_000)
    open_and_wait(qtbot, window, SBOM_PACK, str(SBOM_PACK.parent / "inputs.json"))
    action(window, "fit").trigger()
    viewport = window.view.viewport()
    qtbot.waitUntil(lambda: window.view.minimap.isVisible(), timeout=5_000)
    minimap = window.view.minimap
    assert minimap.width() * minimap.height() <= viewport.width() * viewport.height() / 8, (
        minimap.size(), viewport.size())
    assert viewport.rect().contains(minimap.geometry().translated(-viewport.x(), -viewport.y()))
