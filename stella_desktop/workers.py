"""Simulation off the GUI thread: load, plan, graph, and simulate in a QRunnable (the canvas lays out what it shows).

The worker returns a :class:`SimulationResult` (plain data) through a queued
signal; the :class:`Simulator` drops results of requests that were superseded.
When only the inputs are wrong, the result still carries a graph (planned
with stand-ins for those inputs) and the steps that read them, so the window
keeps the graph and marks what the inputs affect.
"""

from __future__ import annotations

import json
import re
import traceback
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from core.errors import PackInvalid, Problem
from core.gc_pause import built_to_keep
from core.graph import ExecutionGraph
from core.manifest import Pack, load_pack
from core.plan import Plan, build_plan
from core.plan.planner import plan_with_stand_ins
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
    inputs: dict = field(default_factory=dict)
    """The input values this simulation used (a run started from it uses exactly these)."""
    affected: dict[str, list[str]] = field(default_factory=dict)
    """While inputs are incomplete: step id -> the problem inputs it reads."""

    @property
    def runnable(self) -> bool:
        """A real preview: the pack is valid and so are its inputs."""
        return self.preview is not None and not self.input_problems

    def input_errors(self) -> dict[str, str]:
        """Input name -> what is wrong with its value, for the form's inline errors."""
        errors = {}
        for problem in self.input_problems:
            name = input_name(problem)
            if name:
                errors[name] = problem.message.split(": ", 1)[-1]
        return errors

    @property
    def inputs_incomplete(self) -> bool:
        return self.preview is not None and bool(self.input_problems)


@built_to_keep
def run_simulation(request: SimulationRequest) -> SimulationResult:
    """Read, check, plan and simulate.  The collector stays paused between the phases too (a 10k
    pack's read left ~300,000 young objects for the next allocation's collection to traverse,
    0.15-0.25 s), and the result is frozen before it runs again (see :func:`built_to_keep`)."""
    result = SimulationResult(request.serial, request.manifest_path, inputs=dict(request.inputs))
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
        if len(result.input_problems) != len(result.problems):
            return result
        names = {name for name in map(input_name, result.input_problems) if name}
        try:
            result.plan = plan_with_stand_ins(result.pack, request.inputs, names)
        except PackInvalid:
            result.plan = None
            return result
        result.affected = _steps_reading(result.pack, result.plan, names)
    result.graph = ExecutionGraph.from_plan(result.plan)
    result.preview = simulate(result.plan, result.graph)
    return result


_INPUT = re.compile(r"^input '([^']+)'")


def input_name(problem: Problem) -> str | None:
    """The input a problem is about ("input 'x': ..."), for inline errors and marked steps."""
    match = _INPUT.match(problem.message)
    return match.group(1) if match else None


def _steps_reading(pack: Pack, plan: Plan, names: set[str]) -> dict[str, list[str]]:
    """Planned step id -> which of ``names`` its own fields (not its children's) read."""
    reads: dict[str, list[str]] = {}
    for step in pack.manifest.walk_steps():
        own = json.dumps(step.model_dump(by_alias=True, exclude={"parallel": {"steps"}, "map": {"step"}}),
                         default=str)
        found = sorted(n for n in names if re.search(rf"inputs\.{re.escape(n)}\b", own))
        if found:
            reads[step.id] = found
    affected = {}
    for top in plan.steps:
        for step in top.walk():
            if step.template_id in reads:
                affected[step.id] = reads[step.template_id]
    return affected


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


class Simulator(QObject):
    """Runs one simulation at a time on the global pool; only the newest request's result is reported."""

    finished = Signal(object)  # SimulationResult of the newest request
    busy_changed = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._serial = 0
        self._tasks: dict[int, SimulationTask] = {}

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    def request(self, manifest_path: str, inputs: dict, label: str = "inputs") -> int:
        self._serial += 1
        task = SimulationTask(SimulationRequest(self._serial, manifest_path, dict(inputs), label))
        task.signals.done.connect(self._done)
        if not self._tasks:
            self.busy_changed.emit(True)
        self._tasks[self._serial] = task
        QThreadPool.globalInstance().start(task)
        return self._serial

    def _done(self, result: SimulationResult) -> None:
        self._tasks.pop(result.serial, None)
        if not self._tasks:
            self.busy_changed.emit(False)
        if result.serial == self._serial:
            self.finished.emit(result)

    def forget(self) -> None:
        """Drop whatever is on its way (the document moved on: a run was opened)."""
        self._serial += 1
