"""The committed screenshots show different things (a dialog grab that missed the dialog would not)."""

import hashlib
import re

from PySide6.QtGui import QImage

from conftest import REPO

SHOTS = REPO / "docs" / "screenshots"


def test_every_screenshot_differs_from_the_others(qapp):  # QImage needs the Qt application
    files = sorted(SHOTS.glob("*.png"))
    assert len(files) >= 6, files
    digests = {}
    for path in files:
        image = QImage(str(path))
        assert not image.isNull(), path
        converted = image.convertToFormat(QImage.Format.Format_RGB32)  # kept alive while its bits are read
        pixels = bytes(converted.constBits())
        digests.setdefault(hashlib.sha256(pixels).hexdigest(), []).append(path.name)
    assert [names for names in digests.values() if len(names) > 1] == []


def test_the_readme_shows_every_screenshot_of_the_window():
    made = set(re.findall(r'"([a-z-]+\.png)"', (REPO / "docs" / "make_screenshots.py").read_text()))
    assert len(made) >= 6 and all((SHOTS / name).is_file() for name in made)
    readme = (REPO / "README.md").read_text()
    assert [name for name in sorted(made) if f"docs/screenshots/{name}" not in readme] == []
