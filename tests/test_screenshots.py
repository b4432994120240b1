"""The committed screenshots show different things (a dialog grab that missed the dialog would not)."""

import hashlib

from PySide6.QtGui import QImage

from conftest import REPO

SHOTS = REPO / "docs" / "screenshots"


def test_every_screenshot_differs_from_the_others():
    files = sorted(SHOTS.glob("*.png"))
    assert len(files) >= 6, files
    digests = {}
    for path in files:
        image = QImage(str(path))
        assert not image.isNull(), path
        pixels = bytes(image.convertToFormat(QImage.Format.Format_RGB32).constBits())
        digests.setdefault(hashlib.sha256(pixels).hexdigest(), []).append(path.name)
    assert [names for names in digests.values() if len(names) > 1] == []


def test_the_readme_shows_every_screenshot():
    readme = (REPO / "README.md").read_text()
    missing = [p.name for p in SHOTS.glob("*.png") if f"docs/screenshots/{p.name}" not in readme]
    assert missing == []
