"""``stella-desktop [PACK] [--inputs JSON]``: the desktop application."""

from __future__ import annotations

import argparse
import gc
import sys

from stella_desktop import __version__
from stella_desktop.bundled import DEFAULT_INPUTS, DEFAULT_PACK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stella-desktop",
                                     description="See what a Task Pack will do before it does it, then run it.")
    parser.add_argument("pack", nargs="?",
                        help="a Task Pack manifest to open (default: the pack open last time, else the bundled sample)")
    parser.add_argument("--inputs", metavar="JSON", help="input values for the pack")
    parser.add_argument("--version", action="version", version=f"stella-desktop {__version__}")
    parser.add_argument("--self-test", action="store_true",
                        help="open the bundled sample, simulate it, show its graph, then exit (0 if it worked)")
    return parser


def _import_core_before_qt() -> None:
    """Import the pure-Python core before PySide6.

    Once PySide6 is loaded, its import hook reads and compiles the source of
    every module imported after it (to look for PySide use); importing the
    core first saves that work (~0.4 s of the app's start, benchmarks/gui.py).  The same
    holds for what the window needs at its first paint and would otherwise import after Qt:
    the run store's default folder (platformdirs) and the UTF-8-with-BOM codec files are read with.
    Only what the launch uses: the run machinery (``core.execution.run``, the driver, the
    executors) is imported when a run is started or opened (tests/test_cli_imports.py).
    """
    import encodings.utf_8_sig  # noqa: F401
    import platformdirs  # noqa: F401

    # The bundled sample's input has a schema, which its inputs meet: jsonschema_rs says so
    # (core.schema_fast); jsonschema itself is imported only to word a problem.
    import jsonschema_rs  # noqa: F401

    from stella_desktop.startup import without_pydantic_plugins
    with without_pydantic_plugins():  # we use none; skips the entry-point scan
        _import_core()


def _import_core() -> None:
    import core.simulation  # noqa: F401  (first: the notes of benchmarks/README.md name it, not a module it pulls)
    import core.layout  # noqa: F401
    import core.forecast.compare  # noqa: F401  (the forecast of the preview, with the store's history)
    import core.forecast.history  # noqa: F401
    import core.forecast.spans  # noqa: F401
    import core.forecast.assumptions_file  # noqa: F401
    import core.execution.preflight  # noqa: F401  (Details: which secrets are set)
    import core.diff_sources  # noqa: F401  (the Changes dock)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from stella_desktop.qt_platform import platform_problem
    problem = platform_problem()
    if problem:  # instead of Qt's abort, one line saying what to install
        print(f"stella-desktop: {problem}", file=sys.stderr)
        return 2
    collecting = gc.isenabled()
    gc.disable()  # until the window is up and the start-up pack is being opened: see _resume_gc
    try:
        app, window = _open_window(args)
    except BaseException:
        if collecting:
            gc.enable()
        raise
    from PySide6.QtCore import QTimer
    QTimer.singleShot(0, lambda: _resume_gc(collecting))  # queued after open_start_up
    if args.self_test:
        return _self_test(app, window)
    QTimer.singleShot(0, window.offer_resume)
    return app.exec()


def _resume_gc(collecting: bool) -> None:
    """End the start-up's pause of the cyclic garbage collector.

    The start imports a few hundred modules and builds the window: hundreds of
    thousands of objects that all stay alive, which the collector would traverse
    again and again for nothing (a fifth of the launch's CPU time here,
    benchmarks/README.md).  They are frozen (moved out of the collector's sight for
    good, ``gc.freeze``) and collection resumes for what the app does next.
    """
    if collecting:
        gc.freeze()
        gc.enable()


def _open_window(args):
    """Import what the window needs, show it and queue the start-up pack's opening."""
    _import_core_before_qt()
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from stella_desktop.bundled import RESOURCES_DIR
    from stella_desktop.dialogs import apply_theme
    from stella_desktop.main_window import MainWindow
    from stella_desktop.settings import AppSettings

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Stella Desktop")
    app.setOrganizationName("Stella")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("io.stellaops.StellaDesktop")
    icon = RESOURCES_DIR / "icons" / "stella-desktop.svg"
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    settings = AppSettings()
    apply_theme(app, settings.theme)
    window = MainWindow(settings)
    window.show()
    if args.self_test:  # always the bundled sample, whatever was open last time
        args.pack, args.inputs = args.pack or str(DEFAULT_PACK), args.inputs or str(DEFAULT_INPUTS)
    QTimer.singleShot(0, lambda: window.session.open_start_up(args.pack, args.inputs, str(DEFAULT_PACK),
                                                              str(DEFAULT_INPUTS)))
    return app, window


def _self_test(app, window) -> int:
    """Wait for the sample's graph, paint it, then quit: proves Qt, its plugins and the core all load."""
    import time
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        app.processEvents()
        if window.session.simulation is not None and window.scene.items_by_id:
            views = window.scene.views()
            image = (views[0] if views else window).grab().toImage()  # paints the graph
            colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
            if len(colours) < 3:
                break
            print(f"self-test passed: {len(window.scene.items_by_id)} steps drawn in {len(colours)} colours")
            window.close()
            return 0
        time.sleep(0.01)
    print("self-test failed: the sample graph was not shown", file=sys.stderr)
    return 1


def entry_point() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
