"""Property: a forecast says exactly what executing the pack does.

For random packs (sleeps, failures, gates, nested parallel blocks, maps,
retries, skips, run-time ``when``) and random assumptions, the same pack is
*executed*: a real run in a run store, its steps run by the real
``builtin:sleep`` and ``builtin:fail`` executors (failures as ``failTimes``,
skips as ``when: false``), gates decided by hand, time on a fake clock that
jumps to the next completion (a sleep's wait is recorded, not slept).
Every step's status and every attempt's start, end and result must equal
the forecast's.

Two attempts that end at the same virtual instant are reported in the
order they started, and both before the scheduler is asked what next: the
forecast's rule for simultaneous events, which a threaded run leaves to
chance.
"""

from __future__ import annotations

import itertools
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.execution.clock import FakeClock, parse_iso
from core.execution.run import ActiveRun
from core.execution.store import RunStore
from core.forecast import forecast
from core.manifest import load_pack
from core.simulation import preview_pack
from forecast_helpers import execute_virtually

SLEEPS = (0, 0.25, 1, 2, 3.5)


@dataclass
class Step:
    id: str
    kind: str                        # sleep | fail | approval | policy | parallel | map
    seconds: float = 0
    outcome: str = "succeed"         # the assumption: succeed, fail, fail:N, skip, approve, reject...
    gate_seconds: float = 0
    runtime_when: str | None = None  # a step id whose sleptSeconds decides this step at run time
    children: list["Step"] = field(default_factory=list)
    max_parallel: int | None = None
    continue_on_error: bool = False
    items: int = 0
    expires: bool = False


@st.composite
def run_steps(draw, ids, allow_skip=True) -> Step:
    step_id = f"s{next(ids)}"
    if draw(st.booleans()):
        step = Step(step_id, "sleep", seconds=draw(st.sampled_from(SLEEPS)))
    else:
        step = Step(step_id, "fail", outcome=draw(st.sampled_from(["fail", "fail:1", "fail:2", "succeed"])))
    if allow_skip and draw(st.integers(0, 6)) == 0:
        step.outcome = "skip"
    return step


@st.composite
def gates(draw, ids) -> Step:
    step_id = f"s{next(ids)}"
    if draw(st.booleans()):
        return Step(step_id, "approval", outcome=draw(st.sampled_from(["approve", "approve", "reject", "wait"])),
                    gate_seconds=draw(st.sampled_from([0, 1, 5])), expires=draw(st.booleans()))
    return Step(step_id, "policy", outcome=draw(st.sampled_from(["allow", "allow", "deny", "wait"])),
                gate_seconds=draw(st.sampled_from([0, 2])))


@st.composite
def blocks(draw, ids, depth: int) -> Step:
    if draw(st.booleans()):
        template = draw(run_steps(ids))
        return Step(f"s{next(ids)}", "map", children=[template], items=draw(st.integers(0, 3)),
                    max_parallel=draw(st.sampled_from([1, 2, 3])), continue_on_error=draw(st.booleans()))
    inner = [run_steps(ids), gates(ids)] + ([blocks(ids, depth + 1)] if depth < 1 else [])
    children = draw(st.lists(st.one_of(*inner), min_size=1, max_size=4))
    step = Step(f"s{next(ids)}", "parallel", children=children, max_parallel=draw(st.sampled_from([None, 1, 2])),
                continue_on_error=draw(st.booleans()))
    if draw(st.integers(0, 8)) == 0:
        step.outcome = "skip"
    return step


@st.composite
def packs(draw):
    ids = itertools.count()
    steps = draw(st.lists(st.one_of(run_steps(ids), gates(ids), blocks(ids, 0)), min_size=1, max_size=5))
    sleepers = []
    for step in steps:  # a later run step may be decided at run time by an earlier sleep's output
        if step.kind in ("sleep", "fail") and step.outcome != "skip" and sleepers and draw(st.booleans()):
            step.runtime_when = draw(st.sampled_from(sleepers))
        if step.kind == "sleep" and step.seconds >= 1 and step.outcome != "skip":
            sleepers.append(step.id)
    return steps, draw(st.integers(1, 3)), draw(st.sampled_from([0, 0.5, 2]))


def step_yaml(step: Step, executing: bool) -> dict:
    body: dict = {"id": step.id}
    if step.kind == "sleep":
        body["run"] = {"uses": "builtin:sleep", "with": {"seconds": step.seconds}}
    elif step.kind == "fail":
        times = {"fail": 99, "succeed": 0}.get(step.outcome)
        times = int(step.outcome.split(":")[1]) if times is None and ":" in step.outcome else times or 0
        body["run"] = {"uses": "builtin:fail", "with": {"failTimes": times}}
    elif step.kind == "approval":
        body["gate"] = {"approval": {"id": f"a-{step.id}"}}
    elif step.kind == "policy":
        body["gate"] = {"policy": {"policy": "p"}}
    elif step.kind == "parallel":
        body["parallel"] = {"steps": [step_yaml(child, executing) for child in step.children],
                            "continueOnError": step.continue_on_error}
        if step.max_parallel is not None:
            body["parallel"]["maxParallel"] = step.max_parallel
    else:
        body["map"] = {"items": list(range(step.items)), "maxParallel": step.max_parallel,
                       "continueOnError": step.continue_on_error, "step": step_yaml(step.children[0], executing)}
    if step.runtime_when:
        body["when"] = "{{ steps.%s.outputs.sleptSeconds }}" % step.runtime_when
    if executing and step.outcome == "skip":
        body["when"] = False
    return body


def manifest(steps: list[Step], attempts: int, backoff: float, executing: bool) -> str:
    approvals = [{"id": f"a-{s.id}", "grants": ["Packs.Approve"], **({"expiresAfter": "PT3S"} if s.expires else {})}
                 for s in walk(steps) if s.kind == "approval"]
    spec = {"steps": [step_yaml(step, executing) for step in steps],
            "failure": {"retries": {"maxAttempts": attempts, "backoffSeconds": backoff}}}
    if approvals:
        spec["approvals"] = approvals
    return yaml.safe_dump({"apiVersion": "stellaops.io/pack.v1", "kind": "TaskPack",
                           "metadata": {"name": "prop", "version": "1.0.0"}, "spec": spec}, sort_keys=False)


def walk(steps):
    for step in steps:
        yield step
        yield from walk(step.children)


def assumptions(steps: list[Step]) -> tuple[dict, dict]:
    """The forecast's assumptions (a map template's apply to all its children; none if it has none)."""
    assume, durations = {}, {}
    empty_templates = {s.children[0].id for s in walk(steps) if s.kind == "map" and not s.items}
    for step in walk(steps):
        if step.id in empty_templates:
            continue
        if step.kind == "fail" or step.outcome != "succeed":
            assume[step.id] = step.outcome
        if step.kind in ("approval", "policy"):
            durations[step.id] = step.gate_seconds
    return assume, durations


# -- executing the pack (tests/forecast_helpers.py) ----------------------------------------------------


def executed(run: ActiveRun, start) -> tuple[dict, dict, str, float]:
    """Per step: its status in the forecast's words and its attempts, from the journal alone."""
    attempts: dict[str, list] = {}
    since: dict[str, float] = {}
    ended = 0.0
    for record in run.handle.records:
        seconds = round((parse_iso(record["at"]) - start).total_seconds(), 6)
        if record["type"] == "gate":
            since[record["stepId"]] = seconds
        elif record["type"] == "run" and record["status"] in ("succeeded", "failed", "waiting"):
            ended = seconds
        elif record["type"] == "transition" and record["to"] == "running":
            attempts.setdefault(record["stepId"], []).append(
                [record["attempt"], since.pop(record["stepId"], seconds), None, None])
        elif record["type"] == "transition" and record["from"] == "running":
            attempts[record["stepId"]][-1][2:] = [seconds, "succeeded" if record["to"] == "succeeded" else "failed"]
    scheduler = run.scheduler
    statuses: dict[str, str] = {}
    for step_id in scheduler.graph.order():
        state, step = scheduler.states[step_id], scheduler.graph.step(step_id)
        parent = statuses.get(step.parent)
        if state.status == "succeeded":
            status = "succeeded"
        elif state.status == "failed":
            tolerant = step.parent and scheduler.graph.step(step.parent).continue_on_error
            status = "tolerated" if tolerant else "failed"
        elif state.status == "skipped":
            cut_off = state.reason == "run aborted" or state.reason.startswith("block '")
            if parent in ("skipped", "not-reached"):
                status = parent
            else:
                status = "not-reached" if cut_off and step_id not in attempts else "skipped"
        else:
            status = "waiting" if step_id in scheduler.waiting or state.status == "running" else "not-reached"
        statuses[step_id] = status
    return statuses, attempts, scheduler.status, ended


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(packs())
def test_the_forecast_matches_executing_the_pack(pack):
    steps, max_attempts, backoff = pack
    assume, durations = assumptions(steps)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / "forecast.yaml").write_text(manifest(steps, max_attempts, backoff, executing=False))
        (folder / "execute.yaml").write_text(manifest(steps, max_attempts, backoff, executing=True))
        preview = preview_pack(load_pack(folder / "forecast.yaml"))
        parents = {step.id: step.step.parent for step in preview.walk()}
        predicted = forecast(preview, assume, durations).to_json()
        gate_plan = {s.id: (s.outcome, s.gate_seconds) for s in walk(steps) if s.kind in ("approval", "policy")}
        run, clock = execute_virtually(folder / "execute.yaml", RunStore(folder / "runs"), gate_plan)
        statuses, attempts, status, ended = executed(run, FakeClock().now())
        run.close()
    for step in predicted["steps"]:
        if step["id"] not in statuses:  # inside a map under a step skipped by `when: false`: never planned
            ancestor = parents[step["id"]]
            while ancestor not in statuses:
                ancestor = parents[ancestor]
            assert (step["id"], step["status"], step["attempts"]) == (step["id"], statuses[ancestor], [])
            continue
        actual = [tuple(a) for a in attempts.get(step["id"], []) if a[3] is not None]
        forecast_attempts = [(a["attempt"], a["startSeconds"], a["endSeconds"], a["result"]) for a in step["attempts"]]
        assert (step["id"], step["status"], forecast_attempts) == (step["id"], statuses[step["id"]], actual)
    assert predicted["outcome"] == (status if status in ("succeeded", "failed") else "waiting")
    assert predicted["durationSeconds"] == ended
    assert [s["id"] for s in predicted["steps"] if s["id"] in statuses] == list(statuses)
