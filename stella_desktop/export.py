"""Export the graph as an image: PNG (raster) or SVG (vectors and text)."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QRectF, QSize
from PySide6.QtGui import QImage, QImageWriter, QPainter

from stella_desktop.canvas.scene import GraphScene

MAX_PNG_SIDE = 16000


def with_suffix(path: str, default: str = ".png") -> str:
    """``graph`` -> ``graph.png``: a path without an extension gets the default one."""
    return path if Path(path).suffix else path + default


def _check_writable(path: str) -> None:
    """Raise OSError saying what is really wrong with writing ``path``."""
    target = Path(path)
    folder = target.parent
    if not folder.is_dir():
        raise OSError(f"cannot write {path}: the folder {folder} does not exist")
    if target.is_dir():
        raise OSError(f"cannot write {path}: it is a folder")
    if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise OSError(f"cannot write {path}: permission denied")


def export_graph_image(scene: GraphScene, path: str) -> str:
    """Write the whole scene to ``path`` (``.svg`` for SVG, anything else PNG), items uncached.

    Returns the path written (with ``.png`` added when it had no extension);
    raises OSError saying why when nothing could be written.
    """
    path = with_suffix(path)
    _check_writable(path)
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
            painter = QPainter()
            if not painter.begin(generator):
                raise OSError(f"cannot write {path}: the SVG file could not be created")
            scene.render(painter, QRectF(0, 0, rect.width(), rect.height()), rect)
            painter.end()
            if not Path(path).is_file() or Path(path).stat().st_size == 0:
                raise OSError(f"cannot write {path}: nothing was written")
        else:
            scale = min(2.0, MAX_PNG_SIDE / max(rect.width(), rect.height(), 1))
            image = QImage(max(1, int(rect.width() * scale)), max(1, int(rect.height() * scale)),
                           QImage.Format.Format_ARGB32)
            image.fill(0xFFFFFFFF)
            painter = QPainter(image)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            scene.render(painter, QRectF(image.rect()), rect)
            painter.end()
            writer = QImageWriter(path, b"png")
            if not writer.write(image):
                raise OSError(f"cannot write {path}: {writer.errorString()}")
    finally:
        scene.set_caching(True)
        scene.set_detail(detailed)
    return path
