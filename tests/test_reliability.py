"""Crashes, two processes, and full or read-only disks (short modes of tests/reliability/)."""

import functools
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "reliability"))
from crash_trials import trial  # noqa: E402

from conftest import RESOURCES_PACKS  # noqa: E402

RELEASE = RESOURCES_PACKS / "release-approval.yaml"


@functools.lru_cache(maxsize=1)
def process_start_seconds() -> float:
    """How long a CLI process takes here to load the core and a pack (seconds; grows under load)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "stella_desktop.cli", "task-runner", "simulate", "--manifest",
                    str(RELEASE)], capture_output=True, check=True, env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    return time.perf_counter() - started


def test_a_handful_of_crash_trials(tmp_path):
    # Kills land at random within a window; on a loaded machine a process needs longer than the
    # default 1.5 s just to start, so the window grows with how long one takes here.
    kill_within = max(1.5, 3 * process_start_seconds())
    rng = random.Random(7)
    for number in range(3):
        folder = tmp_path / f"trial{number}"
        folder.mkdir()
        problems, _ = trial(folder, rng, kill_within=kill_within)
        assert problems == []


def stella(*args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "stella_desktop.cli", "task-runner", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, QT_QPA_PLATFORM="offscreen"), **kwargs)


def slow_pack(nap_seconds: float) -> str:
    return f"""
apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {{name: slow, version: 1.0.0}}
spec:
  steps:
    - {{id: first, run: {{uses: builtin:noop}}}}
    - {{id: nap, run: {{uses: builtin:sleep, with: {{seconds: {nap_seconds:.1f}}}}}}}
"""


def test_two_processes_resuming_the_same_run_one_drives_the_other_exits_5(tmp_path):
    pack = tmp_path / "pack.yaml"
    # the nap must outlast the second process's start, which takes longer on a loaded machine
    pack.write_text(slow_pack(max(2.0, 3 * process_start_seconds())))
    store = tmp_path / "store"
    first = stella("run", "--manifest", str(pack), "--store", str(store))

    def napping() -> bool:  # the first process is inside its run: its long step has started
        journals = list(store.glob("*/journal.jsonl")) if store.exists() else []
        return bool(journals) and b'"stepId":"nap","to":"running"' in journals[0].read_bytes()

    deadline = time.monotonic() + 30
    while not napping():  # polling another process's files: there is no signal to wait on
        assert time.monotonic() < deadline
        time.sleep(0.02)
    run_id = next(store.iterdir()).name
    second = stella("resume", run_id, "--store", str(store))
    _, err = second.communicate(timeout=60)
    assert second.returncode == 5 and f"locked by pid {first.pid}" in err
    first.communicate(timeout=60)
    assert first.returncode == 0


@pytest.fixture
def tiny_disk(tmp_path):
    mount = tmp_path / "tiny"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_gives_a_clear_error_and_the_run_stays_resumable(tmp_path, tiny_disk):
    pack = tmp_path / "pack.yaml"
    items = ", ".join(f"w{i}" for i in range(400))
    pack.write_text(f"""
apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {{name: filler, version: 1.0.0}}
spec:
  steps:
    - id: many
      map:
        items: [{items}]
        step: {{id: echo, run: {{uses: builtin:echo, with: {{padding: "{'x' * 200}", item: "{{{{ item }}}}"}}}}}}
""")
    process = stella("run", "--manifest", str(pack), "--store", str(tiny_disk))
    _, err = process.communicate(timeout=120)
    assert process.returncode == 5
    assert "No space left on device" in err and "resumable" in err
    (run_id,) = [p.name for p in tiny_disk.iterdir()]
    target = tmp_path / "bigger"
    subprocess.run(["cp", "-a", str(tiny_disk), str(target)], check=True)  # space returns
    resumed = stella("resume", run_id, "--store", str(target))
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    from core.execution.store import RunStore
    RunStore(target).open(run_id, lock=False).read_snapshot()  # never a half-written snapshot


def test_a_read_only_store_gives_a_clear_error(tmp_path, tiny_disk):
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_disk)], check=True)
    pack = tmp_path / "pack.yaml"
    pack.write_text(slow_pack(0))
    process = stella("run", "--manifest", str(pack), "--store", str(tiny_disk / "runs"))
    _, err = process.communicate(timeout=60)
    assert process.returncode == 5 and "Read-only file system" in err
