"""The forecast part of the document, and assumptions saved beside an inputs file."""

from __future__ import annotations

import pytest

from conftest import FLAKY_PACK, pack_text
from core.forecast import AssumptionError
from core.forecast.assumptions_file import load_assumptions, save_assumptions, sidecar_path
from core.manifest import load_pack, parse_pack
from core.simulation import preview_pack
from stella_desktop.forecast_document import ForecastDocument


def test_assuming_recomputes_and_unfitting_assumptions_are_dropped(qtbot):
    document = ForecastDocument()
    results = []
    document.changed.connect(results.append)

    def settle(call, *args):  # each forecast is computed on a worker and arrives through ``changed``
        with qtbot.waitSignal(document.changed, timeout=10_000):
            call(*args)
        assert not document.pending

    settle(document.set_preview, preview_pack(load_pack(FLAKY_PACK)))
    assert results[-1].outcome == "succeeded"
    settle(document.assume, "flaky", "fail")
    assert results[-1].outcome == "failed" and document.current("flaky") == "fail"
    settle(document.assume, "process", "fail:1")
    settle(document.assume, "flaky", None)
    assert document.assumptions == {"process": "fail:1"} and results[-1].outcome == "succeeded"
    other = preview_pack(parse_pack(pack_text("steps:\n  - {id: flaky, gate: {policy: {policy: p}}}")))
    settle(document.assume, "flaky", "fail")
    with qtbot.waitSignal(document.dropped) as dropped:
        settle(document.set_preview, other)
    assert "flaky=fail" in dropped.args[0] and "process=fail:1" in dropped.args[0]
    assert document.assumptions == {} and results[-1].outcome == "succeeded"


def test_a_conflict_between_gates_is_an_error_not_a_crash(qtbot):
    document = ForecastDocument()
    document.set_preview(preview_pack(parse_pack(pack_text("""
    approvals: [{id: r, grants: [x]}]
    steps:
      - {id: a, gate: {approval: {id: r}}}
      - {id: b, gate: {approval: {id: r}}}
    """))))
    with qtbot.waitSignal(document.changed, timeout=10_000) as changed:
        document.set_assumptions({"a": "approve", "b": "reject"})
    assert changed.args == [None] and document.result is None and "share approval 'r'" in document.error


def test_only_the_newest_forecast_is_taken(qtbot):
    """Asked again before the first one is done (another pack, other assumptions): the older is dropped."""
    document = ForecastDocument()
    results = []
    document.changed.connect(results.append)
    first = preview_pack(load_pack(FLAKY_PACK))
    second = preview_pack(parse_pack(pack_text("steps:\n  - {id: only, run: {uses: builtin:noop}}")))
    document.set_preview(first)
    with qtbot.waitSignal(document.changed, timeout=10_000):
        document.set_preview(second)
    assert document.pending is False and [step.id for step in document.result.steps] == ["only"]
    qtbot.waitUntil(lambda: not document._tasks, timeout=10_000)  # the first one's result came, and was dropped
    assert [[step.id for step in r.steps] for r in results] == [["only"]]


def test_assumptions_are_saved_beside_the_inputs_file(tmp_path):
    inputs = tmp_path / "inputs.json"
    inputs.write_text("{}")
    assert load_assumptions(inputs) == ({}, {})
    path = save_assumptions(inputs, {"flaky": "fail:1"}, {"finish": 30})
    assert path == sidecar_path(inputs) == tmp_path / "inputs.assume.json"
    assert load_assumptions(inputs) == ({"flaky": "fail:1"}, {"finish": 30})
    path.write_text('{"assume": ["x"]}')
    with pytest.raises(AssumptionError, match="must be an object"):
        load_assumptions(inputs)
    path.write_text("{")
    with pytest.raises(AssumptionError, match="cannot be read"):
        load_assumptions(inputs)
