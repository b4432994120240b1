"""The canvas in the main window, as a user drives it: open a big pack, find, collapse, export."""

import json
import re

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from benchmarks.large_pack import large_pack
from stella_desktop import export
from stella_desktop.canvas.collapsed_item import CollapsedBlockItem
from stella_desktop.canvas.step_item import SELECTED
from stella_desktop import window_commands
from stella_desktop.main_window import MainWindow
from stella_desktop.settings import AppSettings


@pytest.fixture
def window(qtbot, tmp_path):
    settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    settings.store_folder = tmp_path / "store"
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.show()
    yield window
    window.close()


@pytest.fixture
def big_pack(tmp_path):
    text, inputs = large_pack(2050)
    (tmp_path / "big.yaml").write_text(text)
    (tmp_path / "inputs.json").write_text(json.dumps(inputs))
    return tmp_path / "big.yaml", tmp_path / "inputs.json"


def open_and_wait(qtbot, window, path, inputs):
    window.open_pack(str(path), str(inputs))
    qtbot.waitUntil(lambda: window.session.simulation is not None and not window.session.busy and bool(window.scene.items_by_id),
                    timeout=20_000)


def test_ctrl_f_finds_and_selects_a_step_inside_a_collapsed_map(qtbot, window, big_pack):
    open_and_wait(qtbot, window, *big_pack)
    assert isinstance(window.scene.items_by_id["mirror"], CollapsedBlockItem)
    action = window.findChild(type(window.actions["find"]), "action-find")
    assert action.shortcut().toString() == "Ctrl+F"
    action.trigger()
    field = window.view.find_bar.field
    qtbot.keyClicks(field, "target-42")  # the item text is not an id: no match
    assert window.view.find_bar.count.text() == "no match"
    field.setText("mirror[42]")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert window.session.selected == "mirror[42]::sync"  # the details panel follows
    assert "mirror[42]::sync" in window.details.toHtml()
    assert window.view.find_bar.count.text() == "1 of 1"
    window.session.select("deep-9-2")  # selecting from the table expands its block too
    assert window.scene.items_by_id["deep-9-2"].isSelected()


def test_export_has_title_and_legend_and_never_the_selection(qtbot, window, big_pack, tmp_path):
    open_and_wait(qtbot, window, *big_pack)
    window.session.select("fetch")
    window.view.open_find()
    window.view.find_bar.field.setText("stage-1")
    svg = tmp_path / "graph.svg"
    window_commands.export_graph(window, str(svg))
    text = svg.read_text()
    plan = window.session.simulation.plan
    assert f"{plan.pack_name} {plan.pack_version}" in text and plan.plan_hash in text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", text)
    for label in ("requires approval", "succeeded", "failed", "retry waiting"):
        assert f">{label}<" in text  # the legend
    assert SELECTED.name() not in text.lower() and "#e8590c" not in text.lower()  # no selection, no find outline
    assert window.scene.items_by_id["fetch"].isSelected()  # still selected on screen
    assert window.scene.items_by_id["stage-1"].matched
    title = export.GraphTitle(plan.pack_name, plan.pack_version, plan.plan_hash)
    window_commands.export_graph(window, str(tmp_path / "graph.png"))  # 27,700 px tall: too tall for one PNG
    tiles = sorted(tmp_path.glob("graph-*.png"))
    rect = window.scene.sceneRect()
    assert len(tiles) == -(-rect.height() // (export.MAX_PNG_SIDE / 0.75 - export.HEADER)) == 2
    message = window.statusBar().currentMessage()
    assert "2 tiles" in message and "75% scale" in message  # and says so
    for tile in tiles:
        image = QImage(str(tile))
        assert image.height() <= export.MAX_PNG_SIDE + 1
        assert image.width() == int(max(rect.width(), export.header_width(title, "  ·  part 2 of 2")) * 0.75)


def test_a_small_graph_exports_at_full_size_and_a_huge_png_is_refused_clearly(qtbot, window, big_pack,
                                                                              tmp_path, monkeypatch):
    small = tmp_path / "small.yaml"
    small.write_text("apiVersion: stellaops.io/pack.v1\nkind: TaskPack\nmetadata: {name: s, version: 1.0.0}\n"
                     "spec:\n  steps:\n    - {id: a, run: {uses: builtin:noop}}\n")
    window.open_pack(str(small))
    qtbot.waitUntil(lambda: "a" in window.scene.items_by_id, timeout=20_000)
    window_commands.export_graph(window, str(tmp_path / "small.png"))
    image = QImage(str(tmp_path / "small.png"))
    plan = window.session.simulation.plan
    title = export.GraphTitle(plan.pack_name, plan.pack_version, plan.plan_hash)
    # a one-step graph is narrower than its title: the image is as wide as the title and legend
    assert image.width() == int(export.header_width(title)) > window.scene.sceneRect().width()
    assert image.height() == int(window.scene.sceneRect().height() + export.HEADER) + 1
    assert "full size" in window.statusBar().currentMessage()
    open_and_wait(qtbot, window, *big_pack)
    window.scene.set_all_expanded(True)
    monkeypatch.setattr(export, "MAX_PNG_PIXELS", 10_000_000)
    window_commands.export_graph(window, str(tmp_path / "huge.png"))
    title, text = window.last_notice
    assert title == "Graph not exported" and "too large for PNG" in text and "SVG" in text
    assert not list(tmp_path.glob("huge*.png"))
    QApplication.processEvents()


def test_the_collapse_threshold_is_a_preference_and_applies_to_the_open_pack(qtbot, window, big_pack):
    from stella_desktop.dialogs import PreferencesDialog
    open_and_wait(qtbot, window, *big_pack)
    assert "mirror" in window.scene.collapsed
    window.actions["preferences"].trigger()
    (dialog,) = [d for d in window.findChildren(PreferencesDialog) if d.isVisible()]
    spin = dialog.findChild(type(dialog.workers), "pref-collapse-over")
    assert spin.value() == 12
    spin.setValue(400)
    dialog.accept()
    assert window.settings.collapse_over == 400
    assert not window.scene.collapsed and "mirror[0]::sync" in window.scene.items_by_id
