import os
import signal
import subprocess
import sys
import threading

import pytest

from core.errors import PackInvalid
from core.execution.executors import (
    COMMANDS_OFF, ExecutorRegistry, StepCancelled, StepContext, StepFailed, command, echo, fail, sleep,
    write_file,
)
from core.execution.preflight import preflight, secrets_from_environment
from core.manifest import parse_pack
from core.plan import build_plan
from conftest import pack_text


def context(tmp_path, parameters, attempt=1):
    return StepContext("run", "step", attempt, parameters, tmp_path / "workspace")


def test_echo_and_fail_are_deterministic(tmp_path):
    assert echo(context(tmp_path, {"a": [1]})) == {"a": [1]}
    with pytest.raises(StepFailed, match="nope"):
        fail(context(tmp_path, {"failTimes": 2, "message": "nope"}, attempt=2))
    assert fail(context(tmp_path, {"failTimes": 2}, attempt=3)) == {"failedAttempts": 2}


def test_sleep_stops_when_cancelled(tmp_path):
    ctx = context(tmp_path, {"seconds": 30})
    threading.Timer(0.05, ctx.cancel.set).start()
    with pytest.raises(StepCancelled):
        sleep(ctx)


def test_write_file_stays_in_the_workspace(tmp_path):
    (tmp_path / "workspace").mkdir()
    assert write_file(context(tmp_path, {"path": "out/a.txt", "content": "hi"})) == {"path": "out/a.txt", "bytes": 2}
    assert (tmp_path / "workspace" / "out" / "a.txt").read_text() == "hi"
    for bad in ("../escape.txt", "/etc/passwd", "out/../../escape.txt"):
        with pytest.raises(StepFailed, match="absolute|leaves the run's workspace"):
            write_file(context(tmp_path, {"path": bad, "content": "x"}))
    os.symlink(tmp_path, tmp_path / "workspace" / "link")
    with pytest.raises(StepFailed, match="leaves the run's workspace"):
        write_file(context(tmp_path, {"path": "link/escape.txt", "content": "x"}))
    assert not (tmp_path / "escape.txt").exists()


def test_command_runs_without_a_shell_and_captures_output(tmp_path):
    result = command(context(tmp_path, {"argv": [sys.executable, "-c", "print('hi $HOME')"]}))
    assert result["exitCode"] == 0 and result["stdout"] == "hi $HOME\n"
    with pytest.raises(StepFailed, match="exited with 3: bad"):
        command(context(tmp_path, {"argv": [sys.executable, "-c", "import sys; print('bad', file=sys.stderr); sys.exit(3)"]}))
    with pytest.raises(StepFailed, match="did not finish within 0.2 s"):
        command(context(tmp_path, {"argv": [sys.executable, "-c", "import time; time.sleep(10)"], "timeout": 0.2}))


def test_commands_are_refused_unless_enabled():
    assert ExecutorRegistry.default().get("builtin:command") is None
    assert ExecutorRegistry.default().why_missing("builtin:command") == COMMANDS_OFF
    assert ExecutorRegistry.default(allow_commands=True).get("builtin:command") is command


def test_preflight_lists_every_missing_executor_and_secret():
    pack = parse_pack(pack_text("""
        secrets: [{name: token}]
        steps:
          - {id: a, run: {uses: builtin:noop}}
          - {id: b, run: {uses: vendor:thing}}
          - {id: c, run: {uses: builtin:command, with: {argv: [ls], auth: "{{ secrets.token }}"}}}
          - {id: d, when: false, run: {uses: vendor:other}}
    """))
    plan = build_plan(pack)
    with pytest.raises(PackInvalid) as caught:
        preflight(plan, ExecutorRegistry.default(), {}, pack)
    text = "\n".join(str(p) for p in caught.value.problems)
    assert "step 'b': 'vendor:thing' cannot run: no executor is installed for it" in text
    assert "step 'c': 'builtin:command' cannot run: command execution is off" in text
    assert "secret 'token' is needed but not set: export STELLA_SECRET_token=..." in text
    assert "vendor:other" not in text  # disabled steps never run
    secrets = secrets_from_environment(["token"], {"STELLA_SECRET_TOKEN": "v"})
    preflight(plan, ExecutorRegistry({"builtin:noop": echo, "vendor:thing": echo, "builtin:command": echo}),
              secrets, pack)


def test_write_file_refuses_secrets_unless_allowed(tmp_path):
    from core.execution.redaction import Redactor
    import base64
    (tmp_path / "workspace").mkdir()
    secrets = Redactor({"token": "hunter22"})

    def write(parameters):
        return write_file(StepContext("run", "step", 1, parameters, tmp_path / "workspace", secrets=secrets))

    for parameters, where in (({"path": "a.txt", "content": "x hunter22"}, "content"),
                              ({"path": "hunter22.txt", "content": "x"}, "path"),
                              ({"path": "a.txt", "content": {"auth": "hunter22"}}, "content"),
                              ({"path": "a.txt", "content": base64.b64encode(b"me:hunter22").decode()}, "content")):
        with pytest.raises(StepFailed, match=f"refusing to write secret 'token' into the file's {where} "
                                             r"\(set 'allowSecretInFile: true'"):
            write(parameters)
    assert os.listdir(tmp_path / "workspace") == []
    assert write({"path": "a.txt", "content": "x hunter22", "allowSecretInFile": True})["bytes"] == 10
    with pytest.raises(StepFailed, match="refusing"):  # only the literal true allows it
        write({"path": "a.txt", "content": "hunter22", "allowSecretInFile": "true"})


def test_a_failed_write_leaves_no_temporary_file(tmp_path):
    workspace = tmp_path / "workspace"
    (workspace / "out" / "folder").mkdir(parents=True)
    with pytest.raises(StepFailed, match="cannot write 'out/folder'"):  # a folder is in the way
        write_file(context(tmp_path, {"path": "out/folder", "content": "x"}))
    with pytest.raises(StepFailed, match="not valid Unicode"):  # fails half-way through writing
        write_file(context(tmp_path, {"path": "out/a.txt", "content": "ok \ud800"}))
    assert [p.name for p in workspace.rglob("*")] == ["out", "folder"]


TAG = f".{os.getpid()}"  # "sleep 213.<pid>": a run of these tests killed midway leaves no process another run sees


def living(*markers: str) -> list[str]:
    """Processes (not zombies) whose command line is one of ``markers`` ("sleep 213.<pid>")."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode().strip()
            state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if cmdline in markers and state != "Z":
            found.append(f"{pid} {cmdline}")
    return found


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc to look for survivors")
def test_a_timeout_stops_the_commands_whole_process_group(tmp_path):
    with pytest.raises(StepFailed, match="did not finish within 1 s"):
        command(context(tmp_path, {"argv": ["sh", "-c", f"sleep 213{TAG} & sleep 214{TAG}"], "timeout": 1}))
    assert living(f"sleep 213{TAG}", f"sleep 214{TAG}") == []


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc to look for survivors")
def test_a_group_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path, monkeypatch):
    import core.execution.executors as executors
    monkeypatch.setattr(executors, "STOP_GRACE_SECONDS", 0.3)
    ctx = context(tmp_path, {"argv": ["sh", "-c", f"trap '' TERM; sleep 215{TAG} & sleep 216{TAG}"]})
    threading.Timer(0.5, ctx.cancel.set).start()
    with pytest.raises(StepCancelled):
        command(ctx)
    assert living(f"sleep 215{TAG}", f"sleep 216{TAG}") == []


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc to look for survivors")
def test_background_processes_end_with_their_command_and_at_shutdown(tmp_path):
    from core.execution.executors import stop_all_commands
    assert command(context(tmp_path, {"argv": ["sh", "-c", f"sleep 217{TAG} & echo started"]}))["stdout"] == "started\n"
    assert living(f"sleep 217{TAG}") == []
    outcome = []
    worker = threading.Thread(target=lambda: outcome.append(pytest.raises(
        StepFailed, command, context(tmp_path, {"argv": ["sh", "-c", f"sleep 218{TAG} & sleep 219{TAG}"]}))))
    worker.start()
    for _ in range(200):
        if living(f"sleep 218{TAG}", f"sleep 219{TAG}"):
            break
        threading.Event().wait(0.02)
    assert stop_all_commands(0.5) == 1
    worker.join(10)
    assert "exited with -15" in str(outcome[0].value) and living(f"sleep 218{TAG}", f"sleep 219{TAG}") == []


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc to look for survivors")
@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_of_the_cli_stops_running_command_groups(tmp_path, number):
    manifest = tmp_path / "pack.yaml"
    manifest.write_text(pack_text("""
        steps:
          - {id: c, run: {uses: builtin:command, with: {argv: [sh, -c, "sleep 220TAG & sleep 221TAG"]}}}
    """.replace("TAG", TAG)))
    environment = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    process = subprocess.Popen([sys.executable, "-m", "stella_desktop.cli", "task-runner", "run", "--manifest",
                                str(manifest), "--store", str(tmp_path / "store"), "--allow-commands"],
                               stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=environment)
    for line in process.stderr:
        if "c: pending -> running" in line:
            break
    for _ in range(200):
        if len(living(f"sleep 220{TAG}", f"sleep 221{TAG}")) == 2:
            break
        threading.Event().wait(0.02)
    process.send_signal(number)
    assert process.wait(30) == 130
    assert living(f"sleep 220{TAG}", f"sleep 221{TAG}") == []


def test_a_descendant_that_left_the_process_group_is_stopped_too(tmp_path):
    """Attack review: `setsid sleep &` (a daemon's own session) escaped the group kill on timeout
    and ran on; every command carries a random marker in its environment, found again in /proc."""
    with pytest.raises(StepFailed, match="did not finish"):
        command(context(tmp_path, {"argv": ["sh", "-c", f"setsid sleep 223{TAG} & (setsid sleep 224{TAG} &); sleep 225{TAG}"],
                                    "timeout": 1}))
    assert living(f"sleep 223{TAG}", f"sleep 224{TAG}", f"sleep 225{TAG}") == []
    # and after a command that finished, leaving a daemon behind
    assert command(context(tmp_path, {"argv": ["sh", "-c", f"setsid sleep 226{TAG} & echo ok"]}))["stdout"] == "ok\n"
    assert living(f"sleep 226{TAG}") == []
