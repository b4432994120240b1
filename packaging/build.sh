#!/usr/bin/env bash
# Build a one-folder Stella Desktop with PyInstaller and check that the binary starts.
#   packaging/build.sh            -> dist/stella-desktop/stella-desktop
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
"$python" -m pip install --quiet "pyinstaller>=6.3"
"$python" -m PyInstaller --noconfirm --clean --distpath dist --workpath build/pyinstaller packaging/stella-desktop.spec
binary=dist/stella-desktop/stella-desktop
QT_QPA_PLATFORM=offscreen "$binary" --version
QT_QPA_PLATFORM=offscreen "$binary" --self-test
QT_QPA_PLATFORM=offscreen "$binary" cli task-runner simulate --manifest resources/packs/flaky-fanout.yaml > /dev/null
echo "built and started: $binary"
