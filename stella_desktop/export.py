"""Export the graph as an image: PNG (raster) or SVG (vectors and text)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize
from PySide6.QtGui import QImage, QPainter

from stella_desktop.canvas.scene import GraphScene

MAX_PNG_SIDE = 16000


def export_graph_image(scene: GraphScene, path: str) -> None:
    """Write the whole scene to ``path`` (``.svg`` for SVG, anything else PNG), items uncached."""
    rect = scene.sceneRect()
    detailed = scene.overview is None or not scene.overview.isVisible()
    scene.set_detail(True)
    scene.set_caching(False)  # render vectors and text, not cached bitmaps
    try:
        if path.lower().endswith(".svg"):
            from PySide6.QtSvg import QSvgGenerator
            generator = QSvgGenerator()
            generator.setFileName(path)
            generator.setSize(QSize(int(rect.width()), int(rect.height())))
            generator.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
            generator.setTitle("Stella Desktop execution graph")
            painter = QPainter(generator)
            scene.render(painter, QRectF(0, 0, rect.width(), rect.height()), rect)
            painter.end()
        else:
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
    finally:
        scene.set_caching(True)
        scene.set_detail(detailed)
