#!/usr/bin/env bash
# Set up a virtualenv with the benchmark extras (zen-engine) and run the language benchmark.
# Usage: bash scripts/bench.sh [--quick] [--json FILE] [--check]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
ensure_venv test,bench
exec .venv/bin/python tests/bench/bench_dsl.py "$@"
