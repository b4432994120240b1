"""The Session: the one document behind every panel of the window.

It alone owns the current pack (path, text, plan hash), the inputs being
edited and whether they are valid, the preview shown, the run that is open
(driven or only looked at) and the mode (simulation, running, waiting at a
gate, finished).  Panels read it and subscribe to its signals; they never
reach into each other (Orange's canvas scene mirrors its ``Scheme`` the same
way).  It talks to runs only through :class:`~stella_desktop.run_control.RunControl`
(start / decide / cancel, plain-data signals back).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from core.errors import PackInvalid, Problem
from core.execution.scheduler import DecisionError
from core.execution.store import RunStore, RunStoreError
from core.inputs import read_inputs_file
from core.simulation import simulate
from stella_desktop import attention
from stella_desktop.plan_changes import PlanChanges
from stella_desktop.run_control import RunControl
from stella_desktop.session_state import InputsState, Mode, PackState, SessionState, derive_state, read_text
from stella_desktop.settings import AppSettings
from stella_desktop.step_status import StepView, from_preview
from stella_desktop.workers import SimulationResult, Simulator


class Session(QObject):
    pack_changed = Signal(object)        # PackState
    inputs_changed = Signal(object)      # InputsState
    graph_changed = Signal(bool)         # the graph (or its absence) changed; True: fit it in view
    statuses_changed = Signal(object)    # dict[str, StepView] of the steps that changed
    selection_changed = Signal(object)   # step id or None
    problems_changed = Signal()
    mode_changed = Signal(object)        # Mode
    log_reset = Signal(object)           # list of journal records now shown
    record_added = Signal(object)        # one journal record of the open run
    attention_changed = Signal(object)   # attention.Attention or None
    notice = Signal(str, str, bool)      # title, text, is an error
    status_message = Signal(str)
    busy_changed = Signal(bool)
    state_changed = Signal()             # anything the actions depend on
    source_requested = Signal(str, int, int)  # text, line, column
    runs_changed = Signal()

    def __init__(self, settings: AppSettings, parent=None):
        super().__init__(parent)
        self.settings = settings
        self.pack = PackState()
        self.inputs = InputsState()
        self.simulation: SimulationResult | None = None
        self.graph = None
        self.views: dict[str, StepView] = {}
        self.notes: dict[str, str] = {}
        self.selected: str | None = None
        self.mode = Mode.EMPTY
        self._opened = 0  # documents opened: the inputs form is rebuilt for each
        self._refit = False  # the next simulation's graph is fitted into view
        self.problems: list[Problem] = []
        self.problems_about_inputs = False
        self.attention: attention.Attention | None = None
        self._runs = RunControl(self)
        self._runs.record.connect(self._on_record)
        self._runs.views_changed.connect(self._on_views_changed)
        self._runs.stopped.connect(self._on_run_stopped)
        self._runs.store_failed.connect(lambda m: self.notice.emit("The run store failed", m, True))
        self._runs.status.connect(self.status_message)
        self._runs.connecting_changed.connect(self.state_changed)  # while connecting: Run off, Cancel Run gives up
        self.inputs_path: str | None = None  # the inputs file opened with the pack, if any
        self.changes = PlanChanges(self)  # what changed in the plan; watches the pack's files
        self._simulator = Simulator(self)
        self._simulator.finished.connect(self._on_simulated)
        self._simulator.busy_changed.connect(self.busy_changed)
        self._countdown = QTimer(self, interval=500, timeout=self._tick_countdowns)

    # -- reading -------------------------------------------------------------------------------
    @property
    def run(self):
        return self._runs.run

    @property
    def scheduler(self):
        return self._runs.scheduler

    @property
    def busy(self) -> bool:
        return self._simulator.busy

    @property
    def plan(self):
        if self.run is not None:
            return self.run.plan
        return self.simulation.plan if self.simulation else None

    @property
    def records(self) -> list[dict]:
        return self.run.handle.records if self.run is not None else []

    def store(self) -> RunStore:
        return RunStore(self.settings.store_folder)

    def state(self) -> SessionState:
        waiting = frozenset()
        if self.mode == Mode.WAITING:
            waiting = frozenset(kind for kind in ("approval", "policy") if self.waiting_gate(kind) is not None)
        return derive_state(self.mode, self.pack.path, self.inputs, self.simulation, waiting, self.run is not None,
                            self._runs.connecting)

    def waiting_gate(self, kind: str):
        """The gate step of ``kind`` ("approval" / "policy") the run waits at, or None."""
        return self._runs.waiting_gate(kind)

    # -- the pack and its inputs ---------------------------------------------------------------
    def open_pack(self, path: str, inputs_path: str | None = None, values: dict | None = None) -> None:
        if self.mode == Mode.RUNNING:
            self.notice.emit("A run is in progress", "Cancel the run before opening another pack.", False)
            return
        values = dict(values or {})
        if inputs_path:
            try:
                values = read_inputs_file(inputs_path)
            except PackInvalid as invalid:
                self.notice.emit("Inputs not loaded", "\n".join(str(p) for p in invalid.problems), True)
        path, self.inputs_path = str(Path(path).resolve()), inputs_path
        self.settings.add_recent(path)
        self.settings.remember_last(path, values)
        self._leave_run()
        self._opened += 1  # a new document: the form shows its values, even for the same pack
        self.inputs = InputsState(values=values)
        self.selected = None
        self._set_pack(PackState(path, read_text(path)))
        self._simulate(refit=True)

    def open_start_up(self, pack: str | None, inputs_path: str | None, sample: str, sample_inputs: str) -> None:
        """At start: the pack named on the command line, else the one open last time, else the sample."""
        last = self.settings.last_pack()
        if pack:
            self.open_pack(pack, inputs_path)
        elif last is not None:
            self.open_pack(last[0], values=last[1])
        else:
            self.open_pack(sample, sample_inputs)

    def simulate(self) -> None:
        """Re-read the pack and simulate it with the inputs being edited (leaves a run that is shown)."""
        if self.pack.path is None or self.mode == Mode.RUNNING:
            return
        if self.run is not None:
            self.new_simulation()
            return
        self._set_pack(PackState(self.pack.path, read_text(self.pack.path), self.pack.name, self.pack.version,
                                 self.pack.plan_hash, self.pack.description))
        self._simulate(refit=False)

    def edit_inputs(self, values: dict, errors: dict[str, str]) -> None:
        """The form changed: keep the values; simulate them unless the form itself has errors."""
        if self.inputs.read_only:
            return
        self.inputs = InputsState(self.inputs.specs, dict(values), dict(errors), False, self.inputs.key)
        self.settings.remember_last(self.pack.path, values)  # the next start reopens these inputs
        self.inputs_changed.emit(self.inputs)
        self.state_changed.emit()
        if not errors:
            self._simulate(refit=False)

    def _simulate(self, refit: bool) -> None:
        self._runs.give_up()  # a start still connecting would run inputs no longer those on screen
        self._refit = self._refit or refit
        self._simulator.request(self.pack.path, self.inputs.values)

    def _on_simulated(self, result: SimulationResult) -> None:
        if self.run is not None or result.manifest_path != self.pack.path:
            return  # the document moved on
        refit, self._refit = self._refit, False
        if result.error:
            self.notice.emit("Simulation failed", result.error, True)
            return
        self.simulation = result
        self.mode = Mode.SIMULATION
        specs = tuple(result.pack.manifest.spec.inputs) if result.pack else ()
        key = (result.manifest_path, self._opened, tuple(s.model_dump_json() for s in specs))
        self.inputs = InputsState(specs, self.inputs.values, result.input_errors(), False, key)
        self.inputs_changed.emit(self.inputs)
        self.problems = list(result.problems)
        self.problems_about_inputs = bool(result.problems) and len(result.input_problems) == len(result.problems)
        self.problems_changed.emit()
        plan, meta = result.plan, (result.pack.manifest.metadata if result.pack else None)
        self._set_pack(PackState(self.pack.path, self.pack.text, meta.name if meta else None,
                                 meta.version if meta else None, plan.plan_hash if result.runnable else None,
                                 meta.description if meta else None))
        if result.preview is None:
            self._show_graph(None, {}, {}, refit)
        else:
            views = from_preview(result.preview)
            notes = {step: "needs " + ", ".join(names) for step, names in result.affected.items()}
            grew = self.graph is None or set(result.graph.order()) - set(self.graph.order())
            self._show_graph(result.graph, views, notes, refit or bool(grew))
        self.mode_changed.emit(self.mode)  # the banner keeps its offer: leaving a run already cleared it
        self.state_changed.emit()

    # -- what is shown -------------------------------------------------------------------------
    def _set_pack(self, pack: PackState) -> None:
        self.pack = pack
        self.pack_changed.emit(pack)

    def _show_graph(self, graph, views: dict, notes: dict, refit: bool) -> None:
        self.graph, self.views, self.notes = graph, dict(views), dict(notes)
        if graph is None or self.selected not in graph:
            self.selected = None
        self.graph_changed.emit(refit)
        self.statuses_changed.emit(self.views)
        self.selection_changed.emit(self.selected)

    def select(self, step_id: str | None) -> None:
        if step_id is not None and (self.graph is None or step_id not in self.graph):
            return
        self.selected = step_id
        self.selection_changed.emit(step_id)

    def reveal_source(self, file: str, line: int, column: int) -> None:
        text = read_text(file) if file and Path(file).is_file() else self.pack.text
        self.source_requested.emit(text, line, column)

    def _set_attention(self, shown: attention.Attention | None) -> None:
        self.attention = shown
        self.attention_changed.emit(shown)

    def dismiss_attention(self) -> None:
        self._set_attention(None)

    # -- runs ---------------------------------------------------------------------------------
    def _registry(self):  # -> ExecutorRegistry
        from core.execution.executors import ExecutorRegistry  # the run machinery: imported when a run starts
        return ExecutorRegistry.default(allow_commands=self.settings.allow_commands)

    def start_run(self) -> None:
        """Run exactly the inputs of the preview on screen."""
        state = self.state()
        if self.mode != Mode.SIMULATION or not state.runnable:
            if state.why_not_runnable or self.mode != Mode.SIMULATION:
                self.notice.emit("Cannot run", state.why_not_runnable or f"The run is {self.mode.value}.", True)
            return
        self._runs.start_new(self.store(), self.pack.path, self.simulation.inputs, self._registry(),
                             self.settings.workers, self.settings.scheduler_for_runs(),
                             lambda run: self._enter_run(run, Mode.RUNNING), self._run_not_started)

    def _run_not_started(self, error: Exception) -> None:
        if isinstance(error, PackInvalid):
            self.problems, self.problems_about_inputs = list(error.problems), False
            self.problems_changed.emit()
            self.notice.emit("The run cannot start", attention.cannot_start(error.problems), True)
        else:  # the store, or the Dask cluster in Preferences
            self.notice.emit("The run store failed" if isinstance(error, RunStoreError) else "The run cannot start",
                             str(error), True)

    def open_run(self, run_id: str) -> None:
        self._with_run("cannot be opened", lambda ready, refused: self._runs.view_only(
            self.store(), run_id, ready, refused), Mode.FINISHED)

    def resume_run(self, run_id: str) -> None:
        self._with_run("cannot be resumed", lambda ready, refused: self._runs.resume(
            self.store(), run_id, self._registry(), self.settings.workers, self.settings.scheduler_for_runs(),
            ready, refused), Mode.RUNNING)

    def _with_run(self, failed: str, opening, mode: Mode) -> None:
        if self.mode == Mode.RUNNING:
            self.notice.emit("A run is in progress", "Cancel it before opening another run.", False)
            return

        def ready(run) -> None:
            self._enter_run(run, mode)
            if mode == Mode.FINISHED:
                self._set_attention(attention.shown_run(run))

        def refused(error: Exception) -> None:
            self.notice.emit(f"This run {failed}", attention.refusal(error), True)
        opening(ready, refused)

    def _enter_run(self, run, mode: Mode) -> None:
        """The run becomes the document: its pack, inputs (read-only), preview, graph and log."""
        self._simulator.forget()
        path = run.header["manifestPath"]
        preview = simulate(run.plan, run.graph)
        self.simulation = SimulationResult(0, path, pack=run.pack, plan=run.plan, graph=run.graph,
                                           preview=preview, inputs=dict(run.plan.inputs))
        meta = run.pack.manifest.metadata
        self._set_pack(PackState(path, read_text(path), meta.name, meta.version, run.plan.plan_hash,
                                 meta.description))
        specs = tuple(run.pack.manifest.spec.inputs)
        self.inputs = InputsState(specs, dict(run.plan.inputs), {}, True, (path, run.run_id))
        self.inputs_changed.emit(self.inputs)
        self.problems, self.problems_about_inputs = [], False
        self.problems_changed.emit()
        self.mode = mode
        self._set_attention(None)
        self.log_reset.emit(list(run.handle.records))
        self._show_graph(run.graph, self._runs.views(), {}, True)
        if mode == Mode.RUNNING:
            self._countdown.start()
        self.runs_changed.emit()
        self.mode_changed.emit(mode)
        self.state_changed.emit()

    def new_simulation(self) -> None:
        """Leave the open run (it stays in the store) and edit its pack's inputs again."""
        if self.run is None or self.mode == Mode.RUNNING:
            return
        values = {k: v for k, v in self.run.plan.inputs.items() if v is not None}
        self._leave_run()
        self._opened += 1
        self.inputs = InputsState(values=values)
        self._simulate(refit=True)

    def _leave_run(self) -> None:
        self._countdown.stop()
        self._runs.release()
        if self.attention is not None:
            self._set_attention(None)
        self.log_reset.emit([])

    def cancel_run(self) -> None:
        self._runs.cancel()

    def decide(self, kind: str, yes: bool, by: str, reason: str | None) -> None:
        step = self.waiting_gate(kind)
        if step is None:
            self.notice.emit("Nothing to decide", attention.nothing_to_decide(kind), False)
            return
        self.settings.decided_by = by
        shown, self.mode = self.attention, Mode.RUNNING  # deciding may pause the run again at once
        self._set_attention(None)
        self._countdown.start()
        self.mode_changed.emit(self.mode)
        try:
            if kind == "approval":
                self._runs.approve(step.approval_id, by, reason, yes)
            else:
                self._runs.decide_policy(step.id, yes, by, reason)
        except (DecisionError, RunStoreError) as error:
            self._countdown.stop()
            self.mode = Mode.WAITING
            self._set_attention(shown)
            self.mode_changed.emit(self.mode)
            self.notice.emit("Decision not recorded", str(error), True)
        self.state_changed.emit()

    def _on_record(self, record: dict) -> None:
        self.record_added.emit(record)
        if record["type"] == "expand":
            run = self.run
            self._show_graph(run.graph, self._runs.views(), {}, True)

    def _on_views_changed(self, changed: dict) -> None:
        self.views.update(changed)
        self.statuses_changed.emit(changed)

    def _tick_countdowns(self) -> None:
        waiting = {k: v for k, v in self.views.items() if v.status == "retry-waiting"}
        if waiting:
            self.statuses_changed.emit(waiting)

    def _on_run_stopped(self, status: str) -> None:
        self._countdown.stop()
        self.views = self._runs.views()
        self.statuses_changed.emit(self.views)
        self.mode = Mode.WAITING if status == "waiting" else Mode.FINISHED
        run = self.run
        if status == "waiting":
            kind = "approval" if self.waiting_gate("approval") is not None else "policy"
            step = self.waiting_gate(kind)
            self._set_attention(attention.waiting(step, kind))
            self.select(step.id)
        else:
            self._set_attention(attention.stopped(run, status))
        self.status_message.emit(f"Run {status}")
        self.runs_changed.emit()
        self.mode_changed.emit(self.mode)
        self.state_changed.emit()

    def offer_resume(self) -> None:
        """After a crash, a close mid-run or a quit at a gate: offer the newest unfinished run."""
        offer = attention.resume_offer(self.store().list())
        if offer is not None:
            self._set_attention(offer)

    def unfinished_run_warning(self) -> str | None:
        """What closing the window now would leave behind, or None when nothing is at stake."""
        return attention.closing_warning(self.mode.value, self.run)

    def close(self) -> None:
        self._countdown.stop()
        self._runs.stop_for_close()
        self._simulator.forget()
        self.changes.watcher.stop()  # a closed window re-simulated the pack on every later save of it

