"""Simulation off the GUI thread: load, plan, graph, and simulate in a QRunnable (the canvas lays out what it shows).

The worker returns a :class:`SimulationResult` (plain data) through a queued
signal; the window ignores results of requests that were superseded.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QRunnable, Signal

from core.errors import PackInvalid, Problem
from core.graph import ExecutionGraph
from core.manifest import Pack, load_pack
from core.plan import Plan, build_plan
from core.simulation import SimulationPreview, simulate


@dataclass
class SimulationRequest:
    serial: int
    manifest_path: str
    inputs: dict
    inputs_label: str = "inputs"


@dataclass
class SimulationResult:
    serial: int
    manifest_path: str
    pack: Pack | None = None
    plan: Plan | None = None
    graph: ExecutionGraph | None = None
    preview: SimulationPreview | None = None
    problems: list[Problem] = field(default_factory=list)
    input_problems: list[Problem] = field(default_factory=list)
    error: str | None = None


def run_simulation(request: SimulationRequest) -> SimulationResult:
    result = SimulationResult(request.serial, request.manifest_path)
    try:
        result.pack = load_pack(request.manifest_path)
    except PackInvalid as invalid:
        result.problems = invalid.problems
        return result
    try:
        result.plan = build_plan(result.pack, request.inputs, request.inputs_label)
    except PackInvalid as invalid:
        label = request.inputs_label
        result.input_problems = [p for p in invalid.problems if p.file == label]
        result.problems = invalid.problems
        return result
    result.graph = ExecutionGraph.from_plan(result.plan)
    result.preview = simulate(result.plan, result.graph)
    return result


class _Signals(QObject):
    done = Signal(object)


class SimulationTask(QRunnable):
    def __init__(self, request: SimulationRequest):
        super().__init__()
        self.request = request
        self.signals = _Signals()

    def run(self) -> None:
        try:
            result = run_simulation(self.request)
        except Exception as error:  # never a traceback in the user's face: say what broke
            result = SimulationResult(self.request.serial, self.request.manifest_path,
                                      error=f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=3)}")
        self.signals.done.emit(result)
