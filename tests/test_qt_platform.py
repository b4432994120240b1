"""When Qt's platform plugin cannot load, the app says which packages to install and exits 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from stella_desktop.qt_platform import (
    display_reachable, package_for, platform_problem, requested_platform, xcb_plugin,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the xcb plugin is Linux's")

REAL = "libxcb-cursor.so.0"
FAKE = "libxcb-qqqqqq.so.0"  # same length, so the patched plugin stays a valid ELF file


@pytest.fixture
def broken_plugin(tmp_path) -> Path:
    """A copy of Qt's xcb plugin that needs a library no system has.

    Laid out like PySide6's Qt folder (its RUNPATH is $ORIGIN/../../lib), so only the system
    libraries can be missing, exactly as on a desktop without the right packages.
    """
    real = xcb_plugin({})
    if real is None:
        pytest.skip("PySide6 has no xcb plugin here")
    platforms = tmp_path / "Qt" / "plugins" / "platforms"
    platforms.mkdir(parents=True)
    (tmp_path / "Qt" / "lib").symlink_to(real.parent.parent.parent / "lib")
    data = real.read_bytes()
    assert data.count(REAL.encode() + b"\0") == 1
    (platforms / "libqxcb.so").write_bytes(data.replace(REAL.encode() + b"\0", FAKE.encode() + b"\0"))
    return platforms / "libqxcb.so"


def test_the_platform_qt_will_try_first():
    assert requested_platform({"QT_QPA_PLATFORM": "offscreen"}) == "offscreen"
    assert requested_platform({"QT_QPA_PLATFORM": "xcb:dpi=96;wayland"}) == "xcb"
    assert requested_platform({"DISPLAY": ":0"}) == "xcb"
    assert requested_platform({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0"}) == "wayland"


def test_libraries_are_named_as_debian_packages():
    assert package_for("libxcb-icccm.so.4") == "libxcb-icccm4"
    assert package_for("libxkbcommon-x11.so.0") == "libxkbcommon-x11-0"
    assert package_for("libxcb-qqqqqq.so.0") == "libxcb-qqqqqq0"  # Debian's rule: name + major
    assert package_for("libfoo2.so.3") == "libfoo2-3"  # ... with a dash after a digit


def test_offscreen_and_wayland_are_not_checked(broken_plugin):
    assert platform_problem({"QT_QPA_PLATFORM": "offscreen"}, broken_plugin) is None
    assert platform_problem({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "w-0"}, broken_plugin) is None


def test_a_missing_library_is_named_with_its_package(broken_plugin):
    problem = platform_problem({"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":0"}, broken_plugin)
    assert problem is not None and "\n" not in problem
    assert FAKE in problem and "sudo apt-get install" in problem
    assert "libxcb-qqqqqq0" in problem.split("sudo apt-get install", 1)[1].split()


def test_no_display_is_one_line_too():
    real = xcb_plugin({})
    if real is None:
        pytest.skip("PySide6 has no xcb plugin here")
    loads = real.parent / "libqoffscreen.so"  # a plugin that loads everywhere stands in for xcb's
    problem = platform_problem({"QT_QPA_PLATFORM": "xcb"}, loads)
    assert "DISPLAY is not set" in problem and "\n" not in problem


def test_a_display_nobody_answers_is_named():
    real = xcb_plugin({})
    if real is None:
        pytest.skip("PySide6 has no xcb plugin here")
    loads = real.parent / "libqoffscreen.so"
    silent = ":7391"  # no X server listens there
    assert not display_reachable(silent)
    problem = platform_problem({"QT_QPA_PLATFORM": "xcb", "DISPLAY": silent}, loads)
    assert f"the X display '{silent}' does not answer" in problem and "\n" not in problem


def test_the_app_prints_one_line_and_exits_2_instead_of_aborting(broken_plugin):
    environment = {key: value for key, value in os.environ.items() if not key.startswith("QT_")}
    environment.update(QT_QPA_PLATFORM="xcb", DISPLAY=":0", PYTHONPATH=str(REPO),
                       QT_QPA_PLATFORM_PLUGIN_PATH=str(broken_plugin.parent))
    result = subprocess.run([sys.executable, "-m", "stella_desktop.app", "--self-test"], env=environment,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("stella-desktop: cannot open a window: "), result.stderr
    assert FAKE in lines[0] and "libxcb-qqqqqq0" in lines[0]
