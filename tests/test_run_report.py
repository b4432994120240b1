"""Run reports (``runs export``) and their checks (``runs verify``), as a user runs them."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import urllib.parse
from html.parser import HTMLParser

import pytest

from conftest import RESOURCES_PACKS

RELEASE = RESOURCES_PACKS / "release-approval.yaml"
SECRET = "s3cr3t-Tr0ub4dor&3"

SECRET_PACK = """\
apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {name: secretive, version: 1.0.0}
spec:
  secrets:
    - {name: token, description: an API token}
  steps:
    - id: call
      run: {uses: builtin:echo, with: {auth: "{{ secrets.token }}"}}
    - id: flaky
      run: {uses: builtin:fail, with: {failTimes: 1, message: "refused {{ secrets.token }}"}}
  failure:
    retries: {maxAttempts: 2, backoffSeconds: 0}
"""


def stella(*args, store, env=None):
    environment = dict(os.environ, QT_QPA_PLATFORM="offscreen", **(env or {}))
    return subprocess.run([sys.executable, "-m", "stella_desktop.cli", "task-runner", *args, "--store", str(store)],
                          capture_output=True, text=True, timeout=120, env=environment)


@pytest.fixture(scope="module")
def decided_run(tmp_path_factory):
    """The release sample run to the end: an approval by alice and a policy allowed by bob."""
    store = tmp_path_factory.mktemp("reports") / "store"
    first = stella("run", "--manifest", str(RELEASE), store=store)
    assert first.returncode == 4, first.stderr
    (run_id,) = os.listdir(store)
    for command in (("approve", run_id, "release-signoff", "--by", "alice", "--reason", "notes ok"),
                    ("resume", run_id),
                    ("decide", run_id, "guard", "allow", "--by", "bob", "--reason", "in the window"),
                    ("resume", run_id)):
        result = stella(*command, store=store)
        assert result.returncode in (0, 4), result.stderr
    assert result.returncode == 0
    return store, run_id


def export(store, run_id, tmp_path, fmt="json"):
    output = tmp_path / f"report.{fmt}"
    result = stella("runs", "export", run_id, "--format", fmt, "--output", str(output), store=store)
    assert result.returncode == 0, result.stderr
    return output


def test_json_report_holds_the_run_its_attempts_gates_and_chain(decided_run, tmp_path):
    store, run_id = decided_run
    report = json.loads(export(store, run_id, tmp_path).read_text())
    assert report["runId"] == run_id and report["outcome"] == "succeeded"
    assert report["pack"] == {"name": "release-approval", "version": "1.0.0"}
    assert report["planHash"].startswith("sha256:") and report["inputs"]["version"] == "2.4.0"
    steps = {step["id"]: step for step in report["steps"]}
    assert steps["build"]["attempts"][0]["result"] == "succeeded"
    assert steps["deploy[1]::rollout"]["parent"] == "deploy"
    assert steps["deploy[1]::rollout"]["durationSeconds"] >= 0.2  # builtin:sleep seconds: 0.2
    for step in report["steps"]:
        for attempt in step["attempts"]:
            assert attempt["start"] <= attempt["end"]
    approval, policy = report["gates"]
    assert approval == {**approval, "stepId": "signoff", "decision": "approved", "decidedBy": "alice",
                        "reason": "notes ok", "grants": ["Packs.Approve"],
                        "requestReason": "Release 2.4.0 to 2 regions"}
    assert approval["expiresAt"] > approval["requestedAt"]
    assert policy == {**policy, "stepId": "guard", "decision": "allow", "decidedBy": "bob",
                      "policy": "release-window", "parameters": {"version": "2.4.0"}}
    journal = report["journal"]
    verified = stella("runs", "verify", run_id, store=store)
    assert verified.returncode == 0
    assert f"{journal['records']} records, chain {journal['chainHash']}" in verified.stdout


def test_html_report_is_self_contained_with_an_inline_svg_timeline(decided_run, tmp_path):
    store, run_id = decided_run
    text = export(store, run_id, tmp_path, "html").read_text()

    class Tags(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.references = [], []

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)
            self.references += [value for name, value in attrs if name in ("src", "href") and value]

    parser = Tags()
    parser.feed(text)
    assert "script" not in parser.tags and "link" not in parser.tags and parser.references == []
    assert "svg" in parser.tags and parser.tags.count("rect") >= 8  # one bar per attempt that ran
    assert "release-signoff" in text and "alice" in text and "Packs.Approve" in text
    assert "@media print" in text


def test_no_secret_byte_in_any_report(tmp_path):
    store = tmp_path / "store"
    result = stella("run", "--manifest", str(_write(tmp_path, SECRET_PACK)), store=store,
                    env={"STELLA_SECRET_token": SECRET})
    assert result.returncode == 0, result.stderr
    (run_id,) = os.listdir(store)
    forms = [SECRET, json.dumps(SECRET)[1:-1], urllib.parse.quote(SECRET), urllib.parse.quote_plus(SECRET),
             base64.b64encode(SECRET.encode()).decode(), "Tr0ub4dor"]
    for fmt in ("json", "html"):
        text = export(store, run_id, tmp_path, fmt).read_text()
        assert not [form for form in forms if form in text], fmt
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["secrets"] == ["token"]
    flaky = next(step for step in report["steps"] if step["id"] == "flaky")
    assert [a["result"] for a in flaky["attempts"]] == ["failed", "succeeded"]
    assert "***" in flaky["attempts"][0]["message"]


def _write(folder, text):
    path = folder / "pack.yaml"
    path.write_text(text)
    return path


def _copy_run(store, run_id, tmp_path):
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-a", str(store), str(copy)], check=True)
    return copy


def test_verify_names_a_modified_record(decided_run, tmp_path):
    store, run_id = decided_run
    copy = _copy_run(store, run_id, tmp_path)
    journal = copy / run_id / "journal.jsonl"
    lines = journal.read_bytes().split(b"\n")
    lines[5] = lines[5].replace(b'"at":"2026', b'"at":"2025', 1) if b'"at":"2026' in lines[5] else lines[5] + b" "
    journal.write_bytes(b"\n".join(lines))
    result = stella("runs", "verify", run_id, store=copy)
    assert result.returncode == 5
    assert "record 6" in result.stderr and "DAMAGED" in result.stderr


def test_verify_names_a_removed_record(decided_run, tmp_path):
    store, run_id = decided_run
    copy = _copy_run(store, run_id, tmp_path)
    journal = copy / run_id / "journal.jsonl"
    lines = journal.read_bytes().split(b"\n")
    del lines[3]
    journal.write_bytes(b"\n".join(lines))
    result = stella("runs", "verify", run_id, store=copy)
    assert result.returncode == 5 and re.search(r"record 4\b", result.stderr), result.stderr


def test_verify_catches_an_edited_report(decided_run, tmp_path):
    store, run_id = decided_run
    path = export(store, run_id, tmp_path)
    assert stella("runs", "verify", run_id, "--report", str(path), store=store).returncode == 0
    report = json.loads(path.read_text())
    report["gates"][0]["decidedBy"] = "mallory"
    path.write_text(json.dumps(report))
    result = stella("runs", "verify", run_id, "--report", str(path), store=store)
    assert result.returncode == 5
    assert "report.gates[0].decidedBy" in result.stderr and "mallory" in result.stderr


def test_export_and_verify_refuse_unknown_runs_and_damaged_runs(decided_run, tmp_path):
    store, run_id = decided_run
    assert stella("runs", "verify", "no-such-run", store=store).returncode == 2
    result = stella("runs", "export", "no-such-run", "--output", str(tmp_path / "x.json"), store=store)
    assert result.returncode == 2 and not (tmp_path / "x.json").exists()
    copy = _copy_run(store, run_id, tmp_path)
    (copy / run_id / "journal.jsonl").write_bytes(b"")
    result = stella("runs", "export", run_id, "--output", str(tmp_path / "y.json"), store=copy)
    assert result.returncode == 5 and "damaged" in result.stderr and not (tmp_path / "y.json").exists()
