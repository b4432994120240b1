"""Races on a run's decisions and cancel in the server (found by the attack review of 2026-12-06).

* A policy gate, once decided, cannot be decided again: a 'deny' recorded on a paused run was
  replaced by a later 'allow' (from anyone), and the resumed run went through the gate.
* A cancel sent while another request of the same server had the (paused) run open got 202
  "asked the process driving it to cancel" naming this very server, which drove nothing: the run
  stayed waiting, and the cancel request left in its folder cancelled it whenever it was next resumed.
"""

import threading

import pytest

from core.execution.host import RunHost
from core.execution.scheduler import DecisionError
from core.execution.store import RunStore

HEADER = "apiVersion: stellaops.io/pack.v1\nkind: TaskPack\nmetadata: {name: races, version: 1.0.0}\n"
GATED = HEADER + """spec:
  steps:
    - {id: guard, gate: {policy: {policy: p}}}
    - {id: after, run: {uses: builtin:echo, with: {n: 1}}}
"""


@pytest.fixture
def host(tmp_path):
    made = RunHost(RunStore(tmp_path / "store"))
    yield made
    made.shutdown()


def paused(host) -> str:
    run_id = host.start(GATED, {})["runId"]
    assert host.wait(run_id, 60)
    assert host.snapshot(run_id)["status"] == "waiting"
    return run_id


def test_a_denied_policy_gate_cannot_be_allowed_afterwards(host):
    run_id = paused(host)
    host.decide_policy(run_id, "guard", False, "bob", "not in the window")
    with pytest.raises(DecisionError, match="already decided: deny by bob"):
        host.decide_policy(run_id, "guard", True, "mallory", None)
    host.resume(run_id)
    assert host.wait(run_id, 60)
    snapshot = host.snapshot(run_id)
    assert snapshot["status"] == "failed"
    assert [d["decidedBy"] for d in snapshot["policyDecisions"]] == ["bob"]


def test_a_cancel_beside_a_request_of_the_same_server_cancels_and_leaves_no_request(host, tmp_path):
    run_id = paused(host)
    inside, go, results = threading.Event(), threading.Event(), {}

    def hold(run):  # another request of this server, with the run open (a decision, a snapshot...)
        inside.set()
        go.wait(30)

    holder = threading.Thread(target=lambda: host.with_run(run_id, hold))
    holder.start()
    assert inside.wait(30)

    def cancel():
        try:
            results["snapshot"] = host.cancel(run_id)
        except Exception as error:  # noqa: BLE001 - the test names what came back
            results["error"] = error

    canceller = threading.Thread(target=cancel)
    canceller.start()
    canceller.join(2)  # before the fix it had already failed by now; after it, it waits its turn
    go.set()
    holder.join(30)
    canceller.join(30)
    assert "error" not in results, results
    assert results["snapshot"]["status"] == "cancelled"
    assert not (tmp_path / "store" / run_id / "cancel-request").exists()


def test_a_driver_that_does_not_answer_is_a_json_503_that_says_so(tmp_path, monkeypatch):
    """Before: TimeoutError is an OSError, so the answer was 500 "run store problem: " (empty)."""
    from fastapi.testclient import TestClient

    from core.execution import host as host_module
    from stella_desktop.api import create_app
    monkeypatch.setattr(host_module, "CALL_TIMEOUT", 0.2)
    store = RunStore(tmp_path / "store")
    made = RunHost(store)
    manifest = HEADER + """spec:
  steps:
    - id: both
      parallel:
        steps:
          - {id: guard, gate: {policy: {policy: p}}}
          - {id: slow, run: {uses: builtin:sleep, with: {seconds: 60}}}
"""
    run_id = made.start(manifest, {})["runId"]
    release = threading.Event()
    busy = threading.Event()

    def stuck(driver):
        busy.set()
        release.wait(30)

    made._driven[run_id].driver.call(stuck)  # the driver thread is busy (a huge expansion, a stalled cluster)
    assert busy.wait(30)
    try:
        with TestClient(create_app(store, host=made), base_url="http://127.0.0.1:8765") as client:
            response = client.post(f"/v1/task-runner/runs/{run_id}/policy/guard",
                                   json={"decision": "allow", "decidedBy": "bob"})
            release.set()  # before the app's shutdown, which waits for the driver
            assert response.status_code == 503, response.text
            assert "did not answer" in response.json()["detail"] and response.headers["retry-after"] == "1"
    finally:
        release.set()
        made.shutdown()


def test_a_cancel_while_another_process_holds_the_run_a_moment_cancels_it(host, tmp_path):
    """The server's cancel met another process's short hold (a CLI `approve`): 202, and the request
    left behind cancelled the run at its next resume."""
    import subprocess
    import sys
    import time
    run_id = paused(host)
    store = tmp_path / "store"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from core.execution.store import RunStore; "
         f"handle = RunStore({str(store)!r}).open({run_id!r}); print('locked', flush=True); "
         "sys.stdin.readline(); handle.close()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    results = {}
    try:
        assert holder.stdout.readline().strip() == "locked"
        canceller = threading.Thread(target=lambda: results.update(snapshot=host.cancel(run_id)))
        canceller.start()
        deadline = time.monotonic() + 60
        while not (store / run_id / "cancel-request").exists() and canceller.is_alive():
            assert time.monotonic() < deadline
            time.sleep(0.02)
        holder.stdin.write("\n")
        holder.stdin.flush()
        canceller.join(60)
    finally:
        holder.kill()
        holder.wait()
    assert results.get("snapshot", {}).get("status") == "cancelled", results
    assert not (store / run_id / "cancel-request").exists()
