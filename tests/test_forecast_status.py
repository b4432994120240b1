"""The canvas's view of a forecast: statuses that show what a failure takes down, and notes."""

from conftest import FLAKY_PACK
from core.forecast import forecast
from core.manifest import load_pack
from core.simulation import preview_pack
from stella_desktop.forecast_status import from_forecast
from stella_desktop.status_style import STYLES


def test_an_assumed_failure_paints_what_it_takes_down():
    views, notes = from_forecast(forecast(preview_pack(load_pack(FLAKY_PACK)),
                                          {"flaky": "fail", "check-broken": "fail"}))
    assert views["prepare"].status == "succeeded" and views["flaky"].status == "failed"
    assert {views[s].status for s in ("checks", "check-ok", "shard", "shard[0]::process", "finish")} == \
        {"not-reached"}
    assert notes["flaky"] == "3 attempts, ends 2.2 s" and notes["prepare"] == "ends 0.2 s"
    assert all(view.status in STYLES for view in views.values())


def test_tolerated_and_waiting_have_their_own_look():
    views, notes = from_forecast(forecast(preview_pack(load_pack(FLAKY_PACK)), {"check-broken": "fail"}))
    assert views["check-broken"].status == "tolerated" and views["checks"].status == "succeeded"
    assert all(view.status in STYLES for view in views.values())
