"""The pack watcher: saving a watched file in an editor (in place or by rename) is one change."""

import os

from stella_desktop.pack_watcher import PackWatcher


def test_saves_in_place_and_by_rename_are_reported_once_each(qtbot, tmp_path):
    manifest, inputs, other = tmp_path / "pack.yaml", tmp_path / "inputs.json", tmp_path / "notes.txt"
    for path in (manifest, inputs, other):
        path.write_text("one")
    watcher = PackWatcher(debounce_ms=50)
    watcher.watch([str(manifest), str(inputs)])
    with qtbot.waitSignal(watcher.changed, timeout=5000) as saved:
        manifest.write_text("two")
        manifest.write_text("three, saved twice in a burst")
    assert saved.args == [[str(manifest)]]
    with qtbot.waitSignal(watcher.changed, timeout=5000) as saved:  # an editor's atomic save: write, rename
        (tmp_path / ".inputs.json.swp").write_text('{"a": 1}')
        os.replace(tmp_path / ".inputs.json.swp", inputs)
    assert saved.args == [[str(inputs)]]
    with qtbot.waitSignal(watcher.changed, timeout=5000):  # still watched after the rename
        inputs.write_text('{"a": 2}')
    with qtbot.assertNotEmitted(watcher.changed, wait=400):
        other.write_text("not a watched file")


def test_stop_and_rewatch(qtbot, tmp_path):
    manifest = tmp_path / "pack.yaml"
    manifest.write_text("one")
    watcher = PackWatcher(debounce_ms=50)
    watcher.watch([str(manifest)])
    watcher.stop()
    assert watcher.files == []
    with qtbot.assertNotEmitted(watcher.changed, wait=400):
        manifest.write_text("two")
    watcher.watch([str(manifest), None])
    assert watcher.files == [str(manifest)]
    with qtbot.waitSignal(watcher.changed, timeout=5000):
        manifest.write_text("three")
