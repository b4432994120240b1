"""What a ``run`` step's ``uses`` does: the built-in executors and plug-ins.

An executor is a callable ``(StepContext) -> dict`` returning the step's
outputs; it raises :class:`StepFailed` for a failure and
:class:`StepCancelled` when it stopped because the run was cancelled.
Executors run on worker threads and decide nothing about the run.

Built-ins: ``builtin:noop``, ``builtin:echo``, ``builtin:sleep``,
``builtin:fail``, ``builtin:write-file`` (refuses a secret value in its
``path`` or ``content`` unless ``with: {allowSecretInFile: true}``) and
``builtin:command`` (refused unless command execution is enabled; each
command runs in its own session, and its whole process group is stopped on
timeout, cancel and shutdown).  More come from the entry-point group
``stella.executors`` (name: the ``uses`` value, object: the callable).
"""

from __future__ import annotations

import atexit
import json
import secrets
import os
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Callable

from core.execution.redaction import Redactor

ENTRY_POINT_GROUP = "stella.executors"
ALLOW_SECRET_IN_FILE = "allowSecretInFile"
MAX_CAPTURE = 64 * 1024
STOP_GRACE_SECONDS = 2.0
"""Between SIGTERM and SIGKILL when a command's process group is stopped."""


class StepFailed(Exception):
    """The step ran and failed; the message is what the run records."""


class StepCancelled(Exception):
    """The step stopped because the run was cancelled."""


@dataclass
class StepContext:
    run_id: str
    step_id: str
    attempt: int
    parameters: dict
    workspace: Path
    cancel: threading.Event = field(default_factory=threading.Event)
    secrets: Redactor = field(default_factory=Redactor)
    """Finds the run's secret values, for executors that must not write them anywhere."""


Executor = Callable[[StepContext], dict]


def noop(context: StepContext) -> dict:
    return {}


def echo(context: StepContext) -> dict:
    return dict(context.parameters)


def sleep(context: StepContext) -> dict:
    seconds = _number(context.parameters.get("seconds", 0), "seconds")
    if context.cancel.wait(max(seconds, 0)):
        raise StepCancelled("cancelled while sleeping")
    return {"sleptSeconds": seconds}


def fail(context: StepContext) -> dict:
    """Fails the first ``failTimes`` attempts of the step (default 1), then succeeds."""
    times = context.parameters.get("failTimes", 1)
    if not isinstance(times, int) or isinstance(times, bool) or times < 0:
        raise StepFailed("'failTimes' must be a whole number >= 0")
    if context.attempt <= times:
        raise StepFailed(str(context.parameters.get("message", "injected failure")))
    return {"failedAttempts": times}


def write_file(context: StepContext) -> dict:
    relative = context.parameters.get("path")
    if not isinstance(relative, str) or not relative:
        raise StepFailed("'path' must be a non-empty string")
    content = context.parameters.get("content", "")
    text = content if isinstance(content, str) else json.dumps(content, indent=2, sort_keys=True)
    if context.parameters.get(ALLOW_SECRET_IN_FILE) is not True:
        for name, value in (("path", relative), ("content", text)):
            form = context.secrets.find(value)
            if form is not None:
                secret = context.secrets.secret_name(form)
                raise StepFailed(f"refusing to write {f'secret {secret!r}' if secret else 'a secret value'} "
                                 f"into the file's {name} (set '{ALLOW_SECRET_IN_FILE}: true' in the step's "
                                 "'with' to allow it)")
    target = confined_path(context.workspace, relative)
    temporary = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        confined_path(context.workspace, relative)  # again: a folder made above may not be a link out
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".write-", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, target)
        temporary = None
    except OSError as error:
        raise StepFailed(f"cannot write '{relative}': {error.strerror or error}") from None
    except UnicodeError:
        raise StepFailed(f"cannot write '{relative}': the content is not valid Unicode text") from None
    finally:
        if temporary is not None:  # never leave a half-written .write-*.tmp behind
            try:
                os.unlink(temporary)
            except OSError:
                pass
    return {"path": relative, "bytes": len(text.encode("utf-8"))}


def confined_path(root: Path, relative: str) -> Path:
    """``root / relative`` if it stays inside ``root`` (links resolved), else StepFailed."""
    if os.path.isabs(relative):
        raise StepFailed(f"path '{relative}' is absolute; it must be relative to the run's workspace")
    base = os.path.realpath(root)
    target = os.path.realpath(os.path.join(base, relative))
    if os.path.commonpath([base, target]) != base or target == base:
        raise StepFailed(f"path '{relative}' leaves the run's workspace")
    return Path(target)


def command(context: StepContext) -> dict:
    """Run an argv list (no shell) in the workspace, with a timeout; output captured."""
    argv = context.parameters.get("argv", context.parameters.get("command"))
    if not isinstance(argv, list) or not argv or not all(isinstance(a, (str, int, float)) for a in argv):
        raise StepFailed("'argv' must be a non-empty list of strings")
    argv = [str(a) for a in argv]
    timeout = _number(context.parameters.get("timeout", 300), "timeout")
    cwd = context.workspace
    if context.parameters.get("cwd"):
        cwd = confined_path(context.workspace, str(context.parameters["cwd"]))
    cwd.mkdir(parents=True, exist_ok=True)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("STELLA_SECRET_")}
    environment[MARKER_VARIABLE] = secrets.token_hex(16)  # inherited by every descendant, setsid or not
    try:  # its own session (and process group): stopping it reaches everything it started
        process = subprocess.Popen(argv, cwd=cwd, env=environment, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    except OSError as error:
        raise StepFailed(f"cannot start '{argv[0]}': {error.strerror or error}") from None
    process.stella_marker = environment[MARKER_VARIABLE]
    with _LIVE_LOCK:
        _LIVE.add(process)
    try:
        output: dict[str, bytes] = {}
        readers = [threading.Thread(target=_drain, args=(process.stdout, output, "stdout"), daemon=True),
                   threading.Thread(target=_drain, args=(process.stderr, output, "stderr"), daemon=True)]
        for reader in readers:
            reader.start()
        deadline = time.monotonic() + timeout
        while process.poll() is None:
            if context.cancel.wait(0.05):
                stop_process_group(process)
                raise StepCancelled("cancelled while the command ran")
            if time.monotonic() >= deadline:
                stop_process_group(process)
                raise StepFailed(f"'{argv[0]}' did not finish within {timeout:g} s")
        stop_process_group(process)  # what it left running in the background ends with it
        for reader in readers:
            reader.join(5)
    finally:
        with _LIVE_LOCK:
            _LIVE.discard(process)
    stdout = output.get("stdout", b"").decode("utf-8", "replace")
    stderr = output.get("stderr", b"").decode("utf-8", "replace")
    if process.returncode != 0:
        last = stderr.strip().splitlines()[-1] if stderr.strip() else ""
        raise StepFailed(f"'{argv[0]}' exited with {process.returncode}" + (f": {last}" if last else ""))
    return {"exitCode": process.returncode, "stdout": stdout, "stderr": stderr}


def _drain(stream, output: dict, name: str) -> None:
    data = b""
    for chunk in iter(lambda: stream.read(8192), b""):
        if len(data) < MAX_CAPTURE:
            data += chunk[:MAX_CAPTURE - len(data)]
    output[name] = data


_LIVE: set[subprocess.Popen] = set()
_LIVE_LOCK = threading.Lock()


def _signal_group(group: int, number: int) -> bool:
    """Send a signal to a process group; False when no process is left in it."""
    try:
        os.killpg(group, number)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:  # only zombies left, or a member changed its user: nothing we may stop
        return False


def _group_alive(group: int) -> bool:
    """Whether a process of the group is alive (zombies waiting to be reaped do not count)."""
    if not _signal_group(group, 0):
        return False
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True  # no /proc: the kernel's answer above is all there is
    for entry in entries:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as stream:
                    fields = stream.read().rsplit(b")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if len(fields) > 2 and int(fields[2]) == group and fields[0] != b"Z":
                return True
    return False


def _wait_for_group(process: subprocess.Popen, group: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None and not _group_alive(group):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def stop_process_group(process: subprocess.Popen, grace: float | None = None) -> None:
    """End a command and everything in its process group: SIGTERM, then SIGKILL after ``grace`` s."""
    grace = STOP_GRACE_SECONDS if grace is None else grace
    group = process.pid  # start_new_session: the leader's pid is the group's id
    marker = _marker_of(process)
    if not _signal_group(group, signal.SIGTERM):
        process.wait()
        _stop_marked(marker, grace)
        return
    _signal_marked(marker, signal.SIGTERM)
    if not _wait_for_group(process, group, grace):
        _signal_group(group, signal.SIGKILL)
        _wait_for_group(process, group, 5)  # SIGKILL cannot be ignored: this is the kernel's delivery
    process.wait()
    _stop_marked(marker, grace)


MARKER_VARIABLE = "STELLA_COMMAND_ID"
"""An environment variable with a random value per command: a descendant that left the process group
(``setsid``, a daemon's double fork) still carries it, so stopping the command finds it in /proc."""


def _marker_of(process: subprocess.Popen) -> bytes | None:
    value = getattr(process, "stella_marker", None)
    return f"{MARKER_VARIABLE}={value}".encode() if value else None


def _marked_pids(marker: bytes | None) -> list[int]:
    """Processes of this user (not zombies) whose environment holds ``marker``."""
    if not marker:
        return []
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as stream:
                if marker not in stream.read().split(b"\0"):
                    continue
            with open(f"/proc/{entry}/stat", "rb") as stream:
                if stream.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                    continue
        except (OSError, IndexError):
            continue
        found.append(int(entry))
    return found


def _signal_marked(marker: bytes | None, number: int) -> list[int]:
    pids = _marked_pids(marker)
    for pid in pids:
        try:
            os.kill(pid, number)
        except OSError:
            pass
    return pids


def _stop_marked(marker: bytes | None, grace: float) -> None:
    """SIGTERM, then SIGKILL after ``grace`` s, to descendants that escaped the process group."""
    if not _signal_marked(marker, signal.SIGTERM):
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _marked_pids(marker):
        time.sleep(0.02)
    _signal_marked(marker, signal.SIGKILL)


def stop_all_commands(grace: float | None = None) -> int:
    """Stop every command still running in this process (shutdown); returns how many."""
    with _LIVE_LOCK:
        processes = list(_LIVE)
    for process in processes:
        stop_process_group(process, grace)
    return len(processes)


atexit.register(stop_all_commands, 0.5)


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise StepFailed(f"'{name}' must be a number")
    return float(value)


BUILTINS: dict[str, Executor] = {
    "builtin:noop": noop,
    "builtin:echo": echo,
    "builtin:sleep": sleep,
    "builtin:fail": fail,
    "builtin:write-file": write_file,
    "builtin:command": command,
}

COMMANDS_OFF = "command execution is off (enable it with --allow-commands or in the app's preferences)"


class ExecutorRegistry:
    """Which ``uses`` values this run can execute, and why the others cannot."""

    def __init__(self, executors: dict[str, Executor], refused: dict[str, str] | None = None):
        self.executors = dict(executors)
        self.refused = dict(refused or {})

    @classmethod
    def default(cls, allow_commands: bool = False, plugins: bool = True) -> "ExecutorRegistry":
        executors = dict(BUILTINS)
        refused = {}
        if plugins:
            for point in entry_points(group=ENTRY_POINT_GROUP):
                if point.name not in executors:
                    try:
                        executors[point.name] = point.load()
                    except Exception as error:  # a broken plug-in must not break the app
                        refused[point.name] = f"its plug-in failed to load: {error}"
        if not allow_commands:
            del executors["builtin:command"]
            refused["builtin:command"] = COMMANDS_OFF
        return cls(executors, refused)

    def get(self, uses: str) -> Executor | None:
        return self.executors.get(uses)

    def why_missing(self, uses: str) -> str:
        return self.refused.get(uses, "no executor is installed for it")
