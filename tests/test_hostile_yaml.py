"""Hostile YAML is refused with a clear, located message and bounded memory.

Times and peak memory are measured by tests/reliability/hostile_yaml.py (figures in
docs/reliability.md); here each case must be refused properly, and memory is bounded
(a generous ceiling: what matters is that nothing expands).
"""

import json
import subprocess
import sys

import pytest

from core.errors import PackInvalid
from core.manifest import load_pack
from hostile_inputs import CASES

PROBE = """
import json, sys
sys.path.insert(0, sys.argv[2])
from core.errors import PackInvalid
from core.manifest import load_pack
def peak():  # VmHWM: ru_maxrss would carry the parent's high-water mark across fork and exec
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
before = peak()
try:
    load_pack(sys.argv[1])
    message = None
except PackInvalid as invalid:
    message = str(invalid)
after = peak()
print(json.dumps({"message": message, "growthKiB": after - before}))
"""


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_yaml_is_refused_with_a_clear_message(tmp_path, name):
    make, fragment = CASES[name]
    path = tmp_path / "pack.yaml"
    path.write_bytes(make())
    with pytest.raises(PackInvalid) as caught:
        load_pack(path)
    text = str(caught.value)
    assert fragment in text
    assert text.startswith(f"{path}")  # every refusal names the file (and line:column where it has one)


@pytest.mark.parametrize("name", ["alias/anchor expansion bomb", "50 MB file", "200-level nesting"])
def test_memory_stays_bounded(tmp_path, name):
    from conftest import REPO
    make, fragment = CASES[name]
    path = tmp_path / "pack.yaml"
    path.write_bytes(make())
    result = subprocess.run([sys.executable, "-c", PROBE, str(path), str(REPO)], capture_output=True, text=True,
                            timeout=120)
    report = json.loads(result.stdout)
    assert fragment in report["message"]
    assert report["growthKiB"] < 64 * 1024  # far below what an expansion or a full read would take
