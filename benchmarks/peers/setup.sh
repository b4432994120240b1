#!/usr/bin/env bash
# Make the peers' environments for `python -m benchmarks` (not part of the test command).
#   benchmarks/peers/setup.sh        -> benchmarks/peers/{dagster,prefect}-venv
set -euo pipefail
cd "$(dirname "$0")"
python=${PYTHON:-python3}
for peer in dagster prefect; do
  if [ ! -x "$peer-venv/bin/python" ]; then
    "$python" -m venv "$peer-venv"
  fi
  "$peer-venv/bin/pip" install --quiet --upgrade pip
  "$peer-venv/bin/pip" install --quiet "$peer"
  "$peer-venv/bin/python" -c "import $peer; print('$peer', $peer.__version__)"
done
