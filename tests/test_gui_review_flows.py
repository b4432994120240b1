"""Defects found using the app as a new user under Xvfb, as flows through the real MainWindow."""

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from test_session_flows import (  # noqa: F401  (fixtures)
    RELEASE, action, new_window, nothing_left_behind, open_and_wait, settings, window,
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
