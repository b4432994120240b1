"""``stella task-runner diff``: what an edit changes in the plan, from manifests, previews and runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import pack_text
from core.diff import UNKNOWN, PlanSide, StepFacts, diff_plans
from stella_desktop.cli import main

BASE = """
inputs:
  - {name: shards, type: array, default: [a, b]}
steps:
  - id: prepare
    run: {uses: builtin:echo, with: {message: hello}}
  - id: shard
    map:
      items: "{{ inputs.shards }}"
      step:
        id: process
        run: {uses: builtin:echo, with: {shard: "{{ item }}"}}
  - id: finish
    run: {uses: builtin:echo, with: {message: done}}
failure:
  retries: {maxAttempts: 2, backoffSeconds: 1}
"""


def write(folder, name, text):
    path = folder / name
    path.write_text(text)
    return str(path)


def diff(*args, capsys):
    code = main(["task-runner", "diff", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def diff_json(*args, capsys):
    code, out, err = diff(*args, "--format", "json", capsys=capsys)
    assert out, err
    return code, json.loads(out)


def test_identical_packs_exit_0_and_say_so(tmp_path, capsys):
    old = write(tmp_path, "old.yaml", pack_text(BASE))
    new = write(tmp_path, "new.yaml", pack_text(BASE))
    code, out, _ = diff(old, new, capsys=capsys)
    assert code == 0 and out.rstrip().endswith("no differences")
    code, document = diff_json(old, new, capsys=capsys)
    assert code == 0 and document["steps"] == [] and document["old"]["planHash"] == document["new"]["planHash"]


def test_added_removed_and_changed_steps_in_new_order_then_removed(tmp_path, capsys):
    old = write(tmp_path, "old.yaml", pack_text(BASE))
    edited = (BASE.replace("message: hello", "message: bonjour")
              .replace("  - id: finish\n    run: {uses: builtin:echo, with: {message: done}}\n",
                       "  - id: wrap-up\n    run: {uses: builtin:sleep, with: {seconds: 1}}\n"))
    new = write(tmp_path, "new.yaml", pack_text(edited))
    code, document = diff_json(old, new, capsys=capsys)
    assert code == 1
    changes = [(step["id"], step["change"]) for step in document["steps"]]
    assert changes == [("prepare", "changed"), ("wrap-up", "added"), ("finish", "removed")]
    assert document["steps"][0]["fields"] == {
        "parameters": {"old": {"message": "hello"}, "new": {"message": "bonjour"}}}
    assert document["old"]["planHash"] != document["new"]["planHash"]
    _, out, _ = diff(old, new, capsys=capsys)
    assert 'parameters.message: "hello" -> "bonjour"' in out
    assert "~ prepare  (changed)" in out and "+ wrap-up  (added)" in out and "- finish  (removed)" in out
    assert out.rstrip().endswith("1 added, 1 removed, 1 changed")


def test_map_children_growing_are_matched_by_id(tmp_path, capsys):
    manifest = write(tmp_path, "pack.yaml", pack_text(BASE))
    more = write(tmp_path, "more.json", json.dumps({"shards": ["a", "b", "c"]}))
    code, document = diff_json(manifest, manifest, "--new-inputs", more, capsys=capsys)
    assert code == 1
    assert [(s["id"], s["change"]) for s in document["steps"]] == [
        ("shard", "changed"), ("shard[2]::process", "added")]
    assert document["steps"][0]["fields"] == {"children": {"old": 2, "new": 3}}


def test_failure_policy_and_when_changes_are_reported(tmp_path, capsys):
    old = write(tmp_path, "old.yaml", pack_text(BASE))
    edited = (BASE.replace("maxAttempts: 2", "maxAttempts: 5")
              .replace("  - id: finish\n", "  - id: finish\n    when: \"{{ inputs.shards }}\"\n"))
    new = write(tmp_path, "new.yaml", pack_text(edited))
    code, document = diff_json(old, new, capsys=capsys)
    assert code == 1
    assert document["failurePolicyChanged"] is True
    assert document["old"]["failurePolicy"] == {"maxAttempts": 2, "backoffSeconds": 1}
    assert document["new"]["failurePolicy"] == {"maxAttempts": 5, "backoffSeconds": 1}
    (finish,) = document["steps"]
    assert finish["id"] == "finish" and finish["fields"]["when"] == {"old": None, "new": "{{ inputs.shards }}"}
    _, out, _ = diff(old, new, capsys=capsys)
    assert 'failure policy: {"backoffSeconds": 1, "maxAttempts": 2} -> {"backoffSeconds": 1, "maxAttempts": 5}' in out


def test_policy_and_approval_gate_changes(tmp_path, capsys):
    spec = """
approvals:
  - {id: review, grants: [ops]}
  - {id: audit, grants: [ops]}
steps:
  - id: gate
    gate:
      approval: {id: review, message: check it}
  - id: policy-check
    gate:
      policy: {policy: allow-all}
"""
    old = write(tmp_path, "old.yaml", pack_text(spec))
    new = write(tmp_path, "new.yaml", pack_text(spec.replace("id: review, message", "id: audit, message")
                                                 .replace("policy: allow-all", "policy: deny-some")))
    code, document = diff_json(old, new, capsys=capsys)
    assert code == 1
    fields = {step["id"]: step["fields"] for step in document["steps"]}
    assert fields["gate"]["approval"] == {"old": "review", "new": "audit"}
    assert fields["policy-check"]["policy"] == {"old": "allow-all", "new": "deny-some"}


def test_a_preview_file_compares_with_its_manifest(tmp_path, capsys):
    manifest = write(tmp_path, "pack.yaml", pack_text(BASE))
    assert main(["task-runner", "simulate", "--manifest", manifest, "--format", "json",
                 "--output", str(tmp_path / "preview.json")]) == 0
    capsys.readouterr()
    code, out, _ = diff(str(tmp_path / "preview.json"), manifest, capsys=capsys)
    assert code == 0, out
    edited = write(tmp_path, "edited.yaml", pack_text(BASE.replace(
        "id: finish\n    run: {uses: builtin:echo, with: {message: done}}",
        "id: finish\n    run: {uses: builtin:sleep, with: {seconds: 1}}")))
    code, document = diff_json(str(tmp_path / "preview.json"), edited, capsys=capsys)
    assert code == 1
    assert document["steps"] == [{"id": "finish", "change": "changed", "fields": {
        "uses": {"old": "builtin:echo", "new": "builtin:sleep"},
        "parameters": {"old": {"message": "done"}, "new": {"seconds": 1}}}}]


def test_a_run_compares_by_status_with_its_manifest(tmp_path, capsys):
    manifest = write(tmp_path, "pack.yaml", pack_text(BASE))
    store = tmp_path / "store"
    result = subprocess.run([sys.executable, "-m", "stella_desktop.cli", "task-runner", "run", "--manifest",
                             manifest, "--store", str(store), "--format", "json"],
                            capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    assert result.returncode == 0, result.stderr
    run_id = json.loads(result.stdout)["runId"]
    code, document = diff_json(manifest, run_id, "--store", str(store), capsys=capsys)
    assert code == 1
    assert document["old"]["planHash"] == document["new"]["planHash"]
    statuses = {step["id"]: step["fields"]["status"] for step in document["steps"]}
    assert statuses["prepare"] == {"old": "pending", "new": "succeeded"}
    assert statuses["shard[1]::process"] == {"old": "pending", "new": "succeeded"}
    assert all(set(step["fields"]) <= {"status", "statusReason"} for step in document["steps"])
    code, _, _ = diff(run_id, run_id, "--store", str(store), capsys=capsys)
    assert code == 0


@pytest.mark.parametrize("make, code", [
    (lambda tmp: str(tmp), 2),                                         # a folder
    (lambda tmp: "no-such-run-or-file", 2),                            # neither a file nor a run
    (lambda tmp: write(tmp, "broken.json", "{not json"), 3),            # a preview file that is not JSON
    (lambda tmp: write(tmp, "other.json", json.dumps({"a": 1})), 3),    # JSON, but not a preview
    (lambda tmp: write(tmp, "bad.yaml", pack_text("steps: [{id: x}]")), 3),  # an invalid manifest
])
def test_usage_and_invalid_arguments(tmp_path, capsys, make, code):
    good = write(tmp_path, "pack.yaml", pack_text(BASE))
    result, out, err = diff(good, make(tmp_path), "--store", str(tmp_path / "store"), capsys=capsys)
    assert result == code and out == "" and err.strip()
    assert "Traceback" not in err


def test_unknown_fields_are_never_reported_as_changes():
    old = PlanSide("a", "h", None, (StepFacts("x", {"status": "pending", "when": UNKNOWN, "uses": "u"}),))
    new = PlanSide("b", "h", None, (StepFacts("x", {"status": "pending", "when": "{{ true }}", "uses": "u"}),))
    assert not diff_plans(old, new).differs
    one = PlanSide("a", "h", None, (StepFacts("x", {"parameters": {"n": 1}}),))
    same = PlanSide("b", "h", None, (StepFacts("x", {"parameters": {"n": 1.0}}),))
    other = PlanSide("b", "h", None, (StepFacts("x", {"parameters": {"n": True}}),))
    assert not diff_plans(one, same).differs and diff_plans(one, other).differs


def test_control_characters_never_reach_the_terminal(tmp_path, capsys):
    old = write(tmp_path, "old.yaml", pack_text(BASE))
    new = write(tmp_path, "new.yaml", pack_text(BASE.replace("message: hello", 'message: "\\e[31mred"')))
    code, out, _ = diff(old, new, capsys=capsys)
    assert code == 1 and "\x1b" not in out and "\\u001b[31mred" in out
