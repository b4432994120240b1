"""The forecast's command line and API contract (issue 15)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import FLAKY_PACK, pack_text
from stella_desktop.cli import main

STEP_KEYS = {"id", "status", "attempts", "durationSource", "whenAssumed"}
ATTEMPT_KEYS = {"attempt", "startSeconds", "endSeconds", "result"}


def simulate(capsys, *args) -> tuple[int, str, str]:
    code = main(["task-runner", "simulate", "--manifest", str(FLAKY_PACK), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_forecast_json_adds_one_key_and_changes_nothing_else(capsys):
    _, plain, _ = simulate(capsys, "--format", "json")
    code, text, _ = simulate(capsys, "--format", "json", "--forecast")
    assert code == 0
    document = json.loads(text)
    forecast = document.pop("forecast")
    assert document == json.loads(plain)  # the plan hash included: it does not depend on the forecast
    assert set(forecast) == {"assumptions", "outcome", "durationSeconds", "criticalPath", "steps"}
    assert forecast["assumptions"] == {} and forecast["outcome"] == "succeeded"
    preview_ids = []
    stack = list(reversed(document["steps"]))
    while stack:
        step = stack.pop()
        preview_ids.append(step["id"])
        stack.extend(reversed(step["children"]))
    assert [step["id"] for step in forecast["steps"]] == preview_ids  # every step, in preview order
    for step in forecast["steps"]:
        assert set(step) == STEP_KEYS
        for attempt in step["attempts"]:
            assert set(attempt) == ATTEMPT_KEYS and isinstance(attempt["startSeconds"], float)
    # prepare sleeps 0.2 s; the checks block's two sleeps of 0.3 s run side by side
    assert forecast["durationSeconds"] == 0.5 and forecast["criticalPath"][0] == "prepare"


def test_assume_implies_forecast_and_is_repeatable(capsys):
    code, text, _ = simulate(capsys, "--format", "json", "--assume", "flaky=fail:1", "--assume", "process=fail")
    forecast = json.loads(text)["forecast"]
    assert code == 0 and forecast["assumptions"] == {"flaky": "fail:1", "process": "fail"}
    steps = {step["id"]: step for step in forecast["steps"]}
    # flaky fails at 0.2 and retries after the pack's 1 s backoff
    assert [(a["startSeconds"], a["result"]) for a in steps["flaky"]["attempts"]] == [(0.2, "failed"),
                                                                                       (1.2, "succeeded")]
    assert steps["shard[0]::process"]["status"] == "failed" and forecast["outcome"] == "failed"


def test_duration_implies_forecast(capsys):
    code, text, _ = simulate(capsys, "--format", "json", "--duration", "finish=60")
    forecast = json.loads(text)["forecast"]
    finish = next(step for step in forecast["steps"] if step["id"] == "finish")
    assert code == 0 and finish["durationSource"] == "given" and forecast["durationSeconds"] == 60.5


@pytest.mark.parametrize("args, message", [
    (["--assume", "nope=fail"], "unknown step 'nope'; steps: prepare, flaky, checks"),
    (["--assume", "flaky=approve"], "choose one of: succeed, fail, fail:N, skip"),
    (["--assume", "checks=fail"], "parallel block 'checks'; choose one of: skip"),
    (["--assume", "flaky"], "--assume 'flaky' must be STEP=VALUE"),
    (["--duration", "flaky=soon"], "is not a number of seconds"),
    (["--store", "somewhere"], "--store gives durations to a forecast"),
])
def test_usage_errors_exit_2_and_name_the_choices(capsys, args, message):
    code, out, err = simulate(capsys, *args)
    assert code == 2 and out == "" and message in err and "Traceback" not in err


def test_table_adds_a_timeline_and_an_outcome_line(capsys):
    code, text, _ = simulate(capsys, "--assume", "flaky=fail")
    assert code == 0
    assert "STEP" in text and "TIMELINE" in text
    rows = {line.split()[0]: line for line in text.splitlines() if line.strip()}
    assert rows["flaky"].rstrip().endswith("failed") and "x" in rows["flaky"]
    assert rows["finish"].rstrip().endswith("not-reached")
    assert text.rstrip().splitlines()[-1] == ("forecast: the run fails after 2.2 s  ·  assumed: flaky=fail  ·  "
                                              "critical path: prepare -> flaky")


def test_output_file_holds_the_forecast_too(capsys, tmp_path):
    target = tmp_path / "preview.json"
    code, _, _ = simulate(capsys, "--forecast", "--output", str(target))
    assert code == 0 and "forecast" in json.loads(target.read_text())


def _modules_after(args: list[str]) -> set[str]:
    probe = (
        "import sys\n"
        "from stella_desktop.cli import main\n"
        f"code = main(['task-runner', 'simulate', '--manifest', {str(FLAKY_PACK)!r}, '--format', 'json', *{args!r}])\n"
        "print('MODULES', ' '.join(sorted(m for m in sys.modules if m.startswith('core.'))), file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stderr.splitlines() if line.startswith("MODULES"))
    return set(line.split()[1:])


def test_plain_simulate_never_imports_the_execution_machinery():
    assert not {m for m in _modules_after([]) if m.startswith(("core.execution", "core.forecast"))}
    assert {"core.forecast", "core.execution.scheduler"} <= _modules_after(["--forecast"])


# -- the API -----------------------------------------------------------------------------------

HISTORY = """
steps:
  - {id: compile, run: {uses: builtin:noop}}
  - id: sign-off
    gate: {approval: {id: release}}
  - {id: ship, run: {uses: builtin:noop}}
approvals:
  - {id: release, grants: [Packs.Approve]}
"""


def test_the_api_answers_exactly_the_cli_json_with_history_from_its_store(tmp_path, write_pack):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from core.execution.clock import FakeClock
    from core.execution.run import ActiveRun
    from core.execution.store import RunStore
    from stella_desktop.api import create_app

    manifest = write_pack(HISTORY)
    store = RunStore(tmp_path / "runs")
    clock = FakeClock()
    run = ActiveRun.create(store, manifest, clock=clock)
    scheduler = run.scheduler
    scheduler.start()
    (step,) = scheduler.advance()
    clock.advance(12)
    scheduler.complete(step.id)
    scheduler.advance()
    scheduler.approve("release", "me")
    (step,) = scheduler.advance()
    scheduler.complete(step.id)
    scheduler.advance()
    assert scheduler.status == "succeeded"
    run.close()

    args = ["task-runner", "simulate", "--manifest", str(manifest), "--format", "json", "--store", str(store.root),
            "--assume", "sign-off=reject", "--duration", "sign-off=30"]
    cli = subprocess.run([sys.executable, "-m", "stella_desktop.cli", *args], capture_output=True, text=True,
                         timeout=60)
    assert cli.returncode == 0, cli.stderr
    client = TestClient(create_app(store), base_url="http://127.0.0.1:8765")  # a loopback Host
    response = client.post("/v1/task-runner/simulations", json={
        "manifest": pack_text(HISTORY), "forecast": True, "assume": {"sign-off": "reject"},
        "durations": {"sign-off": 30}})
    assert response.status_code == 200 and response.text == cli.stdout
    forecast = response.json()["forecast"]
    steps = {step["id"]: step for step in forecast["steps"]}
    assert steps["compile"]["durationSource"] == "history"
    assert steps["sign-off"]["attempts"] == [{"attempt": 1, "startSeconds": 12.0, "endSeconds": 42.0,
                                              "result": "failed"}]
    assert forecast["outcome"] == "failed" and forecast["durationSeconds"] == 42.0

    plain = client.post("/v1/task-runner/simulations", json={"manifest": pack_text(HISTORY)})
    assert "forecast" not in plain.json()
    wrong = client.post("/v1/task-runner/simulations", json={"manifest": pack_text(HISTORY),
                                                              "assume": {"sign-off": "deny"}})
    assert wrong.status_code == 400
    assert "choose one of: approve, reject, wait, skip" in wrong.json()["detail"]


def test_a_long_critical_path_is_abbreviated_in_the_outcome_line_not_in_the_json():
    from dataclasses import replace

    from core.forecast.timeline import outcome_line
    from core.forecast import forecast
    from core.manifest import parse_pack
    from core.plan import build_plan
    from core.simulation import simulate
    steps = "".join(f"    - {{id: s{i}, run: {{uses: builtin:noop}}}}\n" for i in range(30))
    text = f"apiVersion: stellaops.io/pack.v1\nkind: TaskPack\nmetadata: {{name: long, version: 1.0.0}}\nspec:\n  steps:\n{steps}"
    result = forecast(simulate(build_plan(parse_pack(text), {})))
    assert len(result.critical_path) == 30 and result.to_json()["criticalPath"][-1] == "s29"
    line = outcome_line(result)
    assert "critical path: s0 -> s1 -> s2 -> s3 -> … 22 more … -> s26 -> s27 -> s28 -> s29" in line
    short = outcome_line(replace(result, critical_path=result.critical_path[:9]))
    assert short.endswith("critical path: " + " -> ".join(f"s{i}" for i in range(9)))
