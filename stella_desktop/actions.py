"""Every action of the main window, built in one place.

Each action has ``objectName="action-<name>"``, a tooltip naming its shortcut,
and a standard key sequence where Qt has one; tests trigger them by name.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence

SPECS = [
    # name, text, shortcut (QKeySequence.StandardKey or text), tooltip
    ("open", "&Open Pack…", QKeySequence.StandardKey.Open, "Open a Task Pack manifest"),
    ("reload", "&Reload", QKeySequence.StandardKey.Refresh, "Read the pack again from disk"),
    ("simulate", "&Simulate", "Ctrl+Shift+S", "Preview what a run would do, without running anything"),
    ("run", "&Run", "Ctrl+R", "Run the pack on this machine, with the inputs of the preview shown"),
    ("new-simulation", "&New Simulation", "Ctrl+Shift+N", "Leave the open run (it stays saved) and edit its inputs again"),
    ("cancel", "&Cancel Run", "Ctrl+.", "Stop the running steps; the run stays resumable"),
    ("approve", "&Approve…", "Ctrl+Shift+A", "Approve the approval the run is waiting for"),
    ("reject", "Re&ject…", "", "Reject the approval the run is waiting for"),
    ("allow", "A&llow Policy…", "", "Allow the policy gate the run is waiting at"),
    ("deny", "&Deny Policy…", "", "Deny the policy gate the run is waiting at"),
    ("export-preview", "&Export Preview JSON…", "Ctrl+E", "Save the simulation preview as JSON (same as the CLI)"),
    ("export-graph", "Export &Graph Image…", "Ctrl+Shift+E", "Save the graph as PNG or SVG"),
    ("compare", "Com&pare With…", "Ctrl+Shift+D",
     "Show what changed against another pack, a preview JSON file or a run (new, changed and removed steps)"),
    ("clear-comparison", "C&lear Comparison", "", "Go back to marking what changed since the previous preview"),
    ("fit", "&Fit Graph", "F", "Fit the graph in the view, as small as stays readable"),
    ("expand-all", "E&xpand All Blocks", "Ctrl+Shift+Down", "Show every child of every parallel and map block"),
    ("collapse-all", "&Collapse All Blocks", "Ctrl+Shift+Up", "Show every parallel and map block as one box"),
    ("find", "&Find Step…", QKeySequence.StandardKey.Find, "Find a step on the canvas by id, name, uses or status"),
    ("zoom-in", "Zoom &In", QKeySequence.StandardKey.ZoomIn, "Zoom in"),
    ("zoom-out", "Zoom &Out", QKeySequence.StandardKey.ZoomOut, "Zoom out"),
    ("export-report", "Export Run &Report…", "", "Save the open run's report: HTML for people, JSON to verify"),
    ("runs", "R&uns…", "Ctrl+Shift+R", "Browse the runs in the store; open or resume one"),
    ("preferences", "&Preferences…", QKeySequence.StandardKey.Preferences, "Run store, workers, commands, theme"),
    ("quit", "&Quit", QKeySequence.StandardKey.Quit, "Quit Stella Desktop"),
]


def apply_states(actions: dict[str, QAction], states: dict[str, tuple[bool, str]],
                 notes: dict[str, str] | None = None) -> None:
    """Enable or disable actions; a disabled action's tooltip says why, an enabled one what it does now
    where ``notes`` says so."""
    notes = notes or {}
    for name, (enabled, why) in states.items():
        action = actions[name]
        action.setEnabled(enabled)
        base = action.property("baseToolTip")
        if enabled:
            action.setToolTip(notes.get(name, base))
        else:
            action.setToolTip(f"{base}\n(disabled: {why})" if why else base)


def build_actions(parent) -> dict[str, QAction]:
    actions = {}
    for name, text, shortcut, tooltip in SPECS:
        action = QAction(text, parent)
        action.setObjectName(f"action-{name}")
        if isinstance(shortcut, QKeySequence.StandardKey):
            action.setShortcuts(QKeySequence.keyBindings(shortcut))
        elif shortcut:
            action.setShortcut(QKeySequence(shortcut))
        if name == "preferences" and not action.shortcuts():
            action.setShortcut(QKeySequence("Ctrl+,"))
        if name == "zoom-in":
            action.setShortcuts(list(action.shortcuts()) + [QKeySequence("Ctrl+=")])
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(f"{tooltip} ({keys})" if keys else tooltip)
        action.setProperty("baseToolTip", action.toolTip())
        action.setStatusTip(tooltip)
        actions[name] = action
    return actions
