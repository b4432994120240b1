"""Export the graph as an image: PNG (raster) or SVG (vectors and text), with a title and the legend.

The picture is the graph as drawn (collapsed blocks stay collapsed) under a
header: pack, version, plan hash and date, then the status legend.  The
selection and find outlines are never exported.  A PNG is drawn at full size
(step ids at 12 pt), or at the smallest readable scale if that avoids
splitting it; a graph still taller than :data:`MAX_PNG_SIDE` pixels is written
as numbered tiles (``graph-1.png`` ...), and the returned message says so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QImageWriter, QPainter, QPen

from stella_desktop.canvas.scene import GraphScene
from stella_desktop.status_style import STYLES

MAX_PNG_SIDE = 16000
MAX_PNG_PIXELS = 400_000_000  # over all tiles: beyond this a PNG is refused (SVG has no limit)
READABLE_SCALE = 0.75  # step ids at 9 pt
HEADER = 78.0


@dataclass
class GraphTitle:
    pack: str
    version: str
    plan_hash: str
    date: str = field(default_factory=lambda: datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))

    def text(self) -> str:
        return f"{self.pack} {self.version}  ·  plan {self.plan_hash}  ·  {self.date}"


def header_width(title: GraphTitle, part: str = "") -> float:
    """How wide the header must be for the whole title and legend (an image is never narrower)."""
    font = QFont()
    font.setPointSizeF(14)
    font.setBold(True)
    title_width = QFontMetrics(font).horizontalAdvance(title.text() + part)
    font.setPointSizeF(10)
    font.setBold(False)
    metrics = QFontMetrics(font)
    legend = sum(20 + metrics.horizontalAdvance(style.label) + 18 for style in STYLES.values())
    return max(title_width, legend) + 40


def _paint_header(painter: QPainter, width: float, title: GraphTitle, part: str = "") -> None:
    painter.fillRect(QRectF(0, 0, width, HEADER), QColor("#ffffff"))
    font = QFont(painter.font())
    font.setPointSizeF(14)
    font.setBold(True)
    painter.setFont(font)
    painter.setPen(QColor("#102a43"))
    painter.drawText(QRectF(16, 8, width - 32, 28), Qt.AlignmentFlag.AlignVCenter, title.text() + part)
    font.setPointSizeF(10)
    font.setBold(False)
    painter.setFont(font)
    x = 16.0
    for status, style in STYLES.items():
        pen = QPen(QColor(style.fill).darker(160), 1)
        if status == "skipped":
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(QColor(style.fill))
        painter.drawRoundedRect(QRectF(x, 46, 14, 14), 3, 3)
        painter.setPen(QColor("#243b53"))
        advance = painter.fontMetrics().horizontalAdvance(style.label)
        painter.drawText(QRectF(x + 20, 40, advance + 4, 26), Qt.AlignmentFlag.AlignVCenter, style.label)
        x += 20 + advance + 18
    painter.setPen(QPen(QColor("#d9e2ec"), 1))
    painter.drawLine(0, int(HEADER) - 1, int(width), int(HEADER) - 1)


def _tile_paths(path: str, count: int) -> list[str]:
    if count == 1:
        return [path]
    target = Path(path)
    return [str(target.with_name(f"{target.stem}-{i}{target.suffix}")) for i in range(1, count + 1)]


def with_suffix(path: str, default: str = ".png") -> str:
    """``graph`` -> ``graph.png``: a path without an extension gets the default one."""
    return path if Path(path).suffix else path + default


def check_writable(path: str) -> None:
    """Raise OSError saying what is really wrong with writing ``path`` (not a permissions-like guess)."""
    target = Path(path)
    folder = target.parent
    if not folder.is_dir():
        raise OSError(f"cannot write {path}: the folder {folder} does not exist")
    if target.is_dir():
        raise OSError(f"cannot write {path}: it is a folder")
    if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise OSError(f"cannot write {path}: permission denied")


def export_graph_image(scene: GraphScene, path: str, title: GraphTitle | None = None) -> str:
    """Write the scene to ``path`` (``.svg`` for SVG, anything else PNG, ``.png`` added when it has no
    extension); returns what was written, raises OSError saying why nothing was."""
    path = with_suffix(path)
    check_writable(path)
    if title is None:
        attributes = scene.graph.info if scene.graph is not None else {}
        title = GraphTitle(str(attributes.get("pack", "graph")), "", str(attributes.get("planHash", "")))
    rect = scene.sceneRect()
    detailed = scene._detailed
    selected = [item for item in scene.selectedItems()]
    matches, filtering = set(scene._matches), scene._filtering
    scene.clearSelection()
    scene.set_matches([])
    scene.set_detail(True)
    scene.show_all_rows()
    scene.set_caching(False)  # render vectors and text, not cached bitmaps
    try:
        if path.lower().endswith(".svg"):
            return _write_svg(scene, path, rect, title)
        return _write_png(scene, path, rect, title)
    finally:
        scene.set_caching(True)
        scene.set_visible_region(scene._region)  # rows far from the view lose their items again
        scene.set_detail(detailed)
        scene.set_matches(matches, filtering)
        for item in selected:
            item.setSelected(True)


def _write_svg(scene: GraphScene, path: str, rect: QRectF, title: GraphTitle) -> str:
    from PySide6.QtSvg import QSvgGenerator
    width, height = max(rect.width(), header_width(title)), rect.height() + HEADER
    left = (width - rect.width()) / 2
    generator = QSvgGenerator()
    generator.setFileName(path)
    generator.setSize(QSize(int(width), int(height)))
    generator.setViewBox(QRectF(0, 0, width, height))
    generator.setTitle(title.text())
    generator.setDescription("Stella Desktop execution graph")
    painter = QPainter()
    if not painter.begin(generator):
        raise OSError(f"cannot write {path}: the SVG file could not be created")
    painter.fillRect(QRectF(0, 0, width, height), scene.backgroundBrush())
    _paint_header(painter, width, title)
    scene.render(painter, QRectF(left, HEADER, rect.width(), rect.height()), rect)
    painter.end()
    if not Path(path).is_file() or Path(path).stat().st_size == 0:
        raise OSError(f"cannot write {path}: nothing was written")
    return f"Graph written to {path}"


def _write_png(scene: GraphScene, path: str, rect: QRectF, title: GraphTitle) -> str:
    scale = 1.0
    if rect.height() + HEADER > MAX_PNG_SIDE or rect.width() > MAX_PNG_SIDE:
        scale = max(READABLE_SCALE, min(1.0, MAX_PNG_SIDE / max(rect.width(), rect.height() + HEADER)))
    width = int(rect.width() * scale)
    if width > MAX_PNG_SIDE or width * rect.height() * scale > MAX_PNG_PIXELS:
        raise OSError(f"The graph is {width:,} x {int(rect.height() * scale):,} pixels at a readable scale, too "
                      "large for PNG: collapse some blocks, or export SVG.")
    body = MAX_PNG_SIDE / scale - HEADER  # scene height per tile
    count = max(1, int(-(-rect.height() // body)))
    full_width = max(rect.width(), header_width(title, f"  ·  part {count} of {count}" if count > 1 else ""))
    width = int(full_width * scale)
    left = (full_width - rect.width()) / 2
    paths = _tile_paths(path, count)
    for index, tile_path in enumerate(paths):
        top = rect.top() + index * body
        source = QRectF(rect.left(), top, rect.width(), min(body, rect.bottom() - top))
        image = QImage(width, int((source.height() + HEADER) * scale) + 1, QImage.Format.Format_ARGB32)
        image.fill(scene.backgroundBrush().color())
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        painter.scale(scale, scale)
        _paint_header(painter, full_width, title, f"  ·  part {index + 1} of {count}" if count > 1 else "")
        scene.render(painter, QRectF(left, HEADER, source.width(), source.height()), source)
        painter.end()
        writer = QImageWriter(tile_path, b"png")
        if not writer.write(image):
            raise OSError(f"cannot write {tile_path}: {writer.errorString()}")
    size = f"at {scale:.0%} scale" if scale < 1 else "at full size"
    if count == 1:
        return f"Graph written to {path} ({size})"
    return (f"The graph is too tall for one PNG: written {size} as {count} tiles, "
            f"{Path(paths[0]).name} to {Path(paths[-1]).name}")
