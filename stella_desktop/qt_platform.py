"""Before Qt starts: can it open a window here?  If not, one line saying what to install.

Without the system libraries its xcb platform plugin needs, Qt prints a paragraph that may
blame the wrong package (it names ``xcb-cursor0`` when ``libxcb-icccm4`` is what is missing)
and aborts the process.  :func:`platform_problem` finds out first, without importing Qt: it
loads the plugin the way Qt would (``ctypes``, so the libraries it needs are resolved), and
when that fails asks ``ldd`` for every library missing, named as Debian/Ubuntu packages.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

# The system libraries Qt's xcb plugin (and the Qt libraries it loads) need that a desktop may
# lack, with their Debian/Ubuntu packages.  README's set-up command installs all of these.
XCB_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
}
_SONAME = re.compile(r"^(?P<stem>lib[\w.+-]+?)\.so\.(?P<major>\d+)$")
_NOT_FOUND = re.compile(r"^\s*(\S+) => not found\s*$", re.M)
_DLERROR = re.compile(r"(\S+\.so[.\d]*): cannot open shared object file")


def requested_platform(environ: Mapping[str, str]) -> str:
    """The platform plugin Qt will try first: ``QT_QPA_PLATFORM``, else what the session uses."""
    first = environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if first:
        return first
    if not sys.platform.startswith("linux"):
        return ""
    if environ.get("XDG_SESSION_TYPE") == "wayland" and environ.get("WAYLAND_DISPLAY"):
        return "wayland"
    return "xcb"


def xcb_plugin(environ: Mapping[str, str]) -> Path | None:
    """The xcb platform plugin Qt would load, found without importing Qt."""
    import importlib.util
    folders = [Path(p) for p in environ.get("QT_QPA_PLATFORM_PLUGIN_PATH", "").split(os.pathsep) if p]
    spec = importlib.util.find_spec("PySide6")
    if spec is not None and spec.submodule_search_locations:
        folders += [Path(p) / "Qt" / "plugins" / "platforms" for p in spec.submodule_search_locations]
    return next((folder / "libqxcb.so" for folder in folders if (folder / "libqxcb.so").is_file()), None)


def missing_libraries(library: Path) -> list[str]:
    """Shared libraries ``library`` needs that cannot be found here (empty when it loads)."""
    import ctypes
    import subprocess
    try:
        ctypes.CDLL(str(library))
        return []
    except OSError as error:
        first = _DLERROR.search(str(error))
        try:
            listed = subprocess.run(["ldd", str(library)], capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            listed = ""
        missing = list(dict.fromkeys(_NOT_FOUND.findall(listed)))
        if not missing and first:
            missing = [first[1]]
        return missing or [str(error)]


def package_for(soname: str) -> str:
    """The Debian/Ubuntu package that ships ``soname`` (by table, else by Debian's naming rule)."""
    if soname in XCB_PACKAGES:
        return XCB_PACKAGES[soname]
    match = _SONAME.match(soname)
    if not match:
        return soname
    stem = match["stem"].lower()
    return f"{stem}-{match['major']}" if stem[-1].isdigit() else f"{stem}{match['major']}"


def platform_problem(environ: Mapping[str, str] = os.environ, plugin: Path | None = None) -> str | None:
    """One line saying why Qt cannot open a window here and what to do, or None if it can."""
    if requested_platform(environ) != "xcb":
        return None
    plugin = plugin or xcb_plugin(environ)
    if plugin is None:
        return None  # not a PySide6 layout we know: let Qt speak for itself
    missing = missing_libraries(plugin)
    qt_own = [name for name in missing if name.startswith(("libQt6", "libicu", "libpyside6", "libshiboken6"))]
    if qt_own:
        return (f"cannot open a window: Qt's own libraries are missing ({', '.join(qt_own)}); "
                "reinstall the app (pip install --force-reinstall PySide6-Essentials)")
    if missing:
        packages = " ".join(dict.fromkeys(package_for(name) for name in missing))
        return (f"cannot open a window: Qt's xcb platform plugin needs {', '.join(missing)}; "
                f"install them with: sudo apt-get install {packages}")
    display = environ.get("DISPLAY")
    if not display:
        return ("cannot open a window: no X display (DISPLAY is not set); start it from a desktop session, "
                "or set QT_QPA_PLATFORM=offscreen to run --self-test without one")
    if not display_reachable(display):
        return (f"cannot open a window: the X display '{display}' does not answer; check DISPLAY "
                "(and XAUTHORITY), or set QT_QPA_PLATFORM=offscreen to run --self-test without one")
    return None


def display_reachable(display: str) -> bool:
    """Whether an X server answers at ``display`` (libxcb's connect, as Qt's plugin would)."""
    import ctypes
    try:
        libxcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return True  # cannot tell: let Qt try
    libxcb.xcb_connect.restype = ctypes.c_void_p
    libxcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    libxcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    libxcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = libxcb.xcb_connect(display.encode(), None)
    try:
        return libxcb.xcb_connection_has_error(connection) == 0
    finally:
        libxcb.xcb_disconnect(connection)
