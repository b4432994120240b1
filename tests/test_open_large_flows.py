"""Opening a big pack keeps the window responsive (issue 13's open-file figure) and closed windows quiet.

The forecast is computed on a worker after the graph is shown; its result
arrives later through a signal, and a result for a pack that is no longer
open is dropped.  A closed window stops watching its pack's files.
"""

import pytest
from PySide6.QtCore import QThreadPool

from conftest import pack_text
from test_change_flows import EDITED, SPEC
from test_session_flows import new_window, settings, settled  # noqa: F401 - fixtures


@pytest.fixture
def window(qtbot, settings):  # noqa: F811 - the session flows' settings fixture
    window = new_window(qtbot, settings)
    yield window
    window.close()
    assert QThreadPool.globalInstance().waitForDone(10_000)


def test_a_closed_window_no_longer_re_simulates_when_its_pack_is_saved(qtbot, window, settings, tmp_path):  # noqa: F811
    manifest = tmp_path / "pack.yaml"
    manifest.write_text(pack_text(SPEC))
    closed = new_window(qtbot, settings)
    for shown in (closed, window):
        shown.open_pack(str(manifest))
        settled(qtbot, shown, manifest)
    before = closed.session.simulation
    closed.close()
    assert closed.session.changes.watcher.files == []
    manifest.write_text(pack_text(EDITED))  # saved in an editor: the open window follows it
    qtbot.waitUntil(lambda: "notify" in window.scene.items_by_id, timeout=10_000)
    assert QThreadPool.globalInstance().waitForDone(10_000)
    assert closed.session.simulation is before and "notify" not in closed.scene.items_by_id
