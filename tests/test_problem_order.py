"""Problems that differ only in their step (the children of a map, refused for the same reason) are
listed in one order, whatever the process: the notice of a refused run listed mirror[1] before mirror[0],
and the order changed from one process to the next (ties were left in the order of a set)."""

import os
import subprocess
import sys

from conftest import REPO

PROBE = (
    "from core.errors import PackInvalid, Problem\n"
    "problems = [Problem('pack.yaml', 9, 1, \"'builtin:scan' cannot run\", step=f'fan[{i}]::scan') for i in range(20)]\n"
    "print([p.step for p in PackInvalid(problems).problems])\n"
)


def order(seed: str) -> str:
    environment = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, cwd=REPO,
                          env=environment).stdout


def test_problems_tied_on_location_and_message_keep_one_order_across_processes():
    assert order("1") == order("2") == order("3")
    assert order("1") == str([f"fan[{i}]::scan" for i in range(20)]) + "\n"  # in the map's order
