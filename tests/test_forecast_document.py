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
    document.set_preview(preview_pack(load_pack(FLAKY_PACK)))
    assert results[-1].outcome == "succeeded"
    document.assume("flaky", "fail")
    assert results[-1].outcome == "failed" and document.current("flaky") == "fail"
    document.assume("process", "fail:1")
    document.assume("flaky", None)
    assert document.assumptions == {"process": "fail:1"} and results[-1].outcome == "succeeded"
    other = preview_pack(parse_pack(pack_text("steps:\n  - {id: flaky, gate: {policy: {policy: p}}}")))
    document.assume("flaky", "fail")
    with qtbot.waitSignal(document.dropped) as dropped:
        document.set_preview(other)
    assert "flaky=fail" in dropped.args[0] and "process=fail:1" in dropped.args[0]
    assert document.assumptions == {} and results[-1].outcome == "succeeded"


def test_a_conflict_between_gates_is_an_error_not_a_crash():
    document = ForecastDocument()
    document.set_preview(preview_pack(parse_pack(pack_text("""
    approvals: [{id: r, grants: [x]}]
    steps:
      - {id: a, gate: {approval: {id: r}}}
      - {id: b, gate: {approval: {id: r}}}
    """))))
    document.set_assumptions({"a": "approve", "b": "reject"})
    assert document.result is None and "share approval 'r'" in document.error


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
