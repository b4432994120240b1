"""``stella task-runner run`` and friends, as a user runs them (separate processes)."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import FLAKY_PACK, SBOM_PACK

RELEASE = FLAKY_PACK.parent / "release-approval.yaml"


@pytest.fixture
def store(tmp_path):
    return tmp_path / "store"


def stella(*args, store=None, env=None, **kwargs) -> subprocess.CompletedProcess:
    environment = dict(os.environ, QT_QPA_PLATFORM="offscreen", **(env or {}))
    extra = ["--store", str(store)] if store else []
    return subprocess.run([sys.executable, "-m", "stella_desktop.cli", "task-runner", *args, *extra],
                          capture_output=True, text=True, timeout=120, env=environment, **kwargs)


@pytest.fixture(params=["threads", "dask"])
def backend(request) -> list[str]:
    """The options that pick a backend for run and resume (dask: this module's LocalCluster).

    The CLI's crash, gate and drift paths run on both headless backends; every other execution
    semantic is checked on all three backends in process (tests/test_backends.py)."""
    if request.param == "threads":
        return []
    client = request.getfixturevalue("dask_client")
    return ["--backend", "dask", "--scheduler", client.scheduler.address]


def only_run(store) -> str:
    (run_id,) = os.listdir(store)
    return run_id


def write(tmp_path, text, name="pack.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_flaky_pack_retries_and_succeeds_with_json_snapshot(store, backend):
    result = stella("run", "--manifest", str(FLAKY_PACK), "--format", "json", *backend, store=store)
    assert result.returncode == 0, result.stderr
    snapshot = json.loads(result.stdout)
    assert snapshot["status"] == "succeeded" and snapshot["runId"] == only_run(store)
    steps = {s["stepId"]: s for s in snapshot["steps"]}
    assert steps["flaky"]["attempts"] == 2
    broken = next(c for c in steps["checks"]["children"] if c["stepId"] == "check-broken")
    assert broken["status"] == "failed" and broken["attempts"] == 3
    retry = next(e for e in snapshot["events"] if e["stepId"] == "flaky" and e["to"] == "pending")
    waited = (time.mktime(time.strptime(retry["nextAttemptAt"][:19], "%Y-%m-%dT%H:%M:%S"))
              - time.mktime(time.strptime(retry["at"][:19], "%Y-%m-%dT%H:%M:%S")))
    assert 0 <= waited <= 2  # backoffSeconds: 1
    restart = next(e for e in snapshot["events"] if e["stepId"] == "flaky" and e["attempt"] == 2)
    assert restart["at"] >= retry["nextAttemptAt"]  # never before its window
    for key in ("manifestPath", "planHash", "inputs", "failurePolicy", "createdAt", "updatedAt",
                "approvals", "policyDecisions"):
        assert key in snapshot


def test_exhausted_attempts_exit_1_and_skip_the_rest(store, tmp_path):
    pack = write(tmp_path, """
apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {name: doomed, version: 1.0.0}
spec:
  steps:
    - {id: a, run: {uses: builtin:fail, with: {failTimes: 5, message: down}}}
    - {id: b, run: {uses: builtin:noop}}
  failure: {retries: {maxAttempts: 2, backoffSeconds: 0}}
""")
    result = stella("run", "--manifest", str(pack), "--format", "json", store=store)
    assert result.returncode == 1
    steps = {s["stepId"]: s for s in json.loads(result.stdout)["steps"]}
    assert steps["a"]["statusReason"] == "failed after 2 attempts: down"
    assert (steps["b"]["status"], steps["b"]["statusReason"]) == ("skipped", "run aborted")


def test_gate_pauses_with_exit_4_then_approve_decide_and_resume(store, backend):
    result = stella("run", "--manifest", str(RELEASE), *backend, store=store)
    assert result.returncode == 4, result.stderr
    run_id = only_run(store)
    assert f"stella task-runner approve {run_id} release-signoff --by NAME" in result.stderr
    assert stella("approve", run_id, "nope", "--by", "ann", store=store).returncode == 2
    assert stella("approve", run_id, "release-signoff", "--by", "ann", "--reason", "ok", store=store).returncode == 0
    assert stella("resume", run_id, *backend, store=store).returncode == 4  # now at the policy gate
    assert stella("decide", run_id, "guard", "allow", "--by", "bob", store=store).returncode == 0
    result = stella("resume", run_id, "--format", "json", *backend, store=store)
    assert result.returncode == 0, result.stderr
    snapshot = json.loads(result.stdout)
    assert snapshot["approvals"][0]["decidedBy"] == "ann" and snapshot["policyDecisions"][0]["decision"] == "allow"
    assert (store / run_id / "workspace" / "releases" / "2.4.0.txt").read_text() == "app-2.4.0.tar.gz"


def test_a_policy_decision_cannot_be_changed_before_resume(store):
    """Found by the attack review (2026-12-06): a 'deny' was replaced by a later 'allow'."""
    assert stella("run", "--manifest", str(RELEASE), store=store).returncode == 4
    run_id = only_run(store)
    assert stella("approve", run_id, "release-signoff", "--by", "ann", store=store).returncode == 0
    assert stella("resume", run_id, store=store).returncode == 4  # at the policy gate
    assert stella("decide", run_id, "guard", "deny", "--by", "bob", store=store).returncode == 0
    result = stella("decide", run_id, "guard", "allow", "--by", "mallory", store=store)
    assert result.returncode == 2 and "already decided: deny by bob" in result.stderr
    assert stella("resume", run_id, store=store).returncode == 1  # the gate is denied: the run fails


def test_cancel_while_another_command_holds_the_run_a_moment_cancels_it_and_leaves_no_request(store):
    """Found by the attack review (2026-12-06): `cancel` beside another terminal's `approve` said
    "asked the process driving it", though nothing drove the run, and left a cancel request that
    cancelled the run whenever it was next resumed."""
    assert stella("run", "--manifest", str(RELEASE), store=store).returncode == 4
    run_id = only_run(store)
    holder = subprocess.Popen(  # another command with the run open (locked) for a moment, driving nothing
        [sys.executable, "-c", "import sys; from core.execution.store import RunStore; "
         f"handle = RunStore({str(store)!r}).open({run_id!r}); print('locked', flush=True); "
         "sys.stdin.readline(); handle.close()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        cancel = subprocess.Popen([sys.executable, "-m", "stella_desktop.cli", "task-runner", "cancel", run_id,
                                   "--store", str(store)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not (store / run_id / "cancel-request").exists() and cancel.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        holder.stdin.write("\n")
        holder.stdin.flush()
        _, err = cancel.communicate(timeout=60)
    finally:
        holder.kill()
        holder.wait()
    assert cancel.returncode == 0, err
    assert not (store / run_id / "cancel-request").exists()
    shown = stella("runs", "show", run_id, "--format", "json", store=store)
    assert json.loads(shown.stdout)["status"] == "cancelled"


def test_rejected_approval_fails_the_run(store):
    stella("run", "--manifest", str(RELEASE), store=store)
    run_id = only_run(store)
    assert stella("reject", run_id, "release-signoff", "--by", "ann", store=store).returncode == 0
    result = stella("resume", run_id, "--format", "json", store=store)
    assert result.returncode == 1
    assert json.loads(result.stdout)["steps"][1]["statusReason"] == "rejected by ann"


def test_preflight_refuses_steps_without_executors_before_anything_runs(store):
    result = stella("run", "--manifest", str(SBOM_PACK), "--inputs", str(SBOM_PACK.parent / "inputs.json"),
                    store=store)
    assert result.returncode == 3
    assert "'builtin:validate-schema' cannot run: no executor is installed for it" in result.stderr
    assert "secret 'jiraToken' is needed but not set" in result.stderr
    assert not store.exists() or os.listdir(store) == []


def test_commands_need_allow_commands(store, tmp_path):
    pack = write(tmp_path, f"""
apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {{name: cmd, version: 1.0.0}}
spec:
  secrets: [{{name: token}}]
  steps:
    - id: hello
      run: {{uses: builtin:command, with: {{argv: [{sys.executable!r}, -c, "import sys; print(sys.argv[1])", "{{{{ secrets.token }}}}"]}}}}
""")
    refused = stella("run", "--manifest", str(pack), store=store, env={"STELLA_SECRET_token": "s3cr3t-value"})
    assert refused.returncode == 3 and "command execution is off" in refused.stderr
    result = stella("run", "--manifest", str(pack), "--allow-commands", "--format", "json", store=store,
                    env={"STELLA_SECRET_token": "s3cr3t-value"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["steps"][0]["outputs"]["stdout"] == "***\n"
    assert "s3cr3t-value" not in result.stdout + result.stderr  # nor in what the CLI printed
    shown = stella("runs", "show", os.listdir(store)[0], "--format", "json", store=store)
    assert "s3cr3t-value" not in shown.stdout
    for root, _, files in os.walk(store):
        for name in files:
            assert b"s3cr3t-value" not in open(os.path.join(root, name), "rb").read()


SLOW = """
apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {name: slow, version: 1.0.0}
spec:
  steps:
    - {id: first, run: {uses: builtin:echo, with: {n: 1}}}
    - id: fan
      parallel:
        maxParallel: 2
        steps:
          - {id: s1, run: {uses: builtin:sleep, with: {seconds: 0.3}}}
          - {id: s2, run: {uses: builtin:sleep, with: {seconds: 0.3}}}
          - {id: s3, run: {uses: builtin:sleep, with: {seconds: 0.3}}}
    - {id: last, run: {uses: builtin:echo, with: {n: 2}}}
"""


def test_sigkill_mid_step_then_resume_never_reruns_finished_steps(store, tmp_path, backend):
    pack = write(tmp_path, SLOW)
    environment = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    process = subprocess.Popen([sys.executable, "-m", "stella_desktop.cli", "task-runner", "run", "--manifest",
                                str(pack), "--store", str(store), *backend], stderr=subprocess.PIPE, text=True,
                               stdout=subprocess.DEVNULL, env=environment)
    for line in process.stderr:  # kill it while s1 and s2 sleep
        if "s2: pending -> running" in line:
            break
    process.send_signal(signal.SIGKILL)
    process.wait()
    run_id = only_run(store)
    result = stella("resume", run_id, "--format", "json", *backend, store=store)
    assert result.returncode == 0, result.stderr
    events = json.loads(result.stdout)["events"]
    succeeded = [e["stepId"] for e in events if e["to"] == "succeeded"]
    assert len(succeeded) == len(set(succeeded))  # nothing succeeded twice
    assert [e for e in events if e["stepId"] == "first" and e["to"] == "running"][1:] == []
    interrupted = [e for e in events if e["reason"] == "interrupted"]
    assert {e["stepId"] for e in interrupted} >= {"s1", "s2"}
    assert all(e["attempt"] == 0 for e in interrupted)


def test_resume_refuses_a_changed_manifest(store, tmp_path, backend):
    pack = write(tmp_path, SLOW.replace("seconds: 0.3", "seconds: 0"))
    stella("run", "--manifest", str(pack), *backend, store=store)
    run_id = only_run(store)
    pack.write_text(pack.read_text().replace("n: 2", "n: 3"))
    result = stella("resume", run_id, *backend, store=store)
    assert result.returncode == 3
    assert "the plan changed since it was created (run: sha256:" in result.stderr and "manifest now: sha256:" in result.stderr


def test_runs_list_and_show(store):
    stella("run", "--manifest", str(RELEASE), store=store)
    run_id = only_run(store)
    listed = json.loads(stella("runs", "list", "--format", "json", store=store).stdout)
    assert [(r["runId"], r["status"], r["pack"]["name"]) for r in listed] == [(run_id, "waiting", "release-approval")]
    shown = stella("runs", "show", run_id, store=store)
    assert shown.returncode == 0 and "awaiting approval" in shown.stdout
    assert stella("runs", "show", "../../etc", store=store).returncode == 5
    assert stella("runs", "show", "missing-run", store=store).returncode == 5


def test_cancel_a_paused_run_and_resume_it(store):
    stella("run", "--manifest", str(RELEASE), store=store)
    run_id = only_run(store)
    assert stella("cancel", run_id, store=store).returncode == 0
    listed = json.loads(stella("runs", "list", "--format", "json", store=store).stdout)
    assert listed[0]["status"] == "cancelled"
    assert stella("resume", run_id, store=store).returncode == 4  # back at its gate


def test_templated_write_paths_cannot_leave_the_workspace(store, tmp_path):
    pack = write(tmp_path, """
apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {name: escape, version: 1.0.0}
spec:
  inputs: [{name: target, type: string, default: "../../escaped.txt"}]
  steps:
    - {id: write, run: {uses: builtin:write-file, with: {path: "{{ inputs.target }}", content: x}}}
""")
    result = stella("run", "--manifest", str(pack), "--format", "json", store=store)
    assert result.returncode == 1
    step = json.loads(result.stdout)["steps"][0]
    assert "path '../../escaped.txt' leaves the run's workspace" in step["statusReason"]
    assert not list(tmp_path.rglob("escaped.txt"))


@pytest.mark.parametrize("action", ["run", "resume"])
def test_running_a_pack_never_imports_qt(store, action):
    first = stella("run", "--manifest", str(RELEASE), store=store) if action == "resume" else None
    target = ["resume", only_run(store)] if first else ["run", "--manifest", str(RELEASE)]
    probe = (
        "import sys\n"
        "from stella_desktop.cli import main\n"
        f"code = main(['task-runner', *{target!r}, '--store', {str(store)!r}])\n"
        "qt = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6'))\n"
        "print('QT-MODULES', qt, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    assert result.returncode == 4, result.stderr  # it ran up to its approval gate
    assert "QT-MODULES []" in result.stderr


def test_workspace_root_holds_each_runs_files(store, tmp_path, backend):
    pack = write(tmp_path, """
apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {name: files, version: 1.0.0}
spec:
  steps:
    - {id: note, run: {uses: builtin:write-file, with: {path: out/note.txt, content: shared}}}
""")
    shared = tmp_path / "shared-workspaces"
    result = stella("run", "--manifest", str(pack), "--workspace-root", str(shared), *backend, store=store)
    assert result.returncode == 0, result.stderr
    run_id = only_run(store)
    assert (shared / run_id / "out" / "note.txt").read_text() == "shared"
    assert not (store / run_id / "workspace" / "out").exists()


@pytest.mark.parametrize("option", ["--by", "--reason"])
def test_a_decision_text_that_is_not_utf8_is_a_usage_error_not_exit_70(tmp_path, option):
    """Attack review: bytes that are not UTF-8 in --by or --reason reach Python as lone surrogates, which
    the journal's JSON cannot hold: `approve` crashed with exit 70 on a waiting run."""
    store = tmp_path / "store"
    assert stella("run", "--manifest", str(RELEASE), store=store).returncode == 4  # waiting for the approval
    run_id = only_run(store)
    values = {"--by": b"me", "--reason": b"ok"}
    values[option] = b"bad\xff"
    command = [sys.executable.encode(), b"-m", b"stella_desktop.cli", b"task-runner", b"approve", run_id.encode(),
               b"release-signoff", b"--by", values["--by"], b"--reason", values["--reason"],
               b"--store", str(store).encode()]
    result = subprocess.run(command, capture_output=True, timeout=120)
    assert result.returncode == 2 and b"not valid UTF-8" in result.stderr, result.stderr
    assert "waiting" in stella("runs", "show", run_id, store=store).stdout.lower()


def test_a_manifest_path_that_is_not_utf8_is_a_usage_error_not_exit_70(tmp_path):
    """Attack review: `run --manifest b<0xff>.yaml` crashed writing run.json (the path is recorded), exit 70."""
    manifest = os.path.join(os.fsencode(tmp_path), b"b\xff.yaml")
    with open(manifest, "wb") as stream:
        stream.write(FLAKY_PACK.read_bytes())
    command = [sys.executable.encode(), b"-m", b"stella_desktop.cli", b"task-runner", b"run", b"--manifest", manifest,
               b"--store", os.fsencode(tmp_path / "store")]
    result = subprocess.run(command, capture_output=True, timeout=120)
    assert result.returncode == 2 and b"not valid UTF-8" in result.stderr, result.stderr
