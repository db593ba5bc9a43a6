#!/usr/bin/env bash
# Set up a virtualenv (if needed) and run the main job: check the shipped rules and evaluate
# the demo facts in rules/demo/.  (The server issue turns this into `trimtab serve`.)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
exec .venv/bin/trimtab demo rules "$@"
