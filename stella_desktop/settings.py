"""The app's preferences, stored with QSettings (typed accessors, sensible defaults)."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings

from core.execution.store import default_root
from core.layout import DEFAULT_COLLAPSE_OVER

MAX_RECENT = 10


class AppSettings:
    def __init__(self, settings: QSettings | None = None):
        self.qt = settings or QSettings("Stella", "Stella Desktop")

    def _get(self, key: str, default, kind=str):
        value = self.qt.value(key, default)
        if kind is bool:
            return value in (True, "true", "1", 1)
        if kind is int:
            try:
                return int(value)
            except (TypeError, ValueError):
                return default
        return value

    @property
    def store_folder(self) -> Path:
        return Path(self._get("run/store", str(default_root())))

    @store_folder.setter
    def store_folder(self, value: Path) -> None:
        self.qt.setValue("run/store", str(value))

    @property
    def workers(self) -> int:
        return max(1, self._get("run/workers", 4, int))

    @workers.setter
    def workers(self, value: int) -> None:
        self.qt.setValue("run/workers", int(value))

    @property
    def backend(self) -> str:
        """Where a run's steps execute: "threads" (this computer) or "dask" (the scheduler below)."""
        value = self._get("run/backend", "threads")
        return value if value in ("threads", "dask") else "threads"

    @backend.setter
    def backend(self, value: str) -> None:
        self.qt.setValue("run/backend", value)

    @property
    def dask_scheduler(self) -> str:
        return self._get("run/daskScheduler", "")

    @dask_scheduler.setter
    def dask_scheduler(self, value: str) -> None:
        self.qt.setValue("run/daskScheduler", value.strip())

    def scheduler_for_runs(self) -> str | None:
        """The Dask scheduler address runs use, or None to run steps on this computer."""
        return self.dask_scheduler or None if self.backend == "dask" else None

    @property
    def allow_commands(self) -> bool:
        return self._get("run/allowCommands", False, bool)

    @allow_commands.setter
    def allow_commands(self, value: bool) -> None:
        self.qt.setValue("run/allowCommands", bool(value))

    @property
    def theme(self) -> str:
        return self._get("ui/theme", "system")

    @theme.setter
    def theme(self, value: str) -> None:
        self.qt.setValue("ui/theme", value)

    @property
    def collapse_over(self) -> int:
        """Blocks with more children than this start collapsed on the canvas."""
        return max(1, self._get("canvas/collapseOver", DEFAULT_COLLAPSE_OVER, int))

    @collapse_over.setter
    def collapse_over(self, value: int) -> None:
        self.qt.setValue("canvas/collapseOver", int(value))

    @property
    def decided_by(self) -> str:
        return self._get("run/decidedBy", os.environ.get("USER", "") or os.environ.get("USERNAME", ""))

    @decided_by.setter
    def decided_by(self, value: str) -> None:
        self.qt.setValue("run/decidedBy", value)

    def recent_files(self) -> list[str]:
        value = self.qt.value("files/recent", [])
        files = [value] if isinstance(value, str) else list(value or [])
        return [f for f in files if Path(f).is_file()][:MAX_RECENT]

    def add_recent(self, path: str) -> None:
        path = str(Path(path).resolve())
        files = [path] + [f for f in self.recent_files() if f != path]
        self.qt.setValue("files/recent", files[:MAX_RECENT])

    def remember_last(self, path: str, inputs: dict) -> None:
        """The pack open now and the inputs it was opened with: the next start reopens them."""
        import json
        self.qt.setValue("files/last", str(path))
        self.qt.setValue("files/lastInputs", json.dumps(inputs, ensure_ascii=False))

    def last_pack(self) -> tuple[str, dict] | None:
        """(manifest path, input values) of the pack open when the app was last used, if it still exists."""
        import json
        path = self.qt.value("files/last")
        if not path or not Path(str(path)).is_file():
            return None
        try:
            inputs = json.loads(self.qt.value("files/lastInputs", "{}") or "{}")
        except (TypeError, ValueError):
            inputs = {}
        return str(path), inputs if isinstance(inputs, dict) else {}
