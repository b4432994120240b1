"""Issue 10, item 10: a damaged or read-only store is exit 5 in the CLI and a JSON 500 in the API.

Before the fix each case below was exit 70 ("internal error") or a plain-text
"Internal Server Error": a read-only store with an existing run (approve,
resume, cancel), the lock file or the journal replaced by a folder, and a
checksummed journal record the state machine cannot apply.
"""

import json
import shutil
import subprocess
import sys

import pytest

from conftest import RESOURCES_PACKS
from core.execution.store import RunStore, encode_record
from stella_desktop.cli import main

RELEASE = RESOURCES_PACKS / "release-approval.yaml"


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A store with one run waiting for approval 'release-signoff' (copied for each test)."""
    root = tmp_path_factory.mktemp("damage") / "store"
    subprocess.run([sys.executable, "-m", "stella_desktop.cli", "task-runner", "run", "--manifest", str(RELEASE),
                    "--store", str(root)], capture_output=True, check=False)
    (run_id,) = RunStore(root).run_ids()
    return root, run_id


@pytest.fixture
def store(template, tmp_path):
    root, run_id = template
    shutil.copytree(root, tmp_path / "store", symlinks=True)
    return tmp_path / "store", run_id


def stella(capsys, *args) -> tuple[int, str]:
    code = main(["task-runner", *args])
    captured = capsys.readouterr()
    return code, captured.err


COMMANDS = {
    "approve": lambda run_id: ["approve", run_id, "release-signoff", "--by", "ann"],
    "resume": lambda run_id: ["resume", run_id],
    "cancel": lambda run_id: ["cancel", run_id],
    "show": lambda run_id: ["runs", "show", run_id],
}


def check_exit_5(capsys, root, run_id, commands, expected: str) -> None:
    for name in commands:
        code, err = stella(capsys, *COMMANDS[name](run_id), "--store", str(root))
        assert code == 5, (name, err)
        assert expected in err and "internal error" not in err and "Traceback" not in err, (name, err)


def api_answer(root, method: str, path: str) -> tuple[int, dict]:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from stella_desktop.api import create_app
    client = TestClient(create_app(RunStore(root)), base_url="http://127.0.0.1:8765", raise_server_exceptions=False)
    body = {"decision": "approve", "decidedBy": "ann"} if method == "POST" else None
    response = client.request(method, path, json=body)
    assert response.headers["content-type"] == "application/json", response.text
    return response.status_code, response.json()


def approval_url(run_id):
    return f"/v1/task-runner/runs/{run_id}/approvals/release-signoff"


def test_the_lock_file_replaced_by_a_folder(capsys, store):
    root, run_id = store
    (root / run_id / "lock").unlink(missing_ok=True)
    (root / run_id / "lock").mkdir()
    check_exit_5(capsys, root, run_id, ["approve", "resume", "cancel"], "Is a directory")
    status, body = api_answer(root, "POST", approval_url(run_id))
    assert status == 500 and "Is a directory" in body["detail"]


def test_the_journal_replaced_by_a_folder(capsys, store):
    root, run_id = store
    (root / run_id / "journal.jsonl").unlink()
    (root / run_id / "journal.jsonl").mkdir()
    (root / run_id / "snapshot.json").unlink()
    check_exit_5(capsys, root, run_id, ["approve", "resume", "cancel", "show"], "journal.jsonl cannot be read")
    for method, path in (("POST", approval_url(run_id)), ("GET", f"/v1/task-runner/runs/{run_id}")):
        status, body = api_answer(root, method, path)
        assert status == 500 and "journal.jsonl cannot be read" in body["detail"], path
    assert main(["task-runner", "runs", "list", "--store", str(root)]) == 0
    assert "damaged" in capsys.readouterr().out


def _append(root, run_id, record) -> None:
    path = root / run_id / "journal.jsonl"
    previous = int(path.read_bytes().splitlines()[-1][:8], 16)  # a well-chained line (core/execution/journal.py)
    with open(path, "ab") as journal:
        journal.write(encode_record(record, previous))
    (root / run_id / "snapshot.json").unlink(missing_ok=True)


@pytest.mark.parametrize("record, expected", [
    ({"type": "bogus", "at": "2026-01-01T00:00:00Z"}, "unknown record type 'bogus'"),
    ({"type": "transition", "stepId": "nope", "from": "pending", "to": "running", "attempt": 1,
      "at": "2026-01-01T00:00:00Z"}, "unknown 'nope'"),
    ({"type": "approval", "approvalId": "nope", "status": "approved", "at": "2026-01-01T00:00:00Z"}, "unknown 'nope'"),
    ({"type": "gate", "stepId": "deploy"}, "cannot be replayed"),
    ({"type": "transition", "stepId": "build", "from": "pending", "to": "running", "attempt": 1,
      "at": "2026-01-01T00:00:00Z"}, "is succeeded, not pending"),
    ({"type": "run"}, "cannot be replayed"),
    ({"no": "type"}, "is not a record"),
])
def test_a_checksummed_record_the_run_cannot_apply(capsys, store, record, expected):
    root, run_id = store
    _append(root, run_id, record)
    check_exit_5(capsys, root, run_id, ["approve", "resume", "cancel", "show"], expected)
    status, body = api_answer(root, "GET", f"/v1/task-runner/runs/{run_id}")
    assert status == 500 and expected in body["detail"]
    status, body = api_answer(root, "POST", approval_url(run_id))
    assert status == 500 and expected in body["detail"]
    assert main(["task-runner", "runs", "list", "--store", str(root), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["runId"] == run_id  # the list keeps working


@pytest.fixture
def read_only_store(store, tmp_path):
    root, run_id = store
    mount = tmp_path / "ro"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        subprocess.run(["cp", "-a", str(root), str(mount)], check=True)
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        yield mount / "store", run_id
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_read_only_store_with_an_existing_run(capsys, read_only_store):
    root, run_id = read_only_store
    check_exit_5(capsys, root, run_id, ["approve", "resume", "cancel"], "Read-only file system")
    code, _ = stella(capsys, "runs", "show", run_id, "--store", str(root))
    assert code == 0  # reading still works
    status, body = api_answer(root, "POST", approval_url(run_id))
    assert status == 500 and "Read-only file system" in body["detail"]
    status, _ = api_answer(root, "GET", f"/v1/task-runner/runs/{run_id}")
    assert status == 200


def test_endpoints_added_later_inherit_json_errors(tmp_path):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from core.execution.store import RunLocked, RunNotFound, RunStoreError
    from stella_desktop.api import create_app
    app = create_app(RunStore(tmp_path))
    failures = {"missing": RunNotFound("no run 'x'"), "locked": RunLocked("run 'x' is locked by pid 1"),
                "store": RunStoreError("cannot write run 'x': Read-only file system"),
                "disk": IsADirectoryError(21, "Is a directory", "/store/x/lock"), "bug": ZeroDivisionError("boom")}

    @app.get("/later/{name}")
    def later(name: str):
        raise failures[name]

    client = TestClient(app, base_url="http://127.0.0.1:8765", raise_server_exceptions=False)
    expected = {"missing": (404, "no run 'x'"), "locked": (409, "locked by pid 1"),
                "store": (500, "run store problem: cannot write"), "disk": (500, "Is a directory (/store/x/lock)"),
                "bug": (500, "internal error: ZeroDivisionError")}
    for name, (status, text) in expected.items():
        response = client.get(f"/later/{name}")
        assert response.status_code == status and response.headers["content-type"] == "application/json", name
        assert text in response.json()["detail"], name
    assert client.get("/later/missing", headers={"Host": "evil.example"}).status_code == 403  # guards apply too
