"""Every action's enabled state as one function of the session's state (tested as a table).

Actions that do not depend on the session (open, fit, preferences, quit...)
are always enabled and not listed.  A disabled action says why in its tooltip.
"""

from __future__ import annotations

from stella_desktop.session_state import Mode, SessionState

STATEFUL = ("reload", "simulate", "new-simulation", "run", "cancel", "approve", "reject", "allow", "deny",
            "export-preview", "export-graph", "compare", "clear-comparison",
            "export-report")


def action_states(state: SessionState) -> dict[str, tuple[bool, str]]:
    """action name -> (enabled, why not when disabled)."""
    mode = state.mode
    has_pack = mode != Mode.EMPTY
    running = mode == Mode.RUNNING
    waiting = mode == Mode.WAITING
    open_run = state.has_run and not running
    decide_why = "The run is not waiting at a gate." if not waiting else ""
    states = {
        "reload": (has_pack and not running and not waiting,
                   "A run is open: use New Simulation to edit again." if waiting or running else "Open a pack first."),
        "simulate": (has_pack and not running and not waiting,
                     "A run is open: use New Simulation to edit again." if waiting or running
                     else "Open a pack first."),
        "new-simulation": (open_run, "A run is in progress: cancel it first." if running else "No run is open."),
        "run": (mode == Mode.SIMULATION and state.runnable,
                state.why_not_runnable if mode in (Mode.SIMULATION, Mode.EMPTY) and not state.runnable
                else f"A run is open ({mode.value})."),
        # a run paused at a gate is cancelled too, and a start still connecting to its Dask scheduler
        "cancel": (running or waiting or state.connecting, "No run is in progress."),
        "export-preview": (state.has_preview, "No valid preview is shown: the pack or its inputs have problems."),
        "export-graph": (has_pack, "Open a pack first."),
        "compare": (mode == Mode.SIMULATION and state.has_preview and state.runnable,
                    "A run is open: use New Simulation first." if state.has_run
                    else "No valid preview is shown: the pack or its inputs have problems."),
        "export-report": (state.has_run, "No run is open (open one from Runs…)."),
        "clear-comparison": (mode == Mode.SIMULATION, "A run is open: use New Simulation first."
                             if state.has_run else "Open a pack first."),
    }
    for name, kind in (("approve", "approval"), ("reject", "approval"), ("allow", "policy"), ("deny", "policy")):
        enabled = waiting and kind in state.waiting_for
        states[name] = (enabled, decide_why or f"The run is not waiting for {'an approval' if kind == 'approval' else 'a policy decision'}.")
    return {name: (enabled, "" if enabled else why) for name, (enabled, why) in states.items()}


def enabled_notes(state: SessionState) -> dict[str, str]:
    """action name -> what the action does now, where that differs from its usual tooltip."""
    if state.connecting and state.mode != Mode.RUNNING:
        return {"cancel": "Give up connecting to the Dask scheduler: no run is started"}
    return {}
