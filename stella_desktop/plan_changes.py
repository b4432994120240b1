"""What changed in the plan: since the previous preview, or against a pack, preview or run compared with.

Owned by the :class:`~stella_desktop.session.Session` (like its run control)
and the only writer of the comparison the window shows.  It watches the open
pack's manifest, inputs file and schema files; a save in an editor re-reads
and re-simulates the pack (debounced, through the session).  Each new
preview of the same pack is compared with the previous one, or with the
side the user chose in Compare With… until that comparison is cleared, and
``changed`` carries the :class:`~core.diff.PlanDiff` (None: nothing to show).
"""

from __future__ import annotations

import os

from PySide6.QtCore import QObject, QTimer, Signal

from core.diff import PlanDiff, PlanSide, diff_plans, side_from_preview
from core.diff_sources import load_side
from stella_desktop.pack_watcher import PackWatcher


class PlanChanges(QObject):
    changed = Signal(object)  # PlanDiff or None

    def __init__(self, session):
        super().__init__(session)
        self._session = session
        self._pack: str | None = None
        self._previous: _LaterSide | None = None
        self._pinned: PlanSide | None = None
        self.diff: PlanDiff | None = None
        self.watcher = PackWatcher(self)
        self.watcher.changed.connect(self._saved)
        session.graph_changed.connect(self._previewed)

    @property
    def title(self) -> str:
        if self.diff is None:
            return ""
        return f"Compared with {self._pinned.source}" if self._pinned else "Since the previous preview"

    def compare_with(self, source: str) -> None:
        """Compare the preview shown with a manifest, a preview JSON file or a run id (raises
        DiffSourceError or PackInvalid, which the window reports)."""
        self._pinned = load_side(source, None, self._session.settings.store_folder)
        current = self._current()
        self._show(diff_plans(self._pinned, current.side()) if current is not None else None)

    def clear_comparison(self) -> None:
        self._pinned = None
        self._show(None)

    def _current(self) -> _LaterSide | None:
        session = self._session
        if session.run is not None or session.simulation is None or session.simulation.preview is None:
            return None
        if not session.simulation.runnable:
            return None  # a display-only plan (inputs incomplete) is not compared
        return _LaterSide(session.simulation.preview, session.pack.path or "")

    def _previewed(self, _refit: bool = False) -> None:
        session = self._session
        if session.pack.path != self._pack:  # another document: start afresh
            self._pack, self._previous, self._pinned = session.pack.path, None, None
        self._watch()
        current = self._current()
        if current is None:
            self._show(None)
            return
        base = self._pinned or (self._previous.side() if self._previous is not None else None)
        self._previous = current
        if base is None:  # nothing to compare with yet: the next preview is compared with this one
            QTimer.singleShot(0, current.side)
            self._show(None)
            return
        self._show(diff_plans(base, current.side()))

    def _show(self, diff: PlanDiff | None) -> None:
        self.diff = diff
        self.changed.emit(diff)

    def _watch(self) -> None:
        session = self._session
        paths = [session.pack.path, session.inputs_path]
        simulation = session.simulation
        if simulation is not None and simulation.pack is not None and session.pack.path:
            folder = os.path.dirname(session.pack.path)
            paths += [os.path.join(folder, spec.schema_path) for spec in simulation.pack.manifest.spec.inputs
                      if spec.schema_path]
        paths = [p for p in paths if p]
        if sorted(os.path.abspath(p) for p in paths) != self.watcher.files:
            self.watcher.watch(paths)

    def _saved(self, paths: list[str]) -> None:
        """Watched files were saved: read them again and re-simulate, unless a run is open."""
        session = self._session
        if session.run is not None or session.pack.path is None:
            session.status_message.emit("The pack changed on disk; it is read again when you return to "
                                        "a simulation.")
            return
        inputs_path = session.inputs_path
        if inputs_path and os.path.abspath(inputs_path) in paths and os.path.isfile(inputs_path):
            session.open_pack(session.pack.path, inputs_path)  # the form shows the file's new values
        else:
            session.simulate()


class _LaterSide:
    """A preview's side of a comparison, made when a comparison needs it or once the window is idle
    (then the preview is let go): 10,000 steps take ~70 ms that showing a new pack need not wait for."""

    def __init__(self, preview, source: str):
        self._preview, self._source, self._side = preview, source, None

    def side(self) -> PlanSide:
        if self._side is None:
            self._side = side_from_preview(self._preview, self._source)
            self._preview = None
        return self._side
