"""Watch the open pack's files (manifest, inputs file, schema files) and say when they changed.

Editors save in different ways: in place, or by writing a new file and
renaming it over the old one (which drops the file from a
``QFileSystemWatcher``).  So the folders are watched too, files are re-added
after each event, and bursts of events are merged into one ``changed``
signal after a short quiet period.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

DEBOUNCE_MS = 300


class PackWatcher(QObject):
    changed = Signal(list)  # the watched files that were saved (debounced)

    def __init__(self, parent=None, debounce_ms: int = DEBOUNCE_MS):
        super().__init__(parent)
        self._watcher = QFileSystemWatcher(self)
        self._watcher.fileChanged.connect(self._touched)
        self._watcher.directoryChanged.connect(self._touched)
        self._files: list[str] = []
        self._stamps: dict[str, tuple] = {}
        self._quiet = QTimer(self)
        self._quiet.setSingleShot(True)
        self._quiet.setInterval(debounce_ms)
        self._quiet.timeout.connect(self._settled)

    @property
    def files(self) -> list[str]:
        return list(self._files)

    def watch(self, paths) -> None:
        """Watch exactly these files (and their folders); an empty list stops watching."""
        self.stop()
        self._files = sorted({os.path.abspath(p) for p in paths if p})
        folders = sorted({os.path.dirname(p) for p in self._files})
        existing = [p for p in self._files if os.path.isfile(p)]
        if existing:
            self._watcher.addPaths(existing)
        if folders:
            self._watcher.addPaths([f for f in folders if os.path.isdir(f)])
        self._stamps = {p: _stamp(p) for p in self._files}

    def stop(self) -> None:
        self._quiet.stop()
        watched = self._watcher.files() + self._watcher.directories()
        if watched:
            self._watcher.removePaths(watched)
        self._files, self._stamps = [], {}

    def _touched(self, _path: str) -> None:
        self._quiet.start()  # restart: wait until the editor has finished saving

    def _settled(self) -> None:
        stamps = {p: _stamp(p) for p in self._files}
        gone = [p for p in self._files if os.path.isfile(p) and p not in self._watcher.files()]
        if gone:  # replaced by a rename: watch the new file
            self._watcher.addPaths(gone)
        saved = [p for p in self._files if stamps[p] != self._stamps.get(p)]
        self._stamps = stamps
        if saved:
            self.changed.emit(saved)


def _stamp(path: str) -> tuple:
    try:
        status = os.stat(path)
    except OSError:
        return ()
    return (status.st_mtime_ns, status.st_size, status.st_ino)
