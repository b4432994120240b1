"""How each step status looks: one table shared by the canvas, the table and the legend."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor


@dataclass(frozen=True)
class StatusStyle:
    label: str
    fill: str
    text: str = "#102a43"


STYLES: dict[str, StatusStyle] = {
    "pending": StatusStyle("pending", "#d9e2ec"),
    "skipped": StatusStyle("skipped", "#f0f4f8", "#829ab1"),
    "requires-approval": StatusStyle("requires approval", "#ffd166"),
    "requires-policy": StatusStyle("requires policy", "#cdb4f6"),
    "running": StatusStyle("running", "#4d96ff", "#ffffff"),
    "retry-waiting": StatusStyle("retry waiting", "#ff9f43"),
    "succeeded": StatusStyle("succeeded", "#2ecc71", "#073b1c"),
    "failed": StatusStyle("failed", "#ef476f", "#ffffff"),
    # forecast only: a failure a continueOnError block absorbs, and what a failure takes down
    "tolerated": StatusStyle("tolerated", "#ffb4a2", "#6a1b1b"),
    "not-reached": StatusStyle("not reached", "#f3d9de", "#8a1c1c"),
}

KIND_GLYPHS = {"run": "▶", "gate.approval": "⚑", "gate.policy": "⚖", "parallel": "⇉", "map": "⊞"}


def fill(status: str) -> QColor:
    return QColor(STYLES.get(status, STYLES["pending"]).fill)


def text_colour(status: str) -> QColor:
    return QColor(STYLES.get(status, STYLES["pending"]).text)
