#!/usr/bin/env bash
# Set up a virtualenv with the benchmark extras (zen-engine) and run the language benchmark.
# Usage: bash scripts/bench.sh [--quick] [--json FILE] [--check]
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'
exec .venv/bin/python tests/bench/bench_dsl.py "$@"
