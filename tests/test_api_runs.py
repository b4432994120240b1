"""Running packs through the API: start, gates, policy, resume, cancel, shutdown (FastAPI test client)."""

import sys
import time

import pytest

fastapi = pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from conftest import RESOURCES_PACKS  # noqa: E402
from core.execution.host import HostOptions, RunHost  # noqa: E402
from core.execution.store import RunStore  # noqa: E402
from stella_desktop.api import create_app  # noqa: E402

RUNS = "/v1/task-runner/runs"
BASE = "http://127.0.0.1:8765"  # the Host the API answers (loopback)
RELEASE = (RESOURCES_PACKS / "release-approval.yaml").read_text()
HEADER = "apiVersion: stellaops.io/pack.v1\nkind: TaskPack\nmetadata: {name: api-run, version: 1.0.0}\n"
SLEEPY = HEADER + """spec:
  steps:
    - {id: first, run: {uses: builtin:echo, with: {n: 1}}}
    - id: fan
      map: {items: [1, 2, 3], maxParallel: 2, step: {id: nap, run: {uses: builtin:sleep, with: {seconds: 60}}}}
"""


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "store")


@pytest.fixture
def host(store):
    made = RunHost(store)
    yield made
    made.shutdown()


@pytest.fixture
def client(store, host):
    with TestClient(create_app(store, host=host), base_url=BASE) as made:
        yield made


def started(response) -> str:
    assert response.status_code == 202, response.text
    run_id = response.json()["runId"]
    assert response.headers["location"] == f"{RUNS}/{run_id}"
    return run_id


def running_anywhere(snapshot) -> list[str]:
    found = []

    def visit(steps):
        for step in steps:
            found.extend([step["stepId"]] if step["status"] == "running" else [])
            visit(step["children"])

    visit(snapshot["steps"])
    return found


def wait_for(client, run_id, predicate, timeout=60):
    """Poll the run's snapshot (another thread drives it; there is no signal to wait on)."""
    deadline = time.monotonic() + timeout
    while True:
        snapshot = client.get(f"{RUNS}/{run_id}").json()
        if predicate(snapshot):
            return snapshot
        assert time.monotonic() < deadline, snapshot["status"]
        time.sleep(0.02)


def test_a_pack_runs_through_its_gates_with_policy_and_resume(client, host, store):
    run_id = started(client.post(RUNS, json={"manifest": RELEASE, "inputs": {"version": "3.0.0"}}))
    assert host.wait(run_id, 60)
    assert client.get(f"{RUNS}/{run_id}").json()["status"] == "waiting"
    assert client.post(f"{RUNS}/{run_id}/approvals/release-signoff",
                       json={"decision": "approve", "decidedBy": "ann"}).status_code == 200
    assert client.post(f"{RUNS}/{run_id}/policy/guard", json={"decision": "allow", "decidedBy": "bob"}
                       ).status_code == 409  # not waiting there yet: the run has not been resumed
    started(client.post(f"{RUNS}/{run_id}/resume"))
    assert host.wait(run_id, 60)
    shown = client.post(f"{RUNS}/{run_id}/policy/guard", json={"decision": "allow", "decidedBy": "bob",
                                                               "reason": "in the window"})
    assert shown.status_code == 200 and shown.json()["policyDecisions"][0]["decidedBy"] == "bob"
    started(client.post(f"{RUNS}/{run_id}/resume"))
    assert host.wait(run_id, 60)
    snapshot = client.get(f"{RUNS}/{run_id}").json()
    assert snapshot["status"] == "succeeded" and snapshot["inputs"]["version"] == "3.0.0"
    assert (store.root / run_id / "workspace" / "releases" / "3.0.0.txt").read_text() == "app-3.0.0.tar.gz"
    assert client.post(f"{RUNS}/{run_id}/resume").status_code == 409  # nothing left to do


def test_a_policy_decision_reaches_a_run_the_server_is_driving(client, host):
    manifest = HEADER + """spec:
  steps:
    - id: both
      parallel:
        steps:
          - {id: guard, gate: {policy: {policy: p}}}
          - {id: slow, run: {uses: builtin:sleep, with: {seconds: 2}}}
"""
    run_id = started(client.post(RUNS, json={"manifest": manifest}))
    wait_for(client, run_id, lambda s: s["steps"][0]["children"][0]["statusReason"] == "awaiting policy decision")
    assert host.driven(run_id)
    response = client.post(f"{RUNS}/{run_id}/policy/guard", json={"decision": "allow", "decidedBy": "bob"})
    assert response.status_code == 200
    assert response.json()["steps"][0]["children"][0]["status"] == "succeeded"
    assert host.wait(run_id, 60)
    assert client.get(f"{RUNS}/{run_id}").json()["status"] == "succeeded"


def test_cancel_stops_a_running_run_and_a_resumed_one_with_nothing_left_running(client, host):
    run_id = started(client.post(RUNS, json={"manifest": SLEEPY}))
    wait_for(client, run_id, lambda s: len(running_anywhere(s)) == 3)  # the block and two naps
    response = client.post(f"{RUNS}/{run_id}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert host.wait(run_id, 60)
    snapshot = client.get(f"{RUNS}/{run_id}").json()
    assert snapshot["status"] == "cancelled" and running_anywhere(snapshot) == []
    started(client.post(f"{RUNS}/{run_id}/resume"))
    wait_for(client, run_id, lambda s: len(running_anywhere(s)) == 3)
    assert client.post(f"{RUNS}/{run_id}/cancel").status_code == 200
    assert host.wait(run_id, 60)
    assert running_anywhere(client.get(f"{RUNS}/{run_id}").json()) == []


def test_stopping_the_server_saves_driven_runs_interrupted_and_resumable(store, tmp_path):
    host = RunHost(store)
    with TestClient(create_app(store, host=host), base_url=BASE) as client:
        run_id = started(client.post(RUNS, json={"manifest": SLEEPY}))
        wait_for(client, run_id, lambda s: len(running_anywhere(s)) == 3)
    # the server stopped: nothing was lost, nothing is left running
    listed = {r["runId"]: r["status"] for r in TestClient(create_app(store), base_url=BASE).get(RUNS).json()}
    assert listed[run_id] == "interrupted"
    host = RunHost(store)
    with TestClient(create_app(store, host=host), base_url=BASE) as client:
        snapshot = client.get(f"{RUNS}/{run_id}").json()
        assert running_anywhere(snapshot) == []
        naps = snapshot["steps"][1]["children"]
        assert [n["attempts"] for n in naps] == [0, 0, 0]  # interrupted, no attempt used
        started(client.post(f"{RUNS}/{run_id}/resume"))
        wait_for(client, run_id, lambda s: len(running_anywhere(s)) == 3)
        client.post(f"{RUNS}/{run_id}/cancel")


def test_commands_run_only_when_the_server_allows_them(store):
    manifest = HEADER + f"""spec:
  steps:
    - {{id: hello, run: {{uses: builtin:command, with: {{argv: [{sys.executable!r}, -c, "print(42)"]}}}}}}
"""
    with TestClient(create_app(store), base_url=BASE) as client:
        refused = client.post(RUNS, json={"manifest": manifest})
        assert refused.status_code == 422 and "command execution is off" in refused.text
    host = RunHost(store, HostOptions(allow_commands=True))
    with TestClient(create_app(store, host=host), base_url=BASE) as client:
        run_id = started(client.post(RUNS, json={"manifest": manifest}))
        assert host.wait(run_id, 60)
        step = client.get(f"{RUNS}/{run_id}").json()["steps"][0]
        assert step["status"] == "succeeded" and step["outputs"]["stdout"] == "42\n"


def test_bad_requests_get_clear_answers(client, tmp_path):
    assert client.post(RUNS, json={"manifest": "not: [a pack"}).status_code == 422
    assert client.post(RUNS, json={"manifest": RELEASE, "inputs": {"version": 3}}).status_code == 422
    assert client.post(RUNS, json={"inputs": {}}).status_code == 422
    assert client.post(f"{RUNS}/missing/resume").status_code == 404
    assert client.post(f"{RUNS}/missing/cancel").status_code == 404
    assert client.post(f"{RUNS}/missing/policy/x", json={"decision": "allow", "decidedBy": "a"}).status_code == 404
    assert client.post(f"{RUNS}/missing/policy/x", json={"decision": "maybe", "decidedBy": "a"}).status_code == 422


def test_resume_refuses_a_run_whose_plan_changed(client, host, store):
    run_id = started(client.post(RUNS, json={"manifest": RELEASE}))
    assert host.wait(run_id, 60)
    manifest = next((store.root / ".manifests").iterdir())
    manifest.write_text(manifest.read_text().replace("default: 2.4.0", "default: 2.5.0"))
    response = client.post(f"{RUNS}/{run_id}/resume")
    assert response.status_code == 409 and "the plan changed since it was created" in response.json()["detail"]


def test_a_decision_sent_as_soon_as_the_run_pauses_waits_for_the_server_to_let_go_of_it(store, monkeypatch):
    """Found by the secret fuzzer: a client that saw 'waiting' and decided at once got 409 "locked by pid N
    (it is being driven by another process)", N being the server itself, while the driver thread that had
    just stopped driving the run was still closing it (shutting its backend down, then letting go of the lock)."""
    import threading

    from core.execution import host as host_module
    closing, release = threading.Event(), threading.Event()
    real_backend = host_module.make_backend

    def backend_that_closes_slowly(*args, **kwargs):
        backend = real_backend(*args, **kwargs)
        shutdown = backend.shutdown

        def held(*a, **k):  # holds the window between "no longer driven" and "run closed" open
            closing.set()
            release.wait(60)
            return shutdown(*a, **k)

        backend.shutdown = held
        return backend

    monkeypatch.setattr(host_module, "make_backend", backend_that_closes_slowly)
    host = RunHost(store)
    outcome = {}

    def decide(run_id):
        try:
            outcome["snapshot"] = host.approve(run_id, "signoff", "ann", "ok", True)
        except Exception as error:  # noqa: BLE001 - what the request would have answered
            outcome["error"] = error

    try:
        run_id = host.start(HEADER + """spec:
  approvals: [{id: signoff}]
  steps:
    - {id: gate, gate: {approval: {id: signoff}}}
    - {id: after, run: {uses: builtin:echo, with: {n: 1}}}
""", {})["runId"]
        assert closing.wait(60) and not host.driven(run_id)  # paused: no longer driven, not yet closed
        thread = threading.Thread(target=decide, args=(run_id,))
        thread.start()
        thread.join(0.5)  # the failure was immediate (RunLocked); the fix waits for the close instead
        assert "error" not in outcome, outcome
        release.set()
        thread.join(60)
        assert outcome["snapshot"]["approvals"][0]["status"] == "approved", outcome
    finally:
        release.set()
        host.shutdown()


def test_a_run_shown_paused_can_be_opened_at_once_by_another_process(store, monkeypatch):
    """Found by the secret fuzzer: the API showed 'waiting' while the server still held the run's lock, so
    `stella task-runner approve` run right then failed with exit 5 "locked by pid N" (N the server)."""
    import threading

    from core.execution import host as host_module
    closing, release = threading.Event(), threading.Event()
    real_backend = host_module.make_backend

    def backend_that_closes_slowly(*args, **kwargs):
        backend = real_backend(*args, **kwargs)
        shutdown = backend.shutdown

        def held(*a, **k):
            closing.set()
            release.wait(60)
            return shutdown(*a, **k)

        backend.shutdown = held
        return backend

    monkeypatch.setattr(host_module, "make_backend", backend_that_closes_slowly)
    host = RunHost(store)
    outcome = {}

    def show_then_open(run_id):
        outcome["status"] = host.snapshot(run_id)["status"]
        try:  # what the CLI does next: open (and lock) the run
            store.open(run_id).close()
            outcome["opened"] = True
        except Exception as error:  # noqa: BLE001
            outcome["error"] = error

    try:
        run_id = host.start(HEADER + """spec:
  approvals: [{id: signoff}]
  steps:
    - {id: gate, gate: {approval: {id: signoff}}}
""", {})["runId"]
        assert closing.wait(60)  # paused; the server has not let go of the run yet
        thread = threading.Thread(target=show_then_open, args=(run_id,))
        thread.start()
        thread.join(0.5)  # the failure was immediate (shown 'waiting', then RunLocked)
        assert "error" not in outcome, outcome
        release.set()
        thread.join(60)
        assert outcome == {"status": "waiting", "opened": True}, outcome
    finally:
        release.set()
        host.shutdown()
