"""The session's state as plain data: the mode, the pack, the inputs, and what the actions depend on."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path


class Mode(str, Enum):
    EMPTY = "no pack"
    SIMULATION = "simulation"
    RUNNING = "running"
    WAITING = "waiting at gate"
    FINISHED = "finished"


@dataclass(frozen=True)
class PackState:
    path: str | None = None
    text: str = ""
    name: str | None = None
    version: str | None = None
    plan_hash: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class InputsState:
    specs: tuple = ()
    values: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)   # input name -> what is wrong with it
    read_only: bool = False
    key: tuple = ()                               # the form is rebuilt when this changes


@dataclass(frozen=True)
class SessionState:
    """What the actions' enabled state depends on (see :mod:`stella_desktop.action_state`)."""
    mode: Mode
    runnable: bool                 # a valid preview with valid inputs is on screen
    why_not_runnable: str = ""
    waiting_for: frozenset = frozenset()  # "approval" and/or "policy"
    has_run: bool = False
    has_preview: bool = False      # a real preview (valid pack and inputs) can be exported
    connecting: bool = False       # a run waits for its Dask scheduler to answer: Cancel Run gives up


def derive_state(mode: Mode, pack_path: str | None, inputs: InputsState, result, waiting: frozenset,
                 has_run: bool, connecting: bool = False) -> SessionState:
    """What the actions depend on, and why a run cannot start now (in the user's words)."""
    why = ""
    if connecting:
        why = "Connecting to the Dask scheduler (Cancel Run gives up)."
    elif pack_path is None:
        why = "Open a pack first."
    elif inputs.errors and not inputs.read_only:
        why = "Fix the inputs first: " + "; ".join(f"{k}: {v}" for k, v in sorted(inputs.errors.items()))
    elif result is None:
        why = "The pack is being simulated."
    elif result.preview is None:
        why = "The pack has problems; fix them first (see Problems)."
    elif result.input_problems:
        why = "Fix the inputs first (see Inputs)."
    return SessionState(mode, not why, why, waiting, has_run, result is not None and result.runnable, connecting)


def read_text(path: str | None) -> str:
    """A file's text ("" when it cannot be read: the problems say why)."""
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except (OSError, TypeError):
        return ""
