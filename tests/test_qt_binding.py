"""Regression guard for the PySide6 pin in pyproject.toml.

PySide6 6.12.0 on Python 3.11 aborts the process ("Fatal Python error:
none_dealloc", exit 134) after a few thousand calls of void Qt methods.  This
makes 100,000 such calls in a child process, so whoever lifts the
``PySide6-Essentials<6.12`` pin sees the crash here instead of users seeing it.
"""

import subprocess
import sys

PROBE = """
from PySide6.QtCore import QObject
o = QObject()
for _ in range(100_000):
    o.setObjectName("x")
print("survived", o.objectName())
"""


def test_many_void_qt_calls_do_not_abort_the_process():
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr[-2000:]}"
    assert result.stdout.strip() == "survived x"
