"""Is the canvas picture right?  Render a view with its items and with its overview picture, compare.

Used by ``tests/test_canvas.py`` and by the repaint benchmark before it times
anything (a fast repaint of a wrong picture is worth nothing).  Pure Qt, no
numpy: bounding boxes by whole rows of bytes, differences on 4x smaller copies.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QTransform

BBOX_TOLERANCE = 0.02  # drawn-pixel bounding boxes agree within 2 % of the image size
DIFF_TOLERANCE = 0.12  # at most 12 % of the drawn (downscaled) pixels differ visibly
CHANNEL_STEP = 16  # pending grey on the canvas background differs by 30


def render_view(view, detailed: bool | None = None) -> QImage:
    """What ``view`` shows (its viewport), with the items (True), the overview (False) or as is (None)."""
    scene = view.graph_scene
    before = scene._detailed
    if detailed is not None:
        scene.set_detail(detailed)
    size = view.viewport().size()
    image = QImage(size, QImage.Format.Format_ARGB32)
    image.fill(QColor("#ffffff"))
    painter = QPainter(image)
    view.render(painter, QRectF(image.rect()), view.viewport().rect())
    painter.end()
    scene.set_detail(before)
    return image


def _rows_drawn(image: QImage, background: int) -> list[int]:
    image = image.convertToFormat(QImage.Format.Format_ARGB32)
    blank = background.to_bytes(4, "little") * image.width()
    bits = bytes(image.constBits())
    stride = image.bytesPerLine()
    width = image.width() * 4
    return [y for y in range(image.height()) if bits[y * stride:y * stride + width] != blank]


def drawn_bbox(image: QImage, background: QColor) -> QRect | None:
    """The bounding box of the pixels that are not the background colour."""
    value = background.rgba()
    rows = _rows_drawn(image, value)
    if not rows:
        return None
    columns = _rows_drawn(image.transformed(QTransform().rotate(90)), value)
    # rotating by 90 degrees clockwise: column x of the image is row x of the rotated copy
    return QRect(columns[0], rows[0], columns[-1] - columns[0] + 1, rows[-1] - rows[0] + 1)


def compare(a: QImage, b: QImage, background: QColor) -> dict:
    """``bbox``: the largest bounding-box edge difference as a fraction of the image size;
    ``diff``: the fraction of drawn pixels (4x smaller copies) whose colour differs visibly."""
    box_a, box_b = drawn_bbox(a, background), drawn_bbox(b, background)
    if box_a is None or box_b is None:
        return {"bbox": 0.0 if box_a == box_b else 1.0, "diff": 0.0 if box_a == box_b else 1.0}
    w, h = a.width(), a.height()
    bbox = max(abs(box_a.left() - box_b.left()) / w, abs(box_a.right() - box_b.right()) / w,
               abs(box_a.top() - box_b.top()) / h, abs(box_a.bottom() - box_b.bottom()) / h)
    small = [i.scaled(max(1, w // 4), max(1, h // 4), Qt.AspectRatioMode.IgnoreAspectRatio,
                      Qt.TransformationMode.SmoothTransformation).convertToFormat(QImage.Format.Format_ARGB32)
             for i in (a, b)]
    pa, pb = (bytes(i.constBits()) for i in small)
    bg = (background.blue(), background.green(), background.red())
    drawn = differ = 0
    stride = small[0].bytesPerLine()
    for y in range(small[0].height()):
        row = y * stride
        for x in range(row, row + small[0].width() * 4, 4):
            ca, cb = pa[x:x + 3], pb[x:x + 3]
            a_drawn = max(abs(ca[i] - bg[i]) for i in range(3)) > 8
            b_drawn = max(abs(cb[i] - bg[i]) for i in range(3)) > 8
            if a_drawn or b_drawn:
                drawn += 1
                if max(abs(ca[i] - cb[i]) for i in range(3)) > CHANNEL_STEP:
                    differ += 1
    return {"bbox": bbox, "diff": differ / drawn if drawn else 0.0}


def overview_matches(view) -> dict:
    """Render ``view`` with items and with the overview picture; the comparison and a verdict."""
    background = view.graph_scene.backgroundBrush().color()
    result = compare(render_view(view, True), render_view(view, False), background)
    result["ok"] = result["bbox"] <= BBOX_TOLERANCE and result["diff"] <= DIFF_TOLERANCE
    return result
