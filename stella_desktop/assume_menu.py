"""The Assume ▸ menu of a step: the outcomes that fit it, the current one checked.

Built from :func:`core.forecast.outcomes_for`, so the menu offers exactly
what ``--assume`` accepts: run steps ``succeed``/``fail``/``fail:N``/
``skip``, approval gates ``approve``/``reject``/``wait``, policy gates
``allow``/``deny``/``wait``, blocks ``skip``.  Choosing reports
``(step id, outcome)``; "No assumption" reports ``(step id, None)``.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu

from core.forecast.assumptions import default_outcome, outcomes_for
from core.plan import PlannedStep

LABELS = {
    "succeed": "Succeeds", "fail": "Fails (every attempt)", "skip": "Is skipped",
    "approve": "Is approved", "reject": "Is rejected", "allow": "Is allowed", "deny": "Is denied",
    "wait": "Is never decided (the run waits)",
}


def outcome_choices(step: PlannedStep, max_attempts: int) -> list[tuple[str, str]]:
    """(outcome, label) pairs for ``step``; fail:N for every N that leaves an attempt to succeed."""
    choices = []
    for outcome in outcomes_for(step):
        if outcome == "fail:N":
            choices += [(f"fail:{n}", f"Fails {n} time{'s' if n > 1 else ''}, then succeeds")
                        for n in range(1, max_attempts)]
        else:
            label = LABELS[outcome]
            if outcome == default_outcome(step):
                label += " (default)"
            choices.append((outcome, label))
    return choices


def build_assume_menu(step: PlannedStep, max_attempts: int, current: str | None,
                      chosen: Callable[[str, str | None], None], parent=None) -> QMenu:
    menu = QMenu("&Assume", parent)
    menu.setObjectName("assume-menu")
    group = QActionGroup(menu)
    for outcome, label in outcome_choices(step, max_attempts):
        action = QAction(label, menu)
        action.setObjectName(f"assume-{outcome}")
        action.setCheckable(True)
        action.setChecked(outcome == current)
        action.setToolTip(f"--assume {step.id}={outcome}")
        action.triggered.connect(lambda _=False, o=outcome: chosen(step.id, o))
        group.addAction(action)
        menu.addAction(action)
    menu.addSeparator()
    clear = QAction("&No assumption", menu)
    clear.setObjectName("assume-none")
    clear.setEnabled(current is not None)
    clear.triggered.connect(lambda: chosen(step.id, None))
    menu.addAction(clear)
    return menu
