"""The app's runs on its backends, as a user drives them: cancel paints nothing running, Dask from Preferences."""

import threading

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from core.execution.store import RunStore
from stella_desktop.dialogs import PreferencesDialog
from stella_desktop.session_state import Mode
from test_app import nothing_left_behind, open_and_wait, settings, status, window  # noqa: F401  (fixtures)

MAPPED = """
apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {name: mapped, version: 1.0.0}
spec:
  steps:
    - {id: first, run: {uses: builtin:echo, with: {n: 1}}}
    - id: fan
      map: {items: [1, 2, 3, 4], maxParallel: 2, step: {id: nap, run: {uses: builtin:sleep, with: {seconds: SECONDS}}}}
    - {id: last, run: {uses: builtin:noop}}
"""


def painted_running(window) -> list[str]:
    return [step_id for step_id, item in window.scene.items_by_id.items() if item.status == "running"]


def test_a_cancelled_resumed_run_paints_no_step_or_block_running(qtbot, window, tmp_path):
    pack = tmp_path / "mapped.yaml"
    pack.write_text(MAPPED.replace("SECONDS", "30"))
    open_and_wait(qtbot, window, pack)
    window.actions["run"].trigger()
    qtbot.waitUntil(lambda: window.session.run is not None and status(window, "fan[1]::nap") == "running",
                    timeout=20_000)
    window.actions["cancel"].trigger()
    qtbot.waitUntil(lambda: window.session.mode != Mode.RUNNING, timeout=20_000)
    run_id = window.session.run.run_id
    window.session.resume_run(run_id)
    qtbot.waitUntil(lambda: window.session.mode == Mode.RUNNING and status(window, "fan[1]::nap") == "running",
                    timeout=20_000)
    assert status(window, "fan") == "running"
    window.actions["cancel"].trigger()
    qtbot.waitUntil(lambda: window.session.mode != Mode.RUNNING, timeout=20_000)
    minimap = window.view.minimap
    qtbot.waitUntil(lambda: not minimap._redraw.isActive(), timeout=10_000)  # its picture is redrawn
    QApplication.processEvents()
    window.grab().save(str(tmp_path / "cancelled-resumed-run.png"))
    assert [s for s, status in window.scene._statuses.items() if status == "running"] == []  # the minimap too
    assert window.session.scheduler.status == "cancelled"
    assert painted_running(window) == []
    assert status(window, "fan") == "pending"
    states = window.session.scheduler.states
    assert [s for s, state in states.items() if state.status == "running"] == []


def test_preferences_offer_a_dask_scheduler_and_the_run_uses_it(qtbot, window, settings, tmp_path, dask_client):
    dialog = PreferencesDialog(settings, window)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.backend.setCurrentIndex(dialog.backend.findData("dask"))
    assert not dialog.ok.isEnabled()  # no address yet
    dialog.scheduler.setText("nonsense")
    assert not dialog.ok.isEnabled() and "tcp://HOST:PORT" in dialog.scheduler_hint.text()
    dialog.scheduler.setText(dask_client.scheduler.address)
    assert dialog.ok.isEnabled()
    qtbot.waitUntil(lambda: dialog.scheduler_hint.isVisible())
    QApplication.processEvents()
    dialog.grab().save(str(tmp_path / "preferences-dask.png"))
    dialog.accept()
    assert settings.scheduler_for_runs() == dask_client.scheduler.address
    pack = tmp_path / "mapped.yaml"
    pack.write_text(MAPPED.replace("SECONDS", "0.05"))
    open_and_wait(qtbot, window, pack)
    window.actions["run"].trigger()
    qtbot.waitUntil(lambda: window.session._runs.runner is not None, timeout=30_000)  # connected off the GUI thread
    assert window.session._runs.runner.backend.name == "dask"
    qtbot.waitUntil(lambda: window.session.mode != Mode.RUNNING, timeout=60_000)
    assert window.session.scheduler.status == "succeeded"
    assert status(window, "last") == "succeeded"


def test_an_unreachable_scheduler_is_said_clearly_and_nothing_is_run(qtbot, window, settings, tmp_path,
                                                                      monkeypatch):
    monkeypatch.setattr("core.execution.backends.dask.CONNECT_TIMEOUT", "1s")
    settings.backend = "dask"
    settings.dask_scheduler = "tcp://127.0.0.1:9"  # nothing listens there
    pack = tmp_path / "mapped.yaml"
    pack.write_text(MAPPED.replace("SECONDS", "0"))
    open_and_wait(qtbot, window, pack)
    window.actions["run"].trigger()
    qtbot.waitUntil(lambda: window.last_notice is not None, timeout=30_000)
    title, text = window.last_notice
    assert title == "The run cannot start" and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in text
    assert RunStore(settings.store_folder).run_ids() == []
    for box in QApplication.topLevelWidgets():
        if box.objectName() == "notice":
            QTimer.singleShot(0, box.close)


def test_connecting_to_a_scheduler_leaves_the_window_live_then_says_why_it_failed(qtbot, window, settings, tmp_path,
                                                                                   monkeypatch):
    from core.execution.backends.dask import DaskBackend
    answer = threading.Event()  # the scheduler "answers" only when the test says so
    connect = DaskBackend.connect.__func__

    def slow_connect(cls, registry, **options):
        assert threading.current_thread() is not threading.main_thread()  # never on the GUI thread
        answer.wait(30)
        return connect(cls, registry, **options)

    monkeypatch.setattr(DaskBackend, "connect", classmethod(slow_connect))
    monkeypatch.setattr("core.execution.backends.dask.CONNECT_TIMEOUT", "1s")
    settings.backend = "dask"
    settings.dask_scheduler = "tcp://127.0.0.1:9"  # nothing listens there
    pack = tmp_path / "mapped.yaml"
    pack.write_text(MAPPED.replace("SECONDS", "0"))
    open_and_wait(qtbot, window, pack)
    window.actions["run"].trigger()
    live = []
    QTimer.singleShot(0, lambda: live.append(window.session._runs.connecting))
    qtbot.waitUntil(lambda: bool(live), timeout=5_000)  # the event loop ran while the connection was pending
    assert live == [True] and window.last_notice is None and window.session.mode == Mode.SIMULATION
    assert "Connecting to the Dask scheduler at tcp://127.0.0.1:9" in window.statusBar().currentMessage()
    answer.set()
    qtbot.waitUntil(lambda: window.last_notice is not None, timeout=30_000)
    title, text = window.last_notice
    assert title == "The run cannot start" and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in text
    assert not window.session._runs.connecting and window.session.run is None
    assert RunStore(settings.store_folder).run_ids() == []
    for box in QApplication.topLevelWidgets():
        if box.objectName() == "notice":
            QTimer.singleShot(0, box.close)
