"""Export the timeline as an image: PNG (raster, twice the scene's size) or SVG (vectors and text)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize
from PySide6.QtGui import QImage, QPainter

from stella_desktop.timeline.scene import TimelineScene

MAX_PNG_SIDE = 16000


def export_timeline_image(scene: TimelineScene, path: str) -> None:
    """Write the whole timeline to ``path`` (``.svg`` for SVG, anything else PNG); OSError if it cannot."""
    rect = scene.sceneRect()
    if path.lower().endswith(".svg"):
        from PySide6.QtSvg import QSvgGenerator
        generator = QSvgGenerator()
        generator.setFileName(path)
        generator.setSize(QSize(int(rect.width()), int(rect.height())))
        generator.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
        generator.setTitle("Stella Desktop timeline")
        painter = QPainter(generator)
        scene.render(painter, QRectF(0, 0, rect.width(), rect.height()), rect)
        if not painter.end():
            raise OSError(f"cannot write {path}")
        return
    scale = min(2.0, MAX_PNG_SIDE / max(rect.width(), rect.height(), 1))
    image = QImage(max(1, int(rect.width() * scale)), max(1, int(rect.height() * scale)),
                   QImage.Format.Format_ARGB32)
    image.fill(0xFFFFFFFF)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    scene.render(painter, QRectF(image.rect()), rect)
    painter.end()
    if not image.save(path):
        raise OSError(f"cannot write {path}")
